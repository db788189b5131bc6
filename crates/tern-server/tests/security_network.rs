#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Issue 11, items 1 and 3, against the real server: what a holder of
//! `update:connections` (a script or connector author) can make Tern reach.
//! Every probe targets something real on 127.0.0.1 — a service standing for
//! an internal system, Tern's own endpoints, PostgreSQL, Tern's own SQLite
//! file — and the network policy (`network.allow`, `network.sqlite_dirs`)
//! must refuse it unless the operator allowed it.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{any, get};
use common::legacy::{
    http_connector, legacy_connection, log_descriptions, login, protect_legacy_api,
};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SECRET_BODY: &str = "internal-secret-4711";

/// A service on 127.0.0.1 standing for an internal system: `/secret`
/// answers a secret, `/login` counts the calls it got (or redirects them to
/// `redirect_to`), `/to/{port}` redirects to another port's `/secret`.
struct Internal {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
}

async fn internal(redirect_to: Option<SocketAddr>) -> Internal {
    let calls = Arc::new(AtomicUsize::new(0));
    let state = (calls.clone(), redirect_to);
    let app = Router::new()
        .route("/secret", get(|| async { SECRET_BODY }))
        .route(
            "/to/{port}",
            get(
                |axum::extract::Path(port): axum::extract::Path<u16>| async move {
                    Redirect::temporary(&format!("http://127.0.0.1:{port}/secret"))
                },
            ),
        )
        .route(
            "/login",
            any(
                |State((calls, to)): State<(Arc<AtomicUsize>, Option<SocketAddr>)>| async move {
                    match to {
                        Some(to) => {
                            Redirect::temporary(&format!("http://{to}/login")).into_response()
                        }
                        None => {
                            calls.fetch_add(1, Ordering::SeqCst);
                            (StatusCode::UNAUTHORIZED, "{}").into_response()
                        }
                    }
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Internal { addr, calls }
}

/// A connection with scripts on, to run sources through the try endpoint.
async fn script_connection(h: &Harness, t: &str) -> String {
    let (s, c) = h
        .api(
            t,
            Method::POST,
            "/connections",
            Some(json!({"name": "scripted", "strategy": "auth0",
            "options": {"enabledDatabaseCustomization": true, "import_mode": true,
                        "customScripts": {"login": "function login(e, p, cb) { cb(); }"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c["id"].as_str().unwrap().to_string()
}

/// What a login script calling `fetch(url)` got: the body, or the error.
async fn script_fetch(h: &Harness, t: &str, conn: &str, url: &str) -> String {
    let src = format!(
        "async function login(e, p, cb) {{ try {{ const r = await fetch({url:?}); cb(null, {{user_id: 'x', body: await r.text()}}); }} catch (err) {{ cb(null, {{user_id: 'x', body: 'ERR ' + err.code + ' ' + err.message}}); }} }}"
    );
    let (s, r) = h
        .api(
            t,
            Method::POST,
            &format!("/connections/{conn}/scripts/login/try"),
            Some(json!({"email": "a@b.example", "password": "pw", "script": src})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    r["result"]["body"].as_str().unwrap_or_default().to_string()
}

fn refused(answer: &str) {
    assert!(
        answer.starts_with("ERR ENOTALLOWED") && answer.contains("network.allow"),
        "refused, naming the setting: {answer}"
    );
    assert!(!answer.contains(SECRET_BODY), "{answer}");
}

/// Defaults (no `network.allow`): scripts reach no loopback service, not
/// Tern's own endpoints, not cloud metadata, not through a name or an
/// IPv4-mapped address, and not PostgreSQL on 127.0.0.1.
async fn scripts_are_refused_by_default(b: Backend) {
    let h = Harness::start_with(b, |c| c.network.allow.clear()).await;
    let t = h.admin_token().await;
    let conn = script_connection(&h, &t).await;
    let svc = internal(None).await;
    let port = svc.addr.port();

    refused(&script_fetch(&h, &t, &conn, &format!("http://127.0.0.1:{port}/secret")).await);
    let by_name = script_fetch(&h, &t, &conn, &format!("http://localhost:{port}/secret")).await;
    refused(&by_name);
    // The name as written and the class of what it resolved to; the
    // address itself would tell the author how internal names resolve.
    assert!(
        by_name.contains(&format!(
            "localhost:{port} is refused: it resolves to a loopback"
        )),
        "{by_name}"
    );
    assert!(!by_name.contains("127.0.0.1"), "{by_name}");
    refused(
        &script_fetch(
            &h,
            &t,
            &conn,
            &format!("http://[::ffff:127.0.0.1]:{port}/secret"),
        )
        .await,
    );
    refused(&script_fetch(&h, &t, &conn, &format!("http://2130706433:{port}/secret")).await);
    let own = script_fetch(
        &h,
        &t,
        &conn,
        &format!("{}/.well-known/openid-configuration", h.base),
    )
    .await;
    refused(&own);
    let metadata = script_fetch(&h, &t, &conn, "http://169.254.169.254/latest/meta-data/").await;
    refused(&metadata);
    assert!(metadata.contains("link-local"), "{metadata}");

    // The pg module: PostgreSQL on 127.0.0.1 (by name, too) is refused.
    for host in ["127.0.0.1", "localhost"] {
        let src = format!(
            "function login(e, p, cb) {{ const {{ Client }} = require('pg'); const c = new Client({{host: '{host}', port: 5432, user: 'postgres', database: 'postgres'}}); c.connect(function (err) {{ cb(null, {{user_id: 'x', body: err ? 'ERR ' + err.code + ' ' + err.message : 'connected'}}); }}); }}"
        );
        let (s, r) = h
            .api(
                &t,
                Method::POST,
                &format!("/connections/{conn}/scripts/login/try"),
                Some(json!({"email": "a@b.example", "password": "pw", "script": src})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        refused(r["result"]["body"].as_str().unwrap());
    }
    h.stop().await;
}

/// An allowed legacy system works; a redirect from it to a refused address
/// is refused at that hop; a broad rule (`127.0.0.1`) never opens Tern's own
/// port.
async fn allowed_hosts_work_and_redirects_are_checked(b: Backend) {
    let svc = internal(None).await;
    let other = internal(None).await;
    let allow = format!("127.0.0.1:{}", svc.addr.port());
    let h = Harness::start_with(b, |c| c.network.allow = vec![allow]).await;
    let t = h.admin_token().await;
    let conn = script_connection(&h, &t).await;

    let ok = script_fetch(&h, &t, &conn, &format!("http://{}/secret", svc.addr)).await;
    assert_eq!(ok, SECRET_BODY);
    refused(&script_fetch(&h, &t, &conn, &format!("http://{}/secret", other.addr)).await);
    let hop = script_fetch(
        &h,
        &t,
        &conn,
        &format!("http://{}/to/{}", svc.addr, other.addr.port()),
    )
    .await;
    refused(&hop);
    assert!(hop.contains(&other.addr.port().to_string()), "{hop}");
    h.stop().await;

    let h = Harness::start_with(b, |c| c.network.allow = vec!["127.0.0.1".into()]).await;
    let t = h.admin_token().await;
    let conn = script_connection(&h, &t).await;
    assert_eq!(
        script_fetch(&h, &t, &conn, &format!("http://{}/secret", other.addr)).await,
        SECRET_BODY
    );
    let own = script_fetch(&h, &t, &conn, &format!("{}/.well-known/jwks.json", h.base)).await;
    refused(&own);
    assert!(own.contains("Tern's own"), "{own}");
    h.stop().await;
}

/// The HTTP connector sends a Tern-minted token and the typed password:
/// never to a refused address, not even through a redirect of an allowed one.
async fn http_connector_is_refused(b: Backend) {
    let target = internal(None).await;
    let redirector = internal(Some(target.addr)).await;
    let allow = format!("127.0.0.1:{}", redirector.addr.port());
    let h = Harness::start_with(b, |c| c.network.allow = vec![allow]).await;
    let t = h.admin_token().await;
    let (mid, msecret) = protect_legacy_api(&h, &t).await;

    let by_name = format!("localhost:{}", target.addr.port());
    for (base, what, named) in [
        (
            format!("http://{}", target.addr),
            "loopback",
            target.addr.to_string(),
        ),
        (
            format!("http://{}", redirector.addr),
            "redirect",
            target.addr.to_string(),
        ),
        (format!("http://{by_name}"), "name", by_name.clone()),
    ] {
        let (conn_id, cid, secret) = legacy_connection(
            &h,
            &t,
            http_connector(&base, &mid, json!({"retries": 0})),
            &msecret,
        )
        .await;
        let (s, body) = login(&h, &cid, &secret, "ada@legacy.example", "analytical-engine").await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
        let logged = log_descriptions(&h, &t, "f").await;
        let refusal = logged
            .iter()
            .find(|l| l.contains("network.allow") && l.contains(&named))
            .unwrap_or_else(|| panic!("{what}: {logged:?}"));
        // The tenant's log names a name as written, never what it resolved to.
        if what == "name" {
            assert!(!refusal.contains("127.0.0.1"), "{refusal}");
        }
        let (s, _) = h
            .api(&t, Method::DELETE, &format!("/connections/{conn_id}"), None)
            .await;
        assert_eq!(s, StatusCode::ACCEPTED);
    }
    assert_eq!(
        target.calls.load(Ordering::SeqCst),
        0,
        "no request (token, password) reached the refused address"
    );
    h.stop().await;
}

/// Create a connection with this connector; the answer, and a client
/// allowed the password grants on it.
async fn sql_connection(
    h: &Harness,
    t: &str,
    name: &str,
    connector: Value,
) -> (StatusCode, Value, (String, String)) {
    let client = h.password_client(t).await;
    let (s, c) = h.api(t, Method::POST, "/connections", Some(json!({"name": name, "strategy": "auth0", "enabled_clients": [client.0],
        "options": {"enabledDatabaseCustomization": true, "import_mode": true, "passwordPolicy": "none",
                    "tern_connector": connector}})))
        .await;
    (s, c, client)
}

/// Item 1: `sqlite:<data dir>/tern.db` (directly, through `..`, through a
/// symlink) is never opened, even inside a directory listed in
/// `network.sqlite_dirs`; the user never gets a name read from Tern's own
/// tables.
async fn sql_connector_never_opens_terns_data(b: Backend) {
    let outside = tempfile::tempdir().unwrap();
    let h = Harness::start_with(b, |c| c.network.sqlite_dirs = vec![std::env::temp_dir()]).await;
    let t = h.admin_token().await;
    let data = h.dir.path().to_path_buf();
    let own_db = match b {
        Backend::Sqlite => data.join("tern.db"),
        Backend::Postgres => data.join("secrets.key"),
    };
    assert!(own_db.exists());
    let link = outside.path().join("innocent.db");
    std::os::unix::fs::symlink(&own_db, &link).unwrap();
    let dotted = data
        .join("..")
        .join(data.file_name().unwrap())
        .join(own_db.file_name().unwrap());
    let hash = tern_hash::HashPolicy::bcrypt(4).unwrap().hash("pw-4711");
    let (cid, secret) = h.password_client(&t).await;
    for (i, path) in [own_db.clone(), dotted, link].into_iter().enumerate() {
        let name = format!("stolen-{i}");
        let (s, c) = h
            .api(&t, Method::POST, "/connections", Some(json!({"name": name, "strategy": "auth0", "enabled_clients": [cid],
                "options": {"enabledDatabaseCustomization": true, "import_mode": true, "passwordPolicy": "none",
                    "tern_connector": {"type": "sql", "dsn": format!("sqlite:{}", path.display()),
                        "lookup_query": format!("SELECT 'k{i}' AS id, :identifier AS email, '{hash}' AS pw, (SELECT group_concat(name) FROM sqlite_master) AS name"),
                        "columns": {"user_id": "id", "email": "email", "password_hash": "pw", "name": "name"}}}})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let (s, body) = h
            .token(json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": cid, "client_secret": secret,
                          "username": "thief@evil.example", "password": "pw-4711", "realm": name}))
            .await;
        assert_eq!(
            s,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}: {body}",
            path.display()
        );
        let (s, _) = h
            .api(&t, Method::GET, &format!("/users/auth0%7Ck{i}"), None)
            .await;
        assert_eq!(
            s,
            StatusCode::NOT_FOUND,
            "no user made from Tern's own tables"
        );
    }
    let logged = log_descriptions(&h, &t, "f").await;
    assert_eq!(
        logged
            .iter()
            .filter(|l| l.contains("Tern's own data"))
            .count(),
        3,
        "{logged:?}"
    );
    h.stop().await;
}

/// A connector's statements only read (lookup, count) or mark (mark_migrated)
/// the legacy users' rows: `VACUUM INTO`, `ATTACH`, `PRAGMA` and the like
/// are refused when the connection is saved (Auth0's envelope, naming the
/// field), and a statement stored before that rule is refused before it
/// runs — no file is written outside the legacy directory.
async fn sql_statements_touch_only_the_legacy_rows(b: Backend) {
    use sqlx::{Connection, Executor};
    let legacy = tempfile::tempdir().unwrap();
    let file = legacy.path().join("legacy.db");
    let hash = tern_hash::HashPolicy::bcrypt(4)
        .unwrap()
        .hash("Mallory-Pass-1");
    {
        let dsn = format!("sqlite:{}?mode=rwc", file.display());
        let mut c = sqlx::SqliteConnection::connect(&dsn).await.unwrap();
        c.execute("CREATE TABLE users (id TEXT, email TEXT, pw TEXT, migrated INT)")
            .await
            .unwrap();
        c.execute(sqlx::AssertSqlSafe(format!(
            "INSERT INTO users VALUES ('m-1', 'mallory@legacy.example', '{hash}', 0)"
        )))
        .await
        .unwrap();
        c.close().await.unwrap();
    }
    let dir = legacy.path().to_path_buf();
    let h = Harness::start_with(b, move |c| c.network.sqlite_dirs = vec![dir]).await;
    let t = h.admin_token().await;
    let data = h.dir.path().to_path_buf();
    let stolen = data.join("stolen-m-1.db");
    let tern_db = data.join("tern.db");
    let connector = |field: &str, sql: &str| {
        let mut c = json!({"type": "sql", "dsn": format!("sqlite:{}", file.display()),
            "lookup_query": "SELECT id, email, pw FROM users WHERE email = :identifier",
            "columns": {"user_id": "id", "email": "email", "password_hash": "pw"},
            "mark_migrated": "UPDATE users SET migrated = 1 WHERE id = :user_id"});
        c[field] = json!(sql);
        c
    };
    const WRITE: &str = "options.tern_connector.mark_migrated must be an UPDATE, INSERT or DELETE statement (or WITH … one of them): it only marks the migrated user.";
    let vacuum = format!(
        "VACUUM INTO '{}/stolen-' || :user_id || '.db'",
        data.display()
    );
    for (field, sql, want) in [
        ("mark_migrated", vacuum.clone(), WRITE.to_string()),
        (
            "mark_migrated",
            format!("ATTACH DATABASE '{}' || substr(:user_id, 1, 0) AS t", tern_db.display()),
            WRITE.to_string(),
        ),
        (
            "mark_migrated",
            "UPDATE users SET migrated = 1 WHERE id = :user_id AND load_extension('/tmp/x.so') IS NULL".into(),
            "options.tern_connector.mark_migrated may not use LOAD_EXTENSION: a connector statement only reads or marks the legacy users' rows, never other files, databases or the schema (quote it if it is a column name).".into(),
        ),
        (
            "lookup_query",
            "WITH x AS (SELECT 1) DELETE FROM users WHERE email = :identifier".into(),
            "options.tern_connector.lookup_query must be a SELECT (or WITH … SELECT) query: the connector only reads there.".into(),
        ),
        (
            "count_query",
            "PRAGMA table_info(users)".into(),
            "options.tern_connector.count_query must be a SELECT (or WITH … SELECT) query: the connector only reads there.".into(),
        ),
    ] {
        let (s, e, _) = sql_connection(&h, &t, "sneaky", connector(field, &sql)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{sql}: {e}");
        assert_eq!(e["statusCode"], 400, "Auth0's envelope: {e}");
        assert_eq!(
            e["message"],
            format!("Payload validation error: 'options.tern_connector' (sql): {want}."),
            "{sql}"
        );
    }

    // A VACUUM INTO stored before the rule: refused before it runs.
    let (s, c, (cid, secret)) = sql_connection(
        &h,
        &t,
        "stored-before",
        connector(
            "mark_migrated",
            "UPDATE users SET migrated = 1 WHERE id = :user_id",
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let st = h.state();
    let mut stored = st
        .store
        .get_connection(st.tid(), c["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    stored.options["tern_connector"]["mark_migrated"] = json!(vacuum);
    st.store.update_connection(st.tid(), &stored).await.unwrap();
    let (s, body) = h
        .token(json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": cid, "client_secret": secret,
                      "username": "mallory@legacy.example", "password": "Mallory-Pass-1", "realm": "stored-before"}))
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(!stolen.exists(), "VACUUM INTO wrote {}", stolen.display());
    let logged = log_descriptions(&h, &t, "f").await;
    assert!(logged.iter().any(|l| l.contains(WRITE)), "{logged:?}");
    h.stop().await;
}

/// Item 3: a PostgreSQL DSN naming an allowed host but overriding it in the
/// query string is refused at once; a name resolving to loopback is refused
/// at connect time, naming the setting.
async fn sql_connector_dsn_overrides_and_names(b: Backend) {
    let h = Harness::start_with(b, |c| c.network.allow = vec!["allowed.example".into()]).await;
    let t = h.admin_token().await;
    for dsn in [
        "postgres://postgres@allowed.example/postgres?host=127.0.0.1&port=5432",
        "postgres://postgres@allowed.example/postgres?hostaddr=127.0.0.1",
        "mysql://root@allowed.example/test?socket=/run/mysqld/mysqld.sock",
        "postgres://postgres@%2Frun%2Fpostgresql/postgres",
        // Files on Tern's machine (its data directory's keys, say).
        "postgres://postgres@allowed.example/postgres?sslmode=verify-full&sslkey=/etc/ssl/private/tern.key",
        "mysql://root@allowed.example/test?ssl-ca=/var/lib/tern/tern.db",
    ] {
        let (s, e, _) = sql_connection(
            &h,
            &t,
            "override",
            json!({"type": "sql", "dsn": dsn,
            "lookup_query": "SELECT 1 AS id, $1 AS email, 'x' AS pw",
            "columns": {"user_id": "id", "email": "email", "password_hash": "pw"}}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{dsn}: {e}");
        assert_eq!(e["statusCode"], 400, "Auth0's envelope: {e}");
        assert!(e["message"].as_str().unwrap().contains("dsn"), "{e}");
    }
    // By name: localhost resolves to 127.0.0.1, which is not allowed.
    let (s, c, (client, secret)) = sql_connection(
        &h,
        &t,
        "by-name",
        json!({"type": "sql", "dsn": "postgres://postgres@localhost:5432/postgres",
        "lookup_query": "SELECT 1 AS id, $1::text AS email, 'x' AS pw",
        "columns": {"user_id": "id", "email": "email", "password_hash": "pw"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (s, body) = h
        .token(json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": client,
                      "client_secret": secret, "username": "a@b.example", "password": "x", "realm": "by-name"}))
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let logged = log_descriptions(&h, &t, "f").await;
    assert!(
        logged
            .iter()
            .any(|l| l.contains("localhost:5432 is refused") && l.contains("network.allow")),
        "{logged:?}"
    );
    // The tenant's log does not say what the name resolved to.
    assert!(
        !logged.iter().any(|l| l.contains("127.0.0.1")),
        "{logged:?}"
    );
    h.stop().await;
}

/// Item 8: the try endpoint has its own scope; a DSN password in clear is
/// refused (Auth0's envelope, naming `${configuration.KEY}`); one stored
/// before that rule is answered masked.
async fn honest_secrets(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let conn = script_connection(&h, &t).await;
    let scoped = |scope: &'static str| {
        let h = &h;
        async move {
            h.m2m_token(
                &h.info.client_id,
                &h.info.client_secret,
                &h.info.audience,
                Some(scope),
            )
            .await
        }
    };
    let body = json!({"email": "a@b.example", "password": "pw",
        "script": "function login(e, p, cb) { cb(null, {user_id: 'x', k: btoa(configuration.K || '')}); }"});
    let path = format!("/connections/{conn}/scripts/login/try");
    let editor = scoped("update:connections read:connections").await;
    let (s, e) = h
        .api(&editor, Method::POST, &path, Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["statusCode"], 403, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("execute:connection_scripts"),
        "{e}"
    );
    let runner = scoped("execute:connection_scripts").await;
    let (s, r) = h.api(&runner, Method::POST, &path, Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{r}");

    let connector = |dsn: &str| {
        json!({"type": "sql", "dsn": dsn,
        "lookup_query": "SELECT 1 AS id, $1::text AS email, 'x' AS pw",
        "columns": {"user_id": "id", "email": "email", "password_hash": "pw"}})
    };
    let (s, e, _) = sql_connection(
        &h,
        &t,
        "clear-pw",
        connector("postgres://ro:hunter22@db.example/legacy"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(
        (e["statusCode"].as_u64(), e["error"].as_str()),
        (Some(400), Some("Bad Request")),
        "{e}"
    );
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("${configuration.KEY}") && !message.contains("hunter22"),
        "{message}"
    );
    let (s, c, _) = sql_connection(
        &h,
        &t,
        "ref-pw",
        connector("postgres://ro:${configuration.PW}@db.example/legacy"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "a reference is accepted: {c}");

    // A connection stored with a clear DSN password (before the rule): masked on read.
    let (s, c, _) = sql_connection(
        &h,
        &t,
        "old-pw",
        connector("postgres://ro@db.example/legacy"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["id"].as_str().unwrap();
    let st = h.state();
    let mut stored = st
        .store
        .get_connection(st.tid(), id)
        .await
        .unwrap()
        .unwrap();
    stored.options["tern_connector"]["dsn"] = json!("postgres://ro:hunter22@db.example/legacy");
    st.store.update_connection(st.tid(), &stored).await.unwrap();
    let (s, c) = h
        .api(&t, Method::GET, &format!("/connections/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        c["options"]["tern_connector"]["dsn"], "postgres://ro:********@db.example/legacy",
        "{c}"
    );
    let (_, all) = h.api(&t, Method::GET, "/connections", None).await;
    assert!(!all.to_string().contains("hunter22"), "{all}");
    h.stop().await;
}

both_backends!(
    honest_secrets,
    scripts_are_refused_by_default,
    allowed_hosts_work_and_redirects_are_checked,
    http_connector_is_refused,
    sql_connector_never_opens_terns_data,
    sql_connector_dsn_overrides_and_names,
    sql_statements_touch_only_the_legacy_rows
);
