//! MFA state (see `mfa`): the users' enrolments live in their
//! `mfa_factors`; what changes at every code — the last time step used and
//! the count of code attempts since the last right one — and the tenant's
//! Guardian settings live here.

use serde_json::Value;

use crate::CoreResult;
use crate::mfa::GuardianSettings;

/// Storing MFA state.
#[async_trait::async_trait]
pub trait MfaStore: Send + Sync {
    /// Users with `mfa_factors`, in `user_id` order after `after`, at most
    /// `limit` of them: `(user_id, factors)`.
    async fn users_with_mfa_factors(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: u32,
    ) -> CoreResult<Vec<(String, Vec<Value>)>>;
    /// Replace a user's factors if they still are `expected` (compare and
    /// set, so a concurrent change is never overwritten); `true` if replaced.
    async fn replace_mfa_factors(
        &self,
        tenant: &str,
        user_id: &str,
        expected: &[Value],
        factors: &[Value],
    ) -> CoreResult<bool>;
    /// Accept TOTP time step `step` for the user if it is later than every
    /// step accepted before (RFC 6238 §5.2: a code is used once), clearing
    /// the count of attempts; `false` when it was not. One conditional
    /// write, so of two requests racing with one code, one wins.
    async fn use_otp_step(&self, tenant: &str, user_id: &str, step: i64) -> CoreResult<bool>;
    /// Take one code attempt for the user at epoch second `now`, before the
    /// code is looked at, and answer the attempts counted since
    /// `window_start` including this one (a count older than that starts
    /// over at 1, its window at `now`). One statement, so of any number of
    /// concurrent attempts each sees its own count: the caller refuses an
    /// attempt whose count is past its limit without comparing the code, and
    /// a right code gives the attempts back through [`Self::use_otp_step`].
    async fn take_otp_attempt(
        &self,
        tenant: &str,
        user_id: &str,
        now: i64,
        window_start: i64,
    ) -> CoreResult<i64>;
    /// The Guardian settings (defaults when never set).
    async fn get_guardian(&self, tenant: &str) -> CoreResult<GuardianSettings>;
    /// Replace the Guardian settings.
    async fn put_guardian(&self, tenant: &str, settings: &GuardianSettings) -> CoreResult<()>;
}
