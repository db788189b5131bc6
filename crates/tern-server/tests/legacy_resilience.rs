#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! A legacy system that fails does not take login down (issue #6, items 4
//! and 5). The real `examples/legacy-api` behind the HTTP connector, with a
//! test-local TCP proxy in front of it to make it slow:
//! - stopped: migrated users log in, unknown users get a clear 503 within
//!   the connector timeout, the tenant log says why, nothing is half-written;
//!   repeated failures open the circuit (503 at once); back up, migration resumes;
//! - slow: the call times out within `timeout_ms`;
//! - interrupted: a client that disconnects in the middle of a first login
//!   leaves either a complete user (profile, metadata, credential) or none.

mod common;

use std::time::{Duration, Instant};

use common::legacy::{
    LegacyApi, SlowProxy, http_connector, legacy_connection, log_descriptions, login,
    protect_legacy_api, seed_user, seed_users, tern_user,
};
use common::{Backend, Harness};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TIMEOUT_MS: u64 = 1500;
const COOLDOWN_MS: u64 = 1200;

fn is_unavailable(r: &(StatusCode, Value)) -> bool {
    r.0 == StatusCode::SERVICE_UNAVAILABLE && r.1["error"] == "temporarily_unavailable"
}

async fn legacy_down_slow_and_back(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let mut legacy = LegacyApi::start(&h).await;
    let proxy = SlowProxy::start(legacy.addr).await;
    let (mid, msecret) = protect_legacy_api(&h, &t).await;
    let connector = http_connector(
        &proxy.url(),
        &mid,
        json!({"timeout_ms": TIMEOUT_MS, "retries": 2, "backoff_ms": 50,
               "circuit_breaker": {"failures": 3, "cooldown_ms": COOLDOWN_MS}}),
    );
    let (_, cid, secret) = legacy_connection(&h, &t, connector, &msecret).await;
    let [ada, alan, grace, edsger, barbara] =
        ["ada", "alan", "grace", "edsger", "barbara"].map(seed_user);

    let (s, body) = login(&h, &cid, &secret, &ada.email, &ada.password).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    legacy.wait_migrated(&ada.email).await;
    let circuit = format!(
        "tern_legacy_circuit_open{{connection=\"{}\"}}",
        common::legacy::REALM
    );
    assert_eq!(h.metric(&circuit), Some(0.0), "closed");

    // ---- The legacy service stops.
    legacy.stop().await;
    let (s, body) = login(&h, &cid, &secret, &ada.email, &ada.password).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "a migrated user does not need the legacy store: {body}"
    );
    let started = Instant::now();
    let r = login(&h, &cid, &secret, &alan.email, &alan.password).await;
    let took = started.elapsed();
    assert!(is_unavailable(&r), "{r:?}");
    assert!(
        r.1["error_description"]
            .as_str()
            .unwrap()
            .contains("legacy user store"),
        "a message a person can act on: {}",
        r.1
    );
    assert!(
        took < Duration::from_millis(TIMEOUT_MS + 1000),
        "within the timeout: {took:?}"
    );
    assert!(
        tern_user(&h, alan.id).await.is_none(),
        "nothing half-written"
    );
    let fails = log_descriptions(&h, &t, "f").await;
    assert!(
        fails
            .iter()
            .any(|d| d.contains("Legacy login failed; nothing was stored")
                && d.contains("failed after 3 attempt(s)")),
        "the tenant log says why: {fails:?}"
    );
    // Signup needs get_user: refused clearly too (second consecutive failure).
    let r = h
        .http
        .post(format!("{}/dbconnections/signup", h.base))
        .json(&json!({"client_id": cid, "connection": common::legacy::REALM, "email": "new@example.com", "password": "Fresh-Pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Third failure opens the circuit; the next call fails at once.
    assert!(is_unavailable(
        &login(&h, &cid, &secret, &grace.email, &grace.password).await
    ));
    let started = Instant::now();
    let r = login(&h, &cid, &secret, &edsger.email, &edsger.password).await;
    let took = started.elapsed();
    assert!(is_unavailable(&r), "{r:?}");
    assert!(
        took < Duration::from_millis(300),
        "the open circuit answers at once: {took:?}"
    );
    assert_eq!(h.metric(&circuit), Some(1.0), "open");
    let fails = log_descriptions(&h, &t, "f").await;
    assert!(
        fails
            .iter()
            .any(|d| d.contains("circuit open after 3 consecutive failures")),
        "{fails:?}"
    );
    for u in [&alan, &grace, &edsger] {
        assert!(tern_user(&h, u.id).await.is_none(), "{}", u.email);
    }

    // ---- Back up: after the cool-down, migration resumes.
    legacy.restart().await;
    tokio::time::sleep(Duration::from_millis(COOLDOWN_MS + 100)).await;
    for u in [&alan, &grace, &edsger] {
        let (s, body) = login(&h, &cid, &secret, &u.email, &u.password).await;
        assert_eq!(s, StatusCode::OK, "{}: {body}", u.email);
        let user = tern_user(&h, u.id).await.unwrap();
        assert_eq!(user.app_metadata.get("plan"), Some(&json!(u.plan)));
        legacy.wait_migrated(&u.email).await;
    }
    assert_eq!(h.metric(&circuit), Some(0.0), "closed again");

    // ---- Slow: every request held longer than the timeout.
    proxy.set_delay(TIMEOUT_MS * 3);
    let started = Instant::now();
    let r = login(&h, &cid, &secret, &barbara.email, &barbara.password).await;
    let took = started.elapsed();
    assert!(is_unavailable(&r), "{r:?}");
    assert!(
        took >= Duration::from_millis(TIMEOUT_MS - 100)
            && took < Duration::from_millis(TIMEOUT_MS + 1000),
        "the connector gives up at timeout_ms: {took:?}"
    );
    assert!(tern_user(&h, barbara.id).await.is_none());
    let fails = log_descriptions(&h, &t, "f").await;
    assert!(
        fails.iter().any(|d| d.contains("timeout_ms = 1500")),
        "{fails:?}"
    );
    proxy.set_delay(0);
    let (s, body) = login(&h, &cid, &secret, &barbara.email, &barbara.password).await;
    assert_eq!(s, StatusCode::OK, "fast again: {body}");

    // Nobody was created twice, nobody half: every Tern user of the
    // connection is complete.
    let migrated: Vec<_> = seed_users()
        .into_iter()
        .filter(|u| {
            ["ada", "alan", "grace", "edsger", "barbara"]
                .iter()
                .any(|p| u.email.starts_with(p))
        })
        .collect();
    for u in &migrated {
        let user = tern_user(&h, u.id).await.unwrap();
        assert!(
            user.credential.is_some() && user.app_metadata.contains_key("plan"),
            "{}",
            u.email
        );
    }
    legacy.stop().await;
    h.stop().await;
}

/// First logins cut off by the client at every point of the flow: each
/// user ends up complete or absent, never without its metadata or password.
async fn interrupted_first_logins(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let mut legacy = LegacyApi::start(&h).await;
    let proxy = SlowProxy::start(legacy.addr).await;
    let (mid, msecret) = protect_legacy_api(&h, &t).await;
    let connector = http_connector(&proxy.url(), &mid, json!({"timeout_ms": 10_000}));
    let (_, cid, secret) = legacy_connection(&h, &t, connector, &msecret).await;
    // Mint and cache the connector's token first, so that the cut-off points
    // below fall around the legacy call and the store write.
    let warm = seed_user("ada");
    assert_eq!(
        login(&h, &cid, &secret, &warm.email, &warm.password)
            .await
            .0,
        StatusCode::OK
    );

    // The legacy API answers after ~400 ms; the browser gives up at 100 ms to 1 s.
    proxy.set_delay(400);
    let users: Vec<_> = seed_users()
        .into_iter()
        .filter(|u| u.email != warm.email)
        .collect();
    let mut absent = 0;
    let mut complete = 0;
    for (i, u) in users.iter().enumerate() {
        let cut = 100 + (i as u64) * 80;
        let impatient = reqwest::Client::builder()
            .timeout(Duration::from_millis(cut))
            .build()
            .unwrap();
        let r = impatient
            .post(format!("{}/oauth/token", h.base))
            .json(&json!({"grant_type": common::legacy::PASSWORD_REALM, "client_id": cid, "client_secret": secret,
                          "username": u.email, "password": u.password, "realm": common::legacy::REALM}))
            .send()
            .await;
        // Let whatever the server still does for this request finish.
        tokio::time::sleep(Duration::from_millis(700)).await;
        match tern_user(&h, u.id).await {
            None => absent += 1,
            Some(user) => {
                assert!(
                    user.credential
                        .as_deref()
                        .is_some_and(|c| c.starts_with("$argon2id$")),
                    "{} has its password",
                    u.email
                );
                assert_eq!(
                    user.app_metadata.get("plan"),
                    Some(&json!(u.plan)),
                    "{} has its metadata",
                    u.email
                );
                assert_eq!(user.email.as_deref(), Some(u.email.as_str()));
                complete += 1;
            }
        }
        if let Ok(resp) = r {
            assert_eq!(resp.status(), StatusCode::OK, "an answered login succeeded");
        }
    }
    eprintln!("interrupted first logins: {absent} absent, {complete} complete");
    assert!(
        absent > 0,
        "some logins were cut before the user was written"
    );
    assert_eq!(absent + complete, users.len());
    // The users left out migrate normally at their next login.
    proxy.set_delay(0);
    for u in &users {
        let (s, body) = login(&h, &cid, &secret, &u.email, &u.password).await;
        assert_eq!(s, StatusCode::OK, "{}: {body}", u.email);
        let user = tern_user(&h, u.id).await.unwrap();
        assert_eq!(user.app_metadata.get("plan"), Some(&json!(u.plan)));
    }
    legacy.stop().await;
    h.stop().await;
}

both_backends!(legacy_down_slow_and_back, interrupted_first_logins);
