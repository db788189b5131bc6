//! A Cognito user's attributes (`[{"Name": "email", "Value": "…"}, …]`, all
//! strings) as the profile a Tern user is made of.
//!
//! By default: `sub` → `user_id` (Cognito's immutable id, so the user keeps
//! it), the OIDC standard attributes Tern has a field for → that field,
//! `email_verified` ("true"/"false") → a boolean, `preferred_username` →
//! `username` only on connections that require usernames, `phone_number` →
//! `user_metadata.phone_number` (a database user has no phone field), and
//! each `custom:NAME` → `app_metadata.NAME`. A `profile_map` entry
//! (`"app_metadata.plan": "custom:tier"`) replaces the default for its
//! target; an attribute it names is not copied again by the defaults.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// Profile field ← attribute, before `profile_map`.
const DEFAULTS: &[(&str, &str)] = &[
    ("user_id", "sub"),
    ("email", "email"),
    ("email_verified", "email_verified"),
    ("name", "name"),
    ("given_name", "given_name"),
    ("family_name", "family_name"),
    ("nickname", "nickname"),
    ("picture", "picture"),
    ("user_metadata.phone_number", "phone_number"),
];

/// Check a `profile_map`: targets Tern knows, attribute names Cognito could have.
pub fn check_map(map: &BTreeMap<String, String>) -> Result<(), String> {
    for (target, attribute) in map {
        super::super::http::check_target(target)?;
        if attribute.is_empty()
            || attribute.len() > 64
            || !attribute
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'))
        {
            return Err(format!(
                "profile_map.{target}: '{attribute}' is not a Cognito attribute name (e.g. email, custom:plan)"
            ));
        }
    }
    Ok(())
}

/// The profile (before `normalize_profile`) of a user with these attributes.
/// `usernames`: the connection requires usernames.
pub fn build(
    attributes: &[(String, String)],
    map: Option<&BTreeMap<String, String>>,
    usernames: bool,
) -> Value {
    let mut rules: BTreeMap<String, String> = DEFAULTS
        .iter()
        .map(|(t, a)| ((*t).to_string(), (*a).to_string()))
        .collect();
    if usernames {
        rules.insert("username".into(), "preferred_username".into());
    }
    if let Some(map) = map {
        rules.extend(map.iter().map(|(t, a)| (t.clone(), a.clone())));
    }
    let value_of = |name: &str| {
        attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let mut out = Map::new();
    for (target, attribute) in &rules {
        if let Some(v) = value_of(attribute) {
            put(&mut out, target, v);
        }
    }
    let mapped: Vec<&String> = rules.values().collect();
    for (name, v) in attributes {
        if let Some(key) = name.strip_prefix("custom:")
            && !mapped.contains(&name)
        {
            put(&mut out, &format!("app_metadata.{key}"), v);
        }
    }
    Value::Object(out)
}

fn put(out: &mut Map<String, Value>, target: &str, v: &str) {
    // Cognito answers every attribute as a string; Tern's is a boolean.
    let value = if target == "email_verified" {
        json!(v == "true")
    } else {
        json!(v)
    };
    match target.split_once('.') {
        Some((bag, key)) => {
            if let Value::Object(m) = out.entry(bag).or_insert_with(|| json!({})) {
                m.insert(key.to_string(), value);
            }
        }
        None => {
            out.insert(target.to_string(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_overrides() {
        let a = attrs(&[
            ("sub", "5f1c"),
            ("email", "Ada@Example.com"),
            ("email_verified", "true"),
            ("preferred_username", "ada"),
            ("phone_number", "+15550100"),
            ("custom:plan", "gold"),
            ("custom:tier", "3"),
        ]);
        assert_eq!(
            build(&a, None, false),
            json!({"user_id": "5f1c", "email": "Ada@Example.com", "email_verified": true,
                   "user_metadata": {"phone_number": "+15550100"},
                   "app_metadata": {"plan": "gold", "tier": "3"}})
        );
        let map: BTreeMap<String, String> =
            serde_json::from_value(json!({"user_metadata.level": "custom:tier"})).unwrap();
        let p = build(&a, Some(&map), true);
        assert_eq!(p["username"], "ada");
        assert_eq!(p["app_metadata"], json!({"plan": "gold"}));
        assert_eq!(p["user_metadata"]["level"], "3");
        assert_eq!(
            build(&attrs(&[("email_verified", "false")]), None, false)["email_verified"],
            false
        );
    }

    #[test]
    fn map_checks() {
        for (map, needle) in [
            (json!({"password": "custom:pw"}), "not a profile field"),
            (json!({"email": "e mail"}), "not a Cognito attribute name"),
            (
                json!({"app_metadata.a.b": "custom:x"}),
                "not a profile field",
            ),
        ] {
            let m: BTreeMap<String, String> = serde_json::from_value(map).unwrap();
            assert!(check_map(&m).unwrap_err().contains(needle));
        }
    }
}
