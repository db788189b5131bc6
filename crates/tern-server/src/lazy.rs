//! Lazy (automatic) migration at login: a user Tern does not know is checked
//! against the connection's legacy store; on success the profile, metadata
//! and the typed password (hashed under the current policy) are stored in one
//! statement, and the legacy store is never asked about that user again.
//! Signup, password resets, `POST /users` and email changes ask `get_user`
//! (the second half of this file); legacy answers that contradict stored
//! users are refused and logged as warnings (`w`).
//! With import mode off the same login path asks the legacy store every time
//! and keeps only the profile (see `legacy_ops`).

use serde_json::{Value, json};
use tern_core::CoreError;
use tern_core::legacy::{
    LegacyError, LegacyLogin, LegacyProfile, get_user_conflict, login_conflict, migrated_user,
};
use tern_core::login::{Verdict, verify_password};
use tern_core::model::{Connection, LogEvent, User, UserSource};
use tern_core::store::InsertOutcome;

use crate::legacy_ids::{Holder, holder, warn};
use crate::login::LoginFailure;
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

fn wrong() -> LoginFailure {
    LoginFailure::WrongCredentials
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
) -> Result<User, LoginFailure> {
    let Some(legacy) = s.legacy.as_ref() else {
        return Err(wrong());
    };
    let ip = ev.ip.clone();
    let answer = legacy
        .login_from(s.tid(), connection, username, password, ip.as_deref())
        .await;
    let profile = match answer {
        Ok(LegacyLogin::Profile(p)) => *p,
        Ok(LegacyLogin::WrongCredentials { user }) => {
            ev.kind = if user.is_some() { "fp" } else { "fu" }.into();
            ev.description = Some("Wrong email or password. (legacy store)".into());
            s.log(ev.clone()).await;
            return Err(wrong());
        }
        Err(e) => {
            if e.is_unusable_profile() {
                let why = format!("login for '{username}' refused: {e}");
                warn(s, connection, username, &why, json!({"username": username})).await;
            }
            ev.kind = "f".into();
            ev.description = Some(format!("Legacy login failed; nothing was stored: {e}"));
            s.log(ev.clone()).await;
            return Err(LoginFailure::LegacyUnavailable);
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
    let credential = s
        .hash_pool
        .run(move || state.policy.hash(&pw))
        .await
        .map_err(LoginFailure::from)?;

    if let Some(user) = existing {
        // Known locally without a password: the legacy login proves the typed
        // password, which becomes the credential (Auth0 would force a reset).
        if let Some(why) = login_conflict(&profile, &user) {
            let details =
                json!({"legacy_user_id": profile.user_id, "stored_user_id": user.user_id});
            warn(s, connection, username, &why, details).await;
            ev.kind = "f".into();
            ev.description = Some(format!(
                "Legacy login returned user_id '{}' for the existing user {}; refusing to merge two identities",
                profile.user_id, user.user_id
            ));
            s.log(ev.clone()).await;
            return Err(wrong());
        }
        return set_first_credential(s, connection, &user, &profile, &credential, password, ev)
            .await;
    }

    let mut user = migrated_user(
        profile,
        connection,
        Some(credential.clone()),
        UserSource::LazyLogin,
    );
    if !crate::mfa::seal_user(&s.secrets, s.tid(), &mut user) {
        return Err(LoginFailure::Internal);
    }
    match s.store.insert_user(s.tid(), &user).await? {
        InsertOutcome::Inserted => {
            mark_migrated(s, connection, &profile_copy, ev).await;
            Ok(user)
        }
        InsertOutcome::Duplicate => {
            // Another login of the same user won the race, a lazy reset
            // created the user meanwhile, or the id/email is taken: log in
            // against what is stored, never create a second user.
            let by_id = holder(s, connection, "login", &profile_copy.user_id, username).await?;
            let stored = match by_id {
                Holder::Other(why) => {
                    ev.kind = "f".into();
                    ev.description = Some(why);
                    s.log(ev.clone()).await;
                    return Err(wrong());
                }
                Holder::Same(u) => Some(*u),
                Holder::Free => match &user.email {
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
            // The email is held under another id: never log in as that user.
            if let Some(why) = login_conflict(&profile_copy, &stored) {
                let details = json!({"legacy_user_id": profile_copy.user_id, "stored_user_id": stored.user_id});
                warn(s, connection, username, &why, details).await;
                ev.kind = "f".into();
                ev.description = Some(why);
                s.log(ev.clone()).await;
                return Err(wrong());
            }
            if stored.credential.is_none() {
                // Created a moment ago without a password (a lazy reset, the
                // issue's race): this login proves the password; it becomes
                // that same user's credential.
                return set_first_credential(
                    s,
                    connection,
                    &stored,
                    &profile_copy,
                    &credential,
                    password,
                    ev,
                )
                .await;
            }
            matches_stored(s, stored, password, ev).await
        }
    }
}

/// Give `user` (of `connection`, stored without a credential) the credential
/// the legacy login just proved, atomically: only while it still has none.
/// If a concurrent login or reset set one first, this login must match it.
async fn set_first_credential(
    s: &AppState,
    connection: &Connection,
    user: &User,
    profile: &LegacyProfile,
    credential: &str,
    password: &str,
    ev: &mut LogEvent,
) -> Result<User, LoginFailure> {
    let set = s
        .store
        .set_first_credential(
            s.tid(),
            &connection.id,
            &user.user_id,
            credential,
            &profile.app_metadata,
            &profile.user_metadata,
        )
        .await?;
    let Some(stored) = s.store.get_user(s.tid(), &user.user_id).await? else {
        return Err(wrong()); // deleted meanwhile
    };
    if set {
        mark_migrated(s, connection, profile, ev).await;
        return Ok(stored);
    }
    matches_stored(s, stored, password, ev).await
}

/// The legacy login succeeded but the user is stored with a credential
/// already (another login won the race): this login must match it.
async fn matches_stored(
    s: &AppState,
    stored: User,
    password: &str,
    ev: &mut LogEvent,
) -> Result<User, LoginFailure> {
    let state = s.clone();
    let pw = password.to_string();
    let check = stored.clone();
    let verdict = s
        .hash_pool
        .run(move || verify_password(Some(&check), &pw, &state.policy))
        .await
        .map_err(LoginFailure::from)?;
    if matches!(verdict, Verdict::Valid { .. }) {
        Ok(stored)
    } else if let Verdict::OverCostLimit(over) = verdict {
        ev.kind = "f".into();
        ev.description = Some(format!(
            "Password not verified against the stored {}: {over}",
            stored.user_id
        ));
        s.log(ev.clone()).await;
        Err(wrong())
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

// ------------------------------------------------------------- get_user
//
// Signup, password resets, `POST /users` and email changes ask the legacy
// store whether an email names a user (`get_user`). A reset of a user Tern
// does not know carries the profile in its ticket; the link creates the
// user with the new password, in one insert.

/// What `get_user` says about an email.
#[derive(Debug, Clone, PartialEq)]
pub enum LegacyLookup {
    /// Not in the legacy store, or the connection does not consult one.
    NotFound,
    /// The legacy user.
    Found(Box<LegacyProfile>),
    /// The store answered with a profile Tern refuses (no stable id, no
    /// email); a `w` event says why.
    Unusable(String),
}

/// Why a connection in import mode with a `login` script (users to
/// migrate) but no `get_user` cannot say whether a user exists (Auth0's
/// template error).
pub const MISSING_GET_USER: &str = "Please implement the Get User script for this database connection: with import mode on, Tern asks it whether the legacy store has a user before creating one (signup, POST /users, email changes)";

/// Ask the connection's `get_user` about `email`. `Err`: the legacy store
/// could not answer (the caller logs it with its own event type).
pub async fn get_user(
    s: &AppState,
    connection: &Connection,
    email: &str,
) -> Result<LegacyLookup, LegacyError> {
    let Some(legacy) = s
        .legacy
        .as_ref()
        .filter(|_| applies_get_user(s, connection))
    else {
        if applies(s, connection) {
            // Without it, "not found" would let anyone create (sign up) a
            // user the legacy store has and who has not migrated yet, and
            // lock its owner out: Auth0 fails here too.
            return Err(LegacyError(MISSING_GET_USER.into()));
        }
        return Ok(LegacyLookup::NotFound);
    };
    match legacy.get_user(s.tid(), connection, email).await {
        Ok(Some(p)) => Ok(LegacyLookup::Found(Box::new(p))),
        Ok(None) => Ok(LegacyLookup::NotFound),
        Err(e) if e.is_unusable_profile() => {
            let why = format!("get_user for '{email}' refused: {e}");
            warn(s, connection, email, &why, json!({"email": email})).await;
            Ok(LegacyLookup::Unusable(why))
        }
        Err(e) => Err(e),
    }
}

/// What a reset of a user only the legacy store knows comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum ResetMigration {
    /// Stored already (a login or another path migrated them meanwhile).
    Stored(Box<User>),
    /// Not stored: the user the ticket will create with the new password,
    /// and the profile (TOTP seeds sealed) the ticket carries until then.
    Pending {
        /// The user as it will be created (no credential yet).
        user: Box<User>,
        /// The `get_user` profile, seeds sealed.
        profile: Box<LegacyProfile>,
    },
    /// A guard refused the profile; a `w` event says what and which ids.
    Refused(String),
}

/// Check the profile `get_user` returned for `email` against the stored
/// users — a profile that contradicts one (another email, an id held
/// under another email) is refused and logged as a warning — and, when
/// the user is not stored, prepare what the reset ticket carries. Nothing
/// is written: the user is created, with the new password, only when the
/// link is used (one insert, `reset::redeem`), as Auth0 creates an
/// un-migrated user who confirms a password change.
pub async fn prepare_reset(
    s: &AppState,
    connection: &Connection,
    email: &str,
    mut profile: LegacyProfile,
) -> Result<ResetMigration, CoreError> {
    let stored = match holder(s, connection, "get_user", &profile.user_id, email).await? {
        Holder::Other(why) => return Ok(ResetMigration::Refused(why)),
        Holder::Same(u) => Some(*u),
        Holder::Free => None,
    };
    if let Some(why) = get_user_conflict(email, &profile, stored.as_ref()) {
        let details = json!({"email": email, "legacy_user_id": profile.user_id, "stored_user_id": stored.as_ref().map(|u| &u.user_id)});
        warn(s, connection, email, &why, details).await;
        return Ok(ResetMigration::Refused(why));
    }
    if let Some(u) = stored {
        return Ok(ResetMigration::Stored(Box::new(u)));
    }
    let mut user = migrated_user(profile.clone(), connection, None, UserSource::LazyReset);
    // The ticket row holds the profile until the link is used: its seeds
    // are sealed before it is stored, as in any user row.
    if !crate::mfa::seal_user(&s.secrets, s.tid(), &mut user) {
        return Err(CoreError::Storage("cannot seal a TOTP seed".into()));
    }
    profile.mfa_factors = user.mfa_factors.clone();
    Ok(ResetMigration::Pending {
        user: Box::new(user),
        profile: Box::new(profile),
    })
}

/// The user a lazy-reset ticket stands for while it is not stored (for
/// the reset page: who is choosing a password).
pub fn pending_reset_user(profile: &LegacyProfile, connection: &Connection) -> User {
    migrated_user(profile.clone(), connection, None, UserSource::LazyReset)
}

/// The user a lazy-reset ticket creates, with `credential` (the new
/// password's hash), `email_verified` set when the ticket says so.
pub fn user_for_reset(
    profile: &LegacyProfile,
    connection: &Connection,
    credential: &str,
    mark_email_verified: bool,
) -> User {
    let mut user = migrated_user(
        profile.clone(),
        connection,
        Some(credential.to_string()),
        UserSource::LazyReset,
    );
    user.email_verified |= mark_email_verified;
    user
}

/// After a reset created a user from the legacy profile: tell the legacy
/// store (a connector's `mark_migrated`).
pub async fn reset_created(
    s: &AppState,
    connection: &Connection,
    profile: &LegacyProfile,
    user: &User,
) {
    let mut ev = LogEvent::new("w", "");
    ev.user_id = Some(user.user_id.clone());
    ev.user_name = user.email.clone();
    ev.connection = Some(connection.name.clone());
    ev.connection_id = Some(connection.id.clone());
    mark_migrated(s, connection, profile, &ev).await;
}
