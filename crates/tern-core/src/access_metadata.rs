//! What an operator writes on a user's access through the Management API:
//! a session's `session_metadata` and a refresh token's
//! `refresh_token_metadata` (`PATCH /sessions/{id}`, `PATCH
//! /refresh-tokens/{id}`). Auth0's rules: an object of string values, at
//! most 25 properties, values of at most 255 characters; `null` or `{}`
//! clears it. Tern also bounds keys (1 to 255 characters), which Auth0
//! leaves unsaid, so that a stored object's size is bounded.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{CoreError, CoreResult};

/// Metadata as stored: string keys to string values (empty: none).
pub type Metadata = BTreeMap<String, String>;

/// Most properties an object holds.
pub const MAX_PROPERTIES: usize = 25;
/// Longest value, in characters.
pub const MAX_VALUE_CHARS: usize = 255;
/// Longest key, in characters.
pub const MAX_KEY_CHARS: usize = 255;

/// The metadata a `PATCH` body sets under `property` (its only allowed
/// property, required), or Auth0's payload validation error saying what is
/// wrong and naming the property at fault.
pub fn from_update(body: &Value, property: &str) -> CoreResult<Metadata> {
    checked(body, property)
        .map_err(|e| CoreError::invalid_body(format!("Payload validation error: {e}")))
}

fn checked(body: &Value, property: &str) -> Result<Metadata, String> {
    let obj = body
        .as_object()
        .ok_or_else(|| "the body must be a JSON object.".to_string())?;
    if let Some(k) = obj.keys().find(|k| k.as_str() != property) {
        return Err(format!(
            "Additional properties not allowed: {k} (only '{property}' can be changed)."
        ));
    }
    let value = obj
        .get(property)
        .ok_or_else(|| format!("Too few properties defined (0), minimum 1: give '{property}'."))?;
    let map = match value {
        Value::Null => return Ok(Metadata::new()),
        Value::Object(m) => m,
        _ => {
            return Err(format!(
                "'{property}' must be an object of string values, or null."
            ));
        }
    };
    if map.len() > MAX_PROPERTIES {
        return Err(format!(
            "'{property}' has {} properties; at most {MAX_PROPERTIES} are allowed.",
            map.len()
        ));
    }
    map.iter()
        .map(|(k, v)| {
            if !(1..=MAX_KEY_CHARS).contains(&k.chars().count()) {
                return Err(format!(
                    "'{property}' keys must be 1 to {MAX_KEY_CHARS} characters."
                ));
            }
            let v = v
                .as_str()
                .ok_or_else(|| format!("'{property}.{k}' must be a string."))?;
            if v.chars().count() > MAX_VALUE_CHARS {
                return Err(format!(
                    "'{property}.{k}' must be at most {MAX_VALUE_CHARS} characters."
                ));
            }
            Ok((k.clone(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P: &str = "session_metadata";

    #[test]
    fn sets_and_clears() {
        let m = from_update(&json!({P: {"team": "ops"}}), P).unwrap();
        assert_eq!(m.get("team").map(String::as_str), Some("ops"));
        assert!(from_update(&json!({P: null}), P).unwrap().is_empty());
        assert!(from_update(&json!({P: {}}), P).unwrap().is_empty());
    }

    #[test]
    fn bounds_hold_at_the_edge() {
        let full: serde_json::Map<String, Value> = (0..MAX_PROPERTIES)
            .map(|i| (format!("k{i}"), json!("x".repeat(MAX_VALUE_CHARS))))
            .collect();
        assert_eq!(from_update(&json!({P: full}), P).unwrap().len(), 25);
        let mut over = full.clone();
        over.insert("k25".into(), json!("x"));
        let e = checked(&json!({P: over}), P).unwrap_err();
        assert!(e.contains("26 properties"), "{e}");
        let e = checked(&json!({P: {"k": "é".repeat(256)}}), P).unwrap_err();
        assert!(e.contains("'session_metadata.k'"), "{e}");
        let e = checked(&json!({P: {"": "v"}}), P).unwrap_err();
        assert!(e.contains("keys"), "{e}");
    }

    #[test]
    fn refuses_what_the_schema_does() {
        for (body, says) in [
            (json!([]), "JSON object"),
            (json!({}), "minimum 1"),
            (
                json!({P: {}, "other": 1}),
                "Additional properties not allowed: other",
            ),
            (json!({P: "x"}), "must be an object"),
            (
                json!({P: {"n": 1}}),
                "'session_metadata.n' must be a string",
            ),
        ] {
            let e = checked(&body, P).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
        }
        let e = from_update(&json!({}), P).unwrap_err().to_string();
        assert!(e.starts_with("Payload validation error: "), "{e}");
    }
}
