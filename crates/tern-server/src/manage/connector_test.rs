//! Testing a zero-code connector (the console's "Test" button): look a
//! user up in the legacy store, or check their password there, through the
//! server's own legacy source — the same connector, cache, network policy
//! and revealed configuration a login uses. Nothing is stored and the
//! legacy store is not told anything migrated.

use std::time::Instant;

use serde_json::{Value, json};
use tern_core::legacy::{LegacyLogin, LegacyProfile};
use tern_core::model::Connection;

use crate::error::ApiError;
use crate::state::AppState;

/// What a test found.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// `found`, `not_found`, `wrong_credentials` or `error`.
    pub verdict: &'static str,
    /// The profile found (summarised: MFA seeds never leave the server),
    /// or the error's message.
    pub detail: Value,
    /// How long the legacy store took.
    pub elapsed_ms: u64,
}

/// A profile as a test shows it: MFA enrolments counted, not shown (they may
/// carry TOTP seeds).
pub fn shown(p: &LegacyProfile) -> Value {
    json!({
        "user_id": p.user_id,
        "email": p.email,
        "email_verified": p.email_verified,
        "username": p.username,
        "name": p.name,
        "given_name": p.given_name,
        "family_name": p.family_name,
        "nickname": p.nickname,
        "picture": p.picture,
        "app_metadata": p.app_metadata,
        "user_metadata": p.user_metadata,
        "mfa_factors": p.mfa_factors.len(),
    })
}

/// Look `email` up (no password) or check `email` and `password` against
/// the connection's legacy store.
pub async fn run(
    s: &AppState,
    connection: &Connection,
    email: &str,
    password: Option<&str>,
) -> Result<TestOutcome, ApiError> {
    let Some(legacy) = s.legacy.as_ref() else {
        return Err(ApiError::invalid_body(
            "This server has no legacy source configured.",
        ));
    };
    if email.trim().is_empty() {
        return Err(ApiError::invalid_body("Give an email to look up."));
    }
    let started = Instant::now();
    let (verdict, detail) = match password {
        Some(pw) => match legacy.login(s.tid(), connection, email, pw).await {
            Ok(LegacyLogin::Profile(p)) => ("found", shown(&p)),
            Ok(LegacyLogin::WrongCredentials { user }) => {
                ("wrong_credentials", json!({"user": user}))
            }
            Err(e) => ("error", json!(e.0)),
        },
        None => match legacy.get_user(s.tid(), connection, email).await {
            Ok(Some(p)) => ("found", shown(&p)),
            Ok(None) => ("not_found", Value::Null),
            Err(e) => ("error", json!(e.0)),
        },
    };
    Ok(TestOutcome {
        verdict,
        detail,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}
