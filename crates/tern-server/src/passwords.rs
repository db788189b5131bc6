//! New passwords: the connection's strength policy, then the tenant's hash
//! policy, off the async runtime. Shared by the Management API and the
//! console (operators' passwords follow the same rules).

use axum::http::StatusCode;
use serde_json::Value;
use tern_core::model::Connection;
use tern_core::password_policy;

use crate::error::ApiError;
use crate::state::AppState;

/// Hash a new password under the tenant policy, off the async runtime, after
/// checking the connection's strength policy.
pub async fn hash_new_password(
    s: &AppState,
    connection: &Connection,
    password: String,
) -> Result<String, ApiError> {
    let policy_name = connection
        .options
        .get("passwordPolicy")
        .and_then(Value::as_str)
        .map(str::to_string);
    password_policy::check(policy_name.as_deref(), &password).map_err(|m| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "password_strength_error",
            format!("PasswordStrengthError: {m}"),
        )
    })?;
    // On the bounded hashing pool, as logins: an administrator's burst of
    // user creations cannot starve them, nor they it of memory.
    let state = s.clone();
    s.hash_pool
        .run(move || state.policy.hash(&password))
        .await
        .map_err(|e| match e {
            crate::hash_pool::PoolError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The server is busy hashing passwords; try again in a moment.",
            ),
            crate::hash_pool::PoolError::Failed => ApiError::internal(),
        })
}
