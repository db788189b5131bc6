//! `/api/v2/attack-protection/*`: the tenant's attack-protection settings.

use axum::Json;
use axum::extract::State;
use tern_core::attack_protection::BruteForceProtection;

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::brute_force;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /attack-protection/brute-force-protection`.
#[utoipa::path(
    get,
    path = "/attack-protection/brute-force-protection",
    operation_id = "get_brute-force-protection",
    tag = "attack-protection",
    summary = "Get the brute-force protection settings",
    responses(
        (status = 200, description = "The settings (Auth0's defaults until changed).", body = crate::openapi::BruteForceSettings),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:attack_protection"])),
)]
pub async fn get_brute_force(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<BruteForceProtection>, ApiError> {
    caller.require(&["read:attack_protection"])?;
    Ok(Json(brute_force::settings(&s).await?))
}

/// `PATCH /attack-protection/brute-force-protection`.
#[utoipa::path(
    patch,
    path = "/attack-protection/brute-force-protection",
    operation_id = "patch_brute-force-protection",
    tag = "attack-protection",
    summary = "Update the brute-force protection settings",
    request_body(content = crate::openapi::BruteForceSettings, content_type = "application/json"),
    responses(
        (status = 200, description = "The settings now.", body = crate::openapi::BruteForceSettings),
        (status = 400, description = "An unknown property or a value out of range: `max_attempts` 1–100, `shields` of `block` and `user_notification`, `mode` `count_per_identifier_and_ip` or `count_per_identifier`, `allowlist` of addresses and CIDR ranges (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:attack_protection"])),
)]
pub async fn update_brute_force(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<BruteForceProtection>, ApiError> {
    caller.require(&["update:attack_protection"])?;
    let patch = body.as_object().ok_or_else(|| {
        ApiError::invalid_body("Payload validation error: 'Expected type object'.")
    })?;
    brute_force::update_settings(&s, patch)
        .await?
        .map(Json)
        .map_err(ApiError::invalid_body)
}
