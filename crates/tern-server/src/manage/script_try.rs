//! Running a custom-database script with given inputs (the dashboard's
//! "Try"): `POST /api/v2/connections/{id}/scripts/{name}/try` and the
//! console's Try panel both call [`run`]. The script runs in the same
//! sandbox, under the same limits, as logins; nothing is stored; stored
//! configuration values are masked wherever they appear in the answer.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tern_script::{CallbackResult, ErrorKind, ScriptError, ScriptName};

use crate::error::ApiError;
use crate::legacy_script::{SCRIPT_NAMES, script_name, script_source};
use crate::payload::object_with;
use crate::secrets::{MASK, Redactions, reveal};
use crate::state::AppState;

/// The inputs a script takes, by name, in argument order (Auth0's signatures).
pub fn inputs(name: ScriptName) -> &'static [&'static str] {
    match name {
        ScriptName::Login => &["email", "password"],
        ScriptName::GetUser | ScriptName::Verify => &["email"],
        ScriptName::Create => &["user"],
        ScriptName::ChangePassword => &["email", "newPassword"],
        ScriptName::Delete => &["id"],
        ScriptName::ChangeEmail => &["email", "newEmail", "verified"],
    }
}

const TRY_FIELDS: &[&str] = &[
    "args",
    "script",
    "configuration",
    "email",
    "username",
    "password",
    "user",
    "id",
    "newEmail",
    "newPassword",
    "verified",
];

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::invalid_body(format!("Payload validation error: {}", msg.into()))
}

/// The script's arguments: `args` as given, or the named inputs in order.
fn arguments(name: ScriptName, body: &Map<String, Value>) -> Result<Vec<Value>, ApiError> {
    let present = |k: &str| body.get(k).filter(|v| !v.is_null());
    let named: Vec<&str> = TRY_FIELDS[3..]
        .iter()
        .copied()
        .filter(|k| present(k).is_some())
        .collect();
    if let Some(args) = present("args") {
        if !named.is_empty() {
            return Err(bad(format!(
                "send either 'args' or named inputs, not both (got 'args' and '{}').",
                named.join("', '")
            )));
        }
        let args = args
            .as_array()
            .ok_or_else(|| bad("'args' must be an array."))?;
        if args.len() != name.arity() {
            return Err(bad(format!(
                "the {} script takes {} argument(s) before callback ({}); 'args' has {}.",
                name.key(),
                name.arity(),
                inputs(name).join(", "),
                args.len()
            )));
        }
        return Ok(args.clone());
    }
    let wanted = inputs(name);
    // login takes "usernameOrEmail": `username` is accepted for `email`.
    let alias = |k: &str| match (name, k) {
        (ScriptName::Login, "email") => present("email").or_else(|| present("username")),
        _ => present(k),
    };
    if let Some(extra) = named
        .iter()
        .find(|k| !(wanted.contains(k) || (name == ScriptName::Login && **k == "username")))
    {
        return Err(bad(format!(
            "'{extra}' is not an input of the {} script ({}).",
            name.key(),
            wanted.join(", ")
        )));
    }
    wanted
        .iter()
        .map(|k| {
            let v = alias(k).ok_or_else(|| {
                bad(format!(
                    "the {} script needs {} (or 'args'); '{k}' is missing.",
                    name.key(),
                    wanted.join(", ")
                ))
            })?;
            let ok = match *k {
                "user" => v.is_object(),
                "verified" => v.is_boolean(),
                _ => v.is_string(),
            };
            if ok {
                Ok(v.clone())
            } else {
                Err(bad(format!(
                    "'{k}' must be {}.",
                    match *k {
                        "user" => "an object",
                        "verified" => "a boolean",
                        _ => "a string",
                    }
                )))
            }
        })
        .collect()
}

/// What a run answered, as JSON: `{result}` or `{error: {kind, message, …}}`.
fn outcome_json(outcome: &Result<CallbackResult, ScriptError>) -> (&'static str, Value) {
    match outcome {
        Ok(CallbackResult::Value(v)) => ("result", v.clone().unwrap_or(Value::Null)),
        Ok(CallbackResult::Error(e)) => {
            let mut err = json!({"kind": "callback", "message": e.message});
            match &e.kind {
                ErrorKind::WrongUsernameOrPassword { user } => {
                    err["name"] = json!("WrongUsernameOrPasswordError");
                    err["user"] = json!(user);
                }
                ErrorKind::Validation { code } => {
                    err["name"] = json!("ValidationError");
                    err["code"] = json!(code);
                }
                ErrorKind::Unauthorized => err["name"] = json!("UnauthorizedError"),
                ErrorKind::Generic => err["name"] = json!("Error"),
            }
            ("error", err)
        }
        Err(e) => {
            let kind = match e {
                ScriptError::Timeout => "timeout",
                ScriptError::OutOfMemory => "out_of_memory",
                ScriptError::StackOverflow => "stack_overflow",
                ScriptError::Thrown(_) => "thrown",
                ScriptError::RejectedPromise(_) => "rejected_promise",
                ScriptError::SourceTooLarge => "source_too_large",
                ScriptError::NotAFunction => "not_a_function",
                ScriptError::Syntax(_) => "syntax",
                ScriptError::ModuleNotFound(_) => "module_not_found",
                ScriptError::NoCallback => "no_callback",
                ScriptError::InvalidCallbackValue(_) => "invalid_callback_value",
                ScriptError::Internal(_) => "internal",
            };
            ("error", json!({"kind": kind, "message": e.to_string()}))
        }
    }
}

/// Run the connection's `name` script (or `script` from the body) with the
/// body's inputs; the answer: `result` or `error`, `console`, `warnings`,
/// `elapsed_ms`.
pub async fn run(s: &AppState, id: &str, name: &str, body: &Value) -> Result<Value, ApiError> {
    let script = script_name(name).ok_or_else(|| {
        ApiError::not_found(
            "inexistent_script",
            format!(
                "Unknown script '{name}': custom-database scripts are {}.",
                SCRIPT_NAMES.map(ScriptName::key).join(", ")
            ),
        )
    })?;
    let c = s
        .store
        .get_connection(s.tid(), id)
        .await?
        .ok_or_else(crate::manage::connections::not_found)?;
    let obj = object_with(body, TRY_FIELDS)?;
    let args = arguments(script, obj)?;
    let source = match obj.get("script").filter(|v| !v.is_null()) {
        Some(Value::String(src)) if !src.trim().is_empty() => {
            if src.len() > 100 * 1024 {
                return Err(bad("'script' is larger than 100 KB."));
            }
            src.clone()
        }
        Some(_) => return Err(bad("'script' must be a non-empty string.")),
        None => script_source(&c, script)
            .ok_or_else(|| {
                ApiError::not_found(
                    "inexistent_script",
                    format!(
                        "The connection has no {} script; send its source as 'script' to try one.",
                        script.key()
                    ),
                )
            })?
            .to_string(),
    };
    let stored = reveal(&s.secrets, s.tid(), &c).map_err(|e| ApiError::invalid_body(e.0))?;
    let mut configuration: BTreeMap<String, String> = stored.clone();
    if let Some(given) = obj.get("configuration").filter(|v| !v.is_null()) {
        let given = given
            .as_object()
            .filter(|m| m.values().all(Value::is_string))
            .ok_or_else(|| bad("'configuration' must be an object of string values."))?;
        for (k, v) in given {
            let v = v.as_str().unwrap_or_default();
            if v == MASK {
                if !stored.contains_key(k) {
                    return Err(bad(format!(
                        "'configuration.{k}' is the mask but the connection has no value for it."
                    )));
                }
            } else {
                configuration.insert(k.clone(), v.to_string());
            }
        }
    }
    // Stored values still in use are masked in the answer (a tried script
    // may print `configuration`); values the caller sent are the caller's own.
    let redactions = Redactions::new(
        None,
        stored
            .iter()
            .filter(|(k, v)| configuration.get(*k) == Some(v))
            .map(|(_, v)| v.as_str()),
    );
    let run = s
        .scripts
        .run_source(&c, script, &source, args, configuration)
        .await;
    let (key, value) = outcome_json(&run.outcome);
    let mut answer = json!({
        key: value,
        "console": run.console,
        "warnings": run.warnings,
        "elapsed_ms": u64::try_from(run.elapsed.as_millis()).unwrap_or(u64::MAX),
    });
    redactions.apply_json(&mut answer);
    Ok(answer)
}
