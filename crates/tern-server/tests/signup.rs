#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! `POST /dbconnections/signup`.

mod common;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn signup(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    let post = |body: Value| dbconnections_signup(&h, body);
    let conn = "Username-Password-Authentication";
    let (s, body) = post(json!({"client_id": cid, "connection": conn, "email": "New@Example.com", "password": "Corr3ct-horse", "user_metadata": {"lang": "fr"}})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "new@example.com");
    assert_eq!(body["email_verified"], false);
    assert!(body["_id"].as_str().is_some_and(|id| id.len() == 24));
    // The new user logs in.
    let (s, _) = h.token(json!({"grant_type": "password", "client_id": cid, "client_secret": secret, "username": "new@example.com", "password": "Corr3ct-horse", "realm": conn})).await;
    assert_eq!(s, StatusCode::OK);
    let cases = [
        (
            json!({"client_id": cid, "connection": conn, "email": "new@example.com", "password": "Corr3ct-horse"}),
            "invalid_signup",
            "The user already exists",
        ),
        (
            json!({"client_id": cid, "connection": conn, "email": "weak@example.com", "password": "abc"}),
            "invalid_password",
            "too weak",
        ),
        (
            json!({"client_id": cid, "connection": conn, "email": "bad", "password": "Corr3ct-horse"}),
            "invalid_signup",
            "format email",
        ),
        (
            json!({"client_id": "nobody", "connection": conn, "email": "x@example.com", "password": "Corr3ct-horse"}),
            "invalid_request",
            "Unknown client",
        ),
        (
            json!({"client_id": cid, "connection": "nope", "email": "x@example.com", "password": "Corr3ct-horse"}),
            "invalid_request",
            "does not exist",
        ),
        (
            json!({"client_id": cid, "connection": conn, "email": "x@example.com", "password": "Corr3ct-horse", "user_metadata": {"n": 1}}),
            "invalid_signup",
            "string fields",
        ),
        (
            json!({"client_id": cid, "connection": conn, "email": "x@example.com", "password": "Corr3ct-horse", "app_metadata": {"admin": true}}),
            "invalid_request",
            "Unknown parameter: app_metadata",
        ),
    ];
    for (req, error, msg) in cases {
        let (s, body) = post(req.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{req}: {body}");
        assert_eq!(body["error"], error, "{req}: {body}");
        assert!(
            body["error_description"].as_str().unwrap().contains(msg),
            "{req}: {body}"
        );
    }
    let (_, ss) = h
        .api(&t, Method::GET, "/logs?q=type:ss&include_totals=true", None)
        .await;
    assert_eq!(ss["total"], 1);
    h.stop().await;
}

/// `POST /dbconnections/signup` with `body`: the status and the answer.
async fn dbconnections_signup(h: &Harness, body: Value) -> (StatusCode, Value) {
    let r = h
        .http
        .post(format!("{}/dbconnections/signup", h.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// An email that only looks like another one is not another account:
/// invisible format characters are refused, and a decomposed `é` is the
/// composed one (stored NFC), at signup and at login.
async fn look_alike_emails(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    let conn = "Username-Password-Authentication";
    let signup = |email: &str| {
        dbconnections_signup(
            &h,
            json!({"client_id": cid, "connection": conn, "email": email, "password": "Corr3ct-horse"}),
        )
    };
    let (s, body) = signup("Jos\u{e9}@Example.com").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "jos\u{e9}@example.com");
    let (s, body) = signup("jose\u{301}@example.com").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("The user already exists"),
        "{body}"
    );
    for invisible in [
        "jo\u{200B}s\u{e9}@example.com",
        "\u{200E}jos\u{e9}@example.com",
        "jos\u{e9}\u{FEFF}@example.com",
    ] {
        let (s, body) = signup(invisible).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{invisible:?}: {body}");
        assert_eq!(body["error"], "invalid_signup", "{body}");
    }
    let (s, body) = h
        .token(
            json!({"grant_type": "password", "client_id": cid, "client_secret": secret,
        "username": "JOSE\u{301}@example.com", "password": "Corr3ct-horse"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the decomposed form logs in as the composed one: {body}"
    );
    h.stop().await;
}

/// `requires_username` and `validation.username {min,max}` hold on every
/// path that sets a username: signup, `POST /users`, `PATCH /users/{id}`.
async fn usernames_follow_the_connection(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (cid, _) = h.password_client(&t).await;
    let conn = "Username-Password-Authentication";
    h.merge_connection_options(
        &t,
        &h.info.connection_id,
        json!({"requires_username": true, "validation": {"username": {"min": 3, "max": 8}}}),
    )
    .await;
    let signup = |email: &str, username: Option<&str>| {
        let mut body = json!({"client_id": cid, "connection": conn, "email": email, "password": "Corr3ct-horse"});
        if let Some(u) = username {
            body["username"] = json!(u);
        }
        dbconnections_signup(&h, body)
    };
    for (username, want) in [
        (None, "Missing required property: username"),
        (Some("ab"), "minimum 3"),
        (Some("abcdefghi"), "maximum 8"),
    ] {
        let (s, body) = signup("una@example.com", username).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{username:?}: {body}");
        assert_eq!(body["error"], "invalid_signup", "{body}");
        assert!(
            body["error_description"].as_str().unwrap().contains(want),
            "{username:?}: {body}"
        );
    }
    let (s, body) = signup("una@example.com", Some("una_1")).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let (s, e) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(json!({"connection": conn, "email": "vic@example.com",
            "password": "Corr3ct-horse", "username": "victor_long"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["message"].as_str().unwrap().contains("maximum 8"), "{e}");
    let (s, u) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(json!({"connection": conn, "email": "vic@example.com",
            "password": "Corr3ct-horse", "username": "vic"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let user_path = format!(
        "/users/{}",
        urlencoding::encode(u["user_id"].as_str().unwrap())
    );
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &user_path,
            Some(json!({"username": "vi"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["message"].as_str().unwrap().contains("minimum 3"), "{e}");
    let (s, u) = h
        .api(
            &t,
            Method::PATCH,
            &user_path,
            Some(json!({"username": "victor"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["username"], "victor");
    h.stop().await;
}

both_backends!(signup, look_alike_emails, usernames_follow_the_connection);
