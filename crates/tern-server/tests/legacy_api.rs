#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! `examples/legacy-api` accepts only Tern-issued machine tokens for its own
//! audience with the right scope: user tokens, expired tokens, tokens for
//! other audiences or issuers, other algorithms and tampered tokens are
//! refused. Real Tern, real legacy API, real HTTP.

mod common;

use std::time::Duration;

use base64::Engine;
use common::legacy::{AUDIENCE, LegacyApi, seed_user};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Call {
    status: StatusCode,
    challenge: Option<String>,
    body: Value,
}

async fn call(
    h: &Harness,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Call {
    let mut req = h.http.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    let body = r.json().await.unwrap_or(Value::Null);
    Call {
        status,
        challenge,
        body,
    }
}

fn assert_refused(c: &Call, why: &str, what: &str) {
    assert_eq!(c.status, StatusCode::UNAUTHORIZED, "{what}: {:?}", c.body);
    assert!(
        c.challenge
            .as_deref()
            .unwrap_or("")
            .contains("invalid_token"),
        "{what}: {:?}",
        c.challenge
    );
    assert!(
        c.body["message"].as_str().unwrap_or("").contains(why),
        "{what}: {}",
        c.body
    );
}

async fn only_machine_tokens(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let legacy = LegacyApi::start(&h).await;
    let login_url = format!("{}/login", legacy.url());
    let ada = seed_user("ada");
    let login_body = json!({"username": ada.email, "password": ada.password});

    // The API, still open to users, so that a user token for it can exist.
    let (s, api) = h
        .api(
            &t,
            Method::POST,
            "/resource-servers",
            Some(json!({"identifier": AUDIENCE,
            "scopes": [{"value": "read:users"}, {"value": "migrate:users"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{api}");
    let (_, m2m) = h
        .api(&t, Method::POST, "/clients", Some(json!({"name": "reader", "app_type": "non_interactive", "grant_types": ["client_credentials"]})))
        .await;
    let (mid, msecret) = (
        m2m["client_id"].as_str().unwrap(),
        m2m["client_secret"].as_str().unwrap(),
    );
    let (s, _) = h
        .api(&t, Method::POST, "/client-grants", Some(json!({"client_id": mid, "audience": AUDIENCE, "scope": ["read:users", "migrate:users"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let reader = h
        .m2m_token(mid, msecret, AUDIENCE, Some("read:users"))
        .await;
    let migrator = h
        .m2m_token(mid, msecret, AUDIENCE, Some("migrate:users"))
        .await;

    // A proper machine token: login, lookup, mark migrated.
    let c = call(
        &h,
        Method::POST,
        &login_url,
        Some(&reader),
        Some(login_body.clone()),
    )
    .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(
        (c.body["id"].as_i64(), c.body["account"]["plan"].as_str()),
        (Some(1), Some("gold"))
    );
    let c = call(
        &h,
        Method::POST,
        &login_url,
        Some(&reader),
        Some(json!({"username": ada.email, "password": "wrong"})),
    )
    .await;
    assert_eq!(c.status, StatusCode::UNAUTHORIZED, "{}", c.body);
    assert_eq!(c.body["error"], "wrong_credentials");
    assert!(
        c.challenge.is_none(),
        "wrong credentials are not a refused token"
    );
    let c = call(
        &h,
        Method::GET,
        &format!("{}/users?email=ADA%40legacy.example", legacy.url()),
        Some(&reader),
        None,
    )
    .await;
    assert_eq!((c.status, c.body["id"].as_i64()), (StatusCode::OK, Some(1)));
    let c = call(
        &h,
        Method::GET,
        &format!("{}/users?email=nobody%40legacy.example", legacy.url()),
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(c.status, StatusCode::NOT_FOUND);
    let migrated_url = format!("{}/users/1/migrated", legacy.url());
    let c = call(&h, Method::POST, &migrated_url, Some(&migrator), None).await;
    assert_eq!(c.status, StatusCode::NO_CONTENT, "{}", c.body);
    assert!(legacy.migrated_at("ada@legacy.example").await.is_some());

    // Missing scope: 403 insufficient_scope, both ways round.
    let c = call(&h, Method::POST, &migrated_url, Some(&reader), None).await;
    assert_eq!(c.status, StatusCode::FORBIDDEN, "{}", c.body);
    assert!(c.challenge.unwrap().contains("insufficient_scope"));
    let c = call(
        &h,
        Method::POST,
        &login_url,
        Some(&migrator),
        Some(login_body.clone()),
    )
    .await;
    assert_eq!(c.status, StatusCode::FORBIDDEN, "{}", c.body);

    // No token, garbage, a user's token for this very audience.
    assert_refused(
        &call(&h, Method::POST, &login_url, None, Some(login_body.clone())).await,
        "bearer token is required",
        "no token",
    );
    assert_refused(
        &call(
            &h,
            Method::POST,
            &login_url,
            Some("not.a.jwt"),
            Some(login_body.clone()),
        )
        .await,
        "malformed",
        "garbage",
    );
    h.create_user(&t, "mallory@example.com", "Secret-123").await;
    let (cid, secret) = h.password_client(&t).await;
    let (s, user_tok) = h
        .token(json!({"grant_type": "password", "client_id": cid, "client_secret": secret, "username": "mallory@example.com",
                      "password": "Secret-123", "audience": AUDIENCE, "scope": "read:users migrate:users"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{user_tok}");
    let user_tok = user_tok["access_token"].as_str().unwrap();
    assert_refused(
        &call(
            &h,
            Method::POST,
            &login_url,
            Some(user_tok),
            Some(login_body.clone()),
        )
        .await,
        "issued to a user",
        "user token",
    );
    // Marking the API machine-only stops such tokens being issued at all.
    let (s, _) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/resource-servers/{}", api["id"].as_str().unwrap()),
            Some(json!({"tern_machine_to_machine_only": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = h
        .token(json!({"grant_type": "password", "client_id": cid, "client_secret": secret, "username": "mallory@example.com",
                      "password": "Secret-123", "audience": AUDIENCE}))
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("access_denied"))
    );

    // A machine token for another audience (another API; the Management API).
    let (s, _) = h
        .api(&t, Method::POST, "/resource-servers", Some(json!({"identifier": "https://other.example/", "scopes": [{"value": "read:users"}]})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = h
        .api(&t, Method::POST, "/client-grants", Some(json!({"client_id": mid, "audience": "https://other.example/", "scope": ["read:users"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let other = h
        .m2m_token(mid, msecret, "https://other.example/", None)
        .await;
    assert_refused(
        &call(
            &h,
            Method::POST,
            &login_url,
            Some(&other),
            Some(login_body.clone()),
        )
        .await,
        "another audience",
        "other API",
    );
    assert_refused(
        &call(
            &h,
            Method::POST,
            &login_url,
            Some(&t),
            Some(login_body.clone()),
        )
        .await,
        "another audience",
        "Management API token",
    );

    // Expired: a real token from an API whose tokens live one second.
    let (s, _) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/resource-servers/{}", api["id"].as_str().unwrap()),
            Some(json!({"token_lifetime": 1})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let short = h
        .m2m_token(mid, msecret, AUDIENCE, Some("read:users"))
        .await;
    let c = call(
        &h,
        Method::POST,
        &login_url,
        Some(&short),
        Some(login_body.clone()),
    )
    .await;
    assert_eq!(c.status, StatusCode::OK, "fresh: {}", c.body);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_refused(
        &call(
            &h,
            Method::POST,
            &login_url,
            Some(&short),
            Some(login_body.clone()),
        )
        .await,
        "expired",
        "expired token",
    );

    // Tokens signed with Tern's real key but with claims Tern never issues.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let issuer = h.state().issuer();
    let base = json!({"iss": issuer, "sub": format!("{mid}@clients"), "aud": AUDIENCE, "iat": now, "exp": now + 600, "scope": "read:users"});
    let signed = |patch: Value| {
        let mut c = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        h.state().keys.sign(&c).unwrap()
    };
    let c = call(
        &h,
        Method::POST,
        &login_url,
        Some(&signed(json!({}))),
        Some(login_body.clone()),
    )
    .await;
    assert_eq!(
        c.status,
        StatusCode::OK,
        "the control token is accepted: {}",
        c.body
    );
    for (patch, why) in [
        (json!({"exp": now - 60}), "expired"),
        (json!({"iss": "https://evil.example/"}), "another issuer"),
        (
            json!({"aud": ["https://other.example/"]}),
            "another audience",
        ),
        (json!({"sub": "auth0|123"}), "issued to a user"),
        (json!({"sub": "clients"}), "issued to a user"),
        (json!({"exp": null}), "lacks exp"),
    ] {
        assert_refused(
            &call(
                &h,
                Method::POST,
                &login_url,
                Some(&signed(patch.clone())),
                Some(login_body.clone()),
            )
            .await,
            why,
            &patch.to_string(),
        );
    }
    let c = call(
        &h,
        Method::POST,
        &login_url,
        Some(&signed(json!({"scope": "migrate:users openid"}))),
        Some(login_body.clone()),
    )
    .await;
    assert_eq!(c.status, StatusCode::FORBIDDEN, "no read:users scope");

    // Algorithm confusion and tampering.
    let good = signed(json!({}));
    let parts: Vec<&str> = good.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    // (`none` is not even an algorithm the JWT library parses.)
    for (alg, why) in [
        ("HS256", "only RS256"),
        ("RS512", "only RS256"),
        ("none", "malformed"),
    ] {
        let mut hd = header.clone();
        hd["alg"] = json!(alg);
        let forged = format!("{}.{}.{}", b64.encode(hd.to_string()), parts[1], parts[2]);
        assert_refused(
            &call(
                &h,
                Method::POST,
                &login_url,
                Some(&forged),
                Some(login_body.clone()),
            )
            .await,
            why,
            alg,
        );
    }
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["scope"] = json!("read:users migrate:users admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    assert_refused(
        &call(
            &h,
            Method::POST,
            &login_url,
            Some(&tampered),
            Some(login_body.clone()),
        )
        .await,
        "bad signature",
        "tampered",
    );
    let mut hd = header.clone();
    hd["kid"] = json!("someone-elses-key");
    let unknown_kid = format!("{}.{}.{}", b64.encode(hd.to_string()), parts[1], parts[2]);
    assert_refused(
        &call(
            &h,
            Method::POST,
            &login_url,
            Some(&unknown_kid),
            Some(login_body.clone()),
        )
        .await,
        "unknown signing key",
        "unknown kid",
    );

    // The keys are cached: with Tern stopped, a valid token still verifies.
    let keep = signed(json!({}));
    let mut legacy = legacy;
    h.stop().await;
    let c = reqwest::Client::new()
        .post(&login_url)
        .bearer_auth(&keep)
        .json(&login_body)
        .send()
        .await
        .unwrap();
    assert_eq!(c.status(), StatusCode::OK, "verified from the cached JWKS");
    legacy.stop().await;
}

both_backends!(only_machine_tokens);
