#![allow(clippy::unwrap_used)] // a benchmark: a panic is the report
//! User lookups at a million users, on SQLite and on PostgreSQL.
//!
//! Builds `TERN_BENCH_USERS` (default 1 000 000) users straight into the
//! database of an in-process server (SQLite: one transaction of prepared
//! INSERTs; PostgreSQL: one `COPY`), with no `ANALYZE` afterwards (the
//! server must not depend on planner statistics), then times each lookup
//! through the real HTTP server, one request at a time, and prints median,
//! p99 and max per query. Baselines from the same run: `GET /users/{id}`
//! through the server, and the raw indexed `SELECT` of one user by id on a
//! connection of its own.
//!
//! The users: `user{i}@bench.example.com`, id `auth0|legacy-{i}`, created
//! one second apart, `app_metadata` `{"plan": free|pro|team (i mod 3),
//! "customer": "c{i}"}`.
//!
//! Run: `cargo bench -p tern --bench lookups` (`TERN_BENCH_USERS=100000`
//! for fewer users; `TERN_BENCH_BACKENDS=sqlite` or `postgres` for one
//! backend; `TERN_TEST_PG_URL` for another PostgreSQL server;
//! `TERN_BENCH_ROUNDS` requests per query, default 100; a query stops
//! early after 20 s).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;
use support::{PgDb, loadavg};
use tern_server::Config;

const CONNECTION: &str = "Username-Password-Authentication";
/// Time budget per query: a slow one is cut short (its count says so).
const QUERY_BUDGET: Duration = Duration::from_secs(20);

fn created_at(i: usize) -> String {
    // One second apart from 2025-01-01 (fits January up to 2.6 M users).
    format!(
        "2025-01-{:02}T{:02}:{:02}:{:02}.000Z",
        1 + i / 86_400,
        (i % 86_400) / 3_600,
        (i % 3_600) / 60,
        i % 60
    )
}

const PLANS: [&str; 3] = ["free", "pro", "team"];

fn app_metadata(i: usize) -> String {
    json!({"plan": PLANS[i % 3], "customer": format!("c{i}")}).to_string()
}

const COLUMNS: &str = "tenant_id, user_id, connection_id, connection_name, email, email_verified, \
    name, app_metadata, user_metadata, created_at, updated_at, source";

// ---------------------------------------------------------------- PostgreSQL

// ---------------------------------------------------------------- loading

struct Target<'a> {
    tenant: &'a str,
    connection_id: &'a str,
}

async fn load_sqlite(path: &Path, t: &Target<'_>, n: usize) -> Duration {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        // The server's page cache (64 MiB), so the raw inserts are not
        // slowed by a smaller one.
        .pragma("cache_size", "-65536");
    let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    let insert = format!(
        "INSERT INTO users ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '{{}}', ?9, ?9, 'bulk_import')"
    );
    let started = Instant::now();
    let mut tx = conn.begin().await.unwrap();
    for i in 0..n {
        let created = created_at(i);
        sqlx::query(sqlx::AssertSqlSafe(insert.as_str()))
            .bind(t.tenant)
            .bind(format!("auth0|legacy-{i}"))
            .bind(t.connection_id)
            .bind(CONNECTION)
            .bind(format!("user{i}@bench.example.com"))
            .bind(i64::from(i % 2 == 0))
            .bind(format!("User {i}"))
            .bind(app_metadata(i))
            .bind(created)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let took = started.elapsed();
    conn.close().await.unwrap();
    took
}

/// PostgreSQL COPY text format: backslash escapes.
fn copy_field(out: &mut Vec<u8>, v: &str) {
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

async fn load_postgres(url: &str, t: &Target<'_>, n: usize) -> Duration {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let started = Instant::now();
    let mut copy = conn
        .copy_in_raw(&format!("COPY users ({COLUMNS}) FROM STDIN"))
        .await
        .unwrap();
    let mut data = Vec::with_capacity(1 << 21);
    for i in 0..n {
        let created = created_at(i);
        let fields = [
            t.tenant.to_string(),
            format!("auth0|legacy-{i}"),
            t.connection_id.to_string(),
            CONNECTION.to_string(),
            format!("user{i}@bench.example.com"),
            u8::from(i % 2 == 0).to_string(),
            format!("User {i}"),
            app_metadata(i),
            "{}".to_string(),
            created.clone(),
            created,
            "bulk_import".to_string(),
        ];
        for (k, f) in fields.iter().enumerate() {
            if k > 0 {
                data.push(b'\t');
            }
            copy_field(&mut data, f);
        }
        data.push(b'\n');
        if data.len() >= 1 << 20 {
            copy.send(std::mem::take(&mut data)).await.unwrap();
        }
    }
    copy.send(data).await.unwrap();
    let rows = copy.finish().await.unwrap();
    assert_eq!(rows as usize, n);
    let took = started.elapsed();
    conn.close().await.unwrap();
    took
}

// ---------------------------------------------------------------- timing

/// A deterministic stream of user indexes.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

struct Stats {
    n: usize,
    median: Duration,
    p99: Duration,
    max: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    Stats {
        n: v.len(),
        median: at(0.5),
        p99: at(0.99),
        max: *v.last().unwrap(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Time `rounds` requests of `path(i)` (i a random user index); `check`
/// looks at each answer so a fast wrong answer cannot pass.
async fn time_api(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    rounds: usize,
    n: usize,
    path: impl Fn(usize) -> String,
    check: impl Fn(usize, &Value),
) -> Stats {
    let mut rng = Lcg(42);
    let mut times = Vec::with_capacity(rounds);
    let budget = Instant::now();
    for round in 0..rounds + 3 {
        let i = rng.below(n);
        let url = format!("{base}/api/v2{}", path(i));
        let started = Instant::now();
        let res = http.get(&url).bearer_auth(token).send().await.unwrap();
        let status = res.status();
        let body = res.bytes().await.unwrap();
        let took = started.elapsed();
        assert!(
            status.is_success(),
            "{url}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        check(i, &serde_json::from_slice(&body).unwrap());
        if round >= 3 {
            times.push(took); // the first three warm caches up
        }
        if budget.elapsed() > QUERY_BUDGET && times.len() >= 5 {
            break;
        }
    }
    stats(times)
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

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn users_of(v: &Value) -> &Vec<Value> {
    v.get("users")
        .unwrap_or(v)
        .as_array()
        .expect("a list of users")
}

fn one_user(i: usize, v: &Value) {
    let users = users_of(v);
    assert_eq!(users.len(), 1, "{v}");
    assert_eq!(users[0]["user_id"], format!("auth0|legacy-{i}"));
}

async fn bench_backend(backend: &str, n: usize, rounds: usize) {
    let dir = tempfile::tempdir().unwrap();
    let pg = if backend == "postgres" {
        match PgDb::create() {
            Ok(db) => Some(db),
            Err(e) => {
                println!("postgres: skipped ({e})");
                return;
            }
        }
    } else {
        None
    };
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database_url: pg.as_ref().map(PgDb::url),
        rate_limit: tern_server::config::RateLimitConfig {
            per_second: 1e6,
            burst: 1_000_000,
        },
        ..Config::default()
    };
    let db_url = config.database_url();
    let server = tern_server::start(config).await.unwrap();
    let info = server.bootstrap.clone().unwrap();
    let tenant = server.state.tid().to_string();
    let target = Target {
        tenant: &tenant,
        connection_id: &info.connection_id,
    };
    let load = match &pg {
        Some(db) => load_postgres(&db.url(), &target, n).await,
        None => load_sqlite(&dir.path().join("tern.db"), &target, n).await,
    };
    println!(
        "\n{backend}: {n} users loaded in {:.1} s ({:.0}/s, no ANALYZE); load average {}",
        load.as_secs_f64(),
        n as f64 / load.as_secs_f64(),
        loadavg()
    );

    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let token = admin_token(&http, &base, &info).await;
    let mut lines: Vec<(String, Stats)> = Vec::new();

    // Baseline 1: the raw indexed SELECT of one user, on its own connection.
    {
        let pool = sqlx::AnyPool::connect(&db_url).await.unwrap();
        let mut rng = Lcg(42);
        let mut times = Vec::new();
        for _ in 0..rounds {
            let i = rng.below(n);
            let started = Instant::now();
            let row = sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND user_id = $2")
                .bind(&tenant)
                .bind(format!("auth0|legacy-{i}"))
                .fetch_optional(&pool)
                .await
                .unwrap();
            times.push(started.elapsed());
            assert!(row.is_some());
        }
        pool.close().await;
        lines.push(("baseline: raw SELECT by id (sqlx)".into(), stats(times)));
    }

    macro_rules! timed {
        ($name:expr, $path:expr, $check:expr) => {{
            let s = time_api(&http, &base, &token, rounds, n, $path, $check).await;
            lines.push(($name.to_string(), s));
        }};
    }
    let email = |i: usize| format!("user{i}@bench.example.com");
    timed!(
        "baseline: GET /users/{id}",
        |i| format!("/users/{}", enc(&format!("auth0|legacy-{i}"))),
        |i, v: &Value| assert_eq!(v["user_id"], format!("auth0|legacy-{i}"))
    );
    timed!(
        "GET /users-by-email",
        |i| format!("/users-by-email?email={}", enc(&email(i))),
        one_user
    );
    timed!(
        "q=email:\"…\"",
        |i| format!("/users?q={}", enc(&format!("email:\"{}\"", email(i)))),
        one_user
    );
    timed!(
        "q=email:\"…\" + include_totals",
        |i| format!(
            "/users?include_totals=true&q={}",
            enc(&format!("email:\"{}\"", email(i)))
        ),
        |i, v: &Value| {
            one_user(i, v);
            assert_eq!(v["total"], 1);
        }
    );
    // A 3-digit prefix: user{100..999}* matches 1 + 10 + 100 + 1000 users at 1 M.
    timed!(
        "q=email:user123* + totals",
        |i| format!(
            "/users?include_totals=true&q={}",
            enc(&format!("email:user{}*", 100 + i % 900))
        ),
        |i, v: &Value| {
            let p = format!("user{}", 100 + i % 900);
            let users = users_of(v);
            assert!(!users.is_empty() || n < 1000);
            for u in users {
                assert!(u["email"].as_str().unwrap().starts_with(&p));
            }
        }
    );
    timed!(
        "q=user_id:\"…\"",
        |i| format!("/users?q={}", enc(&format!("user_id:\"auth0|legacy-{i}\""))),
        one_user
    );
    timed!(
        "q=app_metadata.plan:\"pro\" + totals",
        |_| format!(
            "/users?include_totals=true&q={}",
            enc("app_metadata.plan:\"pro\"")
        ),
        |_, v: &Value| {
            let users = users_of(v);
            assert_eq!(users.len(), 50.min(n / 3));
            assert!(users.iter().all(|u| u["app_metadata"]["plan"] == "pro"));
        }
    );
    timed!(
        "q=app_metadata.customer:\"c…\" (one user)",
        |i| format!(
            "/users?q={}",
            enc(&format!("app_metadata.customer:\"c{i}\""))
        ),
        one_user
    );
    timed!(
        "q=created_at:[1 h] sort -1, page 2, totals",
        |i| {
            // An hour that lies wholly within the users.
            let i = i % n.saturating_sub(3_600).max(1);
            let from = created_at(i);
            let to = created_at(i + 3_599);
            format!(
                "/users?include_totals=true&sort=created_at:-1&page=2&per_page=50&q={}",
                enc(&format!("created_at:[{from} TO {to}]"))
            )
        },
        |_, v: &Value| {
            let users = users_of(v);
            let dates: Vec<&str> = users
                .iter()
                .map(|u| u["created_at"].as_str().unwrap())
                .collect();
            assert!(dates.windows(2).all(|w| w[0] > w[1]), "descending");
            assert_eq!(users.len(), 50);
        }
    );
    timed!(
        "sort=created_at:-1, page 7 of 100",
        |_| "/users?sort=created_at:-1&page=7&per_page=100&include_totals=true".to_string(),
        |_, v: &Value| {
            assert_eq!(users_of(v).len(), 100);
            assert_eq!(v["total"], 1000, "capped at the search window");
        }
    );
    timed!(
        "sort=email:1, page 3",
        |_| "/users?sort=email:1&page=3&per_page=50".to_string(),
        |_, v: &Value| assert_eq!(users_of(v).len(), 50)
    );

    println!(
        "{:<46} {:>6} {:>11} {:>11} {:>11}",
        "query", "n", "median", "p99", "max"
    );
    for (name, s) in &lines {
        println!(
            "{name:<46} {:>6} {:>11} {:>11} {:>11}",
            s.n,
            ms(s.median),
            ms(s.p99),
            ms(s.max)
        );
    }
    println!("load average after: {}", loadavg());
    server.stop().await;
    drop(pg);
}

fn main() {
    let n: usize = std::env::var("TERN_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: usize = std::env::var("TERN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let backends =
        std::env::var("TERN_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for b in backends.split(',') {
        rt.block_on(bench_backend(b.trim(), n, rounds));
    }
}
