#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! `/api/v2/emails/provider` end to end on both backends, against a real SMTP
//! server on 127.0.0.1:0 that asks for a password: each verb under its own
//! scope, Auth0's answers (404 before, 201 with the password left out, 409
//! on a second `POST`, `name`/`enabled` without `fields`), the password
//! sealed at rest, mail actually sent through the provider with its headers,
//! `enabled: false` sending by the configuration file again (the outbox),
//! a `PATCH` that keeps what it does not name, bad bodies refused with
//! nothing stored, and the console showing what the API set.

mod common;

use std::time::{Duration, Instant};

use common::smtp::{Session, Smtp};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::json;

const SMTP_USER: &str = "relay-user";
const SMTP_PASSWORD: &str = "Relay-Secret-77";

/// A user created with Auth0's automatic verification mail, which the
/// server sends in the background.
async fn user_with_mail(h: &Harness, token: &str, email: &str) {
    let (s, b) = h
        .api(
            token,
            Method::POST,
            "/users",
            Some(
                json!({"connection": "Username-Password-Authentication", "email": email,
                "password": "Correct-Horse-9", "verify_email": true}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

/// The tenant's stored mail settings.
async fn saved_settings(h: &Harness) -> Option<tern_core::mail::MailSettings> {
    let tid = h.state().tid().to_string();
    h.state().store.get_mail_settings(&tid).await.unwrap()
}

/// The delivered session to `to`, waiting for the background send.
async fn delivered_to(smtp: &Smtp, to: &str) -> Session {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = smtp
            .delivered()
            .into_iter()
            .find(|s| s.to.iter().any(|t| t.contains(to)))
        {
            return s;
        }
        assert!(Instant::now() < deadline, "no mail to {to} through SMTP");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn email_provider_over_the_api(backend: Backend) {
    let h = Harness::start(backend).await;
    let admin = h.admin_token().await;
    let smtp = Smtp::start(SMTP_USER, SMTP_PASSWORD).await;
    let body = json!({
        "name": "smtp",
        "default_from_address": "Example <no-reply@example.com>",
        "credentials": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port,
            "smtp_user": SMTP_USER, "smtp_pass": SMTP_PASSWORD, "tern_tls": "none"},
        "settings": {"headers": {"X-SES-Configuration-Set": "tern-tests",
            "X-MSYS_API": {"campaign_id": "welcome"}}},
    });

    // Each verb under its own scope only.
    let read_only = h.scoped_token(&["read:email_provider"]).await;
    let (s, b) = h
        .api(
            &read_only,
            Method::POST,
            "/emails/provider",
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("create:email_provider"),
        "{b}"
    );
    let (s, b) = h
        .api(&read_only, Method::GET, "/emails/provider", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(b["message"], "Email provider has not been configured.");
    let writer = h.scoped_token(&["create:email_provider"]).await;
    let (s, b) = h.api(&writer, Method::GET, "/emails/provider", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");

    // Refused bodies store nothing.
    for (bad, says) in [
        (
            json!({"name": "sendgrid", "credentials": {"api_key": "k"}}),
            "credentials",
        ),
        (
            json!({"name": "sendgrid", "credentials": {"smtp_host": "127.0.0.1", "smtp_port": 25}}),
            "'smtp'",
        ),
        (
            json!({"name": "smtp", "credentials": {"smtp_host": "127.0.0.1"}}),
            "smtp_port",
        ),
        (
            json!({"name": "smtp", "credentials": {"smtp_host": "127.0.0.1", "smtp_port": 70000}}),
            "not a port",
        ),
        (
            json!({"name": "smtp", "credentials": {"smtp_host": "mail example", "smtp_port": 25}}),
            "host",
        ),
        (
            json!({"name": "smtp", "default_from_address": "nobody", "credentials": {"smtp_host": "127.0.0.1", "smtp_port": 25}}),
            "default_from_address",
        ),
        (
            json!({"name": "smtp", "credentials": {"smtp_host": "127.0.0.1", "smtp_port": 25}, "settings": {"headers": {"Bcc": "a@b.c"}}}),
            "Bcc",
        ),
        (
            json!({"name": "smtp", "credentials": {"smtp_host": "127.0.0.1", "smtp_port": 25, "smtp_pass": "x"}}),
            "smtp_user",
        ),
        (
            json!({"name": "smtp", "credentials": {"smtp_host": "10.1.2.3", "smtp_port": 25}}),
            "10.1.2.3",
        ),
        (
            json!({"name": "smtp", "credentials": {"smtp_host": "127.0.0.1", "smtp_port": 25}, "extra": 1}),
            "extra",
        ),
    ] {
        let (s, b) = h
            .api(&admin, Method::POST, "/emails/provider", Some(bad.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad} → {b}");
        assert!(b["message"].as_str().unwrap().contains(says), "{bad} → {b}");
    }
    assert!(saved_settings(&h).await.is_none());

    // Created: the answer and a later read never carry the password.
    let (s, created) = h
        .api(&admin, Method::POST, "/emails/provider", Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "smtp");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["credentials"]["smtp_user"], SMTP_USER);
    assert!(
        created["credentials"].get("smtp_pass").is_none(),
        "{created}"
    );
    assert_eq!(
        created["settings"]["headers"]["X-MSYS_API"]["campaign_id"],
        "welcome"
    );
    let (s, b) = h
        .api(&admin, Method::POST, "/emails/provider", Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["message"], "Email provider is already configured.");
    let (s, b) = h
        .api(&read_only, Method::GET, "/emails/provider", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b,
        json!({"name": "smtp", "enabled": true}),
        "no fields: name and enabled"
    );
    let (_, b) = h
        .api(
            &read_only,
            Method::GET,
            "/emails/provider?fields=credentials,default_from_address",
            None,
        )
        .await;
    assert_eq!(b["default_from_address"], "Example <no-reply@example.com>");
    assert_eq!(b["credentials"]["smtp_port"], smtp.port);
    assert_eq!(b["credentials"]["tern_tls"], "none");
    assert!(
        b.get("name").is_none() && b["credentials"].get("smtp_pass").is_none(),
        "{b}"
    );
    let (_, b) = h
        .api(
            &read_only,
            Method::GET,
            "/emails/provider?fields=credentials&include_fields=false",
            None,
        )
        .await;
    assert!(b.get("credentials").is_none() && b["name"] == "smtp", "{b}");
    let (s, _) = h
        .api(
            &read_only,
            Method::GET,
            "/emails/provider?fields=password",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let stored = saved_settings(&h).await.unwrap();
    let sealed = stored.password_sealed.clone().unwrap();
    assert!(!sealed.contains(SMTP_PASSWORD), "sealed at rest");
    assert_eq!(stored.updated_by, format!("{}@clients", h.info.client_id));

    // Mail goes through the provider, authenticated, with its headers.
    user_with_mail(&h, &admin, "first@example.com").await;
    let sent = delivered_to(&smtp, "first@example.com").await;
    assert_eq!(sent.auth, Some((SMTP_USER.into(), SMTP_PASSWORD.into())));
    assert!(sent.from.contains("no-reply@example.com"), "{}", sent.from);
    assert!(
        sent.data.contains("X-SES-Configuration-Set: tern-tests"),
        "{}",
        sent.data
    );
    assert!(
        sent.data
            .contains("X-MSYS-API: {\"campaign_id\":\"welcome\"}"),
        "{}",
        sent.data
    );

    // A PATCH keeps what it does not name; a new user needs its password.
    let (s, b) = h
        .api(
            &admin,
            Method::PATCH,
            "/emails/provider",
            Some(json!({"credentials": {"smtp_user": "someone-else"}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(b["message"].as_str().unwrap().contains("smtp_pass"), "{b}");
    let (s, b) = h
        .api(&admin, Method::PATCH, "/emails/provider", Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = h
        .api(
            &admin,
            Method::PATCH,
            "/emails/provider",
            Some(json!({"default_from_address": "support@example.com"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let kept = saved_settings(&h).await.unwrap();
    assert_eq!(
        kept.password_sealed.as_deref(),
        Some(sealed.as_str()),
        "password kept"
    );
    assert_eq!(kept.headers.len(), 2, "headers kept");
    assert_eq!(kept.from, "support@example.com");
    assert!(kept.updated_at > stored.updated_at);

    // Turned off: kept, and mail goes by the configuration (the outbox).
    let (s, b) = h
        .api(
            &admin,
            Method::PATCH,
            "/emails/provider",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["enabled"], false);
    user_with_mail(&h, &admin, "second@example.com").await;
    let kept_mail = h.mail_to("second@example.com").await;
    assert!(!kept_mail.subject.is_empty());
    assert!(
        !smtp
            .delivered()
            .iter()
            .any(|s| s.to.iter().any(|t| t.contains("second@"))),
        "nothing through the disabled provider"
    );
    let mut console = h
        .console_operator("ops@example.com", "Operator-Pass-42")
        .await;
    let page = console.get("/console/settings").await;
    assert!(page.body.contains("id=\"mail-disabled\""), "{}", page.body);
    assert!(
        page.body.contains("X-SES-Configuration-Set"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(SMTP_PASSWORD));

    // Deleted: gone, and a second delete is a 404.
    let deleter = h.scoped_token(&["delete:email_provider"]).await;
    let (s, _) = h
        .api(&deleter, Method::DELETE, "/emails/provider", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = h
        .api(&deleter, Method::DELETE, "/emails/provider", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert!(saved_settings(&h).await.is_none());
    let (s, _) = h
        .api(
            &admin,
            Method::PATCH,
            "/emails/provider",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Nothing of the password reached the tenant log.
    let (_, logs) = h.api(&admin, Method::GET, "/logs?per_page=100", None).await;
    assert!(!logs.to_string().contains(SMTP_PASSWORD));
    h.stop().await;
}

/// Two writers that read the same settings: the store keeps one write and
/// refuses the other, so neither undoes the other's change unseen.
async fn provider_writes_compare_what_they_read(backend: Backend) {
    let h = Harness::start(backend).await;
    let tid = h.state().tid().to_string();
    let store = &h.state().store;
    let mut first = tern_core::mail::MailSettings {
        host: "127.0.0.1".into(),
        port: 2525,
        tls: tern_core::mail::SmtpTls::None,
        user: None,
        password_sealed: None,
        from: "a@example.com".into(),
        enabled: true,
        headers: Default::default(),
        updated_at: "2026-01-01T00:00:00.000Z".into(),
        updated_by: "test".into(),
    };
    assert!(
        store
            .replace_mail_settings(&tid, &first, None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_mail_settings(&tid, &first, None)
            .await
            .unwrap(),
        "one create"
    );
    let read_at = first.updated_at.clone();
    first.from = "b@example.com".into();
    first.updated_at = "2026-01-01T00:00:00.001Z".into();
    assert!(
        store
            .replace_mail_settings(&tid, &first, Some(&read_at))
            .await
            .unwrap()
    );
    let mut second = first.clone();
    second.from = "c@example.com".into();
    second.updated_at = "2026-01-01T00:00:00.002Z".into();
    assert!(
        !store
            .replace_mail_settings(&tid, &second, Some(&read_at))
            .await
            .unwrap(),
        "a write over settings that moved is refused"
    );
    assert_eq!(
        store.get_mail_settings(&tid).await.unwrap().unwrap().from,
        "b@example.com"
    );
    h.stop().await;
}

both_backends!(
    email_provider_over_the_api,
    provider_writes_compare_what_they_read
);
