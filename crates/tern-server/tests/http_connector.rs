#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The zero-code HTTP connector, end to end: `examples/legacy-api` running
//! for real, protected by a machine-to-machine-only API in Tern; users of
//! four legacy hash formats migrate at their first login without any script.

mod common;

use common::legacy::{
    AUDIENCE, LegacyApi, REALM, http_connector, legacy_connection, log_descriptions, login,
    protect_legacy_api, seed_user, seed_users, tern_user,
};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn create_connection(h: &Harness, t: &str, options: Value) -> (StatusCode, Value) {
    h.api(
        t,
        Method::POST,
        "/connections",
        Some(json!({"name": "checked", "strategy": "auth0", "options": options})),
    )
    .await
}

/// Bad connector configurations are refused with a message naming the problem.
async fn connector_validation(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let good = http_connector("http://127.0.0.1:4000", "client-1", json!({}));
    let secret = json!({"TERN_CONNECTOR_CLIENT_SECRET": "s3cret"});
    let with = |patch: Value| {
        let mut c = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    for (connector, configuration, needle) in [
        (
            json!("http"),
            secret.clone(),
            "must be an object with a \"type\"",
        ),
        (
            json!({"type": "ldap"}),
            secret.clone(),
            "unknown connector type 'ldap'",
        ),
        (
            good.clone(),
            json!({}),
            "options.configuration.TERN_CONNECTOR_CLIENT_SECRET",
        ),
        (
            with(json!({"base_url": "file:///etc/passwd"})),
            secret.clone(),
            "http:// or https://",
        ),
        (
            with(json!({"profile_map": {"email": "/email"}})),
            secret.clone(),
            "must map user_id",
        ),
        (
            with(json!({"profile_map": {"user_id": "/id", "password": "/pw"}})),
            secret.clone(),
            "'password' is not a profile field",
        ),
        (
            with(json!({"timeout_ms": 600_000})),
            secret.clone(),
            "timeout_ms must be between",
        ),
        (with(json!({"retries": -1})), secret.clone(), "retries"),
        (
            with(json!({"colour": "blue"})),
            secret.clone(),
            "unknown field `colour`",
        ),
        (
            with(json!({"migrated_path": "/done"})),
            secret.clone(),
            "{id}",
        ),
        (json!({"type": "sql"}), secret.clone(), "(sql)"),
    ] {
        let (s, body) = create_connection(
            &h,
            &t,
            json!({"enabledDatabaseCustomization": true, "import_mode": true,
            "tern_connector": connector, "configuration": configuration}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{connector}: {body}");
        assert_eq!(body["errorCode"], "invalid_body");
        let msg = body["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
        assert!(
            msg.contains("tern_connector") || msg.contains("TERN_CONNECTOR"),
            "{msg}"
        );
    }
    let (s, body) = create_connection(
        &h,
        &t,
        json!({"enabledDatabaseCustomization": true, "import_mode": true,
        "tern_connector": good, "configuration": secret}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["options"]["tern_connector"]["type"], "http");
    // PATCH validates the same way.
    let (s, body) = h
        .api(&t, Method::PATCH, &format!("/connections/{}", body["id"].as_str().unwrap()),
             Some(json!({"options": {"enabledDatabaseCustomization": true, "tern_connector": {"type": "http"}}})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("missing field"),
        "{body}"
    );
    h.stop().await;
}

/// Every seeded user, whatever its legacy hash, migrates at its first login:
/// profile, metadata and the typed password stored at once, the legacy store
/// told; wrong passwords and unknown users are refused and store nothing.
async fn users_migrate_through_the_connector(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let mut legacy = LegacyApi::start(&h).await;
    let (mid, msecret) = protect_legacy_api(&h, &t).await;
    let (conn_id, cid, secret) = legacy_connection(
        &h,
        &t,
        http_connector(&legacy.url(), &mid, json!({})),
        &msecret,
    )
    .await;

    let wrong = login(&h, &cid, &secret, "ada@legacy.example", "not-her-password").await;
    assert_eq!(
        (wrong.0, wrong.1["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{}",
        wrong.1
    );
    assert!(
        tern_user(&h, 1).await.is_none(),
        "a refused login stores nothing"
    );
    let unknown = login(&h, &cid, &secret, "nobody@legacy.example", "whatever").await;
    assert_eq!(unknown.0, StatusCode::FORBIDDEN);

    let mut schemes = std::collections::BTreeSet::new();
    for u in seed_users() {
        let (s, body) = login(&h, &cid, &secret, &u.email, &u.password).await;
        assert_eq!(s, StatusCode::OK, "{} ({}): {body}", u.email, u.scheme);
        assert!(body["id_token"].is_string());
        let stored = tern_user(&h, u.id).await.expect("migrated");
        assert_eq!(stored.email.as_deref(), Some(u.email.as_str()));
        assert_eq!(stored.connection_name, REALM);
        assert_eq!(
            stored.app_metadata.get("plan"),
            Some(&json!(u.plan)),
            "metadata with the credential"
        );
        assert!(
            stored
                .credential
                .as_deref()
                .unwrap()
                .starts_with("$argon2id$"),
            "the typed password under Tern's policy"
        );
        schemes.insert(u.scheme.clone());
    }
    assert_eq!(schemes.len(), 4, "bcrypt, salted sha256, phpass, md5-crypt");
    let (_, ada) = h.api(&t, Method::GET, "/users/auth0%7C1", None).await;
    assert_eq!(
        (ada["name"].as_str(), ada["email_verified"].as_bool()),
        (Some("Ada Lovelace"), Some(true))
    );
    let (_, edsger) = h.api(&t, Method::GET, "/users/auth0%7C4", None).await;
    assert_eq!(
        edsger["email_verified"], false,
        "mapped from /email_confirmed"
    );
    for u in seed_users() {
        legacy.wait_migrated(&u.email).await;
    }

    // One machine token served every call: minted once through the
    // client-credentials path (tenant log `seccft`), then cached.
    let minted = log_descriptions(&h, &t, "seccft").await;
    assert_eq!(
        minted.len(),
        2,
        "the admin's token and the connector's: {minted:?}"
    );

    // Once migrated, the legacy API is never asked again: it can go away.
    legacy.stop().await;
    let ada = seed_user("ada");
    let (s, body) = login(&h, &cid, &secret, &ada.email, &ada.password).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = login(&h, &cid, &secret, &ada.email, "wrong").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    legacy.restart().await;

    // Signup asks get_user: a legacy user cannot be signed up twice.
    let (_, conn) = h
        .api(&t, Method::GET, &format!("/connections/{conn_id}"), None)
        .await;
    let mut options = conn["options"].clone();
    options["disable_signup"] = json!(false);
    let signup = |email: &'static str| {
        h.http.post(format!("{}/dbconnections/signup", h.base))
            .json(&json!({"client_id": cid, "connection": REALM, "email": email, "password": "Fresh-Pass-1"}))
            .send()
    };
    // A legacy database user who never logged in: create a fresh legacy user by
    // removing a migrated Tern user (the legacy row still exists).
    let (s, _) = h.api(&t, Method::DELETE, "/users/auth0%7C13", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let r = signup("zoe@legacy.example").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error_description"],
        "The user already exists"
    );
    let r = signup("newcomer@example.com").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);

    // A wrong connector secret: clear 503 for the user, the reason in the log.
    options["configuration"]["TERN_CONNECTOR_CLIENT_SECRET"] = json!("not-the-secret");
    let (s, body) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/connections/{conn_id}"),
            Some(json!({"options": options})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let zoe = seed_user("zoe");
    let (s, body) = login(&h, &cid, &secret, &zoe.email, &zoe.password).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("temporarily_unavailable")
        ),
        "{body}"
    );
    let fails = log_descriptions(&h, &t, "f").await;
    assert!(
        fails
            .iter()
            .any(|d| d.contains("Legacy login failed; nothing was stored")
                && d.contains("unknown client or wrong secret")),
        "{fails:?}"
    );
    assert!(tern_user(&h, 13).await.is_none());
    // Fixed: the new configuration (and secret) takes effect at once.
    options["configuration"]["TERN_CONNECTOR_CLIENT_SECRET"] = json!(msecret);
    let (s, _) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/connections/{conn_id}"),
            Some(json!({"options": options})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = login(&h, &cid, &secret, &zoe.email, &zoe.password).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "non-ASCII password through salted SHA-256: {body}"
    );

    // The connector needs a client grant for the legacy API's audience.
    let (_, grants) = h
        .api(
            &t,
            Method::GET,
            &format!("/client-grants?client_id={mid}"),
            None,
        )
        .await;
    let gid = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["audience"] == AUDIENCE)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = h
        .api(&t, Method::DELETE, &format!("/client-grants/{gid}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    options["tern_connector"]["timeout_ms"] = json!(4000); // a new configuration: no cached token
    let (s, _) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/connections/{conn_id}"),
            Some(json!({"options": options})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h.api(&t, Method::DELETE, "/users/auth0%7C12", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let tony = seed_user("tony");
    let (s, _) = login(&h, &cid, &secret, &tony.email, &tony.password).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let fails = log_descriptions(&h, &t, "f").await;
    assert!(
        fails
            .iter()
            .any(|d| d.contains("Client is not authorized to access")),
        "{fails:?}"
    );
    legacy.stop().await;
    h.stop().await;
}

/// A legacy API that echoes its input in an error body (as FastAPI's 422
/// does): the excerpt Tern logs in the `f` event has the typed password
/// masked. The API here is a stand-in written for the test, answering only
/// that error.
async fn an_echoed_password_is_masked_in_the_log(b: Backend) {
    const PASSWORD: &str = "Correct-Horse-Battery-Staple-42";
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let echo = axum::Router::new().route(
        "/login",
        axum::routing::post(|axum::Json(body): axum::Json<Value>| async move {
            (
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(
                    json!({"detail": [{"msg": "value is not valid", "input": body["password"]}]}),
                ),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = tokio::spawn(async move { axum::serve(listener, echo).await });
    let (mid, msecret) = protect_legacy_api(&h, &t).await;
    let (_, cid, secret) =
        legacy_connection(&h, &t, http_connector(&url, &mid, json!({})), &msecret).await;

    let (s, _) = login(&h, &cid, &secret, "ada@legacy.example", PASSWORD).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let fails = log_descriptions(&h, &t, "f").await;
    assert!(
        fails
            .iter()
            .any(|d| d.contains("answered 422") && d.contains("\"input\":\"********\"")),
        "{fails:?}"
    );
    let (_, all) = h.api(&t, Method::GET, "/logs?per_page=100", None).await;
    assert!(
        !all.to_string().contains(PASSWORD),
        "the typed password was logged"
    );
    served.abort();
    h.stop().await;
}

/// A legacy API whose error echoes the request and Tern's `Authorization`
/// header, padded so that the typed password straddles the excerpt's
/// 200-character cut (for `cut@…`): the excerpt in the `f` event is redacted
/// before it is cut, the password masked in its JSON-escaped form, and the
/// bearer token Tern sent is masked too.
async fn the_error_excerpt_is_redacted_before_it_is_cut(b: Backend) {
    // A quote and a backslash: the request carries it JSON-escaped.
    const PASSWORD: &str = r#"Straddling"Secret\Pass-42"#;
    const ESCAPED: &str = r#"Straddling\"Secret\\Pass-42"#;
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let echo = axum::Router::new().route(
        "/login",
        axum::routing::post(
            |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| async move {
                // `{"error":"` + pad + `","password":"` puts the password at
                // 24 + pad: 164 lets the cut at 200 fall after its 12th character.
                let pad = if body["username"].as_str().unwrap().starts_with("cut") {
                    164
                } else {
                    0
                };
                let auth = headers[axum::http::header::AUTHORIZATION].to_str().unwrap();
                let text = format!(
                    r#"{{"error":"{}","password":{},"auth":{}}}"#,
                    "x".repeat(pad),
                    body["password"],
                    Value::from(auth)
                );
                (axum::http::StatusCode::BAD_REQUEST, text)
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = tokio::spawn(async move { axum::serve(listener, echo).await });
    let (mid, msecret) = protect_legacy_api(&h, &t).await;
    let (_, cid, secret) =
        legacy_connection(&h, &t, http_connector(&url, &mid, json!({})), &msecret).await;

    for user in ["cut@legacy.example", "whole@legacy.example"] {
        let (s, _) = login(&h, &cid, &secret, user, PASSWORD).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    }
    let fails = log_descriptions(&h, &t, "f").await;
    let excerpt = |d: &String| d.split_once(" to login: ").map(|(_, e)| e.to_string());
    let excerpts: Vec<String> = fails.iter().filter_map(excerpt).collect();
    assert_eq!(
        excerpts,
        [
            r#"{"error":"","password":"********","auth":"Bearer ********"}"#.to_string(),
            format!(
                r#"{{"error":"{}","password":"********","auth":"Bearer ********"}}"#,
                "x".repeat(164)
            )
            .chars()
            .take(200)
            .collect::<String>(),
        ],
        "{fails:?}"
    );
    let (_, all) = h.api(&t, Method::GET, "/logs?per_page=100", None).await;
    let text = all.to_string();
    for leak in ["Straddling", &ESCAPED[..12], "Bearer ey"] {
        assert!(!text.contains(leak), "{leak} reached the log: {text}");
    }
    served.abort();
    h.stop().await;
}

both_backends!(
    connector_validation,
    users_migrate_through_the_connector,
    an_echoed_password_is_masked_in_the_log,
    the_error_excerpt_is_redacted_before_it_is_cut
);
