#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! `cargo bench -p tern-hash`: median verify time per scheme, the default
//! policy's hash time, and the same figures from Python's C-backed libraries
//! (`fixtures/bench_baseline.py`: pyca bcrypt, argon2-cffi, hashlib, crypt)
//! with the ratio Python / Rust (> 1 means Rust is faster).
//!
//! Both sides verify the very same hash strings: Python creates them and
//! prints them, Rust parses them. Runs per case: `TERN_BENCH_RUNS` (default 11).

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use tern_hash::{HashPolicy, StoredHash};

fn median_ms(runs: usize, mut f: impl FnMut() -> bool) -> f64 {
    assert!(f(), "warm-up verification failed");
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let ok = black_box(f());
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            assert!(ok, "verification failed");
            ms
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn baseline(runs: usize) -> Result<Value, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/bench_baseline.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(runs.to_string())
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("bad baseline output: {e}"))
}

fn main() {
    let runs: usize = std::env::var("TERN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11)
        .max(1);
    let password = "correct horse battery staple";
    println!("tern-hash verify benchmark: median of {runs} runs, release build, one thread\n");

    let base = baseline(runs);
    let cases: Vec<(String, String, Option<f64>)> = match &base {
        Ok(doc) => {
            if let Some(libs) = doc.get("libraries") {
                println!("baseline: python3 fixtures/bench_baseline.py ({libs})\n");
            }
            doc["cases"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|c| {
                            (
                                c["name"].as_str().unwrap_or_default().to_owned(),
                                c["hash"].as_str().unwrap_or_default().to_owned(),
                                c["median_ms"].as_f64(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        }
        Err(e) => {
            println!("baseline unavailable ({}); Rust-only figures\n", e.trim());
            let policy = HashPolicy::default();
            let bcrypt10 = HashPolicy::bcrypt(10)
                .map(|p| p.hash(password))
                .unwrap_or_default();
            vec![
                (
                    "argon2id m=19456 t=2 p=1".into(),
                    policy.hash(password),
                    None,
                ),
                ("bcrypt cost 10".into(), bcrypt10, None),
            ]
        }
    };

    println!(
        "{:<28} {:<16} {:>12} {:>12} {:>8}",
        "case", "scheme", "rust ms", "python ms", "py/rust"
    );
    for (name, hash, py) in &cases {
        let stored = match StoredHash::parse(hash) {
            Ok(h) => h,
            Err(e) => {
                println!("{name:<28} cannot parse: {e}");
                continue;
            }
        };
        let rust = median_ms(runs, || {
            stored
                .verify(password, &tern_hash::CostLimits::unlimited())
                .unwrap()
        });
        print_row(name, stored.scheme().name(), rust, *py);
    }

    let policy = HashPolicy::default();
    let rust_hash = median_ms(runs, || !policy.hash(password).is_empty());
    let py_hash = base
        .as_ref()
        .ok()
        .and_then(|d| d["hash_default_policy_ms"].as_f64());
    print_row("hash, default policy", "argon2id", rust_hash, py_hash);
    let dummy = median_ms(runs, || !policy.dummy_verify(password));
    print_row("dummy_verify, default", "argon2id", dummy, None);
    println!("\ndefault policy: {}", policy.describe());
}

fn print_row(name: &str, scheme: &str, rust: f64, py: Option<f64>) {
    let (py_s, ratio) = match py {
        Some(p) => (format!("{p:.2}"), format!("{:.2}", p / rust)),
        None => ("-".to_owned(), "-".to_owned()),
    };
    println!("{name:<28} {scheme:<16} {rust:>12.2} {py_s:>12} {ratio:>8}");
}
