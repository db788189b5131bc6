//! Runtime setup and the event loop of one script call.
//!
//! Everything here runs on the dedicated script thread: a fresh QuickJS runtime with the
//! memory, stack and interrupt limits, the prelude (globals and modules, `js/*.js`), the
//! script itself, and a small event loop that runs promise jobs, timers and host I/O
//! completions until the first callback, an uncaught error, or the deadline.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::{Context, Ctx, Function, Object, Persistent, Runtime, Value};

use crate::callback::{self, CallbackResult};
use crate::host::{self, Completion, Io};
use crate::{ScriptEnv, ScriptError, ScriptName, ScriptRun};

/// Extra native stack given to the script thread on top of the JavaScript stack limit,
/// for the host's own frames (QuickJS measures its limit on the same native stack).
pub(crate) const THREAD_STACK_HEADROOM: usize = 2 * 1024 * 1024;

/// After the first callback, synchronous code and ready promise jobs may run this long
/// (so a second callback in the same turn is noticed and reported) before being cut off.
const GRACE_AFTER_CALLBACK: Duration = Duration::from_millis(50);

/// The prelude: a function expression `(function (host, configurationJson) { … })` that
/// installs the globals and returns the internal entry points (`invoke`, `dispatch`,
/// `fireTimer`). Larger modules are separate chunks compiled on first use (see [`chunk`]),
/// so a script that needs none of them does not pay for parsing them.
const PRELUDE: &str = concat!(
    "(function (host, configurationJson) {\n'use strict';\n",
    include_str!("js/core.js"),
    include_str!("js/buffer.js"),
    include_str!("js/require.js"),
    "\nreturn internal;\n})"
);

macro_rules! chunk_source {
    ($file:literal) => {
        concat!(
            "(function (host, lib) {\n'use strict';\n",
            include_str!($file),
            "\n})"
        )
    };
}

/// The source of a prelude module compiled on first use: a function expression
/// `(function (host, lib) { … return exports; })`.
pub(crate) fn chunk(name: &str) -> Option<&'static str> {
    Some(match name {
        "url" => chunk_source!("js/url.js"),
        "crypto" => chunk_source!("js/crypto.js"),
        "http" => chunk_source!("js/http.js"),
        "db" => chunk_source!("js/db.js"),
        _ => return None,
    })
}

/// One call, as handed to the script thread.
pub(crate) struct Job {
    pub source: String,
    pub name: ScriptName,
    pub args: Vec<serde_json::Value>,
    pub env: ScriptEnv,
    pub handle: tokio::runtime::Handle,
    pub started: Instant,
    /// The completion channel of the call's host operations (taken by `execute`).
    pub io: Option<(mpsc::Sender<Completion>, mpsc::Receiver<Completion>)>,
    /// Set when the caller stopped waiting: the call ends at once.
    pub cancelled: Arc<AtomicBool>,
}

/// The id of the wake-up sent when the caller stops waiting (operation ids
/// start at 1).
const CANCEL_WAKE_ID: u64 = 0;

/// Held by the caller of [`crate::run`]: dropping it cancels the call.
pub(crate) struct CancelOnDrop {
    cancelled: Arc<AtomicBool>,
    wake: mpsc::Sender<Completion>,
}

impl CancelOnDrop {
    pub(crate) fn new(cancelled: Arc<AtomicBool>, wake: mpsc::Sender<Completion>) -> Self {
        Self { cancelled, wake }
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::Release);
        // The thread may have finished already; then nobody listens.
        let _ = self.wake.send(Completion {
            id: CANCEL_WAKE_ID,
            result: Err(String::new()),
        });
    }
}

/// The interrupt handler's view of time.
struct Interrupt {
    deadline: Instant,
    /// When to interrupt running JavaScript: the deadline, or shortly after the callback.
    stop_at: Cell<Instant>,
    /// Set once the handler interrupted because the deadline passed.
    deadline_hit: Cell<bool>,
    /// Set by the caller that stopped waiting.
    cancelled: Arc<AtomicBool>,
}

impl Interrupt {
    /// Whether the deadline has passed (whatever failed after it is a timeout),
    /// or the caller is gone.
    fn expired(&self) -> bool {
        self.deadline_hit.get() || Instant::now() >= self.deadline || self.cancelled()
    }

    fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

/// Captured console output with a byte cap.
pub(crate) struct ConsoleBuf {
    lines: Vec<String>,
    bytes: usize,
    limit: usize,
    truncated: bool,
}

impl ConsoleBuf {
    fn new(limit: usize) -> Self {
        ConsoleBuf {
            lines: Vec::new(),
            bytes: 0,
            limit,
            truncated: false,
        }
    }

    /// Appends one line; returns whether more output is still accepted.
    pub(crate) fn push(&mut self, level: &str, text: &str) -> bool {
        if self.truncated {
            return false;
        }
        let prefix = match level {
            "warn" => "[warn] ",
            "error" => "[error] ",
            _ => "",
        };
        let len = prefix.len() + text.len();
        if self.bytes + len <= self.limit {
            self.bytes += len;
            self.lines.push(format!("{prefix}{text}"));
            return true;
        }
        // The line that passes the limit is dropped whole, never cut: the
        // caller masks secrets (a password, configuration values) in the
        // lines afterwards, and half a secret no longer matches its mask.
        self.lines.push(format!(
            "[console output truncated: limit of {} bytes reached]",
            self.limit
        ));
        self.truncated = true;
        false
    }
}

/// Pending timers, ordered by due time.
#[derive(Default)]
pub(crate) struct Timers {
    queue: BTreeSet<(Instant, u64)>,
    due: HashMap<u64, Instant>,
    next_id: u64,
}

impl Timers {
    /// Schedules (or reschedules, when `id` is non-zero) a timer.
    pub(crate) fn set(&mut self, id: u64, delay: Duration) -> u64 {
        let id = if id == 0 {
            self.next_id += 1;
            self.next_id
        } else {
            self.clear(id);
            id
        };
        let at = Instant::now() + delay;
        self.queue.insert((at, id));
        self.due.insert(id, at);
        id
    }

    /// Cancels a timer; unknown ids are ignored.
    pub(crate) fn clear(&mut self, id: u64) {
        if let Some(at) = self.due.remove(&id) {
            self.queue.remove(&(at, id));
        }
    }

    fn next_due(&self) -> Option<Instant> {
        self.queue.first().map(|(at, _)| *at)
    }

    fn pop_due(&mut self, now: Instant) -> Option<u64> {
        let (at, id) = *self.queue.first()?;
        if at > now {
            return None;
        }
        self.queue.remove(&(at, id));
        self.due.remove(&id);
        Some(id)
    }
}

/// State shared between the event loop and the host functions installed in JavaScript.
pub(crate) struct State {
    pub console: ConsoleBuf,
    pub warnings: Vec<String>,
    /// The first callback's result.
    pub result: Option<Result<CallbackResult, ScriptError>>,
    pub callback_calls: usize,
    /// Modules `require` could not provide, in order.
    pub missing_modules: Vec<String>,
    /// The first uncaught error (exception or rejection) before the callback.
    pub uncaught: Option<ScriptError>,
    /// Rejected promises with no handler yet.
    pub rejections: Vec<(Persistent<Value<'static>>, String)>,
    pub timers: Timers,
    pub io: Io,
    /// When the callback was first called.
    pub called_at: Option<Instant>,
    /// Shared with the interrupt handler, which stops JavaScript shortly after the callback.
    interrupt: Rc<Interrupt>,
}

impl State {
    /// Records the first callback (later ones become warnings).
    pub(crate) fn callback(&mut self, payload: &str) {
        self.callback_calls += 1;
        if self.result.is_some() {
            if self.callback_calls == 2 {
                self.warnings
                    .push("callback called more than once; later calls ignored".into());
            }
            return;
        }
        let now = Instant::now();
        self.called_at = Some(now);
        self.interrupt
            .stop_at
            .set((now + GRACE_AFTER_CALLBACK).min(self.interrupt.deadline));
        self.result = Some(callback::classify(payload).map_err(ScriptError::InvalidCallbackValue));
    }

    /// Records an uncaught error; only the first one before the callback counts.
    pub(crate) fn uncaught(&mut self, err: ScriptError) {
        if self.result.is_some() {
            if !matches!(err, ScriptError::Timeout) {
                self.warnings.push(format!("after the callback: {err}"));
            }
            return;
        }
        if self.uncaught.is_none() {
            self.uncaught = Some(err);
        }
    }
}

/// Runs one script call to completion on the current thread.
pub(crate) fn execute(mut job: Job) -> ScriptRun {
    let limits = job.env.limits.clone();
    let deadline = job.started + limits.timeout;
    let (tx, rx) = job.io.take().unwrap_or_else(mpsc::channel);
    let interrupt = Rc::new(Interrupt {
        deadline,
        stop_at: Cell::new(deadline),
        deadline_hit: Cell::new(false),
        cancelled: job.cancelled.clone(),
    });
    let state = Rc::new(RefCell::new(State {
        console: ConsoleBuf::new(limits.max_console_bytes),
        warnings: Vec::new(),
        result: None,
        callback_calls: 0,
        missing_modules: Vec::new(),
        uncaught: None,
        rejections: Vec::new(),
        timers: Timers::default(),
        io: Io::new(job.handle.clone(), tx, deadline, &job.env),
        called_at: None,
        interrupt: interrupt.clone(),
    }));

    let outcome = match Runtime::new() {
        Ok(rt) => {
            // Declared after `rt`, so it also runs first when unwinding: every handle to a
            // JavaScript value must be gone before the runtime is freed.
            let _release = ReleaseHandles(state.clone());
            run_in_runtime(&rt, &job, &state, &interrupt, &rx)
        }
        Err(e) => Err(ScriptError::Internal(format!("cannot create runtime: {e}"))),
    };

    let mut st = state.borrow_mut();
    let outcome = attribute_missing_module(outcome, &st.missing_modules);
    ScriptRun {
        outcome,
        console: std::mem::take(&mut st.console.lines),
        warnings: std::mem::take(&mut st.warnings),
        elapsed: job.started.elapsed(),
    }
}

/// Drops the state's JavaScript handles and stops its I/O (before the runtime goes).
struct ReleaseHandles(Rc<RefCell<State>>);

impl Drop for ReleaseHandles {
    fn drop(&mut self) {
        if let Ok(mut st) = self.0.try_borrow_mut() {
            st.rejections.clear();
            st.io.shutdown();
        }
    }
}

/// A failure after a failed `require` is reported as that missing module.
fn attribute_missing_module(
    outcome: Result<CallbackResult, ScriptError>,
    missing: &[String],
) -> Result<CallbackResult, ScriptError> {
    let Some(first) = missing.first() else {
        return outcome;
    };
    let blame = match &outcome {
        Err(
            ScriptError::Thrown(_)
            | ScriptError::RejectedPromise(_)
            | ScriptError::NoCallback
            | ScriptError::Timeout,
        ) => true,
        Ok(CallbackResult::Error(e)) => e.message.contains("Cannot find module"),
        _ => false,
    };
    if blame {
        Err(ScriptError::ModuleNotFound(first.clone()))
    } else {
        outcome
    }
}

fn run_in_runtime(
    rt: &Runtime,
    job: &Job,
    state: &Rc<RefCell<State>>,
    interrupt: &Rc<Interrupt>,
    rx: &mpsc::Receiver<Completion>,
) -> Result<CallbackResult, ScriptError> {
    let limits = &job.env.limits;
    rt.set_memory_limit(limits.memory_bytes);
    rt.set_max_stack_size(limits.stack_bytes);
    {
        let interrupt = interrupt.clone();
        rt.set_interrupt_handler(Some(Box::new(move || {
            let now = Instant::now();
            if now >= interrupt.deadline || interrupt.cancelled() {
                interrupt.deadline_hit.set(true);
                return true;
            }
            now >= interrupt.stop_at.get()
        })));
    }
    {
        let state = state.clone();
        rt.set_host_promise_rejection_tracker(Some(Box::new(
            move |ctx: Ctx<'_>, promise: Value<'_>, reason: Value<'_>, handled: bool| {
                track_rejection(&ctx, &state, promise, reason, handled);
            },
        )));
    }
    let context = Context::full(rt)
        .map_err(|e| ScriptError::Internal(format!("cannot create context: {e}")))?;

    let internal = setup(&context, job, state, interrupt)?;
    let result = (|| {
        start_script(&context, &internal, job, state, interrupt)?;
        event_loop(rt, &context, &internal, state, interrupt, rx)
    })();
    drop(internal);
    rt.set_host_promise_rejection_tracker(None);
    result
}

/// Installs host functions and the prelude; returns the prelude's internal object.
fn setup(
    context: &Context,
    job: &Job,
    state: &Rc<RefCell<State>>,
    interrupt: &Interrupt,
) -> Result<Persistent<Object<'static>>, ScriptError> {
    let config = serde_json::to_string(&job.env.configuration)
        .map_err(|e| ScriptError::Internal(format!("configuration: {e}")))?;
    context.with(|ctx| {
        let run = || -> rquickjs::Result<Object<'_>> {
            let host = host::install(&ctx, state.clone())?;
            let prelude: Function = ctx.eval(PRELUDE)?;
            prelude.call((host, config))
        };
        match run() {
            Ok(internal) => Ok(Persistent::save(&ctx, internal)),
            Err(e) => Err(match exception_of(&ctx, e, interrupt) {
                Some(ScriptError::Thrown(m)) => {
                    ScriptError::Internal(format!("prelude failed: {m}"))
                }
                Some(other) => other,
                None => ScriptError::Internal("prelude interrupted".into()),
            }),
        }
    })
}

/// Evaluates the function expression and calls it with the arguments and callback.
fn start_script(
    context: &Context,
    internal: &Persistent<Object<'static>>,
    job: &Job,
    state: &Rc<RefCell<State>>,
    interrupt: &Interrupt,
) -> Result<(), ScriptError> {
    let args = serde_json::to_string(&job.args)
        .map_err(|e| ScriptError::Internal(format!("arguments: {e}")))?;
    let script_context = match (&job.env.context, job.name) {
        (None, _) => None,
        (Some(_), ScriptName::Delete) => Some("{}".to_owned()),
        (Some(c), _) => Some(
            serde_json::to_string(c).map_err(|e| ScriptError::Internal(format!("context: {e}")))?,
        ),
    };
    let source = wrap_source(&job.source);
    context.with(|ctx| {
        let options = || {
            let mut options = EvalOptions::default();
            options.strict = false;
            options.filename = Some(format!("{}.js", job.name.key()));
            options
        };
        let evaluated = ctx.eval_with_options::<Value, _>(source, options());
        let evaluated = match (evaluated, declared_name(&job.source)) {
            // `function f() {…};  // comment` or helpers after the function: evaluate the
            // source as a program inside a function and return the declared function.
            (Err(rquickjs::Error::Exception), Some(name)) if !interrupt.expired() => {
                let first_error = ctx.catch();
                let program = format!("(function () {{\n{}\n;return {name};\n}})()", job.source);
                match ctx.eval_with_options::<Value, _>(program, options()) {
                    Ok(v) => Ok(v),
                    Err(_) => {
                        let _ = ctx.catch();
                        Err(ctx.throw(first_error))
                    }
                }
            }
            (other, _) => other,
        };
        let func: Value = match evaluated {
            Ok(v) => v,
            Err(rquickjs::Error::Exception) if !interrupt.expired() => {
                let value = ctx.catch();
                let location = syntax_location(&value);
                return Err(match classify_value(&ctx, value, interrupt) {
                    Some(ScriptError::Thrown(m)) if m.starts_with("SyntaxError") => {
                        ScriptError::Syntax(format!(
                            "{}{location}",
                            m.trim_start_matches("SyntaxError: ")
                        ))
                    }
                    Some(other) => other,
                    None => ScriptError::Timeout,
                });
            }
            Err(e) => {
                return Err(match exception_of(&ctx, e, interrupt) {
                    Some(other) => other,
                    None => ScriptError::Timeout,
                });
            }
        };
        if !func.is_function() {
            return Err(ScriptError::NotAFunction);
        }
        let invoke = internal
            .clone()
            .restore(&ctx)
            .and_then(|o| o.get::<_, Function>("invoke"))
            .map_err(|e| ScriptError::Internal(format!("prelude entry point: {e}")))?;
        if let Err(e) = invoke.call::<_, ()>((func, args, script_context)) {
            record_exception(&ctx, e, state, interrupt);
        }
        Ok(())
    })
}

/// The name in a leading `function NAME` / `async function NAME` declaration.
fn declared_name(source: &str) -> Option<String> {
    let mut rest = source;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.split_once('\n').map_or("", |(_, tail)| tail);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, tail)| tail);
        } else {
            break;
        }
    }
    if let Some(r) = rest.strip_prefix("async")
        && r.starts_with(char::is_whitespace)
    {
        rest = r.trim_start();
    }
    let rest = rest.strip_prefix("function")?;
    let rest = rest.trim_start().trim_start_matches('*').trim_start();
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
        .collect();
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$');
    valid.then_some(name)
}

/// ` (line L, column C)` from a syntax error's stack, in the script's own line numbers.
fn syntax_location(value: &Value<'_>) -> String {
    let stack: Option<String> = value
        .as_object()
        .and_then(|o| o.get::<_, Option<String>>("stack").ok().flatten());
    let Some(stack) = stack else {
        return String::new();
    };
    // "    at login.js:3:17" — the source was wrapped after one added line.
    let Some(at) = stack.lines().find_map(|l| l.trim().strip_prefix("at ")) else {
        return String::new();
    };
    let mut parts = at.rsplit(':');
    let col = parts
        .next()
        .and_then(|c| c.trim_end_matches(')').parse::<u32>().ok());
    let line = parts.next().and_then(|l| l.parse::<u32>().ok());
    match (line, col) {
        (Some(l), Some(c)) => format!(" (line {}, column {c})", l.saturating_sub(1).max(1)),
        _ => String::new(),
    }
}

/// Wraps the source in parentheses so a function declaration becomes an expression.
/// Trailing semicolons are dropped; newlines keep a trailing `//` comment harmless.
fn wrap_source(source: &str) -> String {
    let trimmed = source.trim_end().trim_end_matches(';').trim_end();
    format!("(\n{trimmed}\n)")
}

/// What the loop should do next.
enum Step {
    Done(Result<CallbackResult, ScriptError>),
    Continue,
}

fn event_loop(
    rt: &Runtime,
    context: &Context,
    internal: &Persistent<Object<'static>>,
    state: &Rc<RefCell<State>>,
    interrupt: &Interrupt,
    rx: &mpsc::Receiver<Completion>,
) -> Result<CallbackResult, ScriptError> {
    loop {
        run_jobs(rt, state, interrupt);
        if let Step::Done(r) = check(state, interrupt) {
            return r;
        }
        let now = Instant::now();
        let due = state.borrow_mut().timers.pop_due(now);
        if let Some(id) = due {
            call_internal(context, internal, state, interrupt, "fireTimer", |f| {
                f.call::<_, ()>((id as f64,))
            });
            continue;
        }
        let (next_timer, in_flight) = {
            let st = state.borrow();
            (st.timers.next_due(), st.io.in_flight())
        };
        if next_timer.is_none() && in_flight == 0 && !rt.is_job_pending() {
            return Err(ScriptError::NoCallback);
        }
        let wake = next_timer.map_or(interrupt.deadline, |t| t.min(interrupt.deadline));
        match rx.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(done) => deliver(context, internal, state, interrupt, done),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err(ScriptError::Internal("host I/O channel closed".into()));
            }
        }
    }
}

/// Decides whether the call is over after a turn of the loop.
fn check(state: &Rc<RefCell<State>>, interrupt: &Interrupt) -> Step {
    let mut st = state.borrow_mut();
    if let Some(result) = st.result.take() {
        // A callback made at or after the deadline does not count: the call has already
        // timed out. Host operations are bounded by the same deadline, so their
        // ETIMEDOUT can reach the script a moment before this loop notices the deadline;
        // the script's `callback(err)` must not mask the timeout.
        let late = st.called_at.is_some_and(|at| at >= interrupt.deadline);
        return Step::Done(if late {
            Err(ScriptError::Timeout)
        } else {
            result
        });
    }
    if let Some(err) = st.uncaught.take() {
        return Step::Done(Err(err));
    }
    if !st.rejections.is_empty() {
        let (_, reason) = st.rejections.remove(0);
        st.rejections.clear();
        drop(st);
        let err = classify_message(&reason, interrupt);
        return Step::Done(Err(match err {
            ScriptError::Thrown(m) => ScriptError::RejectedPromise(m),
            other => other,
        }));
    }
    if interrupt.expired() {
        return Step::Done(Err(ScriptError::Timeout));
    }
    Step::Continue
}

/// Runs ready promise jobs until none is left, the deadline passes, or the grace after
/// the callback is over.
fn run_jobs(rt: &Runtime, state: &Rc<RefCell<State>>, interrupt: &Interrupt) {
    loop {
        if state.borrow().called_at.is_some() && Instant::now() >= interrupt.stop_at.get() {
            return;
        }
        if Instant::now() >= interrupt.deadline {
            return;
        }
        match rt.execute_pending_job() {
            Ok(true) => {}
            Ok(false) => return,
            Err(job_err) => {
                let err = job_err.0.with(|ctx| {
                    let value = ctx.catch();
                    classify_value(&ctx, value, interrupt)
                });
                if let Some(err) = err {
                    state.borrow_mut().uncaught(err);
                }
            }
        }
    }
}

/// Delivers an I/O completion to the JavaScript side.
fn deliver(
    context: &Context,
    internal: &Persistent<Object<'static>>,
    state: &Rc<RefCell<State>>,
    interrupt: &Interrupt,
    done: Completion,
) {
    if !state.borrow_mut().io.finish(done.id) {
        return;
    }
    let (err, value) = match done.result {
        Ok(v) => (None, Some(v)),
        Err(e) => (Some(e), None),
    };
    call_internal(context, internal, state, interrupt, "dispatch", |f| {
        f.call::<_, ()>((done.id as f64, err, value))
    });
}

/// Calls one of the prelude's internal functions as a macrotask; an exception escaping
/// it is an uncaught error of the script.
fn call_internal(
    context: &Context,
    internal: &Persistent<Object<'static>>,
    state: &Rc<RefCell<State>>,
    interrupt: &Interrupt,
    name: &str,
    call: impl for<'js> FnOnce(Function<'js>) -> rquickjs::Result<()>,
) {
    context.with(|ctx| {
        let f = match internal
            .clone()
            .restore(&ctx)
            .and_then(|o| o.get::<_, Function>(name))
        {
            Ok(f) => f,
            Err(e) => {
                state.borrow_mut().uncaught(ScriptError::Internal(format!(
                    "prelude entry point {name}: {e}"
                )));
                return;
            }
        };
        if let Err(e) = call(f) {
            record_exception(&ctx, e, state, interrupt);
        }
    });
}

fn track_rejection<'js>(
    ctx: &Ctx<'js>,
    state: &Rc<RefCell<State>>,
    promise: Value<'js>,
    reason: Value<'js>,
    handled: bool,
) {
    let Ok(mut st) = state.try_borrow_mut() else {
        return;
    };
    if handled {
        let pending = std::mem::take(&mut st.rejections);
        for (p, r) in pending {
            let same = p.clone().restore(ctx).is_ok_and(|v| v == promise);
            if !same {
                st.rejections.push((p, r));
            }
        }
    } else if st.rejections.len() < 64 {
        drop(st);
        let text = describe(ctx, &reason);
        if let Ok(mut st) = state.try_borrow_mut() {
            st.rejections.push((Persistent::save(ctx, promise), text));
        }
    }
}

/// Converts an rquickjs error (usually a pending exception) into a script error; `None`
/// when it is only the interruption that ends the grace period after the callback.
fn exception_of(ctx: &Ctx<'_>, err: rquickjs::Error, interrupt: &Interrupt) -> Option<ScriptError> {
    if interrupt.expired() {
        return Some(ScriptError::Timeout);
    }
    match err {
        rquickjs::Error::Exception => {
            let value = ctx.catch();
            classify_value(ctx, value, interrupt)
        }
        rquickjs::Error::Allocation => Some(ScriptError::OutOfMemory),
        other => Some(ScriptError::Internal(other.to_string())),
    }
}

/// Records an exception that escaped a macrotask.
fn record_exception(
    ctx: &Ctx<'_>,
    err: rquickjs::Error,
    state: &Rc<RefCell<State>>,
    interrupt: &Interrupt,
) {
    match exception_of(ctx, err, interrupt) {
        Some(e) => state.borrow_mut().uncaught(e),
        None => state
            .borrow_mut()
            .warnings
            .push("script kept running after calling back; it was stopped".into()),
    }
}

/// Classifies a thrown value; `None` for the interruption after the callback's grace.
fn classify_value<'js>(
    ctx: &Ctx<'js>,
    value: Value<'js>,
    interrupt: &Interrupt,
) -> Option<ScriptError> {
    if interrupt.expired() {
        return Some(ScriptError::Timeout);
    }
    if value.is_null() || value.is_undefined() {
        // QuickJS could not even allocate the error object.
        return Some(ScriptError::OutOfMemory);
    }
    let text = describe(ctx, &value);
    if text == "InternalError: interrupted" {
        return None;
    }
    Some(classify_message(&text, interrupt))
}

fn classify_message(text: &str, interrupt: &Interrupt) -> ScriptError {
    if interrupt.expired() || text == "InternalError: interrupted" {
        return ScriptError::Timeout;
    }
    if text.starts_with("InternalError: out of memory") || text == "out of memory" {
        return ScriptError::OutOfMemory;
    }
    if text.contains("Maximum call stack size exceeded") || text.contains("stack overflow") {
        return ScriptError::StackOverflow;
    }
    ScriptError::Thrown(text.to_owned())
}

/// `Name: message` for errors, the string for strings, JSON or the type otherwise.
pub(crate) fn describe<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> String {
    if let Some(s) = value.as_string() {
        return s.to_string().unwrap_or_else(|_| "<invalid string>".into());
    }
    if let Some(obj) = value.as_object() {
        let name: Option<String> = obj.get("name").ok().flatten();
        let message: Option<String> = obj.get("message").ok().flatten();
        match (name, message) {
            (Some(n), Some(m)) if !m.is_empty() => return format!("{n}: {m}"),
            (Some(n), _) if obj.is_error() => return n,
            (None, Some(m)) => return m,
            _ => {}
        }
    }
    match ctx.json_stringify(value.clone()) {
        Ok(Some(s)) => s
            .to_string()
            .unwrap_or_else(|_| format!("<{}>", value.type_name())),
        _ => format!("<{}>", value.type_name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_cap() {
        let mut c = ConsoleBuf::new(10);
        assert!(c.push("log", "12345"));
        assert!(!c.push("log", "67890abc"));
        assert!(!c.push("log", "more"));
        assert_eq!(c.lines[0], "12345");
        assert!(c.lines[1].contains("truncated"), "{:?}", c.lines);
        assert_eq!(
            c.lines.len(),
            2,
            "the line passing the cap is dropped whole"
        );
    }

    #[test]
    fn declared_names() {
        assert_eq!(
            declared_name("// x\n/* y */ async function login(a) {}").as_deref(),
            Some("login")
        );
        assert_eq!(declared_name("function* gen() {}").as_deref(), Some("gen"));
        assert_eq!(declared_name("function (a) {}"), None);
        assert_eq!(declared_name("var x = 1"), None);
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap_source("function f(){};\n"), "(\nfunction f(){}\n)");
    }

    #[test]
    fn timers_order() {
        let mut t = Timers::default();
        let a = t.set(0, Duration::from_millis(0));
        let b = t.set(0, Duration::from_millis(0));
        t.clear(a);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(t.pop_due(Instant::now()), Some(b));
        assert_eq!(t.pop_due(Instant::now()), None);
    }
}
