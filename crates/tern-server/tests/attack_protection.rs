#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Attack protection (issue 12) against the real server: whose IP a request
//! comes from, the Management API's limit after authentication.

mod common;
mod reset_support;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use reset_support::{browser, confirm_link, open_link};
use serde_json::{Value, json};

/// Request headers as (name, value) pairs.
type Headers<'a> = &'a [(&'a str, &'a str)];

/// A wrong-password login with extra headers; the `ip` its `fp` event logged.
async fn logged_ip(h: &Harness, token: &str, body: Value, headers: &[(&str, &str)]) -> String {
    let mut req = h.http.post(format!("{}/oauth/token", h.base)).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a wrong password");
    let (s, logs) = h
        .api(token, Method::GET, "/logs?q=type:fp&per_page=1", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{logs}");
    logs[0]["ip"].as_str().unwrap().to_string()
}

async fn whose_ip(b: Backend) {
    let h = Harness::start_with(b, |c| {
        c.http.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let t = h.admin_token().await;
    h.create_user(&t, "ann@example.com", "Secret-123").await;
    let (cid, secret) = h.password_client(&t).await;
    // Many wrong passwords from few addresses: no block is what is tested.
    h.set_attack_protection(&t, "brute-force-protection", json!({"max_attempts": 100}))
        .await;
    let wrong = json!({"grant_type": "password", "username": "ann@example.com", "password": "nope",
        "client_id": cid, "client_secret": secret});

    let cases: &[(Headers, &str, &str)] = &[
        (&[], "127.0.0.1", "no header: the peer"),
        (
            &[("x-forwarded-for", "198.51.100.7")],
            "198.51.100.7",
            "a trusted proxy's client",
        ),
        (
            &[("x-forwarded-for", "6.6.6.6, 198.51.100.7")],
            "198.51.100.7",
            "what the client wrote before the proxy is not believed",
        ),
        (
            &[("auth0-forwarded-for", "not-an-ip")],
            "127.0.0.1",
            "an unreadable auth0-forwarded-for is ignored",
        ),
    ];
    let named = [
        ("x-forwarded-for", "198.51.100.7"),
        ("auth0-forwarded-for", "203.0.113.5"),
    ];
    // With a realm the login's reads are made before the client authenticates,
    // for the address it will have: the same answers.
    let mut wrong_in_realm = wrong.clone();
    wrong_in_realm["grant_type"] = json!("http://auth0.com/oauth/grant-type/password-realm");
    wrong_in_realm["realm"] = json!("Username-Password-Authentication");
    for body in [&wrong, &wrong_in_realm] {
        for (headers, want, why) in cases {
            assert_eq!(
                logged_ip(&h, &t, body.clone(), headers).await,
                *want,
                "{why}: {}",
                body["grant_type"]
            );
        }
        // A confidential client that is not trusted with the header (the
        // default) cannot name anyone: its caller's address counts.
        assert_eq!(
            logged_ip(&h, &t, body.clone(), &named).await,
            "198.51.100.7",
            "auth0-forwarded-for from a client without the flag: {}",
            body["grant_type"]
        );
    }

    // Trusted with it (`is_token_endpoint_ip_header_trusted`), the client
    // names its end user.
    trust_header(&h, &t, &cid, true).await;
    for body in [&wrong, &wrong_in_realm] {
        assert_eq!(
            logged_ip(&h, &t, body.clone(), &named).await,
            "203.0.113.5",
            "a trusted confidential client names its end user: {}",
            body["grant_type"]
        );
        assert_eq!(
            logged_ip(
                &h,
                &t,
                body.clone(),
                &[("auth0-forwarded-for", "not-an-ip")]
            )
            .await,
            "127.0.0.1",
            "trusted, an unreadable auth0-forwarded-for is ignored: {}",
            body["grant_type"]
        );
    }
    // And not with a wrong secret: the login is never tried.
    let mut bad_secret = wrong.clone();
    bad_secret["client_secret"] = json!("not-the-secret");
    let r = h
        .http
        .post(format!("{}/oauth/token", h.base))
        .header("auth0-forwarded-for", "203.0.113.5")
        .json(&bad_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // A public client (no secret) cannot name anyone, even with the flag.
    let c = h
        .client_on(
            &t,
            &h.info.connection_id,
            json!({"name": "spa", "app_type": "spa", "is_token_endpoint_ip_header_trusted": true,
            "token_endpoint_auth_method": "none", "grant_types": ["password"]}),
        )
        .await;
    assert_eq!(c["is_token_endpoint_ip_header_trusted"], true, "{c}");
    let public = c["client_id"].as_str().unwrap().to_string();
    let from_public = json!({"grant_type": "password", "username": "ann@example.com",
        "password": "nope", "client_id": public});
    let mut from_public_in_realm = from_public.clone();
    from_public_in_realm["realm"] = json!("Username-Password-Authentication");
    for body in [from_public, from_public_in_realm] {
        assert_eq!(
            logged_ip(&h, &t, body, &[("auth0-forwarded-for", "203.0.113.5")]).await,
            "127.0.0.1",
            "auth0-forwarded-for from a public client"
        );
    }

    // Without trusted proxies, X-Forwarded-For is anyone's claim.
    let h = h.restart(|c| c.http.trusted_proxies.clear()).await;
    let t = h.admin_token().await;
    assert_eq!(
        logged_ip(
            &h,
            &t,
            wrong.clone(),
            &[("x-forwarded-for", "198.51.100.7")]
        )
        .await,
        "127.0.0.1"
    );
    h.stop().await;
}

/// Set the client's `is_token_endpoint_ip_header_trusted` through the
/// Management API.
async fn trust_header(h: &Harness, t: &str, client_id: &str, trusted: bool) {
    let (s, c) = h
        .api(
            t,
            Method::PATCH,
            &format!("/clients/{client_id}"),
            Some(json!({"is_token_endpoint_ip_header_trusted": trusted})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["is_token_endpoint_ip_header_trusted"], trusted, "{c}");
}

/// A password grant (or, with `realm`, password-realm) from the trusted
/// proxy's client `xff`, naming `named` in `auth0-forwarded-for`.
async fn login_naming(
    h: &Harness,
    (client_id, secret): (&str, &str),
    password: &str,
    realm: bool,
    (xff, named): (&str, &str),
) -> (StatusCode, Value) {
    let mut body = json!({"grant_type": "password", "username": "gil@example.com",
        "password": password, "client_id": client_id, "client_secret": secret});
    if realm {
        body["grant_type"] = json!("http://auth0.com/oauth/grant-type/password-realm");
        body["realm"] = json!("Username-Password-Authentication");
    }
    let r = h
        .http
        .post(format!("{}/oauth/token", h.base))
        .header("x-forwarded-for", xff)
        .header("auth0-forwarded-for", named)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Lift the user's blocks, a minute on (the 20 attempts a minute are not
/// what is tested).
async fn unblock(h: &Harness, t: &str, blocks_path: &str) {
    let (s, _) = h.api(t, Method::DELETE, blocks_path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    h.state().clock.advance(61);
}

/// Brute-force protection counts per user and address: a client not trusted
/// with `auth0-forwarded-for` cannot escape a block by naming new addresses
/// in it; a trusted one's named addresses are each their own.
async fn the_forwarded_header_needs_the_flag(b: Backend) {
    let (h, t, cid, secret) = login_server(b).await;
    let client = (cid.as_str(), secret.as_str());
    h.set_attack_protection(&t, "brute-force-protection", json!({"max_attempts": 3}))
        .await;
    let user = h.create_user(&t, "gil@example.com", "Secret-123").await;
    let user_id = user["user_id"].as_str().unwrap().to_string();
    let blocks_path = format!("/user-blocks/{}", urlencoding::encode(&user_id));

    for realm in [false, true] {
        // Untrusted (the default): three failures, each naming a new address,
        // block the caller's address; a fourth name does not escape it.
        let peer = "198.51.100.1";
        for i in 0..3 {
            let (s, e) = login_naming(
                &h,
                client,
                "wrong",
                realm,
                (peer, &format!("203.0.113.{i}")),
            )
            .await;
            assert_eq!(s, StatusCode::FORBIDDEN, "realm {realm}: {e}");
        }
        let (s, e) = login_naming(&h, client, "Secret-123", realm, (peer, "203.0.113.99")).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts")),
            "realm {realm}: rotating auth0-forwarded-for escapes no block: {e}"
        );
        let (_, blocks) = h.api(&t, Method::GET, &blocks_path, None).await;
        assert_eq!(
            blocks["blocked_for"][0]["ip"], peer,
            "realm {realm}: the caller's address is blocked: {blocks}"
        );
        let (s, _) = login_naming(
            &h,
            client,
            "Secret-123",
            realm,
            ("198.51.100.2", "203.0.113.0"),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::OK,
            "realm {realm}: another caller is not blocked by a name it sends"
        );
        unblock(&h, &t, &blocks_path).await;

        // Trusted: the named address is the end user's, blocked alone.
        trust_header(&h, &t, &cid, true).await;
        for _ in 0..3 {
            let (s, e) = login_naming(&h, client, "wrong", realm, (peer, "203.0.113.7")).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "realm {realm}: {e}");
        }
        let (s, _) = login_naming(&h, client, "Secret-123", realm, (peer, "203.0.113.7")).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "realm {realm}");
        let (s, e) = login_naming(&h, client, "Secret-123", realm, (peer, "203.0.113.8")).await;
        assert_eq!(
            s,
            StatusCode::OK,
            "realm {realm}: another end user of the trusted client: {e}"
        );
        let (_, blocks) = h.api(&t, Method::GET, &blocks_path, None).await;
        assert_eq!(
            blocks["blocked_for"][0]["ip"], "203.0.113.7",
            "realm {realm}: {blocks}"
        );
        unblock(&h, &t, &blocks_path).await;
        trust_header(&h, &t, &cid, false).await;
    }
    h.stop().await;
}

/// `is_token_endpoint_ip_header_trusted` as the Management API keeps it:
/// false unless set, set by POST and PATCH, shown by GET, a boolean only.
async fn the_flag_through_the_management_api(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let key = "is_token_endpoint_ip_header_trusted";
    let (s, c) = h
        .api(&t, Method::POST, "/clients", Some(json!({"name": "web"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c[key], false, "the default: {c}");
    let path = format!("/clients/{}", c["client_id"].as_str().unwrap());
    let (_, c) = h.api(&t, Method::GET, &path, None).await;
    assert_eq!(c[key], false, "{c}");
    let (s, c) = h
        .api(&t, Method::PATCH, &path, Some(json!({key: true})))
        .await;
    assert_eq!((s, &c[key]), (StatusCode::OK, &json!(true)), "{c}");
    let (_, c) = h.api(&t, Method::GET, &path, None).await;
    assert_eq!(c[key], true, "kept: {c}");
    let (s, c) = h
        .api(&t, Method::PATCH, &path, Some(json!({"name": "web 2"})))
        .await;
    assert_eq!(
        (s, &c[key]),
        (StatusCode::OK, &json!(true)),
        "a PATCH of another field keeps it: {c}"
    );
    let (_, list) = h.api(&t, Method::GET, "/clients", None).await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "web 2")
        .unwrap();
    assert_eq!(listed[key], true, "{listed}");
    let (s, c) = h
        .api(&t, Method::PATCH, &path, Some(json!({key: false})))
        .await;
    assert_eq!((s, &c[key]), (StatusCode::OK, &json!(false)), "{c}");
    let (s, c) = h
        .api(
            &t,
            Method::POST,
            "/clients",
            Some(json!({"name": "server", key: true})),
        )
        .await;
    assert_eq!((s, &c[key]), (StatusCode::CREATED, &json!(true)), "{c}");

    for bad in [json!("yes"), json!(1), json!(null), json!({})] {
        for (method, p, body) in [
            (
                Method::POST,
                "/clients",
                json!({"name": "x", key: bad.clone()}),
            ),
            (Method::PATCH, path.as_str(), json!({key: bad.clone()})),
        ] {
            let (s, e) = h.api(&t, method.clone(), p, Some(body)).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{method} {bad}: {e}");
            assert_eq!(e["statusCode"], 400, "{e}");
            assert_eq!(e["error"], "Bad Request", "{e}");
            assert_eq!(e["errorCode"], "invalid_body", "{e}");
            let message = e["message"].as_str().unwrap();
            assert!(
                message.starts_with("Payload validation error: ")
                    && message.contains("'Expected type boolean but found type ")
                    && message.ends_with(&format!("' on property {key}.")),
                "{method} {bad}: {message}"
            );
        }
    }
    let (_, c) = h.api(&t, Method::GET, &path, None).await;
    assert_eq!(c[key], false, "a refused PATCH changes nothing: {c}");
    h.stop().await;
}

#[tokio::test]
async fn a_bad_proxy_range_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tern_server::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        ..tern_server::Config::default()
    };
    config.http.trusted_proxies = vec!["10.0.0.0/40".into()];
    let err = tern_server::start(config).await.err().unwrap();
    assert!(err.to_string().contains("10.0.0.0/40"), "{err}");
}

/// One Management API call: status and the `x-ratelimit-*` headers.
async fn call(h: &Harness, token: Option<&str>) -> (StatusCode, Option<u64>, Option<u64>) {
    let mut req = h.http.get(format!("{}/api/v2/connections", h.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let hdr = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    (
        r.status(),
        hdr("x-ratelimit-limit"),
        hdr("x-ratelimit-remaining"),
    )
}

async fn api_limit_after_authentication(b: Backend) {
    // 10 requests per hour: a window no test run straddles by chance.
    let h = Harness::start_with(b, |c| {
        c.rate_limit.burst = 10;
        c.rate_limit.per_second = 10.0 / 3600.0;
    })
    .await;
    let admin = h.admin_token().await;

    // Strangers get 401 and spend nothing: no token, a forged one.
    for _ in 0..10 {
        assert_eq!(call(&h, None).await, (StatusCode::UNAUTHORIZED, None, None));
        assert_eq!(
            call(&h, Some("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")).await,
            (StatusCode::UNAUTHORIZED, None, None)
        );
    }
    assert_eq!(
        call(&h, Some(&admin)).await,
        (StatusCode::OK, Some(10), Some(9))
    );

    // Another client spends its own allowance, not the administrator's.
    let (s, c) = h
        .api(
            &admin,
            Method::POST,
            "/clients",
            Some(json!({"name": "ops", "app_type": "non_interactive",
            "grant_types": ["client_credentials"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (other_id, other_secret) = (
        c["client_id"].as_str().unwrap().to_string(),
        c["client_secret"].as_str().unwrap().to_string(),
    );
    let (s, g) = h
        .api(
            &admin,
            Method::POST,
            "/client-grants",
            Some(json!({"client_id": other_id,
            "audience": h.info.audience, "scope": ["read:connections", "create:clients"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let other = h
        .m2m_token(&other_id, &other_secret, &h.info.audience.clone(), None)
        .await;
    let statuses: Vec<StatusCode> = {
        let mut v = vec![];
        for _ in 0..13 {
            v.push(call(&h, Some(&other)).await.0);
        }
        v
    };
    assert_eq!(statuses[..10], [StatusCode::OK; 10]);
    assert_eq!(statuses[10..], [StatusCode::TOO_MANY_REQUESTS; 3]);
    // Refused writes are not audited one by one either.
    let r = h
        .http
        .post(format!("{}/api/v2/clients", h.base))
        .bearer_auth(&other)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"statusCode": 429, "error": "Too Many Requests", "message": "Global limit has been reached", "errorCode": "too_many_requests"})
    );
    // The administrator's fourth call of the window.
    assert_eq!(
        call(&h, Some(&admin)).await,
        (StatusCode::OK, Some(10), Some(6))
    );

    // One api_limit row for the window, however many refusals; no fapi.
    let (_, logs) = h
        .api(&admin, Method::GET, "/logs?q=type:api_limit", None)
        .await;
    let logs = logs.as_array().unwrap();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["client_id"], other_id.as_str());
    let (_, fapi) = h.api(&admin, Method::GET, "/logs?q=type:fapi", None).await;
    assert_eq!(fapi.as_array().unwrap().len(), 0, "{fapi}");

    // The count is in the database: a restarted server still refuses.
    let h = h.restart(|_| {}).await;
    // (A new port is a new issuer: a new token.)
    let other = h
        .m2m_token(&other_id, &other_secret, &h.info.audience.clone(), None)
        .await;
    assert_eq!(
        call(&h, Some(&other)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The next window gives the allowance back.
    h.state().clock.advance(3600);
    assert_eq!(
        call(&h, Some(&other)).await,
        (StatusCode::OK, Some(10), Some(9))
    );
    h.stop().await;
}

const BLOCKED: &str = "Your account has been blocked after multiple consecutive login attempts. We've sent you an email with instructions on how to unblock it.";

/// A server whose X-Forwarded-For from loopback is believed, so one test
/// can log in from many addresses; with a password client.
async fn login_server(b: Backend) -> (Harness, String, String, String) {
    let h = Harness::start_with(b, |c| {
        c.http.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    (h, t, cid, secret)
}

/// A password grant from `ip`: status and `error`.
async fn login_from(
    h: &Harness,
    client: (&str, &str),
    user: &str,
    password: &str,
    ip: &str,
) -> (StatusCode, Value) {
    h.password_grant_from(client, user, password, ip).await
}

/// `n` wrong passwords from `ip`, each answered as a wrong password.
async fn fail_n(h: &Harness, client: (&str, &str), user: &str, ip: &str, n: usize) {
    for _ in 0..n {
        let (s, b) = login_from(h, client, user, "wrong-password", ip).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    }
}

async fn unblock_mails(h: &Harness) -> Vec<String> {
    let st = h.state();
    st.store
        .list_outbox(st.tid(), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "account_unblock")
        .map(|m| m.text)
        .collect()
}

async fn log_count(h: &Harness, t: &str, kind: &str) -> usize {
    let (_, logs) = h
        .api(t, Method::GET, &format!("/logs?q=type:{kind}"), None)
        .await;
    logs.as_array().unwrap().len()
}

async fn brute_force_blocks_and_lifts(b: Backend) {
    let (h, t, cid, secret) = login_server(b).await;
    let client = (cid.as_str(), secret.as_str());
    let (s, settings) = h
        .api(
            &t,
            Method::GET,
            "/attack-protection/brute-force-protection",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        settings,
        json!({"enabled": true, "shields": ["block", "user_notification"], "allowlist": [],
            "mode": "count_per_identifier_and_ip", "max_attempts": 10})
    );
    for bad in [
        json!({"max_attempts": 0}),
        json!({"max_attempts": 101}),
        json!({"shields": ["nap"]}),
    ] {
        let (s, e) = h
            .api(
                &t,
                Method::PATCH,
                "/attack-protection/brute-force-protection",
                Some(bad),
            )
            .await;
        assert_eq!(
            (s, e["errorCode"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_body")),
            "{e}"
        );
    }
    let (s, settings) = h
        .api(
            &t,
            Method::PATCH,
            "/attack-protection/brute-force-protection",
            Some(json!({"max_attempts": 3})),
        )
        .await;
    assert_eq!(
        (s, settings["max_attempts"].as_u64()),
        (StatusCode::OK, Some(3))
    );

    // At the start of an hour: the unblock mails' hourly throttle is counted below.
    let now = h.state().now();
    h.state().clock.advance(3600 - now.rem_euclid(3600));
    let user = h.create_user(&t, "ann@example.com", "Secret-123").await;
    let user_id = user["user_id"].as_str().unwrap().to_string();
    let blocks_path = format!("/user-blocks/{}", urlencoding::encode(&user_id));
    let (a, other) = ("198.51.100.1", "198.51.100.2");

    // Three failures from one address block it — the right password too.
    fail_n(&h, client, "ann@example.com", a, 3).await;
    let (s, e) = login_from(&h, client, "ann@example.com", "Secret-123", a).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        e,
        json!({"error": "too_many_attempts", "error_description": BLOCKED})
    );
    assert_eq!(
        h.metric("tern_refusals_total{kind=\"brute_force_block\"}"),
        Some(1.0),
        "the blocked attempt is counted; the three failures are not refusals"
    );
    // Only that address.
    let (s, _) = login_from(&h, client, "ann@example.com", "Secret-123", other).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(log_count(&h, &t, "limit_wc").await, 1);
    let (s, blocks) = h.api(&t, Method::GET, &blocks_path, None).await;
    assert_eq!(s, StatusCode::OK);
    let listed = json!({"blocked_for": [{"identifier": "ann@example.com", "ip": a,
        "connection": "Username-Password-Authentication"}]});
    assert_eq!(blocks, listed);
    let (_, by_identifier) = h
        .api(
            &t,
            Method::GET,
            "/user-blocks?identifier=Ann@Example.com",
            None,
        )
        .await;
    assert_eq!(by_identifier, listed);

    // Failures count only while consecutive: a success forgets them (in
    // the same store call that records the login).
    fail_n(&h, client, "ann@example.com", other, 2).await;
    let (s, _) = login_from(&h, client, "ann@example.com", "Secret-123", other).await;
    assert_eq!(s, StatusCode::OK);
    fail_n(&h, client, "ann@example.com", other, 2).await;
    let (s, _) = login_from(&h, client, "ann@example.com", "Secret-123", other).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "two failures, a success, two failures: no block at 3"
    );

    // The mailed link lifts it once its page's button is pressed; opening
    // it (as a mail scanner does) lifts nothing.
    let mails = unblock_mails(&h).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let link = mails[0]
        .split_whitespace()
        .find_map(|w| w.find("/lo/unblock?ticket=").map(|i| w[i..].to_string()))
        .unwrap();
    let link = format!("{}{link}", h.base);
    for _ in 0..2 {
        let (s, headers, page) = open_link(&link).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(page.contains("Unblock my account"), "{page}");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["referrer-policy"], "no-referrer");
    }
    let (s, _) = login_from(&h, client, "ann@example.com", "Secret-123", a).await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "opening the link lifts nothing"
    );
    let (s, _, page) = confirm_link(&link).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("Account unblocked"), "{page}");
    let (s, _) = login_from(&h, client, "ann@example.com", "Secret-123", a).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = open_link(&link).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a link works once");
    let ticket = link.split_once("ticket=").unwrap().1;
    let r = browser()
        .post(format!("{}/lo/unblock", h.base))
        .form(&[("ticket", ticket)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "its button works once");
    // The confirmation is the page's form, nothing else.
    let r = browser()
        .post(format!("{}/lo/unblock", h.base))
        .json(&json!({"ticket": ticket}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = browser()
        .post(format!("{}/lo/unblock", h.base))
        .form(&[("other", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Each other way a block lifts.
    for why in [
        "DELETE /user-blocks?identifier=",
        "DELETE /user-blocks/{id}",
        "30 days",
    ] {
        // A minute apart: Auth0's 20 attempts a minute is not what is tested here.
        h.state().clock.advance(61);
        fail_n(&h, client, "ann@example.com", a, 3).await;
        let (s, _) = login_from(&h, client, "ann@example.com", "Secret-123", a).await;
        assert_eq!(
            s,
            StatusCode::TOO_MANY_REQUESTS,
            "blocked again before: {why}"
        );
        match why {
            "30 days" => h.state().clock.advance(30 * 86_400 + 1),
            "DELETE /user-blocks/{id}" => {
                let (s, _) = h.api(&t, Method::DELETE, &blocks_path, None).await;
                assert_eq!(s, StatusCode::NO_CONTENT);
            }
            _ => {
                let (s, _) = h
                    .api(
                        &t,
                        Method::DELETE,
                        "/user-blocks?identifier=ann@example.com",
                        None,
                    )
                    .await;
                assert_eq!(s, StatusCode::NO_CONTENT);
            }
        }
        let (s, b) = login_from(&h, client, "ann@example.com", "Secret-123", a).await;
        assert_eq!(s, StatusCode::OK, "{why}: {b}");
    }
    // A new password lifts it too.
    h.state().clock.advance(61);
    fail_n(&h, client, "ann@example.com", a, 3).await;
    let (s, _) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/users/{}", urlencoding::encode(&user_id)),
            Some(json!({"password": "Another-456"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = login_from(&h, client, "ann@example.com", "Another-456", a).await;
    assert_eq!(s, StatusCode::OK, "a new password lifts the block");
    let (_, blocks) = h.api(&t, Method::GET, &blocks_path, None).await;
    assert_eq!(blocks, json!({"blocked_for": []}));

    // One limit_wc per block; the refused attempts wrote nothing. One
    // unblock mail per user per hour (the 30-day jump opened a new hour).
    assert_eq!(log_count(&h, &t, "limit_wc").await, 5);
    assert_eq!(unblock_mails(&h).await.len(), 2);
    h.stop().await;
}

async fn lapsed_blocks_and_windows_are_purged(b: Backend) {
    let (h, t, cid, secret) = login_server(b).await;
    let client = (cid.as_str(), secret.as_str());
    let user = h.create_user(&t, "eve@example.com", "Secret-123").await;
    let user_id = user["user_id"].as_str().unwrap();
    fail_n(&h, client, "eve@example.com", "198.51.100.1", 10).await;
    let st = h.state();
    let all = tern_core::store::BlocksOf::User(user_id);
    let stored = st
        .store
        .list_login_blocks(st.tid(), all, i64::MIN)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "blocked");
    let old_window = st.now() - st.now().rem_euclid(60);
    st.store
        .hit_rate_window(st.tid(), "test", "b", old_window)
        .await
        .unwrap();
    tern_server::brute_force::purge(st).await;
    let stored = st
        .store
        .list_login_blocks(st.tid(), all, i64::MIN)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "a block in force stays");
    st.clock.advance(30 * 86_400 + 1);
    tern_server::brute_force::purge(st).await;
    let stored = st
        .store
        .list_login_blocks(st.tid(), all, i64::MIN)
        .await
        .unwrap();
    assert_eq!(stored.len(), 0, "lapsed blocks are gone from the table");
    let hits = st
        .store
        .hit_rate_window(st.tid(), "test", "b", old_window)
        .await
        .unwrap();
    assert_eq!(hits, 1, "the old window was purged");
    h.stop().await;
}

/// `POST /dbconnections/change_password`, then wait (bounded) until its
/// background work logged its outcome; the answer.
async fn reset_request(h: &Harness, client_id: &str, email: &str) -> (StatusCode, String) {
    let st = h.state();
    let done = || async {
        let mut n = 0;
        for kind in ["scpr", "fcpr", "fn"] {
            n += st
                .store
                .list_logs(st.tid(), Some(kind), 0, 0, u64::MAX)
                .await
                .unwrap()
                .1;
        }
        n
    };
    let before = done().await;
    let r = h
        .http
        .post(format!("{}/dbconnections/change_password", h.base))
        .json(&json!({"client_id": client_id, "email": email,
            "connection": "Username-Password-Authentication"}))
        .send()
        .await
        .unwrap();
    let answer = (r.status(), r.text().await.unwrap());
    for _ in 0..800 {
        if done().await > before {
            return answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the change-password request did not finish");
}

async fn resets(h: &Harness) -> usize {
    let st = h.state();
    st.store
        .list_outbox(st.tid(), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "password_reset")
        .count()
}

async fn one_reset_mail_per_user_a_minute(b: Backend) {
    let (h, t, cid, _) = login_server(b).await;
    h.create_user(&t, "fay@example.com", "Secret-123").await;
    let now = h.state().now();
    h.state().clock.advance(60 - now.rem_euclid(60));
    let first = reset_request(&h, &cid, "fay@example.com").await;
    let second = reset_request(&h, &cid, "fay@example.com").await;
    assert_eq!(first.0, StatusCode::OK);
    assert_eq!(first, second, "the same answer: nothing to enumerate");
    assert_eq!(resets(&h).await, 1, "one mail this minute");
    h.state().clock.advance(60);
    reset_request(&h, &cid, "fay@example.com").await;
    assert_eq!(resets(&h).await, 2, "the next minute");
    h.stop().await;
}

async fn brute_force_follows_the_settings(b: Backend) {
    let (h, t, cid, secret) = login_server(b).await;
    let client = (cid.as_str(), secret.as_str());
    h.create_user(&t, "bob@example.com", "Secret-123").await;
    let patch = |body: Value| {
        let t = t.clone();
        let h = &h;
        async move {
            let (s, e) = h
                .api(
                    &t,
                    Method::PATCH,
                    "/attack-protection/brute-force-protection",
                    Some(body),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{e}");
        }
    };
    let blocked = |ip: &'static str| {
        let h = &h;
        async move {
            login_from(h, client, "bob@example.com", "Secret-123", ip)
                .await
                .0
                == StatusCode::TOO_MANY_REQUESTS
        }
    };
    patch(json!({"max_attempts": 2, "mode": "count_per_identifier"})).await;
    fail_n(&h, client, "bob@example.com", "198.51.100.1", 2).await;
    assert!(
        blocked("203.0.113.9").await,
        "per identifier: from every address"
    );
    let (_, blocks) = h
        .api(
            &t,
            Method::GET,
            "/user-blocks?identifier=bob@example.com",
            None,
        )
        .await;
    assert_eq!(
        blocks["blocked_for"][0].get("ip"),
        None,
        "no IP per identifier"
    );
    // Blocking off: nothing refused, and the list says so when asked to.
    patch(json!({"shields": ["user_notification"]})).await;
    assert!(!blocked("203.0.113.9").await);
    let (_, blocks) = h
        .api(
            &t,
            Method::GET,
            "/user-blocks?identifier=bob@example.com&consider_brute_force_enablement=true",
            None,
        )
        .await;
    assert_eq!(blocks, json!({"blocked_for": []}));
    h.api(
        &t,
        Method::DELETE,
        "/user-blocks?identifier=bob@example.com",
        None,
    )
    .await;

    patch(
        json!({"shields": ["block"], "mode": "count_per_identifier_and_ip",
        "allowlist": ["198.51.100.0/24"]}),
    )
    .await;
    fail_n(&h, client, "bob@example.com", "198.51.100.7", 5).await;
    assert!(
        !blocked("198.51.100.7").await,
        "an allowlisted address is never blocked"
    );

    patch(json!({"enabled": false})).await;
    fail_n(&h, client, "bob@example.com", "203.0.113.1", 5).await;
    assert!(!blocked("203.0.113.1").await, "disabled");

    // The connection's own switch.
    patch(json!({"enabled": true})).await;
    let path = format!("/connections/{}", h.info.connection_id);
    let (_, conn) = h.api(&t, Method::GET, &path, None).await;
    let mut options = conn["options"].clone();
    options["brute_force_protection"] = json!(false);
    let (s, e) = h
        .api(&t, Method::PATCH, &path, Some(json!({"options": options})))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    fail_n(&h, client, "bob@example.com", "203.0.113.2", 5).await;
    assert!(!blocked("203.0.113.2").await, "the connection opts out");
    assert_eq!(
        unblock_mails(&h).await.len(),
        1,
        "the first block's mail only"
    );
    h.stop().await;
}

async fn twenty_attempts_a_minute(b: Backend) {
    let (h, t, cid, secret) = login_server(b).await;
    let client = (cid.as_str(), secret.as_str());
    h.create_user(&t, "cy@example.com", "Secret-123").await;
    // Align to the start of a minute so the 21 attempts share one.
    let now = h.state().now();
    h.state().clock.advance(60 - now.rem_euclid(60));
    for i in 0..20 {
        let (s, b) = login_from(&h, client, "cy@example.com", "Secret-123", "198.51.100.1").await;
        assert_eq!(s, StatusCode::OK, "attempt {i}: {b}");
    }
    let (s, e) = login_from(&h, client, "cy@example.com", "Secret-123", "198.51.100.1").await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_requests"))
    );
    assert_eq!(
        h.metric("tern_refusals_total{kind=\"brute_force_block\"}"),
        Some(1.0)
    );
    // The address is clean and the hashing threads idle, so the refused
    // attempt's password was verified while the attempt was counted; its
    // verdict is dropped: no login recorded, no success logged.
    let (_, users) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=cy@example.com",
            None,
        )
        .await;
    assert_eq!(users[0]["logins_count"], 20, "{users}");
    assert_eq!(log_count(&h, &t, "s").await, 20);
    let (s, _) = login_from(&h, client, "cy@example.com", "Secret-123", "198.51.100.2").await;
    assert_eq!(s, StatusCode::OK, "another address has its own count");
    h.state().clock.advance(60);
    let (s, _) = login_from(&h, client, "cy@example.com", "Secret-123", "198.51.100.1").await;
    assert_eq!(s, StatusCode::OK, "the next minute");
    h.stop().await;
}

/// The 20 attempts a minute count against the address a request comes
/// from, never one it names: requests whose client fails to authenticate,
/// naming a victim's address in `auth0-forwarded-for` (believed only from
/// an authenticated, trusted client), leave the victim's minute untouched
/// (a password-realm grant reads ahead for the address it guesses before
/// its client has authenticated; nothing it counts may follow that guess).
async fn a_named_address_is_not_counted_before_the_client_is(b: Backend) {
    let (h, t, cid, secret) = login_server(b).await;
    h.create_user(&t, "gil@example.com", "Secret-123").await;
    let now = h.state().now();
    h.state().clock.advance(60 - now.rem_euclid(60));
    let victim = "198.51.100.1";
    for _ in 0..25 {
        let (s, e) = login_naming(
            &h,
            (&cid, "not-the-secret"),
            "Secret-123",
            true,
            ("203.0.113.66", victim),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
    }
    let (s, e) = login_from(&h, (&cid, &secret), "gil@example.com", "Secret-123", victim).await;
    assert_eq!(s, StatusCode::OK, "the victim's minute is their own: {e}");
    h.stop().await;
}

/// Wrong passwords racing for one user from one address take turns: each
/// sees the failures before it, so exactly `max_attempts` are compared
/// (answered as a wrong password) and the rest are refused as blocked or,
/// past a minute's worth waiting in line, as too many requests — never
/// compared. (Checked before counting, 40 at once had 20 compared.)
async fn racing_wrong_passwords_are_compared_up_to_the_limit(b: Backend) {
    let (h, t, cid, secret) = login_server(b).await;
    // Both grants: `password-realm` reads ahead of its client's
    // authentication (`password_grant::read_ahead`), `password` does not.
    for (n, realm) in [(0, false), (1, true)] {
        let ip = format!("198.51.100.{}", 40 + 2 * n);
        let user = format!("race{n}@example.com");
        race_for(&h, &t, (&cid, &secret), &user, realm, &ip).await;
    }
    h.stop().await;
}

/// A password grant (`realm`: password-realm) of `user` from `ip`.
async fn login_realm_or_not(
    h: &Harness,
    client: (&str, &str),
    (user, password): (&str, &str),
    realm: bool,
    ip: &str,
) -> (StatusCode, Value) {
    if realm {
        realm_login(
            h,
            client,
            "Username-Password-Authentication",
            (user, password),
            ip,
        )
        .await
    } else {
        login_from(h, client, user, password, ip).await
    }
}

/// A password-realm login on `realm` from `ip`: status and body.
async fn realm_login(
    h: &Harness,
    (cid, secret): (&str, &str),
    realm: &str,
    (user, password): (&str, &str),
    ip: &str,
) -> (StatusCode, Value) {
    let r = h
        .http
        .post(format!("{}/oauth/token", h.base))
        .header("x-forwarded-for", ip)
        .json(
            &json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": cid, "client_secret": secret, "username": user, "password": password,
            "realm": realm}),
        )
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn race_for(h: &Harness, t: &str, client: (&str, &str), user: &str, realm: bool, ip: &str) {
    const RACERS: usize = 40;
    h.create_user(t, user, "Secret-123").await;
    let fp_before = log_count(h, t, "fp").await;
    let answers = futures_util::future::join_all(
        (0..RACERS).map(|_| login_realm_or_not(h, client, (user, "wrong-password"), realm, ip)),
    )
    .await;
    let compared = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::FORBIDDEN)
        .count();
    assert_eq!(compared, 10, "realm {realm}: {answers:?}");
    for (s, e) in &answers {
        assert!(
            *s == StatusCode::FORBIDDEN
                || is_block(*s, e)
                || (*s == StatusCode::TOO_MANY_REQUESTS && e["error"] == "too_many_requests"),
            "{s} {e}"
        );
    }
    assert_eq!(
        log_count(h, t, "fp").await - fp_before,
        10,
        "realm {realm}: one wrong-password event per comparison"
    );
    // The next minute (this one's 20 attempts are spent): still blocked.
    h.state().clock.advance(60);
    let (s, e) = login_realm_or_not(h, client, (user, "Secret-123"), realm, ip).await;
    assert!(
        is_block(s, &e),
        "realm {realm}: blocked, the right password too: {s} {e}"
    );
    let (s, e) = login_realm_or_not(h, client, (user, "Secret-123"), realm, "198.51.100.99").await;
    assert_eq!(
        s,
        StatusCode::OK,
        "realm {realm}: another address is not held up: {e}"
    );
}

/// Wrong passwords racing for one user from one address through both
/// grants at once — `password-realm` reads its user ahead of its client's
/// authentication, `password` after it — are still compared exactly
/// `max_attempts` times: both take turns on the same counter.
async fn racing_mixed_grants_are_compared_up_to_the_limit(b: Backend) {
    let (h, t, cid, secret) = login_server(b).await;
    let user = "mixed@example.com";
    h.create_user(&t, user, "Secret-123").await;
    let answers = futures_util::future::join_all((0..40).map(|i| {
        login_realm_or_not(
            &h,
            (&cid, &secret),
            (user, "wrong-password"),
            i % 2 == 1,
            "198.51.100.60",
        )
    }))
    .await;
    let compared = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::FORBIDDEN)
        .count();
    assert_eq!(compared, 10, "{answers:?}");
    assert_eq!(log_count(&h, &t, "fp").await, 10);
    h.stop().await;
}

async fn a_full_hashing_pool_answers_503(b: Backend) {
    let h = Harness::start_with(b, |c| {
        c.password_hash.workers = 1;
        c.password_hash.queue = 0;
    })
    .await;
    let t = h.admin_token().await;
    h.create_user(&t, "dee@example.com", "Secret-123").await;
    let (cid, secret) = h.password_client(&t).await;
    let client = (cid.as_str(), secret.as_str());
    // Hold the one slot from here.
    let (release, held) = std::sync::mpsc::channel::<()>();
    let state = h.state().clone();
    let holder = tokio::spawn(async move {
        state
            .hash_pool
            .run(move || {
                let _ = held.recv();
            })
            .await
    });
    // Until the slot is taken, a login may still get in; once it is, the
    // pool refuses at once.
    let mut answer = None;
    for _ in 0..200 {
        let r = h
            .http
            .post(format!("{}/oauth/token", h.base))
            .json(
                &json!({"grant_type": "password", "username": "dee@example.com",
                "password": "Secret-123", "client_id": client.0, "client_secret": client.1}),
            )
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::SERVICE_UNAVAILABLE {
            answer = Some(r);
            break;
        }
        tokio::task::yield_now().await;
    }
    let r = answer.expect("a full pool answers 503");
    assert_eq!(
        h.metric("tern_refusals_total{kind=\"hash_pool_busy\"}"),
        Some(1.0)
    );
    assert_eq!(r.headers().get("retry-after").unwrap(), "1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    release.send(()).unwrap();
    holder.await.unwrap().unwrap();
    let (s, b) = login_from(&h, client, "dee@example.com", "Secret-123", "127.0.0.1").await;
    assert_eq!(s, StatusCode::OK, "room again: {b}");
    h.stop().await;
}

/// The legacy store's login: two users, `leg@legacy.example` and
/// `mig@legacy.example`, password `Legacy-123`; a wrong password names
/// the user (`fp`), an unknown identifier does not (`fu`).
const LEGACY_LOGIN: &str = r#"function login(email, password, callback) {
  const e = email.trim().toLowerCase();
  const ids = { 'leg@legacy.example': 'l1', 'mig@legacy.example': 'l2' };
  if (!ids[e]) return callback(new WrongUsernameOrPasswordError());
  if (password !== 'Legacy-123') return callback(new WrongUsernameOrPasswordError(e));
  callback(null, { user_id: ids[e], email: e });
}"#;

/// [`login_server`] with a connection `legacy-db` whose `login` script is
/// [`LEGACY_LOGIN`], brute-force protection at `settings`; an application
/// on it.
async fn legacy_server(b: Backend, settings: Value) -> (Harness, String, String, String) {
    let (h, t, _, _) = login_server(b).await;
    let (s, c) = h
        .api(
            &t,
            Method::POST,
            "/connections",
            Some(json!({"name": "legacy-db", "strategy": "auth0",
            "options": {"enabledDatabaseCustomization": true, "import_mode": true,
                        "customScripts": {"login": LEGACY_LOGIN}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let app = h
        .client_on(
            &t,
            c["id"].as_str().unwrap(),
            json!({"name": "legacy-app", "app_type": "regular_web",
            "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"]}),
        )
        .await;
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            "/attack-protection/brute-force-protection",
            Some(settings),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let cid = app["client_id"].as_str().unwrap().to_string();
    let secret = app["client_secret"].as_str().unwrap().to_string();
    (h, t, cid, secret)
}

/// A password-realm login on `legacy-db` from `ip`: status and body.
async fn legacy_login(
    h: &Harness,
    client: (&str, &str),
    user: &str,
    password: &str,
    ip: &str,
) -> (StatusCode, Value) {
    realm_login(h, client, "legacy-db", (user, password), ip).await
}

/// How many times the `login` script of `legacy-db` ran.
fn script_calls(h: &Harness) -> f64 {
    ["ok", "error", "timeout"]
        .iter()
        .filter_map(|o| {
            h.metric(&format!(
                "tern_script_calls_total{{connection=\"legacy-db\",script=\"login\",outcome=\"{o}\"}}"
            ))
        })
        .sum()
}

fn is_block(s: StatusCode, e: &Value) -> bool {
    s == StatusCode::TOO_MANY_REQUESTS
        && *e == json!({"error": "too_many_attempts", "error_description": BLOCKED})
}

/// A legacy user Tern has not stored yet is counted and blocked like a
/// stored one (per address here), under the connection and the identifier:
/// the blocked identifier is refused — the right password too — without
/// asking the legacy store; unknown identifiers count nothing; the block
/// outlives the migration; `/user-blocks?identifier=` lists and lifts it.
async fn legacy_users_are_counted_before_they_migrate(b: Backend) {
    let (h, t, cid, secret) = legacy_server(b, json!({"max_attempts": 3})).await;
    let app = (cid.as_str(), secret.as_str());
    let (a, other) = ("198.51.100.7", "198.51.100.8");

    // Unknown identifiers are the legacy budget's and throttling's: however
    // many, nothing is counted, no row is written.
    for _ in 0..5 {
        let (s, e) = legacy_login(&h, app, "ghost@legacy.example", "x", a).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    }
    assert_eq!(script_calls(&h), 5.0);
    let st = h.state();
    assert_eq!(
        st.store
            .purge_login_failures(st.tid(), i64::MAX)
            .await
            .unwrap(),
        0,
        "no counter for a guessed name"
    );

    // Three wrong passwords (typed in any case) block the identifier from
    // that address; the legacy store is not asked again.
    for typed in [
        "LEG@legacy.example",
        " leg@legacy.example",
        "leg@Legacy.Example",
    ] {
        let (s, e) = legacy_login(&h, app, typed, "wrong", a).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    }
    assert_eq!(script_calls(&h), 8.0);
    let (s, e) = legacy_login(&h, app, "leg@legacy.example", "Legacy-123", a).await;
    assert!(is_block(s, &e), "{s} {e}");
    let (s, e) = legacy_login(&h, app, "Leg@legacy.example", "wrong", a).await;
    assert!(is_block(s, &e), "{s} {e}");
    assert_eq!(script_calls(&h), 8.0, "a blocked identifier asks nothing");
    assert_eq!(log_count(&h, &t, "limit_wc").await, 1);
    let (_, none) = h.api(&t, Method::GET, "/users/auth0%7Cl1", None).await;
    assert_eq!(none["statusCode"], 404, "not migrated");

    // The block is listed by identifier, and lifted there.
    let (s, blocks) = h
        .api(
            &t,
            Method::GET,
            "/user-blocks?identifier=LEG@legacy.example",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{blocks}");
    assert_eq!(
        blocks,
        json!({"blocked_for": [{"identifier": "leg@legacy.example", "ip": a, "connection": "legacy-db"}]})
    );
    let (s, _) = h
        .api(
            &t,
            Method::DELETE,
            "/user-blocks?identifier=leg@legacy.example",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = legacy_login(&h, app, "leg@legacy.example", "Legacy-123", a).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "lifted: the right password migrates: {e}"
    );
    let (s, _) = h.api(&t, Method::GET, "/users/auth0%7Cl1", None).await;
    assert_eq!(s, StatusCode::OK, "migrated");

    // A block from before the migration holds after it: blocked from `a`,
    // migrated from another address, the stored user is still refused at `a`.
    for _ in 0..3 {
        let (s, e) = legacy_login(&h, app, "mig@legacy.example", "wrong", a).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    }
    let (s, e) = legacy_login(&h, app, "mig@legacy.example", "Legacy-123", other).await;
    assert_eq!(s, StatusCode::OK, "another address: {e}");
    let (s, _) = h.api(&t, Method::GET, "/users/auth0%7Cl2", None).await;
    assert_eq!(s, StatusCode::OK, "migrated");
    let (s, e) = legacy_login(&h, app, "mig@legacy.example", "Legacy-123", a).await;
    assert!(is_block(s, &e), "the block outlives the migration: {s} {e}");
    assert_eq!(log_count(&h, &t, "limit_wc").await, 2);
    h.stop().await;
}

/// Per identifier (Auth0's account lockout), a legacy user not stored yet
/// is locked from every address. No unblock mail goes to the typed
/// identifier (anyone's text: an attacker could make Tern mail any
/// address); an administrator lifts the block, and the right password then
/// migrates the user.
async fn legacy_users_are_locked_out_per_identifier(b: Backend) {
    let (h, t, cid, secret) = legacy_server(
        b,
        json!({"max_attempts": 3, "mode": "count_per_identifier"}),
    )
    .await;
    let app = (cid.as_str(), secret.as_str());
    for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let (s, e) = legacy_login(&h, app, "leg@legacy.example", "wrong", ip).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    }
    assert_eq!(script_calls(&h), 3.0);
    for ip in ["198.51.100.4", "203.0.113.9"] {
        let (s, e) = legacy_login(&h, app, "leg@legacy.example", "Legacy-123", ip).await;
        assert!(is_block(s, &e), "{ip}: {s} {e}");
    }
    assert_eq!(script_calls(&h), 3.0, "a blocked identifier asks nothing");
    assert_eq!(log_count(&h, &t, "limit_wc").await, 1);
    let (_, blocks) = h
        .api(
            &t,
            Method::GET,
            "/user-blocks?identifier=leg@legacy.example",
            None,
        )
        .await;
    assert_eq!(
        blocks,
        json!({"blocked_for": [{"identifier": "leg@legacy.example", "connection": "legacy-db"}]})
    );

    assert_eq!(unblock_mails(&h).await, Vec::<String>::new());
    let (s, _) = h
        .api(
            &t,
            Method::DELETE,
            "/user-blocks?identifier=leg@legacy.example",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = legacy_login(&h, app, "leg@legacy.example", "Legacy-123", "198.51.100.4").await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, _) = h.api(&t, Method::GET, "/users/auth0%7Cl1", None).await;
    assert_eq!(s, StatusCode::OK, "migrated");
    h.stop().await;
}

both_backends!(
    a_full_hashing_pool_answers_503,
    racing_wrong_passwords_are_compared_up_to_the_limit,
    racing_mixed_grants_are_compared_up_to_the_limit,
    one_reset_mail_per_user_a_minute,
    lapsed_blocks_and_windows_are_purged,
    whose_ip,
    the_forwarded_header_needs_the_flag,
    the_flag_through_the_management_api,
    api_limit_after_authentication,
    brute_force_blocks_and_lifts,
    brute_force_follows_the_settings,
    twenty_attempts_a_minute,
    a_named_address_is_not_counted_before_the_client_is,
    legacy_users_are_counted_before_they_migrate,
    legacy_users_are_locked_out_per_identifier
);
