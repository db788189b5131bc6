//! Ory Kratos: identities as the admin API lists them with their password
//! hashes (`GET /admin/identities?include_credential=password`, or
//! `kratos list identities --format json`), a JSON array or NDJSON.
//!
//! Each identity: `id`, `state`, `traits` (`email`, `phone`, `username`,
//! `name` as text or `{first, last}`; the other traits → user_metadata),
//! `verifiable_addresses` (the email's `verified`), `metadata_public` and
//! `metadata_admin` (→ app_metadata), and
//! `credentials.password.config.hashed_password` — a PHC string (argon2,
//! pbkdf2, scrypt) or bcrypt, which Tern reads as it is. A TOTP credential
//! exported with its `totp_url` becomes a TOTP factor. Sessions, recovery
//! addresses and OIDC links are not carried.

use serde_json::{Map, Value, json};

use super::{Row, full_name, text, username};

pub fn convert(identity: Value) -> Result<Value, String> {
    let id = text(&identity, "id").ok_or("the identity has no id")?;
    let traits = identity.get("traits").cloned().unwrap_or(Value::Null);
    let email = text(&traits, "email")
        .or_else(|| {
            identity
                .pointer("/credentials/password/identifiers/0")
                .and_then(Value::as_str)
        })
        .map(str::to_string);
    let verified = email.as_deref().map(|e| {
        identity
            .get("verifiable_addresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|a| {
                text(a, "value").is_some_and(|v| v.eq_ignore_ascii_case(e))
                    && a.get("verified") == Some(&Value::Bool(true))
            })
    });
    let mut row = Row::default();
    row.set("user_id", id)
        .set_opt("email", email)
        .set_opt("email_verified", verified)
        .set_opt("phone_number", text(&traits, "phone"))
        .set_opt("username", username(text(&traits, "username")));
    match traits.get("name") {
        Some(Value::String(n)) => {
            row.set("name", n.as_str());
        }
        Some(n @ Value::Object(_)) => {
            let (first, last) = (text(n, "first"), text(n, "last"));
            row.set_opt("given_name", first)
                .set_opt("family_name", last);
            row.set("name", full_name(first, last));
        }
        _ => {}
    }
    if let Value::Object(t) = &traits {
        let rest: Map<String, Value> = t
            .iter()
            .filter(|(k, _)| !["email", "phone", "username", "name"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        row.set("user_metadata", Value::Object(rest));
    }
    let mut app = Map::new();
    for key in ["metadata_public", "metadata_admin"] {
        if let Some(v) = identity.get(key).filter(|v| v.is_object()) {
            app.insert(key.into(), v.clone());
        }
    }
    row.set("app_metadata", Value::Object(app));
    if text(&identity, "state") == Some("inactive") {
        row.set("blocked", true);
    }
    row.set_opt(
        "password_hash",
        identity
            .pointer("/credentials/password/config/hashed_password")
            .and_then(Value::as_str),
    );
    let totp = identity
        .pointer("/credentials/totp/config/totp_url")
        .and_then(Value::as_str)
        .and_then(totp_secret);
    let mut left = Vec::new();
    if totp.is_none() && identity.pointer("/credentials/totp").is_some() {
        left.push(json!(
            "Kratos TOTP credential without a totp_url of 6 digits, 30 s, SHA-1"
        ));
    }
    for (kind, why) in [
        (
            "webauthn",
            "Kratos WebAuthn credential (bound to the old origin)",
        ),
        ("lookup_secret", "Kratos recovery codes (lookup_secret)"),
    ] {
        if identity.pointer(&format!("/credentials/{kind}")).is_some() {
            left.push(json!(why));
        }
    }
    row.set_opt(
        "mfa_factors",
        totp.map(|s| json!([{"totp": {"secret": s}}])),
    );
    row.set(super::LEFT_BEHIND, left);
    Ok(row.done())
}

/// The base32 `secret` of an `otpauth://totp/…?secret=…` URL, when its
/// other parameters are the defaults Tern's TOTP uses.
fn totp_secret(url: &str) -> Option<String> {
    let query = url.strip_prefix("otpauth://totp/")?.split_once('?')?.1;
    let mut secret = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=')?;
        match (k, v) {
            ("secret", v) => secret = Some(v.trim_end_matches('=').to_ascii_uppercase()),
            ("digits", d) if d != "6" => return None,
            ("period", p) if p != "30" => return None,
            ("algorithm", a) if !a.eq_ignore_ascii_case("SHA1") => return None,
            _ => {}
        }
    }
    secret
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_urls_give_their_secret() {
        assert_eq!(
            totp_secret(
                "otpauth://totp/app:a%40b.c?algorithm=SHA1&digits=6&issuer=app&period=30&secret=jbswy3dp"
            ),
            Some("JBSWY3DP".into())
        );
        assert_eq!(totp_secret("otpauth://totp/x?secret=AB&digits=8"), None);
        assert_eq!(totp_secret("otpauth://hotp/x?secret=AB"), None);
    }
}
