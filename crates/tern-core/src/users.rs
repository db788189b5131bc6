//! Building and changing users from validated profile fields.

use serde_json::Value;

use crate::clock::now_iso;
use crate::model::{Connection, User, UserSource};
use crate::user_profile::ProfileFields;
use crate::{CoreError, CoreResult, ids};

/// Whether `user` was stored after `issued_at` (epoch seconds): a grant,
/// session, access token or ticket issued before then was issued to an
/// earlier user with the same id (deleted, then re-created or re-migrated —
/// ids are reused), never to this one, and must not pass to them. Compared in
/// whole seconds, the precision of what is issued, so a user created in the
/// second a grant was issued to them still holds it.
pub fn created_after(user: &User, issued_at: i64) -> bool {
    crate::clock::epoch_of_iso(&user.created_at).is_some_and(|created| created > issued_at)
}

/// A new user of `connection` from create fields; `credential` is the
/// already-hashed password (hashing is the caller's, off the async runtime).
pub fn new_user(
    f: ProfileFields,
    connection: &Connection,
    credential: Option<String>,
    source: UserSource,
) -> User {
    let now = now_iso();
    let local_id = f.user_id.unwrap_or_else(ids::user_local_id);
    // Auth0 fills name and nickname from the email when they are not given.
    let nickname = f.nickname.or_else(|| {
        f.email
            .as_deref()
            .and_then(|e| e.split('@').next())
            .map(str::to_string)
    });
    let name = f
        .name
        .or_else(|| f.email.clone())
        .or_else(|| f.username.clone());
    User {
        user_id: format!("auth0|{local_id}"),
        connection_id: connection.id.clone(),
        connection_name: connection.name.clone(),
        email: f.email,
        email_verified: f.email_verified.unwrap_or(false),
        username: f.username,
        phone_number: f.phone_number,
        phone_verified: f.phone_verified.unwrap_or(false),
        name,
        given_name: f.given_name,
        family_name: f.family_name,
        nickname,
        picture: f.picture,
        blocked: f.blocked.unwrap_or(false),
        app_metadata: f.app_metadata.unwrap_or_default(),
        user_metadata: f.user_metadata.unwrap_or_default(),
        created_at: now.clone(),
        updated_at: now,
        last_login: None,
        last_ip: None,
        logins_count: 0,
        credential,
        source,
        mfa_factors: Vec::new(),
    }
}

/// Apply `PATCH /users/{id}` fields. Metadata merges at the top level
/// (a `null` value removes the key), as Auth0. The password is not applied
/// here: the caller hashes it and sets `credential`.
pub fn apply_update(user: &mut User, f: ProfileFields) -> CoreResult<()> {
    if f.password.is_some() && f.email.is_some() {
        return Err(CoreError::invalid_body(
            "Cannot update password and email simultaneously.",
        ));
    }
    if f.password.is_some() && f.username.is_some() {
        return Err(CoreError::invalid_body(
            "Cannot update password and username simultaneously.",
        ));
    }
    if let Some(c) = &f.connection
        && c != &user.connection_name
    {
        return Err(CoreError::invalid_body(format!(
            "The user belongs to the connection '{}', not '{c}'.",
            user.connection_name
        )));
    }
    if let Some(email) = f.email {
        if user.email.as_deref() != Some(email.as_str()) {
            // A changed email is unverified unless the caller says otherwise.
            user.email_verified = f.email_verified.unwrap_or(false);
            user.email = Some(email);
        }
    } else if let Some(v) = f.email_verified {
        user.email_verified = v;
    }
    macro_rules! set {
        ($($field:ident),*) => { $( if let Some(v) = f.$field { user.$field = Some(v); } )* };
    }
    set!(
        username,
        phone_number,
        name,
        given_name,
        family_name,
        nickname,
        picture
    );
    if let Some(v) = f.phone_verified {
        user.phone_verified = v;
    }
    if let Some(b) = f.blocked {
        user.blocked = b;
    }
    for (target, patch) in [
        (&mut user.app_metadata, f.app_metadata),
        (&mut user.user_metadata, f.user_metadata),
    ] {
        for (k, v) in patch.unwrap_or_default() {
            if v == Value::Null {
                target.remove(&k);
            } else {
                target.insert(k, v);
            }
        }
    }
    user.updated_at = now_iso();
    Ok(())
}
