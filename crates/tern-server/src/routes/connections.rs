//! `/api/v2/connections`: database connections. `options.configuration`
//! values are sealed before they are stored and masked in every answer
//! (`secrets`); sending the mask back keeps a value.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tern_core::model::Connection;

use crate::auth::Caller;
use crate::body::{JsonBody, Paging, QueryMap};
use crate::error::ApiError;
use crate::manage;
use crate::manage::connections::{masked, not_found};
use crate::state::AppState;

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
    let c = manage::connections::create(&s, &body).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
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
        (status = 403, description = "The change would enable tern-operators for another application, another connection for the Tern Console application, or signup on tern-operators (`operation_not_supported`); or insufficient scope.", body = crate::openapi::ApiErrorBody),
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
    Ok(Json(
        manage::connections::update(&s, crate::console_app::Changer::Api(&caller), &id, &body)
            .await?,
    ))
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
        (status = 403, description = "The tern-operators connection cannot be deleted (`operation_not_supported`), or insufficient scope.", body = crate::openapi::ApiErrorBody),
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
    Ok(if manage::connections::delete(&s, &id).await? {
        StatusCode::ACCEPTED
    } else {
        StatusCode::NO_CONTENT
    })
}
