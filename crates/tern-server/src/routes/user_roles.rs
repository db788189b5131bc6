//! `/api/v2/users/{id}/roles` and `/api/v2/users/{id}/permissions`: the
//! roles a user holds and the permissions they hold, directly or through
//! those roles (Auth0's RBAC). See `manage::roles`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use crate::auth::Caller;
use crate::body::{JsonOrFormBody, Paging, QueryMap};
use crate::console_app::Changer;
use crate::error::ApiError;
use crate::manage::roles::{self as service, Change};
use crate::state::AppState;
use crate::user_admin::known_user;

/// `GET /users/{id}/roles`.
#[utoipa::path(
    get,
    path = "/users/{id}/roles",
    operation_id = "get_user_roles",
    tag = "roles",
    summary = "List a user's roles",
    params(("id" = String, Path, description = "The user_id."), crate::openapi::PagingParams),
    responses(
        (status = 200, description = "The user's roles, by name.", body = crate::openapi::RoleList),
        (status = 400, description = "Invalid query parameters (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:users"]), ("bearerAuth" = ["read:roles"]), ("bearerAuth" = ["read:role_members"])),
)]
pub async fn roles(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:users", "read:roles", "read:role_members"])?;
    let paging = Paging::from_query(&q, 100)?;
    let user = known_user(&s, &id).await?;
    let roles = s.store.list_user_roles(s.tid(), &user.user_id).await?;
    Ok(Json(paging.apply(roles, "roles")))
}

/// `POST /users/{id}/roles` (204, as Auth0's).
#[utoipa::path(
    post,
    path = "/users/{id}/roles",
    operation_id = "post_user_roles",
    tag = "roles",
    summary = "Give a user roles",
    params(("id" = String, Path, description = "The user_id.")),
    request_body(content(
        (crate::openapi::RoleIdsBody = "application/json"),
        (crate::openapi::RoleIdsBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 204, description = "Given (roles held already are kept once)."),
        (status = 400, description = "Invalid body (`invalid_body`), e.g. a role that does not exist.", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:users"]), ("bearerAuth" = ["create:role_members"])),
)]
pub async fn add_roles(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonOrFormBody(body): JsonOrFormBody,
) -> Result<StatusCode, ApiError> {
    caller.require(&["update:users", "create:role_members"])?;
    service::change_user_roles(&s, &id, &body, Changer::Api(&caller), Change::Give).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/{id}/roles` (204, as Auth0's).
#[utoipa::path(
    delete,
    path = "/users/{id}/roles",
    operation_id = "delete_user_roles",
    tag = "roles",
    summary = "Take roles from a user",
    params(("id" = String, Path, description = "The user_id.")),
    request_body(content(
        (crate::openapi::RoleIdsBody = "application/json"),
        (crate::openapi::RoleIdsBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 204, description = "Taken (roles the user did not hold are ignored)."),
        (status = 400, description = "Invalid body (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:users"]), ("bearerAuth" = ["delete:role_members"])),
)]
pub async fn remove_roles(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    // A body without a DELETE is refused after the scope check, not before.
    body: Result<JsonOrFormBody, ApiError>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["update:users", "delete:role_members"])?;
    let JsonOrFormBody(body) = body?;
    service::change_user_roles(&s, &id, &body, Changer::Api(&caller), Change::Take).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/{id}/permissions`: direct and role-given, each once with
/// its `sources`.
#[utoipa::path(
    get,
    path = "/users/{id}/permissions",
    operation_id = "get_permissions",
    tag = "roles",
    summary = "List a user's permissions",
    params(("id" = String, Path, description = "The user_id."), crate::openapi::PagingParams),
    responses(
        (status = 200, description = "The user's permissions, by API and name, each with the ways it is held.", body = crate::openapi::UserPermissionList),
        (status = 400, description = "Invalid query parameters (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:users"])),
)]
pub async fn permissions(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:users"])?;
    let paging = Paging::from_query(&q, 100)?;
    let user = known_user(&s, &id).await?;
    let held = s
        .store
        .list_user_permissions(s.tid(), &user.user_id)
        .await?;
    let views = service::user_permission_views(&s, held).await?;
    Ok(Json(paging.apply(views, "permissions")))
}

/// `POST /users/{id}/permissions` (201, as Auth0's).
#[utoipa::path(
    post,
    path = "/users/{id}/permissions",
    operation_id = "post_permissions",
    tag = "roles",
    summary = "Give a user permissions directly",
    params(("id" = String, Path, description = "The user_id.")),
    request_body(content(
        (crate::openapi::PermissionsBody = "application/json"),
        (crate::openapi::PermissionsBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "Given (those held directly already are kept once)."),
        (status = 400, description = "Invalid body (`invalid_body`): an unknown API, or a permission the API does not define.", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:users"])),
)]
pub async fn add_permissions(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonOrFormBody(body): JsonOrFormBody,
) -> Result<StatusCode, ApiError> {
    caller.require(&["update:users"])?;
    service::change_user_permissions(&s, &id, &body, Changer::Api(&caller), Change::Give).await?;
    Ok(StatusCode::CREATED)
}

/// `DELETE /users/{id}/permissions` (204, as Auth0's).
#[utoipa::path(
    delete,
    path = "/users/{id}/permissions",
    operation_id = "delete_permissions",
    tag = "roles",
    summary = "Take a user's direct permissions",
    params(("id" = String, Path, description = "The user_id.")),
    request_body(content(
        (crate::openapi::PermissionsBody = "application/json"),
        (crate::openapi::PermissionsBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 204, description = "Taken (those not held directly are ignored; roles are unchanged)."),
        (status = 400, description = "Invalid body (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:users"])),
)]
pub async fn remove_permissions(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    // A body without a DELETE is refused after the scope check, not before.
    body: Result<JsonOrFormBody, ApiError>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["update:users"])?;
    let JsonOrFormBody(body) = body?;
    service::change_user_permissions(&s, &id, &body, Changer::Api(&caller), Change::Take).await?;
    Ok(StatusCode::NO_CONTENT)
}
