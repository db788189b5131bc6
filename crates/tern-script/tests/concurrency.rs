#![allow(clippy::unwrap_used)]
//! Concurrent calls run on their own threads: a looping script delays nobody else.

use std::time::{Duration, Instant};

use tern_script::{CallbackResult, ScriptEnv, ScriptError, ScriptLimits, ScriptName, run};

fn env(timeout: Duration) -> ScriptEnv {
    ScriptEnv {
        limits: ScriptLimits {
            timeout,
            ..ScriptLimits::default()
        },
        ..ScriptEnv::default()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn eight_concurrent_runs_one_looping() {
    let start = Instant::now();
    let mut handles = Vec::new();
    for i in 0..8 {
        let (source, timeout) = if i == 0 {
            (
                "function login(e, p, cb) { while (true) {} }",
                Duration::from_millis(3000),
            )
        } else {
            (
                "function login(e, p, cb) { const h = bcrypt.hashSync(p, 4); setTimeout(function () { cb(null, {user_id: e, ok: bcrypt.compareSync(p, h)}); }, 100); }",
                Duration::from_secs(10),
            )
        };
        handles.push(tokio::spawn(async move {
            let r = run(
                source,
                ScriptName::Login,
                vec![format!("u{i}").into(), "pw".into()],
                &env(timeout),
            )
            .await;
            (i, r, start.elapsed())
        }));
    }
    for h in handles {
        let (i, r, done_at) = h.await.unwrap();
        println!(
            "run {i}: {:?} in {:?}, done at {:?}",
            r.outcome, r.elapsed, done_at
        );
        if i == 0 {
            assert_eq!(r.outcome, Err(ScriptError::Timeout));
            assert!(done_at < Duration::from_millis(4500), "{done_at:?}");
        } else {
            assert!(
                matches!(r.outcome, Ok(CallbackResult::Value(Some(ref v))) if v["ok"] == true),
                "{:?}",
                r.outcome
            );
            assert!(
                done_at < Duration::from_millis(2500),
                "run {i} waited for the looping one: {done_at:?}"
            );
        }
    }
}
