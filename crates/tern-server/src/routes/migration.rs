//! Migration visibility, Tern extensions under `/api/v2/connections/{id}`:
//! `GET …/migration` (how the connection's users arrived, who still waits
//! for a credential, credentials per hash scheme) and
//! `POST …/scripts/{name}/try` (run a custom-database script with given
//! inputs and see its result and console: the dashboard's "try" button).

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use tern_core::model::Connection;

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::manage;
use crate::state::AppState;

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
    Ok(Json(manage::script_try::run(&s, &id, &name, &body).await?))
}
