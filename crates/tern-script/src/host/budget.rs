//! What one call's host side may take beside the QuickJS heap: bytes
//! received, requests at once and the bytes they hold while they wait, rows
//! per query (see [`ScriptLimits`]).
//!
//! Shared by every task the call starts; the tasks themselves are aborted
//! when the call ends (`Io::shutdown`). Blocking work (bcrypt) cannot be
//! aborted, so it holds its admission and slot until it returns: what a
//! call leaves running after its deadline stays within the same bounds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::io::OpError;
use crate::ScriptLimits;
use crate::limits::MAX_WAITING_PER_SLOT;

/// One call's host budget.
#[derive(Debug)]
pub(crate) struct Budget {
    received: AtomicUsize,
    max_received: usize,
    slots: Arc<Semaphore>,
    /// Requests admitted: running or waiting for a slot.
    admitted: AtomicUsize,
    max_admitted: usize,
    /// Bytes the admitted requests hold outside the QuickJS heap (their
    /// SQL, parameters, bodies): a script queueing copies of one large
    /// string must not grow Tern's memory past the heap limit.
    held_bytes: AtomicUsize,
    max_held_bytes: usize,
    max_connections: usize,
    /// Rows one query may return.
    pub max_rows: usize,
}

impl Budget {
    /// The budget of a call under `limits`.
    pub fn new(limits: &ScriptLimits) -> Arc<Self> {
        let slots = limits.max_concurrent_requests.max(1);
        Arc::new(Budget {
            received: AtomicUsize::new(0),
            max_received: limits.max_received_bytes,
            slots: Arc::new(Semaphore::new(slots)),
            admitted: AtomicUsize::new(0),
            max_admitted: slots.saturating_mul(1 + MAX_WAITING_PER_SLOT),
            held_bytes: AtomicUsize::new(0),
            max_held_bytes: limits.memory_bytes,
            max_connections: slots,
            max_rows: limits.max_rows_per_query,
        })
    }

    /// Count `n` more bytes received; an error once the call's total passes
    /// the limit.
    pub fn receive(&self, n: usize) -> Result<(), OpError> {
        let before = self.received.fetch_add(n, Ordering::AcqRel);
        if before.saturating_add(n) > self.max_received {
            return Err(OpError::new(format!(
                "the script received more than its limit of {} bytes",
                self.max_received
            ))
            .with("code", "ERESPONSETOOLARGE"));
        }
        Ok(())
    }

    /// Admit one more request holding `bytes` outside the heap, or refuse
    /// it when too many already wait or together they would hold more than
    /// the heap limit.
    pub fn admit(self: &Arc<Self>, bytes: usize) -> Result<Admitted, OpError> {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.max_admitted {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(OpError::new(format!(
                "too many requests pending in this script call (at most {} at once, {} waiting)",
                self.max_connections,
                self.max_admitted - self.max_connections
            ))
            .with("code", "EMFILE"));
        }
        let before = self.held_bytes.fetch_add(bytes, Ordering::AcqRel);
        if before.saturating_add(bytes) > self.max_held_bytes {
            self.held_bytes.fetch_sub(bytes, Ordering::AcqRel);
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(OpError::new(format!(
                "the requests pending in this script call would hold more than {} bytes \
                 (the script's memory limit)",
                self.max_held_bytes
            ))
            .with("code", "ENOBUFS"));
        }
        Ok(Admitted {
            budget: self.clone(),
            bytes,
        })
    }

    /// Wait for a slot to run a request in.
    pub async fn slot(&self) -> Result<OwnedSemaphorePermit, OpError> {
        self.slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| OpError::new("the script call has ended"))
    }

    /// Whether another database connection may be opened, `opened` being
    /// open already.
    pub fn connection_allowed(&self, opened: usize) -> bool {
        opened < self.max_connections
    }

    /// The connection cap, for messages.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }
}

/// A request counted as admitted, with the bytes it holds, until dropped.
pub(crate) struct Admitted {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.budget.admitted.fetch_sub(1, Ordering::AcqRel);
        self.budget
            .held_bytes
            .fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_bytes_add_up_across_requests() {
        let b = Budget::new(&ScriptLimits {
            max_received_bytes: 10,
            ..ScriptLimits::default()
        });
        assert!(b.receive(6).is_ok());
        assert!(b.receive(4).is_ok());
        let e = b.receive(1).unwrap_err();
        assert_eq!(e.props["code"], "ERESPONSETOOLARGE");
    }

    #[test]
    fn admission_is_bounded_and_released() {
        let b = Budget::new(&ScriptLimits {
            max_concurrent_requests: 1,
            ..ScriptLimits::default()
        });
        let held: Vec<_> = (0..=MAX_WAITING_PER_SLOT)
            .map(|_| b.admit(0).unwrap())
            .collect();
        assert_eq!(b.admit(0).err().unwrap().props["code"], "EMFILE");
        drop(held);
        assert!(b.admit(0).is_ok());
    }

    #[test]
    fn held_bytes_are_bounded_by_the_heap_limit_and_released() {
        let b = Budget::new(&ScriptLimits {
            memory_bytes: 100,
            ..ScriptLimits::default()
        });
        let first = b.admit(60).unwrap();
        let refused = b.admit(41).err().unwrap();
        assert_eq!(refused.props["code"], "ENOBUFS");
        // A refusal releases what it reserved: the count too.
        let second = b.admit(40).unwrap();
        drop(first);
        assert!(b.admit(60).is_ok());
        drop(second);
    }
}
