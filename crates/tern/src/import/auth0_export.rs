//! `--from-auth0-export`: an Auth0 user export row reduced to the import
//! schema, so Auth0's NDJSON export can be imported as it is.

use serde_json::{Map, Value};
// The top-level fields Auth0's import schema accepts: the server's own list.
use tern_core::import::IMPORT_FIELDS;

/// An Auth0 export row in the import schema (see `--from-auth0-export`).
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
