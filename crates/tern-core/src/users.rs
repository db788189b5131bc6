//! Building and changing users from validated profile fields.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

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

/// Changes to one of a user's metadata documents, as Auth0 applies them
/// (`PATCH /users/{id}`, an action's `api.user.setAppMetadata` /
/// `setUserMetadata`): top-level keys set (the last value given wins) or
/// removed (`None`, from a `null`). Kept as changes, not as the document
/// they were made against, so the store applies them to the document
/// stored when it writes: an edit made meanwhile (another `PATCH`, an
/// action's write) survives unless it set the same key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataChanges(pub BTreeMap<String, Option<Value>>);

impl MetadataChanges {
    /// Record one call: `value` null removes the key.
    pub fn set(&mut self, key: &str, value: &Value) {
        let v = (!value.is_null()).then(|| value.clone());
        self.0.insert(key.to_string(), v);
    }

    /// Whether no call was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Apply the changes to a document.
    pub fn apply_to(&self, doc: &mut Map<String, Value>) {
        for (k, v) in &self.0 {
            match v {
                Some(v) => {
                    doc.insert(k.clone(), v.clone());
                }
                None => {
                    doc.remove(k);
                }
            }
        }
    }
}

/// The metadata changes of a profile update, applied by the store to the
/// documents stored when it writes (see [`MetadataChanges`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataEdit {
    /// Changes to `app_metadata`.
    pub app: MetadataChanges,
    /// Changes to `user_metadata`.
    pub user: MetadataChanges,
}

impl MetadataEdit {
    /// Whether neither document changes.
    pub fn is_empty(&self) -> bool {
        self.app.is_empty() && self.user.is_empty()
    }

    /// The changes a `PATCH` body's metadata objects make.
    pub fn from_patch(app: Option<&Map<String, Value>>, user: Option<&Map<String, Value>>) -> Self {
        let changes = |m: Option<&Map<String, Value>>| {
            let mut c = MetadataChanges::default();
            for (k, v) in m.into_iter().flatten() {
                c.set(k, v);
            }
            c
        };
        MetadataEdit {
            app: changes(app),
            user: changes(user),
        }
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
    let edit = MetadataEdit::from_patch(f.app_metadata.as_ref(), f.user_metadata.as_ref());
    edit.app.apply_to(&mut user.app_metadata);
    edit.user.apply_to(&mut user.user_metadata);
    user.updated_at = now_iso();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_changes_set_and_remove_top_level_keys_only() {
        let mut c = MetadataChanges::default();
        c.set("plan", &serde_json::json!({"tier": "pro", "seats": null}));
        c.set("gone", &Value::Null);
        c.set("plan", &serde_json::json!({"tier": "team"}));
        let mut doc = serde_json::json!({"gone": 1, "kept": true, "plan": {"old": 1}});
        c.apply_to(doc.as_object_mut().unwrap());
        // The last call wins; a nested object replaces, never merges.
        assert_eq!(
            doc,
            serde_json::json!({"kept": true, "plan": {"tier": "team"}})
        );
    }
}
