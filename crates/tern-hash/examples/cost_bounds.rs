#![allow(clippy::unwrap_used, clippy::print_stdout)] // a measuring tool: a panic is the report
//! Derive the default [`CostLimits`] from this machine: time one
//! verification of each scheme at a moderate cost (64-byte password, one
//! thread), scale to the work one `TERN_BOUND_SECONDS` (default 1.0) allows,
//! and print that bound beside the default in force.
//!
//! ```text
//! cargo run --release -p tern-hash --example cost_bounds
//! ```
//!
//! Hashes are built as strings with a made-up checksum: verification does
//! the full work and answers "no", which is all a timing needs.

use std::hint::black_box;
use std::time::Instant;

use tern_hash::{CostLimits, StoredHash};

const PASSWORD: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const RUNS: usize = 5;

/// Median seconds of one verification of `hash`.
fn time(hash: &str) -> f64 {
    let h = StoredHash::parse(hash).unwrap_or_else(|e| panic!("{hash}: {e}"));
    let unlimited = CostLimits::unlimited();
    black_box(h.verify(PASSWORD, &unlimited).unwrap());
    let mut t: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(h.verify(black_box(PASSWORD), &unlimited).unwrap());
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[RUNS / 2]
}

/// Round down to two significant digits.
fn round_down(x: f64) -> u64 {
    if x < 100.0 {
        return x as u64;
    }
    let magnitude = 10f64.powi(x.log10().floor() as i32 - 1);
    ((x / magnitude).floor() * magnitude) as u64
}

fn b64(n: usize) -> String {
    "A".repeat(n * 4 / 3)
}

fn row(name: &str, measured: &str, bound: String, default: String) {
    println!("{name:<28} {measured:<34} {bound:<22} {default}");
}

fn main() {
    let target: f64 = std::env::var("TERN_BOUND_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let d = CostLimits::default();
    println!("one verification, 64-byte password, median of {RUNS}; bounds for {target} s\n");
    row(
        "scheme",
        "measured",
        "derived bound".into(),
        "default".into(),
    );

    // bcrypt: each cost step doubles the work.
    let t = time("$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K");
    let cost = 10 + (target / t).log2().floor() as i64;
    row(
        "bcrypt",
        &format!("cost 10: {:.1} ms", t * 1e3),
        format!("cost {cost} ({:.2} s)", t * 2f64.powi(cost as i32 - 10)),
        format!("bcrypt_cost = {}", d.bcrypt_cost),
    );

    // PBKDF2: one output block, per digest.
    let digests = [
        ("md4", 16usize, d.pbkdf2_iterations.md4),
        ("md5", 16, d.pbkdf2_iterations.md5),
        ("ripemd160", 20, d.pbkdf2_iterations.ripemd160),
        ("sha1", 20, d.pbkdf2_iterations.sha1),
        ("sha224", 28, d.pbkdf2_iterations.sha224),
        ("sha256", 32, d.pbkdf2_iterations.sha256),
        ("sha384", 48, d.pbkdf2_iterations.sha384),
        ("sha512", 64, d.pbkdf2_iterations.sha512),
        ("whirlpool", 64, d.pbkdf2_iterations.whirlpool),
    ];
    for (name, len, default) in digests {
        let i = 100_000;
        let t = time(&format!(
            "$pbkdf2-{name}$i={i},l={len}${}${}",
            b64(12),
            "A".repeat((len * 4).div_ceil(3))
        ));
        row(
            &format!("pbkdf2-{name}"),
            &format!("{i} iterations: {:.1} ms", t * 1e3),
            format!("{} iterations", round_down(target / t * i as f64)),
            format!("pbkdf2_iterations.{name} = {default}"),
        );
    }

    // sha-crypt.
    for (name, tag, sum, default, field) in [
        (
            "sha256-crypt",
            "5",
            43,
            d.sha256_crypt_rounds,
            "sha256_crypt_rounds",
        ),
        (
            "sha512-crypt",
            "6",
            86,
            d.sha512_crypt_rounds,
            "sha512_crypt_rounds",
        ),
    ] {
        let r = 100_000;
        let t = time(&format!(
            "${tag}$rounds={r}$saltsaltsaltsalt${}",
            ".".repeat(sum)
        ));
        row(
            name,
            &format!("{r} rounds: {:.1} ms", t * 1e3),
            format!("{} rounds", round_down(target / t * f64::from(r))),
            format!("{field} = {default}"),
        );
    }

    // phpass (MD5) and Drupal 7 (SHA-512): 2^log2 rounds.
    for (name, ident, sum, default, field) in [
        (
            "phpass",
            "$P$",
            22,
            d.phpass_log2_rounds,
            "phpass_log2_rounds",
        ),
        (
            "drupal7",
            "$S$",
            43,
            d.drupal7_log2_rounds,
            "drupal7_log2_rounds",
        ),
    ] {
        let t = time(&format!("{ident}Gsaltsalt{}", ".".repeat(sum)));
        let per_round = t / f64::from(1u32 << 18);
        let log2 = (target / per_round).log2().floor();
        row(
            name,
            &format!("2^18 rounds: {:.1} ms", t * 1e3),
            format!("log2 {log2} ({:.2} s)", per_round * 2f64.powi(log2 as i32)),
            format!("{field} = {default}"),
        );
    }

    // md5-crypt: fixed 1000 rounds; its cost grows with the password only.
    let t = time("$1$saltsalt$......................");
    row(
        "md5-crypt",
        &format!("{:.2} ms", t * 1e3),
        "(no cost parameter)".into(),
        format!("max_password_bytes = {}", d.max_password_bytes),
    );

    // scrypt: time ∝ N·r·p, memory 128·N·r.
    let t = time(&format!("$scrypt$ln=16,r=8,p=1${}${}", b64(15), b64(30)));
    let nrp = f64::from(1u32 << 16) * 8.0;
    row(
        "scrypt",
        &format!("N=2^16 r=8 p=1 (64 MiB): {:.0} ms", t * 1e3),
        format!("N·r·p {}", round_down(target / t * nrp)),
        format!(
            "scrypt_work = {}, memory_mib = {}",
            d.scrypt_work, d.memory_mib
        ),
    );

    // Argon2: time ∝ m·t (lanes computed on one core).
    let t = time(&format!(
        "$argon2id$v=19$m=65536,t=2,p=1${}${}",
        b64(15),
        b64(30)
    ));
    let mt = 65536.0 * 2.0;
    row(
        "argon2id",
        &format!("m=64 MiB t=2 p=1: {:.0} ms", t * 1e3),
        format!("m·t {}", round_down(target / t * mt)),
        format!(
            "argon2_work = {}, memory_mib = {}",
            d.argon2_work, d.memory_mib
        ),
    );
}
