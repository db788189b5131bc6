#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! What operators' tooling talks to: the liveness and readiness probes and
//! the request id every answer carries.

mod common;

use common::{Backend, Harness, metric_sample as sample};
use reqwest::StatusCode;
use serde_json::Value;

async fn probes_answer_and_readiness_follows_the_store(b: Backend) {
    let h = Harness::start(b).await;
    let live = h
        .http
        .get(format!("{}/healthz", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let ready = h
        .http
        .get(format!("{}/readyz", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["store"], "ok");
    assert_eq!(body["draining"], false);

    // A draining server tells load balancers to stop sending traffic while
    // it still answers what is in flight.
    h.state()
        .draining
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let ready = h
        .http
        .get(format!("{}/readyz", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["draining"], true);
    assert_eq!(body["status"], "not_ready");
    let live = h
        .http
        .get(format!("{}/healthz", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK, "draining is not dead");
    h.stop().await;
}

async fn request_ids_are_kept_or_made(b: Backend) {
    let h = Harness::start(b).await;
    let url = format!("{}/.well-known/jwks.json", h.base);
    // A proxy's id is kept, so its logs and Tern's join up…
    let r = h
        .http
        .get(&url)
        .header("x-request-id", "edge-7f3a.42_b")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "edge-7f3a.42_b");
    // …but not one that could forge a log line or smuggle a value.
    for bad in ["a b", "q\"uote", &"a".repeat(65), "tok=secret;"] {
        let r = h
            .http
            .get(&url)
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        let got = r.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_ne!(got, bad);
        assert_eq!(got.len(), 24, "a fresh id replaces {bad:?}");
    }
    // Without one, every answer gets its own, errors included.
    let a = h
        .http
        .get(format!("{}/nowhere", h.base))
        .send()
        .await
        .unwrap();
    let b2 = h
        .http
        .get(format!("{}/nowhere", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), StatusCode::NOT_FOUND);
    assert_ne!(a.headers()["x-request-id"], b2.headers()["x-request-id"]);
    h.stop().await;
}

async fn metrics_count_what_happens(b: Backend) {
    let h = Harness::start_with(b, |c| {
        c.metrics.listen = Some("127.0.0.1:0".into());
        c.metrics.users_refresh_secs = 1;
    })
    .await;
    let metrics_url = format!(
        "http://{}/metrics",
        h.server.as_ref().unwrap().metrics_addr.unwrap()
    );
    let t = h.admin_token().await;
    h.create_user(&t, "counted@example.com", "Corr3ct-horse-battery")
        .await;
    let (client_id, secret) = h.password_client(&t).await;
    let login = |password: &str| {
        serde_json::json!({"grant_type": "password", "client_id": client_id, "client_secret": secret,
                           "username": "counted@example.com", "password": password})
    };
    assert_eq!(
        h.token(login("Corr3ct-horse-battery")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        h.token(login("wrong-horse-battery")).await.0,
        StatusCode::FORBIDDEN
    );

    // An import job of three rows, one of which fails.
    let rows = serde_json::json!([{"email": "imp1@example.com"}, {"email": "imp2@example.com"}, {"name": "no email"}]);
    h.import_rows(&t, &rows).await;

    // Any token is an HTTP method; made-up ones are counted (and logged)
    // as OTHER, so they cannot grow the metrics without bound.
    for i in 0..3 {
        let made_up =
            reqwest::Method::from_bytes(format!("M{i}{}", "X".repeat(1000)).as_bytes()).unwrap();
        let r = h
            .http
            .request(made_up, format!("{}/healthz", h.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    // Never on the public listener.
    let public = h
        .http
        .get(format!("{}/metrics", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);

    let mut text = String::new();
    for _ in 0..100 {
        let r = h.http.get(&metrics_url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
        text = r.text().await.unwrap();
        if sample(
            &text,
            "tern_users{connection=\"Username-Password-Authentication\",source=\"api\"}",
        )
        .is_some()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        sample(
            &text,
            "tern_logins_total{outcome=\"success\",arrived=\"api\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "tern_logins_total{outcome=\"wrong_credentials\",arrived=\"-\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "tern_password_verify_duration_seconds_count{scheme=\"argon2id\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "tern_http_requests_total{method=\"POST\",route=\"/oauth/token\",status=\"403\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "tern_users{connection=\"Username-Password-Authentication\",source=\"api\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "tern_http_requests_total{method=\"OTHER\",route=\"/healthz\",status=\"405\"}"
        ),
        Some(3.0),
        "{text}"
    );
    assert!(!text.contains("XXXX"), "a made-up method became a label");
    // Read from the store at the scrape: the finished import job.
    assert_eq!(
        sample(
            &text,
            "tern_jobs_by_state{type=\"users_import\",status=\"completed\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "tern_jobs_by_state{type=\"users_import\",status=\"processing\"}"
        ),
        Some(0.0),
        "{text}"
    );
    assert!(
        !text.contains("counted@example.com"),
        "no user data in metrics"
    );
    h.stop().await;
}

/// A Management API call refused by the rate limit is counted by kind.
async fn refusals_are_counted_by_kind(b: Backend) {
    let h = Harness::start_with(b, |c| {
        c.metrics.listen = Some("127.0.0.1:0".into());
        c.rate_limit.per_second = 0.001;
        c.rate_limit.burst = 1;
    })
    .await;
    let metrics_url = format!(
        "http://{}/metrics",
        h.server.as_ref().unwrap().metrics_addr.unwrap()
    );
    let t = h.admin_token().await;
    let mut refused = 0u32;
    for _ in 0..3 {
        let r = h
            .http
            .get(format!("{}/api/v2/users", h.base))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused >= 2, "burst of one: later calls refused");
    let text = h
        .http
        .get(&metrics_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(&text, "tern_refusals_total{kind=\"api_rate_limit\"}"),
        Some(f64::from(refused)),
        "{text}"
    );
    h.stop().await;
}

both_backends!(
    refusals_are_counted_by_kind,
    probes_answer_and_readiness_follows_the_store,
    request_ids_are_kept_or_made,
    metrics_count_what_happens
);
