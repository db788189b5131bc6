#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Exactly once through a crash: the real `tern serve` process is killed with
//! SIGKILL in the middle of an import job, restarted on the same data, and the
//! job finishes with every row applied once — no row lost, none applied twice.
//! Runs on SQLite and on a fresh PostgreSQL database. HTTP goes through curl.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ROWS: usize = 6_000;

struct Server {
    child: Child,
    base: String,
}

fn start(data_dir: &std::path::Path, db: Option<&str>) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tern"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    if let Some(url) = db {
        cmd.args(["--database-url", url]);
    }
    // Small batches and a short lease make the crash window wide and the resume quick.
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERN_IMPORT__BATCH_SIZE", "10")
        .env("TERN_IMPORT__LEASE_SECS", "1")
        .env("TERN_IMPORT__MAX_FILE_BYTES", "20000000")
        .env("TERN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    Server {
        child,
        base: format!("http://{addr}"),
    }
}

fn curl(args: &[&str]) -> Value {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn token(s: &Server, info: &Value) -> String {
    let body = json!({"grant_type": "client_credentials", "client_id": info["client_id"], "client_secret": info["client_secret"], "audience": info["audience"]});
    let r = curl(&[
        "-H",
        "content-type: application/json",
        "-d",
        &body.to_string(),
        &format!("{}/oauth/token", s.base),
    ]);
    r["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("token from {}: {r} (info {info})", s.base))
        .to_string()
}

fn job(s: &Server, t: &str, id: &str) -> Value {
    curl(&[
        "-H",
        &format!("authorization: Bearer {t}"),
        &format!("{}/api/v2/jobs/{id}", s.base),
    ])
}

fn scenario(db: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    // Every 100th row has no email (fails validation); every 250th repeats an
    // earlier email (fails as an in-file duplicate). The rest must each exist once.
    let mut rows = Vec::with_capacity(ROWS);
    let mut expected_failed = 0;
    for i in 0..ROWS {
        if i % 100 == 99 {
            rows.push(json!({"given_name": format!("no email {i}")}));
            expected_failed += 1;
        } else if i % 250 == 249 {
            rows.push(json!({"email": "u0@crash.example"}));
            expected_failed += 1;
        } else {
            rows.push(json!({"email": format!("u{i}@crash.example"), "user_id": format!("c{i}")}));
        }
    }
    let file = dir.path().join("users.json");
    std::fs::write(&file, serde_json::to_vec(&rows).unwrap()).unwrap();

    let data = dir.path().join("data");
    let mut server = start(&data, db);
    let info: Value =
        serde_json::from_slice(&std::fs::read(data.join("bootstrap.json")).unwrap()).unwrap();
    let t = token(&server, &info);
    let auth = format!("authorization: Bearer {t}");
    let created = curl(&[
        "-H",
        &auth,
        "-F",
        &format!("users=@{}", file.display()),
        "-F",
        &format!("connection_id={}", info["connection_id"].as_str().unwrap()),
        "-F",
        "send_completion_email=false",
        &format!("{}/api/v2/jobs/users-imports", server.base),
    ]);
    let id = created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();

    // Wait until the job is well under way, then kill -9.
    let deadline = Instant::now() + Duration::from_secs(120);
    let at_kill = loop {
        let j = job(&server, &t, &id);
        let pct = j["percentage_done"].as_u64().unwrap_or(0);
        assert_ne!(
            j["status"], "completed",
            "the job finished before the crash could be staged: {j}"
        );
        if j["status"] == "processing" && pct >= 10 {
            break pct;
        }
        assert!(Instant::now() < deadline, "job never got going: {j}");
        std::thread::sleep(Duration::from_millis(10));
    };
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    assert!(at_kill < 100);

    let mut server = start(&data, db);
    // The new port is a new public URL: bootstrap.json follows it.
    let info: Value =
        serde_json::from_slice(&std::fs::read(data.join("bootstrap.json")).unwrap()).unwrap();
    let t = token(&server, &info);
    let deadline = Instant::now() + Duration::from_secs(300);
    let done = loop {
        let j = job(&server, &t, &id);
        if j["status"] == "completed" || j["status"] == "failed" {
            break j;
        }
        assert!(
            Instant::now() < deadline,
            "job did not finish after restart: {j}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(done["status"], "completed", "{done}");
    let expected_inserted = ROWS - expected_failed;
    assert_eq!(
        done["summary"],
        json!({"failed": expected_failed, "updated": 0, "inserted": expected_inserted, "total": ROWS}),
        "killed at {at_kill}%"
    );
    let auth = format!("authorization: Bearer {t}");
    let users = curl(&[
        "-H",
        &auth,
        &format!(
            "{}/api/v2/users?include_totals=true&per_page=1",
            server.base
        ),
    ]);
    assert_eq!(
        users["total"], expected_inserted,
        "each valid row exists exactly once"
    );
    let errors = curl(&[
        "-H",
        &auth,
        &format!("{}/api/v2/jobs/{id}/errors", server.base),
    ]);
    assert_eq!(
        errors.as_array().map(Vec::len),
        Some(expected_failed),
        "one error record per failed row, none twice"
    );
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[test]
fn sigkill_mid_import_sqlite() {
    scenario(None);
}

#[test]
fn sigkill_mid_import_postgres() {
    let base = std::env::var("TERN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!(
        "tern_crash_{}_{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    );
    let psql = |sql: &str| {
        let ok = Command::new("psql")
            .args([&format!("{base}/postgres"), "-qc", sql])
            .status()
            .unwrap()
            .success();
        assert!(ok, "psql {sql}");
    };
    psql(&format!("CREATE DATABASE {name}"));
    struct Drop_(Box<dyn Fn()>);
    impl Drop for Drop_ {
        fn drop(&mut self) {
            (self.0)();
        }
    }
    let n2 = name.clone();
    let b2 = base.clone();
    let _cleanup = Drop_(Box::new(move || {
        let _ = Command::new("psql")
            .args([
                &format!("{b2}/postgres"),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {n2} WITH (FORCE)"),
            ])
            .status();
    }));
    scenario(Some(&format!("{base}/{name}")));
}
