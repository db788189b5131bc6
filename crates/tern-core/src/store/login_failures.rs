//! Brute-force protection's counters and blocks (`login_failures`) and the
//! tenant's attack-protection settings.

use serde_json::Value;

use crate::CoreResult;
use crate::attack_protection::LoginBlock;

/// One failed login of a known user, to be counted.
#[derive(Debug, Clone)]
pub struct FailedLogin<'a> {
    /// The user.
    pub user_id: &'a str,
    /// The address counted under (`""` when counted per identifier).
    pub ip: &'a str,
    /// The connection's name (shown in `/user-blocks`).
    pub connection: &'a str,
    /// The user's email or username (shown, and searched by `?identifier=`).
    pub identifier: &'a str,
    /// Epoch seconds.
    pub now: i64,
    /// Failures last counted before this are forgotten (and a block that
    /// old has lifted): the count starts again.
    pub forget_before: i64,
}

/// Whose blocks: a user's, or every user's with this identifier.
#[derive(Debug, Clone, Copy)]
pub enum BlocksOf<'a> {
    /// By `user_id`.
    User(&'a str),
    /// By email or username, as stored with the block.
    Identifier(&'a str),
}

/// Counting failed logins and keeping the blocks they lead to.
#[async_trait::async_trait]
pub trait LoginFailureStore: Send + Sync {
    /// The stored settings document of `kind`, if any.
    async fn get_attack_protection(&self, tenant: &str, kind: &str) -> CoreResult<Option<Value>>;
    /// Store the settings document of `kind`.
    async fn put_attack_protection(&self, tenant: &str, kind: &str, body: &Value)
    -> CoreResult<()>;
    /// Count a failure; the consecutive failures now counted.
    async fn count_login_failure(&self, tenant: &str, failure: &FailedLogin<'_>)
    -> CoreResult<u64>;
    /// Block `user_id` from `ip` (`""`: from anywhere), keeping the SHA-256
    /// of the unblock link's token; `false` when it was blocked already.
    async fn block_login(
        &self,
        tenant: &str,
        user_id: &str,
        ip: &str,
        now: i64,
        unblock_hash: &str,
    ) -> CoreResult<bool>;
    /// Whether `user_id` is blocked from `ip` by a block whose last failure
    /// is not before `since`.
    async fn is_login_blocked(
        &self,
        tenant: &str,
        user_id: &str,
        ip: &str,
        since: i64,
    ) -> CoreResult<bool>;
    /// The blocks in force (last failure not before `since`).
    async fn list_login_blocks(
        &self,
        tenant: &str,
        of: BlocksOf<'_>,
        since: i64,
    ) -> CoreResult<Vec<LoginBlock>>;
    /// Lift blocks and forget failures; how many rows went.
    async fn delete_login_blocks(&self, tenant: &str, of: BlocksOf<'_>) -> CoreResult<u64>;
    /// Lift the block an unblock link names (by its token's SHA-256) if it
    /// is still in force; the user it blocked.
    async fn unblock_login(
        &self,
        tenant: &str,
        unblock_hash: &str,
        since: i64,
    ) -> CoreResult<Option<String>>;
    /// Drop counters and blocks whose last failure is before `before`.
    async fn purge_login_failures(&self, tenant: &str, before: i64) -> CoreResult<u64>;
}
