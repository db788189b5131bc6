//! Fixed-window counters kept in the store, so that a limit holds across
//! every instance sharing the database.

use crate::{CoreError, CoreResult};

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
    /// The hits of `bucket` (in `scope`) in the window starting at
    /// `window_start`, without counting one (0 when it has none).
    async fn rate_window_hits(
        &self,
        tenant: &str,
        scope: &str,
        bucket: &str,
        window_start: i64,
    ) -> CoreResult<u64>;
    /// Drop every window that started before `before` (the background
    /// runner's purge of buckets nobody uses any more); how many.
    async fn purge_rate_windows(&self, tenant: &str, before: i64) -> CoreResult<u64>;

    /// Suspicious-IP throttling: count one attempt of `ip` at `stage`, moving
    /// its bucket's time-full-again to `max(it, now_ms) + rate_ms` in one
    /// statement (concurrent attempts from any instance each count); the
    /// new value. A take no bucket can refuse: counting without admission
    /// is the same upsert with an unbounded tolerance.
    async fn hit_ip_throttle(
        &self,
        tenant: &str,
        stage: &str,
        ip: &str,
        now_ms: i64,
        rate_ms: i64,
    ) -> CoreResult<i64> {
        self.take_ip_throttle(tenant, stage, ip, now_ms, rate_ms, i64::MAX)
            .await?
            .ok_or_else(|| CoreError::Storage("an unbounded ip throttle take was refused".into()))
    }
    /// Suspicious-IP throttling's admission: take one attempt from `ip`'s
    /// bucket at `stage` only if the bucket can take it — its
    /// time-full-again at most `tolerance_ms` ahead of `now_ms`
    /// (`StageLimit::refuses`) — moving it to `max(it, now_ms) + rate_ms`.
    /// One statement, so attempts racing from any instance are admitted up
    /// to the bucket's size and no further. The new value when taken;
    /// `None` when refused, the bucket left as it was (a refused attempt is
    /// not one the bucket let through, so it must not delay the refill).
    async fn take_ip_throttle(
        &self,
        tenant: &str,
        stage: &str,
        ip: &str,
        now_ms: i64,
        rate_ms: i64,
        tolerance_ms: i64,
    ) -> CoreResult<Option<i64>>;
    /// The time `ip`'s bucket at `stage` is full again, if it has one.
    async fn ip_throttle(&self, tenant: &str, stage: &str, ip: &str) -> CoreResult<Option<i64>>;
    /// Forget `ip`'s buckets at every stage (an administrator's unblock); how many.
    async fn delete_ip_throttles(&self, tenant: &str, ip: &str) -> CoreResult<u64>;
    /// Drop buckets that were full again before `before_ms` (they hold
    /// nothing a fresh bucket would not); how many.
    async fn purge_ip_throttles(&self, tenant: &str, before_ms: i64) -> CoreResult<u64>;
}
