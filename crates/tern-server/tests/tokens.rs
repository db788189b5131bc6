#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Tokens: discovery, the client-credentials grant, and hostile bearer tokens
//! against the Management API.

mod common;

use base64::Engine;
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("jwt");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("b64"),
    )
    .expect("json")
}

async fn discovery_uses_public_url(b: Backend) {
    let h = Harness::start(b).await;
    let d: Value = h
        .http
        .get(format!("{}/.well-known/openid-configuration", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = format!("https://{}", h.info.domain);
    assert_eq!(d["issuer"], json!(format!("{public}/")));
    assert_eq!(
        d["jwks_uri"],
        json!(format!("{public}/.well-known/jwks.json"))
    );
    let jwks: Value = h
        .http
        .get(format!("{}/.well-known/jwks.json", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
    assert!(
        key.get("d").is_none(),
        "private part must never be published"
    );
    h.stop().await;
}

async fn client_credentials_shapes(b: Backend) {
    let h = Harness::start(b).await;
    // JSON with explicit nulls, as auth0-python sends.
    let (s, body) = h
        .token(json!({"grant_type": "client_credentials", "client_id": h.info.client_id, "client_secret": h.info.client_secret,
                      "audience": h.info.audience, "organization": null, "realm": null, "scope": null}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86400);
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], json!(format!("{}@clients", h.info.client_id)));
    assert_eq!(c["aud"], json!(h.info.audience));
    assert_eq!(c["iss"], json!(format!("https://{}/", h.info.domain)));
    assert_eq!(c["azp"], json!(h.info.client_id));
    assert_eq!(c["gty"], "client-credentials");
    assert!(c["scope"].as_str().unwrap().contains("read:users"));
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        86400
    );

    // Form body + HTTP Basic, with a scope subset including one not granted.
    let r = h
        .http
        .post(format!("{}/oauth/token", h.base))
        .basic_auth(&h.info.client_id, Some(&h.info.client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", h.info.audience.as_str()),
            ("scope", "read:users not:granted"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["scope"], "read:users", "granted = requested ∩ granted");

    let cases = [
        (
            json!({"grant_type": "client_credentials", "client_id": h.info.client_id, "client_secret": "wrong", "audience": h.info.audience}),
            401,
            "invalid_client",
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x", "audience": h.info.audience}),
            401,
            "invalid_client",
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": h.info.client_id, "client_secret": h.info.client_secret}),
            403,
            "access_denied",
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": h.info.client_id, "client_secret": h.info.client_secret, "audience": "https://nope/"}),
            403,
            "access_denied",
        ),
        (
            json!({"grant_type": "magic", "client_id": h.info.client_id, "client_secret": h.info.client_secret}),
            400,
            "unsupported_grant_type",
        ),
        (
            json!({"client_id": h.info.client_id}),
            400,
            "invalid_request",
        ),
        (
            json!({"grant_type": ["client_credentials"], "client_id": h.info.client_id}),
            400,
            "invalid_request",
        ),
    ];
    for (req, status, error) in cases {
        let (s, body) = h.token(req.clone()).await;
        assert_eq!(s.as_u16(), status, "{req} → {body}");
        assert_eq!(body["error"], error, "{req} → {body}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }

    // A client without a grant for the API is refused.
    let admin = h.admin_token().await;
    let (_, c) = h
        .api(
            &admin,
            Method::POST,
            "/clients",
            Some(json!({"name": "m2m", "app_type": "non_interactive"})),
        )
        .await;
    let (s, body) = h
        .token(json!({"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"], "audience": h.info.audience}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("client-grant"),
        "{body}"
    );
    h.stop().await;
}

fn forge(header: Value, payload: Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let e = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let input = format!("{}.{}", e(&header), e(&payload));
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sign(input.as_bytes()));
    format!("{input}.{sig}")
}

async fn hostile_tokens_are_refused(b: Backend) {
    let h = Harness::start(b).await;
    let good = h.admin_token().await;
    let good_claims = claims(&good);
    let kid = h.state().keys.jwks().keys[0].common.key_id.clone().unwrap();
    let now = tern_core::clock::now_epoch();

    // A key that is not ours, with our kid.
    let foreign = tern_server::keys::KeyRing::ephemeral().unwrap();
    let mut foreign_jwt = { foreign.sign(&good_claims).unwrap() };
    // Put our kid in the header of the foreign-signed token.
    let parts: Vec<&str> = foreign_jwt.split('.').collect();
    let hdr = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    foreign_jwt = format!(
        "{}.{}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&hdr).unwrap()),
        parts[1],
        parts[2]
    );

    let mut expired = good_claims.clone();
    expired["exp"] = json!(now - 3600);
    expired["iat"] = json!(now - 7200);
    let mut wrong_aud = good_claims.clone();
    wrong_aud["aud"] = json!("https://elsewhere/api/v2/");
    let mut user_sub = good_claims.clone();
    user_sub["sub"] = json!("auth0|someone");
    let mut wrong_iss = good_claims.clone();
    wrong_iss["iss"] = json!("https://evil/");
    let sign_ours = |c: &Value| h.state().keys.sign(c).unwrap();
    let jwks_bytes = serde_json::to_vec(&h.state().keys.jwks()).unwrap();

    let cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            forge(
                json!({"alg": "none", "typ": "JWT"}),
                good_claims.clone(),
                |_| vec![],
            ),
        ),
        (
            "HS256 keyed with the public key",
            forge(
                json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
                good_claims.clone(),
                |input| {
                    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &jwks_bytes);
                    aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec()
                },
            ),
        ),
        ("foreign key with our kid", foreign_jwt),
        (
            "unknown kid",
            forge(
                json!({"alg": "RS256", "kid": "nope"}),
                good_claims.clone(),
                |_| vec![1, 2, 3],
            ),
        ),
        ("expired", sign_ours(&expired)),
        ("wrong audience", sign_ours(&wrong_aud)),
        ("wrong issuer", sign_ours(&wrong_iss)),
        ("user subject", sign_ours(&user_sub)),
        ("garbage", "not.a.jwt".into()),
        ("empty", String::new()),
    ];
    for (name, token) in cases {
        let (s, body) = h.api(&token, Method::GET, "/users", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert_eq!(body["statusCode"], 401, "{name}: {body}");
        assert_eq!(body["error"], "Unauthorized", "{name}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}"
        );
    }
    // No token at all.
    let r = h
        .http
        .get(format!("{}/api/v2/users", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Scope enforcement: a token with read:users only cannot create.
    let weak = h
        .m2m_token(
            &h.info.client_id,
            &h.info.client_secret,
            &h.info.audience,
            Some("read:users"),
        )
        .await;
    let (s, body) = h
        .api(
            &weak,
            Method::POST,
            "/users",
            Some(json!({"connection": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        body["message"],
        "Insufficient scope; expected any of: create:users."
    );
    assert_eq!(body["errorCode"], "insufficient_scope");
    h.stop().await;
}

async fn bad_bodies_get_clean_errors(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let url = format!("{}/api/v2/users", h.base);
    let send = |body: Vec<u8>, ct: &'static str| {
        let req = h
            .http
            .post(&url)
            .bearer_auth(&t)
            .header("content-type", ct)
            .body(body);
        async move {
            let r = req.send().await.unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let cases: Vec<(&str, Vec<u8>, &'static str, u16, &str)> = vec![
        ("malformed JSON", b"{\"email\": ".to_vec(), "application/json", 400, "Invalid request payload JSON"),
        ("not JSON content type", b"email=x".to_vec(), "application/x-www-form-urlencoded", 400, "Expected a JSON body"),
        ("empty body", vec![], "application/json", 400, "empty"),
        ("array", b"[1,2]".to_vec(), "application/json", 400, "Expected type object"),
        ("unknown field", br#"{"connection":"Username-Password-Authentication","email":"a@b.co","password":"Passw0rd!","admin":true}"#.to_vec(), "application/json", 400, "Additional properties not allowed: admin"),
        ("wrong type", br#"{"connection":"Username-Password-Authentication","email":12}"#.to_vec(), "application/json", 400, "Expected type string"),
        ("oversized", format!("{{\"x\":\"{}\"}}", "a".repeat(1536 * 1024)).into_bytes(), "application/json", 413, "Payload content length greater than maximum allowed: 1048576."),
        ("invalid UTF-8", vec![b'{', b'"', 0xff, b'"', b':', b'1', b'}'], "application/json", 400, "Invalid request payload JSON"),
    ];
    for (name, body, ct, status, msg) in cases {
        let (s, b) = send(body, ct).await;
        assert_eq!(s.as_u16(), status, "{name}: {b}");
        assert_eq!(b["statusCode"], status, "{name}: {b}");
        assert!(
            b["message"].as_str().is_some_and(|m| m.contains(msg)),
            "{name}: {b}"
        );
    }
    // Unknown endpoint: JSON 404 in the envelope.
    let (s, b) = h.api(&t, Method::GET, "/nothing-here", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(b["statusCode"], 404);
    h.stop().await;
}

/// A public application (`token_endpoint_auth_method: none`) gets no
/// machine token even with the secret every application is created with;
/// its password grant, without a secret, works as before.
async fn public_clients_get_no_client_credentials(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    h.create_user(&t, "pub@example.com", "Correct-Horse-7-Battery")
        .await;
    let c = h
        .client_on(
            &t,
            &h.info.connection_id,
            json!({"name": "spa", "app_type": "spa", "token_endpoint_auth_method": "none",
                   "grant_types": ["client_credentials", "http://auth0.com/oauth/grant-type/password-realm"]}),
        )
        .await;
    let id = c["client_id"].as_str().unwrap();
    let secret = c["client_secret"].as_str().unwrap();
    let (s, g) = h
        .api(
            &t,
            Method::POST,
            "/client-grants",
            Some(json!({"client_id": id, "audience": h.info.audience, "scope": ["read:users"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let cc = json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret,
                    "audience": h.info.audience});
    let (s, e) = h.token(cc.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error"], "unauthorized_client", "{e}");
    let (s, e) = h
        .token(
            json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
                      "realm": "Username-Password-Authentication", "client_id": id,
                      "username": "pub@example.com", "password": "Correct-Horse-7-Battery"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    // The same application made confidential gets its machine token.
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"token_endpoint_auth_method": "client_secret_post"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = h.token(cc).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    h.stop().await;
}

both_backends!(
    public_clients_get_no_client_credentials,
    discovery_uses_public_url,
    client_credentials_shapes,
    hostile_tokens_are_refused,
    bad_bodies_get_clean_errors
);

/// PostgreSQL refuses U+0000 in text; Tern answers it as a client error (or an
/// empty result), never a 500, on both backends.
async fn nul_characters_are_client_errors(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (s, body) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(json!({"connection": "a\u{0}", "email": "a@b.co", "password": "x"})),
        )
        .await;
    assert!(s.is_client_error(), "{s}: {body}");
    for path in [
        "/users/auth0%7Ca%00",
        "/clients/a%00",
        "/connections/a%00",
        "/users-by-email?email=a%00b",
    ] {
        let (s, body) = h.api(&t, Method::GET, path, None).await;
        assert!(!s.is_server_error(), "{path}: {s} {body}");
    }
    let (s, body) = h.token(json!({"grant_type": "client_credentials", "client_id": "a\u{0}", "client_secret": "x", "audience": h.info.audience})).await;
    assert!(s.is_client_error(), "{s}: {body}");
    // The logout pages too (a fuzzer found /v2/logout's 500 on PostgreSQL).
    for path in [
        "/v2/logout?client_id=a%00",
        "/oidc/logout?client_id=a%00",
        "/oidc/logout?logout_hint=a%00",
    ] {
        let r = h
            .http
            .get(format!("{}{path}", h.base))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_client_error() || r.status().is_success(),
            "{path}: {}",
            r.status()
        );
    }
    h.stop().await;
}

mod nul {
    use super::*;
    both_backends!(nul_characters_are_client_errors);
}

/// An application's `jwt_configuration.lifetime_in_seconds` is its ID
/// tokens' lifetime (Auth0's 10 hours when not set); other algorithms than
/// the RS256 Tern signs with, and lifetimes outside 1 s – 30 days, are
/// refused by name; what Auth0 keeps beside them is kept.
async fn an_applications_id_token_lifetime_is_its_own(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (id, secret) = h.password_client(&t).await;
    h.create_user(&t, "ada@example.com", "Corr3ct-horse-battery")
        .await;
    let id_token_life = |h: &Harness, id: String, secret: String| {
        let http = h.http.clone();
        let url = format!("{}/oauth/token", h.base);
        async move {
            let body: Value = http
                .post(url)
                .json(
                    &json!({"grant_type": "password", "username": "ada@example.com",
                    "password": "Corr3ct-horse-battery", "scope": "openid",
                    "client_id": id, "client_secret": secret}),
                )
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let c = claims(body["id_token"].as_str().expect("an id_token"));
            c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap()
        }
    };
    assert_eq!(id_token_life(&h, id.clone(), secret.clone()).await, 36_000);
    let (s, c) = h
        .api(&t, Method::GET, &format!("/clients/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["jwt_configuration"]["lifetime_in_seconds"], 36_000);
    assert_eq!(c["jwt_configuration"]["alg"], "RS256");

    let set = json!({"jwt_configuration": {"lifetime_in_seconds": 600, "alg": "RS256", "secret_encoded": false}});
    let (s, c) = h
        .api(&t, Method::PATCH, &format!("/clients/{id}"), Some(set))
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(
        c["jwt_configuration"],
        json!({"lifetime_in_seconds": 600, "alg": "RS256", "secret_encoded": false})
    );
    assert_eq!(id_token_life(&h, id.clone(), secret.clone()).await, 600);

    for (bad, says) in [
        (json!({"lifetime_in_seconds": 0}), "between 1 and 2592000"),
        (
            json!({"lifetime_in_seconds": 2_592_001}),
            "between 1 and 2592000",
        ),
        (json!({"alg": "HS256"}), "HS256 is not available"),
        (
            json!({"lifetime_in_seconds": "long"}),
            "'Expected type integer but found type string' on property jwt_configuration.lifetime_in_seconds",
        ),
    ] {
        let (s, e) = h
            .api(
                &t,
                Method::PATCH,
                &format!("/clients/{id}"),
                Some(json!({"jwt_configuration": bad})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {e}");
        assert!(e["message"].as_str().unwrap().contains(says), "{bad}: {e}");
    }
    let (s, e) = h
        .api(
            &t,
            Method::POST,
            "/clients",
            Some(json!({"name": "short-lived", "jwt_configuration": {"lifetime_in_seconds": -1}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    // The refused changes left the setting as it was.
    assert_eq!(id_token_life(&h, id, secret).await, 600);
    h.stop().await;
}

mod id_token_lifetime {
    use super::*;
    both_backends!(an_applications_id_token_lifetime_is_its_own);
}
