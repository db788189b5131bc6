#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Exactly once through a crash: the real `tern serve` process is killed with
//! SIGKILL in the middle of an import job, restarted on the same data, and the
//! job finishes with every row applied once — no row lost, none applied twice.
//! Runs on SQLite and on a fresh PostgreSQL database. HTTP goes through curl.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ROWS: usize = 6_000;

mod support;

use support::{PgDb, Tern, curl, get, user_total};

fn start(data_dir: &std::path::Path, db: Option<&str>) -> Tern {
    // Small batches and a short lease make the crash window wide and the resume quick.
    let env = [
        ("TERN_IMPORT__BATCH_SIZE", "10"),
        ("TERN_IMPORT__LEASE_SECS", "1"),
        ("TERN_IMPORT__MAX_FILE_BYTES", "20000000"),
    ];
    Tern::launch(data_dir, db, &env, &[], false)
}

fn job(s: &Tern, t: &str, id: &str) -> Value {
    get(&format!("{}/api/v2/jobs/{id}", s.base), t).1
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
    let t = server.token(&info);
    let auth = format!("authorization: Bearer {t}");
    let (_, created) = curl(&[
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
    server.kill(); // SIGKILL
    assert!(at_kill < 100);

    let mut server = start(&data, db);
    // The new port is a new public URL: bootstrap.json follows it.
    let info: Value =
        serde_json::from_slice(&std::fs::read(data.join("bootstrap.json")).unwrap()).unwrap();
    let t = server.token(&info);
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
    assert_eq!(
        user_total(&server.base, &t) as usize,
        expected_inserted,
        "each valid row exists exactly once"
    );
    let (_, errors) = curl(&[
        "-H",
        &auth,
        &format!("{}/api/v2/jobs/{id}/errors", server.base),
    ]);
    assert_eq!(
        errors.as_array().map(Vec::len),
        Some(expected_failed),
        "one error record per failed row, none twice"
    );
    server.kill();
}

#[test]
fn sigkill_mid_import_sqlite() {
    scenario(None);
}

#[test]
fn sigkill_mid_import_postgres() {
    let db = PgDb::create("tern_crash");
    scenario(Some(&db.url()));
}
