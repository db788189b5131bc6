//! A login script may leave the password check to Tern: instead of
//! comparing hashes in JavaScript it answers the user's profile with the
//! stored legacy hash in `tern_password_hash` (a Tern extension of the
//! profile), and Tern verifies the typed password against it with
//! `tern-hash`. The Auth0 script a person already has then shrinks to one
//! query.
//!
//! The field holds a self-describing hash string (anything an import's
//! `password_hash` takes: bcrypt, phpass, Django, `{SSHA}`, DES crypt…), a
//! `tern_password_hash` object (Firebase scrypt, Magento 2, Keycloak…) or an
//! Auth0 `custom_password_hash` object. A wrong password is a wrong password
//! (`fp`); a right one migrates the user with the policy's hash, as any
//! legacy login does. A field Tern cannot read is the script's error, named,
//! never a silent success.

use serde_json::Value;
use tern_core::legacy::LegacyError;

use crate::hash_pool::{HashPool, PoolError};
use tern_hash::{HashPolicy, StoredHash};

/// The profile field that carries the legacy hash.
pub const FIELD: &str = "tern_password_hash";

/// What a login script's profile says about the password.
pub enum ProfileHash {
    /// No hash in the profile: the script checked the password itself.
    Absent,
    /// The hash to verify the typed password against.
    Present(StoredHash),
}

/// Read (and remove) the hash field of `profile`.
pub fn take(profile: &mut Value) -> Result<ProfileHash, LegacyError> {
    let Some(value) = profile.as_object_mut().and_then(|o| o.remove(FIELD)) else {
        return Ok(ProfileHash::Absent);
    };
    let bad = |why: String| {
        LegacyError(format!(
            "the login script's profile holds a {FIELD} Tern cannot read: {why}"
        ))
    };
    let hash = match &value {
        Value::String(s) => {
            StoredHash::from_import_password_hash(s).map_err(|e| bad(e.to_string()))?
        }
        Value::Object(o) if o.get("hash").is_some_and(Value::is_object) => {
            // Auth0's custom_password_hash shape ({algorithm, hash: {value…}}).
            StoredHash::from_custom(&value).map_err(|e| bad(e.to_string()))?
        }
        Value::Object(_) => StoredHash::from_tern_object(&value).map_err(|e| bad(e.to_string()))?,
        _ => return Err(bad("expected a hash string or an object".into())),
    };
    Ok(ProfileHash::Present(hash))
}

/// Verify `password` against `hash` on the server's hashing pool, within
/// the policy's cost limits (a hash over them is an error, never computed).
pub async fn verify(
    pool: &HashPool,
    policy: HashPolicy,
    hash: StoredHash,
    password: &str,
) -> Result<bool, LegacyError> {
    let pw = password.to_string();
    pool.run(move || {
        hash.verify(&pw, policy.limits()).map_err(|over| {
            LegacyError(format!(
                "the {FIELD} of the login script's profile was not verified: {over}"
            ))
        })
    })
    .await
    .map_err(pool_error)?
}

/// A pool that could not run the check, as a legacy error (the login
/// answers 503 and nothing is stored).
pub fn pool_error(e: PoolError) -> LegacyError {
    LegacyError(match e {
        PoolError::Busy => "the server is busy hashing passwords; try again in a moment".into(),
        PoolError::Failed => "the password check was interrupted".into(),
    })
}
