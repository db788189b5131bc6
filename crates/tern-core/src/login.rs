//! Checking a password against a user's stored credential.
//!
//! Every path spends the time of one verification under the current policy,
//! whether the user exists or not, so response time does not reveal accounts.
//! This is CPU-bound work: callers run it off the async runtime.

use tern_hash::{HashPolicy, OverLimit, StoredHash};

use crate::model::User;

/// The result of a password check.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// The password is right. `rehash` carries a new credential when the
    /// stored one is not under the current policy (upgrade on login).
    Valid {
        /// Replacement credential in storage form.
        rehash: Option<String>,
    },
    /// No such user.
    UnknownUser,
    /// The user has no credential (imported without a hash, or waiting for a reset).
    NoCredential,
    /// The password does not match.
    WrongPassword,
    /// The stored credential cannot be read (a bug or a corrupted row).
    UnreadableCredential(String),
    /// Verifying the stored credential (or this password against it) would
    /// cost more than the policy's cost limits allow: it was not computed.
    /// A hash stored before the limits existed, or under higher ones; the
    /// message names the setting that admits it.
    OverCostLimit(OverLimit),
}

/// Verify `password` for `user` under `policy`.
pub fn verify_password(user: Option<&User>, password: &str, policy: &HashPolicy) -> Verdict {
    let Some(user) = user else {
        policy.dummy_verify(password);
        return Verdict::UnknownUser;
    };
    let Some(stored) = user.credential.as_deref() else {
        policy.dummy_verify(password);
        return Verdict::NoCredential;
    };
    let hash = match StoredHash::parse(stored) {
        Ok(h) => h,
        Err(e) => {
            policy.dummy_verify(password);
            return Verdict::UnreadableCredential(e.to_string());
        }
    };
    match hash.verify(password, policy.limits()) {
        Ok(true) => {}
        Ok(false) => {
            // A legacy hash cheaper than the policy's (an unsalted MD5
            // answers in microseconds) would tell a wrong password of an
            // existing user from an unknown user: spend a policy verify too.
            // (A right password spends it hashing the upgrade.)
            if policy.needs_rehash(&hash) {
                policy.dummy_verify(password);
            }
            return Verdict::WrongPassword;
        }
        Err(over) => {
            // Refused without computing it; spend the usual time so that the
            // answer's timing says nothing more than a wrong password's.
            policy.dummy_verify(password);
            return Verdict::OverCostLimit(over);
        }
    }
    let rehash = policy.needs_rehash(&hash).then(|| policy.hash(password));
    Verdict::Valid { rehash }
}
