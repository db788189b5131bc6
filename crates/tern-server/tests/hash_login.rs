#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Every hash vector made by an independent implementation (Python libpass,
//! bcrypt, argon2-cffi, Django, hashlib — see crates/tern-hash/fixtures) is
//! given to a user as their stored credential, then the user logs in through
//! `POST /oauth/token`: the right password is accepted, a wrong one refused,
//! and after the first login the credential is under Tern's current policy.

mod common;

use common::{Backend, Harness};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tern_hash::StoredHash;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_legacy_scheme_logs_in_and_is_upgraded() {
    let h = Harness::start(Backend::Sqlite).await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    h.exempt_loopback_from_ip_throttling(&t).await;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tern-hash/fixtures/vectors.json");
    let vectors: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let store = &h.state().store;
    let tid = h.state().tid().to_string();
    let policy = h.state().policy;
    let mut failures = vec![];
    let mut schemes = std::collections::BTreeSet::new();
    for (i, v) in vectors["vectors"].as_array().unwrap().iter().enumerate() {
        let id = v["id"].as_str().unwrap();
        let parsed = match v["kind"].as_str().unwrap() {
            "custom" => StoredHash::from_custom(&v["custom"]).map_err(|e| e.to_string()),
            "import" => StoredHash::from_import_password_hash(v["hash"].as_str().unwrap())
                .map_err(|e| e.to_string()),
            _ => StoredHash::parse(v["hash"].as_str().unwrap()).map_err(|e| e.to_string()),
        };
        let stored = match parsed {
            Ok(h) => h,
            Err(e) => {
                failures.push(format!("{id}: does not parse: {e}"));
                continue;
            }
        };
        schemes.insert(stored.scheme().name().to_string());
        let email = format!("v{i}@vectors.example");
        let u = h.create_user(&t, &email, "Placeholder-Passw0rd").await;
        let uid = u["user_id"].as_str().unwrap();
        let mut user = store.get_user(&tid, uid).await.unwrap().unwrap();
        user.credential = Some(stored.to_storage());
        store.update_user(&tid, &user).await.unwrap();

        let login = |pw: &str| {
            h.token(json!({"grant_type": "password", "client_id": cid, "client_secret": secret, "username": email,
                           "password": pw, "realm": "Username-Password-Authentication"}))
        };
        let (s, _) = login(v["wrong"].as_str().unwrap()).await;
        if s != StatusCode::FORBIDDEN {
            failures.push(format!("{id}: wrong password gave {s}"));
        }
        let (s, body) = login(v["password"].as_str().unwrap()).await;
        if s != StatusCode::OK {
            failures.push(format!("{id}: right password gave {s}: {body}"));
            continue;
        }
        let after = store
            .get_user(&tid, uid)
            .await
            .unwrap()
            .unwrap()
            .credential
            .unwrap();
        let now = StoredHash::parse(&after).unwrap();
        if policy.needs_rehash(&now) {
            failures.push(format!(
                "{id}: still not under the policy after login ({})",
                now.scheme().name()
            ));
        }
        if policy.needs_rehash(&stored) && after == stored.to_storage() {
            failures.push(format!("{id}: credential was not replaced"));
        }
        let (s, _) = login(v["password"].as_str().unwrap()).await;
        if s != StatusCode::OK {
            failures.push(format!("{id}: upgraded credential does not verify ({s})"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        schemes.len() >= 40,
        "vectors cover the schemes: {schemes:?}"
    );
    h.stop().await;
}
