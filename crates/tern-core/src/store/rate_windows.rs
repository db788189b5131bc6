//! Fixed-window counters kept in the store, so that a limit holds across
//! every instance sharing the database.

use crate::CoreResult;

/// Counting hits per (scope, bucket) in fixed time windows.
#[async_trait::async_trait]
pub trait RateWindowStore: Send + Sync {
    /// Count one hit of `bucket` (in `scope`) in the window starting at
    /// `window_start` (epoch seconds); the window's hits including this one.
    /// The bucket's earlier windows are dropped when a new one starts, so a
    /// busy bucket keeps one row.
    async fn hit_rate_window(
        &self,
        tenant: &str,
        scope: &str,
        bucket: &str,
        window_start: i64,
    ) -> CoreResult<u64>;
    /// Drop every window that started before `before` (the background
    /// runner's purge of buckets nobody uses any more); how many.
    async fn purge_rate_windows(&self, tenant: &str, before: i64) -> CoreResult<u64>;
}
