#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Signing keys and the files around them (issue 11, item 4): private keys
//! sealed at rest (also those an earlier version stored in clear), the data
//! directory owner-only, Auth0's rotation and revocation (a revoked key's
//! tokens refused everywhere), a deleted client's tokens refused, and
//! instances sharing one PostgreSQL database following each other's keys.
//!
//! Certificates and legacy keys are made and checked with the `openssl`
//! command, not with Tern's code.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod instances;
mod rotation;
mod sealing;

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Harness;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::AnyPool;

const CONN: &str = "Username-Password-Authentication";
const REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let v: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    v["kid"].as_str().unwrap().to_string()
}

async fn jwks_at(h: &Harness, base: &str) -> Value {
    h.http
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn kids(jwks: &Value) -> BTreeSet<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The test's own connection to the server's database.
async fn db(h: &Harness) -> AnyPool {
    sqlx::any::install_default_drivers();
    let url = match &h.pg {
        Some(pg) => pg.url(),
        None => format!("sqlite://{}", h.dir.path().join("tern.db").display()),
    };
    AnyPool::connect(&url).await.unwrap()
}

/// Everything SQLite keeps on disk for the database.
fn sqlite_bytes(h: &Harness) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["tern.db", "tern.db-wal", "tern.db-journal"] {
        if let Ok(b) = std::fs::read(h.dir.path().join(name)) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// GET /clients with `token`: (status, body).
async fn clients_with(h: &Harness, base: &str, token: &str) -> (StatusCode, Value) {
    let r = h
        .http
        .get(format!("{base}/api/v2/clients"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn userinfo(h: &Harness, token: &str) -> (StatusCode, Value) {
    let r = h
        .http
        .get(format!("{}/userinfo", h.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// A machine client holding `scopes` of the Management API; returns its token and id.
async fn m2m_with(h: &Harness, admin: &str, name: &str, scopes: &[&str]) -> (String, String) {
    let (s, c) = h
        .api(admin, Method::POST, "/clients", Some(json!({"name": name, "app_type": "non_interactive", "grant_types": ["client_credentials"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (id, secret) = (
        c["client_id"].as_str().unwrap().to_string(),
        c["client_secret"].as_str().unwrap().to_string(),
    );
    let (s, g) = h
        .api(
            admin,
            Method::POST,
            "/client-grants",
            Some(json!({"client_id": id, "audience": h.info.audience, "scope": scopes})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let token = h.m2m_token(&id, &secret, &h.info.audience, None).await;
    (token, id)
}

/// The key with this kid in a list of keys.
fn key<'a>(list: &'a Value, kid: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("{kid} not in {list}"))
}

/// Run `openssl` with `input` on stdin; its stdout.
fn openssl(args: &[&str], input: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the openssl command");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The uppercase hex of a JWK's base64url modulus, as `openssl -modulus` prints it.
fn modulus_hex(jwk: &Value) -> String {
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    n.iter().map(|b| format!("{b:02X}")).collect()
}
