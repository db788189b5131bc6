//! Keycloak: a realm export (`kc.sh export --realm R --file realm.json`, or
//! the `realm-users-N.json` files of `--dir`), read from its `users` array.
//!
//! Each user: `id`, `username`, `email`, `emailVerified`, `firstName`,
//! `lastName`, `enabled`, `attributes` (→ user_metadata), `realmRoles` and
//! `groups` (→ app_metadata), `credentials`. A `password` credential's
//! `secretData`/`credentialData` (JSON strings) become a `keycloak`
//! `tern_password_hash` as they are; an `otp` credential of the TOTP kind
//! Auth0 enrols (6 digits, 30 s, HmacSHA1) becomes a TOTP factor.
//! `clientRoles`, `requiredActions`, federation links are not carried.

use crate::mfa::base32_encode;
use serde_json::{Map, Value, json};

use super::{Row, full_name, json_object, text, username};

pub fn convert(user: Value) -> Result<Value, String> {
    let id = text(&user, "id").ok_or("the user has no id")?;
    let mut row = Row::default();
    let (first, last) = (text(&user, "firstName"), text(&user, "lastName"));
    row.set("user_id", id)
        .set_opt("email", text(&user, "email"))
        .set_opt("email_verified", user.get("emailVerified").cloned())
        .set_opt("username", username(text(&user, "username")))
        .set_opt("given_name", first)
        .set_opt("family_name", last)
        .set("name", full_name(first, last))
        .set_opt("user_metadata", user.get("attributes").cloned());
    if user.get("enabled") == Some(&Value::Bool(false)) {
        row.set("blocked", true);
    }
    let mut app = Map::new();
    for key in ["realmRoles", "groups"] {
        if let Some(v) = user
            .get(key)
            .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        {
            app.insert(key.into(), v.clone());
        }
    }
    row.set("app_metadata", Value::Object(app));
    let credentials = user.get("credentials").and_then(Value::as_array);
    let mut factors = Vec::new();
    let mut left = Vec::new();
    for cred in credentials.into_iter().flatten() {
        match text(cred, "type") {
            Some("password") => {
                row.set(
                    "tern_password_hash",
                    json!({"algorithm": "keycloak", "secretData": cred.get("secretData"),
                           "credentialData": cred.get("credentialData")}),
                );
            }
            Some("otp") => match totp_factor(cred) {
                Some(f) => factors.push(f),
                None => left.push(json!(
                    "Keycloak OTP credential other than a 6-digit, 30 s, SHA-1 TOTP (HOTP or other settings)"
                )),
            },
            Some(t) if t.starts_with("webauthn") => {
                left.push(json!("Keycloak WebAuthn credential (not exportable to another server)"));
            }
            _ => {}
        }
    }
    row.set("mfa_factors", factors);
    row.set(super::LEFT_BEHIND, left);
    Ok(row.done())
}

/// A TOTP enrolment Tern can take over: Keycloak keeps the secret as the
/// text its QR code base32-encodes (or already in base32 with
/// `"encoding": "BASE32"`).
fn totp_factor(cred: &Value) -> Option<Value> {
    let data = json_object(cred.get("credentialData"))?;
    let secret = json_object(cred.get("secretData"))?;
    let default = |key: &str, want: Value| data.get(key).is_none_or(|v| *v == want);
    let usable = text(&data, "subType") == Some("totp")
        && default("digits", json!(6))
        && default("period", json!(30))
        && default("algorithm", json!("HmacSHA1"));
    let value = text(&secret, "value").filter(|_| usable)?;
    let base32 = match text(&secret, "encoding") {
        Some(e) if e.eq_ignore_ascii_case("base32") => {
            value.trim_end_matches('=').to_ascii_uppercase()
        }
        _ => base32_encode(value.as_bytes()),
    };
    Some(json!({"totp": {"secret": base32}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_of_another_kind_is_left_behind() {
        let otp = |data: &str| json!({"type": "otp", "secretData": "{\"value\":\"abc\"}", "credentialData": data});
        let ok = otp(r#"{"subType":"totp","digits":6,"period":30,"algorithm":"HmacSHA1"}"#);
        assert_eq!(
            totp_factor(&ok),
            Some(json!({"totp": {"secret": base32_encode(b"abc")}}))
        );
        assert_eq!(totp_factor(&otp(r#"{"subType":"hotp"}"#)), None);
        assert_eq!(totp_factor(&otp(r#"{"subType":"totp","digits":8}"#)), None);
    }
}
