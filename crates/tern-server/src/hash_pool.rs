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
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use prometheus_client::metrics::counter::Counter;
use tokio::sync::oneshot;

/// Why a job did not produce its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// The pool and its queue are full.
    Busy,
    /// The job panicked.
    Failed,
}

/// Which queue a job waits in. A free hashing thread takes the oldest
/// `Clean` job first; `Suspect` jobs run when no clean one waits. Under a
/// flood of failed logins from many addresses, every address that has
/// failed recently waits behind the addresses that have not — the users
/// logging in as usual — so they keep their latency while the flood waits
/// (or is answered 503 once its own queue is full). Each queue holds
/// `queue` jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// An address with no recent failed login (and every job that is not
    /// a login: resets, signups, user creation, migrations).
    Clean,
    /// An address with failed logins recently (suspicious-IP throttling's
    /// `pre-login` bucket is not empty).
    Suspect,
}

/// `workers` hashing threads and a bounded queue per lane in front of
/// them. Clones share the threads and the queues: the server makes one
/// and hands it to everything that hashes (logins, resets, the SQL
/// connector, login scripts' profile hashes).
///
/// The threads are the pool's own, not tokio's blocking pool: each thread
/// there that once ran an argon2 verification keeps its 19 MiB in its
/// malloc arena, and a flood spread the work over dozens of threads (half
/// a gigabyte resident). Here the same few threads run every hash, so the
/// memory they hold is `workers` × one hash.
///
/// A thread that finishes a job takes the next waiting one itself. (Before,
/// a finished job's caller — a tokio task — handed its slot to the next
/// waiting task, which then sent its job to a thread: two task wake-ups and
/// a thread wake-up between two verifications, while both cores were busy
/// hashing; the hashing threads then sat idle part of the time at
/// saturation.)
///
/// A job queued while threads are idle wakes the one that went idle last.
/// Each thread hashes in its own reused memory (`tern_hash`'s
/// `argon2_memory`), and the last one to hash still has much of its 19 MiB
/// in the CPU's caches; a thread idle longer has had its memory evicted by
/// the others'. Woken in turn (a condition variable wakes its oldest
/// waiter), two threads verifying one password after another took about
/// 6 % longer a verification than one thread doing the same (see the
/// README's Benchmarks).
#[derive(Debug, Clone)]
pub struct HashPool {
    handle: Arc<Handle>,
    /// Jobs refused because their lane's queue was full (the metrics'
    /// `hash_pool_busy` refusals once [`HashPool::count_busy_in`] links it).
    busy: Counter,
}

/// What the threads share with the pool's handles.
#[derive(Debug)]
struct Shared {
    workers: usize,
    queue: usize,
    queues: Mutex<Queues>,
    /// One per thread: signalled when a job is queued for it to take, or
    /// the pool is dropped.
    wake: Vec<Condvar>,
}

#[derive(Debug, Default)]
struct Queues {
    /// Jobs being run by a thread.
    running: usize,
    /// Threads waiting for a job, the one that went idle last on top.
    idle: Vec<usize>,
    clean: VecDeque<Box<dyn Queued>>,
    suspect: VecDeque<Box<dyn Queued>>,
    /// Every handle is gone: the threads end once the queues are empty.
    closed: bool,
}

/// The handles' side: started threads, and their end when the last handle
/// (every clone of the pool) is dropped.
#[derive(Debug)]
struct Handle {
    shared: Arc<Shared>,
    /// The threads start at the first job; how many did.
    started: OnceLock<usize>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Ok(mut q) = self.shared.queues.lock() {
            q.closed = true;
        }
        for wake in &self.shared.wake {
            wake.notify_all();
        }
    }
}

/// A job waiting for a thread, with the channel its caller awaits.
trait Queued: Send {
    /// The caller stopped waiting (its client hung up).
    fn abandoned(&self) -> bool;
    /// Run the job unless abandoned; `finished` is called once the work is
    /// done, before the result is sent (so a caller that has its result
    /// finds the thread counted free again).
    fn run(self: Box<Self>, finished: &dyn Fn());
}

impl std::fmt::Debug for dyn Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Queued")
    }
}

struct Pending<T, F> {
    job: F,
    answer: oneshot::Sender<T>,
}

impl<T: Send, F: FnOnce() -> T + Send> Queued for Pending<T, F> {
    fn abandoned(&self) -> bool {
        self.answer.is_closed()
    }

    fn run(self: Box<Self>, finished: &dyn Fn()) {
        if self.answer.is_closed() {
            finished();
            return;
        }
        let out = (self.job)();
        finished();
        let _ = self.answer.send(out);
    }
}

impl Shared {
    /// Hashing thread `me`: take the next job (clean first), run it,
    /// repeat; end when the pool is dropped and nothing waits.
    fn serve(&self, me: usize) {
        loop {
            let job = {
                let Ok(mut q) = self.queues.lock() else {
                    return;
                };
                loop {
                    if let Some(job) = q.clean.pop_front().or_else(|| q.suspect.pop_front()) {
                        // Woken spuriously, or before the job's caller
                        // picked a thread: no longer idle either way.
                        q.idle.retain(|&t| t != me);
                        q.running += 1;
                        break job;
                    }
                    if q.closed {
                        return;
                    }
                    if !q.idle.contains(&me) {
                        q.idle.push(me);
                    }
                    q = match self.wake[me].wait(q) {
                        Ok(q) => q,
                        Err(_) => return,
                    };
                }
            };
            let finished = std::cell::Cell::new(false);
            let done = || {
                if !finished.replace(true)
                    && let Ok(mut q) = self.queues.lock()
                {
                    q.running -= 1;
                }
            };
            // A panicking job drops its answer channel: its caller sees
            // `Failed`, the thread lives on.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(&done)));
            done();
        }
    }
}

impl Handle {
    /// Start the threads at the first call; how many started.
    fn start_threads(&self) -> usize {
        *self.started.get_or_init(|| {
            let mut started = 0;
            for i in 0..self.shared.workers {
                let shared = self.shared.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("tern-hash-{i}"))
                    .spawn(move || shared.serve(i));
                match spawned {
                    Ok(_) => started += 1,
                    Err(e) => tracing::error!(error = %e, "cannot start a hashing thread"),
                }
            }
            started
        })
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
            handle: Arc::new(Handle {
                shared: Arc::new(Shared {
                    workers,
                    queue,
                    queues: Mutex::default(),
                    wake: (0..workers).map(|_| Condvar::new()).collect(),
                }),
                started: OnceLock::new(),
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

    /// Whether a thread would take a job at once: fewer running than
    /// threads and nothing waiting. (A moment's answer: another caller may
    /// take that thread first, and the job then waits its turn.)
    pub fn has_idle_thread(&self) -> bool {
        let shared = &self.handle.shared;
        shared
            .queues
            .lock()
            .is_ok_and(|q| q.running < shared.workers && q.clean.is_empty() && q.suspect.is_empty())
    }

    /// Run CPU-bound `job` in the clean lane (see [`Lane`]).
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        self.run_in(Lane::Clean, job).await
    }

    /// Run CPU-bound `job` on a hashing thread as soon as one is free, or
    /// refuse at once when its lane's queue is full. Dropped before its job
    /// starts (the client hung up), the job is skipped and its place freed.
    pub async fn run_in<T: Send + 'static>(
        &self,
        lane: Lane,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        // No thread could start (the process is out of threads): fail
        // rather than queue a job nothing would run.
        if self.handle.start_threads() == 0 {
            return Err(PoolError::Failed);
        }
        let shared = &self.handle.shared;
        let (answer, result) = oneshot::channel();
        let woken = {
            let Ok(mut q) = shared.queues.lock() else {
                return Err(PoolError::Failed);
            };
            // A job queued while a thread is free is taken at once: it does
            // not count against the queue.
            let free = shared.workers.saturating_sub(q.running);
            let waiting = match lane {
                Lane::Clean => &mut q.clean,
                Lane::Suspect => &mut q.suspect,
            };
            // Waiters that gave up (a client that hung up) free their place.
            waiting.retain(|w| !w.abandoned());
            if waiting.len() >= shared.queue + free {
                self.busy.inc();
                return Err(PoolError::Busy);
            }
            waiting.push_back(Box::new(Pending { job, answer }));
            // The thread that went idle last (see [`HashPool`]). It is
            // inside its wait, which released the lock: the signal reaches
            // it. None idle: a running thread takes the job when it ends.
            q.idle.pop()
        };
        if let Some(thread) = woken {
            shared.wake[thread].notify_one();
        }
        result.await.map_err(|_| PoolError::Failed)
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
        while {
            let q = pool.handle.shared.queues.lock().unwrap();
            q.running < 1 || q.clean.is_empty()
        } {
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

    /// Wait until every thread is waiting for a job.
    async fn all_idle(pool: &HashPool) {
        while pool.handle.shared.queues.lock().unwrap().idle.len() < pool.handle.shared.workers {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_thread_idle_last_takes_the_next_job() {
        let pool = HashPool::new(3, 4);
        let name = || std::thread::current().name().map(str::to_owned);
        // Start the threads; each then waits.
        pool.run(|| ()).await.unwrap();
        all_idle(&pool).await;
        let first = pool.run(name).await.unwrap();
        for _ in 0..10 {
            all_idle(&pool).await;
            assert_eq!(
                pool.run(name).await.unwrap(),
                first,
                "one job at a time runs on the thread that hashed last (its memory still cached)"
            );
        }
        // Two at once still use two threads.
        all_idle(&pool).await;
        let (gate, held) = std::sync::mpsc::channel::<()>();
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(move || {
                    let _ = held.recv();
                    std::thread::current().name().map(str::to_owned)
                })
                .await
            })
        };
        while pool.handle.shared.queues.lock().unwrap().running < 1 {
            tokio::task::yield_now().await;
        }
        let other = pool.run(name).await.unwrap();
        gate.send(()).unwrap();
        assert_ne!(busy.await.unwrap().unwrap(), other);
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
        while pool.handle.shared.queues.lock().unwrap().running < 1 {
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
                let s = pool.handle.shared.queues.lock().unwrap();
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
        assert_eq!(
            pool.handle.shared.queues.lock().unwrap().running,
            0,
            "every slot freed"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_whose_caller_left_is_skipped() {
        let pool = HashPool::new(1, 4);
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let running = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || gate.recv().is_ok()).await })
        };
        while pool.handle.shared.queues.lock().unwrap().running < 1 {
            tokio::task::yield_now().await;
        }
        // Queued behind the running job, then its caller goes away.
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let left = {
            let (pool, ran) = (pool.clone(), ran.clone());
            tokio::spawn(async move {
                pool.run(move || ran.store(true, std::sync::atomic::Ordering::SeqCst))
                    .await
            })
        };
        while pool.handle.shared.queues.lock().unwrap().clean.is_empty() {
            tokio::task::yield_now().await;
        }
        left.abort();
        assert!(left.await.unwrap_err().is_cancelled());
        release.send(()).unwrap();
        assert_eq!(running.await.unwrap(), Ok(true));
        // The thread went on to the next job, past the abandoned one.
        assert_eq!(pool.run(|| 7).await, Ok(7));
        assert!(
            !ran.load(std::sync::atomic::Ordering::SeqCst),
            "the abandoned job did not run"
        );
    }
}
