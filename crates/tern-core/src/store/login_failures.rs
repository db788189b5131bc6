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

/// One login attempt of a known user, before its password is looked at:
/// the hit to count in the user's per-address rate window, and the block
/// to look for.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    /// The rate window's scope and bucket, and when the window started
    /// (epoch seconds); see `RateWindowStore::hit_rate_window`.
    pub window: (&'a str, &'a str, i64),
    /// The user (or, for a legacy user Tern has not stored, the key
    /// `crate::attack_protection::legacy_key` makes).
    pub user_id: &'a str,
    /// A second key whose blocks hold too: a stored user's legacy key
    /// (the typed identifier's), whose block outlives the migration.
    pub also_key: Option<&'a str>,
    /// The address blocks are looked for under (`""`: per identifier).
    pub ip: &'a str,
    /// Look for a block whose last failure is not before this; `None`: the
    /// tenant's settings do not block, so none is looked for.
    pub blocked_since: Option<i64>,
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
    /// Count the attempt's hit and look for its block in one statement
    /// (a login's cost on PostgreSQL is mostly per statement): the
    /// window's hits including this one (as `hit_rate_window` counts), and
    /// whether `user_id` is blocked from `ip` (or per identifier, `""`) by a
    /// block whose last failure is not before `blocked_since`.
    async fn attempt_login(&self, tenant: &str, a: &LoginAttempt<'_>) -> CoreResult<(u64, bool)>;
    /// [`attempt_login`](Self::attempt_login) without the hit: the
    /// window's hits so far and whether a block holds. For a legacy user
    /// Tern has not stored, whose window counts failures only (an unknown
    /// identifier writes nothing).
    async fn peek_login(&self, tenant: &str, a: &LoginAttempt<'_>) -> CoreResult<(u64, bool)>;
    /// Forget the failures (not a block) counted for `user_id` from `ip`,
    /// as a successful login does (`UserStore::record_login`).
    async fn forget_login_failures(&self, tenant: &str, user_id: &str, ip: &str) -> CoreResult<()>;
    /// The blocks in force (last failure not before `since`).
    async fn list_login_blocks(
        &self,
        tenant: &str,
        of: BlocksOf<'_>,
        since: i64,
    ) -> CoreResult<Vec<LoginBlock>>;
    /// Lift blocks and forget failures; how many rows went.
    async fn delete_login_blocks(&self, tenant: &str, of: BlocksOf<'_>) -> CoreResult<u64>;
    /// The user whose block an unblock link names (by its token's SHA-256),
    /// if that block is still in force; nothing changes.
    async fn peek_unblock(
        &self,
        tenant: &str,
        unblock_hash: &str,
        since: i64,
    ) -> CoreResult<Option<String>>;
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
