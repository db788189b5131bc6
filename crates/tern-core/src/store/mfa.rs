//! MFA state (see `mfa`): the users' enrolments live in their
//! `mfa_factors`; what changes at every code — the last time step used and
//! the count of wrong codes — and the tenant's Guardian settings live here.

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
    /// the count of wrong codes; `false` when it was not. One conditional
    /// write, so of two requests racing with one code, one wins.
    async fn use_otp_step(&self, tenant: &str, user_id: &str, step: i64) -> CoreResult<bool>;
    /// Count a wrong code at epoch second `now`; the wrong codes counted
    /// since `window_start` (a count older than that starts over).
    async fn count_otp_failure(
        &self,
        tenant: &str,
        user_id: &str,
        now: i64,
        window_start: i64,
    ) -> CoreResult<i64>;
    /// Wrong codes counted since `window_start`.
    async fn otp_failures(&self, tenant: &str, user_id: &str, window_start: i64)
    -> CoreResult<i64>;
    /// The Guardian settings (defaults when never set).
    async fn get_guardian(&self, tenant: &str) -> CoreResult<GuardianSettings>;
    /// Replace the Guardian settings.
    async fn put_guardian(&self, tenant: &str, settings: &GuardianSettings) -> CoreResult<()>;
}
