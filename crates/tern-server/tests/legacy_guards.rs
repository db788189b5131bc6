#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! What Auth0 only recommends, Tern enforces: legacy answers that would
//! merge or duplicate people are refused and logged as `w` events naming the
//! ids; `POST /users` and email changes consult `get_user` as Auth0 does.
//! A real legacy PostgreSQL store, real scripts in the QuickJS sandbox.

mod common;
mod reset_support;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use reset_support::*;
use serde_json::json;

async fn user_exists(h: &Harness, t: &str, id: &str) -> bool {
    let (s, _) = h
        .api(
            t,
            Method::GET,
            &format!("/users/{}", urlencoding::encode(id)),
            None,
        )
        .await;
    s == StatusCode::OK
}

async fn guards(b: Backend) {
    let legacy = legacy_store();
    let url = legacy.url();
    // Legacy rows that break the recommendations.
    psql(
        &url,
        "INSERT INTO users VALUES (NULL, 'noid@legacy.example', NULL, 'noid', 'x', 'gold')",
    );
    psql(
        &url,
        "UPDATE users SET alias = 'second@legacy.example' WHERE uid = '2'",
    );
    let h = Harness::start(b).await;
    let app = legacy_connection(&h, &legacy).await;
    let t = app.token.clone();
    let reset = |email: &'static str| request_reset(&h, &app.client_id, "legacy-db", email);

    // 1. A profile without a stable id.
    assert_eq!(reset("noid@legacy.example").await.0, StatusCode::OK);
    // 2. get_user answers another email than the one asked (a second address
    //    of legacy user 2): two addresses, one person — not migrated twice.
    assert_eq!(reset("second@legacy.example").await.0, StatusCode::OK);
    // 3. get_user gives an id that login gave for another email: user 1
    //    migrated through login, then the legacy row changed its email.
    assert_eq!(
        login(&h, &app, "legacy-db", "old1@legacy.example", "hello").await,
        StatusCode::OK
    );
    psql(
        &url,
        "UPDATE users SET email = 'renamed@legacy.example' WHERE uid = '1'",
    );
    assert_eq!(reset("renamed@legacy.example").await.0, StatusCode::OK);
    // 4. login returns a profile whose email Tern holds under another id:
    //    `late@legacy.example` was created through the API before the legacy
    //    row appeared; logging in by nickname must not become that user.
    let (s, body) = h
        .api(&t, Method::POST, "/users", Some(json!({"connection": "legacy-db", "email": "late@legacy.example", "password": "L0cal-password", "verify_email": false})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    psql(
        &url,
        &format!(
            "INSERT INTO users VALUES ('77', 'late@legacy.example', NULL, 'late', '{HELLO_BCRYPT}', 'gold')"
        ),
    );
    assert_eq!(
        login(&h, &app, "legacy-db", "late", "hello").await,
        StatusCode::FORBIDDEN
    );
    // 5. A reset link waiting for a user only the legacy store knows
    //    (nothing stored: the ticket carries get_user's profile, id 3), then
    //    the legacy id changes and the login migrates the user as 33. The
    //    link can no longer create a second user for the same email: it
    //    refuses, and the user stays the login's.
    assert_eq!(reset("old3@legacy.example").await.0, StatusCode::OK);
    psql(&url, "UPDATE users SET uid = '33' WHERE uid = '3'");
    assert_eq!(
        login(&h, &app, "legacy-db", "old3@legacy.example", "hello").await,
        StatusCode::OK
    );
    let mail = outbox(&h)
        .await
        .into_iter()
        .rfind(|m| m.to == "old3@legacy.example")
        .expect("a link for old3");
    let (s, _, _) = submit(
        &h,
        &ticket_of(&link_in(&h, &mail.text)),
        "N3w-pass-word",
        "N3w-pass-word",
    )
    .await;
    assert_eq!(s, StatusCode::GONE, "no second user for the email");
    let (_, same) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=old3%40legacy.example",
            None,
        )
        .await;
    assert_eq!(same.as_array().unwrap().len(), 1, "{same}");
    assert_eq!(same[0]["user_id"], "auth0|33");

    let w = logs(&h, &t, "w").await;
    for fragments in [
        &["noid@legacy.example", "no user_id"][..],
        &["second@legacy.example", "'2'", "old2@legacy.example"],
        &[
            "renamed@legacy.example",
            "'1'",
            "auth0|1",
            "old1@legacy.example",
        ],
        &["'77'", "late@legacy.example", "belongs to auth0|"],
    ] {
        assert!(any_describes(&w, fragments), "{fragments:?} in {w:#?}");
    }
    assert!(w.iter().all(|e| e["connection"] == "legacy-db"), "{w:?}");
    // Nothing was migrated by the refused answers, and no mail went out for them.
    assert!(!user_exists(&h, &t, "auth0|2").await);
    assert!(!user_exists(&h, &t, "auth0|77").await);
    let mails: Vec<String> = outbox(&h).await.into_iter().map(|m| m.to).collect();
    assert_eq!(
        mails,
        ["old3@legacy.example"],
        "only the consistent reset mailed"
    );
    let fcpr = logs(&h, &t, "fcpr").await;
    assert!(fcpr.len() >= 3, "{fcpr:?}");
    h.stop().await;
}

/// `POST /users` and email changes ask `get_user`: an email that names a
/// legacy user is taken (409 as Auth0), unless it is the user's own.
async fn create_and_email_change(b: Backend) {
    let legacy = legacy_store();
    let h = Harness::start(b).await;
    let app = legacy_connection(&h, &legacy).await;
    let t = app.token.clone();
    let create = |email: &'static str| {
        h.api(
            &t,
            Method::POST,
            "/users",
            Some(json!({"connection": "legacy-db", "email": email, "password": "Corr3ct-horse"})),
        )
    };
    let (s, body) = create("old2@legacy.example").await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["message"], "The user already exists.");
    let (s, fresh) = create("fresh@example.com").await;
    assert_eq!(s, StatusCode::CREATED, "{fresh}");
    let fresh_id = urlencoding::encode(fresh["user_id"].as_str().unwrap()).into_owned();

    let patch = async |id: String, email: &'static str| {
        let path = format!("/users/{id}");
        h.api(&t, Method::PATCH, &path, Some(json!({"email": email})))
            .await
    };
    let (s, body) = patch(fresh_id.clone(), "old4@legacy.example").await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["message"], "The user already exists.");
    let (s, body) = patch(fresh_id.clone(), "fresh2@example.com").await;
    assert_eq!(
        (s, body["email"].as_str()),
        (StatusCode::OK, Some("fresh2@example.com"))
    );

    // A migrated user may take the address the legacy store now has for them.
    assert_eq!(
        login(&h, &app, "legacy-db", "old5@legacy.example", "hello").await,
        StatusCode::OK
    );
    psql(
        &legacy.url(),
        "UPDATE users SET alias = 'five@legacy.example' WHERE uid = '5'",
    );
    let (s, body) = patch("auth0%7C5".into(), "five@legacy.example").await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // The legacy store is unreachable: a clear 503, nothing created.
    psql(&legacy.url(), "DROP TABLE users");
    let (s, body) = create("new@example.com").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["errorCode"], "temporarily_unavailable");
    assert!(
        body["message"].as_str().unwrap().contains("get_user"),
        "{body}"
    );
    let (_, list) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=new%40example.com",
            None,
        )
        .await;
    assert_eq!(list, json!([]));
    h.stop().await;
}

both_backends!(guards, create_and_email_change);
