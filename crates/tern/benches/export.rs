#![allow(clippy::unwrap_used)] // a benchmark: a panic is the report
//! Export of a million users (issue 15), on SQLite and on PostgreSQL:
//! time and memory of an export job against one query reading the same rows.
//!
//! A release `tern serve` process is started once to make its database
//! (schema, tenant, default connection) and stopped; `TERN_BENCH_USERS`
//! users (default 1 000 000) are then written straight into that database by
//! one set-based `INSERT … SELECT` (SQLite: a recursive CTE; PostgreSQL:
//! `generate_series`) — untimed, and far quicker than row-by-row inserts —
//! and the server is started again. The users look like the import bench's:
//! `user{i}@bench.example.com`, id `auth0|legacy-{i}`, given, family and full
//! name, `user_metadata` `{"plan", "n"}`, created one second apart.
//!
//! Then, as an Auth0 client does it: `POST /api/v2/jobs/users-exports` of
//! the connection with the default fields, `GET /api/v2/jobs/{id}` every
//! 100 ms until the job is completed, and a download of its `location` —
//! gunzipped as it arrives and its lines counted: the bench fails unless the
//! file holds exactly one line per user (plus the CSV header). NDJSON and
//! CSV (`TERN_BENCH_FORMATS=json` or `csv` for one). `TERN_BENCH_METADATA=1`
//! adds `user_metadata.plan` to the fields (the job then reads whole users,
//! and the baseline the `user_metadata` column too).
//!
//! Printed per format: seconds to the completed job and users/s, the
//! download's seconds and size, and the server's memory — its VmRSS before
//! the export, the highest VmRSS sampled every 10 ms while the job ran
//! (from `/proc/<pid>/status`), the growth, and that growth against the
//! uncompressed file (an export held in memory would grow with it).
//!
//! The baseline, same run, same database, on a connection of this process:
//! one `SELECT` of the exported columns of the connection's users in the
//! export's order, every row fetched and decoded (sqlx, streamed), the median
//! of 3 after one untimed warm-up (so both read from a warm page cache).
//! The ratio is the job's time over the baseline's; the goal is ≤ 2.
//!
//! Run: `cargo bench -p tern --bench export` (`TERN_BENCH_USERS=100000` for
//! fewer; `TERN_BENCH_BACKENDS=sqlite` or `postgres`; `TERN_TEST_PG_URL` for
//! another PostgreSQL server).

mod support;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use serde_json::{Value, json};
use sqlx::{Connection, Row};
use support::{PgDb, TernProcess, bootstrap, loadavg};

const CONNECTION: &str = "Username-Password-Authentication";
/// The columns behind the export's default fields (`tern_core::export::DEFAULT_FIELDS`).
const EXPORTED: &str = "user_id, email, email_verified, username, name, given_name, family_name, \
    nickname, picture, created_at, updated_at, last_login, logins_count, blocked";
/// Which of `EXPORTED` are integers (the rest are text).
const INTEGER_COLUMNS: [&str; 3] = ["email_verified", "logins_count", "blocked"];
const POLL: Duration = Duration::from_millis(100);

const INSERTED: &str = "tenant_id, user_id, connection_id, connection_name, email, \
    email_verified, given_name, family_name, name, user_metadata, created_at, updated_at, source";

/// `n` users made by SQLite itself from a recursive counter.
fn sqlite_load_sql() -> String {
    format!(
        "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?3) \
         INSERT INTO users ({INSERTED}) \
         SELECT ?1, 'auth0|legacy-' || i, ?2, '{CONNECTION}', 'user' || i || '@bench.example.com', \
           i % 2, 'Given' || i, 'Bench', 'Given' || i || ' Bench', \
           '{{\"plan\":\"' || (CASE i % 3 WHEN 0 THEN 'pro' ELSE 'free' END) || '\",\"n\":' || i || '}}', \
           strftime('%Y-%m-%dT%H:%M:%S.000Z', 1735689600 + i, 'unixepoch'), \
           strftime('%Y-%m-%dT%H:%M:%S.000Z', 1735689600 + i, 'unixepoch'), 'bulk_import' \
         FROM s WHERE true"
    )
}

/// The same users made by PostgreSQL from `generate_series`.
fn postgres_load_sql() -> String {
    let created = "to_char(timestamp '2025-01-01' + i * interval '1 second', \
                   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
    format!(
        "INSERT INTO users ({INSERTED}) \
         SELECT $1, 'auth0|legacy-' || i, $2, '{CONNECTION}', 'user' || i || '@bench.example.com', \
           i % 2, 'Given' || i, 'Bench', 'Given' || i || ' Bench', \
           '{{\"plan\":\"' || (CASE i % 3 WHEN 0 THEN 'pro' ELSE 'free' END) || '\",\"n\":' || i || '}}', \
           {created}, {created}, 'bulk_import' \
         FROM generate_series(0::bigint, $3 - 1) AS i"
    )
}

fn sqlite_options(path: &Path) -> sqlx::sqlite::SqliteConnectOptions {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        // The server's page cache (64 MiB).
        .pragma("cache_size", "-65536")
}

/// The database a `tern serve` in `dir` uses.
enum Db<'a> {
    Sqlite(&'a Path),
    Postgres(&'a PgDb),
}

impl Db<'_> {
    /// The tenant's id (the server made one) and `n` users in `connection_id`.
    async fn load(&self, connection_id: &str, n: usize) -> (String, Duration) {
        let started = Instant::now();
        let n = i64::try_from(n).unwrap();
        // The same steps on either kind of connection.
        macro_rules! load {
            ($c:expr, $sql:expr) => {{
                let mut c = $c;
                let tenant: String = sqlx::query_scalar("SELECT id FROM tenants")
                    .fetch_one(&mut c)
                    .await
                    .unwrap();
                sqlx::query(sqlx::AssertSqlSafe($sql))
                    .bind(&tenant)
                    .bind(connection_id)
                    .bind(n)
                    .execute(&mut c)
                    .await
                    .unwrap();
                (c, tenant)
            }};
        }
        let tenant = match self {
            Db::Sqlite(path) => {
                let c = sqlx::SqliteConnection::connect_with(&sqlite_options(path))
                    .await
                    .unwrap();
                let (c, tenant) = load!(c, sqlite_load_sql());
                c.close().await.unwrap();
                tenant
            }
            Db::Postgres(db) => {
                let c = sqlx::PgConnection::connect(&db.url()).await.unwrap();
                let (mut c, tenant) = load!(c, postgres_load_sql());
                // As after a real load: the planner may know the table.
                sqlx::query("ANALYZE users").execute(&mut c).await.unwrap();
                c.close().await.unwrap();
                tenant
            }
        };
        (tenant, started.elapsed())
    }

    /// The baseline: one query of the exported columns of the connection's
    /// users in the export's order, each row fetched and decoded. Returns
    /// (time, rows).
    async fn one_query(&self, tenant: &str, connection_id: &str) -> (Duration, u64) {
        let metadata = if with_metadata() {
            ", user_metadata"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {EXPORTED}{metadata} FROM users WHERE tenant_id = $1 AND connection_id = $2 \
             ORDER BY created_at, user_id"
        );
        let mut columns: Vec<&str> = EXPORTED.split(',').map(str::trim).collect();
        if with_metadata() {
            columns.push("user_metadata");
        }
        let mut rows = 0u64;
        let mut bytes = 0usize;
        macro_rules! read_all {
            ($conn:expr) => {{
                let mut conn = $conn;
                let started = Instant::now();
                {
                    let mut stream = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                        .bind(tenant)
                        .bind(connection_id)
                        .fetch(&mut conn);
                    while let Some(row) = stream.try_next().await.unwrap() {
                        for c in &columns {
                            if INTEGER_COLUMNS.contains(c) {
                                bytes += usize::from(row.get::<i64, _>(*c) != 0);
                            } else {
                                bytes += row.get::<Option<String>, _>(*c).map_or(0, |s| s.len());
                            }
                        }
                        rows += 1;
                    }
                }
                let took = started.elapsed();
                conn.close().await.unwrap();
                took
            }};
        }
        let took = match self {
            Db::Sqlite(path) => read_all!(
                sqlx::SqliteConnection::connect_with(&sqlite_options(path))
                    .await
                    .unwrap()
            ),
            Db::Postgres(db) => read_all!(sqlx::PgConnection::connect(&db.url()).await.unwrap()),
        };
        std::hint::black_box(bytes);
        (took, rows)
    }
}

fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The highest VmRSS of `pid`, sampled every 10 ms until dropped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(status_kib(pid, "VmRSS:")));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(status_kib(pid, "VmRSS:"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Self {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        self.peak.load(Ordering::Relaxed)
    }
}

/// Counts the lines and bytes written to it (the gunzipped download).
#[derive(Default)]
struct LineCount {
    lines: u64,
    bytes: u64,
    first: Vec<u8>,
}

impl Write for LineCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.lines == 0 && self.first.len() < 4096 {
            self.first.extend_from_slice(buf);
        }
        self.lines += buf.iter().filter(|b| **b == b'\n').count() as u64;
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Exported {
    job: Duration,
    download: Duration,
    gzip_bytes: u64,
    lines: LineCount,
    rss_before: u64,
    rss_peak: u64,
}

/// `TERN_BENCH_METADATA=1`: the default fields and `user_metadata.plan`,
/// so the job reads whole users (the baseline reads `user_metadata` too).
fn with_metadata() -> bool {
    std::env::var("TERN_BENCH_METADATA").as_deref() == Ok("1")
}

/// The job's request: the default fields (Auth0's, when none are named) or,
/// with metadata, those and `user_metadata.plan`.
fn export_body(connection_id: &str, format: &str) -> Value {
    if !with_metadata() {
        return json!({"connection_id": connection_id, "format": format});
    }
    let mut fields: Vec<Value> = EXPORTED
        .split(',')
        .map(|c| json!({"name": c.trim()}))
        .collect();
    fields.push(json!({"name": "user_metadata.plan", "export_as": "plan"}));
    json!({"connection_id": connection_id, "format": format, "fields": fields})
}

/// One export job of the connection in `format`, as an Auth0 client runs it.
async fn export(
    http: &reqwest::Client,
    server: &TernProcess,
    token: &str,
    connection_id: &str,
    format: &str,
) -> Exported {
    let base = &server.base;
    let rss_before = status_kib(server.pid(), "VmRSS:");
    let sampler = RssSampler::start(server.pid());
    let started = Instant::now();
    let r = http
        .post(format!("{base}/api/v2/jobs/users-exports"))
        .bearer_auth(token)
        .json(&export_body(connection_id, format))
        .send()
        .await
        .unwrap();
    let job: Value = r.json().await.unwrap();
    let url = format!(
        "{base}/api/v2/jobs/{}",
        job["id"]
            .as_str()
            .unwrap_or_else(|| panic!("export: {job}"))
    );
    let done = loop {
        tokio::time::sleep(POLL).await;
        let v: Value = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match v["status"].as_str() {
            Some("completed") => break v,
            Some("failed") => panic!("export failed: {v}"),
            _ => {}
        }
    };
    let job_took = started.elapsed();
    let rss_peak = sampler.finish();
    // The link names the public URL; the path and token are what matter.
    let location = done["location"].as_str().unwrap();
    let path = &location[location.find("/jobs-files/").unwrap()..];
    let started = Instant::now();
    let mut r = http.get(format!("{base}{path}")).send().await.unwrap();
    assert!(r.status().is_success(), "download: {}", r.status());
    let mut gunzip = flate2::write::GzDecoder::new(LineCount::default());
    let mut gzip_bytes = 0u64;
    while let Some(chunk) = r.chunk().await.unwrap() {
        gzip_bytes += chunk.len() as u64;
        gunzip.write_all(&chunk).unwrap();
    }
    let lines = gunzip.finish().unwrap();
    Exported {
        job: job_took,
        download: started.elapsed(),
        gzip_bytes,
        lines,
        rss_before,
        rss_peak,
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn admin_token(http: &reqwest::Client, base: &str, info: &Value) -> String {
    let v: Value = http
        .post(format!("{base}/oauth/token"))
        .json(
            &json!({"grant_type": "client_credentials", "client_id": info["client_id"],
            "client_secret": info["client_secret"], "audience": info["audience"]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no admin token: {}", v["error_description"]))
        .to_string()
}

async fn bench_backend(backend: &str, n: usize, formats: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let pg = (backend == "postgres").then(|| PgDb::create().unwrap());
    let url = pg.as_ref().map(PgDb::url);
    let env = [
        // The same issuer and audience after the restart on another port.
        ("TERN_PUBLIC_URL", "https://tern.export.bench"),
        // The polls of a long job would meet Auth0's 15 requests/s.
        ("TERN_RATE_LIMIT__BURST", "100000"),
        ("TERN_RATE_LIMIT__PER_SECOND", "100000"),
    ];
    // Once to make the database, then stopped while the users are written.
    let first = TernProcess::start(dir.path(), url.as_deref(), &env).await;
    let info = bootstrap(dir.path()).await;
    drop(first);
    let connection_id = info["connection_id"].as_str().unwrap().to_string();
    let sqlite_path = dir.path().join("tern.db");
    let db = match &pg {
        Some(pg) => Db::Postgres(pg),
        None => Db::Sqlite(&sqlite_path),
    };
    let (tenant, took) = db.load(&connection_id, n).await;
    println!(
        "\n{backend}: {n} users written in {:.1} s (untimed set-up); load average {}",
        took.as_secs_f64(),
        loadavg()
    );
    let server = TernProcess::start(dir.path(), url.as_deref(), &env).await;
    let http = reqwest::Client::new();
    let token = admin_token(&http, &server.base, &info).await;

    // Baseline: one warm-up, then the median of 3.
    let (_, rows) = db.one_query(&tenant, &connection_id).await;
    assert_eq!(rows, n as u64, "the baseline reads every user");
    let mut times = Vec::new();
    for _ in 0..3 {
        times.push(db.one_query(&tenant, &connection_id).await.0);
    }
    let base = median(times);
    println!(
        "  baseline: one SELECT of the {} exported columns, {n} rows fetched and decoded: {:.2} s ({:.0} users/s, median of 3); load {}",
        EXPORTED.split(',').count() + usize::from(with_metadata()),
        base.as_secs_f64(),
        n as f64 / base.as_secs_f64(),
        loadavg()
    );
    for format in formats {
        let e = export(&http, &server, &token, &connection_id, format).await;
        let expected = n as u64 + u64::from(format == "csv");
        assert_eq!(
            e.lines.lines, expected,
            "the {format} file holds one line per user"
        );
        if format == "json" {
            let first = String::from_utf8_lossy(&e.lines.first);
            let line: Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
            assert!(line["email"].is_string(), "{line}");
        }
        let grew = e.rss_peak.saturating_sub(e.rss_before);
        println!(
            "  export {format:<4}: job {:.2} s ({:.0} users/s) = {:.2}× the baseline (goal ≤ 2: {}); download {:.2} s, {:.1} MB gzip, {:.1} MB raw, {} lines checked",
            e.job.as_secs_f64(),
            n as f64 / e.job.as_secs_f64(),
            e.job.as_secs_f64() / base.as_secs_f64(),
            if e.job.as_secs_f64() <= 2.0 * base.as_secs_f64() {
                "met"
            } else {
                "MISSED"
            },
            e.download.as_secs_f64(),
            e.gzip_bytes as f64 / 1e6,
            e.lines.bytes as f64 / 1e6,
            e.lines.lines
        );
        println!(
            "               server RSS {:.1} MiB before, peak {:.1} MiB during the job (+{:.1} MiB, {:.2} % of the raw file); load {}",
            mib(e.rss_before),
            mib(e.rss_peak),
            mib(grew),
            grew as f64 * 1024.0 * 100.0 / e.lines.bytes.max(1) as f64,
            loadavg()
        );
    }
    println!(
        "  server VmHWM (peak since start): {:.1} MiB",
        mib(status_kib(server.pid(), "VmHWM:"))
    );
    drop(server);
    drop(pg);
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("TERN_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let backends =
        std::env::var("TERN_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let formats: Vec<String> = std::env::var("TERN_BENCH_FORMATS")
        .unwrap_or_else(|_| "json,csv".into())
        .split(',')
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .collect();
    println!(
        "export of {n} users, {}, as an Auth0 client runs it (POST /jobs/users-exports, poll every {} ms, download); load average {}",
        if with_metadata() {
            "default fields and user_metadata.plan"
        } else {
            "default fields"
        },
        POLL.as_millis(),
        loadavg()
    );
    for backend in backends.split(',').map(str::trim).filter(|b| !b.is_empty()) {
        bench_backend(backend, n, &formats).await;
    }
    println!("\nload average after: {}", loadavg());
}
