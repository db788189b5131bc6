//! `/api/v2/emails/provider`: the tenant's SMTP settings as Auth0's email
//! provider (see `email_provider`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use crate::auth::Caller;
use crate::body::{JsonBody, QueryMap};
use crate::error::ApiError;
use crate::state::AppState;

/// Who a write through the Management API is recorded as.
fn actor(caller: &Caller) -> String {
    format!("{}@clients", caller.client_id)
}

/// `GET /emails/provider`.
#[utoipa::path(
    get,
    path = "/emails/provider",
    operation_id = "get_provider",
    tag = "emails",
    summary = "Get the email provider",
    description = "The tenant's SMTP settings as Auth0's email provider. Without `fields`, `name` and `enabled` only (as Auth0); `credentials` never carries the password.",
    params(crate::openapi::FieldsParams),
    responses(
        (status = 200, description = "The provider.", body = crate::openapi::EmailProvider),
        (status = 400, description = "A field the provider does not have, or an `include_fields` that is not a boolean (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No provider is configured (`inexistent_email_provider`): mail goes by the configuration file.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:email_provider"])),
)]
pub async fn get_provider(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:email_provider"])?;
    let (fields, include) = q.fields()?;
    Ok(Json(
        crate::email_provider::get(&s, &fields, include).await?,
    ))
}

/// `POST /emails/provider`.
#[utoipa::path(
    post,
    path = "/emails/provider",
    operation_id = "post_provider",
    tag = "emails",
    summary = "Configure the email provider",
    request_body(content = crate::openapi::EmailProviderWrite, content_type = "application/json"),
    responses(
        (status = 201, description = "The provider.", body = crate::openapi::EmailProvider),
        (status = 400, description = "A missing or unknown property, a `name` other than `smtp`, a host or port that is not one, a `default_from_address` that is not an address, a header Tern does not send, or a host the network policy refuses (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "A provider is already configured (`email_provider_conflict`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:email_provider"])),
)]
pub async fn create_provider(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&["create:email_provider"])?;
    let created = crate::email_provider::create(&s, &body, &actor(&caller)).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `PATCH /emails/provider`.
#[utoipa::path(
    patch,
    path = "/emails/provider",
    operation_id = "patch_provider",
    tag = "emails",
    summary = "Update the email provider",
    description = "The properties given replace the stored ones; within `credentials` each one given replaces its own (a password not given is kept; a new `smtp_user` needs its `smtp_pass`); `settings` replaces the headers as a whole.",
    request_body(content = crate::openapi::EmailProviderWrite, content_type = "application/json"),
    responses(
        (status = 200, description = "The provider.", body = crate::openapi::EmailProvider),
        (status = 400, description = "As `POST`, or an empty body (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No provider is configured (`inexistent_email_provider`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "The provider changed between this request's read and its write (`email_provider_conflict`); nothing was written.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:email_provider"])),
)]
pub async fn update_provider(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["update:email_provider"])?;
    let updated = crate::email_provider::update(&s, &body, &actor(&caller)).await?;
    Ok(Json(updated))
}

/// `DELETE /emails/provider`.
#[utoipa::path(
    delete,
    path = "/emails/provider",
    operation_id = "delete_provider",
    tag = "emails",
    summary = "Delete the email provider",
    description = "The stored settings (their sealed password with them) are removed; mail goes by the configuration file's settings, or to the outbox.",
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No provider is configured (`inexistent_email_provider`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:email_provider"])),
)]
pub async fn delete_provider(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:email_provider"])?;
    crate::email_provider::delete(&s).await?;
    Ok(StatusCode::NO_CONTENT)
}
