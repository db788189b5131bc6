#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Issue 16: users arriving with the hash formats of other platforms. Every
//! vector of `crates/tern-hash/tests/fixtures/{formats,explicit}.json` (made
//! by libpass, firebase-scrypt, hashlib, argon2-cffi, pyca bcrypt) is
//! imported through the real multipart job endpoint — self-describing
//! strings as `password_hash`, the others as `tern_password_hash` objects —
//! and each user then logs in through `POST /oauth/token`: a wrong password
//! is refused, the right one accepted, and the credential is rehashed to the
//! policy. A malformed `tern_password_hash` fails its row, naming the field.

mod common;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tern_hash::StoredHash;

fn fixture(name: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tern-hash/tests/fixtures")
        .join(name);
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

async fn import(h: &Harness, token: &str, rows: &Value) -> (Value, Value) {
    let job = h.import_rows(token, rows).await;
    let errors = h.job_errors(token, job["id"].as_str().unwrap()).await;
    (job, errors)
}

async fn every_format_imports_and_logs_in(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    // A wrong and a right password per format: more failures than the
    // pre-login stage allows one address.
    h.exempt_loopback_from_ip_throttling(&t).await;
    let mut rows = Vec::new();
    let mut logins = Vec::new();
    for (i, v) in fixture("formats.json").iter().enumerate() {
        let email = format!("f{i}@formats.example");
        rows.push(json!({"email": email, "password_hash": v["hash"]}));
        logins.push((email, v.clone()));
    }
    for (i, v) in fixture("explicit.json").iter().enumerate() {
        let email = format!("e{i}@explicit.example");
        rows.push(json!({"email": email, "tern_password_hash": v["object"]}));
        logins.push((email, v.clone()));
    }
    // A malformed object fails its own row, by field.
    rows.push(
        json!({"email": "bad@explicit.example", "tern_password_hash":
        {"algorithm": "firebase-scrypt", "hash": "AAAA", "salt": "AA==",
         "params": {"signer_key": "AAAA", "salt_separator": "Bw==", "rounds": 8, "mem_cost": 99}}}),
    );
    rows.push(json!({"email": "both@explicit.example", "password_hash": "*0000000000000000000000000000000000000000",
        "tern_password_hash": {"algorithm": "joomla", "hash": "x:y"}}));
    let total = rows.len();
    let (job, errs) = import(&h, &t, &Value::Array(rows)).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        job["summary"],
        json!({"failed": 2, "updated": 0, "inserted": total - 2, "total": total}),
        "{errs}"
    );
    let errs = errs.as_array().unwrap();
    assert_eq!(errs[0]["index"], total - 2);
    assert_eq!(errs[0]["errors"][0]["code"], "MAXIMUM");
    assert_eq!(
        errs[0]["errors"][0]["path"],
        "tern_password_hash.params.mem_cost"
    );
    // Secrets are not echoed.
    assert_eq!(errs[0]["user"]["tern_password_hash"]["hash"], "*****");
    assert_eq!(
        errs[0]["user"]["tern_password_hash"]["params"]["signer_key"],
        "*****"
    );
    assert_eq!(errs[1]["errors"][0]["code"], "CONFLICT");

    let (cid, secret) = h.password_client(&t).await;
    let store = &h.state().store;
    let tid = h.state().tid().to_string();
    let mut failures = Vec::new();
    for (email, v) in &logins {
        let id = v["id"].as_str().unwrap();
        let login = |pw: &str| {
            h.token(json!({"grant_type": "password", "client_id": cid, "client_secret": secret,
                           "username": email, "password": pw, "realm": "Username-Password-Authentication"}))
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
        let (_, page) = h
            .api(
                &t,
                Method::GET,
                &format!("/users-by-email?email={}", email.replace('@', "%40")),
                None,
            )
            .await;
        let uid = page[0]["user_id"].as_str().unwrap().to_string();
        let user = store.get_user(&tid, &uid).await.unwrap().unwrap();
        let now = StoredHash::parse(user.credential.as_deref().unwrap()).unwrap();
        if now.scheme().name() == v["scheme"].as_str().unwrap() {
            failures.push(format!("{id}: not rehashed after the first login"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    h.stop().await;
}

both_backends!(every_format_imports_and_logs_in);
