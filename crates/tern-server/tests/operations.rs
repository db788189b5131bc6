#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! What operators' tooling talks to: the liveness and readiness probes and
//! the request id every answer carries.

mod common;

use common::{Backend, Harness};
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

both_backends!(
    probes_answer_and_readiness_follows_the_store,
    request_ids_are_kept_or_made
);
