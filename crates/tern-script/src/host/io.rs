//! Asynchronous host operations: started from the script thread, run on tokio, completed
//! through a channel the event loop waits on. Every operation is bounded by the deadline.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Instant;

use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::AbortHandle;

use super::budget::{Admitted, Budget};
use super::{bcrypt, http, sql};
use crate::{Network, ScriptEnv};

/// The result of one asynchronous operation: JSON text of the value or of the error.
pub(crate) struct Completion {
    pub id: u64,
    pub result: Result<String, String>,
}

/// An operation's error, delivered to JavaScript as an `Error` with extra properties
/// (`code`, `errno`, `sqlState`, …).
#[derive(Debug, Clone)]
pub(crate) struct OpError {
    pub message: String,
    pub props: serde_json::Map<String, Value>,
}

impl OpError {
    /// An error with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        OpError {
            message: message.into(),
            props: serde_json::Map::new(),
        }
    }

    /// Adds a property.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.props.insert(key.to_owned(), value.into());
        self
    }

    /// A connection the network policy refused; the message names the
    /// setting that would allow it. `address` only when the script wrote
    /// one: what a name resolved to is not the script's to learn.
    pub fn refused(r: &tern_net::Refusal) -> Self {
        let e = OpError::new(r.to_string())
            .with("code", "ENOTALLOWED")
            .with("port", r.port());
        match r.literal_address() {
            Some(ip) => e.with("address", ip.to_string()),
            None => e,
        }
    }

    fn to_json(&self) -> String {
        let mut map = self.props.clone();
        map.insert("message".into(), Value::String(self.message.clone()));
        Value::Object(map).to_string()
    }
}

/// Blocking host work (bcrypt) started and not yet returned, across every
/// call, work a call abandoned at its deadline included.
static BLOCKING_RUNNING: AtomicUsize = AtomicUsize::new(0);

/// See [`BLOCKING_RUNNING`].
pub(crate) fn blocking_work_running() -> usize {
    BLOCKING_RUNNING.load(Ordering::Acquire)
}

/// Counts one piece of blocking work in [`BLOCKING_RUNNING`] until dropped.
struct Running;

impl Running {
    fn start() -> Self {
        BLOCKING_RUNNING.fetch_add(1, Ordering::AcqRel);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        BLOCKING_RUNNING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs CPU-heavy work (bcrypt) on tokio's blocking pool while the script thread waits
/// at most until the deadline.
pub(crate) struct BlockingRunner {
    handle: Handle,
    deadline: Instant,
    budget: Arc<Budget>,
}

impl BlockingRunner {
    /// Runs `f` in one of the call's request slots and waits for it, or fails
    /// once the deadline passes. Nothing starts after the deadline, and work
    /// abandoned at the deadline keeps its slot until it returns, so a script
    /// that catches the timeout and calls again cannot pile up hashes.
    pub fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let timed_out = || "operation timed out (script time limit)".to_owned();
        if Instant::now() >= self.deadline {
            return Err(timed_out());
        }
        let admitted = self.budget.admit(0).map_err(|e| e.message)?;
        let deadline = tokio::time::Instant::from_std(self.deadline);
        // The script thread is not a runtime thread, so it may block on the
        // runtime while the slots' holders run on it.
        let budget = &self.budget;
        let slot = self
            .handle
            .block_on(async { tokio::time::timeout_at(deadline, budget.slot()).await })
            .map_err(|_| timed_out())?
            .map_err(|e| e.message)?;
        let (tx, rx) = mpsc::sync_channel(1);
        let running = Running::start();
        self.handle.spawn_blocking(move || {
            let held = (admitted, slot, running);
            let out = f();
            // Give the slot and the count back before the script hears the
            // result: otherwise its next request could start while this one
            // still counts, and two would be seen running for a moment.
            drop(held);
            let _ = tx.send(out);
        });
        let wait = self.deadline.saturating_duration_since(Instant::now());
        rx.recv_timeout(wait).map_err(|_| timed_out())
    }
}

/// What an operation holds while it runs: its admission (with the bytes it
/// holds) and its slot; work that outlives its task keeps both.
pub(crate) struct Held {
    _admitted: Admitted,
    _slot: OwnedSemaphorePermit,
}

/// Per-call I/O state: the tokio handle, the completion channel, pending operations,
/// lazily built HTTP clients and open database connections.
pub(crate) struct Io {
    handle: Handle,
    tx: mpsc::Sender<Completion>,
    deadline: Instant,
    network: Network,
    /// An HTTP body is also buffered whole, so it stays within the heap limit.
    body_limit: usize,
    budget: Arc<Budget>,
    next_id: u64,
    in_flight: HashSet<u64>,
    tasks: Vec<AbortHandle>,
    dbs: HashMap<u64, sql::DbHandle>,
}

impl Io {
    /// Creates the I/O state of one call.
    pub fn new(
        handle: Handle,
        tx: mpsc::Sender<Completion>,
        deadline: Instant,
        env: &ScriptEnv,
    ) -> Self {
        Io {
            handle,
            tx,
            deadline,
            network: env.network.clone(),
            body_limit: env.limits.memory_bytes,
            budget: Budget::new(&env.limits),
            next_id: 0,
            in_flight: HashSet::new(),
            tasks: Vec::new(),
            dbs: HashMap::new(),
        }
    }

    /// The call's deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// A runner for blocking work bounded by the deadline.
    pub fn blocking_runner(&self) -> BlockingRunner {
        BlockingRunner {
            handle: self.handle.clone(),
            deadline: self.deadline,
            budget: self.budget.clone(),
        }
    }

    /// How many operations have not completed yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Marks an operation complete; false if it was not pending.
    pub fn finish(&mut self, id: u64) -> bool {
        self.in_flight.remove(&id)
    }

    /// Aborts every task and closes every connection.
    pub fn shutdown(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        self.dbs.clear();
        self.in_flight.clear();
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Spawns an operation on tokio, bounded by the deadline and run in one
    /// of the call's request slots (refused at once when too many wait or
    /// they would hold more than the heap limit; `bytes` is what this one
    /// holds). The operation is made from what it holds (`Held`), to keep it
    /// as long as its work runs; none starts after the deadline.
    fn spawn<F, Fut>(&mut self, bytes: usize, op: F) -> u64
    where
        F: FnOnce(Held) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Value, OpError>> + Send + 'static,
    {
        let id = self.next_id();
        let tx = self.tx.clone();
        let deadline = tokio::time::Instant::from_std(self.deadline);
        let budget = self.budget.clone();
        let admitted = budget.admit(bytes);
        let task = self.handle.spawn(async move {
            let run = async {
                let admitted = admitted?;
                let slot = budget.slot().await?;
                if tokio::time::Instant::now() >= deadline {
                    return Err(timeout_error());
                }
                op(Held {
                    _admitted: admitted,
                    _slot: slot,
                })
                .await
            };
            let result = match tokio::time::timeout_at(deadline, run).await {
                Ok(r) => r,
                Err(_) => Err(timeout_error()),
            };
            let _ = tx.send(Completion {
                id,
                result: result.map(|v| v.to_string()).map_err(|e| e.to_json()),
            });
        });
        if self.tasks.len() >= 256 {
            self.tasks.retain(|t| !t.is_finished());
        }
        self.tasks.push(task.abort_handle());
        self.in_flight.insert(id);
        id
    }

    /// Starts an operation described by `kind` and its JSON payload; returns its id.
    pub fn start(&mut self, kind: &str, payload: &str) -> Result<u64, String> {
        let payload_bytes = payload.len();
        let payload: Value =
            serde_json::from_str(payload).map_err(|e| format!("invalid {kind} request: {e}"))?;
        match kind {
            "http" => {
                let request = http::HttpRequest::from_json(&payload)?;
                let network = self.network.clone();
                let limit = self.body_limit;
                let budget = self.budget.clone();
                Ok(self.spawn(payload_bytes, move |held| async move {
                    let _held = held;
                    http::send(network, request, limit, budget).await
                }))
            }
            "bcrypt.hash" | "bcrypt.compare" => {
                let a = str_field(&payload, "a")?;
                let b = str_field(&payload, "b")?;
                let hash = kind == "bcrypt.hash";
                Ok(self.spawn(payload_bytes, move |held| async move {
                    let running = Running::start();
                    let work = tokio::task::spawn_blocking(move || {
                        let _held = (held, running);
                        if hash {
                            bcrypt::hash(&a, &b).map(Value::String)
                        } else {
                            bcrypt::compare(&a, &b).map(Value::Bool)
                        }
                    });
                    match work.await {
                        Ok(r) => r.map_err(OpError::new),
                        Err(e) => Err(OpError::new(format!("bcrypt failed: {e}"))),
                    }
                }))
            }
            "db.connect" | "db.query" | "db.end" => {
                let conn = payload
                    .get("conn")
                    .and_then(Value::as_u64)
                    .ok_or("missing connection id")?;
                let cmd_id = self.next_id();
                let cmd = match kind {
                    "db.connect" => sql::DbCmd::Connect(cmd_id),
                    "db.end" => sql::DbCmd::End(cmd_id),
                    _ => sql::DbCmd::Query {
                        id: cmd_id,
                        sql: str_field(&payload, "sql")?,
                        params: sql::Param::list_from_json(
                            payload.get("params").unwrap_or(&Value::Null),
                        )?,
                    },
                };
                self.in_flight.insert(cmd_id);
                // Queued commands are admitted like any request, so a script
                // cannot queue copies of a large query past the heap limit.
                let refused = match self.budget.admit(payload_bytes) {
                    Err(e) => Some(e),
                    Ok(admitted) => match self.dbs.get(&conn) {
                        Some(db) if db.send(cmd, admitted) => None,
                        _ => Some(
                            OpError::new(
                                "Cannot enqueue a command after the connection was closed",
                            )
                            .with("code", "PROTOCOL_ENQUEUE_AFTER_QUIT"),
                        ),
                    },
                };
                if let Some(e) = refused {
                    let _ = self.tx.send(Completion {
                        id: cmd_id,
                        result: Err(e.to_json()),
                    });
                }
                Ok(cmd_id)
            }
            other => Err(format!("unknown host operation {other}")),
        }
    }

    /// Registers a database connection (connected lazily by its worker); returns its id.
    pub fn db_open(&mut self, driver: &str, config: &str) -> Result<u64, String> {
        let driver = match driver {
            "mysql" => sql::Driver::MySql,
            "pg" => sql::Driver::Pg,
            other => return Err(format!("unknown database driver {other}")),
        };
        let config: Value = serde_json::from_str(config)
            .map_err(|e| format!("invalid connection settings: {e}"))?;
        if !self.budget.connection_allowed(self.dbs.len()) {
            return Err(format!(
                "too many database connections in this script call (at most {})",
                self.budget.max_connections()
            ));
        }
        let id = self.next_id();
        let (handle, worker) = sql::DbHandle::new(
            driver,
            config,
            self.network.clone(),
            self.tx.clone(),
            tokio::time::Instant::from_std(self.deadline),
            self.budget.clone(),
        );
        let task = self.handle.spawn(worker);
        self.tasks.push(task.abort_handle());
        self.dbs.insert(id, handle);
        Ok(id)
    }
}

fn timeout_error() -> OpError {
    OpError::new("operation timed out (script time limit)").with("code", "ETIMEDOUT")
}

fn str_field(v: &Value, key: &str) -> Result<String, String> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(format!("missing string field {key}")),
    }
}
