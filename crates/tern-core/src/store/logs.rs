//! The tenant log.

use std::time::Instant;

use crate::CoreResult;
use crate::log_search::LogSearch;
use crate::model::LogEvent;

/// Which events a listing reads, and in which order.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogQuery<'a> {
    /// One event type only (`s`, `fp`, …).
    pub kind: Option<&'a str>,
    /// One user's events only (`auth0|…`): read through the log's user
    /// index (migration 0046), not by scanning.
    pub user_id: Option<&'a str>,
    /// A log search (`q`), besides `kind` and `user_id`. A `date` range
    /// that the whole search implies is read through the log's id index
    /// (ids begin with their time), in id order; other fields may be
    /// compared event by event, within `deadline`.
    pub search: Option<&'a LogSearch>,
    /// Oldest first (`sort=date:1`); newest first otherwise.
    pub oldest_first: bool,
    /// When the store stops the statements and answers
    /// [`crate::CoreError::Timeout`] (as a user search's deadline);
    /// unbounded without.
    pub deadline: Option<Instant>,
}

/// Appending to and reading the tenant log.
#[async_trait::async_trait]
pub trait LogStore: Send + Sync {
    /// Append to the tenant log.
    async fn append_log(&self, tenant: &str, event: &LogEvent) -> CoreResult<()>;
    /// The events `query` selects, in its order, `limit` from `offset`; with
    /// how many match, counted up to `count_up_to` (0: not counted, as a
    /// count reads every matching index entry).
    async fn search_logs(
        &self,
        tenant: &str,
        query: &LogQuery<'_>,
        offset: u64,
        limit: u64,
        count_up_to: u64,
    ) -> CoreResult<(Vec<LogEvent>, u64)>;
    /// Tenant log, newest first, optionally one type only (see
    /// [`LogStore::search_logs`]).
    async fn list_logs(
        &self,
        tenant: &str,
        kind: Option<&str>,
        offset: u64,
        limit: u64,
        count_up_to: u64,
    ) -> CoreResult<(Vec<LogEvent>, u64)> {
        let query = LogQuery {
            kind,
            ..LogQuery::default()
        };
        self.search_logs(tenant, &query, offset, limit, count_up_to)
            .await
    }
    /// A checkpoint's next events, oldest first: at most `take` of those
    /// written after the event `from` (a `log_id`), in an order in which no
    /// event can later appear before one already returned — a reader that
    /// reads on from the last event it got never skips one. (On PostgreSQL,
    /// where transactions commit in any order, that is the writing
    /// transaction's order, and the events of transactions younger than
    /// one still open wait until it ends.) When `from` is no
    /// longer stored (purged by retention) or never was, the events whose
    /// `log_id` sorts after it — ids begin with their time in nanoseconds,
    /// so a reader whose checkpoint was purged resumes where it was instead
    /// of starting over or stopping.
    async fn logs_after(&self, tenant: &str, from: &str, take: u64) -> CoreResult<Vec<LogEvent>>;
    /// Put the events whose writing transaction is ahead of the
    /// database's own — a log copied from another PostgreSQL cluster (a
    /// dump restored, logical replication), whose transaction ids are not
    /// this one's — back before every event written here, in the order
    /// they were written; how many. Without it, events written here would
    /// sort before them until this cluster's ids caught up, and a
    /// checkpoint among them would skip those. Nothing to do on SQLite.
    async fn settle_copied_log(&self, tenant: &str) -> CoreResult<u64> {
        let _ = tenant;
        Ok(0)
    }
    /// One event by its `log_id`.
    async fn get_log(&self, tenant: &str, id: &str) -> CoreResult<Option<LogEvent>>;
    /// Delete up to `limit` of the tenant's oldest events dated before
    /// `before` (ISO); how many. The runner calls it until it deletes fewer
    /// than `limit`, so one purge never holds a long transaction.
    async fn purge_logs(&self, tenant: &str, before: &str, limit: u64) -> CoreResult<u64>;
}
