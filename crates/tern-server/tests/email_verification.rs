#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Email verification over HTTP: `POST /api/v2/tickets/email-verification`,
//! the link it answers (`/lo/verify_email`), single use, expiry on the
//! injectable clock, `sv`/`fv` events, and the request's errors.

mod common;
mod reset_support;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use reset_support::*;
use serde_json::{Value, json};

async fn user(h: &Harness, t: &str, email: &str) -> (String, String) {
    let u = h.create_user(t, email, "Old-pa55word").await;
    assert_eq!(u["email_verified"], false, "{u}");
    let id = u["user_id"].as_str().unwrap().to_string();
    let path = format!("/users/{}", urlencoding::encode(&id));
    (id, path)
}

async fn verified(h: &Harness, t: &str, path: &str) -> Value {
    let (_, u) = h.api(t, Method::GET, path, None).await;
    u["email_verified"].clone()
}

/// A ticket's link verifies once, redirects to `result_url` with Auth0's
/// query, logs `sv`; a second use and an expired ticket are refused (`fv`).
async fn ticket_link_verifies_once(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (id, path) = user(&h, &t, "vera@example.com").await;
    let ticket = |body: Value| h.api(&t, Method::POST, "/tickets/email-verification", Some(body));

    let (s, body) = ticket(
        json!({"user_id": id, "result_url": "https://app.example/done?x=1",
        "includeEmailInRedirect": true, "ttl_sec": 3600}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (link, token) = ticket_link(&h, &body, "/lo/verify_email");
    // Only the token's SHA-256 is stored.
    let store = &h.state().store;
    assert!(
        store
            .get_verification_ticket(h.state().tid(), &token)
            .await
            .unwrap()
            .is_none()
    );

    // Opening the link verifies nothing (a mail scanner opens it first): a
    // page names the address and asks for a press of its button.
    for _ in 0..2 {
        let (s, headers, page) = open_link(&link).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(page.contains("vera@example.com"), "{page}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("form-action 'self' https://app.example"),
            "{csp}"
        );
        assert_eq!(verified(&h, &t, &path).await, false);
    }
    let (s, headers, _) = confirm_link(&link).await;
    assert_eq!(s, StatusCode::FOUND);
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(
        headers["location"].to_str().unwrap(),
        "https://app.example/done?x=1&email=vera%40example.com&message=Your+email+was+verified.+You+can+continue+using+the+application.&success=true&code=success"
    );
    assert_eq!(verified(&h, &t, &path).await, true);
    let sv = logs(&h, &t, "sv").await;
    assert_eq!(sv.len(), 1, "{sv:?}");
    assert_eq!(sv[0]["user_id"], id.as_str());

    // Single use: the link itself answers so once used.
    let (s, headers, _) = open_link(&link).await;
    assert_eq!(s, StatusCode::FOUND);
    let location = headers["location"].to_str().unwrap();
    assert!(
        location.contains("success=false") && location.contains("code=already-used"),
        "{location}"
    );

    // Expired, on the injectable clock; without result_url: a page.
    let (id2, path2) = user(&h, &t, "late@example.com").await;
    let (_, body) = ticket(json!({"user_id": id2, "ttl_sec": 60})).await;
    let link = body["ticket"]
        .as_str()
        .unwrap()
        .replacen(&h.state().public_url, &h.base, 1);
    h.state().clock.advance(61);
    let (s, _, html) = open_link(&link).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(html.contains("Access expired."), "{html}");
    assert_eq!(verified(&h, &t, &path2).await, false);
    let fv = logs(&h, &t, "fv").await;
    assert_eq!(fv.len(), 2, "used and expired: {fv:?}");

    // A fresh one, then the address changes: the link verifies nothing.
    let (_, body) = ticket(json!({"user_id": id2})).await;
    let link = body["ticket"]
        .as_str()
        .unwrap()
        .replacen(&h.state().public_url, &h.base, 1);
    let (s, u) = h
        .api(
            &t,
            Method::PATCH,
            &path2,
            Some(json!({"email": "new@example.com"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let (s, _, _) = confirm_link(&link).await;
    assert_eq!(s, StatusCode::GONE);
    assert_eq!(verified(&h, &t, &path2).await, false);

    // Unknown and missing tickets.
    let (s, _, _) = open_link(&format!("{}/lo/verify_email?ticket=nope", h.base)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = open_link(&format!("{}/lo/verify_email", h.base)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The button's post: a form with a ticket, else a 400 page; an unknown
    // ticket is a 404.
    let post = |body: Vec<(&'static str, &'static str)>| {
        browser()
            .post(format!("{}/lo/verify_email", h.base))
            .form(&body)
            .send()
    };
    assert_eq!(
        post(vec![("x", "y")]).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(vec![("ticket", "nope")]).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let json = browser()
        .post(format!("{}/lo/verify_email", h.base))
        .json(&json!({"ticket": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::BAD_REQUEST);
    h.stop().await;
}

/// Bad requests answer in Auth0's envelope; the scope is required.
async fn ticket_request_errors(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (id, path) = user(&h, &t, "err@example.com").await;
    let hr = &h;
    let post = move |token: String, body: Value| async move {
        hr.api(
            &token,
            Method::POST,
            "/tickets/email-verification",
            Some(body),
        )
        .await
    };
    let cases = [
        (json!({}), StatusCode::BAD_REQUEST, "user_id"),
        (
            json!({"user_id": "auth0|nobody"}),
            StatusCode::NOT_FOUND,
            "does not exist",
        ),
        (
            json!({"user_id": id, "result_url": "javascript:alert(1)"}),
            StatusCode::BAD_REQUEST,
            "http",
        ),
        (
            json!({"user_id": id, "ttl_sec": 2_592_001}),
            StatusCode::BAD_REQUEST,
            "ttl_sec",
        ),
        (
            json!({"user_id": id, "organization_id": "org_1"}),
            StatusCode::BAD_REQUEST,
            "organization",
        ),
        (
            json!({"user_id": id, "identity": {"user_id": "other", "provider": "auth0"}}),
            StatusCode::BAD_REQUEST,
            "identity",
        ),
        (
            json!({"user_id": id, "extra": 1}),
            StatusCode::BAD_REQUEST,
            "extra",
        ),
    ];
    for (body, status, says) in cases {
        let (s, e) = post(t.clone(), body.clone()).await;
        assert_eq!(s, status, "{body}: {e}");
        assert!(
            e["message"].as_str().unwrap_or_default().contains(says),
            "{body}: {e}"
        );
        assert!(e["errorCode"].is_string(), "{e}");
    }
    // A blocked user.
    let (s, _) = h
        .api(&t, Method::PATCH, &path, Some(json!({"blocked": true})))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = post(t.clone(), json!({"user_id": id})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["message"].as_str().unwrap().contains("blocked"), "{e}");
    // The scope: update:users alone does not make tickets.
    let weak = h.scoped_token(&["update:users", "read:users"]).await;
    let (s, e) = post(weak, json!({"user_id": id})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    h.stop().await;
}

/// `POST /jobs/verification-email` mails a link (here to the outbox) that
/// verifies; the job is `completed` and `GET /jobs/{id}` shows it.
async fn job_mails_a_working_link(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (id, path) = user(&h, &t, "mail@example.com").await;
    // The job's scope is update:users; create:user_tickets is not enough.
    let tickets_only = h.scoped_token(&["create:user_tickets"]).await;
    let (s, e) = h
        .api(
            &tickets_only,
            Method::POST,
            "/jobs/verification-email",
            Some(json!({"user_id": id})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, e) = h
        .api(
            &t,
            Method::POST,
            "/jobs/verification-email",
            Some(json!({"user_id": id, "organization_id": "org_1"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(outbox(&h).await.is_empty());

    let (s, job) = h
        .api(
            &t,
            Method::POST,
            "/jobs/verification-email",
            Some(json!({"user_id": id})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    assert_eq!(job["type"], "verification_email");
    assert_eq!(job["status"], "completed");
    assert!(job["created_at"].is_string());
    let job_id = job["id"].as_str().unwrap();
    let (s, got) = h
        .api(&t, Method::GET, &format!("/jobs/{job_id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got, job);

    let mail = outbox(&h).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, "mail@example.com");
    let url = mail[0]
        .text
        .lines()
        .find(|l| l.contains("/lo/verify_email?ticket="))
        .unwrap()
        .trim();
    let link = url.replacen(&h.state().public_url, &h.base, 1);
    assert_eq!(verified(&h, &t, &path).await, false);
    let (s, _, html) = confirm_link(&link).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("Your email was verified."), "{html}");
    assert_eq!(verified(&h, &t, &path).await, true);
    h.stop().await;
}

both_backends!(
    ticket_link_verifies_once,
    ticket_request_errors,
    job_mails_a_working_link
);
