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
    /// Exchange a code for `client_id`: the first call by the code's own
    /// client marks it used at `now` and ties it to `grant_id` (`Redeemed`);
    /// every later call by that client records the reuse on the code and
    /// gets `Reused` with the grant the first one made. Of two concurrent
    /// exchanges exactly one redeems. Another client's call changes nothing
    /// and gets `Unknown`, as for a code that does not exist.
    async fn redeem_authorization_code(
        &self,
        tenant: &str,
        code_hash: &str,
        client_id: &str,
        now: i64,
        grant_id: &str,
    ) -> CoreResult<CodeRedemption>;
    /// Whether a reuse of the code was recorded (see
    /// [`Self::redeem_authorization_code`]): read by the exchange that
    /// redeemed it once its grant is stored, so a replay that came before
    /// the grant existed still revokes it.
    async fn authorization_code_reused(&self, tenant: &str, code_hash: &str) -> CoreResult<bool>;
    /// Delete codes of every tenant that expired before epoch second `before`.
    async fn purge_authorization_codes(&self, before: i64) -> CoreResult<u64>;
}
