//! Firebase Authentication: `firebase auth:export users.json --format=json`.
//!
//! Each user: `localId`, `email`, `emailVerified`, `passwordHash` and
//! `salt` (base64), `displayName`, `photoUrl`, `phoneNumber`, `disabled`,
//! `customAttributes` (the custom claims, a JSON string), `mfaInfo`
//! (`phoneInfo` for SMS second factors); `providerUserInfo`, `createdAt`,
//! `lastSignedInAt` and the rest are not carried. The password hash is
//! Firebase's modified scrypt, which needs the project's hash parameters
//! (the console shows them as a `hash_config { … }` block).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Convert, Options, Row, json_object, picture, text};

/// The project's hash parameters, as `tern_password_hash.params` wants them.
#[derive(Debug, PartialEq)]
struct HashConfig {
    signer_key: String,
    salt_separator: String,
    rounds: u32,
    mem_cost: u32,
}

/// Read the console's `hash_config { key: value, … }` block, or a JSON
/// object with the same keys (`base64_signer_key`, `base64_salt_separator`,
/// `rounds`, `mem_cost`).
fn parse_hash_config(text: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    if text.trim_start().starts_with('{') {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| format!("the hash parameters are not JSON: {e}"))?;
        for (k, v) in v.as_object().into_iter().flatten() {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.insert(k.clone(), s);
        }
        return Ok(out);
    }
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim().trim_end_matches(',').trim().trim_matches('"');
            out.insert(k.trim().to_string(), v.to_string());
        }
    }
    Ok(out)
}

fn hash_config(args: &Options) -> Result<HashConfig, String> {
    let mut found = match &args.hash_config {
        Some(text) => parse_hash_config(text)?,
        None => HashMap::new(),
    };
    if let Some(alg) = found.get("algorithm")
        && !alg.eq_ignore_ascii_case("scrypt")
    {
        return Err(format!(
            "the hash parameters name algorithm {alg}; only Firebase's SCRYPT is read"
        ));
    }
    let mut take = |key: &str, flag: Option<String>| {
        flag.or_else(|| found.remove(key)).ok_or_else(|| {
            format!(
                "a Firebase export needs the project's {key} (one of its password hash parameters)"
            )
        })
    };
    let number = |key: &str, v: String| {
        v.parse::<u32>()
            .map_err(|_| format!("{key} must be a number, not {v:?}"))
    };
    Ok(HashConfig {
        signer_key: take("base64_signer_key", args.signer_key.clone())?,
        salt_separator: take("base64_salt_separator", args.salt_separator.clone())?,
        rounds: number(
            "rounds",
            take("rounds", args.rounds.map(|n| n.to_string()))?,
        )?,
        mem_cost: number(
            "mem_cost",
            take("mem_cost", args.mem_cost.map(|n| n.to_string()))?,
        )?,
    })
}

pub fn converter(args: &Options) -> Result<Convert, String> {
    let config = hash_config(args)?;
    Ok(Box::new(move |user| convert(&config, user)))
}

fn convert(config: &HashConfig, user: Value) -> Result<Value, String> {
    let id = text(&user, "localId").ok_or("the user has no localId")?;
    let mut row = Row::default();
    row.set("user_id", id)
        .set_opt("email", text(&user, "email"))
        .set_opt("email_verified", user.get("emailVerified").cloned())
        .set_opt("name", text(&user, "displayName"))
        .set_opt("picture", picture(text(&user, "photoUrl")))
        .set_opt("phone_number", text(&user, "phoneNumber"))
        .set_opt("app_metadata", json_object(user.get("customAttributes")));
    if user.get("disabled") == Some(&Value::Bool(true)) {
        row.set("blocked", true);
    }
    if let Some(hash) = text(&user, "passwordHash") {
        row.set(
            "tern_password_hash",
            json!({"algorithm": "firebase-scrypt", "hash": hash,
                   "salt": text(&user, "salt").unwrap_or(""),
                   "params": {"signer_key": config.signer_key, "salt_separator": config.salt_separator,
                              "rounds": config.rounds, "mem_cost": config.mem_cost}}),
        );
    }
    // SMS second factors; Firebase's TOTP enrolments do not export their secret.
    let phones: Vec<Value> = user
        .get("mfaInfo")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| text(f, "phoneInfo"))
        .map(|p| json!({"phone": {"value": p}}))
        .collect();
    row.set("mfa_factors", phones);
    // Any other factor (TOTP) is exported without its secret.
    let other: Vec<Value> = user
        .get("mfaInfo")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| text(f, "phoneInfo").is_none())
        .map(|_| json!("Firebase TOTP factor: the export holds no secret (the user enrols again)"))
        .collect();
    row.set(super::LEFT_BEHIND, other);
    Ok(row.done())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consoles_hash_config_block_is_read() {
        let block = "hash_config {\n  algorithm: SCRYPT,\n  base64_signer_key: a2V5+/==,\n  base64_salt_separator: Bw==,\n  rounds: 8,\n  mem_cost: 14,\n}\n";
        let args = Options {
            hash_config: Some(block.into()),
            rounds: Some(7), // a flag overrides the block
            ..Options::default()
        };
        assert_eq!(
            hash_config(&args),
            Ok(HashConfig {
                signer_key: "a2V5+/==".into(),
                salt_separator: "Bw==".into(),
                rounds: 7,
                mem_cost: 14
            })
        );
        let missing = hash_config(&Options::default()).unwrap_err();
        assert!(missing.contains("base64_signer_key"), "{missing}");
    }
}
