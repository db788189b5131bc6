//! `/api/v2/attack-protection/*`: the tenant's attack-protection settings;
//! `/api/v2/anomaly/blocks/ips/{ip}`: the addresses suspicious-IP throttling refuses.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tern_core::attack_protection::BruteForceProtection;
use tern_core::ip_throttling::SuspiciousIpThrottling;

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::brute_force;
use crate::error::ApiError;
use crate::ip_throttling;
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

/// `GET /attack-protection/suspicious-ip-throttling`.
#[utoipa::path(
    get,
    path = "/attack-protection/suspicious-ip-throttling",
    operation_id = "get_suspicious-ip-throttling",
    tag = "attack-protection",
    summary = "Get the suspicious-IP throttling settings",
    responses(
        (status = 200, description = "The settings (Auth0's defaults until changed).", body = crate::openapi::SuspiciousIpSettings),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:attack_protection"])),
)]
pub async fn get_suspicious_ip(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<SuspiciousIpThrottling>, ApiError> {
    caller.require(&["read:attack_protection"])?;
    Ok(Json(ip_throttling::settings(&s).await?))
}

/// `PATCH /attack-protection/suspicious-ip-throttling`.
#[utoipa::path(
    patch,
    path = "/attack-protection/suspicious-ip-throttling",
    operation_id = "patch_suspicious-ip-throttling",
    tag = "attack-protection",
    summary = "Update the suspicious-IP throttling settings",
    request_body(content = crate::openapi::SuspiciousIpSettings, content_type = "application/json"),
    responses(
        (status = 200, description = "The settings now.", body = crate::openapi::SuspiciousIpSettings),
        (status = 400, description = "An unknown property or a value out of range: `stage.pre-login` `max_attempts` 1–2500 and `rate` 34560–86400000 ms, `stage.pre-user-registration` `max_attempts` 1–72000 and `rate` 1200–86400000 ms, `shields` of `block` and `admin_notification`, `allowlist` of addresses and CIDR ranges (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:attack_protection"])),
)]
pub async fn update_suspicious_ip(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<SuspiciousIpThrottling>, ApiError> {
    caller.require(&["update:attack_protection"])?;
    let patch = body.as_object().ok_or_else(|| {
        ApiError::invalid_body("Payload validation error: 'Expected type object'.")
    })?;
    ip_throttling::update_settings(&s, patch)
        .await?
        .map(Json)
        .map_err(ApiError::invalid_body)
}

/// The `{ip}` of `/anomaly/blocks/ips/{ip}`, checked.
fn address(ip: &str) -> Result<String, ApiError> {
    ip.parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| ApiError::invalid_query(format!("'{ip}' is not an IP address.")))
}

/// `GET /anomaly/blocks/ips/{ip}`.
#[utoipa::path(
    get,
    path = "/anomaly/blocks/ips/{ip}",
    operation_id = "get_ips_by_id",
    tag = "anomaly",
    summary = "Whether suspicious-IP throttling blocks an address",
    params(("ip" = String, Path, description = "The IP address (v4 or v6).")),
    responses(
        (status = 200, description = "The address is blocked."),
        (status = 400, description = "Not an IP address (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "The address is not blocked (`inexistent_ip`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:anomaly_blocks"])),
)]
pub async fn get_ip_block(
    State(s): State<AppState>,
    caller: Caller,
    Path(ip): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["read:anomaly_blocks"])?;
    let ip = address(&ip)?;
    if ip_throttling::is_blocked(&s, &ip).await? {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::not_found(
            "inexistent_ip",
            "IP address specified is not currently blocked.",
        ))
    }
}

/// `DELETE /anomaly/blocks/ips/{ip}`.
#[utoipa::path(
    delete,
    path = "/anomaly/blocks/ips/{ip}",
    operation_id = "delete_ips_by_id",
    tag = "anomaly",
    summary = "Lift suspicious-IP throttling from an address",
    params(("ip" = String, Path, description = "The IP address (v4 or v6).")),
    responses(
        (status = 204, description = "Unblocked: the address starts again with full buckets (also when it was not blocked)."),
        (status = 400, description = "Not an IP address (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:anomaly_blocks"])),
)]
pub async fn delete_ip_block(
    State(s): State<AppState>,
    caller: Caller,
    Path(ip): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:anomaly_blocks"])?;
    let ip = address(&ip)?;
    ip_throttling::unblock(&s, &ip).await?;
    Ok(StatusCode::NO_CONTENT)
}
