#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Machine-to-machine-only APIs (`tern_machine_to_machine_only`): a user can
//! get no token for such an API by any grant, while client credentials
//! through a client grant work.

mod common;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::json;

const API: &str = "https://legacy.example/api";
const REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

async fn user_grants_are_refused(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;

    // Created as an ordinary API first: users can get tokens for it.
    let (s, api) = h
        .api(
            &t,
            Method::POST,
            "/resource-servers",
            Some(json!({"name": "Legacy", "identifier": API,
            "scopes": [{"value": "read:users"}, {"value": "migrate:users"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{api}");
    assert_eq!(api["tern_machine_to_machine_only"], false, "off by default");
    h.create_user(&t, "ann@example.com", "Secret-123").await;
    let (cid, secret) = h.password_client(&t).await;
    let user_grants = [
        json!({"grant_type": "password", "username": "ann@example.com", "password": "Secret-123", "audience": API, "scope": "read:users"}),
        json!({"grant_type": REALM, "realm": "Username-Password-Authentication", "username": "ann@example.com", "password": "Secret-123", "audience": API, "scope": "openid read:users"}),
    ];
    let with_client = |mut body: serde_json::Value| {
        body["client_id"] = json!(cid);
        body["client_secret"] = json!(secret);
        body
    };
    for g in &user_grants {
        let (s, body) = h.token(with_client(g.clone())).await;
        assert_eq!(s, StatusCode::OK, "an ordinary API: {body}");
    }

    // Marked machine-to-machine only: every user-facing grant is refused.
    let path = format!("/resource-servers/{}", api["id"].as_str().unwrap());
    let (s, patched) = h
        .api(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"tern_machine_to_machine_only": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["tern_machine_to_machine_only"], true);
    let (_, got) = h.api(&t, Method::GET, &path, None).await;
    assert_eq!(got["tern_machine_to_machine_only"], true, "stored");
    for g in &user_grants {
        let (s, body) = h.token(with_client(g.clone())).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "access_denied");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("machine-to-machine tokens only"),
            "{body}"
        );
        assert!(body.get("access_token").is_none());
    }
    // Even with a wrong password the answer is the audience refusal: the
    // audience is checked before the user, so no legacy store is consulted.
    let mut wrong = with_client(user_grants[0].clone());
    wrong["password"] = json!("nope");
    let (s, body) = h.token(wrong).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("access_denied"))
    );

    // The browser flow is refused at /authorize, before any login: back to
    // the application with access_denied.
    let (s, web) = h
        .api(
            &t,
            Method::POST,
            "/clients",
            Some(json!({"name": "web", "app_type": "regular_web",
            "callbacks": ["https://app.example/cb"], "grant_types": ["authorization_code"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{web}");
    let mut browser = common::browser::Browser::new(&h.base);
    let answer = browser
        .get(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid&state=s1&audience={}",
            web["client_id"].as_str().unwrap(),
            urlencoding::encode(API)
        ))
        .await;
    assert_eq!(
        answer.location_param("error").as_deref(),
        Some("access_denied"),
        "{:?}",
        answer.location()
    );
    assert_eq!(answer.location_param("state").as_deref(), Some("s1"));
    assert!(answer.location_param("code").is_none());

    // A refresh token Tern never issued gets nothing.
    let (s, body) = h
        .token(with_client(
            json!({"grant_type": "refresh_token", "audience": API, "refresh_token": "x"}),
        ))
        .await;
    assert!(s.is_client_error(), "refresh_token: {body}");
    assert!(body.get("access_token").is_none());

    // Grants Tern does not implement (device, token exchange, JWT bearer)
    // issue nothing either.
    for grant in [
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ] {
        let (s, body) = h
            .token(with_client(json!({"grant_type": grant, "audience": API, "code": "x", "refresh_token": "x", "username": "ann@example.com", "password": "Secret-123"})))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{grant}: {body}");
        assert_eq!(body["error"], "unsupported_grant_type");
        assert!(body.get("access_token").is_none());
    }

    // A machine client with a client grant gets its token; without one it does not.
    let (s, m2m) = h
        .api(&t, Method::POST, "/clients", Some(json!({"name": "tern-connector", "app_type": "non_interactive", "grant_types": ["client_credentials"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m2m}");
    let (mid, msecret) = (
        m2m["client_id"].as_str().unwrap(),
        m2m["client_secret"].as_str().unwrap(),
    );
    let cc = json!({"grant_type": "client_credentials", "client_id": mid, "client_secret": msecret, "audience": API});
    let (s, body) = h.token(cc.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no client grant yet: {body}");
    assert_eq!(body["error"], "access_denied");
    let (s, g) = h
        .api(&t, Method::POST, "/client-grants", Some(json!({"client_id": mid, "audience": API, "scope": ["read:users", "migrate:users"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let (s, body) = h.token(cc).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read:users migrate:users");
    // The user application, even given a client grant, gets a machine token
    // (sub = client@clients), never a user's.
    let (s, g) = h
        .api(
            &t,
            Method::POST,
            "/client-grants",
            Some(json!({"client_id": cid, "audience": API, "scope": ["read:users"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    for g in &user_grants {
        let (s, body) = h.token(with_client(g.clone())).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("access_denied")),
            "a client grant does not open the API to users"
        );
    }

    // The flag is type-checked, and the Management API reports it.
    let (s, body) = h
        .api(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"tern_machine_to_machine_only": "yes"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errorCode"], "invalid_body");
    // Switched off again, users get tokens again.
    let (s, _) = h
        .api(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"tern_machine_to_machine_only": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = h.token(with_client(user_grants[0].clone())).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    h.stop().await;
}

/// Created with the flag set, the API is machine-only from the start.
async fn created_machine_only(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (s, api) = h
        .api(
            &t,
            Method::POST,
            "/resource-servers",
            Some(json!({"identifier": API, "tern_machine_to_machine_only": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{api}");
    assert_eq!(api["tern_machine_to_machine_only"], true);
    let (_, list) = h.api(&t, Method::GET, "/resource-servers", None).await;
    let listed = list.as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|a| a["identifier"] == API && a["tern_machine_to_machine_only"] == true),
        "{list}"
    );
    h.create_user(&t, "bob@example.com", "Secret-123").await;
    let (cid, secret) = h.password_client(&t).await;
    let (s, body) = h
        .token(json!({"grant_type": "password", "client_id": cid, "client_secret": secret, "username": "bob@example.com", "password": "Secret-123", "audience": API}))
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("access_denied")),
        "{body}"
    );
    h.stop().await;
}

both_backends!(user_grants_are_refused, created_machine_only);
