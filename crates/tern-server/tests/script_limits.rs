#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Issue 12, bounded work in custom-database scripts, on the real server
//! against real legacy systems: a legacy HTTP service (an axum server on
//! loopback, and a raw TCP listener that never answers), MariaDB and
//! PostgreSQL. A script call's host side is bounded beside its QuickJS
//! heap: bytes received across requests, requests at once, rows per query;
//! a request still in flight when the script calls back is cancelled.
//! And a flood of unknown usernames from one address spends that address's
//! budget of legacy lookups instead of reaching the legacy store.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::sync::Notify;

const REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

/// What the legacy HTTP service saw.
#[derive(Default)]
struct Seen {
    /// `/slow` requests being answered now, and the most at once.
    slow_now: AtomicUsize,
    slow_max: AtomicUsize,
    slow_total: AtomicUsize,
    /// `/lookup` requests (a legacy user lookup).
    lookups: AtomicUsize,
    /// Connections the silent listener accepted, and saw closed.
    hang_opened: AtomicUsize,
    hang_closed: AtomicUsize,
    hang_accepted: Notify,
}

/// The legacy service: `/medium` answers 40 000 bytes, `/slow` takes a
/// moment and counts how many it serves at once, `/lookup` counts lookups,
/// `/opened` answers once the silent listener has a connection. Also the
/// silent listener: it reads a request and never answers, counting the
/// connections it sees closed. Returns (base URL, silent URL, what was seen).
async fn legacy_service() -> (String, String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = axum::Router::new()
        .route("/medium", get(|| async { "m".repeat(40_000) }))
        .route(
            "/slow",
            get(|State(seen): State<Arc<Seen>>| async move {
                let now = seen.slow_now.fetch_add(1, Ordering::SeqCst) + 1;
                seen.slow_max.fetch_max(now, Ordering::SeqCst);
                seen.slow_total.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(150)).await;
                seen.slow_now.fetch_sub(1, Ordering::SeqCst);
                "ok"
            }),
        )
        .route(
            "/lookup",
            get(|State(seen): State<Arc<Seen>>| async move {
                seen.lookups.fetch_add(1, Ordering::SeqCst);
                "nobody"
            }),
        )
        .route(
            "/opened",
            get(|State(seen): State<Arc<Seen>>| async move {
                while seen.hang_opened.load(Ordering::SeqCst) == 0 {
                    seen.hang_accepted.notified().await;
                }
                "opened"
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/never", silent.local_addr().unwrap());
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = silent.accept().await.unwrap();
            s.hang_opened.fetch_add(1, Ordering::SeqCst);
            s.hang_accepted.notify_waiters();
            let s = s.clone();
            tokio::spawn(async move {
                // Read until the client hangs up; never answer.
                let mut buf = [0u8; 1024];
                while matches!(sock.read(&mut buf).await, Ok(n) if n > 0) {}
                s.hang_closed.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (base, silent_url, seen)
}

/// A server whose script calls have small host limits.
async fn server(b: Backend) -> Harness {
    Harness::start_with(b, |c| {
        // Long enough that the deadline never explains a cancelled request.
        c.scripts.timeout_secs = 60;
        c.scripts.max_received_bytes = 64 * 1024;
        c.scripts.max_concurrent_requests = 2;
        c.scripts.max_rows_per_query = 5;
        c.scripts.unknown_user_lookups_per_minute = 3;
    })
    .await
}

/// A connection whose login script is `login`; the client to log in with.
async fn script_connection(
    h: &Harness,
    t: &str,
    name: &str,
    login: &str,
    configuration: Value,
) -> (String, String) {
    let (s, c) = h
        .api(
            t,
            Method::POST,
            "/connections",
            Some(json!({"name": name, "strategy": "auth0", "options": {
                "enabledDatabaseCustomization": true, "import_mode": true,
                "customScripts": {"login": login},
                "configuration": configuration}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let conn_id = c["id"].as_str().unwrap().to_string();
    let (cid, secret) = h.password_client(t).await;
    let (s, b) = h
        .api(
            t,
            Method::PATCH,
            &format!("/connections/{conn_id}"),
            Some(json!({"enabled_clients": [h.info.client_id, cid]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    (cid, secret)
}

async fn login_as(
    h: &Harness,
    client: &(String, String),
    realm: &str,
    user: &str,
    ip: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = h.http.post(format!("{}/oauth/token", h.base)).json(&json!({
        "grant_type": REALM, "client_id": client.0, "client_secret": client.1,
        "username": user, "password": "whatever-1", "realm": realm}));
    if let Some(ip) = ip {
        req = req.header("x-forwarded-for", ip);
    }
    let r = req.send().await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Descriptions of the tenant log's `f` events of connection `realm`.
async fn failures(h: &Harness, t: &str, realm: &str) -> Vec<String> {
    let (_, logs) = h
        .api(t, Method::GET, "/logs?q=type:f&per_page=100", None)
        .await;
    logs.as_array()
        .unwrap()
        .iter()
        .filter(|l| l["connection"] == realm)
        .map(|l| l["description"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The script's report: it ends every test script with
/// `callback(new Error('report ' + …))`, which the tenant log keeps.
async fn report(h: &Harness, t: &str, realm: &str) -> String {
    let all = failures(h, t, realm).await;
    let found = all.iter().find_map(|d| {
        d.split_once("report ")
            .map(|(_, r)| r.trim_end_matches('.').to_string())
    });
    found.unwrap_or_else(|| panic!("no report in {all:?}"))
}

async fn http_limits(b: Backend) {
    let (base, silent, seen) = legacy_service().await;
    let h = server(b).await;
    let t = h.admin_token().await;
    let config = json!({"BASE": base, "SILENT": silent});

    // Bytes received add up across the call's requests: the first 40 000
    // fit the 64 KiB, the second pass them and fail with a clear code.
    let bytes = r#"function login(email, password, callback) {
      request.get(configuration.BASE + '/medium', function (err, res, body) {
        if (err) return callback(new Error('report first failed ' + err.code));
        const first = body.length;
        request.get(configuration.BASE + '/medium', function (err2) {
          callback(new Error('report first=' + first + ' second=' + (err2 ? err2.code : 'ok')));
        });
      });
    }"#;
    let c = script_connection(&h, &t, "bytes", bytes, config.clone()).await;
    let (s, body) = login_as(&h, &c, "bytes", "a@example.com", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        report(&h, &t, "bytes").await,
        "first=40000 second=ERESPONSETOOLARGE"
    );

    // Six requests at once run two at a time (the rest wait their turn)
    // and all complete.
    let concurrent = r#"async function login(email, password, callback) {
      const all = [1, 2, 3, 4, 5, 6].map(i =>
        fetch(configuration.BASE + '/slow?i=' + i).then(r => r.text()));
      const answers = await Promise.all(all);
      callback(new Error('report answers=' + answers.filter(a => a === 'ok').length));
    }"#;
    let c = script_connection(&h, &t, "concurrent", concurrent, config.clone()).await;
    let (s, body) = login_as(&h, &c, "concurrent", "a@example.com", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(report(&h, &t, "concurrent").await, "answers=6");
    assert_eq!(seen.slow_total.load(Ordering::SeqCst), 6);
    assert_eq!(
        seen.slow_max.load(Ordering::SeqCst),
        2,
        "at most max_concurrent_requests at once"
    );

    // A request still in flight when the script calls back is cancelled:
    // the legacy service sees its connection closed, long before the
    // call's 60 s deadline could explain it.
    let abandons = r#"function login(email, password, callback) {
      request.get(configuration.SILENT, function () {});
      request.get(configuration.BASE + '/opened', function (err, res, body) {
        callback(new Error('report silent request ' + body));
      });
    }"#;
    let c = script_connection(&h, &t, "abandons", abandons, config).await;
    let (s, body) = login_as(&h, &c, "abandons", "a@example.com", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(report(&h, &t, "abandons").await, "silent request opened");
    assert_eq!(seen.hang_opened.load(Ordering::SeqCst), 1);
    let mut waited = 0;
    while seen.hang_closed.load(Ordering::SeqCst) == 0 {
        assert!(waited < 200, "the abandoned request was not cancelled");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    h.stop().await;
}

/// `mysql` and `pg` rows one at a time, within the rows and bytes limits.
async fn database_limits(b: Backend) {
    let table = format!("tern_rows_{}", uuid::Uuid::new_v4().simple());
    mysql(&format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY); INSERT INTO {table} VALUES {}",
        (1..=20)
            .map(|i| format!("({i})"))
            .collect::<Vec<_>>()
            .join(",")
    ));
    let h = server(b).await;
    let t = h.admin_token().await;

    let maria = format!(
        r#"function login(email, password, callback) {{
      const mysql = require('mysql');
      const c = mysql.createConnection({{host: '127.0.0.1', user: 'root', database: 'test'}});
      c.query('SELECT id FROM {table} WHERE id <= 5', function (e1, five) {{
        c.query('SELECT id FROM {table}', function (e2) {{
          c.query("SELECT REPEAT('x', 70000) AS big", function (e3) {{
            callback(new Error('report five=' + (e1 ? e1.code : five.length) +
              ' all=' + (e2 ? e2.code : 'ok') + ' big=' + (e3 ? e3.code : 'ok')));
          }});
        }});
      }});
    }}"#
    );
    let c = script_connection(&h, &t, "maria", &maria, json!({})).await;
    let (s, body) = login_as(&h, &c, "maria", "a@example.com", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        report(&h, &t, "maria").await,
        "five=5 all=ETOOMANYROWS big=ERESPONSETOOLARGE"
    );

    let pg = r#"async function login(email, password, callback) {
      const { Client } = require('pg');
      const c = new Client({host: '127.0.0.1', user: 'postgres', database: 'postgres'});
      await c.connect();
      const code = (p) => p.then(r => r.rows.length, e => e.code);
      const five = await code(c.query('SELECT generate_series(1, 5) AS n'));
      const all = await code(c.query('SELECT generate_series(1, 20) AS n'));
      const big = await code(c.query("SELECT repeat('x', 70000) AS big"));
      callback(new Error('report five=' + five + ' all=' + all + ' big=' + big));
    }"#;
    let c = script_connection(&h, &t, "pg", pg, json!({})).await;
    let (s, body) = login_as(&h, &c, "pg", "a@example.com", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        report(&h, &t, "pg").await,
        "five=5 all=ETOOMANYROWS big=ERESPONSETOOLARGE"
    );
    h.stop().await;
    mysql(&format!("DROP TABLE IF EXISTS {table}"));
}

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

/// Unknown usernames from one address spend its budget of legacy lookups:
/// past it, that address's logins are refused at once (known users too, so
/// the answer does not tell them apart) with one `limit_mu`; another
/// address still reaches the legacy store; a minute later the first does too.
async fn unknown_users_spend_the_address_budget(b: Backend) {
    let (base, _, seen) = legacy_service().await;
    let h = Harness::start_with(b, |c| {
        c.scripts.unknown_user_lookups_per_minute = 3;
        c.http.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let t = h.admin_token().await;
    // The start of a minute, so the test's attempts share one window.
    let now = h.state().now();
    h.state().clock.advance(60 - now.rem_euclid(60));
    let lookup = r#"function login(email, password, callback) {
      request.get(configuration.BASE + '/lookup', function () {
        callback(new WrongUsernameOrPasswordError(email));
      });
    }"#;
    let get_user = r#"function getUser(email, callback) {
      request.get(configuration.BASE + '/lookup', function () { callback(null); });
    }"#;
    let c = script_connection(&h, &t, "legacy", lookup, json!({"BASE": base})).await;
    let (_, conns) = h
        .api(&t, Method::GET, "/connections?name=legacy", None)
        .await;
    let id = conns[0]["id"].as_str().unwrap();
    let mut options = conns[0]["options"].clone();
    options["customScripts"]["get_user"] = json!(get_user);
    options["configuration"] = json!({"BASE": base});
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/connections/{id}"),
            Some(json!({"options": options})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let flood = "203.0.113.9";
    for i in 0..3 {
        let (s, body) = login_as(&h, &c, "legacy", &format!("ghost{i}@x.io"), Some(flood)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    }
    assert_eq!(seen.lookups.load(Ordering::SeqCst), 3);
    for i in 3..8 {
        let (s, body) = login_as(&h, &c, "legacy", &format!("ghost{i}@x.io"), Some(flood)).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["error"], "too_many_attempts");
        assert_eq!(
            body["error_description"],
            tern_server::legacy_budget::MESSAGE
        );
    }
    assert_eq!(
        seen.lookups.load(Ordering::SeqCst),
        3,
        "refused logins did not reach the legacy store"
    );
    // One limit_mu for the spent budget, none per refusal.
    let (_, logs) = h
        .api(&t, Method::GET, "/logs?q=type:limit_mu&per_page=100", None)
        .await;
    let events = logs.as_array().unwrap();
    assert_eq!(events.len(), 1, "{logs}");
    assert_eq!(events[0]["ip"], flood);
    assert_eq!(events[0]["details"]["stage"], "legacy-lookups");

    // Another address is not affected.
    let (s, _) = login_as(&h, &c, "legacy", "ghost@x.io", Some("198.51.100.7")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(seen.lookups.load(Ordering::SeqCst), 4);
    // A reset request from the spent address does not ask the legacy store
    // either (and writes nothing); from another address it does.
    let reset = |ip: &'static str, email: &'static str| {
        h.http
            .post(format!("{}/dbconnections/change_password", h.base))
            .header("x-forwarded-for", ip)
            .json(&json!({"client_id": c.0, "connection": "legacy", "email": email}))
            .send()
    };
    assert_eq!(
        reset(flood, "ghost-a@x.io").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        reset("198.51.100.8", "ghost-b@x.io")
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let fcpr = || async {
        let (_, logs) = h
            .api(&t, Method::GET, "/logs?q=type:fcpr&per_page=100", None)
            .await;
        logs.as_array().unwrap().len()
    };
    let mut waited = 0;
    while seen.lookups.load(Ordering::SeqCst) < 5 || fcpr().await < 1 {
        assert!(waited < 200, "the second reset request was not handled");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    assert_eq!(
        seen.lookups.load(Ordering::SeqCst),
        5,
        "one lookup: the other address's"
    );
    assert_eq!(fcpr().await, 1);

    // The next minute, the address has its budget again.
    h.state().clock.advance(60);
    let (s, _) = login_as(&h, &c, "legacy", "ghost9@x.io", Some(flood)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(seen.lookups.load(Ordering::SeqCst), 6);
    h.stop().await;
}

/// The HTTP connector reads at most 1 MiB of a legacy API's answer: a
/// login answered with 2 MiB fails as the legacy store failing (503),
/// nothing stored, and the log says why.
async fn http_connector_caps_the_answer(b: Backend) {
    use common::legacy;
    let app = axum::Router::new().route(
        "/login",
        axum::routing::post(|| async {
            format!(
                "{{\"id\": 1, \"email\": \"big@legacy.example\", \"pad\": \"{}\"}}",
                "x".repeat(2 << 20)
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (connector_id, connector_secret) = legacy::protect_legacy_api(&h, &t).await;
    let connector = legacy::http_connector(&base, &connector_id, json!({"retries": 0}));
    let (_, cid, secret) = legacy::legacy_connection(&h, &t, connector, &connector_secret).await;
    let (s, body) = legacy::login(&h, &cid, &secret, "big@legacy.example", "pw-1").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let failed = legacy::log_descriptions(&h, &t, "f").await;
    assert!(
        failed
            .iter()
            .any(|d| d.contains("larger than 1048576 bytes")),
        "{failed:?}"
    );
    let (_, users) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=big@legacy.example",
            None,
        )
        .await;
    assert_eq!(users, json!([]), "nothing stored");
    h.stop().await;
}

both_backends!(
    http_connector_caps_the_answer,
    http_limits,
    database_limits,
    unknown_users_spend_the_address_budget
);
