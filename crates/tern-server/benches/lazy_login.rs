#![allow(clippy::unwrap_used)] // a benchmark: a panic is the report
//! Lazy-migration login latency over real HTTP, with the production hash
//! policy (argon2id, m=19456 KiB, t=2, p=1), next to its parts measured in
//! the same run:
//!
//! (a) a migrated user's login (local verify);
//! (b) a first login through an Auth0-template `login` script against a
//!     legacy PostgreSQL on loopback (query + bcrypt cost 10 in the sandbox,
//!     then the typed password hashed under the policy and the user stored);
//! (c) the bare hash work of the policy (one hash, what (b) adds locally;
//!     a verify costs the same);
//! (d) the legacy round trip alone from Rust: the same SQL query and the
//!     same bcrypt compare, without the sandbox.
//!
//! The sandbox's own overhead is what (b) spends beyond (c), (d) and the
//! HTTP/token/store part of a login, (a) − (c): (b) − (c) − (d) − ((a) − (c)).
//!
//! Needs PostgreSQL at `TERN_TEST_PG_URL` (default postgres://postgres@127.0.0.1:5432).
//! Run: `cargo bench -p tern-server --bench lazy_login`

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;
use tern_server::Config;

const RUNS: usize = 25;
/// Python `bcrypt` 5.0.0: `hashpw(b"correct horse battery staple", gensalt(rounds=10))`.
const PY_BCRYPT: &str = "$2b$10$9sBZVDj11OEqipBiI715VerP/.GvqOoa3Fwe1HTEt1oym933Z1tJC";
const PASSWORD: &str = "correct horse battery staple";
const QUERY: &str = "SELECT id, nickname, email, password FROM users WHERE email = $1";

const LOGIN: &str = r#"function login(email, password, callback) {
  const bcrypt = require('bcrypt');
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    client.query('SELECT id, nickname, email, password FROM users WHERE email = $1', [email], function (err, result) {
      done();
      if (err || result.rows.length === 0) return callback(err || new WrongUsernameOrPasswordError(email));
      const user = result.rows[0];
      bcrypt.compare(password, user.password, function (err, isValid) {
        if (err || !isValid) return callback(err || new WrongUsernameOrPasswordError(email));
        return callback(null, { user_id: user.id, nickname: user.nickname, email: user.email });
      });
    });
  });
}"#;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn psql(url: &str, sql: &str) {
    let ok = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .status()
        .unwrap()
        .success();
    assert!(ok, "{sql}");
}

/// A throw-away legacy database, dropped at the end.
struct Legacy {
    base: String,
    name: String,
}

impl Drop for Legacy {
    fn drop(&mut self) {
        psql(
            &format!("{}/postgres", self.base),
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

#[tokio::main]
async fn main() {
    let base = std::env::var("TERN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let legacy = Legacy {
        name: format!("tern_bench_{}", uuid::Uuid::new_v4().simple()),
        base: base.clone(),
    };
    psql(
        &format!("{base}/postgres"),
        &format!("CREATE DATABASE {}", legacy.name),
    );
    let lurl = format!("{base}/{}", legacy.name);
    psql(
        &lurl,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE, nickname TEXT, password TEXT)",
    );
    psql(
        &lurl,
        &format!(
            "INSERT INTO users SELECT i, 'u' || i || '@legacy.example', 'u' || i, '{PY_BCRYPT}' FROM generate_series(1, {}) i",
            RUNS + 1
        ),
    );

    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().into(),
        ..Config::default()
    };
    // The legacy PostgreSQL is on this machine: allowed explicitly.
    let pg = url::Url::parse(&base).unwrap();
    config.network.allow = vec![format!(
        "{}:{}",
        pg.host_str().unwrap_or("127.0.0.1"),
        pg.port().unwrap_or(5432)
    )];
    let server = tern_server::start(config).await.unwrap();
    let info = server.bootstrap.clone().unwrap();
    let base_url = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| http.post(format!("{base_url}{path}")).json(&body).send();
    let admin: Value = post("/oauth/token", json!({"grant_type": "client_credentials", "client_id": info.client_id, "client_secret": info.client_secret, "audience": info.audience}))
        .await.unwrap().json().await.unwrap();
    let admin = admin["access_token"].as_str().unwrap().to_string();
    let api = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base_url}/api/v2{path}"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    let client: Value = api(reqwest::Method::POST, "/clients", json!({"name": "bench", "grant_types": ["password", "http://auth0.com/oauth/grant-type/password-realm"]}))
        .await.unwrap().json().await.unwrap();
    let created = api(reqwest::Method::POST, "/connections", json!({"name": "legacy", "strategy": "auth0",
        "enabled_clients": [client["client_id"]],
        "options": {"enabledDatabaseCustomization": true, "import_mode": true, "passwordPolicy": "none",
                    "customScripts": {"login": LOGIN}, "configuration": {"PG_URL": lurl}}}))
        .await.unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);

    let login = |email: String| {
        let body = json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": client["client_id"], "client_secret": client["client_secret"],
            "username": email, "password": PASSWORD, "realm": "legacy"});
        let req = http.post(format!("{base_url}/oauth/token")).json(&body);
        async move {
            let t = Instant::now();
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::OK);
            let _ = r.bytes().await;
            t.elapsed()
        }
    };

    let policy = server.state.policy;
    // (d) the legacy round trip from Rust: a fresh connection (as the script
    // makes one per call), the same query, the same bcrypt compare.
    let round_trip = |i: usize| {
        let lurl = lurl.clone();
        async move {
            let t = Instant::now();
            let mut conn = sqlx::PgConnection::connect(&lurl).await.unwrap();
            let row: (i32, String, String, String) = sqlx::query_as(QUERY)
                .bind(format!("u{i}@legacy.example"))
                .fetch_one(&mut conn)
                .await
                .unwrap();
            let hash = row.3;
            let ok = tokio::task::spawn_blocking(move || bcrypt::verify(PASSWORD, &hash).unwrap())
                .await
                .unwrap();
            assert!(ok);
            let _ = conn.close().await;
            t.elapsed()
        }
    };

    // Warm-up: the first login of user RUNS+1 (connection pools, page cache).
    login(format!("u{}@legacy.example", RUNS + 1)).await;
    round_trip(RUNS + 1).await;
    // Interleaved, so that every measure sees the same machine load.
    let (mut first, mut migrated, mut hash_times, mut verify_times, mut round_trips) =
        (vec![], vec![], vec![], vec![], vec![]);
    for i in 1..=RUNS {
        // (b) the first login of legacy user i; (a) the same user, migrated.
        first.push(login(format!("u{i}@legacy.example")).await);
        migrated.push(login(format!("u{i}@legacy.example")).await);
        // (c) the policy's bare hash work: a hash, as (b) does; a verify, as (a) does.
        let t = Instant::now();
        let h = policy.hash(PASSWORD);
        hash_times.push(t.elapsed());
        let parsed = tern_hash::StoredHash::parse(&h).unwrap();
        let t = Instant::now();
        assert_eq!(
            parsed.verify(PASSWORD, &tern_hash::CostLimits::default()),
            Ok(true)
        );
        verify_times.push(t.elapsed());
        round_trips.push(round_trip(i).await);
    }

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (a, b, c_hash, c_verify, d) = (
        ms(median(migrated)),
        ms(median(first)),
        ms(median(hash_times)),
        ms(median(verify_times)),
        ms(median(round_trips)),
    );
    let non_hash = a - c_verify;
    let overhead = b - c_hash - d - non_hash;
    println!(
        "lazy-migration login latency, median of {RUNS} ({}; legacy PostgreSQL on loopback, bcrypt cost 10):",
        policy.describe()
    );
    println!("  (a) migrated user, over HTTP            {a:8.2} ms");
    println!("  (b) first login through the script      {b:8.2} ms");
    println!("  (c) bare policy hash / verify           {c_hash:8.2} ms / {c_verify:.2} ms");
    println!("  (d) legacy round trip from Rust         {d:8.2} ms  (connect + query + bcrypt)");
    println!("  (a) − (c): HTTP, token, store           {non_hash:8.2} ms");
    println!("  sandbox overhead = (b) − (c) − (d) − ((a) − (c))  {overhead:8.2} ms");
    server.stop().await;
}
