//! `/api/v2/user-blocks`: brute-force protection's blocks, by user or by
//! identifier (Auth0's `userBlocks`). These are not the `blocked` flag an
//! administrator sets on a user: that one stays. Lifting an operator's
//! blocks needs every Management API scope (`console_app::guard_user_change`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tern_core::attack_protection::LoginBlock;
use tern_core::store::BlocksOf;

use crate::auth::Caller;
use crate::body::QueryMap;
use crate::brute_force;
use crate::console_app;
use crate::error::ApiError;
use crate::state::AppState;
use crate::user_admin::known_user;

/// `?consider_brute_force_enablement=true` with blocking off: nothing is
/// reported as blocked.
async fn reported(
    s: &AppState,
    q: &QueryMap,
    blocks: Vec<LoginBlock>,
) -> Result<Json<Value>, ApiError> {
    let consider = q.bool("consider_brute_force_enablement")?.unwrap_or(false);
    let blocks = if consider && !brute_force::settings(s).await?.blocks() {
        Vec::new()
    } else {
        blocks
    };
    Ok(Json(json!({ "blocked_for": blocks })))
}

fn identifier(q: &QueryMap) -> Result<String, ApiError> {
    q.str("identifier")
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::invalid_query(
                "Query validation error: 'Missing required property: identifier'.",
            )
        })
}

/// `GET /user-blocks/{id}`.
#[utoipa::path(
    get,
    path = "/user-blocks/{id}",
    operation_id = "get_user-blocks_by_id",
    tag = "user-blocks",
    summary = "Get a user's brute-force blocks",
    params(("id" = String, Path, description = "The user_id."), crate::openapi::BlockEnablementParam),
    responses(
        (status = 200, description = "The blocks in force: identifier, IP (absent when counted per identifier) and connection.", body = crate::openapi::UserBlocks),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:users"])),
)]
pub async fn get_by_user(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:users"])?;
    known_user(&s, &id).await?;
    let blocks = brute_force::blocks(&s, BlocksOf::User(&id)).await?;
    reported(&s, &q, blocks).await
}

/// `DELETE /user-blocks/{id}`.
#[utoipa::path(
    delete,
    path = "/user-blocks/{id}",
    operation_id = "delete_user-blocks_by_id",
    tag = "user-blocks",
    summary = "Lift a user's brute-force blocks",
    params(("id" = String, Path, description = "The user_id.")),
    responses(
        (status = 204, description = "Unblocked (the failures counted so far are forgotten too)."),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:users"])),
)]
pub async fn delete_by_user(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["update:users"])?;
    let user = known_user(&s, &id).await?;
    console_app::guard_user_change(&caller, &user.connection_name)?;
    brute_force::lift(&s, BlocksOf::User(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /user-blocks?identifier=`.
#[utoipa::path(
    get,
    path = "/user-blocks",
    operation_id = "get_user-blocks",
    tag = "user-blocks",
    summary = "Get the brute-force blocks of an identifier",
    params(crate::openapi::IdentifierParam, crate::openapi::BlockEnablementParam),
    responses(
        (status = 200, description = "The blocks in force of every user with this email or username.", body = crate::openapi::UserBlocks),
        (status = 400, description = "No `identifier` (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:users"])),
)]
pub async fn get_by_identifier(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:users"])?;
    let identifier = identifier(&q)?;
    let blocks = brute_force::blocks_of_identifier(&s, &identifier).await?;
    reported(&s, &q, blocks).await
}

/// `DELETE /user-blocks?identifier=`.
#[utoipa::path(
    delete,
    path = "/user-blocks",
    operation_id = "delete_user-blocks",
    tag = "user-blocks",
    summary = "Lift the brute-force blocks of an identifier",
    params(crate::openapi::IdentifierParam),
    responses(
        (status = 204, description = "Unblocked."),
        (status = 400, description = "No `identifier` (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:users"])),
)]
pub async fn delete_by_identifier(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<StatusCode, ApiError> {
    caller.require(&["update:users"])?;
    let identifier = identifier(&q)?;
    for connection in brute_force::connections_named(&s, &identifier).await? {
        console_app::guard_user_change(&caller, &connection)?;
    }
    brute_force::lift_identifier(&s, &identifier).await?;
    Ok(StatusCode::NO_CONTENT)
}
