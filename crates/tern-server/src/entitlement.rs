//! Whether a user may still get tokens for an application: asked again at
//! every later use of what a login granted — the authorization code's
//! exchange, each refresh, the `mfa-otp` grant and the `/mfa/*` calls of a
//! pending login, a sign-in finishing at `/authorize/resume`, and silent
//! authentication from the SSO session — not only at the login itself. An
//! operator who blocks a user, deletes them, or takes their connection away
//! from the application thereby stops every grant already out, at its next
//! use. One function, so that no grant forgets one of the conditions.

use axum::http::StatusCode;
use tern_core::CoreResult;
use tern_core::model::User;

use crate::error::OAuthError;
use crate::state::AppState;

/// Why a user may no longer get tokens for an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Deleted, or the id now belongs to a user created after the grant.
    Gone,
    /// Blocked (`blocked: true`, set through the Management API or the console).
    Blocked,
    /// Their connection is gone, or no longer enabled for the application.
    ConnectionDisabled,
}

impl Refusal {
    /// What the token endpoint says (`error_description`); a blocked user
    /// in Auth0's words ("user is blocked").
    pub fn description(self) -> &'static str {
        match self {
            Self::Gone => "The user no longer exists or is blocked.",
            Self::Blocked => "user is blocked",
            Self::ConnectionDisabled => {
                "The user's connection is no longer enabled for this application."
            }
        }
    }

    /// The token endpoint's `invalid_grant` with `status` (400 for a code,
    /// 403 for a refresh token or an `mfa_token`, as each grant answers its
    /// other refusals).
    pub fn invalid_grant(self, status: StatusCode) -> OAuthError {
        OAuthError::new(status, "invalid_grant", self.description())
    }
}

/// The user `user_id`, if they may still get tokens for application
/// `client_id` from a grant made at epoch second `since`: they exist, were
/// created no later than `since` (else the id was reused: the grant was
/// never theirs), are not blocked, and their connection still exists and
/// is enabled for the application.
pub async fn check(
    s: &AppState,
    client_id: &str,
    user_id: &str,
    since: i64,
) -> CoreResult<Result<User, Refusal>> {
    let Some(user) = s.store.get_user(s.tid(), user_id).await? else {
        return Ok(Err(Refusal::Gone));
    };
    if tern_core::users::created_after(&user, since) {
        return Ok(Err(Refusal::Gone));
    }
    if user.blocked {
        return Ok(Err(Refusal::Blocked));
    }
    let enabled = s
        .store
        .get_connection(s.tid(), &user.connection_id)
        .await?
        .is_some_and(|c| c.enabled_clients.iter().any(|id| id == client_id));
    if !enabled {
        return Ok(Err(Refusal::ConnectionDisabled));
    }
    Ok(Ok(user))
}
