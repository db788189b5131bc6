//! Suspicious-IP throttling's count that holds when logins race, in this
//! process.
//!
//! A login reads its address's bucket beside its other reads (no statement
//! of its own), compares the password, and counts a failure after. Logins
//! racing from one address all read the bucket before the first failure is
//! counted, so all were compared however low the limit. Here, without a
//! statement more:
//!
//! - a login is *present* on its address's bucket from before it reads the
//!   bucket until it is judged, and while any login is present the newest
//!   bucket a failure of this process counted is remembered — so what a
//!   login read, with what it is told, misses no failure of this process;
//! - before comparing, it *reserves* a comparison: the comparisons in
//!   progress count as failures to come, and a comparison that the bucket
//!   could not take after them all waits for one to end (a success gives
//!   its place back), and is refused once none is in progress.
//!
//! So racing wrong passwords from one address get at most the bucket's
//! attempts compared, and logins below the limit never wait for each other
//! (an office behind one address is not serialised). With several instances
//! behind a load balancer each instance reserves apart: a burst spread over
//! n instances can get up to n × the bucket's attempts compared before the
//! store's count refuses the address everywhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tern_core::ip_throttling::StageLimit;
use tokio::sync::Notify;

type Lines = Mutex<HashMap<String, Line>>;

/// One bucket's logins in progress.
#[derive(Debug, Default)]
struct Line {
    /// Logins present (reading, waiting, comparing).
    present: usize,
    /// Comparisons reserved and not yet judged.
    comparing: usize,
    /// The bucket (its `tat`, milliseconds) after the newest failure this
    /// process counted while the line existed.
    counted: Option<i64>,
    /// Woken when a comparison ends.
    ended: Arc<Notify>,
}

/// The buckets with a login in progress (an entry each; none otherwise).
#[derive(Debug, Default)]
pub struct IpAttempts {
    lines: Arc<Lines>,
}

impl IpAttempts {
    /// Be present on `bucket` (before reading it).
    pub fn enter(&self, bucket: &str) -> Presence {
        let mut lines = lock(&self.lines);
        let line = lines.entry(bucket.to_string()).or_default();
        line.present += 1;
        Presence {
            lines: Arc::clone(&self.lines),
            key: bucket.to_string(),
            ended: Arc::clone(&line.ended),
        }
    }

    /// How many buckets have a login in progress.
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.lines).len()
    }
}

fn lock(lines: &Lines) -> std::sync::MutexGuard<'_, HashMap<String, Line>> {
    lines
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A login present on its bucket; the last one gone removes the line.
#[derive(Debug)]
pub struct Presence {
    lines: Arc<Lines>,
    key: String,
    ended: Arc<Notify>,
}

/// A reserved comparison: counted as a failure to come until dropped.
#[derive(Debug)]
pub struct Comparison<'a> {
    presence: &'a Presence,
}

enum Decision {
    Compare,
    Wait,
    Refuse,
}

impl Presence {
    /// Wait until the bucket can take this comparison after those in
    /// progress; `None` (refused) when it cannot and none is in progress.
    /// `read`: the bucket as this login read it, `now_ms` the time.
    pub async fn reserve(
        &self,
        limit: StageLimit,
        read: Option<i64>,
        now_ms: i64,
    ) -> Option<Comparison<'_>> {
        loop {
            // Listening before deciding: an end between the two wakes us.
            let ended = self.ended.notified();
            let mut ended = std::pin::pin!(ended);
            ended.as_mut().enable();
            match self.decide(limit, read, now_ms) {
                Decision::Compare => return Some(Comparison { presence: self }),
                Decision::Refuse => return None,
                Decision::Wait => ended.await,
            }
        }
    }

    fn decide(&self, limit: StageLimit, read: Option<i64>, now_ms: i64) -> Decision {
        let mut lines = lock(&self.lines);
        let Some(line) = lines.get_mut(&self.key) else {
            return Decision::Refuse;
        };
        let known = read.max(line.counted).unwrap_or(now_ms).max(now_ms);
        let comparing = i64::try_from(line.comparing).unwrap_or(i64::MAX);
        let after_those = known.saturating_add(comparing.saturating_mul(limit.rate_ms()));
        if !limit.refuses(after_those, now_ms) {
            line.comparing += 1;
            Decision::Compare
        } else if line.comparing == 0 {
            Decision::Refuse
        } else {
            Decision::Wait
        }
    }
}

impl Comparison<'_> {
    /// The comparison failed and was counted: the bucket is `tat` now.
    pub fn counted(self, tat: i64) {
        let mut lines = lock(&self.presence.lines);
        if let Some(line) = lines.get_mut(&self.presence.key) {
            line.counted = line.counted.max(Some(tat));
        }
        // Dropping `self` ends the comparison, after the count is known.
    }
}

impl Drop for Comparison<'_> {
    fn drop(&mut self) {
        let mut lines = lock(&self.presence.lines);
        if let Some(line) = lines.get_mut(&self.presence.key) {
            line.comparing -= 1;
        }
        drop(lines);
        self.presence.ended.notify_waiters();
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        let mut lines = lock(&self.lines);
        if let Some(line) = lines.get_mut(&self.key) {
            line.present -= 1;
            if line.present == 0 {
                lines.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    const LIMIT: StageLimit = StageLimit {
        max_attempts: 2,
        rate: 1000,
    };

    #[tokio::test]
    async fn comparisons_in_progress_count_as_failures_to_come() {
        let attempts = IpAttempts::default();
        let (a, b, c) = (
            attempts.enter("203.0.113.9"),
            attempts.enter("203.0.113.9"),
            attempts.enter("203.0.113.9"),
        );
        let first = a.reserve(LIMIT, None, 0).await.expect("room");
        let second = b.reserve(LIMIT, None, 0).await.expect("room");
        // Two in progress fill the bucket: the third waits for one to end.
        let third = {
            let waiting = c.reserve(LIMIT, None, 0);
            let mut waiting = std::pin::pin!(waiting);
            assert!(waiting.as_mut().now_or_never().is_none(), "waits");
            // A success gives its place back.
            drop(first);
            waiting.await.expect("a place given back")
        };
        // Two failures counted, as the store would answer them.
        second.counted(1000);
        third.counted(2000);
        let other = attempts.enter("198.51.100.1");
        assert!(
            other.reserve(LIMIT, None, 0).await.is_some(),
            "another bucket"
        );
        drop(other);
        assert!(
            a.reserve(LIMIT, None, 0).await.is_none(),
            "counted, refused"
        );
        drop((a, b, c));
        assert_eq!(attempts.len(), 0, "nothing kept once every login is done");
    }

    #[tokio::test]
    async fn a_failure_counted_after_a_read_is_not_missed() {
        let attempts = IpAttempts::default();
        let late = attempts.enter("203.0.113.9");
        // `late` read an empty bucket; meanwhile two failures were counted.
        for tat in [1000, 2000] {
            let p = attempts.enter("203.0.113.9");
            p.reserve(LIMIT, None, 0).await.expect("room").counted(tat);
        }
        assert!(late.reserve(LIMIT, None, 0).await.is_none());
    }
}
