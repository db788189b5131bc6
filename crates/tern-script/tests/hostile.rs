#![allow(clippy::unwrap_used)]
//! Hostile and broken scripts: each must end with a clear outcome within a time bound.

use std::time::Duration;

use tern_script::{
    CallbackResult, ErrorKind, ScriptCallbackError, ScriptEnv, ScriptError, ScriptLimits,
    ScriptName, run,
};

fn env(timeout_ms: u64) -> ScriptEnv {
    ScriptEnv {
        limits: ScriptLimits {
            timeout: Duration::from_millis(timeout_ms),
            memory_bytes: 32 * 1024 * 1024,
            ..ScriptLimits::default()
        },
        ..ScriptEnv::default()
    }
}

/// What a case must produce.
enum Expect {
    Err(fn(&ScriptError) -> bool),
    Ok(fn(&CallbackResult) -> bool),
}

struct Case {
    name: &'static str,
    source: &'static str,
    timeout_ms: u64,
    max_elapsed_ms: u64,
    expect: Expect,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "endless loop",
            source: "function login(e, p, cb) { while (true) {} }",
            timeout_ms: 500,
            max_elapsed_ms: 1500,
            expect: Expect::Err(|e| *e == ScriptError::Timeout),
        },
        Case {
            name: "endless loop that catches everything",
            source: "function login(e, p, cb) { for (;;) { try { while (true) {} } catch (x) {} } }",
            timeout_ms: 500,
            max_elapsed_ms: 1500,
            expect: Expect::Err(|e| *e == ScriptError::Timeout),
        },
        Case {
            name: "endless loop inside a promise job",
            source: "async function login(e, p, cb) { await null; while (true) {} }",
            timeout_ms: 500,
            max_elapsed_ms: 1500,
            expect: Expect::Err(|e| *e == ScriptError::Timeout),
        },
        Case {
            name: "endless microtask chain",
            source: "function login(e, p, cb) { (function f() { Promise.resolve().then(f); })(); }",
            timeout_ms: 500,
            max_elapsed_ms: 1500,
            expect: Expect::Err(|e| matches!(e, ScriptError::Timeout | ScriptError::OutOfMemory)),
        },
        Case {
            name: "busy interval",
            source: "function login(e, p, cb) { setInterval(function () { for (let i = 0; i < 1e5; i++); }, 0); }",
            timeout_ms: 500,
            max_elapsed_ms: 1500,
            expect: Expect::Err(|e| *e == ScriptError::Timeout),
        },
        Case {
            name: "memory bomb (arrays)",
            source: "function login(e, p, cb) { const a = []; while (true) a.push(new Array(1e6).fill(1.5)); }",
            timeout_ms: 10_000,
            max_elapsed_ms: 5_000,
            expect: Expect::Err(|e| *e == ScriptError::OutOfMemory),
        },
        Case {
            name: "memory bomb (string repeat)",
            source: "function login(e, p, cb) { let s = 'x'; while (true) s = s.repeat(2); }",
            timeout_ms: 10_000,
            max_elapsed_ms: 5_000,
            expect: Expect::Err(|e| *e == ScriptError::OutOfMemory),
        },
        Case {
            name: "string doubling (ropes hit the length limit)",
            source: "function login(e, p, cb) { let s = 'x'; while (true) s += s; }",
            timeout_ms: 10_000,
            max_elapsed_ms: 5_000,
            expect: Expect::Err(|e| {
                *e == ScriptError::OutOfMemory
                    || *e == ScriptError::Thrown("InternalError: string too long".into())
            }),
        },
        Case {
            name: "deep recursion",
            source: "function login(e, p, cb) { function r(n) { return r(n + 1) + 1; } r(0); }",
            timeout_ms: 10_000,
            max_elapsed_ms: 5_000,
            expect: Expect::Err(|e| *e == ScriptError::StackOverflow),
        },
        Case {
            name: "deep recursion in an async script",
            source: "async function login(e, p, cb) { function r(n) { return r(n + 1) + 1; } r(0); }",
            timeout_ms: 10_000,
            max_elapsed_ms: 5_000,
            expect: Expect::Err(|e| *e == ScriptError::StackOverflow),
        },
        Case {
            name: "no callback, nothing pending",
            source: "function login(e, p, cb) { }",
            timeout_ms: 10_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| *e == ScriptError::NoCallback),
        },
        Case {
            name: "no callback, a timer far away",
            source: "function login(e, p, cb) { setTimeout(function () { cb(null, {}); }, 1e9); }",
            timeout_ms: 300,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| *e == ScriptError::Timeout),
        },
        Case {
            name: "callback in a timer",
            source: "function login(e, p, cb) { setTimeout(function () { cb(null, {user_id: 't'}); }, 20); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Ok(
                |r| matches!(r, CallbackResult::Value(Some(v)) if v["user_id"] == "t"),
            ),
        },
        Case {
            name: "timers left open do not delay completion",
            source: "function login(e, p, cb) { setInterval(function () {}, 5); setTimeout(function () {}, 1e9); cb(null, {user_id: 'x'}); }",
            timeout_ms: 5_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Ok(|r| matches!(r, CallbackResult::Value(Some(_)))),
        },
        Case {
            name: "two callbacks: the first wins",
            source: "function login(e, p, cb) { cb(null, {user_id: 'first'}); cb(null, {user_id: 'second'}); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Ok(
                |r| matches!(r, CallbackResult::Value(Some(v)) if v["user_id"] == "first"),
            ),
        },
        Case {
            name: "busy loop after the callback",
            source: "function login(e, p, cb) { cb(null, {user_id: 'x'}); while (true) {} }",
            timeout_ms: 5_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Ok(|r| matches!(r, CallbackResult::Value(Some(_)))),
        },
        Case {
            name: "throws",
            source: "function login(e, p, cb) { throw new Error('boom'); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| *e == ScriptError::Thrown("Error: boom".into())),
        },
        Case {
            name: "throws a string",
            source: "function login(e, p, cb) { throw 'plain'; }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| *e == ScriptError::Thrown("plain".into())),
        },
        Case {
            name: "throws later, in a timer",
            source: "function login(e, p, cb) { setTimeout(function () { null.x; }, 5); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(
                |e| matches!(e, ScriptError::Thrown(m) if m.starts_with("TypeError")),
            ),
        },
        Case {
            name: "rejected async function",
            source: "async function login(e, p, cb) { await null; throw new Error('nope'); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| *e == ScriptError::RejectedPromise("Error: nope".into())),
        },
        Case {
            name: "unhandled rejection",
            source: "function login(e, p, cb) { Promise.reject(new RangeError('lost')); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| *e == ScriptError::RejectedPromise("RangeError: lost".into())),
        },
        Case {
            name: "callback with a string",
            source: "function login(e, p, cb) { cb('database unreachable'); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Ok(|r| {
                *r == CallbackResult::Error(ScriptCallbackError {
                    kind: ErrorKind::Generic,
                    message: "database unreachable".into(),
                })
            }),
        },
        Case {
            name: "require('fs')",
            source: "function login(e, p, cb) { const fs = require('fs'); cb(null, fs.readFileSync('/etc/passwd')); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| *e == ScriptError::ModuleNotFound("fs".into())),
        },
        Case {
            name: "require('child_process') with a version",
            source: "function login(e, p, cb) { require('child_process@1.0.0').execSync('id'); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| *e == ScriptError::ModuleNotFound("child_process".into())),
        },
        Case {
            name: "require('node:net') passed to the callback",
            source: "function login(e, p, cb) { try { require('node:net'); } catch (err) { return cb(err); } }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| *e == ScriptError::ModuleNotFound("net".into())),
        },
        Case {
            name: "process.exit()",
            source: "function login(e, p, cb) { process.exit(1); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(
                |e| matches!(e, ScriptError::Thrown(m) if m.contains("process is not defined")),
            ),
        },
        Case {
            name: "no way out through Function",
            source: "function login(e, p, cb) { const g = new Function('return this')(); cb(null, {host: typeof g.host, process: typeof g.process, deno: typeof g.Deno, std: typeof g.std, os: typeof g.os}); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Ok(
                |r| matches!(r, CallbackResult::Value(Some(v)) if v.as_object().unwrap().values().all(|t| t == "undefined")),
            ),
        },
        Case {
            name: "Atomics.wait cannot block the thread",
            source: "function login(e, p, cb) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); }",
            timeout_ms: 1_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(
                |e| matches!(e, ScriptError::Thrown(m) if m.starts_with("ReferenceError")),
            ),
        },
        Case {
            name: "network denied by default",
            source: "async function login(e, p, cb) { try { await fetch('http://127.0.0.1:9/'); cb(null, {}); } catch (err) { cb(new Error(err.code + ' ' + err.message)); } }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Ok(
                |r| matches!(r, CallbackResult::Error(e) if e.message.starts_with("ENOTALLOWED")),
            ),
        },
        Case {
            name: "database denied by default",
            source: "function login(e, p, cb) { const c = require('mysql').createConnection({host: '127.0.0.1', user: 'root'}); c.query('SELECT 1', function (err) { cb(err); }); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Ok(
                |r| matches!(r, CallbackResult::Error(e) if e.message.contains("network.allow")),
            ),
        },
        Case {
            name: "not a function: a number",
            source: "42",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| *e == ScriptError::NotAFunction),
        },
        Case {
            name: "not a function: an object",
            source: "({ login: function () {} })",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| *e == ScriptError::NotAFunction),
        },
        Case {
            name: "syntax error",
            source: "function login(e, p, cb) { cb(null, {; }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| matches!(e, ScriptError::Syntax(m) if m.contains("line 1"))),
        },
        Case {
            name: "statements instead of an expression",
            source: "var x = 1; function login() {}",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(|e| matches!(e, ScriptError::Syntax(_))),
        },
        Case {
            name: "circular callback value",
            source: "function login(e, p, cb) { const o = {}; o.self = o; cb(null, o); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Err(
                |e| matches!(e, ScriptError::InvalidCallbackValue(m) if m.contains("circular")),
            ),
        },
        Case {
            name: "pbkdf2 with a huge iteration count",
            source: "function login(e, p, cb) { require('crypto').pbkdf2Sync('p', 's', 4e9, 32, 'sha512'); cb(null, {}); }",
            timeout_ms: 500,
            max_elapsed_ms: 1_500,
            expect: Expect::Err(|e| *e == ScriptError::Timeout),
        },
        Case {
            name: "bcrypt cost beyond the sandbox maximum",
            source: "function login(e, p, cb) { require('bcrypt').hash('p', 31, function (err, h) { cb(err, h); }); }",
            timeout_ms: 2_000,
            max_elapsed_ms: 1_000,
            expect: Expect::Ok(
                |r| matches!(r, CallbackResult::Error(e) if e.message.contains("exceeds the sandbox maximum")),
            ),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_scripts() {
    let mut failures = Vec::new();
    for case in cases() {
        let r = run(
            case.source,
            ScriptName::Login,
            vec!["a@b.c".into(), "pw".into()],
            &env(case.timeout_ms),
        )
        .await;
        let ok = match (&case.expect, &r.outcome) {
            (Expect::Err(f), Err(e)) => f(e),
            (Expect::Ok(f), Ok(v)) => f(v),
            _ => false,
        };
        let fast = r.elapsed <= Duration::from_millis(case.max_elapsed_ms);
        println!(
            "{:<45} {:>6} ms  {:?}",
            case.name,
            r.elapsed.as_millis(),
            r.outcome
        );
        if !ok || !fast {
            failures.push(format!(
                "{}: {:?} after {:?}",
                case.name, r.outcome, r.elapsed
            ));
        }
    }
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn second_callback_is_reported() {
    let r = run(
        "function login(e, p, cb) { cb(null, {user_id: 1}); cb(new Error('late')); }",
        ScriptName::Login,
        vec!["a".into(), "b".into()],
        &env(2_000),
    )
    .await;
    assert!(matches!(r.outcome, Ok(CallbackResult::Value(Some(_)))));
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].contains("more than once"));
}

#[tokio::test]
async fn huge_console_output_is_truncated() {
    let mut e = env(10_000);
    e.limits.max_console_bytes = 4096;
    let r = run(
        "function login(e, p, cb) { for (let i = 0; i < 200000; i++) console.log('line ' + i + ' ' + 'x'.repeat(100)); console.error('never'); cb(null, {user_id: 1}); }",
        ScriptName::Login,
        vec!["a".into(), "b".into()],
        &e,
    )
    .await;
    assert!(
        matches!(r.outcome, Ok(CallbackResult::Value(Some(_)))),
        "{:?}",
        r.outcome
    );
    let total: usize = r.console.iter().map(String::len).sum();
    let last = r.console.last().unwrap();
    assert!(last.contains("truncated"), "{last}");
    assert!(total <= 4096 + last.len(), "{total}");
    assert!(!r.console.iter().any(|l| l.contains("never")));
    assert!(r.elapsed < Duration::from_secs(8), "{:?}", r.elapsed);
}

#[tokio::test]
async fn source_too_large() {
    let mut source = String::from("function login(e, p, cb) { cb(); }\n");
    source.push_str(&"// padding padding padding padding padding padding padding\n".repeat(2000));
    assert!(source.len() > 100 * 1024);
    let r = run(
        &source,
        ScriptName::Login,
        vec!["a".into(), "b".into()],
        &env(2_000),
    )
    .await;
    assert_eq!(r.outcome.unwrap_err(), ScriptError::SourceTooLarge);
    assert!(r.elapsed < Duration::from_millis(100));
}

#[tokio::test]
async fn wrong_argument_count_is_internal() {
    let r = run(
        "function (e, cb) { cb(); }",
        ScriptName::Login,
        vec!["a".into()],
        &env(2_000),
    )
    .await;
    assert!(matches!(r.outcome, Err(ScriptError::Internal(_))));
}

#[test]
fn outside_a_tokio_runtime_is_internal() {
    let r = futures_lite_block_on(run(
        "function (e, cb) { cb(); }",
        ScriptName::GetUser,
        vec!["a".into()],
        &env(2_000),
    ));
    assert!(matches!(r.outcome, Err(ScriptError::Internal(m)) if m.contains("tokio")));
}

/// Polls a future to completion without a tokio runtime.
fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = Waker::from(std::sync::Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A script that catches the time limit's error around synchronous bcrypt
/// and calls again must not leave a pile of hashes running after its call:
/// no host work starts after the deadline, and the one it abandoned keeps
/// its slot until it returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_bcrypt_after_the_deadline_starts_nothing() {
    let r = run(
        "function login(e, p, cb) { while (true) { try { bcrypt.hashSync('x', 8); } catch (x) {} } }",
        ScriptName::Login,
        vec!["a@b.c".into(), "pw".into()],
        &env(300),
    )
    .await;
    assert_eq!(r.outcome.unwrap_err(), ScriptError::Timeout);
    let left = tern_script::blocking_work_running();
    // Before the fix each caught timeout started another hash at once:
    // hundreds were queued on tokio's blocking pool when the call ended.
    assert!(left <= 1, "{left} bcrypt jobs still running after the call");
}

/// Database commands queued behind a connection that never answers are
/// admitted like any request: copies of a large query cannot grow Tern's
/// memory past the script's heap limit (before, the queue had no bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_queries_are_bounded_by_the_heap_limit() {
    // A database that accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let source = format!(
        "function login(e, p, cb) {{
           var c = require('mysql').createConnection({{host: '127.0.0.1', port: {port}, user: 'u'}});
           var big = 'SELECT 1 -- ' + 'x'.repeat(1 << 20);
           var refused = 0, code = null;
           for (var i = 0; i < 200; i++) {{
             c.query(big, function (err) {{
               if (err && err.code !== 'ETIMEDOUT') {{ refused++; code = err.code; }}
             }});
           }}
           setTimeout(function () {{ cb(null, {{user_id: 'x', code: code, refused: refused}}); }}, 300);
         }}"
    );
    let mut env = env(5_000);
    env.network = tern_script::Network::new(
        tern_script::NetworkPolicy::new(&[format!("127.0.0.1:{port}").as_str()]).unwrap(),
    );
    let r = run(
        &source,
        ScriptName::Login,
        vec!["a@b.c".into(), "pw".into()],
        &env,
    )
    .await;
    held.abort();
    let CallbackResult::Value(Some(profile)) = r.outcome.unwrap() else {
        panic!("expected a value");
    };
    assert_eq!(profile["code"], "ENOBUFS", "{profile}");
    // 32 MiB of heap limit holds about 31 queued copies of a 1 MiB query.
    let queued = 200 - profile["refused"].as_u64().unwrap();
    assert!((20..40).contains(&queued), "{profile}");
}
