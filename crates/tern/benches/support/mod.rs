//! What several benchmarks share: a fresh PostgreSQL database, the
//! machine's load average (printed beside every figure: a loaded 2-core
//! machine halves them), and a real `tern serve` process.
//!
//! Each benchmark compiles this module on its own and uses part of it.
#![allow(dead_code)]

pub mod cpu;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The PostgreSQL server the benchmarks use (`TERN_TEST_PG_URL`).
pub fn pg_base() -> String {
    std::env::var("TERN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// Run `sql` against the `postgres` database with `psql`.
pub fn psql(sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .arg(format!("{}/postgres", pg_base()))
        .args(["-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// A fresh `tern_bench_<random>` database, dropped on `Drop`.
pub struct PgDb {
    pub name: String,
}

impl PgDb {
    pub fn create() -> Result<Self, String> {
        let name = format!("tern_bench_{}", uuid::Uuid::new_v4().simple());
        psql(&format!("CREATE DATABASE {name}"))?;
        Ok(Self { name })
    }

    pub fn url(&self) -> String {
        format!("{}/{}", pg_base(), self.name)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` has them.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The value at fraction `p` of `sorted` (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// A `tern serve` process (the built binary) on a free loopback port,
/// killed on `Drop`.
pub struct TernProcess {
    child: Child,
    pub base: String,
}

impl TernProcess {
    /// Start `tern serve` with its data in `data_dir`, on `database_url`
    /// when given (else SQLite in the data directory), with `env` added,
    /// and wait until it answers.
    pub async fn start(
        data_dir: &std::path::Path,
        database_url: Option<&str>,
        env: &[(&str, &str)],
    ) -> Self {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tern"));
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .env("TERN_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(url) = database_url {
            cmd.args(["--database-url", url]);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let p = TernProcess {
            child: cmd.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        for _ in 0..600 {
            if http
                .get(format!("{}/readyz", p.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("tern serve did not become ready at {}", p.base);
    }

    /// The process id (for `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for TernProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free on 127.0.0.1 now (for a listener a process binds next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `tern serve` data directory's `bootstrap.json` (tenant, connection,
/// first client), once it is written in full.
pub async fn bootstrap(dir: &std::path::Path) -> serde_json::Value {
    let path = dir.join("bootstrap.json");
    for _ in 0..100 {
        if let Ok(v) = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))
            && v["connection_id"].is_string()
        {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no complete {}", path.display());
}
