//! The tenant log.

use crate::CoreResult;
use crate::model::LogEvent;

/// Appending to and reading the tenant log.
#[async_trait::async_trait]
pub trait LogStore: Send + Sync {
    /// Append to the tenant log.
    async fn append_log(&self, tenant: &str, event: &LogEvent) -> CoreResult<()>;
    /// Tenant log, newest first, optionally one type only; with how many
    /// events match, counted up to `count_up_to` (0: not counted, as a
    /// count reads every matching index entry).
    async fn list_logs(
        &self,
        tenant: &str,
        kind: Option<&str>,
        offset: u64,
        limit: u64,
        count_up_to: u64,
    ) -> CoreResult<(Vec<LogEvent>, u64)>;
    /// Up to `limit` of the tenant's events written after the one with
    /// `log_id` `from`, oldest first (Auth0's checkpoint read); `None` when
    /// the tenant has no event `from`.
    async fn logs_after(
        &self,
        tenant: &str,
        from: &str,
        limit: u64,
    ) -> CoreResult<Option<Vec<LogEvent>>>;
    /// One event by its `log_id`.
    async fn get_log(&self, tenant: &str, id: &str) -> CoreResult<Option<LogEvent>>;
    /// Delete up to `limit` of the tenant's oldest events dated before
    /// `before` (ISO); how many. The runner calls it until it deletes fewer
    /// than `limit`, so one purge never holds a long transaction.
    async fn purge_logs(&self, tenant: &str, before: &str, limit: u64) -> CoreResult<u64>;
}
