//! `/api/v2/connections`: database connections. `options.configuration`
//! values are sealed before they are stored and masked in every answer
//! (`secrets`); sending the mask back keeps a value.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tern_core::ids;
use tern_core::model::{Connection, JsonObject};

use super::{field, object_with, require_keys};
use crate::auth::Caller;
use crate::body::{JsonBody, Paging, QueryMap};
use crate::error::ApiError;
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

fn not_found() -> ApiError {
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
    if let Some(cfg) = o.get("configuration")
        && !cfg
            .as_object()
            .is_some_and(|m| m.values().all(Value::is_string))
    {
        return bad("'options.configuration' must be an object of string values.".into());
    }
    crate::connectors::validate(o).or_else(bad)?;
    Ok(())
}

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
fn masked(mut c: Connection) -> Connection {
    crate::secrets::mask(&mut c);
    c
}

async fn check_clients(s: &AppState, ids: &[String]) -> Result<(), ApiError> {
    for id in ids {
        if s.store.get_client(s.tid(), id).await?.is_none() {
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: enabled_clients: no client with id '{id}'."
            )));
        }
    }
    Ok(())
}

/// `POST /connections`.
#[utoipa::path(
    post,
    path = "/connections",
    operation_id = "create_connection",
    tag = "connections",
    summary = "Create a connection",
    request_body(content = crate::openapi::ConnectionCreate, content_type = "application/json"),
    responses(
        (status = 201, description = "The connection.", body = crate::openapi::Connection),
        (status = 400, description = "Invalid body (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "A connection with this name exists (`connection_conflict`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:connections"])),
)]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    caller.require(&["create:connections"])?;
    let obj = object_with(&body, CREATE_FIELDS)?;
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
    check_clients(&s, &enabled_clients).await?;
    let id = ids::connection_id();
    seal(&s, &id, &mut options, None)?;
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
    match s.store.insert_connection(s.tid(), &connection).await {
        Err(tern_core::CoreError::Conflict { .. }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "connection_conflict",
            "A connection with the same name already exists",
        )),
        Err(e) => Err(e.into()),
        Ok(()) => Ok((StatusCode::CREATED, Json(masked(connection))).into_response()),
    }
}

/// `GET /connections` (filters `strategy`, `name`; `fields`).
#[utoipa::path(
    get,
    path = "/connections",
    operation_id = "get_connections",
    tag = "connections",
    summary = "List connections",
    params(crate::openapi::PagingParams, crate::openapi::FieldsParams, crate::openapi::ConnectionFilter),
    responses(
        (status = 200, description = "The connections.", body = crate::openapi::ConnectionList),
        (status = 400, description = "Invalid query parameters (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:connections"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:connections"])?;
    let paging = Paging::from_query(&q, 100)?;
    let (fields, include) = q.fields()?;
    let mut all = s.store.list_connections(s.tid()).await?;
    if let Some(st) = q.str("strategy") {
        all.retain(|c| c.strategy == st);
    }
    if let Some(n) = q.str("name") {
        all.retain(|c| c.name == n);
    }
    let items: Vec<Value> = all
        .iter()
        .map(|c| {
            tern_core::user_profile::project_fields(json!(masked(c.clone())), &fields, include)
        })
        .collect();
    Ok(Json(paging.apply(items, "connections")))
}

/// `GET /connections/{id}`.
#[utoipa::path(
    get,
    path = "/connections/{id}",
    operation_id = "get_connection",
    tag = "connections",
    summary = "Get a connection",
    params(("id" = String, Path, description = "The connection id."), crate::openapi::FieldsParams),
    responses(
        (status = 200, description = "The connection.", body = crate::openapi::Connection),
        (status = 400, description = "Invalid query parameters (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such connection (`inexistent_connection`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:connections"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:connections"])?;
    let (fields, include) = q.fields()?;
    let c = s
        .store
        .get_connection(s.tid(), &id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(tern_core::user_profile::project_fields(
        json!(masked(c)),
        &fields,
        include,
    )))
}

/// `PATCH /connections/{id}`. `options` replaces the whole options object, as Auth0.
#[utoipa::path(
    patch,
    path = "/connections/{id}",
    operation_id = "update_connection",
    tag = "connections",
    summary = "Update a connection",
    params(("id" = String, Path, description = "The connection id.")),
    request_body(content = crate::openapi::ConnectionUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated connection.", body = crate::openapi::Connection),
        (status = 400, description = "Invalid body (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such connection (`inexistent_connection`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:connections"])),
)]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Connection>, ApiError> {
    caller.require(&["update:connections"])?;
    let obj = object_with(&body, UPDATE_FIELDS)?;
    let mut c = s
        .store
        .get_connection(s.tid(), &id)
        .await?
        .ok_or_else(not_found)?;
    if let Some(mut options) = field::<Map<String, Value>>(obj, "options")? {
        validate_options(&options)?;
        seal(&s, &c.id, &mut options, Some(&c.options))?;
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
        check_clients(&s, &clients).await?;
        c.enabled_clients = clients;
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
    s.store.update_connection(s.tid(), &c).await?;
    Ok(Json(masked(c)))
}

/// `DELETE /connections/{id}`: 202 when it existed (its users go with it), 204 when not.
#[utoipa::path(
    delete,
    path = "/connections/{id}",
    operation_id = "delete_connection",
    tag = "connections",
    summary = "Delete a connection",
    params(("id" = String, Path, description = "The connection id.")),
    responses(
        (status = 202, description = "Deleted, with its users."),
        (status = 204, description = "There was no such connection."),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:connections"])),
)]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:connections"])?;
    Ok(if s.store.delete_connection(s.tid(), &id).await? {
        StatusCode::ACCEPTED
    } else {
        StatusCode::NO_CONTENT
    })
}
