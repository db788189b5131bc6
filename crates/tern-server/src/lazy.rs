//! Lazy (automatic) migration at login: a user Tern does not know is checked
//! against the connection's legacy store; on success the profile, metadata
//! and the typed password (hashed under the current policy) are stored in one
//! statement, and the legacy store is never asked about that user again.
//! With import mode off the same login path asks the legacy store every time
//! and keeps only the profile (see `legacy_ops`).

use axum::http::StatusCode;
use serde_json::Value;
use tern_core::legacy::{LegacyLogin, migrated_user};
use tern_core::login::{Verdict, verify_password};
use tern_core::model::{Connection, LogEvent, User, UserSource};
use tern_core::store::InsertOutcome;

use crate::error::OAuthError;
use crate::state::AppState;

/// Whether logins on this connection consult the legacy store: "use my own
/// database" and "import users" are on and a `login` script or a connector
/// (`options.tern_connector`) exists.
pub fn applies(s: &AppState, c: &Connection) -> bool {
    has_source(s, c, "login")
}

/// Whether this password login asks the legacy store: with import mode on,
/// for a user Tern has no credential for; with import mode off (the legacy
/// store stays the source of truth), every time.
pub fn consults_legacy(s: &AppState, c: &Connection, user: Option<&User>) -> bool {
    (applies(s, c) && user.is_none_or(|u| u.credential.is_none()))
        || crate::legacy_ops::authoritative(s, c)
}

/// Whether signup, reset and user creation consult the legacy `get_user`
/// (a script, or a connector).
pub fn applies_get_user(s: &AppState, c: &Connection) -> bool {
    has_source(s, c, "get_user")
}

fn has_source(s: &AppState, c: &Connection, script: &str) -> bool {
    s.legacy.is_some()
        && c.custom_database()
        && c.import_mode()
        && (crate::connectors::configured(c).is_some()
            || c.options
                .get("customScripts")
                .and_then(|m| m.get(script))
                .and_then(Value::as_str)
                .is_some_and(|src| !src.trim().is_empty()))
}

/// Tell the legacy store the user moved (a connector's `mark_migrated`). The
/// user is already stored and logs in either way: a failure is a warning.
async fn mark_migrated(
    s: &AppState,
    connection: &Connection,
    profile: &tern_core::legacy::LegacyProfile,
    ev: &LogEvent,
) {
    let Some(legacy) = s.legacy.as_ref() else {
        return;
    };
    if let Err(e) = legacy.mark_migrated(s.tid(), connection, profile).await {
        tracing::warn!(connection = %connection.name, error = %e, "mark_migrated failed");
        let mut warning = ev.clone();
        warning.kind = "w".into();
        warning.description = Some(format!(
            "User migrated, but the legacy store was not told: {e}"
        ));
        s.log(warning).await;
    }
}

fn wrong() -> OAuthError {
    OAuthError::new(
        StatusCode::FORBIDDEN,
        "invalid_grant",
        "Wrong email or password.",
    )
}

/// Run the legacy login and migrate the user. `existing` is a local user
/// without a credential (imported without a hash, or waiting for a reset),
/// or, with import mode off, the local record of the login name.
pub async fn login(
    s: &AppState,
    connection: &Connection,
    existing: Option<User>,
    username: &str,
    password: &str,
    ev: &mut LogEvent,
) -> Result<User, OAuthError> {
    let Some(legacy) = s.legacy.as_ref() else {
        return Err(wrong());
    };
    let answer = legacy.login(s.tid(), connection, username, password).await;
    let profile = match answer {
        Ok(LegacyLogin::Profile(p)) => *p,
        Ok(LegacyLogin::WrongCredentials { user }) => {
            ev.kind = if user.is_some() { "fp" } else { "fu" }.into();
            ev.description = Some("Wrong email or password. (legacy store)".into());
            s.log(ev.clone()).await;
            return Err(wrong());
        }
        Err(e) => {
            ev.kind = "f".into();
            ev.description = Some(format!("Legacy login failed; nothing was stored: {e}"));
            s.log(ev.clone()).await;
            return Err(OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The legacy user store could not verify the credentials; try again later.",
            ));
        }
    };
    if crate::legacy_ops::authoritative(s, connection) {
        // Import mode off: keep the profile so tokens have a subject; the
        // password stays the legacy store's.
        let kept =
            crate::legacy_ops::keep_profile(s, connection, existing, profile, UserSource::Legacy)
                .await;
        return match kept {
            Ok(user) => Ok(user),
            Err(crate::legacy_ops::LegacyOpError::Store(e)) => Err(e.into()),
            Err(e) => {
                ev.kind = "f".into();
                ev.description = Some(format!(
                    "Legacy login succeeded but the user could not be kept: {e}"
                ));
                s.log(ev.clone()).await;
                Err(wrong())
            }
        };
    }
    let profile_copy = profile.clone();
    let state = s.clone();
    let pw = password.to_string();
    let credential = tokio::task::spawn_blocking(move || state.policy.hash(&pw))
        .await
        .map_err(|_| OAuthError::server_error())?;

    if let Some(mut user) = existing {
        // Known locally without a password: the legacy login proves the typed
        // password, which becomes the credential (Auth0 would force a reset).
        if user.local_id() != profile.user_id {
            ev.kind = "f".into();
            ev.description = Some(format!(
                "Legacy login returned user_id '{}' for the existing user {}; refusing to merge two identities",
                profile.user_id, user.user_id
            ));
            s.log(ev.clone()).await;
            return Err(wrong());
        }
        user.credential = Some(credential);
        if user.app_metadata.is_empty() {
            user.app_metadata = profile.app_metadata;
        }
        if user.user_metadata.is_empty() {
            user.user_metadata = profile.user_metadata;
        }
        s.store.update_user(s.tid(), &user).await?;
        mark_migrated(s, connection, &profile_copy, ev).await;
        return Ok(user);
    }

    let user = migrated_user(profile, connection, Some(credential), UserSource::LazyLogin);
    match s.store.insert_user(s.tid(), &user).await? {
        InsertOutcome::Inserted => {
            mark_migrated(s, connection, &profile_copy, ev).await;
            Ok(user)
        }
        InsertOutcome::Duplicate => {
            // Another login of the same user won the race (or the id/email is
            // taken): log in against what is stored, never create a second user.
            let stored = match s.store.get_user(s.tid(), &user.user_id).await? {
                Some(u) => Some(u),
                None => match &user.email {
                    Some(e) => {
                        s.store
                            .get_user_by_email(s.tid(), &connection.id, e)
                            .await?
                    }
                    None => None,
                },
            };
            let Some(stored) = stored else {
                return Err(wrong());
            };
            let state = s.clone();
            let pw = password.to_string();
            let check = stored.clone();
            let verdict = tokio::task::spawn_blocking(move || {
                verify_password(Some(&check), &pw, &state.policy)
            })
            .await
            .map_err(|_| OAuthError::server_error())?;
            if matches!(verdict, Verdict::Valid { .. }) {
                Ok(stored)
            } else {
                ev.kind = "f".into();
                ev.description = Some(format!(
                    "Legacy login succeeded but {} already exists with another password or id; not migrated twice",
                    stored.user_id
                ));
                s.log(ev.clone()).await;
                Err(wrong())
            }
        }
    }
}
