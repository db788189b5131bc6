//! `/api/v2/branding`: the look of the hosted pages.

use axum::Json;
use axum::extract::State;
use tern_core::tenant_settings::Branding;

use super::merge_into;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /branding`.
#[utoipa::path(
    get,
    path = "/branding",
    operation_id = "get_branding",
    tag = "branding",
    summary = "Get the branding of the hosted pages",
    responses(
        (status = 200, description = "The branding.", body = crate::openapi::Branding),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:branding"])),
)]
pub async fn get_branding(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Branding>, ApiError> {
    caller.require(&["read:branding"])?;
    Ok(Json(s.store.get_branding(s.tid()).await?))
}

/// `PATCH /branding`: top-level properties replace the stored ones; `null`
/// removes one.
#[utoipa::path(
    patch,
    path = "/branding",
    operation_id = "update_branding",
    tag = "branding",
    summary = "Update the branding of the hosted pages",
    request_body(content = crate::openapi::Branding, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated branding.", body = crate::openapi::Branding),
        (status = 400, description = "An unknown property, a colour that is not `#rgb`/`#rrggbb`, or a URL that is not https or holds a space, control character or backslash (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:branding"])),
)]
pub async fn update_branding(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<Branding>, ApiError> {
    caller.require(&["update:branding"])?;
    let patch = body.as_object().ok_or_else(|| {
        ApiError::invalid_body("Payload validation error: 'Expected type object'.")
    })?;
    let current = s.store.get_branding(s.tid()).await?;
    let branding: Branding = merge_into(&current, patch)?;
    branding
        .validate()
        .map_err(|m| ApiError::invalid_body(format!("Payload validation error: {m}.")))?;
    s.store.put_branding(s.tid(), &branding).await?;
    Ok(Json(branding))
}
