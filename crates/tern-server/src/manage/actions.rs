//! Actions and the post-login trigger's bindings as the Management API
//! changes them (`/api/v2/actions/*`), answering Auth0's shapes. Secrets are
//! sealed before they are stored and answered by name only; a deploy
//! snapshots the draft, which is what logins run. Every change tells the
//! runtime (`crate::actions`) to read the bound actions again.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use tern_core::actions::{
    Action, ActionBinding, ActionSecret, ActionVersion, DEFAULT_RUNTIME, POST_LOGIN,
};
use tern_core::clock::now_iso;
use tern_core::store::Replaced;

use crate::error::ApiError;
use crate::payload::{field, object_with, require_keys};
use crate::secrets::action_secret_aad;
use crate::state::AppState;

/// Fields of `POST /actions/actions`.
pub const CREATE_FIELDS: &[&str] = &[
    "name",
    "supported_triggers",
    "code",
    "dependencies",
    "runtime",
    "secrets",
    "modules",
    "deploy",
];

/// Fields of `PATCH /actions/actions/{id}`.
pub const UPDATE_FIELDS: &[&str] = &[
    "name",
    "supported_triggers",
    "code",
    "dependencies",
    "runtime",
    "secrets",
    "modules",
];

/// npm modules the sandbox already provides (`tern-script`'s `require`):
/// the only `dependencies` an action may name, since nothing is installed.
pub const PROVIDED_MODULES: &[&str] = &[
    "bcrypt",
    "crypto",
    "request",
    "node-fetch",
    "axios",
    "mysql",
    "pg",
    "url",
    "util",
    "querystring",
    "buffer",
];

/// The most secrets one action holds.
const MAX_SECRETS: usize = 100;
/// The longest action name.
const MAX_NAME: usize = 255;

/// 404 for an unknown action.
pub fn not_found() -> ApiError {
    ApiError::not_found("inexistent_action", "The action does not exist.")
}

/// 400 for a trigger Tern does not run.
pub fn unsupported_trigger(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_trigger",
        format!(
            "Trigger '{}' is not supported: Tern runs actions for the '{POST_LOGIN}' trigger only.",
            id.chars().take(64).collect::<String>()
        ),
    )
}

/// The action as Auth0 answers it: secrets by name, the deployed version
/// when there is one.
pub fn action_json(a: &Action) -> Value {
    let mut v = json!({
        "id": a.id,
        "name": a.name,
        "supported_triggers": triggers_json(&a.supported_triggers),
        "all_changes_deployed": a.all_changes_deployed(),
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "code": a.code,
        "dependencies": a.dependencies,
        "runtime": a.runtime,
        "secrets": secrets_json(&a.secrets),
        "status": "built",
        "built_at": a.updated_at,
        "deploy": false,
        "modules": [],
    });
    if let Some(d) = &a.deployed {
        v["deployed_version"] = version_json(a, d);
    }
    v
}

/// A deployed version as Auth0 answers it.
pub fn version_json(a: &Action, d: &ActionVersion) -> Value {
    json!({
        "id": d.id,
        "action_id": a.id,
        "code": d.code,
        "dependencies": d.dependencies,
        "deployed": true,
        "runtime": d.runtime,
        "secrets": secrets_json(&d.secrets),
        "status": "built",
        "number": d.number,
        "errors": [],
        "built_at": d.created_at,
        "created_at": d.created_at,
        "updated_at": d.created_at,
        "supported_triggers": triggers_json(&a.supported_triggers),
    })
}

fn triggers_json(ids: &[String]) -> Value {
    ids.iter()
        .map(|id| json!({"id": id, "version": "v3"}))
        .collect()
}

fn secrets_json(secrets: &[ActionSecret]) -> Value {
    secrets
        .iter()
        .map(|s| json!({"name": s.name, "updated_at": s.updated_at}))
        .collect()
}

/// `supported_triggers`: at least one, each `{id}` naming `post-login`.
fn read_triggers(obj: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(list) = field::<Vec<Value>>(obj, "supported_triggers")? else {
        return Ok(None);
    };
    if list.is_empty() {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'supported_triggers' must name at least one trigger.",
        ));
    }
    let mut ids = Vec::new();
    for t in list {
        let id = t.get("id").and_then(Value::as_str).ok_or_else(|| {
            ApiError::invalid_body(
                "Payload validation error: each of 'supported_triggers' must be an object with a string 'id'.",
            )
        })?;
        if id != POST_LOGIN {
            return Err(unsupported_trigger(id));
        }
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }
    Ok(Some(ids))
}

/// `dependencies`: only modules the sandbox provides, since none can be installed.
fn read_dependencies(obj: &Map<String, Value>) -> Result<Option<Vec<Value>>, ApiError> {
    let Some(list) = field::<Vec<Value>>(obj, "dependencies")? else {
        return Ok(None);
    };
    for d in &list {
        let name = d.get("name").and_then(Value::as_str).unwrap_or_default();
        if !PROVIDED_MODULES.contains(&name) {
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: dependency '{}' cannot be installed here; actions may only name modules the sandbox provides: {}.",
                name.chars().take(64).collect::<String>(),
                PROVIDED_MODULES.join(", ")
            )));
        }
    }
    Ok(Some(list))
}

fn refuse_modules(obj: &Map<String, Value>) -> Result<(), ApiError> {
    match field::<Vec<Value>>(obj, "modules")? {
        Some(m) if !m.is_empty() => Err(ApiError::invalid_body(
            "Payload validation error: action modules are not supported by Tern; send 'modules' empty or not at all.",
        )),
        _ => Ok(()),
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: 'name' must be 1 to {MAX_NAME} characters."
        )));
    }
    Ok(())
}

fn check_code(code: &str) -> Result<(), ApiError> {
    let max = tern_script::ScriptLimits::default().max_source_bytes;
    // The wrapper the runtime adds must fit too.
    if code.len() + crate::actions::WRAPPER_BYTES > max {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: 'code' is larger than the limit of {} bytes.",
            max - crate::actions::WRAPPER_BYTES
        )));
    }
    Ok(())
}

/// `secrets`: the new list. A secret sent without `value` keeps the value
/// stored under its name (Auth0 never answers values, so a client that
/// read the action can send the names back).
fn read_secrets(
    s: &AppState,
    action_id: &str,
    obj: &Map<String, Value>,
    previous: &[ActionSecret],
) -> Result<Option<Vec<ActionSecret>>, ApiError> {
    let Some(list) = field::<Vec<Value>>(obj, "secrets")? else {
        return Ok(None);
    };
    if list.len() > MAX_SECRETS {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: an action holds at most {MAX_SECRETS} secrets."
        )));
    }
    let now = now_iso();
    let mut out: Vec<ActionSecret> = Vec::new();
    for item in list {
        let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() || name.len() > 255 {
            return Err(ApiError::invalid_body(
                "Payload validation error: each secret needs a 'name' of 1 to 255 characters.",
            ));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: secret '{name}' is given twice."
            )));
        }
        let secret = match item.get("value") {
            Some(Value::String(clear)) => ActionSecret {
                name: name.to_string(),
                sealed: s
                    .secrets
                    .seal(&action_secret_aad(s.tid(), action_id, name), clear)
                    .map_err(|e| {
                        tracing::error!(error = %e, "could not seal an action secret");
                        ApiError::internal()
                    })?,
                updated_at: now.clone(),
            },
            None | Some(Value::Null) => previous
                .iter()
                .find(|p| p.name == name)
                .cloned()
                .ok_or_else(|| {
                    ApiError::invalid_body(format!(
                        "Payload validation error: secret '{name}' has no 'value' and the action has no value to keep for it."
                    ))
                })?,
            Some(_) => {
                return Err(ApiError::invalid_body(format!(
                    "Payload validation error: the 'value' of secret '{name}' must be a string."
                )));
            }
        };
        out.push(secret);
    }
    Ok(Some(out))
}

fn read_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    field::<String>(obj, key)
}

/// `POST /actions/actions`: the new action (deployed when `deploy` is true).
pub async fn create(s: &AppState, body: &Value) -> Result<Action, ApiError> {
    let obj = object_with(body, CREATE_FIELDS)?;
    require_keys(obj, &["name", "supported_triggers"])?;
    refuse_modules(obj)?;
    let name = read_string(obj, "name")?.unwrap_or_default();
    check_name(&name)?;
    let supported_triggers = read_triggers(obj)?.unwrap_or_default();
    let code = read_string(obj, "code")?.unwrap_or_else(|| "module.exports = () => {}".into());
    check_code(&code)?;
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_iso();
    let mut action = Action {
        secrets: read_secrets(s, &id, obj, &[])?.unwrap_or_default(),
        id,
        name,
        supported_triggers,
        code,
        runtime: read_string(obj, "runtime")?.unwrap_or_else(|| DEFAULT_RUNTIME.into()),
        dependencies: read_dependencies(obj)?.unwrap_or_default(),
        created_at: now.clone(),
        updated_at: now,
        deployed: None,
        revision: 0,
    };
    if field::<bool>(obj, "deploy")? == Some(true) {
        snapshot(&mut action);
    }
    s.store.insert_action(s.tid(), &action).await?;
    s.actions.changed();
    Ok(action)
}

/// How often a read-modify-write of an action starts again after another
/// write landed between its read and its write, before answering 409.
const WRITE_ATTEMPTS: usize = 5;

fn conflict(message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "conflict", message)
}

/// Read the action, apply `change` and store it if no other write landed
/// since the read (`ActionStore::update_action` compares revisions); if
/// one did, again from a fresh read — so a deploy never undoes a draft
/// saved meanwhile, nor a save another save's other fields.
async fn modify(
    s: &AppState,
    id: &str,
    change: impl Fn(&mut Action) -> Result<(), ApiError>,
) -> Result<Action, ApiError> {
    for _ in 0..WRITE_ATTEMPTS {
        let mut action = s
            .store
            .get_action(s.tid(), id)
            .await?
            .ok_or_else(not_found)?;
        change(&mut action)?;
        match s.store.update_action(s.tid(), &action).await? {
            Replaced::Done => {
                action.revision += 1;
                s.actions.changed();
                return Ok(action);
            }
            Replaced::Gone => return Err(not_found()),
            Replaced::Moved => {}
        }
    }
    Err(conflict(
        "The action kept changing while this request was applied; send it again.",
    ))
}

/// `PATCH /actions/actions/{id}`: the draft changes; what runs does not
/// until the next deploy.
pub async fn update(s: &AppState, id: &str, body: &Value) -> Result<Action, ApiError> {
    let obj = object_with(body, UPDATE_FIELDS)?;
    refuse_modules(obj)?;
    modify(s, id, |action| {
        if let Some(name) = read_string(obj, "name")? {
            check_name(&name)?;
            action.name = name;
        }
        if let Some(t) = read_triggers(obj)? {
            action.supported_triggers = t;
        }
        if let Some(code) = read_string(obj, "code")? {
            check_code(&code)?;
            action.code = code;
        }
        if let Some(r) = read_string(obj, "runtime")? {
            action.runtime = r;
        }
        if let Some(d) = read_dependencies(obj)? {
            action.dependencies = d;
        }
        if let Some(sec) = read_secrets(s, &action.id, obj, &action.secrets)? {
            action.secrets = sec;
        }
        action.updated_at = now_iso();
        Ok(())
    })
    .await
}

/// The draft becomes the deployed version (numbered after the last).
fn snapshot(action: &mut Action) {
    let number = action.deployed.as_ref().map_or(1, |d| d.number + 1);
    action.deployed = Some(ActionVersion {
        id: uuid::Uuid::new_v4().to_string(),
        number,
        code: action.code.clone(),
        runtime: action.runtime.clone(),
        dependencies: action.dependencies.clone(),
        secrets: action.secrets.clone(),
        created_at: now_iso(),
    });
}

/// `POST /actions/actions/{id}/deploy`: the draft as stored now.
pub async fn deploy(s: &AppState, id: &str) -> Result<Action, ApiError> {
    modify(s, id, |action| {
        snapshot(action);
        Ok(())
    })
    .await
}

/// Deploy exactly the draft `saved` (the console's "Save and deploy", right
/// after its save): 409 if any write landed after that save, deploying
/// nothing — what runs is then the draft the operator saw.
pub async fn deploy_saved(s: &AppState, saved: &Action) -> Result<Action, ApiError> {
    let mut action = saved.clone();
    snapshot(&mut action);
    match s.store.update_action(s.tid(), &action).await? {
        Replaced::Done => {
            action.revision += 1;
            s.actions.changed();
            Ok(action)
        }
        Replaced::Gone => Err(not_found()),
        Replaced::Moved => Err(conflict(
            "The draft changed after this save (another change landed in between); nothing was deployed: check the draft and deploy it again.",
        )),
    }
}

/// `DELETE /actions/actions/{id}`: a bound action only with `force`, which
/// unbinds it in the same transaction.
pub async fn delete(s: &AppState, id: &str, force: bool) -> Result<(), ApiError> {
    if s.store.get_action(s.tid(), id).await?.is_none() {
        return Err(not_found());
    }
    let bound = s
        .store
        .get_action_bindings(s.tid(), POST_LOGIN)
        .await?
        .iter()
        .any(|b| b.action_id == id);
    if bound && !force {
        return Err(ApiError::invalid_body(
            "The action is bound to the post-login trigger: remove the binding first, or delete with force=true to unbind it.",
        ));
    }
    if !s.store.delete_action(s.tid(), id).await? {
        return Err(not_found());
    }
    s.actions.changed();
    Ok(())
}

/// A trigger id from a path: `post-login`, else 400 naming what is supported.
pub fn check_trigger(trigger: &str) -> Result<(), ApiError> {
    if trigger == POST_LOGIN {
        Ok(())
    } else {
        Err(unsupported_trigger(trigger))
    }
}

/// The trigger's bindings as Auth0 answers them (each with its action).
pub async fn bindings_json(
    s: &AppState,
    bindings: &[ActionBinding],
) -> Result<Vec<Value>, ApiError> {
    let actions = s.store.list_actions(s.tid()).await?;
    Ok(bindings
        .iter()
        .map(|b| {
            let mut v = json!({
                "id": b.id,
                "trigger_id": b.trigger_id,
                "display_name": b.display_name,
                "created_at": b.created_at,
                "updated_at": b.updated_at,
            });
            if let Some(a) = actions.iter().find(|a| a.id == b.action_id) {
                v["action"] = action_json(a);
            }
            v
        })
        .collect())
}

/// `PATCH /actions/triggers/post-login/bindings`: the new ordered list. Each
/// item names a deployed action by `ref` (`action_id`, `action_name`, or
/// `binding_id` of a current binding); a binding kept keeps its id.
pub async fn update_bindings(
    s: &AppState,
    trigger: &str,
    body: &Value,
) -> Result<Vec<ActionBinding>, ApiError> {
    check_trigger(trigger)?;
    let obj = object_with(body, &["bindings"])?;
    let items = field::<Vec<Value>>(obj, "bindings")?.unwrap_or_default();
    let actions = s.store.list_actions(s.tid()).await?;
    let current = s.store.get_action_bindings(s.tid(), trigger).await?;
    let now = now_iso();
    let mut out: Vec<ActionBinding> = Vec::new();
    for item in &items {
        let item = object_with(item, &["ref", "display_name", "secrets"])?;
        if field::<Vec<Value>>(item, "secrets")?.is_some_and(|v| !v.is_empty()) {
            return Err(ApiError::invalid_body(
                "Payload validation error: binding secrets are not supported; set secrets on the action.",
            ));
        }
        let r = item.get("ref").and_then(Value::as_object).ok_or_else(|| {
            ApiError::invalid_body("Payload validation error: 'Missing required property: ref'.")
        })?;
        let kind = r
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("action_name");
        let value = r.get("value").and_then(Value::as_str).unwrap_or_default();
        let found = match kind {
            "action_id" => actions.iter().find(|a| a.id == value),
            "action_name" => actions.iter().find(|a| a.name == value),
            "binding_id" => current
                .iter()
                .find(|b| b.id == value)
                .and_then(|b| actions.iter().find(|a| a.id == b.action_id)),
            other => {
                return Err(ApiError::invalid_body(format!(
                    "Payload validation error: ref type '{}' is not one of action_id, action_name, binding_id.",
                    other.chars().take(64).collect::<String>()
                )));
            }
        };
        let action = found.ok_or_else(|| {
            ApiError::invalid_body(format!(
                "No action matches the binding ref {kind} '{}'.",
                value.chars().take(128).collect::<String>()
            ))
        })?;
        if !action.supported_triggers.iter().any(|t| t == trigger) {
            return Err(ApiError::invalid_body(format!(
                "Action '{}' does not support the '{trigger}' trigger.",
                action.name
            )));
        }
        if action.deployed.is_none() {
            return Err(ApiError::invalid_body(format!(
                "Action '{}' has not been deployed: deploy it before binding it.",
                action.name
            )));
        }
        let display_name = field::<String>(item, "display_name")?
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| action.name.clone());
        let kept = current
            .iter()
            .find(|b| b.action_id == action.id && !out.iter().any(|o| o.id == b.id));
        out.push(ActionBinding {
            id: kept.map_or_else(|| uuid::Uuid::new_v4().to_string(), |b| b.id.clone()),
            trigger_id: trigger.to_string(),
            action_id: action.id.clone(),
            display_name,
            created_at: kept.map_or_else(|| now.clone(), |b| b.created_at.clone()),
            updated_at: now.clone(),
        });
    }
    s.store.put_action_bindings(s.tid(), trigger, &out).await?;
    s.actions.changed();
    Ok(out)
}
