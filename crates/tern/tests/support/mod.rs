//! Running the real `tern serve` binary for tests: processes, their
//! bootstrap credentials, HTTP through curl, throw-away PostgreSQL databases.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One `tern serve` process.
pub struct Tern {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub data_dir: PathBuf,
    /// Its stderr lines, when captured.
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Tern {
    /// Start `tern serve` on a free port with only `env` (and `PATH`) in its
    /// environment; `capture` keeps its stderr in [`Tern::stderr`].
    pub fn launch(
        data_dir: &Path,
        db: Option<&str>,
        env: &[(&str, &str)],
        args: &[&str],
        capture: bool,
    ) -> Tern {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tern"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args);
        if let Some(url) = db {
            cmd.args(["--database-url", url]);
        }
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TERN_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped()).stderr(if capture {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd.spawn().unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(err) = child.stderr.take() {
            let sink = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Tern {
            child,
            base: format!("http://{addr}"),
            data_dir: data_dir.to_path_buf(),
            stderr,
        }
    }

    /// The admin client's credentials from this instance's `bootstrap.json`.
    pub fn info(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.data_dir.join("bootstrap.json")).unwrap())
            .unwrap()
    }

    /// A Management API token for `info`'s admin client.
    pub fn token(&self, info: &Value) -> String {
        let (code, r) = post_json(
            &format!("{}/oauth/token", self.base),
            None,
            &json!({"grant_type": "client_credentials", "client_id": info["client_id"],
                    "client_secret": info["client_secret"], "audience": info["audience"]}),
        );
        assert_eq!(code, 200, "token from {}: {r}", self.base);
        r["access_token"].as_str().unwrap().to_string()
    }

    /// SIGTERM, and wait (up to a minute) for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "tern did not exit after SIGTERM"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Tern {
    fn drop(&mut self) {
        self.kill();
    }
}

/// curl with `args`: (status, JSON body or `Null`).
pub fn curl(args: &[&str]) -> (u16, Value) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "120", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// `GET url` with a bearer token.
pub fn get(url: &str, token: &str) -> (u16, Value) {
    curl(&["-H", &format!("authorization: Bearer {token}"), url])
}

/// Every user of the tenant, counted exactly: the sum of the connections'
/// migration reports (`GET /users?include_totals` stops counting at 1000, as
/// Auth0's does).
pub fn user_total(base: &str, token: &str) -> u64 {
    let (code, conns) = get(&format!("{base}/api/v2/connections"), token);
    assert_eq!(code, 200, "{conns}");
    conns
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let id = c["id"].as_str().unwrap();
            let (code, r) = get(&format!("{base}/api/v2/connections/{id}/migration"), token);
            assert_eq!(code, 200, "{r}");
            r["total_users"].as_u64().unwrap()
        })
        .sum()
}

/// `POST url` with a JSON body and an optional bearer token.
pub fn post_json(url: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let auth = token.map(|t| format!("authorization: Bearer {t}"));
    let mut args = vec!["-H", "content-type: application/json"];
    if let Some(a) = &auth {
        args.extend(["-H", a.as_str()]);
    }
    let body = body.to_string();
    args.extend(["-d", body.as_str(), url]);
    curl(&args)
}

/// `PATCH url` with a JSON body and a bearer token.
pub fn patch_json(url: &str, token: &str, body: &Value) -> (u16, Value) {
    let auth = format!("authorization: Bearer {token}");
    let body = body.to_string();
    curl(&[
        "-X",
        "PATCH",
        "-H",
        "content-type: application/json",
        "-H",
        &auth,
        "-d",
        &body,
        url,
    ])
}

/// A fresh PostgreSQL database, dropped when this goes out of scope.
pub struct PgDb {
    base: String,
    name: String,
}

impl PgDb {
    pub fn create(prefix: &str) -> PgDb {
        let base = std::env::var("TERN_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!("{prefix}_{}_{nanos}", std::process::id());
        let db = PgDb { base, name };
        db.psql(&format!("CREATE DATABASE {}", db.name));
        db
    }

    pub fn url(&self) -> String {
        format!("{}/{}", self.base, self.name)
    }

    fn psql(&self, sql: &str) {
        let ok = Command::new("psql")
            .args([&format!("{}/postgres", self.base), "-qc", sql])
            .status()
            .unwrap()
            .success();
        assert!(ok, "psql {sql}");
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &format!("{}/postgres", self.base),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .status();
    }
}
