#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Under a flood of failed logins the tenant log grows by blocks, not by
//! requests (issue 12): an address writes its failures until suspicious-IP
//! throttling blocks it, one `limit_mu` for the block, then nothing however
//! many more attempts it makes; a user blocked by brute-force protection
//! from an address likewise gets one `limit_wc` and no row per refused
//! attempt. Auth0's log types (`fu`, `fp`, `limit_mu`, `limit_wc`) are kept.

#[macro_use]
mod common;

use std::collections::BTreeMap;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ADDRESSES: usize = 4;
const ATTEMPTS_PER_ADDRESS: usize = 15;
const PRE_LOGIN_MAX: usize = 3;

async fn login(h: &Harness, client: &(String, String), user: &str, ip: &str) -> StatusCode {
    h.password_grant_from((&client.0, &client.1), user, "wrong-1", ip)
        .await
        .0
}

/// The tenant log's rows by type, for events from `ips`.
async fn rows_from(h: &Harness, t: &str, ips: &[String]) -> BTreeMap<String, usize> {
    let (s, logs) = h.api(t, Method::GET, "/logs?per_page=100", None).await;
    assert_eq!(s, StatusCode::OK, "{logs}");
    let mut by_type = BTreeMap::new();
    for l in logs.as_array().unwrap() {
        if ips.iter().any(|ip| l["ip"] == Value::String(ip.clone())) {
            *by_type
                .entry(l["type"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    by_type
}

async fn log_rows_follow_blocks_not_requests(b: Backend) {
    let h = Harness::start_with(b, |c| {
        c.http.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let t = h.admin_token().await;
    let client = h.password_client(&t).await;
    h.create_user(&t, "amy@example.com", "Secret-123").await;
    h.set_attack_protection(
        &t,
        "suspicious-ip-throttling",
        json!({"stage": {"pre-login": {"max_attempts": PRE_LOGIN_MAX}}}),
    )
    .await;

    // Each address: unknown users and wrong passwords for a real one.
    let ips: Vec<String> = (0..ADDRESSES).map(|i| format!("203.0.113.{i}")).collect();
    let mut refused = 0;
    for ip in &ips {
        for n in 0..ATTEMPTS_PER_ADDRESS {
            let user = if n % 2 == 0 {
                format!("ghost{n}@example.com")
            } else {
                "amy@example.com".to_string()
            };
            match login(&h, &client, &user, ip).await {
                StatusCode::FORBIDDEN => {}
                StatusCode::TOO_MANY_REQUESTS => refused += 1,
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert_eq!(refused, ADDRESSES * (ATTEMPTS_PER_ADDRESS - PRE_LOGIN_MAX));
    let rows = rows_from(&h, &t, &ips).await;
    let total: usize = rows.values().sum();
    assert_eq!(rows.get("limit_mu"), Some(&ADDRESSES), "{rows:?}");
    assert_eq!(
        total,
        ADDRESSES * (PRE_LOGIN_MAX + 1),
        "the failures before each block and the block: {rows:?}"
    );
    assert!(
        rows.contains_key("fu") && rows.contains_key("fp"),
        "{rows:?}"
    );

    // Brute-force protection: one user from one fresh address, past its
    // 10 attempts: 10 failures, one block, nothing per refused attempt.
    h.set_attack_protection(&t, "suspicious-ip-throttling", json!({"enabled": false}))
        .await;
    let ip = "198.51.100.20".to_string();
    let mut statuses = Vec::new();
    for _ in 0..18 {
        statuses.push(login(&h, &client, "amy@example.com", &ip).await);
    }
    assert!(
        statuses[..10].iter().all(|s| *s == StatusCode::FORBIDDEN)
            && statuses[10..]
                .iter()
                .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let rows = rows_from(&h, &t, std::slice::from_ref(&ip)).await;
    assert_eq!(
        rows,
        BTreeMap::from([("fp".to_string(), 10), ("limit_wc".to_string(), 1)]),
        "one row per failure before the block, one for the block"
    );
    h.stop().await;
}

both_backends!(log_rows_follow_blocks_not_requests);
