//! Keycloak: a realm export (`kc.sh export --realm R --file realm.json`, or
//! the `realm-users-N.json` files of `--dir`), read from its `users` array.
//!
//! Each user: `id`, `username`, `email`, `emailVerified`, `firstName`,
//! `lastName`, `enabled`, `attributes` (→ user_metadata), `realmRoles` and
//! `groups` (→ app_metadata, as they were, for scripts that read them),
//! `credentials`. `realmRoles` also become Tern roles (`tern_roles`), less
//! Keycloak's built-in `offline_access`, `uma_authorization` and
//! `default-roles-<realm>`; when the realm document's role definitions
//! (`roles.realm[]`) come before its users, as `kc.sh export` writes them,
//! each role carries its description and a composite role brings the realm
//! roles it contains (transitively: Keycloak's effective roles, the default
//! roles' own composites included). The `--dir` users files hold no
//! definitions: their roles are carried by name. A password credential's
//! `secretData`/`credentialData` (JSON strings) become a `keycloak`
//! `tern_password_hash` as they are; an `otp` credential of the TOTP kind
//! Auth0 enrols (6 digits, 30 s, HmacSHA1) becomes a TOTP factor.
//! `clientRoles` (Tern's roles are the tenant's, not an application's),
//! `requiredActions`, federation links are not carried.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use crate::mfa::base32_encode;
use serde_json::{Map, Value, json};

use super::{Reading, Row, full_name, json_object, text, username};

/// A realm role as the realm document defines it.
struct RoleDefinition {
    description: String,
    /// The realm roles a composite role contains.
    composites: Vec<String>,
}

/// The realm's role definitions by name, once read.
type Definitions = Arc<OnceLock<HashMap<String, RoleDefinition>>>;

/// Read a realm export: its users, converted with the role definitions of
/// its `roles` when they come first.
pub fn reading() -> Reading {
    let definitions: Definitions = Arc::default();
    let seen = Arc::clone(&definitions);
    Reading {
        convert: Box::new(move |user| convert(user, definitions.get())),
        rows_key: Some("users"),
        csv: false,
        context: Some((
            "roles",
            Box::new(move |roles| {
                let _ = seen.set(role_definitions(&roles));
            }),
        )),
    }
}

/// `roles.realm[]` of a realm document: name, description, and
/// `composites.realm` when `composite` (client roles a composite holds
/// are not carried).
fn role_definitions(roles: &Value) -> HashMap<String, RoleDefinition> {
    let realm = roles.get("realm").and_then(Value::as_array);
    realm
        .into_iter()
        .flatten()
        .filter_map(|role| {
            let name = text(role, "name")?;
            let composites = role
                .pointer("/composites/realm")
                .and_then(Value::as_array)
                .filter(|_| role.get("composite") != Some(&Value::Bool(false)))
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect();
            let definition = RoleDefinition {
                description: text(role, "description").unwrap_or_default().to_string(),
                composites,
            };
            Some((name.to_string(), definition))
        })
        .collect()
}

/// Keycloak's own roles, which every user of a realm holds and which mean
/// nothing to Tern.
fn built_in(name: &str) -> bool {
    matches!(name, "offline_access" | "uma_authorization") || name.starts_with("default-roles-")
}

/// A user's `realmRoles` as `tern_roles`: with the definitions, composites
/// expanded (a cycle is followed once) and each role with its description;
/// without, the names as they are. Built-in roles are left out, but the
/// roles a default role contains are kept.
fn tern_roles(
    realm_roles: Option<&Value>,
    definitions: Option<&HashMap<String, RoleDefinition>>,
) -> Vec<Value> {
    let names = realm_roles
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let Some(definitions) = definitions else {
        return names.filter(|n| !built_in(n)).map(|n| json!(n)).collect();
    };
    let mut held = BTreeSet::new();
    let mut next: Vec<&str> = names.collect();
    while let Some(name) = next.pop() {
        if held.insert(name)
            && let Some(d) = definitions.get(name)
        {
            next.extend(d.composites.iter().map(String::as_str));
        }
    }
    held.into_iter()
        .filter(|n| !built_in(n))
        .map(|name| match definitions.get(name) {
            Some(d) if !d.description.is_empty() => {
                json!({"name": name, "description": d.description})
            }
            _ => json!(name),
        })
        .collect()
}

fn convert(
    user: Value,
    definitions: Option<&HashMap<String, RoleDefinition>>,
) -> Result<Value, String> {
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
    row.set(
        "tern_roles",
        tern_roles(user.get("realmRoles"), definitions),
    );
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

    /// `roles.realm[]` in the RoleRepresentation shape of a realm export.
    fn definitions() -> HashMap<String, RoleDefinition> {
        role_definitions(&json!({"realm": [
            {"name": "default-roles-acme", "composite": true,
             "composites": {"realm": ["offline_access", "uma_authorization", "reader"]}},
            {"name": "reader", "description": "Reads", "composite": false},
            {"name": "admin", "description": "Admins", "composite": true,
             "composites": {"realm": ["editor"], "client": {"account": ["manage-account"]}}},
            {"name": "editor", "composite": true, "composites": {"realm": ["admin"]}},
        ]}))
    }

    #[test]
    fn realm_roles_without_definitions_are_carried_by_name() {
        let held = json!([
            "default-roles-acme",
            "offline_access",
            "uma_authorization",
            "admin"
        ]);
        assert_eq!(tern_roles(Some(&held), None), [json!("admin")]);
        assert!(tern_roles(None, None).is_empty());
    }

    #[test]
    fn composites_are_expanded_and_built_ins_left_out() {
        let defs = definitions();
        // A cycle (admin ⊃ editor ⊃ admin) is followed once; the default
        // roles bring the realm role an administrator added to them.
        let held = json!(["default-roles-acme", "admin"]);
        assert_eq!(
            tern_roles(Some(&held), Some(&defs)),
            [
                json!({"name": "admin", "description": "Admins"}),
                json!("editor"),
                json!({"name": "reader", "description": "Reads"}),
            ]
        );
        // A role the definitions lack is carried as named.
        assert_eq!(
            tern_roles(Some(&json!(["legacy"])), Some(&defs)),
            [json!("legacy")]
        );
    }

    #[test]
    fn the_roles_before_the_users_reach_the_conversion() {
        let realm = r#"{"realm": "acme", "roles": {"realm": [{"name": "admin", "composite": true,
            "composites": {"realm": ["staff"]}}]},
            "users": [{"id": "u1", "email": "a@x.co", "realmRoles": ["admin"]}]}"#;
        let reading = reading();
        let mut rows = Vec::new();
        crate::import_file::read_rows(realm.as_bytes(), &reading, &|_| {}, &mut |item| {
            if let crate::import_file::Item::Row { json, .. } = item {
                rows.push(serde_json::from_slice::<Value>(&json).unwrap_or_default());
            }
            true
        });
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["tern_roles"], json!(["admin", "staff"]));
        assert_eq!(rows[0]["app_metadata"]["realmRoles"], json!(["admin"]));
    }

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
