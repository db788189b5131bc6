//! One password comparison at a time per brute-force counter, in this
//! process.
//!
//! Brute-force protection checks for a block before a password is compared
//! and counts the failure after. Attempts racing for one user from one
//! address would all pass the check before the first failure is counted:
//! 40 at once with `max_attempts` 10 had 20 passwords compared (the
//! per-minute window's cap). Here attempts on one counter take turns —
//! check, compare, count — so each sees the failures of those before it
//! and at most `max_attempts` are compared. Waiting costs nothing on the
//! hot path (no statement; a map insert and removal per login), and an
//! attempt that would wait behind a full minute's worth of others is
//! refused at once rather than queued.
//!
//! The turns are this process's: with several instances behind a load
//! balancer, attempts on different instances still race, so a burst can
//! get `max_attempts` + (instances − 1) comparisons before the block.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as TurnLock, OwnedMutexGuard};

type Waiting = Mutex<HashMap<String, Line>>;

/// One counter's line: its lock and how many attempts hold or await it.
#[derive(Debug, Default)]
struct Line {
    lock: Arc<TurnLock<()>>,
    attempts: usize,
}

/// The counters attempts are waiting on (an entry per counter with an
/// attempt in progress; none otherwise).
#[derive(Debug, Default)]
pub struct LoginTurns {
    waiting: Arc<Waiting>,
}

/// An attempt's turn: the next attempt on its counter waits until this is
/// dropped.
#[derive(Debug)]
pub struct Turn {
    // Released before the claim is given up (fields drop in order).
    _held: OwnedMutexGuard<()>,
    _claim: Claim,
}

/// A place in a counter's line (holding or awaiting its turn); the last
/// one gone removes the line.
#[derive(Debug)]
struct Claim {
    waiting: Arc<Waiting>,
    key: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(line) = waiting.get_mut(&self.key) {
            line.attempts -= 1;
            if line.attempts == 0 {
                waiting.remove(&self.key);
            }
        }
    }
}

impl LoginTurns {
    /// Wait for the turn of `key`; `None` (at once) when one attempt holds
    /// it and `max_waiting` more are waiting.
    pub async fn take(&self, key: String, max_waiting: usize) -> Option<Turn> {
        let lock = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            let line = waiting.entry(key.clone()).or_default();
            // `attempts` holding or awaiting the turn: at most one holds it.
            if line.attempts > max_waiting {
                return None;
            }
            line.attempts += 1;
            Arc::clone(&line.lock)
        };
        // From here, dropping the claim (turn over, or the wait abandoned)
        // gives the place back.
        let claim = Claim {
            waiting: Arc::clone(&self.waiting),
            key,
        };
        let held = lock.lock_owned().await;
        Some(Turn {
            _held: held,
            _claim: claim,
        })
    }

    /// How many counters have an attempt in progress.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.waiting.lock().map(|w| w.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn attempts_on_one_counter_take_turns() {
        let turns = Arc::new(LoginTurns::default());
        let first = turns.take("u|ip".into(), 20).await.expect("a turn");
        let waiter = {
            let turns = Arc::clone(&turns);
            tokio::spawn(async move { turns.take("u|ip".into(), 20).await.is_some() })
        };
        // Another counter is not held up.
        let other = turns.take("v|ip".into(), 20).await;
        assert!(other.is_some());
        drop(other);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "the second attempt waits");
        drop(first);
        assert!(waiter.await.expect("joined"));
        assert_eq!(turns.len(), 0, "nothing kept once every attempt is done");
    }

    #[tokio::test]
    async fn a_full_line_is_refused_at_once() {
        let turns = Arc::new(LoginTurns::default());
        let held = turns.take("u|ip".into(), 2).await.expect("a turn");
        let waiter = {
            let turns = Arc::clone(&turns);
            tokio::spawn(async move { turns.take("u|ip".into(), 2).await.is_some() })
        };
        let in_line = || {
            turns
                .waiting
                .lock()
                .unwrap()
                .get("u|ip")
                .map(|l| l.attempts)
        };
        // The holder and one waiting: there is room for one more.
        while in_line() != Some(2) {
            tokio::task::yield_now().await;
        }
        let third = {
            let turns = Arc::clone(&turns);
            tokio::spawn(async move { turns.take("u|ip".into(), 2).await.is_some() })
        };
        while in_line() != Some(3) {
            tokio::task::yield_now().await;
        }
        assert!(turns.take("u|ip".into(), 2).await.is_none(), "a full line");
        drop(held);
        assert!(waiter.await.expect("joined"));
        assert!(third.await.expect("joined"));
        assert_eq!(turns.len(), 0);
    }

    #[tokio::test]
    async fn an_abandoned_wait_leaves_nothing_behind() {
        let turns = LoginTurns::default();
        let held = turns.take("u|ip".into(), 20).await.expect("a turn");
        let gave_up =
            tokio::time::timeout(Duration::from_millis(10), turns.take("u|ip".into(), 20)).await;
        assert!(gave_up.is_err(), "still held");
        drop(held);
        assert_eq!(turns.len(), 0);
    }
}
