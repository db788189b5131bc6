#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Custom-database scripts written the way Auth0's published templates are —
//! our own scripts in that style — against real legacy stores: MariaDB
//! through `mysql`, a legacy HTTP service through the un-required `request`
//! global, and a table of hostile scripts that each end in a clear error while
//! another connection's users keep logging in. Also the migration report and
//! the script "try" endpoint, and `return callback()` ending a migration.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Backend, Harness};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Python `bcrypt` 5.0.0: `hashpw(b"correct horse battery staple", gensalt(rounds=10))`.
const PY_BCRYPT: &str = "$2b$10$9sBZVDj11OEqipBiI715VerP/.GvqOoa3Fwe1HTEt1oym933Z1tJC";
const PY_PASSWORD: &str = "correct horse battery staple";
/// bcrypt of "hello" from Auth0's docs (made by the bcrypt reference implementation).
const HELLO_BCRYPT: &str = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";
const REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

// ------------------------------------------------------------------ MariaDB

/// A uniquely named table in MariaDB's `test` database, dropped on `Drop`.
struct MariaTable(String);

fn mysql(sql: &str) {
    let out = std::process::Command::new("mysql")
        .args(["-h", "127.0.0.1", "-u", "root", "test", "-e", sql])
        .output()
        .expect("the mysql client must be installed for the MariaDB tests");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl MariaTable {
    fn create() -> Self {
        let name = format!("tern_users_{}", uuid::Uuid::new_v4().simple());
        mysql(&format!(
            "CREATE TABLE {name} (id INT PRIMARY KEY, email VARCHAR(255) UNIQUE, nickname VARCHAR(64), password VARCHAR(100))"
        ));
        Self(name)
    }
}

impl Drop for MariaTable {
    fn drop(&mut self) {
        mysql(&format!("DROP TABLE IF EXISTS {}", self.0));
    }
}

/// Auth0's MySQL login template, with this run's table.
fn mysql_login(table: &str) -> String {
    format!(
        r#"function login(email, password, callback) {{
  const mysql = require('mysql');
  const bcrypt = require('bcrypt');

  const connection = mysql.createConnection({{
    host: configuration.DB_HOST,
    user: 'root',
    password: configuration.DB_PASSWORD,
    database: 'test'
  }});

  connection.connect();

  const query = 'SELECT id, nickname, email, password FROM {table} WHERE email = ?';

  connection.query(query, [ email ], function(err, results) {{
    if (err) return callback(err);
    if (results.length === 0) return callback(new WrongUsernameOrPasswordError(email));
    const user = results[0];

    bcrypt.compare(password, user.password, function(err, isValid) {{
      if (err || !isValid) return callback(err || new WrongUsernameOrPasswordError(email));

      callback(null, {{
        user_id: user.id.toString(),
        nickname: user.nickname,
        email: user.email,
        app_metadata: {{ migrated_from: 'mariadb' }}
      }});
    }});
  }});
}}"#
    )
}

/// Auth0's MySQL get_user template, with this run's table.
fn mysql_get_user(table: &str) -> String {
    format!(
        r#"function getByEmail(email, callback) {{
  const mysql = require('mysql');

  const connection = mysql.createConnection({{
    host: configuration.DB_HOST,
    user: 'root',
    password: configuration.DB_PASSWORD,
    database: 'test'
  }});

  connection.connect();

  const query = 'SELECT id, nickname, email FROM {table} WHERE email = ?';

  connection.query(query, [ email ], function(err, results) {{
    if (err || results.length === 0) return callback(err || null);

    const user = results[0];
    callback(null, {{
      user_id: user.id.toString(),
      nickname: user.nickname,
      email: user.email
    }});
  }});
}}"#
    )
}

/// An application allowed the password grants, enabled on `connection`
/// (besides the default connection).
async fn app_on(h: &Harness, t: &str, connection_id: &str) -> (String, String) {
    let (cid, secret) = h.password_client(t).await;
    let (s, b) = h
        .api(
            t,
            Method::PATCH,
            &format!("/connections/{connection_id}"),
            Some(json!({"enabled_clients": [h.info.client_id, cid]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    (cid, secret)
}

async fn create_connection(h: &Harness, t: &str, name: &str, options: Value) -> String {
    let (s, c) = h
        .api(
            t,
            Method::POST,
            "/connections",
            Some(json!({"name": name, "strategy": "auth0", "options": options})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn logs_of(h: &Harness, t: &str, kind: &str, connection: &str) -> Vec<String> {
    let (_, logs) = h
        .api(
            t,
            Method::GET,
            &format!("/logs?q=type:{kind}&per_page=100"),
            None,
        )
        .await;
    logs.as_array()
        .unwrap()
        .iter()
        .filter(|l| l["connection"] == connection)
        .map(|l| l["description"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn wait_job(h: &Harness, t: &str, id: &str) -> Value {
    for _ in 0..600 {
        let (_, job) = h.api(t, Method::GET, &format!("/jobs/{id}"), None).await;
        if job["status"] == "completed" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} did not finish");
}

async fn mysql_template_migration(b: Backend) {
    let table = MariaTable::create();
    let rows: Vec<String> = (1..=8)
        .map(|i| format!("({i}, 'maria{i}@legacy.example', 'maria{i}', '{PY_BCRYPT}')"))
        .collect();
    mysql(&format!(
        "INSERT INTO {} VALUES {}",
        table.0,
        rows.join(", ")
    ));
    let h = Harness::start_with(b, |c| c.scripts.timeout_secs = 10).await;
    let t = h.admin_token().await;
    let conn_id = create_connection(
        &h,
        &t,
        "maria",
        json!({
        "enabledDatabaseCustomization": true, "import_mode": true, "passwordPolicy": "none",
        "customScripts": {"login": mysql_login(&table.0), "get_user": mysql_get_user(&table.0)},
        "configuration": {"DB_HOST": "127.0.0.1", "DB_PASSWORD": ""}}),
    )
    .await;
    let (cid, secret) = app_on(&h, &t, &conn_id).await;
    let login = |user: String, pw: &'static str| {
        h.token(
            json!({"grant_type": REALM, "client_id": cid, "client_secret": secret,
                       "username": user, "password": pw, "realm": "maria"}),
        )
    };

    // Many simultaneous first logins of the same four users: each created once.
    let started = now_iso_prefix();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        for i in 1..=4 {
            tasks.push(login(format!("maria{i}@legacy.example"), PY_PASSWORD));
        }
    }
    let results = futures_util::future::join_all(tasks).await;
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::OK),
        "{results:?} {:?}",
        logs_of(&h, &t, "f", "maria").await
    );
    let (_, u) = h.api(&t, Method::GET, "/users/auth0%7C3", None).await;
    assert_eq!(
        u["app_metadata"],
        json!({"migrated_from": "mariadb"}),
        "{u}"
    );
    let (s, _) = login("maria5@legacy.example".into(), "wrong").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A bulk import adds a bcrypt user and one without a hash.
    let file = json!([
        {"email": "imported1@legacy.example", "user_id": "900", "password_hash": HELLO_BCRYPT},
        {"email": "imported2@legacy.example", "user_id": "901"}
    ]);
    let form = Form::new()
        .part(
            "users",
            Part::bytes(file.to_string().into_bytes()).file_name("users.json"),
        )
        .text("connection_id", conn_id.clone());
    let r = h
        .http
        .post(format!("{}/api/v2/jobs/users-imports", h.base))
        .bearer_auth(&t)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let job: Value = r.json().await.unwrap();
    let job = wait_job(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(job["summary"]["inserted"], 2, "{job}");

    // The migration report.
    let (s, rep) = h
        .api(
            &t,
            Method::GET,
            &format!("/connections/{conn_id}/migration"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rep}");
    assert_eq!(rep["connection"], "maria");
    assert_eq!(rep["total_users"], 6, "{rep}");
    assert_eq!(rep["sources"]["lazy_login"]["users"], 4);
    assert_eq!(rep["sources"]["bulk_import"]["users"], 2);
    assert_eq!(rep["sources"]["signup"]["users"], 0);
    assert_eq!(rep["awaiting_credential"], 1, "imported2 has no hash");
    assert_eq!(
        rep["credentials_by_scheme"],
        json!({"argon2id": 4, "bcrypt": 1}),
        "{rep}"
    );
    let first = rep["first_migration_at"].as_str().unwrap();
    let last = rep["last_migration_at"].as_str().unwrap();
    assert!(first >= started.as_str() && first <= last, "{rep}");
    let (s, e) = h
        .api(
            &t,
            Method::GET,
            "/connections/con_doesnotexist0000/migration",
            None,
        )
        .await;
    assert_eq!(
        (s, e["errorCode"].as_str()),
        (StatusCode::NOT_FOUND, Some("inexistent_connection"))
    );
    // The report needs read:connections.
    let narrow = h
        .m2m_token(
            &h.info.client_id,
            &h.info.client_secret,
            &h.info.audience,
            Some("read:users"),
        )
        .await;
    let (s, _) = h
        .api(
            &narrow,
            Method::GET,
            &format!("/connections/{conn_id}/migration"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The "try" endpoint: same sandbox, inputs by name or as args.
    let try_ = |name: &str, body: Value| {
        let path = format!("/connections/{conn_id}/scripts/{name}/try");
        let (h, t) = (&h, &t);
        async move { h.api(t, Method::POST, &path, Some(body)).await }
    };
    let (s, r) = try_(
        "login",
        json!({"email": "maria7@legacy.example", "password": PY_PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["result"]["user_id"], "7");
    assert!(r["elapsed_ms"].as_u64().is_some());
    let (_, r) = try_("login", json!({"args": ["maria7@legacy.example", "nope"]})).await;
    assert_eq!(r["error"]["name"], "WrongUsernameOrPasswordError", "{r}");
    assert_eq!(r["error"]["user"], "maria7@legacy.example");
    let (_, r) = try_("get_user", json!({"email": "nobody@legacy.example"})).await;
    assert_eq!(r["result"], Value::Null, "not found: {r}");
    let (_, none) = h.api(&t, Method::GET, "/users/auth0%7C7", None).await;
    assert_eq!(none["statusCode"], 404, "trying stores nothing");
    let (_, r) = try_("verify", json!({"email": "a@b.c", "script": "function v(email, cb) { console.log('verifying', email); console.warn({n: 1}); cb(null, true); }"})).await;
    assert_eq!(
        (&r["result"], &r["console"]),
        (&json!(true), &json!(["verifying a@b.c", "[warn] { n: 1 }"])),
        "{r}"
    );
    let (_, r) = try_(
        "delete",
        json!({"id": "1", "script": "function d(id, cb) { while (true) {} }"}),
    )
    .await;
    assert_eq!(r["error"]["kind"], "timeout", "{r}");
    assert!(r["elapsed_ms"].as_u64().unwrap() >= 10_000);
    for (name, body, status, code) in [
        ("frobnicate", json!({}), 404, "inexistent_script"),
        ("create", json!({"user": {}}), 404, "inexistent_script"),
        ("login", json!({"email": "x@y.z"}), 400, "invalid_body"),
        ("login", json!({"args": ["x"]}), 400, "invalid_body"),
        (
            "login",
            json!({"args": ["x", "y"], "email": "x"}),
            400,
            "invalid_body",
        ),
        (
            "change_email",
            json!({"email": "a", "newEmail": "b", "verified": "yes"}),
            400,
            "invalid_body",
        ),
        ("login", json!({"bogus": 1}), 400, "invalid_body"),
    ] {
        let (s, e) = try_(name, body.clone()).await;
        assert_eq!(
            (s.as_u16(), e["errorCode"].as_str()),
            (status, Some(code)),
            "{name} {body}: {e}"
        );
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    // `return callback()`: the legacy store is off for good. Migrated users log
    // in locally, the others are unknown, and a legacy email can sign up.
    let (_, c) = h
        .api(&t, Method::GET, &format!("/connections/{conn_id}"), None)
        .await;
    let mut options = c["options"].clone();
    options["customScripts"] = json!({
        "login": "function login(email, password, callback) { return callback(); }",
        "get_user": "function getByEmail(email, callback) { return callback(); }"});
    let (s, c) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/connections/{conn_id}"),
            Some(json!({"options": options})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let (s, _) = login("maria1@legacy.example".into(), PY_PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "migrated users are Tern's now");
    let (s, body) = login("maria6@legacy.example".into(), PY_PASSWORD).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant"))
    );
    assert!(!logs_of(&h, &t, "fu", "maria").await.is_empty());
    let r = h.http.post(format!("{}/dbconnections/signup", h.base))
        .json(&json!({"client_id": cid, "connection": "maria", "email": "maria6@legacy.example", "password": "any-thing"}))
        .send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "get_user says nobody: signup goes through"
    );
    let (_, rep) = h
        .api(
            &t,
            Method::GET,
            &format!("/connections/{conn_id}/migration"),
            None,
        )
        .await;
    assert_eq!(rep["sources"]["signup"]["users"], 1);
    h.stop().await;
}

// ------------------------------------------------------------ legacy HTTP

/// A legacy user service over HTTP, as many real scripts call: `POST
/// /authenticate` and `GET /users?email=`, behind an API key. It stands in
/// for a system outside our control and compares fixture passwords itself.
struct LegacyHttp {
    url: String,
    calls: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

const HTTP_KEY: &str = "legacy-api-key-42";

async fn legacy_http() -> LegacyHttp {
    use axum::extract::{Query, State as AxState};
    use axum::http::HeaderMap;
    use axum::routing::{get, post};
    let calls = Arc::new(AtomicUsize::new(0));
    let users: Arc<Vec<(u32, &'static str, &'static str)>> = Arc::new(
        (1..=12)
            .map(|i| {
                let email: &'static str =
                    Box::leak(format!("web{i}@http.example").into_boxed_str());
                (100 + i, email, "s3cret-Web")
            })
            .collect(),
    );
    type St = (
        Arc<Vec<(u32, &'static str, &'static str)>>,
        Arc<AtomicUsize>,
    );
    let profile = |id: u32, email: &str| json!({"id": id, "email": email, "name": format!("Web User {id}"), "plan": "pro", "lang": "de"});
    let authed = |h: &HeaderMap| h.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(HTTP_KEY);
    let app = axum::Router::new()
        .route(
            "/authenticate",
            post(
                move |AxState((users, calls)): AxState<St>,
                      headers: HeaderMap,
                      axum::Json(b): axum::Json<Value>| async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    if !authed(&headers) {
                        return (
                            axum::http::StatusCode::FORBIDDEN,
                            axum::Json(json!({"error": "bad key"})),
                        );
                    }
                    match users.iter().find(|u| Some(u.1) == b["email"].as_str()) {
                        Some(u) if Some(u.2) == b["password"].as_str() => {
                            (axum::http::StatusCode::OK, axum::Json(profile(u.0, u.1)))
                        }
                        _ => (
                            axum::http::StatusCode::UNAUTHORIZED,
                            axum::Json(json!({"error": "invalid credentials"})),
                        ),
                    }
                },
            ),
        )
        .route(
            "/users",
            get(
                move |AxState((users, calls)): AxState<St>,
                      headers: HeaderMap,
                      Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    if !authed(&headers) {
                        return (
                            axum::http::StatusCode::FORBIDDEN,
                            axum::Json(json!({"error": "bad key"})),
                        );
                    }
                    match users
                        .iter()
                        .find(|u| Some(u.1) == q.get("email").map(String::as_str))
                    {
                        Some(u) => (axum::http::StatusCode::OK, axum::Json(profile(u.0, u.1))),
                        None => (axum::http::StatusCode::NOT_FOUND, axum::Json(json!({}))),
                    }
                },
            ),
        )
        .with_state((users, calls.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    LegacyHttp { url, calls, task }
}

/// Old-style scripts: `request` and `configuration` used as un-required globals.
const HTTP_LOGIN: &str = r#"function login(email, password, callback) {
  request.post({
    url: configuration.LEGACY_URL + '/authenticate',
    json: { email: email, password: password },
    headers: { 'x-api-key': configuration.API_KEY }
  }, function (err, response, body) {
    if (err) return callback(err);
    if (response.statusCode === 401) return callback(new WrongUsernameOrPasswordError(email));
    if (response.statusCode !== 200) return callback(new Error('legacy service answered ' + response.statusCode));
    callback(null, {
      id: body.id,
      email: body.email,
      name: body.name,
      metadata: { plan: body.plan },
      user_metadata: { lang: body.lang }
    });
  });
}"#;

const HTTP_GET_USER: &str = r#"function getUser(email, callback) {
  request.get({
    url: configuration.LEGACY_URL + '/users',
    qs: { email: email },
    json: true,
    headers: { 'x-api-key': configuration.API_KEY }
  }, function (err, response, body) {
    if (err) return callback(err);
    if (response.statusCode === 404) return callback(null);
    if (response.statusCode !== 200) return callback(new Error('legacy service answered ' + response.statusCode));
    callback(null, { id: body.id, email: body.email, name: body.name, metadata: { plan: body.plan } });
  });
}"#;

async fn http_legacy_with_globals(b: Backend) {
    let legacy = legacy_http().await;
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let conn_id = create_connection(
        &h,
        &t,
        "web-legacy",
        json!({
        "enabledDatabaseCustomization": true, "import_mode": true,
        "customScripts": {"login": HTTP_LOGIN, "get_user": HTTP_GET_USER},
        "configuration": {"LEGACY_URL": legacy.url, "API_KEY": HTTP_KEY}}),
    )
    .await;
    let (cid, secret) = app_on(&h, &t, &conn_id).await;
    let login = |user: &str, pw: &str| {
        h.token(json!({"grant_type": REALM, "client_id": cid, "client_secret": secret,
                       "username": user, "password": pw, "realm": "web-legacy", "scope": "openid profile"}))
    };
    let (s, body) = login("web1@http.example", "s3cret-Web").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, u) = h.api(&t, Method::GET, "/users/auth0%7C101", None).await;
    assert_eq!(u["app_metadata"], json!({"plan": "pro"}), "{u}");
    assert_eq!(u["user_metadata"], json!({"lang": "de"}));
    assert_eq!(u["name"], "Web User 101");
    assert_eq!(
        u["identities"][0]["user_id"], "101",
        "a numeric id, as a string"
    );
    let (s, _) = login("web2@http.example", "wrong").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        logs_of(&h, &t, "fp", "web-legacy")
            .await
            .iter()
            .any(|d| d.contains("legacy store"))
    );
    // Signup of a legacy user: refused after get_user.
    let r = h.http.post(format!("{}/dbconnections/signup", h.base))
        .json(&json!({"client_id": cid, "connection": "web-legacy", "email": "web3@http.example", "password": "Whatever-1"}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Migrated: the legacy service is not asked again, even when it is gone.
    let before = legacy.calls.load(Ordering::SeqCst);
    let (s, _) = login("web1@http.example", "s3cret-Web").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(legacy.calls.load(Ordering::SeqCst), before);
    legacy.task.abort();
    let _ = legacy.task.await;
    let (s, _) = login("web1@http.example", "s3cret-Web").await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = login("web4@http.example", "s3cret-Web").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        logs_of(&h, &t, "f", "web-legacy")
            .await
            .iter()
            .any(|d| d.contains("Legacy login failed; nothing was stored")),
    );
    h.stop().await;
}

// ---------------------------------------------------------------- hostile

/// (connection name, login script, what the tenant log must say).
const HOSTILE: &[(&str, &str, &str)] = &[
    (
        "endless-loop",
        "function login(e, p, cb) { while (true) {} }",
        "exceeded its time limit",
    ),
    (
        "memory-bomb",
        "function login(e, p, cb) { const a = []; while (true) a.push(new Array(1e6).fill(1.5)); }",
        "exceeded its memory limit",
    ),
    (
        "deep-recursion",
        "function login(e, p, cb) { function r(n) { return r(n + 1) + 1; } r(0); }",
        "exceeded its stack limit",
    ),
    (
        "no-callback",
        "function login(e, p, cb) { }",
        "without calling callback",
    ),
    (
        "two-callbacks",
        "function login(e, p, cb) { cb(new Error('first answer')); cb(null, {user_id: 'x1', email: e}); }",
        "first answer",
    ),
    (
        "throws",
        "function login(e, p, cb) { throw new Error('kaboom'); }",
        "Error: kaboom",
    ),
    (
        "require-fs",
        "function login(e, p, cb) { const fs = require('fs'); cb(null, {user_id: fs.readFileSync('/etc/passwd', 'utf8'), email: e}); }",
        "module not available in the script sandbox: fs",
    ),
    (
        "process-exit",
        "function login(e, p, cb) { process.exit(1); }",
        "process",
    ),
    (
        "console-flood",
        "function login(e, p, cb) { for (let i = 0; i < 200000; i++) console.log('spam '.repeat(50)); cb(new Error('printed a lot')); }",
        "printed a lot",
    ),
];

async fn hostile_scripts_fail_clearly_while_others_log_in(b: Backend) {
    let legacy = legacy_http().await;
    let h = Harness::start_with(b, |c| c.scripts.timeout_secs = 15).await;
    let t = h.admin_token().await;
    let good = create_connection(
        &h,
        &t,
        "good-legacy",
        json!({
        "enabledDatabaseCustomization": true, "import_mode": true,
        "customScripts": {"login": HTTP_LOGIN},
        "configuration": {"LEGACY_URL": legacy.url, "API_KEY": HTTP_KEY}}),
    )
    .await;
    let (cid, secret) = app_on(&h, &t, &good).await;
    let mut enabled = vec![h.info.client_id.clone(), cid.clone()];
    enabled.dedup();
    for (name, script, _) in HOSTILE {
        let id = create_connection(
            &h,
            &t,
            name,
            json!({
            "enabledDatabaseCustomization": true, "import_mode": true,
            "customScripts": {"login": script}}),
        )
        .await;
        let (s, _) = h
            .api(
                &t,
                Method::PATCH,
                &format!("/connections/{id}"),
                Some(json!({"enabled_clients": enabled})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let token = |realm: &str, user: &str, pw: &str| {
        let req = h.http.post(format!("{}/oauth/token", h.base)).json(&json!({
            "grant_type": REALM, "client_id": cid, "client_secret": secret,
            "username": user, "password": pw, "realm": realm}));
        async move {
            let r = req.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap(), Instant::now())
        }
    };
    // A user of the good connection migrated before the storm.
    let (s, _, _) = token("good-legacy", "web1@http.example", "s3cret-Web").await;
    assert_eq!(s, StatusCode::OK);

    let started = Instant::now();
    let hostile = futures_util::future::join_all(
        HOSTILE
            .iter()
            .map(|(name, _, _)| token(name, "victim@example.com", "pw")),
    );
    let good_logins = async {
        // While the hostile scripts run: first logins through the good
        // connection's script, and local logins of a migrated user.
        let mut out = Vec::new();
        for round in 0..2 {
            let mut batch = Vec::new();
            for i in 2..=7 {
                batch.push(token(
                    "good-legacy",
                    &format!("web{i}@http.example"),
                    "s3cret-Web",
                ));
            }
            batch.push(token("good-legacy", "web1@http.example", "s3cret-Web"));
            for r in futures_util::future::join_all(batch).await {
                out.push((round, r));
            }
        }
        out
    };
    let (hostile, good) = tokio::join!(hostile, good_logins);
    for (round, (s, body, _)) in &good {
        assert_eq!(*s, StatusCode::OK, "round {round}: {body}");
    }
    let good_done = good.iter().map(|(_, (_, _, at))| *at).max().unwrap();
    let endless_done = hostile[0].2;
    assert!(
        good_done < endless_done,
        "other logins finished ({:?}) while the endless loop still ran ({:?})",
        good_done - started,
        endless_done - started
    );
    for ((name, _, _), (s, body, at)) in HOSTILE.iter().zip(&hostile) {
        assert_eq!(*s, StatusCode::SERVICE_UNAVAILABLE, "{name}: {body}");
        assert_eq!(body["error"], "temporarily_unavailable", "{name}");
        assert!(
            *at - started < Duration::from_secs(20),
            "{name} ended in time"
        );
    }
    for (name, _, says) in HOSTILE {
        let logs = logs_of(&h, &t, "f", name).await;
        assert!(
            logs.iter()
                .any(|d| d.contains("nothing was stored") && d.contains(says)),
            "{name}: the log says {says:?}: {logs:?}"
        );
    }
    let (_, found) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=victim@example.com",
            None,
        )
        .await;
    assert_eq!(found, json!([]), "no hostile script created a user");
    // The flood's console is capped, as the try endpoint shows.
    let flood = create_connection(
        &h,
        &t,
        "flood-try",
        json!({"enabledDatabaseCustomization": true, "import_mode": true,
        "customScripts": {"login": HOSTILE[8].1}}),
    )
    .await;
    let (s, r) = h
        .api(
            &t,
            Method::POST,
            &format!("/connections/{flood}/scripts/login/try"),
            Some(json!({"email": "a@b.c", "password": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let console = r["console"].as_array().unwrap();
    let bytes: usize = console.iter().map(|l| l.as_str().unwrap().len()).sum();
    assert!(bytes <= 70 * 1024, "console capped: {bytes} bytes");
    assert_eq!(r["error"]["message"], "printed a lot");
    h.stop().await;
}

/// `console` output of a script call lands in the tenant log (a
/// `tern_script_log` event per call, with the connection and the user), with
/// the typed password and the configuration values masked; a second callback
/// is recorded as a warning; a failing script's output is kept too.
async fn console_output_goes_to_the_tenant_log_without_secrets(b: Backend) {
    const PASSWORD: &str = "Typed-Pa55word!";
    const API_KEY: &str = "cfg-secret-0123456789";
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let conn = create_connection(
        &h,
        &t,
        "console-legacy",
        json!({
        "enabledDatabaseCustomization": true, "import_mode": true,
        "customScripts": {
            "login": "function login(email, password, callback) {
                console.log('checking', email, 'with', password, 'and key', configuration.API_KEY);
                console.warn('legacy answered slowly');
                if (email.startsWith('broken')) { console.error('legacy said 500'); return callback(new Error('legacy down for ' + password + ' with ' + configuration.API_KEY)); }
                if (email.startsWith('thrown')) { throw new Error('GET /login?key=' + configuration.API_KEY + '&pw=' + password + ' failed'); }
                callback(null, {user_id: 'con-' + email.split('@')[0], email: email});
                callback(new Error('a late second answer'));
            }",
            "get_user": "function getByEmail(email, callback) {
                console.log('get_user for', email);
                callback(null);
            }"},
        "configuration": {"API_KEY": API_KEY, "PORT": "1"}}),
    )
    .await;
    let (cid, secret) = app_on(&h, &t, &conn).await;
    let login = |user: &str| {
        h.http
            .post(format!("{}/oauth/token", h.base))
            .json(&json!({
            "grant_type": REALM, "client_id": cid, "client_secret": secret,
            "username": user, "password": PASSWORD, "realm": "console-legacy"}))
            .send()
    };
    assert_eq!(
        login("ana@console.example").await.unwrap().status(),
        StatusCode::OK
    );
    for user in ["broken@console.example", "thrown@console.example"] {
        assert_eq!(
            login(user).await.unwrap().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    let (s, _) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(
                json!({"connection": "console-legacy", "email": "new@console.example",
                        "password": "An0ther-Passw0rd!"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    let (_, logs) = h
        .api(
            &t,
            Method::GET,
            "/logs?q=type:tern_script_log&per_page=100",
            None,
        )
        .await;
    let logs = logs.as_array().unwrap();
    let of = |user: &str, script: &str| {
        logs.iter()
            .find(|l| l["user_name"] == user && l["details"]["script"] == script)
            .unwrap_or_else(|| panic!("a {script} event for {user}: {logs:#?}"))
            .clone()
    };
    let ana = of("ana@console.example", "login");
    assert_eq!(ana["connection"], "console-legacy");
    assert_eq!(ana["connection_id"], conn.as_str());
    assert_eq!(ana["details"]["outcome"], "answered");
    assert_eq!(
        ana["details"]["console"],
        json!([
            "checking ana@console.example with ******** and key ********",
            "[warn] legacy answered slowly"
        ])
    );
    let warnings = ana["details"]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let broken = of("broken@console.example", "login");
    assert_eq!(broken["details"]["outcome"], "callback_error");
    // The error a script reports is redacted too: Auth0's `callback(err)`
    // often passes on a request error holding a URL with a key.
    assert_eq!(
        broken["details"]["error"],
        "legacy down for ******** with ********"
    );
    assert_eq!(
        broken["details"]["console"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        "[error] legacy said 500"
    );
    let lookup = of("new@console.example", "get_user");
    assert_eq!(
        lookup["details"]["console"],
        json!(["get_user for new@console.example"])
    );

    // Nothing in the whole tenant log carries the password or the secret;
    // the failures' `f` events say what failed, masked.
    let (_, all) = h.api(&t, Method::GET, "/logs?per_page=100", None).await;
    let text = all.to_string();
    assert!(
        text.contains("GET /login?key=********&pw=******** failed"),
        "the thrown error's `f` event: {text}"
    );
    assert!(!text.contains(PASSWORD), "the typed password was logged");
    assert!(!text.contains(API_KEY), "a configuration secret was logged");
    h.stop().await;
}

/// `mfa_factors` of a login profile are stored with the user in the same
/// insert and listed (without the TOTP seed) by
/// `GET /users/{id}/authentication-methods`; a malformed list refuses the
/// migration and stores nothing.
async fn mfa_factors_migrate_with_the_user(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let conn = create_connection(
        &h,
        &t,
        "mfa-legacy",
        json!({
        "enabledDatabaseCustomization": true, "import_mode": true,
        "customScripts": {
            "login": "function login(email, password, callback) {
                const factors = email.startsWith('bad')
                  ? [{sms: {value: '+1555'}}]
                  : [{totp: {secret: 'JBSWY3DPEHPK3PXP'}}, {phone: {value: '+15551234567'}}, {email: {value: email}}];
                callback(null, {user_id: 'mfa-' + email.split('@')[0], email: email, mfa_factors: factors});
            }"}}),
    )
    .await;
    let (cid, secret) = app_on(&h, &t, &conn).await;
    let login = |user: &str| {
        h.http
            .post(format!("{}/oauth/token", h.base))
            .json(&json!({
            "grant_type": REALM, "client_id": cid, "client_secret": secret,
            "username": user, "password": "Any-Passw0rd!", "realm": "mfa-legacy"}))
            .send()
    };
    // The migration stores the user with the enrolment, and the enrolment
    // then asks for the second factor, as it did on the legacy system.
    let first = login("ok@mfa.example").await.unwrap();
    assert_eq!(first.status(), StatusCode::FORBIDDEN);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["error"], "mfa_required", "{first}");
    assert!(first["mfa_token"].is_string(), "{first}");
    let (s, methods) = h
        .api(
            &t,
            Method::GET,
            "/users/auth0%7Cmfa-ok/authentication-methods",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{methods}");
    let types: Vec<&str> = methods
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["totp", "phone", "email"]);
    assert_eq!(methods[1]["phone_number"], "+15551234567");
    assert_eq!(methods[2]["email"], "ok@mfa.example");
    assert!(
        !methods.to_string().contains("JBSWY3DPEHPK3PXP"),
        "the TOTP seed is never answered"
    );
    let (_, paged) = h
        .api(
            &t,
            Method::GET,
            "/users/auth0%7Cmfa-ok/authentication-methods?include_totals=true&per_page=2",
            None,
        )
        .await;
    assert_eq!(paged["total"], 3);
    assert_eq!(paged["authenticators"].as_array().unwrap().len(), 2);

    let bad = login("bad@mfa.example").await.unwrap();
    assert_eq!(bad.status(), StatusCode::SERVICE_UNAVAILABLE);
    let (_, found) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=bad@mfa.example",
            None,
        )
        .await;
    assert_eq!(found, json!([]), "nothing stored");
    let logs = logs_of(&h, &t, "f", "mfa-legacy").await;
    assert!(
        logs.iter()
            .any(|d| d.contains("Unable to import MFA factors")),
        "{logs:?}"
    );
    let (s, _) = h
        .api(
            &t,
            Method::GET,
            "/users/auth0%7Cnobody/authentication-methods",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    h.stop().await;
}

/// One vector of a tern-hash fixture file (made by passlib, hashlib, PHP-style
/// constructions — never by Tern): `(hash or object, password, wrong)`.
fn hash_fixture(file: &str, id: &str) -> (Value, String, String) {
    let path = format!(
        "{}/../tern-hash/tests/fixtures/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap()
        .clone();
    let hash = v.get("hash").or_else(|| v.get("object")).unwrap().clone();
    let s = |k: &str| v[k].as_str().unwrap().to_string();
    (hash, s("password"), s("wrong"))
}

/// A login script that only looks the user up and answers the stored legacy
/// hash in `tern_password_hash`: Tern verifies the typed password against it
/// (wrong refused as `fp`, right migrates and is rehashed to the policy), for
/// self-describing strings and `tern_password_hash` objects alike; a hash
/// Tern cannot read is the script's error, named in the tenant log.
async fn login_script_answers_the_legacy_hash(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let users: Vec<(&str, (Value, String, String))> = vec![
        ("des", hash_fixture("formats.json", "des-crypt-ascii")),
        (
            "sunmd5",
            hash_fixture("formats.json", "sun-md5-rounds-unicode"),
        ),
        ("mysql", hash_fixture("formats.json", "mysql41-ascii")),
        ("magento", hash_fixture("explicit.json", "magento-v1-ascii")),
    ];
    let table: serde_json::Map<String, Value> = users
        .iter()
        .map(|(name, (hash, _, _))| (format!("{name}@hash.example"), hash.clone()))
        .chain([(
            "broken@hash.example".to_string(),
            json!("$md5,rounds=0100$salt$$AAAA"),
        )])
        .collect();
    let script = format!(
        "function login(email, password, callback) {{
            const users = {};
            const hash = users[email];
            if (!hash) return callback(new WrongUsernameOrPasswordError(email));
            callback(null, {{user_id: 'h-' + email.split('@')[0], email: email, tern_password_hash: hash}});
        }}",
        Value::Object(table)
    );
    let conn = create_connection(
        &h,
        &t,
        "hash-legacy",
        json!({"enabledDatabaseCustomization": true, "import_mode": true,
               "customScripts": {"login": script}}),
    )
    .await;
    let (cid, secret) = app_on(&h, &t, &conn).await;
    let login = |user: String, password: String| {
        h.http
            .post(format!("{}/oauth/token", h.base))
            .json(&json!({
            "grant_type": REALM, "client_id": cid, "client_secret": secret,
            "username": user, "password": password, "realm": "hash-legacy"}))
            .send()
    };
    for (name, (_, right, wrong)) in &users {
        let email = format!("{name}@hash.example");
        let r = login(email.clone(), wrong.clone()).await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "{name}: wrong password: {:?}",
            logs_of(&h, &t, "f", "hash-legacy").await
        );
        let (_, found) = h
            .api(
                &t,
                Method::GET,
                &format!("/users-by-email?email={email}"),
                None,
            )
            .await;
        assert_eq!(
            found,
            json!([]),
            "{name}: nothing stored on a wrong password"
        );
        let r = login(email.clone(), right.clone()).await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "{name}: {}",
            r.text().await.unwrap()
        );
        let (_, found) = h
            .api(
                &t,
                Method::GET,
                &format!("/users-by-email?email={email}"),
                None,
            )
            .await;
        assert_eq!(found[0]["user_id"], format!("auth0|h-{name}"), "{found}");
        assert!(
            !found.to_string().contains("tern_password_hash"),
            "the legacy hash is not kept in the profile: {found}"
        );
        // Migrated: the wrong password is still refused, the right one works.
        let r = login(email.clone(), wrong.clone()).await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "{name}: wrong after migration"
        );
        let r = login(email, right.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{name}: right after migration");
    }
    let fp = logs_of(&h, &t, "fp", "hash-legacy").await;
    assert!(!fp.is_empty(), "wrong passwords are logged as fp");
    let broken = login("broken@hash.example".into(), "whatever".into())
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::SERVICE_UNAVAILABLE);
    let f = logs_of(&h, &t, "f", "hash-legacy").await;
    assert!(
        f.iter()
            .any(|d| d.contains("tern_password_hash") && d.contains("sun-md5-crypt")),
        "{f:?}"
    );
    h.stop().await;
}

// ---------------------------------------------------------------- helpers

fn now_iso_prefix() -> String {
    tern_core::clock::now_iso()
}

/// Every script call is counted by connection name, script and outcome,
/// and timed; no user data in the labels.
async fn script_calls_are_counted_and_timed(b: Backend) {
    let h = Harness::start_with(b, |c| c.metrics.listen = Some("127.0.0.1:0".into())).await;
    let metrics_url = format!(
        "http://{}/metrics",
        h.server.as_ref().unwrap().metrics_addr.unwrap()
    );
    let t = h.admin_token().await;
    let script = "function login(email, password, callback) {
        if (email === 'boom@count.example') throw new Error('legacy exploded');
        callback(null, {user_id: 'c-1', email: email});
    }";
    let conn = create_connection(
        &h,
        &t,
        "counted-legacy",
        json!({"enabledDatabaseCustomization": true, "import_mode": true,
               "customScripts": {"login": script}}),
    )
    .await;
    let (cid, secret) = app_on(&h, &t, &conn).await;
    for user in ["ok@count.example", "boom@count.example"] {
        h.http
            .post(format!("{}/oauth/token", h.base))
            .json(&json!({
            "grant_type": REALM, "client_id": cid, "client_secret": secret,
            "username": user, "password": "Some-pass-1", "realm": "counted-legacy"}))
            .send()
            .await
            .unwrap();
    }
    let text = h
        .http
        .get(&metrics_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |series: &str| {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    assert_eq!(
        value(
            "tern_script_calls_total{connection=\"counted-legacy\",script=\"login\",outcome=\"ok\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            "tern_script_calls_total{connection=\"counted-legacy\",script=\"login\",outcome=\"error\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            "tern_script_call_duration_seconds_count{connection=\"counted-legacy\",script=\"login\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert!(!text.contains("count.example"), "no user data in metrics");
    h.stop().await;
}

/// The password typed at signup reaches the `create` script as
/// `user.password` and is masked there; secrets are masked in every form the
/// console writes them: configuration values with a newline or a quote and
/// a typed password with a quote and a backslash, printed inside objects
/// (escaped as JSON) or through `JSON.stringify`; and the line that passes
/// the console's 64 KiB cap is dropped whole, never cut inside a secret.
async fn escaped_and_signup_secrets_never_reach_the_tenant_log(b: Backend) {
    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-PEM-SECRET\n-----END PRIVATE KEY-----";
    const QUOTED: &str = r#"db"pass-secret-2"#;
    const PLAIN: &str = "plain-secret-value-1";
    const TYPED: &str = r#"Typed"Pass\word-3"#;
    const SIGNUP: &str = r#"Sg"Plain\Pass-4-zq"#;
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let conn = create_connection(
        &h,
        &t,
        "escaped-legacy",
        json!({
        "enabledDatabaseCustomization": true, "passwordPolicy": "none",
        "customScripts": {
            "login": "function login(email, password, callback) {
                if (email.startsWith('long')) {
                    console.log('x'.repeat(65536 - 10));
                    console.log(configuration.PLAIN);
                } else {
                    console.log(configuration);
                    console.log({email: email, password: password});
                    console.log(JSON.stringify({password: password}));
                }
                callback(null, {user_id: 'esc-' + email.split('@')[0], email: email});
            }",
            "get_user": "function getByEmail(email, callback) { callback(null); }",
            "create": "function create(user, callback) {
                console.log('creating', user.email, user.password);
                console.log(user);
                callback(null);
            }"},
        "configuration": {"PLAIN": PLAIN, "PEM": PEM, "QUOTED": QUOTED}}),
    )
    .await;
    let (cid, secret) = app_on(&h, &t, &conn).await;
    let r = h
        .http
        .post(format!("{}/dbconnections/signup", h.base))
        .json(&json!({"client_id": cid, "connection": "escaped-legacy",
                      "email": "signup@escaped.example", "password": SIGNUP}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    for user in ["esc@escaped.example", "long@escaped.example"] {
        let (s, body) = h
            .token(
                json!({"grant_type": REALM, "client_id": cid, "client_secret": secret,
                          "username": user, "password": TYPED, "realm": "escaped-legacy"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }

    let (_, logs) = h
        .api(
            &t,
            Method::GET,
            "/logs?q=type:tern_script_log&per_page=100",
            None,
        )
        .await;
    let console = |user: &str, script: &str| {
        logs.as_array()
            .unwrap()
            .iter()
            // A create event names no user (its argument is the user object).
            .find(|l| {
                (script == "create" || l["user_name"] == user) && l["details"]["script"] == script
            })
            .unwrap_or_else(|| {
                let seen: Vec<_> = logs
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| (l["user_name"].clone(), l["details"]["script"].clone()))
                    .collect();
                panic!("a {script} event for {user}: {seen:?}")
            })["details"]["console"]
            .clone()
    };
    let created = console("signup@escaped.example", "create");
    assert_eq!(
        created[0], "creating signup@escaped.example ********",
        "{created}"
    );
    assert!(
        created[1]
            .as_str()
            .unwrap()
            .contains(r#"password: "********""#),
        "{created}"
    );
    assert_eq!(
        console("esc@escaped.example", "login"),
        json!([
            r#"{ PEM: "********", PLAIN: "********", QUOTED: "********" }"#,
            r#"{ email: "esc@escaped.example", password: "********" }"#,
            r#"{"password":"********"}"#
        ])
    );
    let long = console("long@escaped.example", "login");
    assert_eq!(
        long.as_array().unwrap().len(),
        2,
        "the x line, then the marker"
    );
    assert!(long[1].as_str().unwrap().contains("truncated"), "{long}");

    let (_, all) = h.api(&t, Method::GET, "/logs?per_page=100", None).await;
    let text = all.to_string();
    for leak in [
        "PEM-SECRET",
        "pass-secret-2",
        "plain-sec",
        "Typed",
        "Pass-4-zq",
    ] {
        assert!(!text.contains(leak), "{leak} reached the log");
    }
    h.stop().await;
}

both_backends!(
    script_calls_are_counted_and_timed,
    login_script_answers_the_legacy_hash,
    console_output_goes_to_the_tenant_log_without_secrets,
    escaped_and_signup_secrets_never_reach_the_tenant_log,
    mfa_factors_migrate_with_the_user,
    mysql_template_migration,
    http_legacy_with_globals,
    hostile_scripts_fail_clearly_while_others_log_in
);
