#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The real `tern serve` process under an operator's tooling: SIGTERM lets a
//! request in flight finish and the process exit 0; `--log-format json`
//! writes one JSON object per line, with one line per request that names the
//! route and never a value the request carried.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Tern, post_json};

/// A login script that takes its time, so a request is surely in flight
/// when the signal comes.
const SLOW_LOGIN: &str = "function login(email, password, callback) {
  setTimeout(function () { callback(null, {user_id: 'slow-1', email: email}); }, 3000);
}";

#[test]
fn sigterm_drains_and_json_logs_name_routes_not_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut tern = Tern::launch(
        dir.path(),
        None,
        &[("TERN_LOG", "info,sqlx=warn")],
        &["--log-format", "json"],
        true,
    );
    let base = tern.base.clone();

    let info: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("bootstrap.json")).unwrap()).unwrap();
    let (_, t) = post_json(
        &format!("{base}/oauth/token"),
        None,
        &json!({"grant_type": "client_credentials", "client_id": info["client_id"],
                "client_secret": info["client_secret"], "audience": info["audience"]}),
    );
    let token = t["access_token"].as_str().unwrap().to_string();
    let (code, app) = post_json(
        &format!("{base}/api/v2/clients"),
        Some(&token),
        &json!({"name": "app", "app_type": "regular_web",
                "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"]}),
    );
    assert_eq!(code, 201, "{app}");
    let (code, conn) = post_json(
        &format!("{base}/api/v2/connections"),
        Some(&token),
        &json!({"name": "slow-legacy", "strategy": "auth0", "enabled_clients": [app["client_id"]],
                "options": {"enabledDatabaseCustomization": true, "import_mode": true,
                            "customScripts": {"login": SLOW_LOGIN}}}),
    );
    assert_eq!(code, 201, "{conn}");

    // A first login through the slow script, in flight when SIGTERM arrives.
    let url = format!("{base}/oauth/token");
    let login = json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
        "client_id": app["client_id"], "client_secret": app["client_secret"],
        "realm": "slow-legacy", "username": "drain@example.com",
        "password": "in-flight-secret-9"});
    let in_flight = std::thread::spawn(move || post_json(&url, None, &login));
    std::thread::sleep(Duration::from_millis(1000));
    let killed = Command::new("kill")
        .args(["-TERM", &tern.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let (code, body) = in_flight.join().unwrap();
    assert_eq!(code, 200, "the request in flight finishes: {body}");
    assert!(body["access_token"].is_string());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = tern.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "tern did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
    // The reader thread sees EOF once the process has exited.
    let lines = loop {
        let lines = tern.stderr.lock().unwrap().clone();
        let complete = lines.iter().any(|l| l.contains("shutting down"))
            && lines.iter().any(|l| l.contains("\"/oauth/token\""));
        if complete || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let events: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let token_line = events
        .iter()
        .find(|e| {
            e["target"] == "tern::request" && e["route"] == "/oauth/token" && e["status"] == 200
        })
        .unwrap_or_else(|| panic!("no request line for /oauth/token in {lines:?}"));
    assert_eq!(token_line["method"], "POST");
    assert!(token_line["request_id"].is_string());
    assert!(token_line["latency_ms"].is_number());
    assert!(
        events.iter().any(|e| e["fields"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("shutting down")
            || e["message"]
                .as_str()
                .unwrap_or_default()
                .contains("shutting down")),
        "the drain is announced: {lines:?}"
    );
    let all = lines.join("\n");
    for secret in [
        "in-flight-secret-9",
        "drain@example.com",
        info["client_secret"].as_str().unwrap(),
        &token,
    ] {
        assert!(!all.contains(secret), "the log holds {secret}");
    }
}
