//! Auth0's Guardian enrollment endpoints: `GET /users/{id}/enrollments`
//! and `GET|DELETE /guardian/enrollments/{id}` — the user's MFA
//! enrollments (`enrollments` service), so support can see and reset a
//! user's second factor. Seeds never leave.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use crate::auth::Caller;
use crate::console_app::Changer;
use crate::enrollments;
use crate::error::ApiError;
use crate::state::AppState;

fn unknown_enrollment() -> ApiError {
    ApiError::not_found("inexistent_enrollment", "The enrollment does not exist.")
}

fn checked_id(id: &str) -> Result<(), ApiError> {
    if enrollments::well_formed(id) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_uri",
            "Path validation error: 'String does not match pattern ^((totp|sms|voice|push|email|recovery-code|webauthn-roaming|webauthn-platform)\\|)?dev_[A-Za-z0-9-_]+$' on property id (ID of the enrollment).",
        ))
    }
}

/// `GET /users/{id}/enrollments`.
#[utoipa::path(
    get,
    path = "/users/{id}/enrollments",
    operation_id = "get_enrollments",
    tag = "users",
    summary = "Get the first confirmed MFA enrollment of a user",
    description = "As Auth0: an array holding the user's first confirmed enrollment (empty when there is none). TOTP seeds are never returned.",
    params(("id" = String, Path, description = "The user_id, e.g. `auth0|…`.")),
    responses(
        (status = 200, description = "The enrollment, if any.", body = Vec<crate::openapi::UserEnrollment>),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:users"])),
)]
pub async fn of_user(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    caller.require(&["read:users"])?;
    let user = s
        .store
        .get_user(s.tid(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("inexistent_user", "The user does not exist."))?;
    Ok(Json(enrollments::first_confirmed(&user)))
}

/// `GET /guardian/enrollments/{id}`.
#[utoipa::path(
    get,
    path = "/guardian/enrollments/{id}",
    operation_id = "get_enrollments_by_id",
    tag = "guardian",
    summary = "Get an MFA enrollment",
    params(("id" = String, Path, description = "The enrollment id, e.g. `totp|dev_…`.")),
    responses(
        (status = 200, description = "The enrollment.", body = crate::openapi::GuardianEnrollment),
        (status = 400, description = "Not an enrollment id (`invalid_uri`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such enrollment (`inexistent_enrollment`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:guardian_enrollments"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:guardian_enrollments"])?;
    checked_id(&id)?;
    let (user, factor) = enrollments::find(&s, &id)
        .await?
        .ok_or_else(unknown_enrollment)?;
    enrollments::guardian_view(&user, &factor)
        .map(Json)
        .ok_or_else(unknown_enrollment)
}

/// `DELETE /guardian/enrollments/{id}`.
#[utoipa::path(
    delete,
    path = "/guardian/enrollments/{id}",
    operation_id = "delete_enrollments_by_id",
    tag = "guardian",
    summary = "Delete an MFA enrollment",
    description = "Removes the factor from the user: when a policy asks for a second factor, the user enrols a new one at the next login.",
    params(("id" = String, Path, description = "The enrollment id, e.g. `totp|dev_…`.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "Not an enrollment id (`invalid_uri`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such enrollment (`inexistent_enrollment`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:guardian_enrollments"])),
)]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:guardian_enrollments"])?;
    checked_id(&id)?;
    if enrollments::delete(&s, &id, Changer::Api(&caller)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(unknown_enrollment())
    }
}
