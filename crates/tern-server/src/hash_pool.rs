//! Password hashing and verification on a bounded pool.
//!
//! One argon2id verification under the default policy holds 19 MiB for
//! ~20 ms of a core. Run on tokio's blocking pool (up to 512 threads) a
//! flood of logins held hundreds of them at once: a gigabyte of memory, and
//! every login slower. Here at most `workers` (the cores) run at once, on
//! the pool's own threads, and at most `queue` more wait per lane (clean
//! addresses first, see [`Lane`]); a request beyond that is answered at
//! once with 503 `temporarily_unavailable` and `Retry-After`, costing nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use prometheus_client::metrics::counter::Counter;
use tokio::sync::oneshot;

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

/// Which queue a job waits in. A free slot goes to the oldest `Clean` job
/// first; `Suspect` jobs run when no clean one waits. Under a flood of
/// failed logins from many addresses, every address that has failed
/// recently waits behind the addresses that have not — the users logging
/// in as usual — so they keep their latency while the flood waits (or is
/// answered 503 once its own queue is full). Each queue holds `queue` jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// An address with no recent failed login (and every job that is not
    /// a login: resets, signups, user creation, migrations).
    Clean,
    /// An address with failed logins recently (suspicious-IP throttling's
    /// `pre-login` bucket is not empty).
    Suspect,
}

/// A fixed number of hashing slots and a bounded queue per lane in front
/// of them. Clones share the slots and the queues: the server makes one
/// and hands it to everything that hashes (logins, resets, the SQL
/// connector, login scripts' profile hashes).
#[derive(Debug, Clone)]
pub struct HashPool {
    inner: Arc<Mutex<Slots>>,
    threads: Arc<Threads>,
    /// Jobs refused because their lane's queue was full (the metrics'
    /// `hash_pool_busy` refusals once [`HashPool::count_busy_in`] links it).
    busy: Counter,
}

/// A job for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// The pool's own `workers` threads, started at the first job. Not tokio's
/// blocking pool: each thread there that once ran an argon2 verification
/// keeps its 19 MiB in its malloc arena, and a flood spread the work over
/// dozens of threads (half a gigabyte resident). Here the same few threads
/// run every hash, so the memory they hold is `workers` × one hash.
#[derive(Debug)]
struct Threads {
    workers: usize,
    jobs: OnceLock<Mutex<mpsc::Sender<Job>>>,
}

impl Threads {
    fn sender(&self) -> Option<mpsc::Sender<Job>> {
        let jobs = self.jobs.get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            let rx = Arc::new(Mutex::new(rx));
            for i in 0..self.workers {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("tern-hash-{i}"))
                    .spawn(move || {
                        loop {
                            let job = match rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            match job {
                                // A panicking job drops its answer channel:
                                // its caller sees `Failed`, the thread lives on.
                                Ok(job) => {
                                    let _ =
                                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                                }
                                Err(_) => return,
                            }
                        }
                    });
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start a hashing thread");
                }
            }
            Mutex::new(tx)
        });
        jobs.lock().ok().map(|tx| tx.clone())
    }
}

#[derive(Debug)]
struct Slots {
    workers: usize,
    /// Slots in use (a slot handed from a finished job to a waiting one
    /// stays in use).
    running: usize,
    queue: usize,
    clean: VecDeque<oneshot::Sender<()>>,
    suspect: VecDeque<oneshot::Sender<()>>,
}

impl Slots {
    /// Hand a freed slot to the next waiter still waiting, clean first;
    /// with nobody waiting, the slot is free.
    fn release(&mut self) {
        while let Some(next) = self.clean.pop_front().or_else(|| self.suspect.pop_front()) {
            if next.send(()).is_ok() {
                return;
            }
        }
        self.running = self.running.saturating_sub(1);
    }
}

impl HashPool {
    /// `workers` at once (0: one per core), `queue` more waiting per lane.
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
        } else {
            workers
        };
        Self {
            inner: Arc::new(Mutex::new(Slots {
                workers,
                running: 0,
                queue,
                clean: VecDeque::new(),
                suspect: VecDeque::new(),
            })),
            threads: Arc::new(Threads {
                workers,
                jobs: OnceLock::new(),
            }),
            busy: Counter::default(),
        }
    }

    /// Count refused jobs in `counter` (shared by every clone made after).
    #[must_use]
    pub fn count_busy_in(mut self, counter: Counter) -> Self {
        self.busy = counter;
        self
    }

    /// Run CPU-bound `job` in the clean lane (see [`Lane`]).
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        self.run_in(Lane::Clean, job).await
    }

    /// Run CPU-bound `job` when a slot is free, or refuse at once when its
    /// lane's queue is full.
    pub async fn run_in<T: Send + 'static>(
        &self,
        lane: Lane,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let waiting = {
            let Ok(mut slots) = self.inner.lock() else {
                return Err(PoolError::Failed);
            };
            if slots.running < slots.workers && slots.clean.is_empty() && slots.suspect.is_empty() {
                slots.running += 1;
                None
            } else {
                let queue = slots.queue;
                let waiters = match lane {
                    Lane::Clean => &mut slots.clean,
                    Lane::Suspect => &mut slots.suspect,
                };
                // Waiters that gave up (a client that hung up) free their place.
                waiters.retain(|w| !w.is_closed());
                if waiters.len() >= queue {
                    self.busy.inc();
                    return Err(PoolError::Busy);
                }
                let (tx, rx) = oneshot::channel();
                waiters.push_back(tx);
                Some(rx)
            }
        };
        if let Some(rx) = waiting {
            let mut wait = Waiting {
                rx,
                handed: false,
                pool: self.inner.clone(),
            };
            if (&mut wait.rx).await.is_err() {
                return Err(PoolError::Failed);
            }
            wait.handed = true;
        }
        // Released however this future ends, once it holds the slot.
        let _slot = Slot(self.inner.clone());
        let (tx, rx) = oneshot::channel();
        let sent = self.threads.sender().is_some_and(|jobs| {
            jobs.send(Box::new(move || {
                let _ = tx.send(job());
            }))
            .is_ok()
        });
        if !sent {
            return Err(PoolError::Failed);
        }
        rx.await.map_err(|_| PoolError::Failed)
    }
}

/// A job waiting for a slot. Dropped before the slot arrives (the client
/// hung up), it gives up its place; a slot handed to it in that very
/// moment is passed on, never lost.
struct Waiting {
    rx: oneshot::Receiver<()>,
    handed: bool,
    pool: Arc<Mutex<Slots>>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.handed {
            return;
        }
        self.rx.close();
        if self.rx.try_recv().is_ok()
            && let Ok(mut slots) = self.pool.lock()
        {
            slots.release();
        }
    }
}

/// A slot in use; dropping it hands it on.
struct Slot(Arc<Mutex<Slots>>);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut slots) = self.0.lock() {
            slots.release();
        }
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
        // Wait until one runs and one waits.
        while pool.inner.lock().unwrap().clean.is_empty() {
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clean_jobs_overtake_suspect_ones() {
        let pool = HashPool::new(1, 8);
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(std::sync::Mutex::new(gate));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let g = gate.clone();
        let running = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(move || {
                    let _ = g.lock().map(|g| g.recv());
                })
                .await
            })
        };
        while pool.inner.lock().unwrap().running < 1 {
            tokio::task::yield_now().await;
        }
        let mut waiting = vec![];
        for (lane, name) in [
            (Lane::Suspect, "suspect 1"),
            (Lane::Suspect, "suspect 2"),
            (Lane::Clean, "clean"),
        ] {
            let (p, order) = (pool.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                p.run_in(lane, move || order.lock().unwrap().push(name))
                    .await
            }));
            // Queued in this order.
            let queued = waiting.len();
            while {
                let s = pool.inner.lock().unwrap();
                s.clean.len() + s.suspect.len()
            } < queued
            {
                tokio::task::yield_now().await;
            }
        }
        release.send(()).unwrap();
        running.await.unwrap().unwrap();
        for w in waiting {
            w.await.unwrap().unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["clean", "suspect 1", "suspect 2"],
            "the clean job went first"
        );
        assert_eq!(pool.inner.lock().unwrap().running, 0, "every slot freed");
    }
}
