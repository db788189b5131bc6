#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! `tern hash identify|verify` as an operator runs it, on vectors made by
//! independent implementations (crates/tern-hash/fixtures).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn tern(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses before reading (a hash over the cost limits)
    // may have exited already: the closed pipe is not the test's failure.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn verify_and_identify_vectors() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tern-hash/fixtures/vectors.json");
    let vectors: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    // One vector per scheme keeps the test quick while covering every kind of input.
    let mut seen = std::collections::HashSet::new();
    for v in vectors["vectors"].as_array().unwrap() {
        if !seen.insert(v["scheme"].as_str().unwrap().to_string()) {
            continue;
        }
        let arg = match v["kind"].as_str().unwrap() {
            "custom" => v["custom"].to_string(),
            _ => v["hash"].as_str().unwrap().to_string(),
        };
        let pw = format!("{}\n", v["password"].as_str().unwrap());
        let (code, out, err) = tern(&["hash", "verify", &arg], &pw);
        assert_eq!(code, 0, "{}: {out}{err}", v["id"]);
        assert!(out.starts_with("match"), "{}: {out}", v["id"]);
        let wrong = format!("{}\n", v["wrong"].as_str().unwrap());
        let (code, out, _) = tern(&["hash", "verify", &arg], &wrong);
        assert_eq!(code, 1, "{}: {out}", v["id"]);
        if v["kind"] == "parse" {
            let (code, out, _) = tern(&["hash", "identify", &arg], "");
            assert_eq!(code, 0);
            assert_eq!(out.lines().next(), v["scheme"].as_str(), "{}", v["id"]);
        }
    }
    assert!(seen.len() > 30);
    // An import row works too, and the password never needs to be on the command line.
    let row = r#"{"email":"a@b.co","password_hash":"$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K"}"#;
    assert_eq!(tern(&["hash", "verify", row], "hello\n").0, 0);
    let (code, _, err) = tern(&["hash", "identify", "not-a-hash"], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("tried") && err.contains("phpass"),
        "lists what was tried: {err}"
    );
}

#[test]
fn cost_limits_are_named_and_enforced() {
    let slow = "$2b$31$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";
    // identify parses any cost and says it is over the bound.
    let (code, out, _) = tern(&["hash", "identify", slow], "");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("over the cost limits: bcrypt cost 31 is over the bound 14 (password_hash.limits.bcrypt_cost)"),
        "{out}"
    );
    // verify refuses it, as the server does, without computing (a day of CPU).
    let (code, out, err) = tern(&["hash", "verify", slow], "hello\n");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("password_hash.limits.bcrypt_cost"), "{err}");
    // The server's configuration raises (or lowers) the bound.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tern.toml");
    std::fs::write(&config, "[password_hash.limits]\nbcrypt_cost = 9\n").unwrap();
    let doc = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";
    let (code, out, _) = tern(&["hash", "identify", doc], "");
    assert!(code == 0 && out.contains("within the cost limits"), "{out}");
    let cfg = config.to_str().unwrap();
    let (code, out, _) = tern(&["hash", "identify", doc, "--config", cfg], "");
    assert!(code == 0 && out.contains("over the bound 9"), "{out}");
    let (code, _, err) = tern(&["hash", "verify", doc, "--config", cfg], "hello\n");
    assert_eq!(code, 2, "{err}");
    let (code, out, _) = tern(
        &[
            "hash",
            "verify",
            doc,
            "--config",
            cfg,
            "--ignore-cost-limits",
        ],
        "hello\n",
    );
    assert_eq!(code, 0, "{out}");
}

/// Issue 16: the legacy self-describing formats (libpass, bcrypt, argon2-cffi
/// vectors) and `tern_password_hash` objects (firebase-scrypt, hashlib...),
/// one vector per scheme, through `tern hash identify` and `tern hash verify`.
#[test]
fn legacy_formats_and_tern_objects() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tern-hash/tests/fixtures");
    let load = |name: &str| -> Vec<Value> {
        let doc: Value = serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap();
        doc["vectors"].as_array().unwrap().clone()
    };
    let mut seen = std::collections::HashSet::new();
    for v in load("formats.json") {
        if !seen.insert(v["scheme"].as_str().unwrap().to_string()) {
            continue;
        }
        let arg = v["hash"].as_str().unwrap();
        let (code, out, err) = tern(&["hash", "identify", arg], "");
        assert_eq!(code, 0, "{}: {err}", v["id"]);
        assert_eq!(out.lines().next(), v["scheme"].as_str(), "{}", v["id"]);
        let right = format!("{}\n", v["password"].as_str().unwrap());
        let (code, out, err) = tern(&["hash", "verify", arg], &right);
        assert_eq!(code, 0, "{}: {out}{err}", v["id"]);
        let wrong = format!("{}\n", v["wrong"].as_str().unwrap());
        assert_eq!(tern(&["hash", "verify", arg], &wrong).0, 1, "{}", v["id"]);
    }
    assert!(seen.len() >= 18);
    for (i, v) in load("explicit.json").into_iter().enumerate() {
        if !seen.insert(v["scheme"].as_str().unwrap().to_string()) {
            continue;
        }
        // Alternate a bare object and an import row carrying it.
        let arg = if i % 2 == 0 {
            v["object"].to_string()
        } else {
            serde_json::json!({"email": "a@b.co", "tern_password_hash": v["object"]}).to_string()
        };
        let right = format!("{}\n", v["password"].as_str().unwrap());
        let (code, out, err) = tern(&["hash", "verify", &arg], &right);
        assert_eq!(code, 0, "{}: {out}{err}", v["id"]);
        let wrong = format!("{}\n", v["wrong"].as_str().unwrap());
        assert_eq!(tern(&["hash", "verify", &arg], &wrong).0, 1, "{}", v["id"]);
    }
    assert!(seen.len() >= 27);
}
