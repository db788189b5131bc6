//! Authorization codes (see `grants`), stored as SHA-256 digests.

use crate::CoreResult;
use crate::grants::{AuthorizationCode, CodeRedemption};

/// Storing authorization codes.
#[async_trait::async_trait]
pub trait AuthorizationCodeStore: Send + Sync {
    /// Store a new code.
    async fn insert_authorization_code(
        &self,
        tenant: &str,
        code: &AuthorizationCode,
    ) -> CoreResult<()>;
    /// Exchange a code: the first call marks it used at `now` and ties it to
    /// `grant_id` (`Redeemed`); every later call gets `Reused` with the grant
    /// the first one made. Of two concurrent exchanges exactly one redeems.
    async fn redeem_authorization_code(
        &self,
        tenant: &str,
        code_hash: &str,
        now: i64,
        grant_id: &str,
    ) -> CoreResult<CodeRedemption>;
    /// Delete codes of every tenant that expired before epoch second `before`.
    async fn purge_authorization_codes(&self, before: i64) -> CoreResult<u64>;
}
