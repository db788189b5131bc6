#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Data-driven check against vectors produced by independent implementations
//! (`fixtures/generate.py`: libpass, pyca bcrypt, argon2-cffi, Django, glibc
//! crypt, hashlib, OpenSSL, Auth0's documented examples).

use serde_json::Value;
use tern_hash::{CostLimits, StoredHash};

fn load() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/vectors.json");
    let text = std::fs::read_to_string(path).expect("read fixtures/vectors.json");
    let doc: Value = serde_json::from_str(&text).expect("vectors.json is JSON");
    doc["vectors"].as_array().expect("vectors array").clone()
}

fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

/// Check one vector; returns the problems found.
fn check(v: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let (kind, scheme, password, wrong) = (
        field(v, "kind"),
        field(v, "scheme"),
        field(v, "password"),
        field(v, "wrong"),
    );
    let parsed = match kind {
        "parse" => StoredHash::parse(field(v, "hash")).map_err(|e| e.to_string()),
        "import" => {
            StoredHash::from_import_password_hash(field(v, "hash")).map_err(|e| e.to_string())
        }
        "custom" => StoredHash::from_custom(&v["custom"]).map_err(|e| format!("{} {e}", e.code)),
        other => Err(format!("unknown kind {other}")),
    };
    let h = match parsed {
        Ok(h) => h,
        Err(e) => return vec![format!("does not parse: {e}")],
    };
    if h.scheme().name() != scheme {
        problems.push(format!(
            "scheme is {:?}, expected {scheme:?}",
            h.scheme().name()
        ));
    }
    if h.verify(password, &CostLimits::default()) != Ok(true) {
        problems.push("rejects the right password".into());
    }
    if h.verify(wrong, &CostLimits::default()) != Ok(false) {
        problems.push("accepts the wrong password".into());
    }
    if h.describe().is_empty() {
        problems.push("empty description".into());
    }
    match StoredHash::parse(&h.to_storage()) {
        Ok(again) => {
            if again.scheme() != h.scheme() {
                problems.push(format!(
                    "storage round trip changes scheme to {}",
                    again.scheme().name()
                ));
            }
            if again.to_storage() != h.to_storage() {
                problems.push("storage form is not stable".into());
            }
            if again.verify(password, &CostLimits::default()) != Ok(true) {
                problems.push("storage round trip rejects the right password".into());
            }
        }
        Err(e) => problems.push(format!(
            "storage form {:?} does not parse: {e}",
            h.to_storage()
        )),
    }
    problems
}

#[test]
fn independent_vectors() {
    let vectors = load();
    assert!(vectors.len() > 200, "expected the full vector set");
    let mut failures = Vec::new();
    for v in &vectors {
        for p in check(v) {
            failures.push(format!("{} ({}): {p}", field(v, "id"), field(v, "scheme")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn every_documented_scheme_has_vectors() {
    let vectors = load();
    let have: std::collections::HashSet<&str> =
        vectors.iter().map(|v| field(v, "scheme")).collect();
    let required = [
        "bcrypt",
        "argon2id",
        "argon2i",
        "argon2d",
        "scrypt",
        "pbkdf2-sha1",
        "pbkdf2-sha256",
        "pbkdf2-sha512",
        "passlib-pbkdf2-sha1",
        "passlib-pbkdf2-sha256",
        "passlib-pbkdf2-sha512",
        "md5-crypt",
        "apr1-md5-crypt",
        "sha256-crypt",
        "sha512-crypt",
        "phpass",
        "drupal7",
        "drupal7-upgraded",
        "django-pbkdf2-sha256",
        "django-pbkdf2-sha1",
        "django-bcrypt-sha256",
        "django-bcrypt",
        "django-argon2",
        "django-scrypt",
        "django-sha1",
        "django-md5",
        "ldap-md5",
        "ldap-smd5",
        "ldap-sha",
        "ldap-ssha",
        "ldap-sha256",
        "ldap-ssha256",
        "ldap-sha384",
        "ldap-ssha384",
        "ldap-sha512",
        "ldap-ssha512",
        "aspnet-identity-v2",
        "aspnet-identity-v3",
        "auth0-custom-md4",
        "auth0-custom-md5",
        "auth0-custom-sha1",
        "auth0-custom-sha256",
        "auth0-custom-sha512",
        "auth0-custom-hmac-md4",
        "auth0-custom-hmac-md5",
        "auth0-custom-hmac-ripemd160",
        "auth0-custom-hmac-sha1",
        "auth0-custom-hmac-sha224",
        "auth0-custom-hmac-sha256",
        "auth0-custom-hmac-sha384",
        "auth0-custom-hmac-sha512",
        "auth0-custom-hmac-whirlpool",
        "auth0-custom-scrypt",
        "auth0-custom-bcrypt",
        "auth0-custom-argon2",
        "auth0-custom-pbkdf2",
        "auth0-custom-ldap",
        "pbkdf2-md4",
        "pbkdf2-md5",
        "pbkdf2-ripemd160",
        "pbkdf2-sha224",
        "pbkdf2-sha384",
        "pbkdf2-whirlpool",
    ];
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|s| !have.contains(s))
        .collect();
    assert!(missing.is_empty(), "no vectors for: {missing:?}");
}
