#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Bounds on what the Management API stores that later requests read or
//! walk: a connection's `enabled_clients` (each id checked with a read,
//! kept once) and `configuration` (opened at every legacy call), an API's
//! scopes (Auth0's lengths) and a client grant's (kept once, looked up in a
//! set). Without them one request could store work that slows every later
//! login or save (audit of 2026-12-06).

mod common;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_lists_are_bounded_and_kept_once() {
    let h = Harness::start(Backend::Sqlite).await;
    let t = h.admin_token().await;
    let conn = format!("/connections/{}", h.info.connection_id);

    // enabled_clients: a repeated id is kept once; past 1000 ids, refused.
    let app = h
        .client_on(&t, &h.info.connection_id, json!({"name": "App"}))
        .await;
    let id = app["client_id"].as_str().unwrap().to_string();
    let repeated: Vec<Value> = (0..5000).map(|_| json!(id)).collect();
    let (s, c) = h
        .api(
            &t,
            Method::PATCH,
            &conn,
            Some(json!({"enabled_clients": repeated})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["enabled_clients"], json!([id]), "kept once");
    let many: Vec<Value> = (0..1001).map(|i| json!(format!("client{i}"))).collect();
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &conn,
            Some(json!({"enabled_clients": many})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("at most 1000"),
        "{e}"
    );

    // configuration: at most 100 values of at most 16 KB.
    let cfg: serde_json::Map<String, Value> =
        (0..101).map(|i| (format!("K{i}"), json!("v"))).collect();
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &conn,
            Some(json!({"options": {"configuration": cfg}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("at most 100"),
        "{e}"
    );
    let big = "x".repeat(16 * 1024 + 1);
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &conn,
            Some(json!({"options": {"configuration": {"PEM": big}}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("configuration.PEM"),
        "{e}"
    );
    let pem = "x".repeat(16 * 1024);
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &conn,
            Some(json!({"options": {"configuration": {"PEM": pem}}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");

    // An API's scopes: Auth0's lengths, each once, at most 1000.
    let api = |scopes: Value| json!({"identifier": "https://api.example/", "scopes": scopes});
    let long = "s".repeat(281);
    for (scopes, says) in [
        (json!([{"value": long}]), "1 to 280"),
        (
            json!([{"value": "a", "description": "d".repeat(501)}]),
            "at most 500",
        ),
        (json!([{"value": "a"}, {"value": "a"}]), "defined twice"),
        (
            Value::Array(
                (0..1001)
                    .map(|i| json!({"value": format!("s{i}")}))
                    .collect(),
            ),
            "at most 1000",
        ),
    ] {
        let (s, e) = h
            .api(&t, Method::POST, "/resource-servers", Some(api(scopes)))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert!(e["message"].as_str().unwrap().contains(says), "{says}: {e}");
    }
    let scopes: Vec<Value> = (0..1000)
        .map(|i| json!({"value": format!("s{i}")}))
        .collect();
    let (s, e) = h
        .api(
            &t,
            Method::POST,
            "/resource-servers",
            Some(api(Value::Array(scopes))),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");

    // A client grant names each scope once.
    let m2m = h
        .client_on(
            &t,
            &h.info.connection_id,
            json!({"name": "M2M", "app_type": "non_interactive"}),
        )
        .await;
    let mut asked: Vec<Value> = (0..3000).map(|i| json!(format!("s{}", i % 1000))).collect();
    asked.push(json!("s1"));
    let (s, g) = h
        .api(
            &t,
            Method::POST,
            "/client-grants",
            Some(json!({"client_id": m2m["client_id"], "audience": "https://api.example/", "scope": asked})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let kept = g["scope"].as_array().unwrap();
    assert_eq!(kept.len(), 1000, "each scope once");
    assert_eq!(kept[0], "s0");
    h.stop().await;
}
