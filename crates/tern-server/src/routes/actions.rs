//! `/api/v2/actions/*`: post-login actions, their deploys and the trigger's
//! bindings (`manage::actions` does the work).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tern_core::actions::POST_LOGIN;

use crate::auth::Caller;
use crate::body::{JsonBody, QueryMap};
use crate::error::ApiError;
use crate::manage;
use crate::manage::actions::{action_json, bindings_json, check_trigger, not_found, version_json};
use crate::state::AppState;

/// `page` and `per_page` (Auth0's default 20, at most 100).
fn paging(q: &QueryMap) -> Result<(u64, u64), ApiError> {
    Ok((
        q.int("page", 0, u64::from(u32::MAX))?.unwrap_or(0),
        q.int("per_page", 0, 100)?.unwrap_or(20),
    ))
}

fn page_of(items: Vec<Value>, page: u64, per_page: u64, key: &str) -> Value {
    let total = items.len();
    let start = usize::try_from(page.saturating_mul(per_page)).unwrap_or(usize::MAX);
    let shown: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(usize::try_from(per_page).unwrap_or(usize::MAX))
        .collect();
    json!({ "total": total, "page": page, "per_page": per_page, key: shown })
}

/// `GET /actions/actions`.
#[utoipa::path(
    get,
    path = "/actions/actions",
    operation_id = "get_actions",
    tag = "actions",
    summary = "List actions",
    params(crate::openapi::ActionListParams),
    responses(
        (status = 200, description = "The actions, by name.", body = crate::openapi::ActionList),
        (status = 400, description = "Invalid query parameters (`invalid_query_string`), or a trigger other than `post-login` (`invalid_trigger`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:actions"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:actions"])?;
    let (page, per_page) = paging(&q)?;
    if let Some(t) = q.str("triggerId") {
        check_trigger(t)?;
    }
    let name = q.str("actionName");
    let deployed = q.bool("deployed")?;
    let installed = q.bool("installed")?;
    let items: Vec<Value> = s
        .store
        .list_actions(s.tid())
        .await?
        .iter()
        // Tern has no marketplace (installed) actions.
        .filter(|_| installed != Some(true))
        .filter(|a| name.is_none_or(|n| a.name == n))
        .filter(|a| deployed.is_none_or(|d| a.deployed.is_some() == d))
        .map(action_json)
        .collect();
    Ok(Json(page_of(items, page, per_page, "actions")))
}

/// `POST /actions/actions`.
#[utoipa::path(
    post,
    path = "/actions/actions",
    operation_id = "post_action",
    tag = "actions",
    summary = "Create an action",
    request_body(content = crate::openapi::ActionCreate, content_type = "application/json"),
    responses(
        (status = 201, description = "The action.", body = crate::openapi::Action),
        (status = 400, description = "Invalid body (`invalid_body`), or a trigger other than `post-login` (`invalid_trigger`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "An action with this name exists.", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:actions"])),
)]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    caller.require(&["create:actions"])?;
    let action = manage::actions::create(&s, &body).await?;
    Ok((StatusCode::CREATED, Json(action_json(&action))).into_response())
}

/// `GET /actions/actions/{id}`.
#[utoipa::path(
    get,
    path = "/actions/actions/{id}",
    operation_id = "get_action",
    tag = "actions",
    summary = "Get an action",
    params(("id" = String, Path, description = "The action's id.")),
    responses(
        (status = 200, description = "The action (secrets by name only).", body = crate::openapi::Action),
        (status = 404, description = "No such action.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:actions"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:actions"])?;
    let action = s
        .store
        .get_action(s.tid(), &id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(action_json(&action)))
}

/// `PATCH /actions/actions/{id}`.
#[utoipa::path(
    patch,
    path = "/actions/actions/{id}",
    operation_id = "patch_action",
    tag = "actions",
    summary = "Update an action's draft",
    params(("id" = String, Path, description = "The action's id.")),
    request_body(content = crate::openapi::ActionUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "The action; what runs changes only at the next deploy.", body = crate::openapi::Action),
        (status = 400, description = "Invalid body (`invalid_body`), or a trigger other than `post-login` (`invalid_trigger`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such action.", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "An action with this name exists.", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:actions"])),
)]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["update:actions"])?;
    let action = manage::actions::update(&s, &id, &body).await?;
    Ok(Json(action_json(&action)))
}

/// `DELETE /actions/actions/{id}`.
#[utoipa::path(
    delete,
    path = "/actions/actions/{id}",
    operation_id = "delete_action",
    tag = "actions",
    summary = "Delete an action",
    params(("id" = String, Path, description = "The action's id."), crate::openapi::ActionDeleteParams),
    responses(
        (status = 204, description = "Deleted (and unbound, with `force=true`)."),
        (status = 400, description = "The action is bound and `force` is not true, or invalid query parameters.", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such action.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:actions"])),
)]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:actions"])?;
    let force = q.bool("force")?.unwrap_or(false);
    manage::actions::delete(&s, &id, force).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /actions/actions/{id}/deploy`.
#[utoipa::path(
    post,
    path = "/actions/actions/{id}/deploy",
    operation_id = "deploy_action",
    tag = "actions",
    summary = "Deploy an action",
    params(("id" = String, Path, description = "The action's id.")),
    responses(
        (status = 202, description = "The new version: the draft as it is now, what logins run from now on.", body = crate::openapi::ActionVersion),
        (status = 404, description = "No such action.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:actions"])),
)]
pub async fn deploy(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(&["create:actions"])?;
    let action = manage::actions::deploy(&s, &id).await?;
    let version = action
        .deployed
        .as_ref()
        .map(|d| version_json(&action, d))
        .ok_or_else(ApiError::internal)?;
    Ok((StatusCode::ACCEPTED, Json(version)).into_response())
}

/// `GET /actions/triggers/{triggerId}/bindings`.
#[utoipa::path(
    get,
    path = "/actions/triggers/{triggerId}/bindings",
    operation_id = "get_bindings",
    tag = "actions",
    summary = "List a trigger's bindings",
    params(("triggerId" = String, Path, description = "The trigger: `post-login`."), crate::openapi::BindingListParams),
    responses(
        (status = 200, description = "The bindings in execution order.", body = crate::openapi::ActionBindingList),
        (status = 400, description = "A trigger other than `post-login` (`invalid_trigger`), or invalid query parameters.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:actions"])),
)]
pub async fn bindings(
    State(s): State<AppState>,
    caller: Caller,
    Path(trigger): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:actions"])?;
    check_trigger(&trigger)?;
    let (page, per_page) = paging(&q)?;
    let list = s.store.get_action_bindings(s.tid(), POST_LOGIN).await?;
    let items = bindings_json(&s, &list).await?;
    Ok(Json(page_of(items, page, per_page, "bindings")))
}

/// `PATCH /actions/triggers/{triggerId}/bindings`.
#[utoipa::path(
    patch,
    path = "/actions/triggers/{triggerId}/bindings",
    operation_id = "patch_bindings",
    tag = "actions",
    summary = "Replace a trigger's bindings",
    params(("triggerId" = String, Path, description = "The trigger: `post-login`.")),
    request_body(content = crate::openapi::ActionBindingsUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "The bindings in execution order.", body = crate::openapi::ActionBindingsUpdated),
        (status = 400, description = "Invalid body, an unknown or undeployed action, or a trigger other than `post-login` (`invalid_trigger`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:actions"])),
)]
pub async fn update_bindings(
    State(s): State<AppState>,
    caller: Caller,
    Path(trigger): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["update:actions"])?;
    let list = manage::actions::update_bindings(&s, &trigger, &body).await?;
    Ok(Json(json!({ "bindings": bindings_json(&s, &list).await? })))
}
