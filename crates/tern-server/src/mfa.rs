//! Multi-factor authentication with TOTP (RFC 6238): the second step of a
//! login for users with an enrolment — the ones they arrived with
//! (`mfa_factors`) or made on the hosted pages — whatever the front end:
//! the password grants (`mfa_required`, an `mfa_token`, `/mfa/challenge`
//! and the `mfa-otp` grant, as Auth0's MFA API) and the hosted pages
//! (`/u/mfa-otp-challenge`, `/u/mfa-otp-enrollment`).
//!
//! Seeds are sealed with the secrets key, bound to tenant and user, before
//! they are stored (imports, lazy migration, enrolment) and at start for
//! rows an earlier version wrote in clear; they are opened only here, to
//! compute codes. A code is accepted within one 30-second step of the
//! server's clock and at most once per user (the last accepted step is
//! stored and moves forward by a conditional write); codes are counted per
//! user before they are compared (a right one clears the count), and past
//! [`MAX_WRONG_CODES`] in [`WRONG_CODE_WINDOW_SECS`] every code is refused,
//! uncompared, until the window ends.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tern_core::CoreResult;
use tern_core::login_transaction::DeferredLoginRecord;
use tern_core::mfa::{
    GuardianSettings, SeedSealer, base32_decode, base32_encode, confirm_pending_totp, has_totp,
    pending_totp_secret, seal_factors, with_confirmed_totp, with_pending_totp,
};
use tern_core::model::{Client, LogEvent, User};
use tern_core::store::Store;

use crate::error::OAuthError;
use crate::secrets::SecretKey;
use crate::state::AppState;

/// RFC 6238's time step.
pub const STEP_SECS: i64 = 30;
/// Digits of a code.
const DIGITS: usize = 6;
/// How long an `mfa_token` lasts (Auth0: ten minutes).
pub const MFA_TOKEN_SECS: i64 = 600;
/// Wrong codes a user may enter within [`WRONG_CODE_WINDOW_SECS`].
pub const MAX_WRONG_CODES: i64 = 10;
/// See [`MAX_WRONG_CODES`].
pub const WRONG_CODE_WINDOW_SECS: i64 = 900;
/// The issuer shown by authenticator apps.
const ISSUER: &str = "Tern";

fn seed_aad(tenant: &str, user_id: &str) -> String {
    format!("tern-totp\0{tenant}\0{user_id}")
}

impl SeedSealer for SecretKey {
    fn seal_seed(&self, tenant: &str, user_id: &str, seed: &str) -> Option<String> {
        self.seal(&seed_aad(tenant, user_id), seed).ok()
    }
    fn is_sealed(&self, stored: &str) -> bool {
        SecretKey::looks_sealed(stored)
    }
}

/// Seal the TOTP seeds of a user about to be stored; `false` if one could
/// not be (the user must not be stored then).
pub fn seal_user(key: &SecretKey, tenant: &str, user: &mut User) -> bool {
    let mut changed = false;
    seal_factors(
        &mut user.mfa_factors,
        key,
        tenant,
        &user.user_id,
        &mut changed,
    )
}

/// Seal seeds stored in clear (by a version before sealing); run at start.
/// Pages through the users with factors; a user changed meanwhile is left
/// to whoever changed it (every writer seals).
pub async fn seal_stored(store: &dyn Store, tenant: &str, key: &SecretKey) -> CoreResult<u64> {
    let mut sealed = 0;
    let mut after: Option<String> = None;
    loop {
        let page = store
            .users_with_mfa_factors(tenant, after.as_deref(), 500)
            .await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = Some(last.clone());
        for (user_id, factors) in page {
            let mut new = factors.clone();
            let mut changed = false;
            if !seal_factors(&mut new, key, tenant, &user_id, &mut changed) {
                tracing::error!(user_id = %user_id, "cannot seal a TOTP seed");
                continue;
            }
            if changed
                && store
                    .replace_mfa_factors(tenant, &user_id, &factors, &new)
                    .await?
            {
                sealed += 1;
            }
        }
    }
    Ok(sealed)
}

/// The user's TOTP seeds, opened.
fn seeds(key: &SecretKey, tenant: &str, user: &User) -> Vec<Vec<u8>> {
    tern_core::mfa::totp_secrets(&user.mfa_factors)
        .into_iter()
        .filter_map(|stored| {
            let clear = if SecretKey::looks_sealed(stored) {
                let opened = key.open(&seed_aad(tenant, &user.user_id), stored);
                if opened.is_none() {
                    tracing::error!(user_id = %user.user_id, "a TOTP seed does not open with this secrets key");
                }
                opened?
            } else {
                stored.to_string()
            };
            base32_decode(&clear)
        })
        .collect()
}

/// RFC 4226's HOTP value of `counter` (HMAC-SHA1, dynamic truncation),
/// [`DIGITS`] digits.
pub fn hotp(seed: &[u8], counter: u64) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let d = tag.as_ref();
    let offset = usize::from(d[d.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([
        d[offset] & 0x7f,
        d[offset + 1],
        d[offset + 2],
        d[offset + 3],
    ]);
    format!("{:06}", bin % 1_000_000)
}

/// The latest time step within one of `now`'s whose code is `code`, for
/// any of `seeds`.
pub fn matching_step(seeds: &[Vec<u8>], code: &str, now: i64) -> Option<i64> {
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now.div_euclid(STEP_SECS);
    let mut found = None;
    for seed in seeds {
        for step in [current - 1, current, current + 1] {
            let Ok(counter) = u64::try_from(step) else {
                continue;
            };
            let expected = hotp(seed, counter);
            // Every candidate is compared, in constant time each.
            if aws_lc_rs::constant_time::verify_slices_are_equal(
                expected.as_bytes(),
                code.as_bytes(),
            )
            .is_ok()
            {
                found = found.max(Some(step));
            }
        }
    }
    found
}

/// A new random seed (160 bits, RFC 4226's recommendation), Base32.
pub fn new_seed() -> String {
    let mut bytes = [0u8; 20];
    // aws-lc's generator does not fail once the library is up; a zero seed
    // would be refused at confirmation anyway (no code is asked of it).
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    base32_encode(&bytes)
}

/// The `otpauth://` URI authenticator apps read (as a QR code or typed).
pub fn otpauth_uri(seed: &str, account: &str) -> String {
    format!(
        "otpauth://totp/{issuer}:{account}?secret={seed}&issuer={issuer}&algorithm=SHA1&digits=6&period=30",
        issuer = urlencoding::encode(ISSUER),
        account = urlencoding::encode(account),
    )
}

/// Whether a login of this user needs a second factor: an enrolment, or a
/// tenant policy asking every login for one.
pub async fn required_for(s: &AppState, user: &User) -> CoreResult<bool> {
    if has_totp(&user.mfa_factors) {
        return Ok(true);
    }
    Ok(required_under(user, &s.store.get_guardian(s.tid()).await?))
}

/// [`required_for`] with the Guardian settings already read (the password
/// grant reads them while the password is being verified).
pub fn required_under(user: &User, guardian: &GuardianSettings) -> bool {
    has_totp(&user.mfa_factors) || guardian.requires_enrolment()
}

/// What a code was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpOutcome {
    /// Right, and not used before: the factor is passed.
    Accepted,
    /// Wrong, already used, or the user has no TOTP enrolment.
    Wrong,
    /// Too many wrong codes lately: refused whatever it was.
    TooManyAttempts,
}

/// Who is entering a code, for the tenant log.
pub struct Attempt<'a> {
    /// The application.
    pub client: &'a Client,
    /// The user.
    pub user: &'a User,
    /// The end user's address.
    pub ip: &'a str,
}

/// Check a code against the user's enrolments (or, with `seed`, against a
/// seed being enrolled), once.
///
/// The attempt is counted before the code is compared, in one store
/// statement that answers the count with this attempt in it: requests
/// racing with one `mfa_token` (valid ten minutes, reusable) each get their
/// own count, so at most [`MAX_WRONG_CODES`] codes are compared in a window
/// however many arrive at once. A right code gives the attempts back
/// ([`use_otp_step`](tern_core::store::MfaStore::use_otp_step) clears the
/// count).
pub async fn verify(
    s: &AppState,
    a: &Attempt<'_>,
    code: &str,
    seed: Option<&str>,
) -> CoreResult<OtpOutcome> {
    let now = s.now();
    let window_start = now - WRONG_CODE_WINDOW_SECS;
    let attempts = s
        .store
        .take_otp_attempt(s.tid(), &a.user.user_id, now, window_start)
        .await?;
    if attempts > MAX_WRONG_CODES {
        log(s, a, "gd_otp_rate_limit_exceed", "Too many failures").await;
        return Ok(OtpOutcome::TooManyAttempts);
    }
    let seeds = match seed {
        Some(seed) => base32_decode(seed).into_iter().collect(),
        None => seeds(&s.secrets, s.tid(), a.user),
    };
    let step = matching_step(&seeds, code.trim(), now);
    if let Some(step) = step
        && s.store.use_otp_step(s.tid(), &a.user.user_id, step).await?
    {
        log(s, a, "gd_auth_succeed", "OTP authentication succeeded").await;
        return Ok(OtpOutcome::Accepted);
    }
    wrong_code(s, a, step.is_some()).await;
    Ok(OtpOutcome::Wrong)
}

/// The brute-force hook: every wrong (or replayed) code — already counted
/// against the user by [`verify`] before it was compared, and kept counted
/// — is logged here as `gd_auth_failed`. Tenant-wide attack protection,
/// when it exists, should count these events too.
async fn wrong_code(s: &AppState, a: &Attempt<'_>, replayed: bool) {
    let why = if replayed {
        "OTP authentication failed: the code was already used"
    } else {
        "OTP authentication failed: wrong code"
    };
    log(s, a, "gd_auth_failed", why).await;
}

async fn log(s: &AppState, a: &Attempt<'_>, kind: &str, description: &str) {
    let mut ev = LogEvent::new(kind, description);
    ev.client_id = Some(a.client.client_id.clone());
    ev.client_name = Some(a.client.name.clone());
    ev.ip = Some(a.ip.to_string());
    ev.user_id = Some(a.user.user_id.clone());
    ev.user_name = a.user.email.clone().or_else(|| a.user.username.clone());
    ev.connection = Some(a.user.connection_name.clone());
    ev.connection_id = Some(a.user.connection_id.clone());
    s.log(ev).await;
}

/// Start a TOTP enrolment through the API (`/mfa/associate`): a new seed,
/// stored sealed as the user's pending enrolment (replacing an earlier
/// pending one), answered in clear to be shown once. `None` when the user
/// changed meanwhile (the caller asks again). The hosted pages keep their
/// seed in the login transaction instead ([`new_sealed_seed`]).
pub async fn start_enrolment(s: &AppState, user: &User) -> CoreResult<Option<String>> {
    let seed = new_seed();
    let sealed = s
        .secrets
        .seal_seed(s.tid(), &user.user_id, &seed)
        .ok_or_else(|| tern_core::CoreError::Storage("cannot seal a TOTP seed".into()))?;
    let factors = with_pending_totp(&user.mfa_factors, &sealed);
    let stored = s
        .store
        .replace_mfa_factors(s.tid(), &user.user_id, &user.mfa_factors, &factors)
        .await?;
    Ok(stored.then_some(seed))
}

/// A new seed for `user`, sealed as stored seeds are (bound to tenant and
/// user), to be kept by whoever shows it — a hosted login transaction —
/// and confirmed only through it ([`confirm_sealed_enrolment`]).
pub fn new_sealed_seed(key: &SecretKey, tenant: &str, user: &User) -> CoreResult<String> {
    key.seal_seed(tenant, &user.user_id, &new_seed())
        .ok_or_else(|| tern_core::CoreError::Storage("cannot seal a TOTP seed".into()))
}

/// A seed sealed for `user` (by [`new_sealed_seed`]), opened (Base32).
pub fn open_seed(key: &SecretKey, tenant: &str, user: &User, sealed: &str) -> Option<String> {
    key.open(&seed_aad(tenant, &user.user_id), sealed)
}

/// The seed of the user's pending enrolment, opened (Base32).
pub fn pending_seed(key: &SecretKey, tenant: &str, user: &User) -> Option<String> {
    let stored = pending_totp_secret(&user.mfa_factors)?;
    key.open(&seed_aad(tenant, &user.user_id), stored)
}

/// Check the first code of the user's pending enrolment (`/mfa/associate`);
/// when right, the enrolment is confirmed (it becomes a factor). A user
/// without a pending enrolment, or who already has a factor, gets `Wrong`.
pub async fn confirm_enrolment(
    s: &AppState,
    a: &Attempt<'_>,
    code: &str,
) -> CoreResult<OtpOutcome> {
    let Some(seed) = pending_seed(&s.secrets, s.tid(), a.user) else {
        return Ok(OtpOutcome::Wrong);
    };
    let Some(confirmed) = confirm_pending_totp(&a.user.mfa_factors) else {
        return Ok(OtpOutcome::Wrong);
    };
    confirm(s, a, code, &seed, &confirmed).await
}

/// Check the first code of the seed a login transaction holds (`sealed`,
/// from [`new_sealed_seed`]); when right, that seed becomes the user's
/// factor. A user who already has a factor gets `Wrong`: one enrolment per
/// user, however many transactions showed a seed.
pub async fn confirm_sealed_enrolment(
    s: &AppState,
    a: &Attempt<'_>,
    sealed: &str,
    code: &str,
) -> CoreResult<OtpOutcome> {
    let Some(seed) = open_seed(&s.secrets, s.tid(), a.user, sealed) else {
        return Ok(OtpOutcome::Wrong);
    };
    let confirmed = with_confirmed_totp(&a.user.mfa_factors, sealed);
    confirm(s, a, code, &seed, &confirmed).await
}

/// Confirm an enrolment of `seed`: its code checked, then the user's
/// factors replaced by `confirmed`. Refused while the user has a confirmed
/// factor; the write is a compare-and-set from the factors read (which had
/// none), so of two enrolments racing — two transactions, or the hosted
/// page and the API — at most one is stored.
async fn confirm(
    s: &AppState,
    a: &Attempt<'_>,
    code: &str,
    seed: &str,
    confirmed: &[serde_json::Value],
) -> CoreResult<OtpOutcome> {
    if !must_enrol(a.user) {
        // Adding a second app needs the first one; nothing is confirmed.
        return Ok(OtpOutcome::Wrong);
    }
    let outcome = verify(s, a, code, Some(seed)).await?;
    if outcome != OtpOutcome::Accepted {
        return Ok(outcome);
    }
    // Compare and set: an enrolment restarted or confirmed meanwhile
    // changed the factors, and this one is not stored.
    let stored = s
        .store
        .replace_mfa_factors(s.tid(), &a.user.user_id, &a.user.mfa_factors, confirmed)
        .await?;
    if stored {
        log(
            s,
            a,
            "gd_enrollment_complete",
            "Guardian enrollment complete (otp)",
        )
        .await;
        Ok(OtpOutcome::Accepted)
    } else {
        Ok(OtpOutcome::Wrong)
    }
}

/// Whether the user has a confirmed factor to be challenged with, or must
/// enrol one first.
pub fn must_enrol(user: &User) -> bool {
    !has_totp(&user.mfa_factors)
}

/// A password login waiting for its second factor: what an `mfa_token`
/// carries, sealed, so the tokens issued at the end are those the password
/// grant would have given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The application; the token is refused to any other.
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// The requested `audience`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The requested scopes.
    pub scope: Vec<String>,
    /// When the password was checked (the tokens' `auth_time`).
    pub auth_time: i64,
    /// Epoch second after which the token is refused.
    pub exp: i64,
    /// The password step's record (its `s` event, the login counters, a
    /// rehash), written when the `mfa-otp` grant gives tokens: a login that
    /// never passes the factor, or that an action then refuses, is not a
    /// successful one. Sealed with the rest of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<DeferredLoginRecord>,
}

/// The 403 `mfa_required` answer of a token request whose login must pass
/// a second factor (the Guardian policy, an enrolment, or a post-login
/// action): a new `mfa_token` for this pending login, and the enrolment
/// requirement when the user has no factor yet. `auth_time` is when the
/// first factor was proved (the tokens' `auth_time` at the end); `record`
/// the password step's record, which the `mfa-otp` grant writes.
pub fn required_answer(
    s: &AppState,
    client_id: &str,
    user: &User,
    audience: Option<String>,
    scope: Vec<String>,
    auth_time: i64,
    record: Option<DeferredLoginRecord>,
) -> OAuthError {
    let pending = PendingLogin {
        client_id: client_id.to_string(),
        user_id: user.user_id.clone(),
        audience,
        scope,
        auth_time,
        exp: s.now() + MFA_TOKEN_SECS,
        record,
    };
    match issue_token(s, &pending) {
        Ok(token) => OAuthError::mfa_required(token, must_enrol(user)),
        Err(e) => e,
    }
}

fn token_aad(tenant: &str) -> String {
    // A purpose of its own: no other sealed value opens as an mfa_token.
    format!("tern-mfa-token\0{tenant}")
}

/// Seal a pending login into an `mfa_token`.
pub fn issue_token(s: &AppState, p: &PendingLogin) -> Result<String, OAuthError> {
    let json = serde_json::to_vec(p).map_err(|_| OAuthError::server_error())?;
    let raw = s
        .secrets
        .seal_bytes(&token_aad(s.tid()), &json)
        .map_err(|_| OAuthError::server_error())?;
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

fn malformed() -> OAuthError {
    OAuthError::new(
        axum::http::StatusCode::FORBIDDEN,
        "invalid_grant",
        "Malformed mfa_token",
    )
}

/// The pending login of an `mfa_token` presented by `client_id`.
pub fn read_token(s: &AppState, token: &str, client_id: &str) -> Result<PendingLogin, OAuthError> {
    let p = read_token_any_client(s, token)?;
    if p.client_id != client_id {
        return Err(malformed());
    }
    Ok(p)
}

/// The pending login of an `mfa_token` whoever presents it (the bearer of
/// `/mfa/authenticators`, which names no client).
pub fn read_token_any_client(s: &AppState, token: &str) -> Result<PendingLogin, OAuthError> {
    let raw = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| malformed())?;
    let json = s
        .secrets
        .open_bytes(&token_aad(s.tid()), &raw)
        .ok_or_else(malformed)?;
    let p: PendingLogin = serde_json::from_slice(&json).map_err(|_| malformed())?;
    if s.now() >= p.exp {
        return Err(OAuthError::new(
            axum::http::StatusCode::FORBIDDEN,
            "expired_token",
            "mfa_token is expired",
        ));
    }
    Ok(p)
}

/// The pending login of an `mfa_token` presented without a client (the
/// bearer of `/mfa/associate` and `/mfa/authenticators`), refused when the
/// application it was issued to has been deleted since: nothing of a
/// deleted application's logins goes on.
pub async fn read_token_of_existing_client(
    s: &AppState,
    token: &str,
) -> Result<PendingLogin, OAuthError> {
    let p = read_token_any_client(s, token)?;
    if s.store.get_client(s.tid(), &p.client_id).await?.is_none() {
        return Err(OAuthError::new(
            axum::http::StatusCode::FORBIDDEN,
            "invalid_grant",
            "The application this mfa_token was issued to no longer exists.",
        ));
    }
    Ok(p)
}

/// The user of a pending login, if still allowed to get tokens for its
/// application (`entitlement::check`: not blocked, their connection still
/// enabled for it). A user stored after the password was checked is a
/// later user given the same id (the one who logged in was deleted): the
/// pending login was never theirs.
pub async fn pending_user(s: &AppState, p: &PendingLogin) -> Result<User, OAuthError> {
    crate::entitlement::check(s, &p.client_id, &p.user_id, p.auth_time)
        .await?
        .map_err(|r| r.invalid_grant(axum::http::StatusCode::FORBIDDEN))
}

/// The user's authenticators as `/mfa/authenticators` lists them (under
/// their enrollment ids, as every other list has them); a pending enrolment
/// is listed with `active: false`, as Auth0 lists unconfirmed ones.
pub fn authenticators(user: &User) -> Vec<serde_json::Value> {
    user.mfa_factors
        .iter()
        .filter(|f| f.get("totp").is_some())
        .filter_map(|f| {
            Some(serde_json::json!({
                "id": crate::enrollments::enrollment_id(&user.user_id, f)?,
                "authenticator_type": "otp",
                "active": !tern_core::mfa::is_pending_totp(f),
                "name": "Authenticator app",
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits there; the last six here).
    #[test]
    fn rfc_6238_sha1_vectors() {
        let seed = b"12345678901234567890";
        for (time, code8) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(hotp(seed, time / 30), code8[2..], "T = {time}");
        }
    }

    #[test]
    fn a_code_matches_within_one_step_only() {
        let seeds = vec![b"12345678901234567890".to_vec()];
        // 94287082 is the code of step 1 (T = 59).
        assert_eq!(matching_step(&seeds, "287082", 59), Some(1));
        assert_eq!(matching_step(&seeds, "287082", 89), Some(1));
        assert_eq!(matching_step(&seeds, "287082", 29), Some(1));
        assert_eq!(matching_step(&seeds, "287082", 90), None);
        assert_eq!(matching_step(&seeds, "28708", 59), None);
        assert_eq!(matching_step(&seeds, "28708a", 59), None);
    }
}
