//! The bulk phase: the users Tern has not migrated yet, as an Auth0 user
//! import file (`tern import users.json`), their hashes carried over so that
//! nobody has to reset a password.

use serde_json::{Value, json};

use crate::store::LegacyUser;

/// One import row. bcrypt, phpass and md5-crypt are self-describing and go
/// in `password_hash`; the salted SHA-256 becomes Auth0's
/// `custom_password_hash` (sha256, hex, salt as a prefix of the password).
pub fn import_row(u: &LegacyUser) -> Value {
    let mut row = json!({
        "user_id": u.id.to_string(),
        "email": u.email,
        "email_verified": u.email_confirmed,
        "app_metadata": {"plan": u.plan},
    });
    if let Some(name) = &u.display_name {
        row["name"] = json!(name);
    }
    match u.password_scheme.as_str() {
        "sha256_salted" => {
            row["custom_password_hash"] = json!({
                "algorithm": "sha256",
                "hash": {"value": u.password_hash, "encoding": "hex"},
                "salt": {"value": u.password_salt, "position": "prefix"},
            });
        }
        _ => row["password_hash"] = json!(u.password_hash),
    }
    row
}

/// The import file of these users.
pub fn import_file(users: &[LegacyUser]) -> Value {
    Value::Array(users.iter().map(import_row).collect())
}
