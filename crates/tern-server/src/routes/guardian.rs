//! `/api/v2/guardian/*`: the tenant's MFA settings (Auth0's Guardian) —
//! the `all-applications` policy and the `otp` factor, which together make
//! every login ask for a code and send users without an authenticator app
//! to enrol one.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use tern_core::mfa::{FACTOR_NAMES, GuardianSettings};

use super::{field, object_with, require_keys};
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /guardian/policies`.
#[utoipa::path(
    get,
    path = "/guardian/policies",
    operation_id = "get_policies",
    tag = "guardian",
    summary = "Get the MFA policies",
    responses(
        (status = 200, description = "`[]` or `[\"all-applications\"]`.", body = Vec<String>),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:mfa_policies"])),
)]
pub async fn get_policies(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<String>>, ApiError> {
    caller.require(&["read:mfa_policies"])?;
    Ok(Json(s.store.get_guardian(s.tid()).await?.policies))
}

/// `PUT /guardian/policies`.
#[utoipa::path(
    put,
    path = "/guardian/policies",
    operation_id = "put_policies",
    tag = "guardian",
    summary = "Set the MFA policies",
    description = "`[\"all-applications\"]` asks every login for a second factor once the `otp` factor is enabled; users without an authenticator app enrol one after their password. `confidence-score` (Adaptive MFA) is not supported.",
    request_body(content = Vec<String>, content_type = "application/json"),
    responses(
        (status = 200, description = "The policies now.", body = Vec<String>),
        (status = 400, description = "Not an array of strings, or a policy other than `all-applications` (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:mfa_policies"])),
)]
pub async fn put_policies(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<Vec<String>>, ApiError> {
    caller.require(&["update:mfa_policies"])?;
    let policies: Vec<String> = serde_json::from_value(body).map_err(|_| {
        ApiError::invalid_body("Payload validation error: 'Expected type array of strings'.")
    })?;
    let mut settings = s.store.get_guardian(s.tid()).await?;
    settings
        .set_policies(&policies)
        .map_err(ApiError::invalid_body)?;
    s.store.put_guardian(s.tid(), &settings).await?;
    Ok(Json(settings.policies))
}

fn factor_list(settings: &GuardianSettings) -> Vec<Value> {
    FACTOR_NAMES
        .iter()
        .map(|name| {
            json!({
                "name": name,
                "enabled": settings.factor_enabled(name),
                "trial_expired": false,
            })
        })
        .collect()
}

/// `GET /guardian/factors`.
#[utoipa::path(
    get,
    path = "/guardian/factors",
    operation_id = "get_factors",
    tag = "guardian",
    summary = "List the MFA factors and whether each is enabled",
    responses(
        (status = 200, description = "Every factor of Auth0's list; only `otp` (authenticator apps) can be enabled in Tern.", body = Vec<crate::openapi::GuardianFactor>),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:guardian_factors"])),
)]
pub async fn get_factors(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Value>>, ApiError> {
    caller.require(&["read:guardian_factors"])?;
    Ok(Json(factor_list(&s.store.get_guardian(s.tid()).await?)))
}

/// `PUT /guardian/factors/{name}`.
#[utoipa::path(
    put,
    path = "/guardian/factors/{name}",
    operation_id = "put_factors_by_name",
    tag = "guardian",
    summary = "Enable or disable an MFA factor",
    params(("name" = String, Path, description = "The factor: `otp` (others can only be disabled).")),
    request_body(content = crate::openapi::GuardianFactorUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "The factor's state now.", body = crate::openapi::GuardianFactorUpdate),
        (status = 400, description = "An unknown factor, a factor Tern cannot enable, or a body other than `{\"enabled\": bool}` (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:guardian_factors"])),
)]
pub async fn put_factor(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["update:guardian_factors"])?;
    let obj = object_with(&body, &["enabled"])?;
    require_keys(obj, &["enabled"])?;
    let enabled: bool = field(obj, "enabled")?.ok_or_else(|| {
        ApiError::invalid_body(
            "Payload validation error: 'Expected type boolean' on property enabled.",
        )
    })?;
    let mut settings = s.store.get_guardian(s.tid()).await?;
    settings
        .set_factor(&name, enabled)
        .map_err(ApiError::invalid_body)?;
    s.store.put_guardian(s.tid(), &settings).await?;
    Ok(Json(json!({"enabled": settings.factor_enabled(&name)})))
}
