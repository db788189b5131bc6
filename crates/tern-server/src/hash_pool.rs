//! Password hashing and verification on a bounded pool.
//!
//! One argon2id verification under the default policy holds 19 MiB for
//! ~20 ms of a core. Run on tokio's blocking pool (up to 512 threads) a
//! flood of logins held hundreds of them at once: a gigabyte of memory, and
//! every login slower. Here at most `workers` (the cores) run at once and at
//! most `queue` more wait; a request beyond that is answered at once with
//! 503 `temporarily_unavailable` and `Retry-After`, costing nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

/// The pool is full: the caller should answer 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Why a job did not produce its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// The pool and its queue are full.
    Busy,
    /// The job panicked.
    Failed,
}

/// A fixed number of hashing slots and a bounded queue in front of them.
/// Clones share the slots and the queue: the server makes one and hands it
/// to everything that hashes (logins, resets, the SQL connector, login
/// scripts' profile hashes).
#[derive(Debug, Clone)]
pub struct HashPool {
    running: Arc<Semaphore>,
    /// Jobs admitted: running or waiting.
    admitted: Arc<AtomicUsize>,
    capacity: usize,
}

impl HashPool {
    /// `workers` at once (0: one per core), `queue` more waiting.
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
        } else {
            workers
        };
        Self {
            running: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity: workers + queue,
        }
    }

    /// Run CPU-bound `job` when a slot is free, or refuse at once when the
    /// queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(PoolError::Busy);
        }
        // Released however this future ends (a client that hangs up drops it).
        let _admitted = Admitted(&self.admitted);
        let Ok(_slot) = self.running.clone().acquire_owned().await else {
            return Err(PoolError::Failed);
        };
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|_| PoolError::Failed)
    }
}

struct Admitted<'a>(&'a AtomicUsize);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_at_once() {
        let pool = Arc::new(HashPool::new(1, 1));
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(std::sync::Mutex::new(gate));
        // One running (held until released), one waiting.
        let mut held = vec![];
        for _ in 0..2 {
            let (pool, gate) = (pool.clone(), gate.clone());
            held.push(tokio::spawn(async move {
                pool.run(move || {
                    let _ = gate.lock().map(|g| g.recv());
                })
                .await
            }));
        }
        // Wait until both are admitted.
        while pool.admitted.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.run(|| ()).await, Err(PoolError::Busy));
        release.send(()).unwrap();
        release.send(()).unwrap();
        for h in held {
            assert_eq!(h.await.unwrap(), Ok(()));
        }
        assert_eq!(pool.run(|| 7).await, Ok(7), "room again");
    }
}
