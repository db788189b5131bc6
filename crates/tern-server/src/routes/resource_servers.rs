//! `/api/v2/resource-servers`: APIs tokens are minted for.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tern_core::model::ResourceServer;

use crate::auth::Caller;
use crate::body::{JsonBody, Paging, QueryMap};
use crate::error::ApiError;
use crate::manage;
use crate::manage::resource_servers::not_found;
use crate::state::AppState;

/// `POST /resource-servers`.
#[utoipa::path(
    post,
    path = "/resource-servers",
    operation_id = "create_resource_server",
    tag = "resource-servers",
    summary = "Create a resource server",
    request_body(content = crate::openapi::ResourceServerCreate, content_type = "application/json"),
    responses(
        (status = 201, description = "The API.", body = crate::openapi::ResourceServer),
        (status = 400, description = "Invalid body (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "An API with this identifier exists.", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:resource_servers"])),
)]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    caller.require(&["create:resource_servers"])?;
    let rs = manage::resource_servers::create(&s, &body).await?;
    Ok((StatusCode::CREATED, Json(rs)).into_response())
}

/// `GET /resource-servers`.
#[utoipa::path(
    get,
    path = "/resource-servers",
    operation_id = "get_resource_servers",
    tag = "resource-servers",
    summary = "List resource servers",
    params(crate::openapi::PagingParams),
    responses(
        (status = 200, description = "The APIs.", body = crate::openapi::ResourceServerList),
        (status = 400, description = "Invalid query parameters (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:resource_servers"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:resource_servers"])?;
    let paging = Paging::from_query(&q, 100)?;
    Ok(Json(paging.apply(
        s.store.list_resource_servers(s.tid()).await?,
        "resource_servers",
    )))
}

/// `GET /resource-servers/{id}` (id or identifier, as Auth0).
#[utoipa::path(
    get,
    path = "/resource-servers/{id}",
    operation_id = "get_resource_server",
    tag = "resource-servers",
    summary = "Get a resource server",
    params(("id" = String, Path, description = "The id or the identifier (audience).")),
    responses(
        (status = 200, description = "The API.", body = crate::openapi::ResourceServer),
        (status = 404, description = "No such API (`inexistent_resource_server`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:resource_servers"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ResourceServer>, ApiError> {
    caller.require(&["read:resource_servers"])?;
    s.store
        .get_resource_server(s.tid(), &id)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

/// `PATCH /resource-servers/{id}`.
#[utoipa::path(
    patch,
    path = "/resource-servers/{id}",
    operation_id = "update_resource_server",
    tag = "resource-servers",
    summary = "Update a resource server",
    params(("id" = String, Path, description = "The id or the identifier (audience).")),
    request_body(content = crate::openapi::ResourceServerUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated API.", body = crate::openapi::ResourceServer),
        (status = 400, description = "Invalid body (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 403, description = "The Management API cannot be modified (`operation_not_supported`), or insufficient scope.", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such API (`inexistent_resource_server`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:resource_servers"])),
)]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<ResourceServer>, ApiError> {
    caller.require(&["update:resource_servers"])?;
    Ok(Json(
        manage::resource_servers::update(&s, &id, &body).await?,
    ))
}

/// `DELETE /resource-servers/{id}`.
#[utoipa::path(
    delete,
    path = "/resource-servers/{id}",
    operation_id = "delete_resource_server",
    tag = "resource-servers",
    summary = "Delete a resource server",
    params(("id" = String, Path, description = "The id or the identifier (audience).")),
    responses(
        (status = 204, description = "Deleted with the client grants for its audience, or there was no such API."),
        (status = 403, description = "The Management API cannot be deleted (`operation_not_supported`), or insufficient scope.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:resource_servers"])),
)]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:resource_servers"])?;
    manage::resource_servers::delete(&s, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
