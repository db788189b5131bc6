#![allow(clippy::unwrap_used)] // a benchmark: a panic is the report
//! Bulk import throughput, on SQLite and on PostgreSQL:
//!
//! - (a) the Management API: one `POST /jobs/users-imports` with the whole
//!   file (the in-process server's `import.max_file_bytes` raised to fit),
//!   timed to the job's completion;
//! - (b) `tern import` (the release binary, a subprocess) against a server
//!   with Auth0's limits (512000-byte files, 2 active jobs, 15 req/s): 71
//!   jobs, each one upload held until the job ends (`tern_wait_ms`);
//! - (c) the same with 8 MB files (`import.max_file_bytes` raised on the
//!   server, `--max-file-bytes` to the client), other limits as Auth0's;
//! - (d) a client written for Auth0, in this process: 512000-byte files, 2
//!   jobs at a time, each polled every 50 ms, no Tern extension; the
//!   server's rate limit lifted (at Auth0's 15 requests/s the uploads alone
//!   would bound it, whatever the server's speed);
//! - (e) PostgreSQL only, not in the default set: the same client against
//!   one release `tern serve` process, then against two on one fresh
//!   database (jobs given to them in turn, the same 2 jobs at a time, Auth0's
//!   2 active jobs per tenant), printed with the two-over-one ratio;
//! - the baseline, same run, same kind of database: the same rows inserted
//!   straight into the `users` table of a fresh database made by the
//!   server's own migrations (same indexes, same tenant foreign key), with
//!   no validation, no duplicate check, no progress and no job (SQLite: one
//!   transaction of prepared INSERTs, WAL and synchronous=NORMAL like the
//!   server; PostgreSQL: `COPY … FROM STDIN`, one transaction).
//!
//! Users carry mixed hashes: a real bcrypt `$2b$10$` string (made once here
//! and reused), and Auth0 `custom_password_hash` objects (salted sha256 hex,
//! salted sha512 base64), one in ten without a hash.
//!
//! Peak RSS is VmHWM: of the bench process (the in-process server) — reset
//! through /proc/self/clear_refs before each measurement — and of the
//! `tern import` child, sampled from /proc/<pid>/status while it runs.
//!
//! With `TERN_BENCH_EXISTING=1000000`, every database — the servers' and
//! the baseline's — first holds that many other users of the same
//! connection (written straight into it, untimed), so the import and the
//! baseline both write into large indexes.
//!
//! Run: `cargo bench -p tern --bench import` (`TERN_BENCH_USERS=20000` for
//! fewer users; `TERN_BENCH_BACKENDS=sqlite` or `postgres` for one backend;
//! `TERN_TEST_PG_URL` for another PostgreSQL server; `TERN_BENCH_METHODS=bd`
//! for some of (a)–(e), `TERN_BENCH_API_ONLY=1` for (a) alone,
//! `TERN_BENCH_CLI_ONLY=1` for (b) alone).

mod support;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use sha2::Digest;
use sqlx::Connection;
use support::{PgDb, TernProcess, loadavg};
use tern_server::Config;

const CONNECTION: &str = "Username-Password-Authentication";
/// (c)'s file size: `import.max_file_bytes` raised on the server (a Tern
/// setting) and `--max-file-bytes` given to `tern import`.
const CLI_LARGE_FILE: usize = 8_000_000;
const CREATED: &str = "2026-01-01T00:00:00.000Z";

/// Give the fresh database at `url` the server's own schema (its migrations:
/// the same `users` table, indexes and tenant foreign key the imports write
/// to) and the baseline's tenant row.
async fn server_schema(url: &str) {
    let store = tern_store::SqlStore::open(url).await.unwrap();
    sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ('tenant', 'bench', $1)")
        .bind(CREATED)
        .execute(store.pool())
        .await
        .unwrap();
    store.pool().close().await;
}
const COLUMNS: &str = "tenant_id, user_id, connection_id, connection_name, email, email_verified, \
    given_name, family_name, name, app_metadata, user_metadata, created_at, updated_at, credential, source";

/// The i-th generated user, in the import schema.
fn user(i: usize, bcrypt: &str) -> Value {
    let mut u = json!({
        "email": format!("user{i}@bench.example.com"),
        "email_verified": i.is_multiple_of(2),
        "user_id": format!("legacy-{i}"),
        "given_name": format!("Given{i}"),
        "family_name": "Bench",
        "name": format!("Given{i} Bench"),
        "user_metadata": {"plan": if i.is_multiple_of(3) { "pro" } else { "free" }, "n": i},
    });
    let salt = format!("s{i:08}");
    let password = format!("password-{i}");
    match i % 10 {
        9 => {}
        n if n % 3 == 0 => u["password_hash"] = json!(bcrypt),
        n if n % 3 == 1 => {
            let h = sha2::Sha256::digest(format!("{salt}{password}"));
            u["custom_password_hash"] = json!({"algorithm": "sha256",
                "hash": {"value": hex::encode(h), "encoding": "hex"},
                "salt": {"value": salt, "encoding": "utf8", "position": "prefix"}});
        }
        _ => {
            let h = sha2::Sha512::digest(format!("{password}{salt}"));
            u["custom_password_hash"] = json!({"algorithm": "sha512",
                "hash": {"value": base64::engine::general_purpose::STANDARD.encode(h), "encoding": "base64"},
                "salt": {"value": salt, "encoding": "utf8", "position": "suffix"}});
        }
    }
    u
}

/// One baseline row: the columns the server fills for an imported user.
struct Row {
    user_id: String,
    email: String,
    email_verified: i64,
    given_name: String,
    family_name: String,
    name: String,
    user_metadata: String,
    credential: Option<String>,
}

fn baseline_row(u: &Value) -> Row {
    let s = |k: &str| u[k].as_str().unwrap_or_default().to_string();
    let credential = if let Some(h) = u["password_hash"].as_str() {
        Some(
            tern_hash::StoredHash::from_import_password_hash(h)
                .unwrap()
                .to_storage(),
        )
    } else if u.get("custom_password_hash").is_some() {
        Some(
            tern_hash::StoredHash::from_custom(&u["custom_password_hash"])
                .unwrap()
                .to_storage(),
        )
    } else {
        None
    };
    Row {
        user_id: format!("auth0|{}", s("user_id")),
        email: s("email"),
        email_verified: i64::from(u["email_verified"] == true),
        given_name: s("given_name"),
        family_name: s("family_name"),
        name: s("name"),
        user_metadata: u["user_metadata"].to_string(),
        credential,
    }
}

// ---------------------------------------------------------------- memory

/// Reset this process's VmHWM to its current RSS (Linux ≥ 4.0); returns that RSS.
fn reset_peak() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_kib("self", "VmRSS:").unwrap_or(0)
}

fn status_kib(pid: &str, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn vm_hwm_kib(pid: &str) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// The bench process's peak since `reset_peak`, and the RSS it started from.
fn own_peak(start: u64) -> String {
    format!(
        "{} (RSS at start {})",
        mib(vm_hwm_kib("self").unwrap_or(0)),
        mib(start)
    )
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

// ---------------------------------------------------------------- PostgreSQL

// ---------------------------------------------------------------- baselines

async fn baseline_sqlite(rows: &[Row], existing: &Existing, dir: &Path) -> Duration {
    let path = dir.join("baseline.db");
    let target = Target {
        tenant: "tenant",
        connection_id: "con_bench0000000000",
    };
    match &existing.baseline_dir {
        Some(template) => copy_files(template.path(), dir),
        None => server_schema(&format!("sqlite://{}", path.display())).await,
    }
    insert_sqlite(&path, &target, rows).await
}

/// A fresh baseline database holding `rows`, in a directory of its own.
async fn baseline_template(rows: &[Row]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baseline.db");
    server_schema(&format!("sqlite://{}", path.display())).await;
    let target = Target {
        tenant: "tenant",
        connection_id: "con_bench0000000000",
    };
    let took = insert_sqlite(&path, &target, rows).await;
    eprintln!("baseline template: {} users in {took:?}", rows.len());
    dir
}

/// Copy the files of `from` (a database and what goes with it) into `to`.
fn copy_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The users every database holds before the timed part. On SQLite they are
/// written once, into a server's data directory and a baseline database,
/// which each run copies (a million rows take minutes to insert); on
/// PostgreSQL each run's database gets them with `COPY`.
struct Existing {
    rows: Vec<Row>,
    /// A stopped server's data directory (database, bootstrap.json) holding them.
    server_dir: Option<tempfile::TempDir>,
    /// A baseline database holding them.
    baseline_dir: Option<tempfile::TempDir>,
}

impl Existing {
    async fn new(rows: Vec<Row>, sqlite: bool) -> Self {
        let (mut server_dir, mut baseline_dir) = (None, None);
        if sqlite && !rows.is_empty() {
            let dir = tempfile::tempdir().unwrap();
            let server = start_server(dir.path(), None, |_| {}).await;
            preload(&server, &db_url(dir.path(), None), &rows).await;
            server.stop().await;
            server_dir = Some(dir);
            baseline_dir = Some(baseline_template(&rows).await);
        }
        Self {
            rows,
            server_dir,
            baseline_dir,
        }
    }

    /// A server in `dir` whose database already holds the users.
    async fn server(
        &self,
        dir: &Path,
        pg: Option<&PgDb>,
        tweak: impl FnOnce(&mut Config),
    ) -> tern_server::RunningServer {
        if let (Some(template), None) = (&self.server_dir, pg) {
            copy_files(template.path(), dir);
            return start_server(dir, pg, tweak).await;
        }
        let server = start_server(dir, pg, tweak).await;
        preload(&server, &db_url(dir, pg), &self.rows).await;
        server
    }
}

/// Where rows go: a tenant and a connection of it.
struct Target<'a> {
    tenant: &'a str,
    connection_id: &'a str,
}

/// `rows` inserted into the SQLite database at `path` in one transaction of
/// prepared INSERTs (WAL, synchronous=NORMAL and a 64 MiB page cache, like the server); the time taken.
async fn insert_sqlite(path: &Path, t: &Target<'_>, rows: &[Row]) -> Duration {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        // The server's page cache (64 MiB), so the raw inserts are not
        // slowed by a smaller one.
        .pragma("cache_size", "-65536");
    let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    let insert = format!(
        "INSERT INTO users ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    );
    let started = Instant::now();
    let mut tx = conn.begin().await.unwrap();
    for r in rows {
        sqlx::query(sqlx::AssertSqlSafe(insert.as_str()))
            .bind(t.tenant)
            .bind(&r.user_id)
            .bind(t.connection_id)
            .bind(CONNECTION)
            .bind(&r.email)
            .bind(r.email_verified)
            .bind(&r.given_name)
            .bind(&r.family_name)
            .bind(&r.name)
            .bind("{}")
            .bind(&r.user_metadata)
            .bind(CREATED)
            .bind(CREATED)
            .bind(&r.credential)
            .bind("bulk_import")
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let took = started.elapsed();
    conn.close().await.unwrap();
    took
}

/// PostgreSQL COPY text format: backslash escapes, `\N` for NULL.
fn copy_field(out: &mut Vec<u8>, v: Option<&str>) {
    let Some(v) = v else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for b in v.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

async fn baseline_postgres(rows: &[Row], existing: &[Row]) -> Result<Duration, String> {
    let db = PgDb::create()?;
    server_schema(&db.url()).await;
    let target = Target {
        tenant: "tenant",
        connection_id: "con_bench0000000000",
    };
    copy_postgres(&db.url(), &target, existing).await;
    let took = copy_postgres(&db.url(), &target, rows).await;
    drop(db);
    Ok(took)
}

/// `rows` written into the PostgreSQL database at `url` with one
/// `COPY … FROM STDIN`; the time the COPY took (the text prepared before).
async fn copy_postgres(url: &str, t: &Target<'_>, rows: &[Row]) -> Duration {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let mut data = Vec::with_capacity(rows.len() * 400);
    for r in rows {
        let ev = r.email_verified.to_string();
        let fields = [
            Some(t.tenant),
            Some(r.user_id.as_str()),
            Some(t.connection_id),
            Some(CONNECTION),
            Some(r.email.as_str()),
            Some(ev.as_str()),
            Some(r.given_name.as_str()),
            Some(r.family_name.as_str()),
            Some(r.name.as_str()),
            Some("{}"),
            Some(r.user_metadata.as_str()),
            Some(CREATED),
            Some(CREATED),
            r.credential.as_deref(),
            Some("bulk_import"),
        ];
        for (k, f) in fields.iter().enumerate() {
            if k > 0 {
                data.push(b'\t');
            }
            copy_field(&mut data, *f);
        }
        data.push(b'\n');
    }
    let started = Instant::now();
    let mut copy = conn
        .copy_in_raw(&format!("COPY users ({COLUMNS}) FROM STDIN"))
        .await
        .unwrap();
    for part in data.chunks(1 << 20) {
        copy.send(part).await.unwrap();
    }
    let n = copy.finish().await.unwrap();
    let took = started.elapsed();
    assert_eq!(n as usize, rows.len());
    conn.close().await.unwrap();
    took
}

/// The users a database holds before an import is timed
/// (`TERN_BENCH_EXISTING`, default 0): other emails and ids, same connection.
fn existing_rows(n: usize, bcrypt: &str) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let mut r = baseline_row(&user(i, bcrypt));
            r.user_id = format!("auth0|existing-{i}");
            r.email = format!("existing{i}@bench.example.com");
            r
        })
        .collect()
}

/// Put `existing` into a just-started server's database, in its tenant and
/// default connection.
async fn preload(server: &tern_server::RunningServer, db_url: &str, existing: &[Row]) {
    if existing.is_empty() {
        return;
    }
    let info = server.bootstrap.clone().unwrap();
    let tenant = server.state.tid().to_string();
    let target = Target {
        tenant: &tenant,
        connection_id: &info.connection_id,
    };
    let took = match db_url.strip_prefix("sqlite://") {
        Some(path) => insert_sqlite(Path::new(path), &target, existing).await,
        None => copy_postgres(db_url, &target, existing).await,
    };
    eprintln!("preloaded {} users in {took:?}", existing.len());
}

// ---------------------------------------------------------------- server runs

async fn start_server(
    dir: &Path,
    pg: Option<&PgDb>,
    tweak: impl FnOnce(&mut Config),
) -> tern_server::RunningServer {
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        database_url: pg.map(PgDb::url),
        ..Config::default()
    };
    tweak(&mut config);
    tern_server::start(config).await.unwrap()
}

/// The database a server started by [`start_server`] uses.
fn db_url(dir: &Path, pg: Option<&PgDb>) -> String {
    pg.map(PgDb::url)
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("tern.db").display()))
}

async fn admin_token(
    http: &reqwest::Client,
    base: &str,
    info: &tern_server::bootstrap::BootstrapInfo,
) -> String {
    let v: Value = http
        .post(format!("{base}/oauth/token"))
        .json(
            &json!({"grant_type": "client_credentials", "client_id": info.client_id,
                      "client_secret": info.client_secret, "audience": info.audience}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// `POST /api/v2/jobs/users-imports` of `file` into `connection_id`, as
/// Auth0 takes it (no Tern extension).
async fn upload(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    connection_id: &str,
    file: Vec<u8>,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .part(
            "users",
            reqwest::multipart::Part::bytes(file)
                .file_name("users.json")
                .mime_str("application/json")
                .unwrap(),
        )
        .text("connection_id", connection_id.to_string())
        .text("send_completion_email", "false");
    http.post(format!("{base}/api/v2/jobs/users-imports"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// (a): the whole file as one job. Returns (elapsed, summary).
async fn via_api(
    file: &Path,
    dir: &Path,
    pg: Option<&PgDb>,
    existing: &Existing,
) -> (Duration, Value) {
    let bytes = std::fs::read(file).unwrap();
    let limit = bytes.len() + 1024;
    let server = existing
        .server(dir, pg, |c| {
            c.import.max_file_bytes = limit;
            c.max_body_bytes = limit + (1 << 20);
        })
        .await;
    let info = server.bootstrap.clone().unwrap();
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let token = admin_token(&http, &base, &info).await;
    let started = Instant::now();
    let r = upload(&http, &base, &token, &info.connection_id, bytes).await;
    assert_eq!(r.status().as_u16(), 202);
    eprintln!("API job accepted (202) after {:?}", started.elapsed());
    let job: Value = r.json().await.unwrap();
    let url = format!("{base}/api/v2/jobs/{}", job["id"].as_str().unwrap());
    let summary = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let v: Value = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["status"] == "completed" || v["status"] == "failed" {
            break v["summary"].clone();
        }
    };
    let took = started.elapsed();
    server.stop().await;
    (took, summary)
}

/// (b): `tern import` against a server with Auth0's limits.
/// Returns (elapsed, child's peak RSS in KiB, its summary line).
async fn via_cli(
    file: &Path,
    dir: &Path,
    pg: Option<&PgDb>,
    max_file_bytes: Option<usize>,
    existing: &Existing,
) -> (Duration, u64, String) {
    let server = existing
        .server(dir, pg, |c| {
            if let Some(limit) = max_file_bytes {
                c.import.max_file_bytes = limit;
                c.max_body_bytes = c.max_body_bytes.max(limit + (1 << 20));
            }
        })
        .await;
    let base = format!("http://{}", server.addr);
    let out_path = dir.join("cli.out");
    let started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("import")
        .arg(file)
        .args(["--connection", CONNECTION, "--url", &base, "--bootstrap"])
        .arg(dir.join("bootstrap.json"))
        .args(max_file_bytes.map(|limit| format!("--max-file-bytes={limit}")))
        .env_remove("TERN_URL")
        .env_remove("TERN_CLIENT_ID")
        .env_remove("TERN_CLIENT_SECRET")
        .env_remove("TERN_AUDIENCE")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().unwrap().to_string();
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(&pid) {
            peak = peak.max(kib);
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = started.elapsed();
    let out = std::fs::read_to_string(&out_path).unwrap();
    assert!(status.success(), "tern import failed: {status}\n{out}");
    server.stop().await;
    let summary = out
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    (took, peak, summary)
}

/// (d)'s files: Auth0's limit, 512000 bytes.
const AUTH0_FILE_BYTES: usize = 512_000;
/// (d)'s poll interval.
const AUTH0_POLL: Duration = Duration::from_millis(50);

/// The users cut into JSON-array files of at most `max` bytes.
fn job_files(n: usize, bcrypt: &str, max: usize) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    let mut chunk = tern_core::import_file::Chunk::new();
    for i in 0..n {
        let row = serde_json::to_vec(&user(i, bcrypt)).unwrap();
        if !chunk.fits(row.len(), max) {
            files.push(std::mem::take(&mut chunk).finish().body);
        }
        chunk.push(i, &row);
    }
    files.push(chunk.finish().body);
    files
}

/// (d): a client written for Auth0, with none of Tern's extensions, against
/// an in-process server whose Management API rate limit is lifted (see the
/// README: at Auth0's 15 requests/s the uploads alone would bound this
/// client). Returns (elapsed, inserted, requests).
async fn via_auth0_client(
    files: &[Vec<u8>],
    dir: &Path,
    pg: Option<&PgDb>,
    existing: &Existing,
) -> (Duration, u64, u64) {
    let server = existing
        .server(dir, pg, |c| {
            c.rate_limit.per_second = 100_000.0;
            c.rate_limit.burst = 1_000_000;
        })
        .await;
    let info = server.bootstrap.clone().unwrap();
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let token = admin_token(&http, &base, &info).await;
    let result = auth0_client(files, &[base], &token, &info.connection_id).await;
    server.stop().await;
    result
}

/// The Auth0-like client: each 512000-byte file uploaded as a job, 2 jobs
/// at a time, each job's status polled every 50 ms until it ends; a 429 is
/// retried 50 ms later. Job k goes to `bases[k % bases.len()]` and is polled
/// there (several instances behind no load balancer, taken in turn).
/// Returns (elapsed, inserted, requests).
async fn auth0_client(
    files: &[Vec<u8>],
    bases: &[String],
    token: &str,
    connection_id: &str,
) -> (Duration, u64, u64) {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    let http = reqwest::Client::new();
    let next = AtomicUsize::new(0);
    let inserted = AtomicU64::new(0);
    let requests = AtomicU64::new(0);
    let worker = || async {
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(file) = files.get(k) else { break };
            let base = &bases[k % bases.len()];
            let job: Value = loop {
                requests.fetch_add(1, Ordering::Relaxed);
                let r = upload(&http, base, token, connection_id, file.clone()).await;
                match r.status().as_u16() {
                    202 => break r.json().await.unwrap(),
                    429 => tokio::time::sleep(AUTH0_POLL).await,
                    other => panic!("upload: {other} {}", r.text().await.unwrap()),
                }
            };
            let url = format!("{base}/api/v2/jobs/{}", job["id"].as_str().unwrap());
            let summary = loop {
                tokio::time::sleep(AUTH0_POLL).await;
                requests.fetch_add(1, Ordering::Relaxed);
                let r = http.get(&url).bearer_auth(token).send().await.unwrap();
                if r.status().as_u16() == 429 {
                    continue;
                }
                let v: Value = r.json().await.unwrap();
                if v["status"] == "completed" || v["status"] == "failed" {
                    break v["summary"].clone();
                }
            };
            inserted.fetch_add(summary["inserted"].as_u64().unwrap_or(0), Ordering::Relaxed);
        }
    };
    let started = Instant::now();
    tokio::join!(worker(), worker());
    let took = started.elapsed();
    (
        took,
        inserted.load(Ordering::Relaxed),
        requests.load(Ordering::Relaxed),
    )
}

// ---------------------------------------------------------------- instances

/// Shared by instances on one database (they must agree on it).
const SECRETS_KEY: &str = "696d706f72742d62656e63682d736563726574732d6b65792d33322d62797465";

/// (e): the Auth0-like client against `instances` release `tern serve`
/// processes on one fresh PostgreSQL database (holding the existing users),
/// jobs taken by the instances in turn; the rate limit lifted as in (d).
/// Returns (elapsed, inserted, requests).
async fn via_instances(
    files: &[Vec<u8>],
    instances: usize,
    existing: &[Row],
) -> Result<(Duration, u64, u64), String> {
    let db = PgDb::create()?;
    let env = [
        ("TERN_SECRETS_KEY", SECRETS_KEY),
        // Behind one load balancer: one issuer and audience for all.
        ("TERN_PUBLIC_URL", "https://tern.import.bench"),
        ("TERN_RATE_LIMIT__BURST", "1000000"),
        ("TERN_RATE_LIMIT__PER_SECOND", "100000"),
    ];
    let mut dirs = Vec::new();
    let mut processes = Vec::new();
    // One after the other: the first creates the tenant, the next finds it.
    for _ in 0..instances {
        let dir = tempfile::tempdir().unwrap();
        processes.push(TernProcess::start(dir.path(), Some(&db.url()), &env).await);
        dirs.push(dir);
    }
    let info: tern_server::bootstrap::BootstrapInfo =
        serde_json::from_slice(&std::fs::read(dirs[0].path().join("bootstrap.json")).unwrap())
            .unwrap();
    if !existing.is_empty() {
        let mut conn = sqlx::PgConnection::connect(&db.url()).await.unwrap();
        let tenant: String = sqlx::query_scalar("SELECT id FROM tenants")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let target = Target {
            tenant: &tenant,
            connection_id: &info.connection_id,
        };
        let took = copy_postgres(&db.url(), &target, existing).await;
        eprintln!("preloaded {} users in {took:?}", existing.len());
    }
    let bases: Vec<String> = processes.iter().map(|p| p.base.clone()).collect();
    let http = reqwest::Client::new();
    let token = admin_token(&http, &bases[0], &info).await;
    let result = auth0_client(files, &bases, &token, &info.connection_id).await;
    drop(processes);
    drop(db);
    Ok(result)
}

// ---------------------------------------------------------------- report

struct Line {
    backend: &'static str,
    method: String,
    users_per_sec: f64,
    ratio: f64,
    rss: String,
    /// The load average (1, 5, 15 min) right after the measurement.
    load: String,
}

fn print_table(n: usize, lines: &[Line]) {
    println!();
    println!(
        "{n} users; users/s (ratio to the baseline of the same backend); load average after; peak RSS"
    );
    println!(
        "{:<9} {:<52} {:>10} {:>9}  {:<16} peak RSS",
        "backend", "method", "users/s", "ratio", "load"
    );
    for l in lines {
        println!(
            "{:<9} {:<52} {:>10.0} {:>9.3}  {:<16} {}",
            l.backend, l.method, l.users_per_sec, l.ratio, l.load, l.rss
        );
    }
}

fn main() {
    let n: usize = std::env::var("TERN_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench(n));
}

async fn bench(n: usize) {
    let work = tempfile::tempdir().unwrap();
    // One real bcrypt hash (cost 10, as Auth0's import requires), reused.
    let bcrypt = bcrypt::hash("correct horse battery staple", 10).unwrap();
    let file = work.path().join("users.json");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        w.write_all(b"[").unwrap();
        for i in 0..n {
            if i > 0 {
                w.write_all(b",\n").unwrap();
            }
            serde_json::to_writer(&mut w, &user(i, &bcrypt)).unwrap();
        }
        w.write_all(b"]\n").unwrap();
    }
    let size = std::fs::metadata(&file).unwrap().len();
    println!(
        "tern import benchmark: {n} users, file {:.1} MB; hashes: 30% bcrypt $2b$10$, 30% sha256+salt (hex), 30% sha512+salt (base64), 10% none",
        size as f64 / 1e6
    );
    println!(
        "(a) one API job of the whole file; (b) `tern import` (512000-byte chunks, 2 jobs, default rate limit); (c) as (b) with {} MB chunks; (d) an Auth0-like client (512000-byte files, 2 jobs, polls every 50 ms, no Tern extension, rate limit lifted)",
        CLI_LARGE_FILE / 1_000_000
    );
    let existing_n: usize = std::env::var("TERN_BENCH_EXISTING")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    println!(
        "every database (server's and baseline's) holds {existing_n} users of the same connection before the timed part; load average {}",
        loadavg()
    );
    let runs: usize = std::env::var("TERN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    println!("each figure: the median of {runs} run(s), each into a fresh copy of the database");
    let mut lines = Vec::new();
    let mut instances_line = None;
    let rate = |d: Duration| n as f64 / d.as_secs_f64();

    let only = std::env::var("TERN_BENCH_BACKENDS").unwrap_or_default();
    let methods = if std::env::var_os("TERN_BENCH_CLI_ONLY").is_some() {
        "b".to_string()
    } else if std::env::var_os("TERN_BENCH_API_ONLY").is_some() {
        "a".to_string()
    } else {
        std::env::var("TERN_BENCH_METHODS").unwrap_or_else(|_| "abcd".into())
    };
    for backend in ["sqlite", "postgres"] {
        if !only.is_empty() && !only.split(',').any(|b| b.trim() == backend) {
            continue;
        }
        let existing = Existing::new(existing_rows(existing_n, &bcrypt), backend == "sqlite").await;
        // A fresh database for each run.
        let pg_db = || -> Result<Option<PgDb>, String> {
            if backend == "postgres" {
                PgDb::create().map(Some)
            } else {
                Ok(None)
            }
        };
        // (method, users/s of each run, peak RSS of the last, load after it)
        let mut measured: Vec<(String, Vec<f64>, String, String)> = Vec::new();

        // (b) tern import, (c) with Tern's file limit raised, (d) the
        // Auth0-like client: first, before (a) leaves its memory in this
        // process.
        for (method, max_file_bytes) in [('b', None), ('c', Some(CLI_LARGE_FILE))] {
            if !methods.contains(method) {
                continue;
            }
            let label = match max_file_bytes {
                None => "(b) tern import (subprocess)".to_string(),
                Some(limit) => format!("(c) tern import, {} MB files", limit / 1_000_000),
            };
            let mut rates = Vec::new();
            let mut rss = String::new();
            for _ in 0..runs {
                let Ok(pg) = pg_db() else { break };
                let dir_b = tempfile::tempdir().unwrap();
                let start = reset_peak();
                let (took, child_peak, summary) =
                    via_cli(&file, dir_b.path(), pg.as_ref(), max_file_bytes, &existing).await;
                eprintln!(
                    "{backend} tern import ({max_file_bytes:?}): {took:?} {summary}; load {}",
                    loadavg()
                );
                assert!(
                    summary.contains(&format!("inserted {n}, updated 0, failed 0")),
                    "{summary}"
                );
                rates.push(rate(took));
                rss = format!(
                    "tern import {}; server (bench process) {}",
                    mib(child_peak),
                    own_peak(start)
                );
            }
            measured.push((label, rates, rss, loadavg()));
        }

        // (d) a client written for Auth0.
        if methods.contains('d') {
            let files = job_files(n, &bcrypt, AUTH0_FILE_BYTES);
            let mut rates = Vec::new();
            let mut rss = String::new();
            let mut requests = 0;
            for _ in 0..runs {
                let Ok(pg) = pg_db() else { break };
                let dir_d = tempfile::tempdir().unwrap();
                let start = reset_peak();
                let (took, inserted, asked) =
                    via_auth0_client(&files, dir_d.path(), pg.as_ref(), &existing).await;
                eprintln!(
                    "{backend} Auth0-like client: {took:?}, {asked} requests; load {}",
                    loadavg()
                );
                assert_eq!(inserted, n as u64);
                rates.push(rate(took));
                requests = asked;
                rss = format!("server and client (bench process) {}", own_peak(start));
            }
            measured.push((
                format!(
                    "(d) Auth0-like client, {} jobs, {requests} requests",
                    files.len()
                ),
                rates,
                rss,
                loadavg(),
            ));
        }

        // (e) the Auth0-like client against one `tern serve` process, then
        // against two on the same PostgreSQL database, same files.
        if methods.contains('e') && backend == "postgres" {
            let files = job_files(n, &bcrypt, AUTH0_FILE_BYTES);
            let mut per_instances = Vec::new();
            for instances in [1, 2] {
                let mut rates = Vec::new();
                for _ in 0..runs {
                    match via_instances(&files, instances, &existing.rows).await {
                        Ok((took, inserted, asked)) => {
                            eprintln!(
                                "postgres Auth0-like client, {instances} tern serve: {took:?}, {asked} requests; load {}",
                                loadavg()
                            );
                            assert_eq!(inserted, n as u64);
                            rates.push(rate(took));
                        }
                        Err(e) => println!("postgres instances: skipped ({e})"),
                    }
                }
                per_instances.push(median(&rates));
                measured.push((
                    format!(
                        "(e) Auth0-like client, {instances} tern serve process{}",
                        if instances == 1 { "" } else { "es" }
                    ),
                    rates,
                    "(separate processes)".into(),
                    loadavg(),
                ));
            }
            if let [Some(one), Some(two)] = per_instances[..] {
                instances_line = Some(format!(
                    "two instances on one PostgreSQL: {two:.0} users/s against {one:.0} for one, {:.2}×",
                    two / one
                ));
            }
        }

        // (a) API, one job.
        if methods.contains('a') {
            let mut rates = Vec::new();
            let mut rss = String::new();
            for _ in 0..runs {
                let Ok(pg) = pg_db() else { break };
                let dir_a = tempfile::tempdir().unwrap();
                let start = reset_peak();
                let (took, summary) = via_api(&file, dir_a.path(), pg.as_ref(), &existing).await;
                eprintln!("{backend} API: {took:?} {summary}; load {}", loadavg());
                assert_eq!(summary["inserted"], n, "{summary}");
                rates.push(rate(took));
                rss = format!("server (bench process) {}", own_peak(start));
            }
            measured.push((
                format!("(a) API, one {:.0} MB job", size as f64 / 1e6),
                rates,
                rss,
                loadavg(),
            ));
        }

        // Baseline.
        let rows: Vec<Row> = (0..n).map(|i| baseline_row(&user(i, &bcrypt))).collect();
        let mut base_rates = Vec::new();
        let mut base_rss = String::new();
        for _ in 0..runs {
            let base_dir = tempfile::tempdir().unwrap();
            let start = reset_peak();
            let took = if backend == "sqlite" {
                baseline_sqlite(&rows, &existing, base_dir.path()).await
            } else {
                match baseline_postgres(&rows, &existing.rows).await {
                    Ok(t) => t,
                    Err(e) => {
                        println!("postgres baseline: skipped ({e})");
                        break;
                    }
                }
            };
            eprintln!("{backend} baseline: {took:?}; load {}", loadavg());
            base_rates.push(rate(took));
            base_rss = format!("bench process {}", own_peak(start));
        }
        drop(rows);
        let Some(base_rate) = median(&base_rates) else {
            continue;
        };
        lines.push(Line {
            backend,
            method: if backend == "sqlite" {
                "baseline: 1 transaction of prepared INSERTs".into()
            } else {
                "baseline: COPY FROM STDIN".into()
            },
            users_per_sec: base_rate,
            ratio: 1.0,
            rss: base_rss,
            load: loadavg(),
        });
        for (method, rates, rss, load) in measured.into_iter().rev() {
            let Some(users_per_sec) = median(&rates) else {
                continue;
            };
            lines.push(Line {
                backend,
                method,
                users_per_sec,
                ratio: users_per_sec / base_rate,
                rss,
                load,
            });
        }
    }
    print_table(n, &lines);
    if let Some(l) = instances_line {
        println!("{l}");
    }
    println!("load average after: {}", loadavg());
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() {
        0 => None,
        len if len % 2 == 1 => Some(v[mid]),
        _ => Some((v[mid - 1] + v[mid]) / 2.0),
    }
}
