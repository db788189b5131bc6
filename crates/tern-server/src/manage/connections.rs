//! Connections as the Management API changes them (`POST`/`PATCH
//! /api/v2/connections`, `DELETE`), for its handlers and the console alike: the
//! body is the API's JSON, checked the same way, `options.configuration`
//! sealed before it is stored (`secrets`), the answer masked.

use axum::http::StatusCode;
use serde_json::{Map, Value};
use tern_core::ids;
use tern_core::model::{Connection, JsonObject};

use crate::console_app::Changer;
use crate::error::ApiError;
use crate::payload::{field, object_with, require_keys};
use crate::state::AppState;

const CREATE_FIELDS: &[&str] = &[
    "name",
    "strategy",
    "display_name",
    "options",
    "enabled_clients",
    "realms",
    "is_domain_connection",
    "metadata",
    "show_as_button",
];
const UPDATE_FIELDS: &[&str] = &[
    "display_name",
    "options",
    "enabled_clients",
    "realms",
    "is_domain_connection",
    "metadata",
    "show_as_button",
];
const PASSWORD_POLICIES: &[&str] = &["none", "low", "fair", "good", "excellent"];
const SCRIPT_NAMES: &[&str] = &[
    "login",
    "get_user",
    "create",
    "verify",
    "change_password",
    "delete",
    "change_email",
    "change_username",
    "change_phone_number",
];

pub fn not_found() -> ApiError {
    ApiError::not_found("inexistent_connection", "The connection does not exist.")
}

/// Auth0's connection name rule: alphanumerics and single dashes, starting
/// and ending with an alphanumeric, at most 128 characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Type-check the options Tern acts on; others are kept as given.
fn validate_options(o: &JsonObject) -> Result<(), ApiError> {
    let bad = |msg: String| {
        Err(ApiError::invalid_body(format!(
            "Payload validation error: {msg}"
        )))
    };
    for key in [
        "enabledDatabaseCustomization",
        "import_mode",
        "requires_username",
        "disable_signup",
        "brute_force_protection",
        "enable_script_context",
    ] {
        if o.get(key).is_some_and(|v| !v.is_boolean()) {
            return bad(format!("'options.{key}' must be a boolean."));
        }
    }
    if let Some(p) = o.get("passwordPolicy").filter(|v| !v.is_null())
        && !p.as_str().is_some_and(|p| PASSWORD_POLICIES.contains(&p))
    {
        return bad(format!(
            "'options.passwordPolicy' must be one of {}.",
            PASSWORD_POLICIES.join(", ")
        ));
    }
    tern_core::password_policy::validate_options(o).or_else(bad)?;
    if let Some(scripts) = o.get("customScripts") {
        let Some(scripts) = scripts.as_object() else {
            return bad("'options.customScripts' must be an object.".into());
        };
        for (name, src) in scripts {
            if !SCRIPT_NAMES.contains(&name.as_str()) {
                return bad(format!(
                    "'options.customScripts.{name}' is not a script Auth0 defines ({}).",
                    SCRIPT_NAMES.join(", ")
                ));
            }
            match src.as_str() {
                Some(s) if !s.is_empty() && s.len() <= 100 * 1024 => {}
                Some(s) if s.len() > 100 * 1024 => {
                    return bad(format!(
                        "'options.customScripts.{name}' is larger than 100 KB."
                    ));
                }
                _ => {
                    return bad(format!(
                        "'options.customScripts.{name}' must be a non-empty string."
                    ));
                }
            }
        }
    }
    if let Some(cfg) = o.get("configuration") {
        let Some(cfg) = cfg.as_object().filter(|m| m.values().all(Value::is_string)) else {
            return bad("'options.configuration' must be an object of string values.".into());
        };
        // Every value is opened at each legacy call (login, get_user…), so
        // the map stays small: settings and keys, not data.
        if cfg.len() > MAX_CONFIGURATION_KEYS {
            return bad(format!(
                "'options.configuration' holds at most {MAX_CONFIGURATION_KEYS} values, got {}.",
                cfg.len()
            ));
        }
        if let Some((name, _)) = cfg.iter().find(|(_, v)| {
            v.as_str()
                .is_some_and(|v| v.len() > MAX_CONFIGURATION_VALUE_BYTES)
        }) {
            return bad(format!(
                "'options.configuration.{name}' is longer than {} KB.",
                MAX_CONFIGURATION_VALUE_BYTES / 1024
            ));
        }
    }
    crate::connectors::validate(o).or_else(bad)?;
    Ok(())
}

/// The most values `options.configuration` may hold.
pub const MAX_CONFIGURATION_KEYS: usize = 100;
/// The longest value in `options.configuration` (room for a PEM key).
pub const MAX_CONFIGURATION_VALUE_BYTES: usize = 16 * 1024;

/// Seal `options.configuration` for storage; a mask keeps the stored value.
fn seal(
    s: &AppState,
    connection_id: &str,
    options: &mut JsonObject,
    previous: Option<&JsonObject>,
) -> Result<(), ApiError> {
    crate::secrets::seal_options(&s.secrets, s.tid(), connection_id, options, previous)
        .map_err(|m| ApiError::invalid_body(format!("Payload validation error: {m}")))
}

/// A connection as answered: configuration values masked, never in clear.
pub fn masked(mut c: Connection) -> Connection {
    crate::secrets::mask(&mut c);
    c
}

/// The most applications one connection may be enabled for (each is
/// checked with a read when the list is saved).
pub const MAX_ENABLED_CLIENTS: usize = 1000;

/// `enabled_clients` as given, each id once (in first-seen order), every
/// one an existing client.
async fn check_clients(s: &AppState, ids: Vec<String>) -> Result<Vec<String>, ApiError> {
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<String> = ids
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect();
    if ids.len() > MAX_ENABLED_CLIENTS {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: enabled_clients: at most {MAX_ENABLED_CLIENTS} applications, got {}.",
            ids.len()
        )));
    }
    for id in &ids {
        if s.store.get_client(s.tid(), id).await?.is_none() {
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: enabled_clients: no client with id '{id}'."
            )));
        }
    }
    Ok(ids)
}

/// Create a connection from a `POST /connections` body; the stored
/// connection, masked.
pub async fn create(s: &AppState, body: &Value) -> Result<Connection, ApiError> {
    let obj = object_with(body, CREATE_FIELDS)?;
    require_keys(obj, &["name", "strategy"])?;
    let name: String = field(obj, "name")?.unwrap_or_default();
    if !valid_name(&name) {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'String does not match pattern ^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$' on property name.",
        ));
    }
    let strategy: String = field(obj, "strategy")?.unwrap_or_default();
    if strategy != "auth0" {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: strategy '{strategy}' is not supported; Tern implements database connections (strategy 'auth0')."
        )));
    }
    let mut options: JsonObject = field(obj, "options")?.unwrap_or_default();
    validate_options(&options)?;
    let enabled_clients: Vec<String> = field(obj, "enabled_clients")?.unwrap_or_default();
    let enabled_clients = check_clients(s, enabled_clients).await?;
    let id = ids::connection_id();
    seal(s, &id, &mut options, None)?;
    let connection = Connection {
        id,
        display_name: field(obj, "display_name")?,
        strategy,
        options,
        enabled_clients,
        realms: field(obj, "realms")?.unwrap_or_else(|| vec![name.clone()]),
        is_domain_connection: field(obj, "is_domain_connection")?.unwrap_or(false),
        name,
    };
    crate::console_app::guard_connection(&connection)?;
    match s.store.insert_connection(s.tid(), &connection).await {
        Err(tern_core::CoreError::Conflict { .. }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "connection_conflict",
            "A connection with the same name already exists",
        )),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(masked(connection)),
    }
}

/// Apply a `PATCH /connections/{id}` body (`options` replaces the whole
/// options object, as Auth0); the updated connection, masked.
pub async fn update(
    s: &AppState,
    changer: Changer<'_>,
    id: &str,
    body: &Value,
) -> Result<Connection, ApiError> {
    let obj = object_with(body, UPDATE_FIELDS)?;
    let mut c = s
        .store
        .get_connection(s.tid(), id)
        .await?
        .ok_or_else(not_found)?;
    changer.may_change_connection(&c)?;
    if let Some(mut options) = field::<Map<String, Value>>(obj, "options")? {
        validate_options(&options)?;
        seal(s, &c.id, &mut options, Some(&c.options))?;
        let was = c.custom_database();
        let will = options
            .get("enabledDatabaseCustomization")
            .and_then(Value::as_bool)
            == Some(true);
        if was != will && s.store.count_connection_users(s.tid(), &c.id).await? > 0 {
            return Err(ApiError::invalid_body(
                "This database contains users. You cannot change \"options.enabledDatabaseCustomization\" setting.",
            ));
        }
        c.options = options;
    }
    if let Some(clients) = field::<Vec<String>>(obj, "enabled_clients")? {
        c.enabled_clients = check_clients(s, clients).await?;
    }
    if obj.contains_key("display_name") {
        c.display_name = field(obj, "display_name")?;
    }
    if let Some(r) = field(obj, "realms")? {
        c.realms = r;
    }
    if let Some(d) = field(obj, "is_domain_connection")? {
        c.is_domain_connection = d;
    }
    crate::console_app::guard_connection(&c)?;
    s.store.update_connection(s.tid(), &c).await?;
    Ok(masked(c))
}

/// `DELETE /connections/{id}`: the connection and its users, in one
/// transaction; `false` when there was no such connection. The operators'
/// connection is refused.
pub async fn delete(s: &AppState, id: &str) -> Result<bool, ApiError> {
    let Some(c) = s.store.get_connection(s.tid(), id).await? else {
        return Ok(false);
    };
    crate::console_app::guard_connection_delete(&c)?;
    Ok(s.store.delete_connection(s.tid(), &c.id).await?)
}
