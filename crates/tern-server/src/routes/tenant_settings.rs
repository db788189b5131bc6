//! `/api/v2/tenants/settings`: the tenant settings the browser flows read
//! (session lifetimes, logout URLs, the name the hosted pages show).

use axum::Json;
use axum::extract::State;
use tern_core::tenant_settings::TenantSettings;

use super::merge_into;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /tenants/settings`.
#[utoipa::path(
    get,
    path = "/tenants/settings",
    operation_id = "get_tenant_settings",
    tag = "tenants",
    summary = "Get the tenant settings",
    responses(
        (status = 200, description = "The settings.", body = crate::openapi::TenantSettings),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:tenant_settings"])),
)]
pub async fn get_settings(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<TenantSettings>, ApiError> {
    caller.require(&["read:tenant_settings"])?;
    Ok(Json(s.store.get_tenant_settings(s.tid()).await?))
}

/// `PATCH /tenants/settings`.
#[utoipa::path(
    patch,
    path = "/tenants/settings",
    operation_id = "update_tenant_settings",
    tag = "tenants",
    summary = "Update the tenant settings",
    request_body(content = crate::openapi::TenantSettings, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated settings.", body = crate::openapi::TenantSettings),
        (status = 400, description = "An unknown property, a value out of range, or a `default_redirection_uri` that is not https or `allowed_logout_urls` entry that is not http(s) (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:tenant_settings"])),
)]
pub async fn update_settings(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<TenantSettings>, ApiError> {
    caller.require(&["update:tenant_settings"])?;
    let patch = body.as_object().ok_or_else(|| {
        ApiError::invalid_body("Payload validation error: 'Expected type object'.")
    })?;
    let current = s.store.get_tenant_settings(s.tid()).await?;
    let settings: TenantSettings = merge_into(&current, patch)?;
    settings
        .validate()
        .map_err(|m| ApiError::invalid_body(format!("Payload validation error: {m}.")))?;
    s.store.put_tenant_settings(s.tid(), &settings).await?;
    Ok(Json(settings))
}
