#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Attack protection (issue 12) against the real server: whose IP a request
//! comes from, the Management API's limit after authentication.

mod common;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
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
            &[
                ("x-forwarded-for", "198.51.100.7"),
                ("auth0-forwarded-for", "203.0.113.5"),
            ],
            "203.0.113.5",
            "a confidential client names its end user",
        ),
        (
            &[("auth0-forwarded-for", "not-an-ip")],
            "127.0.0.1",
            "an unreadable auth0-forwarded-for is ignored",
        ),
    ];
    for (headers, want, why) in cases {
        assert_eq!(
            logged_ip(&h, &t, wrong.clone(), headers).await,
            *want,
            "{why}"
        );
    }

    // A public client (no secret) cannot name anyone.
    let (s, c) = h
        .api(
            &t,
            Method::POST,
            "/clients",
            Some(json!({"name": "spa", "app_type": "spa",
            "token_endpoint_auth_method": "none", "grant_types": ["password"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let public = c["client_id"].as_str().unwrap().to_string();
    let path = format!("/connections/{}", h.info.connection_id);
    let (_, conn) = h.api(&t, Method::GET, &path, None).await;
    let mut enabled = conn["enabled_clients"].as_array().unwrap().clone();
    enabled.push(json!(public));
    h.api(
        &t,
        Method::PATCH,
        &path,
        Some(json!({"enabled_clients": enabled})),
    )
    .await;
    let from_public = json!({"grant_type": "password", "username": "ann@example.com",
        "password": "nope", "client_id": public});
    assert_eq!(
        logged_ip(
            &h,
            &t,
            from_public,
            &[("auth0-forwarded-for", "203.0.113.5")]
        )
        .await,
        "127.0.0.1",
        "auth0-forwarded-for from a public client"
    );

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

both_backends!(whose_ip, api_limit_after_authentication);
