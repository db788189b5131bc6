//! Auth0: the user export (an export job's NDJSON) reduced to the import
//! schema, joined with the password-hash export Auth0 support sends on
//! request (NDJSON: `{"_id": {"$oid": …}, "email": …, "passwordHash": "$2b$…", …}`).
//! The hash is matched by id (the `$oid` is the user id without `auth0|`),
//! then by email.

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::{Map, Value};

use super::Convert;
// The top-level fields Auth0's import schema accepts: the server's own list.
use crate::import::IMPORT_FIELDS;

/// Auth0's password-hash export, loaded: hash by user id and by lower-cased email.
#[derive(Default)]
pub struct PasswordHashes {
    by_id: HashMap<String, String>,
    by_email: HashMap<String, String>,
}

impl PasswordHashes {
    /// Read the export (NDJSON) from `input`; `shown` names it in errors.
    pub fn load(input: impl BufRead, shown: &str) -> Result<Self, String> {
        let mut hashes = Self::default();
        for (n, line) in input.lines().enumerate() {
            let line = line.map_err(|e| format!("cannot read {shown}: {e}"))?;
            hashes.add_line(&line, n + 1, shown)?;
        }
        Ok(hashes)
    }

    /// Read one line of the export (line `number`, counted from 1), for
    /// callers that receive it in pieces (the console's upload).
    pub fn add_line(&mut self, line: &str, number: usize, shown: &str) -> Result<(), String> {
        if line.trim().is_empty() {
            return Ok(());
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("{shown} line {number} is not JSON: {e}"))?;
        let Some(hash) = v.get("passwordHash").and_then(Value::as_str) else {
            return Ok(());
        };
        if let Some(id) = v.pointer("/_id/$oid").and_then(Value::as_str) {
            self.by_id.insert(id.to_string(), hash.to_string());
        }
        if let Some(email) = v.get("email").and_then(Value::as_str) {
            self.by_email.insert(email.to_lowercase(), hash.to_string());
        }
        Ok(())
    }

    /// How many hashes were read.
    pub fn len(&self) -> usize {
        self.by_id.len().max(self.by_email.len())
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub fn converter(hashes: PasswordHashes) -> Convert {
    Box::new(move |row| {
        let mut row = from_auth0_export(row);
        if let Value::Object(fields) = &mut row
            && !fields.contains_key("password_hash")
        {
            let by_id = fields
                .get("user_id")
                .and_then(Value::as_str)
                .and_then(|id| hashes.by_id.get(id));
            let by_email = || {
                fields
                    .get("email")
                    .and_then(Value::as_str)
                    .and_then(|e| hashes.by_email.get(&e.to_lowercase()))
            };
            if let Some(hash) = by_id.or_else(by_email).cloned() {
                fields.insert("password_hash".into(), Value::String(hash));
            }
        }
        Ok(row)
    })
}

/// An Auth0 export row in the import schema (see `--from auth0-export`).
pub fn from_auth0_export(row: Value) -> Value {
    let Value::Object(fields) = row else {
        return row;
    };
    let mut out = Map::new();
    for (k, v) in fields {
        if !IMPORT_FIELDS.contains(&k.as_str()) || v.is_null() {
            continue;
        }
        let v = match (k.as_str(), v) {
            (_, Value::String(s)) if s.is_empty() => continue,
            ("user_id", Value::String(s)) => {
                Value::String(s.strip_prefix("auth0|").unwrap_or(&s).to_string())
            }
            ("picture", Value::String(s))
                if !(s.starts_with("https://") || s.starts_with("http://")) =>
            {
                continue;
            }
            (_, v) => v,
        };
        out.insert(k, v);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn export_rows_are_reduced_to_the_import_schema() {
        let row = json!({"user_id": "auth0|abc", "email": "a@example.com", "identities": [{"provider": "auth0"}],
                         "created_at": "2020-01-01T00:00:00.000Z", "logins_count": 3, "picture": "data:x",
                         "nickname": "", "name": null, "app_metadata": {"plan": "x"}});
        assert_eq!(
            from_auth0_export(row),
            json!({"user_id": "abc", "email": "a@example.com", "app_metadata": {"plan": "x"}})
        );
        let pic = json!({"email": "b@example.com", "picture": "https://x/y.png"});
        assert_eq!(from_auth0_export(pic.clone()), pic);
    }
}
