//! Changing and deleting users: the one code path behind
//! `PATCH`/`DELETE /api/v2/users/{id}` and the console's user actions
//! (block, unblock, delete), so both apply the same rules — profile
//! validation, the legacy store's hooks when import mode is off, reset
//! links closed by a block or a new password, brute-force blocks lifted by a
//! new password. Both take the [`Changer`]: a Management API client needs
//! every scope to change an operator (`console_app::guard_user_change`),
//! checked before anything is written.

use axum::http::StatusCode;
use serde_json::Value;
use tern_core::model::{Connection, User};
use tern_core::store::{InsertOutcome, ProfileWrite};
use tern_core::user_profile::{ProfileFields, ProfileRequest, UsernameRules};
use tern_core::{tickets, users};

use crate::console_app::Changer;
use crate::error::ApiError;
use crate::lazy::LegacyLookup;
use crate::passwords::{Owner, hash_new_password};
use crate::state::AppState;

/// Auth0's answer for a user that does not exist.
pub fn user_not_found() -> ApiError {
    ApiError::not_found("inexistent_user", "The user does not exist.")
}

/// The tenant's user `id`, or Auth0's 404 for a user that does not exist.
pub async fn known_user(s: &AppState, id: &str) -> Result<User, ApiError> {
    s.store
        .get_user(s.tid(), id)
        .await?
        .ok_or_else(user_not_found)
}

/// Auth0's answer for a user that exists already.
pub fn user_exists() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "auth0_idp_error",
        "The user already exists.",
    )
}

/// With lazy migration on (`get_user`), an email the legacy store gives to a
/// user other than `own_local_id` is taken, as Auth0 checks before creating
/// a user or changing an email: it would be a second account for one person.
pub async fn refuse_legacy_email(
    s: &AppState,
    connection: &Connection,
    email: &str,
    own_local_id: Option<&str>,
) -> Result<(), ApiError> {
    if !crate::lazy::applies(s, connection) && !crate::lazy::applies_get_user(s, connection) {
        return Ok(());
    }
    match crate::lazy::get_user(s, connection, email).await {
        Ok(LegacyLookup::NotFound) => Ok(()),
        Ok(LegacyLookup::Found(p)) if Some(p.user_id.as_str()) == own_local_id => Ok(()),
        // An unusable profile still says the legacy store has someone there.
        Ok(LegacyLookup::Found(_) | LegacyLookup::Unusable(_)) => Err(user_exists()),
        Err(e) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            format!(
                "The legacy user store could not be asked whether the email is taken (get_user): {e}"
            ),
        )),
    }
}

async fn load(s: &AppState, id: &str) -> Result<User, ApiError> {
    s.store
        .get_user(s.tid(), id)
        .await?
        .ok_or_else(user_not_found)
}

/// Apply a `PATCH /users/{id}` body to the user; the user as stored.
pub async fn update(
    s: &AppState,
    id: &str,
    body: &Value,
    by: Changer<'_>,
) -> Result<User, ApiError> {
    let f = ProfileFields::from_json(body, ProfileRequest::Update)?;
    let mut user = load(s, id).await?;
    by.may_change(&user.connection_name)?;
    let before = user.clone();
    let password = f.password.clone();
    let new_email = f.email.clone().filter(|e| user.email.as_ref() != Some(e));
    let new_username = f.username.clone();
    // The metadata changes go to the store as changes: it applies them to
    // the documents stored when it writes, so two edits of different keys
    // (or an edit and a login's actions) both land.
    let metadata = tern_core::users::MetadataEdit::from_patch(
        f.app_metadata.as_ref(),
        f.user_metadata.as_ref(),
    );
    let metadata_changed = !metadata.is_empty();
    users::apply_update(&mut user, f)?;
    let connection = || async {
        s.store
            .get_connection(s.tid(), &user.connection_id)
            .await?
            .ok_or_else(user_not_found)
    };
    if new_username.is_some() {
        let connection = connection().await?;
        UsernameRules::of(&connection.options).check(new_username.as_deref(), false)?;
    }
    if let Some(email) = new_email {
        let connection = connection().await?;
        refuse_legacy_email(s, &connection, &email, Some(user.local_id())).await?;
    }
    // Import mode off: the legacy store applies the change first.
    let legacy = crate::legacy_ops::on_update(s, &before, &user, password.as_deref()).await?;
    // A new password (here or in the legacy store), a new email or a block
    // closes the reset links already sent, in the same transaction.
    let new_password = password.is_some();
    let mut write = ProfileWrite {
        // `PATCH` never sets enrollments; a password, below, sets the credential.
        credential: false,
        mfa_factors: false,
        close_tickets: tickets::update_closes_tickets(&before, &user, new_password),
        end_sessions: tickets::update_ends_sessions(&before, &user, new_password),
        metadata: Some(metadata),
    };
    if let Some(pw) = password.filter(|_| !legacy.password_handled) {
        let connection = connection().await?;
        user.credential =
            Some(hash_new_password(s, &connection, Owner::Existing(&user), pw).await?);
        write.credential = true;
    }
    // Only a new password writes the credential: the one read above may be
    // stale by now (a reset in between), and writing it back would undo it.
    let stored = s.store.update_profile(s.tid(), &user, write).await?;
    match stored {
        None => Err(user_not_found()),
        Some(InsertOutcome::Duplicate) => Err(user_exists()),
        Some(InsertOutcome::Inserted) => {
            if new_password {
                // A new password lifts brute-force blocks, as a reset does.
                crate::brute_force::password_changed(s, &user).await;
            }
            // The answer shows the metadata as stored (with changes made
            // since this request read the user) and the login fields as
            // they are now.
            if metadata_changed {
                return load(s, id).await;
            }
            Ok(user)
        }
    }
}

/// Delete a user (none: nothing to do). Import mode off: the legacy store
/// deletes first, or nothing is deleted.
pub async fn delete(s: &AppState, id: &str, by: Changer<'_>) -> Result<(), ApiError> {
    let Some(user) = s.store.get_user(s.tid(), id).await? else {
        return Ok(());
    };
    by.may_change(&user.connection_name)?;
    crate::legacy_ops::on_delete(s, &user).await?;
    s.store.delete_user(s.tid(), id).await?;
    Ok(())
}
