//! What one call's host side may take beside the QuickJS heap: bytes
//! received, requests at once, rows per query (see [`ScriptLimits`]).
//!
//! Shared by every task the call starts; the tasks themselves are aborted
//! when the call ends (`Io::shutdown`), so nothing here outlives it.

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

    /// Admit one more request, or refuse it when too many already wait.
    pub fn admit(self: &Arc<Self>) -> Result<Admitted, OpError> {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.max_admitted {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(OpError::new(format!(
                "too many requests pending in this script call (at most {} at once, {} waiting)",
                self.max_connections,
                self.max_admitted - self.max_connections
            ))
            .with("code", "EMFILE"));
        }
        Ok(Admitted(self.clone()))
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

/// A request counted as admitted until dropped.
pub(crate) struct Admitted(Arc<Budget>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
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
            .map(|_| b.admit().unwrap())
            .collect();
        assert_eq!(b.admit().err().unwrap().props["code"], "EMFILE");
        drop(held);
        assert!(b.admit().is_ok());
    }
}
