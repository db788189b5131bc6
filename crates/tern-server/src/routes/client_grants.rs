//! `/api/v2/client-grants`: which client may get which scopes of which API.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tern_core::model::ClientGrant;

use crate::auth::Caller;
use crate::body::{JsonBody, Paging, QueryMap};
use crate::error::ApiError;
use crate::manage;
use crate::manage::client_grants::not_found;
use crate::state::AppState;

/// `POST /client-grants`.
#[utoipa::path(
    post,
    path = "/client-grants",
    operation_id = "create_client_grant",
    tag = "client-grants",
    summary = "Create a client grant",
    request_body(content = crate::openapi::ClientGrantCreate, content_type = "application/json"),
    responses(
        (status = 201, description = "The grant.", body = crate::openapi::ClientGrant),
        (status = 400, description = "Invalid body (`invalid_body`), e.g. a scope the API does not define.", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such client (`inexistent_client`) or API (`inexistent_resource_server`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "The client already has a grant for this API.", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:client_grants"])),
)]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    caller.require(&["create:client_grants"])?;
    let grant = manage::client_grants::create(&s, &body).await?;
    Ok((StatusCode::CREATED, Json(grant)).into_response())
}

/// `GET /client-grants` (filters `audience`, `client_id`).
#[utoipa::path(
    get,
    path = "/client-grants",
    operation_id = "get_client_grants",
    tag = "client-grants",
    summary = "List client grants",
    params(crate::openapi::PagingParams, crate::openapi::ClientGrantFilter),
    responses(
        (status = 200, description = "The grants.", body = crate::openapi::ClientGrantList),
        (status = 400, description = "Invalid query parameters (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:client_grants"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:client_grants"])?;
    let paging = Paging::from_query(&q, 100)?;
    let mut grants = s.store.list_client_grants(s.tid()).await?;
    if let Some(a) = q.str("audience") {
        grants.retain(|g| g.audience == a);
    }
    if let Some(c) = q.str("client_id") {
        grants.retain(|g| g.client_id == c);
    }
    Ok(Json(paging.apply(grants, "client_grants")))
}

/// `GET /client-grants/{id}`.
#[utoipa::path(
    get,
    path = "/client-grants/{id}",
    operation_id = "get_client_grant",
    tag = "client-grants",
    summary = "Get a client grant",
    params(("id" = String, Path, description = "The grant id.")),
    responses(
        (status = 200, description = "The grant.", body = crate::openapi::ClientGrant),
        (status = 404, description = "No such grant (`inexistent_client_grant`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:client_grants"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ClientGrant>, ApiError> {
    caller.require(&["read:client_grants"])?;
    s.store
        .get_client_grant(s.tid(), &id)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

/// `PATCH /client-grants/{id}` (scope only).
#[utoipa::path(
    patch,
    path = "/client-grants/{id}",
    operation_id = "update_client_grant",
    tag = "client-grants",
    summary = "Update a client grant",
    params(("id" = String, Path, description = "The grant id.")),
    request_body(content = crate::openapi::ClientGrantUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated grant.", body = crate::openapi::ClientGrant),
        (status = 400, description = "Invalid body (`invalid_body`), e.g. a scope the API does not define.", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such grant (`inexistent_client_grant`) or its API is gone.", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:client_grants"])),
)]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<ClientGrant>, ApiError> {
    caller.require(&["update:client_grants"])?;
    Ok(Json(manage::client_grants::update(&s, &id, &body).await?))
}

/// `DELETE /client-grants/{id}`.
#[utoipa::path(
    delete,
    path = "/client-grants/{id}",
    operation_id = "delete_client_grant",
    tag = "client-grants",
    summary = "Delete a client grant",
    params(("id" = String, Path, description = "The grant id.")),
    responses(
        (status = 204, description = "Deleted, or there was no such grant."),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:client_grants"])),
)]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:client_grants"])?;
    manage::client_grants::delete(&s, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
