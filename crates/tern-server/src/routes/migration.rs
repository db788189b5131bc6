//! Migration visibility, Tern extensions under `/api/v2/connections/{id}`:
//! `GET …/migration` (how the connection's users arrived, who still waits
//! for a credential, credentials per hash scheme) and
//! `POST …/scripts/{name}/try` (run a custom-database script with given
//! inputs and see its result and console: the dashboard's "try" button).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};
use tern_core::model::Connection;
use tern_script::{CallbackResult, ErrorKind, ScriptError, ScriptName};

use super::object_with;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::legacy_script::{SCRIPT_NAMES, script_name, script_source};
use crate::secrets::{MASK, MIN_MASKED_LEN, mask_in, reveal};
use crate::state::AppState;

/// The inputs a script takes, by name, in argument order (Auth0's signatures).
fn inputs(name: ScriptName) -> &'static [&'static str] {
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

async fn connection(s: &AppState, id: &str) -> Result<Connection, ApiError> {
    s.store.get_connection(s.tid(), id).await?.ok_or_else(|| {
        ApiError::not_found("inexistent_connection", "The connection does not exist.")
    })
}

/// `GET /connections/{id}/migration`.
#[utoipa::path(
    get,
    path = "/connections/{id}/migration",
    operation_id = "get_connection_migration",
    tag = "connections",
    summary = "Migration report of a connection (Tern extension)",
    description = "How the connection's users arrived (lazy login, lazy reset, bulk import, signup, API; `legacy` for the profiles Tern keeps while import mode is off), when the first and latest migrations happened, how many users still have no credential, and how many credentials each hash scheme holds.",
    params(("id" = String, Path, description = "The connection id.")),
    responses(
        (status = 200, description = "The report.", body = crate::openapi::MigrationReport),
        (status = 404, description = "No such connection (`inexistent_connection`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:connections"])),
)]
pub async fn report(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:connections"])?;
    let c = connection(&s, &id).await?;
    let stats = s.store.migration_stats(s.tid(), &c.id).await?;
    let mut body = json!({
        "connection_id": c.id,
        "connection": c.name,
        "custom_database": c.custom_database(),
        "import_mode": c.import_mode(),
    });
    if let (Some(out), Value::Object(r)) = (
        body.as_object_mut(),
        json!(tern_core::migration::report(&stats)),
    ) {
        out.extend(r);
    }
    Ok(Json(body))
}

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

/// Replace every stored secret found in `v`'s strings by the mask: a tried
/// script may print `configuration`, the answer still never carries it.
fn redact(v: &mut Value, secrets: &[String]) {
    match v {
        Value::String(s) => mask_in(s, secrets),
        Value::Array(a) => a.iter_mut().for_each(|x| redact(x, secrets)),
        Value::Object(o) => o.values_mut().for_each(|x| redact(x, secrets)),
        _ => {}
    }
}

/// `POST /connections/{id}/scripts/{name}/try`.
#[utoipa::path(
    post,
    path = "/connections/{id}/scripts/{name}/try",
    operation_id = "try_connection_script",
    tag = "connections",
    summary = "Run a custom-database script with given inputs (Tern extension)",
    description = "Runs the connection's script (or `script`, a replacement source) in the same sandbox, with the same limits, as logins do, and answers what it called back with, its console output and how long it took. Inputs are `args` (the arguments before `callback`) or named: login `email` (or `username`), `password`; get_user and verify `email`; create `user`; change_password `email`, `newPassword`; delete `id`; change_email `email`, `newEmail`, `verified`. `configuration` values replace the stored ones for this run (`********` keeps a stored value). Literal occurrences of stored configuration values are masked in the answer; that is no protection against a script that encodes them, so this scope gives access to the connection's configuration. Nothing is stored.",
    params(
        ("id" = String, Path, description = "The connection id."),
        ("name" = String, Path, description = "`login`, `get_user`, `create`, `verify`, `change_password`, `delete` or `change_email`."),
    ),
    request_body(content = crate::openapi::ScriptTryRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The script ran (its own failure is reported in `error`).", body = crate::openapi::ScriptTryResult),
        (status = 400, description = "Invalid body or inputs (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such connection (`inexistent_connection`), unknown script name, or the connection has no such script and none was given (`inexistent_script`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["execute:connection_scripts"])),
)]
pub async fn try_script(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, name)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    // Its own scope: a script run with the stored configuration can return
    // or send any configuration value (the masking below is cosmetic).
    caller.require(&["execute:connection_scripts"])?;
    let script = script_name(&name).ok_or_else(|| {
        ApiError::not_found(
            "inexistent_script",
            format!(
                "Unknown script '{name}': custom-database scripts are {}.",
                SCRIPT_NAMES.map(ScriptName::key).join(", ")
            ),
        )
    })?;
    let c = connection(&s, &id).await?;
    let obj = object_with(&body, TRY_FIELDS)?;
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
    // Stored values still in use are masked in the answer; values the caller
    // sent are the caller's own. Very short values would mask everything.
    let mut secrets: Vec<String> = stored
        .iter()
        .filter(|(k, v)| v.len() >= MIN_MASKED_LEN && configuration.get(*k) == Some(v))
        .map(|(_, v)| v.clone())
        .collect();
    secrets.sort_by_key(|v| std::cmp::Reverse(v.len()));
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
    redact(&mut answer, &secrets);
    Ok(Json(answer))
}
