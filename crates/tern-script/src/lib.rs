//! `tern-script`: a sandbox that runs Auth0-style custom database scripts on QuickJS.
//!
//! A script is a JavaScript *function expression* (`function login(email, password,
//! callback) { … }`, possibly `async`, any name or anonymous). [`run`] evaluates it in a
//! fresh QuickJS runtime, calls it with the given arguments plus a `callback` (and the
//! script `context` before the callback when enabled) and completes at the **first**
//! callback. Everything the script can reach is configured by the caller through
//! [`ScriptEnv`]: the `configuration` secrets, the [`ScriptLimits`], and the
//! [`Network`] (a `tern-net` policy with its HTTP clients) that decides which addresses
//! `request`, `fetch`, `mysql` and `pg` may connect to. The crate knows nothing about Tern's store or users.
//!
//! Provided globals: `configuration` (frozen), `WrongUsernameOrPasswordError`,
//! `ValidationError`, `UnauthorizedError`, `global` (a plain object, fresh for every call),
//! `Buffer`, `console` (captured), `setTimeout`/`clearTimeout` (and `setInterval`,
//! `setImmediate`, `queueMicrotask`), `URL`, `URLSearchParams`, `TextEncoder`,
//! `TextDecoder`, `atob`, `btoa`, `fetch`, `Headers`, `require`, and the legacy
//! un-required `request`, `bcrypt`, `mysql`, `crypto`. Modules for `require`: `bcrypt`
//! (`bcryptjs`), `crypto`, `request`, `node-fetch`, `axios`, `mysql` (`mysql2`), `pg`,
//! `url`, `util`, `querystring`, `buffer`. Version suffixes (`bcrypt@0.8.5`) and the
//! `node:` prefix are accepted. There is no file system, no `process`, no other network.
//!
//! Each call gets its own OS thread and QuickJS runtime: nothing, including `global`,
//! survives between calls, and callers should bound how many calls run at once.

#![warn(missing_docs)]

mod callback;
mod host;
mod limits;
mod sandbox;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

pub use callback::{CallbackResult, ErrorKind, ScriptCallbackError};
pub use limits::ScriptLimits;
pub use tern_net::{Network, NetworkPolicy};

/// Blocking host work (a script's bcrypt) running now, across every call,
/// including work a call abandoned at its deadline: each call may leave at
/// most its request slots' worth (`ScriptLimits::max_concurrent_requests`).
pub fn blocking_work_running() -> usize {
    host::blocking_work_running()
}

/// How long after the deadline [`run`] gives up waiting for the script thread.
const WATCHDOG_SLACK: Duration = Duration::from_secs(10);

/// Everything a script call may see of the outside world.
#[derive(Debug, Clone, Default)]
pub struct ScriptEnv {
    /// The connection's configuration parameters, exposed read-only (frozen) as the
    /// global `configuration` object.
    pub configuration: BTreeMap<String, String>,
    /// Time, memory, stack, source and console limits.
    pub limits: ScriptLimits,
    /// Where `request`/`fetch`/`axios`/`mysql`/`pg` may connect (checked on the
    /// resolved address of every connection and redirect). The default allows
    /// public addresses only.
    pub network: Network,
    /// The script context (`enable_script_context`): when `Some`, it is passed as an
    /// argument just before `callback`. The Delete script always receives `{}` instead.
    pub context: Option<serde_json::Value>,
}

/// Which custom database script is being run; decides the expected argument count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScriptName {
    /// `login(usernameOrEmail, password, callback)`.
    Login,
    /// `getUser(email, callback)`.
    GetUser,
    /// `create(user, callback)`.
    Create,
    /// `verify(email, callback)`.
    Verify,
    /// `changePassword(email, newPassword, callback)`.
    ChangePassword,
    /// `deleteUser(id, callback)`.
    Delete,
    /// `changeEmail(email, newEmail, verified, callback)`.
    ChangeEmail,
}

impl ScriptName {
    /// The key of the script in a connection's `customScripts` map (`login`, `get_user`, …).
    pub fn key(self) -> &'static str {
        match self {
            ScriptName::Login => "login",
            ScriptName::GetUser => "get_user",
            ScriptName::Create => "create",
            ScriptName::Verify => "verify",
            ScriptName::ChangePassword => "change_password",
            ScriptName::Delete => "delete",
            ScriptName::ChangeEmail => "change_email",
        }
    }

    /// How many arguments the script takes before `context`/`callback`.
    pub fn arity(self) -> usize {
        match self {
            ScriptName::Login | ScriptName::ChangePassword => 2,
            ScriptName::GetUser | ScriptName::Create | ScriptName::Verify | ScriptName::Delete => 1,
            ScriptName::ChangeEmail => 3,
        }
    }
}

/// Why a script call did not produce a callback result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// No callback before the time limit (the script may have been looping or waiting).
    #[error("script exceeded its time limit")]
    Timeout,
    /// The script exceeded its memory limit.
    #[error("script exceeded its memory limit")]
    OutOfMemory,
    /// The script exceeded its stack limit (usually unbounded recursion).
    #[error("script exceeded its stack limit (maximum call stack size exceeded)")]
    StackOverflow,
    /// The script threw an exception that nothing caught (synchronously, in a timer or in
    /// an I/O callback) before calling back.
    #[error("script threw: {0}")]
    Thrown(String),
    /// The promise returned by an `async` script, or another promise nobody handled,
    /// was rejected before the callback was called.
    #[error("script promise rejected: {0}")]
    RejectedPromise(String),
    /// The source is larger than [`ScriptLimits::max_source_bytes`].
    #[error("script source exceeds the size limit")]
    SourceTooLarge,
    /// The source evaluates to something that is not a function.
    #[error("script source is not a function expression")]
    NotAFunction,
    /// The source does not parse as a function expression.
    #[error("script syntax error: {0}")]
    Syntax(String),
    /// The script required a module the sandbox does not provide (`fs`, `child_process`, …)
    /// and then failed.
    #[error("module not available in the script sandbox: {0}")]
    ModuleNotFound(String),
    /// Nothing was left to run (no timer, no pending I/O) and the callback was never called.
    #[error("script finished without calling callback")]
    NoCallback,
    /// The value passed to `callback` could not be converted to JSON.
    #[error("invalid callback value: {0}")]
    InvalidCallbackValue(String),
    /// A sandbox failure that is not the script's fault (or wrong arguments from the caller).
    #[error("script sandbox internal error: {0}")]
    Internal(String),
}

/// The result of one script call.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    /// The first callback's result, or why there was none.
    pub outcome: Result<CallbackResult, ScriptError>,
    /// Captured `console.*` lines (warn/error prefixed with `[warn] `/`[error] `), capped at
    /// [`ScriptLimits::max_console_bytes`] and then ended with a truncation marker (the line
    /// passing the cap is dropped whole, so a secret in it is never cut out of its mask).
    pub console: Vec<String>,
    /// Contract violations worth logging, e.g. `callback called 2 times; later calls ignored`.
    pub warnings: Vec<String>,
    /// Wall-clock time of the call, including thread start-up.
    pub elapsed: Duration,
}

/// Run one script call.
///
/// Runs the JavaScript on a dedicated OS thread (sized for the configured stack limit)
/// with a fresh QuickJS runtime and context, so calls never share state and never block
/// the async executor; host I/O (HTTP, MySQL, PostgreSQL, bcrypt) runs on the current
/// tokio runtime, each operation bounded by the remaining time. Returns at the first
/// callback; timers and connections the script leaves open are dropped, and host
/// operations still in flight are cancelled — at the callback, at the deadline, or
/// as soon as the returned future is dropped. Must be called
/// from within a tokio runtime with timers enabled; that, a wrong number of `args` for
/// `name` (see [`ScriptName::arity`]) or a sandbox failure gives [`ScriptError::Internal`].
/// Never panics.
pub async fn run(
    source: &str,
    name: ScriptName,
    args: Vec<serde_json::Value>,
    env: &ScriptEnv,
) -> ScriptRun {
    let started = Instant::now();
    let failed = |e: ScriptError| ScriptRun {
        outcome: Err(e),
        console: Vec::new(),
        warnings: Vec::new(),
        elapsed: started.elapsed(),
    };
    if source.len() > env.limits.max_source_bytes {
        return failed(ScriptError::SourceTooLarge);
    }
    if args.len() != name.arity() {
        return failed(ScriptError::Internal(format!(
            "the {} script takes {} argument(s) before callback, {} given",
            name.key(),
            name.arity(),
            args.len()
        )));
    }
    let handle = match tokio::runtime::Handle::try_current() {
        Ok(h) => h,
        Err(_) => {
            return failed(ScriptError::Internal(
                "tern_script::run must be called inside a tokio runtime".into(),
            ));
        }
    };
    // Host I/O deadlines use tokio timers: refuse a runtime without them up front rather
    // than panicking later.
    let timers = std::panic::catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO)));
    if timers.is_err() {
        return failed(ScriptError::Internal(
            "the tokio runtime must have timers enabled (enable_time)".into(),
        ));
    }
    // The call ends for the host too when its caller stops waiting (a client
    // that hung up, a caller's own timeout): the guard flags the script
    // thread and wakes it, and the thread cancels everything it started.
    let (io_tx, io_rx) = std::sync::mpsc::channel();
    let cancelled = Arc::new(AtomicBool::new(false));
    let _cancel_on_drop = sandbox::CancelOnDrop::new(cancelled.clone(), io_tx.clone());
    let job = sandbox::Job {
        source: source.to_owned(),
        name,
        args,
        env: env.clone(),
        handle,
        started,
        io: Some((io_tx, io_rx)),
        cancelled,
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let stack = env
        .limits
        .stack_bytes
        .saturating_add(sandbox::THREAD_STACK_HEADROOM);
    let spawned = std::thread::Builder::new()
        .name("tern-script".into())
        .stack_size(stack)
        .spawn(move || {
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sandbox::execute(job)));
            let run = result.unwrap_or_else(|panic| {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                ScriptRun {
                    outcome: Err(ScriptError::Internal(format!("sandbox panicked: {msg}"))),
                    console: Vec::new(),
                    warnings: Vec::new(),
                    elapsed: started.elapsed(),
                }
            });
            // The receiver may be gone if the caller's future was dropped.
            let _ = tx.send(run);
        });
    if let Err(e) = spawned {
        return failed(ScriptError::Internal(format!(
            "cannot start the script thread: {e}"
        )));
    }
    // The thread stops itself at the deadline; the watchdog only guards against a bug.
    let watchdog = env.limits.timeout.saturating_add(WATCHDOG_SLACK);
    match tokio::time::timeout(watchdog, rx).await {
        Ok(Ok(run)) => run,
        Ok(Err(_)) => failed(ScriptError::Internal(
            "the script thread ended without a result".into(),
        )),
        Err(_) => failed(ScriptError::Internal(
            "the script thread did not stop after its deadline; abandoned".into(),
        )),
    }
}
