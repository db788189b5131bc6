//! Connections whose legacy store stays the source of truth: a custom
//! database with import mode **off**, as Auth0. Every login runs the legacy
//! `login`; signups and `POST /users` run `get_user`, `create`, then `login`
//! (Auth0's create sequence); verifying an email runs `verify`, a new
//! password `change_password`, a new email `change_email`, a deletion
//! `delete`. Tern keeps a profile per user so tokens have a subject (Auth0's
//! shadow record) and never a credential. A failing script changes nothing
//! locally.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use tern_core::CoreError;
use tern_core::legacy::{LegacyCreate, LegacyError, LegacyLogin, LegacyProfile, migrated_user};
use tern_core::model::{Connection, User, UserSource};
use tern_core::password_policy::{PersonalInfo, Refusal};
use tern_core::store::InsertOutcome;
use tern_core::tickets::update_closes_tickets;
use tern_core::user_profile::ProfileFields;

use crate::error::{ApiError, OAuthError};
use crate::legacy_ids::{Holder, holder};
use crate::state::AppState;

/// Whether the connection's legacy store is the source of truth (custom
/// database on, import mode off).
pub fn authoritative(s: &AppState, c: &Connection) -> bool {
    s.legacy.is_some() && c.custom_database() && !c.import_mode()
}

/// Why a legacy operation did not happen; nothing was changed locally.
#[derive(Debug)]
pub enum LegacyOpError {
    /// The script (or connector) failed or reported an error.
    Legacy(LegacyError),
    /// The legacy store already has the user.
    Exists,
    /// The legacy store answered "not done" (`callback(null, false)`).
    NotDone(String),
    /// The legacy store's answer contradicts what Tern stores (another id
    /// for the same email, an email another user has).
    Conflict(String),
    /// The new password does not meet the connection's rules.
    WeakPassword(Refusal),
    /// Tern's own store failed.
    Store(CoreError),
}

impl From<CoreError> for LegacyOpError {
    fn from(e: CoreError) -> Self {
        Self::Store(e)
    }
}

impl From<LegacyError> for LegacyOpError {
    fn from(e: LegacyError) -> Self {
        Self::Legacy(e)
    }
}

impl From<LegacyOpError> for ApiError {
    fn from(e: LegacyOpError) -> Self {
        let idp = |status, msg: String| ApiError::new(status, "auth0_idp_error", msg);
        match e {
            LegacyOpError::Legacy(e) => idp(
                StatusCode::BAD_REQUEST,
                format!(
                    "The connection's legacy store did not complete the operation; nothing was changed: {e}"
                ),
            ),
            LegacyOpError::Exists => idp(StatusCode::CONFLICT, "The user already exists.".into()),
            LegacyOpError::NotDone(m) => idp(StatusCode::BAD_REQUEST, m),
            LegacyOpError::Conflict(m) => idp(StatusCode::CONFLICT, m),
            LegacyOpError::WeakPassword(r) => crate::passwords::refused(&r),
            LegacyOpError::Store(e) => e.into(),
        }
    }
}

impl LegacyOpError {
    /// The answer of a public endpoint (`/dbconnections/*`): the end user
    /// learns whether the account exists or the password is weak, never the
    /// script's internals (those go to the tenant log).
    pub fn to_oauth(&self, exists_code: &'static str) -> OAuthError {
        match self {
            Self::Exists => OAuthError::new(
                StatusCode::BAD_REQUEST,
                exists_code,
                "The user already exists",
            ),
            Self::WeakPassword(r) => {
                OAuthError::new(StatusCode::BAD_REQUEST, "invalid_password", r.to_string())
            }
            Self::Store(_) => OAuthError::server_error(),
            Self::Legacy(_) | Self::NotDone(_) | Self::Conflict(_) => OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The legacy user store could not complete the request; try again later.",
            ),
        }
    }
}

impl std::fmt::Display for LegacyOpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Legacy(e) => write!(f, "{e}"),
            Self::Exists => f.write_str("the user already exists in the legacy store"),
            Self::NotDone(m) | Self::Conflict(m) => f.write_str(m),
            Self::WeakPassword(r) => write!(f, "{r}"),
            Self::Store(e) => write!(f, "{e}"),
        }
    }
}

fn check_password(
    connection: &Connection,
    password: &str,
    who: &PersonalInfo<'_>,
) -> Result<(), LegacyOpError> {
    crate::passwords::check_without_history(connection, password, who)
        .map_err(LegacyOpError::WeakPassword)
}

/// Keep (create or refresh) the local record of a user the legacy store
/// just authenticated. `existing` is the local user found for the login
/// name. Never touches the credential.
pub async fn keep_profile(
    s: &AppState,
    connection: &Connection,
    existing: Option<User>,
    profile: LegacyProfile,
    source: UserSource,
) -> Result<User, LegacyOpError> {
    if let Some(user) = existing {
        return refresh(s, connection, user, profile).await;
    }
    let user = migrated_user(profile.clone(), connection, None, source);
    match s.store.insert_user(s.tid(), &user).await? {
        InsertOutcome::Inserted => Ok(user),
        InsertOutcome::Duplicate => {
            // A concurrent first login won, or the legacy email changed:
            // the record with this id is the one to refresh — if it is this
            // connection's.
            let name = profile
                .email
                .clone()
                .or_else(|| profile.username.clone())
                .unwrap_or_default();
            match holder(s, connection, "login", &profile.user_id, &name).await? {
                Holder::Same(stored) => refresh(s, connection, *stored, profile).await,
                Holder::Other(why) => Err(LegacyOpError::Conflict(why)),
                Holder::Free => Err(LegacyOpError::Conflict(format!(
                    "The legacy store returned user_id '{}', but another user of the connection already has its email or username.",
                    profile.user_id
                ))),
            }
        }
    }
}

async fn refresh(
    s: &AppState,
    connection: &Connection,
    mut user: User,
    p: LegacyProfile,
) -> Result<User, LegacyOpError> {
    if user.local_id() != p.user_id || user.connection_id != connection.id {
        return Err(LegacyOpError::Conflict(format!(
            "The legacy store returned user_id '{}' for the existing user {}; refusing to merge two identities.",
            p.user_id, user.user_id
        )));
    }
    let before = user.clone();
    // The legacy store is the truth for who the user is…
    if let Some(email) = p.email
        && user.email.as_deref() != Some(email.as_str())
    {
        // A changed email is unverified unless the script says otherwise
        // (Auth0's rule, as `PATCH` applies it): the old address's proof
        // says nothing about the new one.
        user.email = Some(email);
        user.email_verified = p.email_verified;
    } else {
        // …but most scripts never return email_verified: for the same
        // email, never downgrade it.
        user.email_verified |= p.email_verified;
    }
    if p.username.is_some() {
        user.username = p.username;
    }
    // Root attributes follow Auth0's "sync user profile attributes at each login".
    if connection
        .options
        .get("set_user_root_attributes")
        .and_then(Value::as_str)
        == Some("on_each_login")
    {
        for (field, v) in [
            (&mut user.name, p.name),
            (&mut user.given_name, p.given_name),
            (&mut user.family_name, p.family_name),
            (&mut user.nickname, p.nickname),
            (&mut user.picture, p.picture),
        ] {
            if v.is_some() {
                *field = v;
            }
        }
    }
    if user.app_metadata.is_empty() {
        user.app_metadata = p.app_metadata;
    }
    if user.user_metadata.is_empty() {
        user.user_metadata = p.user_metadata;
    }
    if user == before {
        return Ok(user);
    }
    user.updated_at = tern_core::clock::now_iso();
    // A new email from the legacy store closes the links sent to the old one.
    let stored = if update_closes_tickets(&before, &user, false) {
        let ends_sessions = tern_core::tickets::update_ends_sessions(&before, &user, false);
        s.store
            .update_user_closing_tickets(s.tid(), &user, ends_sessions)
            .await?
    } else {
        s.store.update_user(s.tid(), &user).await?
    };
    match stored {
        Some(InsertOutcome::Inserted) => Ok(user),
        None => Err(LegacyOpError::Conflict(format!(
            "{} was deleted meanwhile",
            user.user_id
        ))),
        Some(InsertOutcome::Duplicate) => Err(LegacyOpError::Conflict(format!(
            "The legacy store gives {} an email or username another user of the connection has.",
            user.user_id
        ))),
    }
}

/// Auth0's create sequence on an authoritative connection: `get_user` (the
/// user must not exist), `create` with Auth0's user object, then `login`
/// with the new credentials for the legacy id, then the local record —
/// carrying the request's metadata and names where the legacy profile has none.
pub async fn create_user(
    s: &AppState,
    connection: &Connection,
    f: ProfileFields,
    password: &str,
    client_id: Option<&str>,
    source: UserSource,
) -> Result<User, LegacyOpError> {
    let legacy = s
        .legacy
        .as_ref()
        .ok_or_else(|| LegacyOpError::Legacy(LegacyError("no legacy source".into())))?;
    check_password(connection, password, &PersonalInfo::of_fields(&f))?;
    let login_name = f
        .email
        .clone()
        .or_else(|| f.username.clone())
        .ok_or_else(|| LegacyOpError::NotDone("An email or username is required.".into()))?;
    if let Some(email) = &f.email
        && legacy.get_user(s.tid(), connection, email).await?.is_some()
    {
        return Err(LegacyOpError::Exists);
    }
    let mut object = Map::new();
    object.insert("tenant".into(), json!(s.tenant.name));
    if let Some(c) = client_id {
        object.insert("client_id".into(), json!(c));
    }
    object.insert("connection".into(), json!(connection.name));
    for (k, v) in [
        ("email", &f.email),
        ("username", &f.username),
        ("phone_number", &f.phone_number),
        ("name", &f.name),
        ("given_name", &f.given_name),
        ("family_name", &f.family_name),
        ("nickname", &f.nickname),
        ("picture", &f.picture),
    ] {
        if let Some(v) = v {
            object.insert(k.into(), json!(v));
        }
    }
    object.insert("password".into(), json!(password));
    object.insert(
        "email_verified".into(),
        json!(f.email_verified.unwrap_or(false)),
    );
    for (k, v) in [
        ("user_metadata", &f.user_metadata),
        ("app_metadata", &f.app_metadata),
    ] {
        if let Some(v) = v {
            object.insert(k.into(), Value::Object(v.clone()));
        }
    }
    match legacy
        .create(s.tid(), connection, &Value::Object(object))
        .await?
    {
        LegacyCreate::Created => {}
        LegacyCreate::UserExists(_) => return Err(LegacyOpError::Exists),
    }
    let profile = match legacy
        .login(s.tid(), connection, &login_name, password)
        .await?
    {
        LegacyLogin::Profile(p) => *p,
        LegacyLogin::WrongCredentials { .. } => {
            return Err(LegacyOpError::NotDone(
                "The create script succeeded but the login script does not accept the new user's credentials, so Tern has no legacy id for it; fix the scripts (the user may now exist in the legacy store).".into(),
            ));
        }
    };
    let mut p = profile;
    p.email_verified |= f.email_verified.unwrap_or(false);
    for (mine, given) in [
        (&mut p.name, f.name),
        (&mut p.given_name, f.given_name),
        (&mut p.family_name, f.family_name),
        (&mut p.nickname, f.nickname),
        (&mut p.picture, f.picture),
    ] {
        if mine.is_none() {
            *mine = given;
        }
    }
    if p.user_metadata.is_empty() {
        p.user_metadata = f.user_metadata.unwrap_or_default();
    }
    if p.app_metadata.is_empty() {
        p.app_metadata = f.app_metadata.unwrap_or_default();
    }
    match holder(s, connection, "login", &p.user_id, &login_name).await? {
        Holder::Free => keep_profile(s, connection, None, p, source).await,
        Holder::Same(_) => Err(LegacyOpError::Exists),
        Holder::Other(why) => Err(LegacyOpError::Conflict(why)),
    }
}

/// What [`on_update`] did in the legacy store.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LegacyUpdate {
    /// The password was set in the legacy store: Tern must not store it.
    pub password_handled: bool,
}

/// Before `PATCH /users/{id}` is stored: on an authoritative connection, run
/// `change_email` (email changed), `verify` (email_verified turned on) and
/// `change_password` (password given), in that order, each stopping the
/// update on failure.
pub async fn on_update(
    s: &AppState,
    before: &User,
    after: &User,
    password: Option<&str>,
) -> Result<LegacyUpdate, LegacyOpError> {
    let Some(connection) = s
        .store
        .get_connection(s.tid(), &before.connection_id)
        .await?
    else {
        return Ok(LegacyUpdate::default());
    };
    if !authoritative(s, &connection) {
        return Ok(LegacyUpdate::default());
    }
    let Some(legacy) = s.legacy.as_ref() else {
        return Ok(LegacyUpdate::default());
    };
    if let Some(pw) = password {
        check_password(&connection, pw, &PersonalInfo::of_user(after))?;
    }
    let email_changed = after.email != before.email;
    if email_changed
        && let (Some(old), Some(new)) = (&before.email, &after.email)
        && !legacy
            .change_email(s.tid(), &connection, old, new, after.email_verified)
            .await?
    {
        return Err(LegacyOpError::NotDone(
            "The change_email script answered that the email was not changed (callback(null, false)); nothing was changed.".into(),
        ));
    }
    if !email_changed
        && after.email_verified
        && !before.email_verified
        && let Some(email) = &after.email
    {
        legacy.verify(s.tid(), &connection, email).await?;
    }
    let mut done = LegacyUpdate::default();
    if let Some(pw) = password {
        let name = after
            .email
            .as_deref()
            .or(after.username.as_deref())
            .unwrap_or_default();
        legacy_change_password(s, &connection, name, pw, &PersonalInfo::of_user(after)).await?;
        done.password_handled = true;
    }
    Ok(done)
}

/// Set a new password in an authoritative connection's legacy store
/// (`changePassword(email, newPassword, callback)`). Password resets call
/// this instead of storing a credential when [`authoritative`] holds;
/// `Ok(())` only when the store said it changed the password. `who` is the
/// user whose password it is, for the connection's personal-info rule.
pub async fn legacy_change_password(
    s: &AppState,
    connection: &Connection,
    email: &str,
    new_password: &str,
    who: &PersonalInfo<'_>,
) -> Result<(), LegacyOpError> {
    let legacy = s
        .legacy
        .as_ref()
        .ok_or_else(|| LegacyOpError::Legacy(LegacyError("no legacy source".into())))?;
    check_password(connection, new_password, who)?;
    if legacy
        .change_password(s.tid(), connection, email, new_password)
        .await?
    {
        Ok(())
    } else {
        Err(LegacyOpError::NotDone(
            "The change_password script answered that the password was not changed (callback(null, false)).".into(),
        ))
    }
}

/// Before `DELETE /users/{id}`: on an authoritative connection the legacy
/// `delete` must succeed first (Auth0: "Please implement the Delete script").
pub async fn on_delete(s: &AppState, user: &User) -> Result<(), LegacyOpError> {
    let Some(connection) = s.store.get_connection(s.tid(), &user.connection_id).await? else {
        return Ok(());
    };
    let Some(legacy) = s.legacy.as_ref().filter(|_| authoritative(s, &connection)) else {
        return Ok(());
    };
    legacy
        .delete(s.tid(), &connection, user.local_id())
        .await
        .map_err(LegacyOpError::Legacy)
}
