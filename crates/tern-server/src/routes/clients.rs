//! `/api/v2/clients`: applications.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tern_core::grants::RefreshTokenConfig;
use tern_core::ids;
use tern_core::model::Client;

use super::{field, merge_into, object_with, require_keys};
use crate::auth::Caller;
use crate::body::{JsonBody, Paging, QueryMap};
use crate::client_secret::hash_secret;
use crate::error::ApiError;
use crate::state::AppState;

const FIELDS: &[&str] = &[
    "name",
    "description",
    "app_type",
    "is_first_party",
    "callbacks",
    "allowed_origins",
    "web_origins",
    "allowed_logout_urls",
    "grant_types",
    "token_endpoint_auth_method",
    "client_metadata",
    "oidc_conformant",
    "logo_uri",
    "jwt_configuration",
    "sso",
    "cross_origin_auth",
    "refresh_token",
    "initiate_login_uri",
];
/// Fields Tern accepts for Auth0 compatibility but does not act on.
const IGNORED: &[&str] = &[
    "oidc_conformant",
    "logo_uri",
    "jwt_configuration",
    "sso",
    "cross_origin_auth",
];

fn with_secret(client: &Client, secret: &str) -> Value {
    let mut v = json!(client);
    v["client_secret"] = json!(secret);
    v
}

fn client_not_found() -> ApiError {
    ApiError::not_found("inexistent_client", "Client not found")
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
        (status = 400, description = "Invalid body (`invalid_body`).", body = crate::openapi::ApiErrorBody),
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
    let obj = object_with(&body, FIELDS)?;
    require_keys(obj, &["name"])?;
    let mut patch = obj.clone();
    patch.retain(|k, _| !IGNORED.contains(&k.as_str()));
    let app_type: Option<String> = field(obj, "app_type")?;
    let base = Client {
        client_id: ids::client_id(),
        name: String::new(),
        description: None,
        app_type: None,
        is_first_party: true,
        callbacks: vec![],
        allowed_origins: vec![],
        web_origins: vec![],
        allowed_logout_urls: vec![],
        // Auth0's defaults for a new application.
        grant_types: if app_type.as_deref() == Some("non_interactive") {
            vec!["client_credentials".into()]
        } else {
            vec![
                "authorization_code".into(),
                "implicit".into(),
                "refresh_token".into(),
                "client_credentials".into(),
            ]
        },
        token_endpoint_auth_method: "client_secret_post".into(),
        client_metadata: Default::default(),
        global: false,
        refresh_token: Some(RefreshTokenConfig::default()),
        initiate_login_uri: None,
        secret_hash: String::new(),
    };
    let mut client = merge_into(&base, &patch)?;
    validate(&client)?;
    let secret = ids::client_secret();
    client.secret_hash = hash_secret(&secret);
    s.store.insert_client(s.tid(), &client).await?;
    Ok((StatusCode::CREATED, Json(with_secret(&client, &secret))).into_response())
}

fn validate(c: &Client) -> Result<(), ApiError> {
    if c.name.trim().is_empty() {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'String is too short (0 chars), minimum 1' on property name.",
        ));
    }
    if !["client_secret_post", "client_secret_basic", "none"]
        .contains(&c.token_endpoint_auth_method.as_str())
    {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'token_endpoint_auth_method' must be one of client_secret_post, client_secret_basic, none.",
        ));
    }
    if let Some(rt) = &c.refresh_token {
        rt.validate()
            .map_err(|m| ApiError::invalid_body(format!("Payload validation error: {m}.")))?;
    }
    if let Some(u) = &c.initiate_login_uri
        && !url::Url::parse(u).is_ok_and(|p| p.scheme() == "https")
    {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'initiate_login_uri' must be an https URL.",
        ));
    }
    Ok(())
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
        .ok_or_else(client_not_found)
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
        (status = 400, description = "Invalid body (`invalid_body`).", body = crate::openapi::ApiErrorBody),
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
    let obj = object_with(&body, FIELDS)?;
    let current = s
        .store
        .get_client(s.tid(), &id)
        .await?
        .ok_or_else(client_not_found)?;
    let mut patch = obj.clone();
    patch.retain(|k, _| !IGNORED.contains(&k.as_str()));
    let mut client = merge_into(&current, &patch)?;
    client.secret_hash = current.secret_hash;
    client.client_id = current.client_id;
    validate(&client)?;
    s.store.update_client(s.tid(), &client).await?;
    Ok(Json(client))
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
        (status = 204, description = "Deleted, or there was no such client."),
        (status = 400, description = "A client cannot delete itself (`invalid_body`).", body = crate::openapi::ApiErrorBody),
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
    s.store.delete_client(s.tid(), &id).await?;
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
    let mut client = s
        .store
        .get_client(s.tid(), &id)
        .await?
        .ok_or_else(client_not_found)?;
    let secret = ids::client_secret();
    client.secret_hash = hash_secret(&secret);
    s.store.update_client(s.tid(), &client).await?;
    Ok(Json(with_secret(&client, &secret)))
}
