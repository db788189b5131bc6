//! Overhead of one sandboxed script call: median time of a trivial login script that
//! calls back immediately, against the same work (build the profile) in plain Rust.
//!
//! Run with `cargo bench -p tern-script --bench overhead`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tern_script::{CallbackResult, ScriptEnv, ScriptName, run};

const SCRIPT: &str = "function login(email, password, callback) {
  callback(null, { user_id: email, email: email, email_verified: false });
}";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn plain_rust(email: &str, _password: &str) -> Option<Value> {
    Some(json!({ "user_id": email, "email": email, "email_verified": false }))
}

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            return;
        }
    };
    let env = ScriptEnv::default();
    let iterations = 300;
    let args = || vec![Value::from("jane@example.com"), Value::from("pw")];

    // Warm up (thread creation, allocator).
    for _ in 0..20 {
        let r = rt.block_on(run(SCRIPT, ScriptName::Login, args(), &env));
        assert!(
            matches!(r.outcome, Ok(CallbackResult::Value(Some(_)))),
            "{:?}",
            r.outcome
        );
    }
    let mut script_times = Vec::with_capacity(iterations);
    let mut inner_times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        let r = rt.block_on(run(SCRIPT, ScriptName::Login, args(), &env));
        script_times.push(t.elapsed());
        inner_times.push(r.elapsed);
        black_box(r);
    }
    let mut rust_times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let a = args();
        let t = Instant::now();
        let v = plain_rust(
            black_box(a[0].as_str().unwrap_or("")),
            black_box(a[1].as_str().unwrap_or("")),
        );
        rust_times.push(t.elapsed());
        black_box(v);
    }
    let script = median(script_times);
    let inner = median(inner_times);
    let rust = median(rust_times).max(Duration::from_nanos(1));
    println!("iterations:                 {iterations}");
    println!(
        "script call (run().await):  {:>10.3} ms median",
        script.as_secs_f64() * 1e3
    );
    println!(
        "  of which inside sandbox:  {:>10.3} ms median (ScriptRun::elapsed)",
        inner.as_secs_f64() * 1e3
    );
    println!(
        "plain Rust:                 {:>10.3} µs median",
        rust.as_secs_f64() * 1e6
    );
    println!(
        "ratio script / plain Rust:  {:>10.0}x",
        script.as_secs_f64() / rust.as_secs_f64()
    );
}
