//! `/api/v2/clients`: applications.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tern_core::model::Client;

use crate::auth::Caller;
use crate::body::{JsonBody, Paging, QueryMap};
use crate::error::ApiError;
use crate::manage;
use crate::manage::clients::not_found;
use crate::state::AppState;

fn with_secret(client: &Client, secret: &str) -> Value {
    let mut v = json!(client);
    v["client_secret"] = json!(secret);
    v
}

/// `POST /clients`.
#[utoipa::path(
    post,
    path = "/clients",
    operation_id = "create_client",
    tag = "clients",
    summary = "Create a client",
    request_body(content = crate::openapi::ClientCreate, content_type = "application/json"),
    responses(
        (status = 201, description = "The client, with its secret (returned only now).", body = crate::openapi::ClientWithSecret),
        (status = 400, description = "Invalid body (`invalid_body`): among others a URL list longer than 100 entries, a URL of a refused scheme (`javascript:`, `data:`, …) or holding a space, control character or backslash.", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:clients"])),
)]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    caller.require(&["create:clients"])?;
    let (client, secret) = manage::clients::create(&s, &body).await?;
    Ok((StatusCode::CREATED, Json(with_secret(&client, &secret))).into_response())
}

/// `GET /clients`.
#[utoipa::path(
    get,
    path = "/clients",
    operation_id = "get_clients",
    tag = "clients",
    summary = "List clients",
    params(crate::openapi::PagingParams),
    responses(
        (status = 200, description = "The clients (without secrets).", body = crate::openapi::ClientList),
        (status = 400, description = "Invalid query parameters (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:clients"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:clients"])?;
    let paging = Paging::from_query(&q, 100)?;
    let clients = s.store.list_clients(s.tid()).await?;
    Ok(Json(paging.apply(clients, "clients")))
}

/// `GET /clients/{id}`. The secret is not returned: Tern keeps only its hash
/// (rotate it to get a new one).
#[utoipa::path(
    get,
    path = "/clients/{id}",
    operation_id = "get_client",
    tag = "clients",
    summary = "Get a client",
    params(("id" = String, Path, description = "The client_id.")),
    responses(
        (status = 200, description = "The client (without its secret).", body = crate::openapi::Client),
        (status = 404, description = "No such client (`inexistent_client`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:clients"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Client>, ApiError> {
    caller.require(&["read:clients"])?;
    s.store
        .get_client(s.tid(), &id)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

/// `PATCH /clients/{id}`.
#[utoipa::path(
    patch,
    path = "/clients/{id}",
    operation_id = "update_client",
    tag = "clients",
    summary = "Update a client",
    params(("id" = String, Path, description = "The client_id.")),
    request_body(content = crate::openapi::ClientUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated client.", body = crate::openapi::Client),
        (status = 400, description = "Invalid body (`invalid_body`): among others a URL list longer than 100 entries, a URL of a refused scheme (`javascript:`, `data:`, …) or holding a space, control character or backslash.", body = crate::openapi::ApiErrorBody),
        (status = 403, description = "The Tern Console application cannot be changed (`operation_not_supported`), or insufficient scope.", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such client (`inexistent_client`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:clients"])),
)]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Client>, ApiError> {
    caller.require(&["update:clients"])?;
    Ok(Json(manage::clients::update(&s, &id, &body).await?))
}

/// `DELETE /clients/{id}`.
#[utoipa::path(
    delete,
    path = "/clients/{id}",
    operation_id = "delete_client",
    tag = "clients",
    summary = "Delete a client",
    params(("id" = String, Path, description = "The client_id.")),
    responses(
        (status = 204, description = "Deleted with its client grants (and dropped from its connections), or there was no such client."),
        (status = 400, description = "A client cannot delete itself (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 403, description = "The Tern Console application cannot be deleted (`operation_not_supported`), or insufficient scope.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:clients"])),
)]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:clients"])?;
    if id == caller.client_id {
        return Err(ApiError::invalid_body(
            "A client cannot delete itself: use another administrative client.",
        ));
    }
    // Idempotent, as Auth0: deleting what is not there is still 204.
    manage::clients::delete(&s, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /clients/{id}/rotate-secret`.
#[utoipa::path(
    post,
    path = "/clients/{id}/rotate-secret",
    operation_id = "rotate_client_secret",
    tag = "clients",
    summary = "Rotate a client secret",
    params(("id" = String, Path, description = "The client_id.")),
    responses(
        (status = 200, description = "The client with its new secret.", body = crate::openapi::ClientWithSecret),
        (status = 404, description = "No such client (`inexistent_client`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:client_keys"])),
)]
pub async fn rotate_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["update:client_keys"])?;
    let (client, secret) = manage::clients::rotate_secret(&s, &id).await?;
    Ok(Json(with_secret(&client, &secret)))
}
