//! MFA enrollments as Auth0's Guardian API names them
//! (`GET /users/{id}/enrollments`, `GET|DELETE /guardian/enrollments/{id}`):
//! the entries of a user's `mfa_factors`, each under an id that needs no
//! table of its own.
//!
//! An enrollment id is `<type>|dev_<digest><user>`: `<digest>` is 16 hex
//! characters of the SHA-256 of the factor's kind and stored value (the
//! sealed TOTP secret, the phone number, the address), `<user>` the user id
//! in unpadded base64url. So the id is stable while the factor is (a TOTP
//! enrolment keeps its id when confirmed), leads straight to its user
//! (Auth0's `/guardian/enrollments/{id}` has no user in the path), and
//! stays inside Auth0's pattern `^(<type>\|)?dev_[A-Za-z0-9-_]+$`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tern_core::model::User;
use tern_core::{CoreError, CoreResult};

use crate::client_secret::hash_secret;
use crate::console_app::Changer;
use crate::error::ApiError;
use crate::state::AppState;

const DIGEST_LEN: usize = 16;

/// Guardian's type of a stored factor kind, and its stored value.
fn kind_and_value(factor: &Value) -> Option<(&'static str, &str)> {
    let (kind, body) = factor.as_object()?.iter().next()?;
    match kind.as_str() {
        "totp" => Some(("totp", body.get("secret")?.as_str()?)),
        "phone" => Some(("sms", body.get("value")?.as_str()?)),
        "email" => Some(("email", body.get("value")?.as_str()?)),
        _ => None,
    }
}

fn digest(kind: &str, value: &str) -> String {
    hash_secret(&format!("{kind}\n{value}"))[..DIGEST_LEN].to_string()
}

/// The enrollment id of `factor` of `user_id`; `None` for a factor kind
/// Guardian has no type for.
pub fn enrollment_id(user_id: &str, factor: &Value) -> Option<String> {
    let (kind, value) = kind_and_value(factor)?;
    Some(format!(
        "{kind}|dev_{}{}",
        digest(kind, value),
        URL_SAFE_NO_PAD.encode(user_id)
    ))
}

/// An enrollment id taken apart: the user it names and the digest, or
/// `None` when it does not have Tern's form.
fn parse_id(id: &str) -> Option<(String, &str)> {
    let rest = id.split_once('|').map_or(id, |(_, r)| r);
    let rest = rest.strip_prefix("dev_")?;
    let (digest, user) = (rest.get(..DIGEST_LEN)?, rest.get(DIGEST_LEN..)?);
    if user.is_empty() {
        return None;
    }
    let user = String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?;
    Some((user, digest))
}

/// Whether `id` matches Auth0's pattern for enrollment ids (a malformed
/// one is a 400, not a 404).
pub fn well_formed(id: &str) -> bool {
    const TYPES: &[&str] = &[
        "totp",
        "sms",
        "voice",
        "push",
        "email",
        "recovery-code",
        "webauthn-roaming",
        "webauthn-platform",
    ];
    let rest = match id.split_once('|') {
        Some((t, r)) if TYPES.contains(&t) => r,
        Some(_) => return false,
        None => id,
    };
    rest.strip_prefix("dev_").is_some_and(|d| {
        !d.is_empty()
            && d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn status(factor: &Value) -> &'static str {
    if tern_core::mfa::is_pending_totp(factor) {
        "pending"
    } else {
        "confirmed"
    }
}

/// One enrollment in the shape of `GET /guardian/enrollments/{id}`.
pub fn guardian_view(user: &User, factor: &Value) -> Option<Value> {
    let (kind, value) = kind_and_value(factor)?;
    let mut v = json!({
        "id": enrollment_id(&user.user_id, factor)?,
        "status": status(factor),
        "enrolled_at": user.created_at,
    });
    if kind == "sms" {
        v["phone_number"] = json!(value);
    }
    Some(v)
}

/// One enrollment in the shape of `GET /users/{id}/enrollments`.
fn user_view(user: &User, factor: &Value) -> Option<Value> {
    let (kind, value) = kind_and_value(factor)?;
    let mut v = guardian_view(user, factor)?;
    v["type"] = json!(kind);
    v["auth_method"] = json!(if kind == "totp" {
        "authenticator"
    } else {
        "sms"
    });
    if kind == "email" {
        v["name"] = json!(value);
    }
    Some(v)
}

/// `GET /users/{id}/enrollments`: Auth0 answers the user's first
/// confirmed enrollment (an array of at most one).
pub fn first_confirmed(user: &User) -> Vec<Value> {
    user.mfa_factors
        .iter()
        .filter(|f| status(f) == "confirmed")
        .find_map(|f| user_view(user, f))
        .into_iter()
        .collect()
}

/// The user and the factor an enrollment id names, if both exist.
pub async fn find(s: &AppState, id: &str) -> CoreResult<Option<(User, Value)>> {
    let Some((user_id, _)) = parse_id(id) else {
        return Ok(None);
    };
    let Some(user) = s.store.get_user(s.tid(), &user_id).await? else {
        return Ok(None);
    };
    let factor = user
        .mfa_factors
        .iter()
        .find(|f| enrollment_id(&user.user_id, f).as_deref() == Some(id))
        .cloned();
    Ok(factor.map(|f| (user, f)))
}

/// Remove the enrollment `id` (Auth0's "reset MFA": the user enrols
/// again at the next login the policy asks a factor of). `false`: no such
/// enrollment. A concurrent change of the user's factors is re-read, never
/// overwritten. An operator's enrollment needs every Management API scope
/// (`console_app::guard_user_change`), checked before anything is written.
pub async fn delete(s: &AppState, id: &str, by: Changer<'_>) -> Result<bool, ApiError> {
    let Some((user_id, _)) = parse_id(id) else {
        return Ok(false);
    };
    let removed = remove_factors(s, &user_id, by, |user, f| {
        enrollment_id(&user.user_id, f).as_deref() == Some(id)
    })
    .await?;
    Ok(removed.is_some_and(|n| n > 0))
}

/// Remove every factor of `user_id` (`DELETE /users/{id}/authenticators`
/// and `/authentication-methods`): the user enrols again when a factor is
/// next asked for. `None`: no such user.
pub async fn delete_all(
    s: &AppState,
    user_id: &str,
    by: Changer<'_>,
) -> Result<Option<usize>, ApiError> {
    remove_factors(s, user_id, by, |_, _| true).await
}

/// Remove the factors of `user_id` that `gone` picks, by compare-and-set
/// on the factors read (re-read if they changed meanwhile): how many were
/// removed, `None` when there is no such user.
async fn remove_factors(
    s: &AppState,
    user_id: &str,
    by: Changer<'_>,
    gone: impl Fn(&User, &Value) -> bool,
) -> Result<Option<usize>, ApiError> {
    for _ in 0..3 {
        let Some(user) = s.store.get_user(s.tid(), user_id).await? else {
            return Ok(None);
        };
        let remaining: Vec<Value> = user
            .mfa_factors
            .iter()
            .filter(|f| !gone(&user, f))
            .cloned()
            .collect();
        let removed = user.mfa_factors.len() - remaining.len();
        if removed == 0 {
            return Ok(Some(0));
        }
        by.may_change(&user.connection_name)?;
        if s.store
            .replace_mfa_factors(s.tid(), &user.user_id, &user.mfa_factors, &remaining)
            .await?
        {
            return Ok(Some(removed));
        }
    }
    Err(CoreError::Storage("the user's MFA factors kept changing; try again".into()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_lead_to_their_user_and_fit_auth0s_pattern() {
        let pending = json!({"totp": {"secret": "$tern-sealed$v1$abc", "pending": true}});
        let confirmed = json!({"totp": {"secret": "$tern-sealed$v1$abc"}});
        let id = enrollment_id("auth0|6543", &pending).unwrap();
        assert_eq!(enrollment_id("auth0|6543", &confirmed).unwrap(), id);
        assert!(id.starts_with("totp|dev_"), "{id}");
        assert!(well_formed(&id), "{id}");
        let (user, _) = parse_id(&id).unwrap();
        assert_eq!(user, "auth0|6543");
        let other = enrollment_id("auth0|6543", &json!({"phone": {"value": "+15550001"}})).unwrap();
        assert!(other.starts_with("sms|dev_") && other != id, "{other}");
        assert_eq!(enrollment_id("auth0|1", &json!({"webauthn": {}})), None);
    }

    #[test]
    fn malformed_ids_are_told_apart_from_unknown_ones() {
        assert!(well_formed("dev_0000000000000001"));
        assert!(!well_formed("totp|nope"));
        assert!(!well_formed("fax|dev_1"));
        assert!(!well_formed("dev_"));
        assert!(!well_formed("dev_a.b"));
        assert_eq!(parse_id("dev_0000000000000001"), None);
    }
}
