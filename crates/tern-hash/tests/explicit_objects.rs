#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! `tern_password_hash` objects (issue 16 item 2) against vectors from other
//! implementations (`fixtures/gen_explicit.py`: firebase-scrypt, hashlib,
//! argon2-cffi, pyca bcrypt, and the firebase/scrypt README example).

use serde_json::{Value, json};
use tern_hash::{CostLimits, HashPolicy, StoredHash};

fn vectors() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/explicit.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

#[test]
fn every_object_verifies_right_and_refuses_wrong() {
    let limits = CostLimits::default();
    let mut problems = Vec::new();
    let all = vectors();
    assert!(all.len() >= 29, "fixture file lost vectors");
    for v in &all {
        let id = v["id"].as_str().unwrap();
        let h = match StoredHash::from_tern_object(&v["object"]) {
            Ok(h) => h,
            Err(e) => {
                problems.push(format!("{id}: refused: {} {e}", e.code));
                continue;
            }
        };
        if h.scheme().name() != v["scheme"].as_str().unwrap() {
            problems.push(format!("{id}: scheme {}", h.scheme()));
        }
        if h.verify(v["password"].as_str().unwrap(), &limits) != Ok(true) {
            problems.push(format!("{id}: right password refused"));
        }
        if h.verify(v["wrong"].as_str().unwrap(), &limits) != Ok(false) {
            problems.push(format!("{id}: wrong password accepted"));
        }
        let storage = h.to_storage();
        match StoredHash::parse(&storage) {
            Ok(again) => {
                if again.scheme() != h.scheme() || again.to_storage() != storage {
                    problems.push(format!("{id}: storage form does not round-trip"));
                }
                if again.verify(v["password"].as_str().unwrap(), &limits) != Ok(true) {
                    problems.push(format!("{id}: stored form refuses the right password"));
                }
            }
            Err(e) => problems.push(format!("{id}: storage form does not parse: {e}")),
        }
        if !HashPolicy::default().needs_rehash(&h) {
            problems.push(format!("{id}: not marked for rehash"));
        }
        if h.describe().is_empty() {
            problems.push(format!("{id}: empty description"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn malformed_objects_are_refused_by_field() {
    let fb = json!({"signer_key": "AAAA", "salt_separator": "Bw==", "rounds": 8, "mem_cost": 14});
    let cases = [
        (
            json!({"algorithm": "md6"}),
            "ENUM_MISMATCH",
            "tern_password_hash.algorithm",
        ),
        (
            json!({"hash": "x"}),
            "OBJECT_REQUIRED",
            "tern_password_hash",
        ),
        (json!("x"), "INVALID_TYPE", "tern_password_hash"),
        (
            json!({"algorithm": "firebase-scrypt", "hash": "AAAA", "salt": "AA==", "params": {"signer_key": "AAAA", "salt_separator": "Bw==", "rounds": 9, "mem_cost": 14}}),
            "MAXIMUM",
            "tern_password_hash.params.rounds",
        ),
        (
            json!({"algorithm": "firebase-scrypt", "hash": "AAAA", "salt": "AA==", "params": {"signer_key": "AAAA", "salt_separator": "Bw==", "rounds": 8}}),
            "OBJECT_REQUIRED",
            "tern_password_hash.params",
        ),
        (
            json!({"algorithm": "firebase-scrypt", "hash": "!!", "salt": "AA==", "params": fb}),
            "INVALID_FORMAT",
            "tern_password_hash.hash",
        ),
        (
            json!({"algorithm": "firebase-scrypt", "hash": "AAAA", "salt": "AA==", "params": fb, "extra": 1}),
            "OBJECT_ADDITIONAL_PROPERTIES",
            "tern_password_hash",
        ),
        (
            json!({"algorithm": "magento2", "hash": "abc:salt:1"}),
            "INVALID_FORMAT",
            "tern_password_hash.hash",
        ),
        (
            json!({"algorithm": "magento2", "hash": format!("{}:salt:7", "a".repeat(64))}),
            "INVALID_FORMAT",
            "tern_password_hash.hash",
        ),
        (
            json!({"algorithm": "joomla", "hash": "nocolon"}),
            "INVALID_FORMAT",
            "tern_password_hash.hash",
        ),
        (
            json!({"algorithm": "smf", "hash": "a".repeat(40)}),
            "OBJECT_REQUIRED",
            "tern_password_hash",
        ),
        (
            json!({"algorithm": "smf", "hash": "a".repeat(40), "params": {"username": 5}}),
            "INVALID_TYPE",
            "tern_password_hash.params.username",
        ),
        (
            json!({"algorithm": "vbulletin", "hash": "a".repeat(31), "salt": "abc"}),
            "INVALID_FORMAT",
            "tern_password_hash.hash",
        ),
        (
            json!({"algorithm": "discourse", "hash": "a".repeat(64), "salt": "s", "params": {"iterations": 0}}),
            "MINIMUM",
            "tern_password_hash.params.iterations",
        ),
        (
            json!({"algorithm": "devise-bcrypt", "hash": "$2a$10$short", "params": {"pepper": "p"}}),
            "INVALID_FORMAT",
            "tern_password_hash.hash",
        ),
        (
            json!({"algorithm": "keycloak", "secretData": "{not json", "credentialData": "{}"}),
            "INVALID_FORMAT",
            "tern_password_hash.secretData",
        ),
        (
            json!({"algorithm": "keycloak", "secretData": "{\"value\":\"AAAA\",\"salt\":\"AAAA\"}", "credentialData": "{\"hashIterations\":1,\"algorithm\":\"md5\"}"}),
            "ENUM_MISMATCH",
            "tern_password_hash.credentialData.algorithm",
        ),
        (
            json!({"algorithm": "keycloak", "secretData": "{\"value\":\"AAAA\",\"salt\":\"AAAA\"}", "credentialData": "{\"algorithm\":\"pbkdf2-sha256\"}"}),
            "OBJECT_REQUIRED",
            "tern_password_hash.credentialData",
        ),
    ];
    for (obj, code, path) in cases {
        let e = StoredHash::from_tern_object(&obj).unwrap_err();
        assert_eq!((e.code, e.path.as_str()), (code, path), "{obj}: {e}");
    }
}

#[test]
fn cost_bounds_apply_to_objects() {
    let keycloak = json!({
        "algorithm": "keycloak",
        "secretData": "{\"value\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"salt\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}",
        "credentialData": "{\"hashIterations\":4000000000,\"algorithm\":\"pbkdf2-sha256\"}"
    });
    let h = StoredHash::from_tern_object(&keycloak).unwrap();
    let over = h.verify("pw", &CostLimits::default()).unwrap_err();
    assert_eq!(over.setting, "pbkdf2_iterations.sha256");

    let argon = json!({
        "algorithm": "keycloak",
        "secretData": {"value": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "salt": "AAAAAAAAAAAAAAAAAAAAAA=="},
        "credentialData": {"hashIterations": 100, "algorithm": "argon2", "additionalParameters": {"memory": ["1048576"]}}
    });
    let over = StoredHash::from_tern_object(&argon)
        .unwrap()
        .check_cost(&CostLimits::default())
        .unwrap_err();
    assert_eq!(over.setting, "memory_mib");

    let fb = vectors()
        .into_iter()
        .find(|v| v["id"] == "firebase-readme")
        .unwrap();
    let tight = CostLimits {
        scrypt_work: 1000,
        ..CostLimits::default()
    };
    let over = StoredHash::from_tern_object(&fb["object"])
        .unwrap()
        .verify("user1password", &tight)
        .unwrap_err();
    assert_eq!(over.setting, "scrypt_work");
}
