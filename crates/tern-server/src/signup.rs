//! Self-service signup on a database connection: the one service behind
//! `POST /dbconnections/signup` and the hosted `/u/signup` page.
//!
//! With lazy migration on, the legacy store is asked first (`get_user`), so
//! a legacy user who has not logged in yet cannot sign up a second time.
//! With import mode off the legacy store creates the user
//! (`legacy_ops::create_user`); otherwise the user is inserted here, profile
//! and credential together.

use tern_core::model::{Client, Connection, LogEvent, User, UserSource};
use tern_core::password_policy::{PersonalInfo, Refusal};
use tern_core::store::InsertOutcome;
use tern_core::user_profile::{ProfileFields, UsernameRules};
use tern_core::{CoreError, users};

use crate::error::OAuthError;
use crate::hash_pool::PoolError;
use crate::lazy::LegacyLookup;
use crate::legacy_ops::LegacyOpError;
use crate::state::AppState;

/// Why a signup did not happen; nothing was written.
#[derive(Debug)]
pub enum SignupFailure {
    /// The connection's `disable_signup` is set.
    Disabled,
    /// No email in the profile.
    MissingEmail,
    /// No password.
    MissingPassword,
    /// The password does not meet the connection's rules (which one).
    WeakPassword(Refusal),
    /// The username is missing where the connection requires one, or its
    /// length is outside the connection's bounds (the error says which).
    BadUsername(CoreError),
    /// Tern or the legacy store already has a user with this email.
    Exists,
    /// The legacy store could not be asked, or did not create the user.
    LegacyUnavailable,
    /// The legacy store refused for another reason (`legacy_ops`).
    Legacy(LegacyOpError),
    /// Suspicious-IP throttling refused the address (Auth0's answer).
    Throttled(OAuthError),
    /// The hashing pool is full; try again in a moment.
    Busy,
    /// Tern's own store failed.
    Store(CoreError),
}

impl From<CoreError> for SignupFailure {
    fn from(e: CoreError) -> Self {
        Self::Store(e)
    }
}

/// Whether the connection takes sign-ups (its `disable_signup` option).
pub fn allowed(c: &Connection) -> bool {
    c.options
        .get("disable_signup")
        .and_then(serde_json::Value::as_bool)
        != Some(true)
}

/// Sign a user up to `connection` for `client` with the profile `f` (its
/// `password` is the new password), asked from address `ip`. Logs `ss` on
/// success and `fs` when the legacy store is involved in a refusal; a new
/// user is mailed a verification link (`verification::after_creation`) and,
/// when that mail is off, a welcome (`welcome::after_signup`).
pub async fn sign_up(
    s: &AppState,
    client: &Client,
    connection: &Connection,
    mut f: ProfileFields,
    ip: &str,
) -> Result<User, SignupFailure> {
    if !allowed(connection) {
        return Err(SignupFailure::Disabled);
    }
    // Suspicious-IP throttling's pre-registration stage, here so that every
    // way in (the JSON endpoint and the hosted page) counts and is refused.
    crate::ip_throttling::before_signup(s, ip)
        .await
        .map_err(SignupFailure::Throttled)?;
    let email = f.email.clone().ok_or(SignupFailure::MissingEmail)?;
    let password = f.password.take().ok_or(SignupFailure::MissingPassword)?;
    UsernameRules::of(&connection.options)
        .check(f.username.as_deref(), true)
        .map_err(SignupFailure::BadUsername)?;
    crate::passwords::check_without_history(connection, &password, &PersonalInfo::of_fields(&f))
        .map_err(SignupFailure::WeakPassword)?;

    if s.store
        .get_user_by_email(s.tid(), &connection.id, &email)
        .await?
        .is_some()
    {
        return Err(SignupFailure::Exists);
    }
    let failed = |what: String| {
        let mut ev = LogEvent::new("fs", what);
        ev.user_name = Some(email.clone());
        ev.connection = Some(connection.name.clone());
        ev.client_id = Some(client.client_id.clone());
        ev
    };
    match crate::lazy::get_user(s, connection, &email).await {
        // An unusable profile still says the legacy store has someone there.
        Ok(LegacyLookup::Found(_) | LegacyLookup::Unusable(_)) => {
            s.log(failed(
                "Signup refused: the user exists in the legacy store".into(),
            ))
            .await;
            return Err(SignupFailure::Exists);
        }
        Ok(LegacyLookup::NotFound) => {}
        Err(e) => {
            s.log(failed(format!(
                "Signup failed: the legacy store could not be asked: {e}"
            )))
            .await;
            return Err(SignupFailure::LegacyUnavailable);
        }
    }
    f.user_id = None;
    let user = if crate::legacy_ops::authoritative(s, connection) {
        // Import mode off: the legacy store creates the user (get_user,
        // create, login); Tern keeps the profile only.
        match crate::legacy_ops::create_user(
            s,
            connection,
            f,
            &password,
            Some(&client.client_id),
            UserSource::Signup,
        )
        .await
        {
            Ok(user) => user,
            Err(e) => {
                s.log(failed(format!("Signup failed in the legacy store: {e}")))
                    .await;
                return Err(match e {
                    LegacyOpError::Exists => SignupFailure::Exists,
                    LegacyOpError::WeakPassword(m) => SignupFailure::WeakPassword(m),
                    other => SignupFailure::Legacy(other),
                });
            }
        }
    } else {
        let state = s.clone();
        // On the bounded hashing pool, as logins: a burst of signups cannot
        // starve them of cores or memory.
        let credential = s
            .hash_pool
            .run(move || state.policy.hash(&password))
            .await
            .map_err(|e| match e {
                PoolError::Busy => SignupFailure::Busy,
                PoolError::Failed => {
                    SignupFailure::Store(CoreError::Storage("password hashing task failed".into()))
                }
            })?;
        let user = users::new_user(f, connection, Some(credential), UserSource::Signup);
        if s.store.insert_user(s.tid(), &user).await? == InsertOutcome::Duplicate {
            return Err(SignupFailure::Exists);
        }
        user
    };
    let mut ev = LogEvent::new("ss", "Success Signup");
    ev.client_id = Some(client.client_id.clone());
    ev.user_id = Some(user.user_id.clone());
    ev.user_name = user.email.clone();
    ev.connection = Some(connection.name.clone());
    s.log(ev).await;
    // Auth0 mails a new user a verification link (in the background).
    crate::verification::after_creation(s, &user, Some(client.client_id.clone()), None).await;
    crate::welcome::after_signup(s, &user, Some(client.client_id.clone())).await;
    Ok(user)
}
