//! Work that runs after its request has been answered (a change-password
//! request's lookup and mail, an automatic verification mail), bounded:
//! a fixed number run at once, a fixed number wait their turn, and past that
//! new work is refused — the caller logs it — rather than queued without end.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;

/// One kind of background work and its two bounds.
pub struct Lane {
    /// Work running at once.
    workers: Arc<Semaphore>,
    /// Work waiting or running.
    backlog: Arc<Semaphore>,
    /// The backlog's size.
    capacity: usize,
}

impl Lane {
    /// A lane running up to `workers` at once, `backlog` waiting or running.
    pub fn new(workers: usize, backlog: usize) -> Self {
        Self {
            workers: Arc::new(Semaphore::new(workers)),
            backlog: Arc::new(Semaphore::new(backlog)),
            capacity: backlog,
        }
    }

    /// Work waiting or running now (tests wait for it to reach 0).
    pub fn pending(&self) -> usize {
        self.capacity - self.backlog.available_permits()
    }

    /// Start `work` in the background when the backlog has room; `false`
    /// (and `work` dropped unstarted) when it is full.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) -> bool {
        let Ok(place) = self.backlog.clone().try_acquire_owned() else {
            return false;
        };
        let workers = self.workers.clone();
        tokio::spawn(async move {
            // Closed only at shutdown, when the work is moot.
            if let Ok(_turn) = workers.acquire_owned().await {
                work.await;
            }
            drop(place);
        });
        true
    }
}
