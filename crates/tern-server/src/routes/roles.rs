//! `/api/v2/roles…`: roles, the permissions they give and their users
//! (Auth0's RBAC). See `manage::roles`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tern_core::roles::{Role, RoleMember};

use crate::auth::Caller;
use crate::body::{JsonOrFormBody, Paging, QueryMap};
use crate::console_app::Changer;
use crate::cursor::{self, List};
use crate::error::ApiError;
use crate::manage::roles::{self as service, Change, known_role};
use crate::state::AppState;

const READ: &str = "read:roles";
const CREATE: &str = "create:roles";
const UPDATE: &str = "update:roles";
const DELETE: &str = "delete:roles";

/// `GET /roles`.
#[utoipa::path(
    get,
    path = "/roles",
    operation_id = "get_roles",
    tag = "roles",
    summary = "List roles",
    params(crate::openapi::PagingParams, crate::openapi::RoleFilter),
    responses(
        (status = 200, description = "The roles, by name.", body = crate::openapi::RoleList),
        (status = 400, description = "Invalid query parameters (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:roles"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[READ])?;
    let paging = Paging::from_query(&q, 100)?;
    let roles = s.store.list_roles(s.tid(), q.str("name_filter")).await?;
    Ok(Json(paging.apply(roles, "roles")))
}

/// `POST /roles` (200, as Auth0's).
#[utoipa::path(
    post,
    path = "/roles",
    operation_id = "post_roles",
    tag = "roles",
    summary = "Create a role",
    request_body(content(
        (crate::openapi::RoleCreate = "application/json"),
        (crate::openapi::RoleCreate = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The role.", body = crate::openapi::RoleView),
        (status = 400, description = "Invalid body (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "A role with this name exists.", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:roles"])),
)]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    JsonOrFormBody(body): JsonOrFormBody,
) -> Result<Json<Role>, ApiError> {
    caller.require(&[CREATE])?;
    Ok(Json(service::create(&s, &body).await?))
}

/// `GET /roles/{id}`.
#[utoipa::path(
    get,
    path = "/roles/{id}",
    operation_id = "get_roles_by_id",
    tag = "roles",
    summary = "Get a role",
    params(("id" = String, Path, description = "The role's id.")),
    responses(
        (status = 200, description = "The role.", body = crate::openapi::RoleView),
        (status = 404, description = "No such role (`inexistent_role`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:roles"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Role>, ApiError> {
    caller.require(&[READ])?;
    Ok(Json(known_role(&s, &id).await?))
}

/// `PATCH /roles/{id}`.
#[utoipa::path(
    patch,
    path = "/roles/{id}",
    operation_id = "patch_roles_by_id",
    tag = "roles",
    summary = "Update a role",
    params(("id" = String, Path, description = "The role's id.")),
    request_body(content(
        (crate::openapi::RoleUpdate = "application/json"),
        (crate::openapi::RoleUpdate = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The updated role.", body = crate::openapi::RoleView),
        (status = 400, description = "Invalid body (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such role (`inexistent_role`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "Another role has this name.", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:roles"])),
)]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonOrFormBody(body): JsonOrFormBody,
) -> Result<Json<Role>, ApiError> {
    caller.require(&[UPDATE])?;
    Ok(Json(service::update(&s, &id, &body).await?))
}

/// `DELETE /roles/{id}`: with its permissions and its users' assignments.
#[utoipa::path(
    delete,
    path = "/roles/{id}",
    operation_id = "delete_roles_by_id",
    tag = "roles",
    summary = "Delete a role",
    params(("id" = String, Path, description = "The role's id.")),
    responses(
        (status = 200, description = "Deleted, with its permissions and its users' assignments."),
        (status = 404, description = "No such role (`inexistent_role`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:roles"])),
)]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[DELETE])?;
    service::delete(&s, &id).await?;
    Ok(StatusCode::OK)
}

/// `GET /roles/{id}/permissions`.
#[utoipa::path(
    get,
    path = "/roles/{id}/permissions",
    operation_id = "get_role_permission",
    tag = "roles",
    summary = "List a role's permissions",
    params(("id" = String, Path, description = "The role's id."), crate::openapi::PagingParams),
    responses(
        (status = 200, description = "The permissions, by API and name.", body = crate::openapi::PermissionList),
        (status = 400, description = "Invalid query parameters (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such role (`inexistent_role`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:roles"])),
)]
pub async fn permissions(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[READ])?;
    let paging = Paging::from_query(&q, 100)?;
    let role = known_role(&s, &id).await?;
    let held = s.store.list_role_permissions(s.tid(), &role.id).await?;
    let views = service::permission_views(&s, &held).await?;
    Ok(Json(paging.apply(views, "permissions")))
}

/// `POST /roles/{id}/permissions` (201, as Auth0's).
#[utoipa::path(
    post,
    path = "/roles/{id}/permissions",
    operation_id = "post_role_permission_assignment",
    tag = "roles",
    summary = "Give a role permissions",
    params(("id" = String, Path, description = "The role's id.")),
    request_body(content(
        (crate::openapi::PermissionsBody = "application/json"),
        (crate::openapi::PermissionsBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "Given (those it had already are kept once)."),
        (status = 400, description = "Invalid body (`invalid_body`): an unknown API, or a permission the API does not define.", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such role (`inexistent_role`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:roles"])),
)]
pub async fn add_permissions(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonOrFormBody(body): JsonOrFormBody,
) -> Result<StatusCode, ApiError> {
    caller.require(&[UPDATE])?;
    service::change_role_permissions(&s, &id, &body, Change::Give).await?;
    Ok(StatusCode::CREATED)
}

/// `DELETE /roles/{id}/permissions` (200, as Auth0's).
#[utoipa::path(
    delete,
    path = "/roles/{id}/permissions",
    operation_id = "delete_role_permission_assignment",
    tag = "roles",
    summary = "Take permissions from a role",
    params(("id" = String, Path, description = "The role's id.")),
    request_body(content(
        (crate::openapi::PermissionsBody = "application/json"),
        (crate::openapi::PermissionsBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Taken (those it did not have are ignored)."),
        (status = 400, description = "Invalid body (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such role (`inexistent_role`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:roles"])),
)]
pub async fn remove_permissions(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    // A body without a DELETE is refused after the scope check, not before.
    body: Result<JsonOrFormBody, ApiError>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[UPDATE])?;
    let JsonOrFormBody(body) = body?;
    service::change_role_permissions(&s, &id, &body, Change::Take).await?;
    Ok(StatusCode::OK)
}

fn member_view(m: RoleMember) -> Value {
    let mut v = json!({"user_id": m.user_id});
    for (k, val) in [("email", m.email), ("name", m.name), ("picture", m.picture)] {
        if let Some(val) = val {
            v[k] = json!(val);
        }
    }
    v
}

/// `GET /roles/{id}/users`: offset paging, or checkpoint paging when
/// `from` or `take` is given.
#[utoipa::path(
    get,
    path = "/roles/{id}/users",
    operation_id = "get_role_user",
    tag = "roles",
    summary = "List a role's users",
    params(
        ("id" = String, Path, description = "The role's id."),
        crate::openapi::PagingParams,
        crate::openapi::RoleMemberCheckpointParams,
    ),
    responses(
        (status = 200, description = "The role's users, by user id.", body = crate::openapi::RoleMembers),
        (status = 400, description = "Invalid query parameters, or `from` not a `next` of this list (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such role (`inexistent_role`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:users"]), ("bearerAuth" = ["read:roles"]), ("bearerAuth" = ["read:role_members"])),
)]
pub async fn users(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:users", READ, "read:role_members"])?;
    let checkpoint = q.str("from").is_some() || q.str("take").is_some();
    if checkpoint {
        let take = q.int("take", 1, 100)?.unwrap_or(50);
        q.bool("include_totals")?;
        let from = cursor::from_query(&s, List::RoleMembers, q.str("from"))?;
        let role = known_role(&s, &id).await?;
        let page = s
            .store
            .list_role_members(s.tid(), &role.id, from.as_deref(), 0, take)
            .await?;
        let next = (page.len() as u64 == take)
            .then(|| page.last().map(|m| m.user_id.clone()))
            .flatten();
        let mut body = json!({"users": page.into_iter().map(member_view).collect::<Vec<_>>()});
        if let Some(next) = next {
            body["next"] = json!(cursor::encode(&s, List::RoleMembers, &next)?);
        }
        return Ok(Json(body));
    }
    let paging = Paging::from_query(&q, 100)?;
    let role = known_role(&s, &id).await?;
    let page = s
        .store
        .list_role_members(
            s.tid(),
            &role.id,
            None,
            paging.page.saturating_mul(paging.per_page),
            paging.per_page,
        )
        .await?;
    let total = if paging.include_totals {
        s.store.count_role_members(s.tid(), &role.id).await?
    } else {
        0
    };
    let page = page.into_iter().map(member_view).collect();
    Ok(Json(paging.wrap(page, total, "users")))
}

/// `POST /roles/{id}/users` (200, as Auth0's).
#[utoipa::path(
    post,
    path = "/roles/{id}/users",
    operation_id = "post_role_users",
    tag = "roles",
    summary = "Give users a role",
    params(("id" = String, Path, description = "The role's id.")),
    request_body(content(
        (crate::openapi::UserIdsBody = "application/json"),
        (crate::openapi::UserIdsBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Given (users holding it already keep it once)."),
        (status = 400, description = "Invalid body (`invalid_body`), e.g. a user that does not exist.", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such role (`inexistent_role`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:roles"]), ("bearerAuth" = ["create:role_members"])),
)]
pub async fn add_users(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonOrFormBody(body): JsonOrFormBody,
) -> Result<StatusCode, ApiError> {
    caller.require(&[UPDATE, "create:role_members"])?;
    service::add_members(&s, &id, &body, Changer::Api(&caller)).await?;
    Ok(StatusCode::OK)
}
