#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The `sql` connector end to end: legacy users in a real MariaDB (a table of
//! its own in database `test`), PostgreSQL (a fresh database) and SQLite (a
//! temp file), with password hashes made by Python (`fixtures/sql_connector/
//! generate.py`: pyca bcrypt, libpass phpass and md5-crypt, hashlib salted
//! SHA-256), migrating through the password-realm grant of `/oauth/token`.

mod common;

use std::time::{Duration, Instant};

use common::{Backend, Harness, PgDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, MySqlConnection, SqliteConnection};

const MARIADB: &str = "mysql://root@127.0.0.1:3306/test";

/// A legacy user of the fixture file.
#[derive(Debug, Clone)]
struct Legacy {
    id: i64,
    email: String,
    password: String,
    format: String,
    hash: String,
    salt: Option<String>,
    name: Option<String>,
    verified: bool,
    metadata: Option<Value>,
}

fn fixture() -> Vec<Legacy> {
    let raw: Value =
        serde_json::from_str(include_str!("fixtures/sql_connector/users.json")).unwrap();
    raw["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| Legacy {
            id: u["id"].as_i64().unwrap(),
            email: u["email"].as_str().unwrap().into(),
            password: u["password"].as_str().unwrap().into(),
            format: u["format"].as_str().unwrap().into(),
            hash: u["hash"].as_str().unwrap().into(),
            salt: u["salt"].as_str().map(str::to_string),
            name: u["name"].as_str().map(str::to_string),
            verified: u["verified"].as_bool().unwrap(),
            metadata: Some(u["metadata"].clone()).filter(|m| !m.is_null()),
        })
        .collect()
}

fn of_format(users: &[Legacy], formats: &[&str]) -> Vec<Legacy> {
    users
        .iter()
        .filter(|u| formats.contains(&u.format.as_str()))
        .cloned()
        .collect()
}

/// A SQL string literal (fixture values hold no backslashes).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn opt_lit(s: Option<&str>) -> String {
    s.map_or("NULL".into(), lit)
}

/// A MariaDB table of its own in database `test`, dropped on `Drop`.
struct MariaTable {
    name: String,
}

impl MariaTable {
    async fn create(columns: &str) -> Self {
        let name = format!("tern_legacy_{}", uuid::Uuid::new_v4().simple());
        maria(&format!("CREATE TABLE {name} ({columns})")).await;
        Self { name }
    }
}

impl Drop for MariaTable {
    fn drop(&mut self) {
        let sql = format!("DROP TABLE IF EXISTS {}", self.name);
        // Drop runs inside the test's runtime: a thread of its own may block.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(maria(&sql));
        })
        .join()
        .unwrap();
    }
}

async fn maria(sql: &str) {
    let mut c = MySqlConnection::connect(MARIADB).await.unwrap();
    c.execute(sqlx::AssertSqlSafe(sql.to_string()))
        .await
        .unwrap();
}

async fn maria_rows(sql: &str) -> Vec<(i64, i64)> {
    let mut c = MySqlConnection::connect(MARIADB).await.unwrap();
    sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&mut c)
        .await
        .unwrap()
}

fn psql(url: &str, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Create a lazily migrating connection with this connector; returns the
/// client id and secret of an application enabled on it.
async fn connection(
    h: &Harness,
    t: &str,
    name: &str,
    connector: Value,
    configuration: Value,
) -> (String, String, String) {
    let (cid, secret) = h.password_client(t).await;
    let (s, c) = h
        .api(t, Method::POST, "/connections", Some(json!({"name": name, "strategy": "auth0", "enabled_clients": [h.info.client_id, cid],
            "options": {"enabledDatabaseCustomization": true, "import_mode": true, "passwordPolicy": "none",
                        "tern_connector": connector, "configuration": configuration}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    (cid, secret, c["id"].as_str().unwrap().to_string())
}

async fn login(
    h: &Harness,
    client: &(String, String),
    realm: &str,
    user: &str,
    pw: &str,
) -> (StatusCode, Value) {
    h.token(json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": client.0, "client_secret": client.1,
                   "username": user, "password": pw, "realm": realm, "scope": "openid email"}))
        .await
}

async fn user(h: &Harness, t: &str, id: i64) -> Value {
    h.api(t, Method::GET, &format!("/users/auth0%7C{id}"), None)
        .await
        .1
}

/// Tenant log descriptions of one event type, newest first.
async fn log_lines(h: &Harness, t: &str, kind: &str) -> Vec<String> {
    let (_, logs) = h
        .api(t, Method::GET, &format!("/logs?q=type:{kind}"), None)
        .await;
    logs.as_array()
        .unwrap()
        .iter()
        .map(|l| l["description"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// MariaDB, self-describing hashes ("auto"), a mark_migrated statement, and
/// the legacy table dropped once everyone who matters has migrated.
async fn mariadb_users_migrate(b: Backend) {
    let users = of_format(&fixture(), &["bcrypt", "phpass", "md5-crypt"]);
    assert_eq!(users.len(), 4);
    let table = MariaTable::create(
        "id INT PRIMARY KEY, email VARCHAR(255), pass VARCHAR(255), verified TINYINT(1), full_name VARCHAR(255), meta TEXT, migrated TINYINT(1) NOT NULL DEFAULT 0",
    )
    .await;
    for u in &users {
        maria(&format!(
            "INSERT INTO {} (id, email, pass, verified, full_name, meta) VALUES ({}, {}, {}, {}, {}, {})",
            table.name,
            u.id,
            lit(&u.email),
            lit(&u.hash),
            i32::from(u.verified),
            opt_lit(u.name.as_deref()),
            opt_lit(u.metadata.as_ref().map(Value::to_string).as_deref()),
        ))
        .await;
    }
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let connector = json!({"type": "sql", "dsn": MARIADB,
        "lookup_query": format!("SELECT id, email, pass, verified, full_name, meta FROM {} WHERE email = :identifier", table.name),
        "columns": {"user_id": "id", "email": "email", "password_hash": "pass", "email_verified": "verified", "name": "full_name", "app_metadata": "meta"},
        "hash_format": "auto",
        "mark_migrated": format!("UPDATE {} SET migrated = 1 WHERE id = :user_id", table.name)});
    let (cid, secret, _) = connection(&h, &t, "maria-legacy", connector, json!({})).await;
    let client = (cid, secret);

    // Every hash format logs in, except Dave (id 4), who stays behind.
    for u in users.iter().filter(|u| u.id != 4) {
        let (s, body) = login(
            &h,
            &client,
            "maria-legacy",
            &u.email.to_lowercase(),
            &u.password,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{} ({}): {body}", u.email, u.format);
        let stored = user(&h, &t, u.id).await;
        assert_eq!(stored["email"], u.email.to_lowercase());
        assert_eq!(stored["email_verified"], u.verified, "{stored}");
        assert_eq!(stored["name"].as_str(), u.name.as_deref());
        assert_eq!(
            stored["app_metadata"],
            u.metadata.clone().unwrap_or(json!({}))
        );
        assert_eq!(stored["identities"][0]["connection"], "maria-legacy");
    }
    // mark_migrated ran for exactly the migrated users.
    let flags = maria_rows(&format!(
        "SELECT id, migrated FROM {} ORDER BY id",
        table.name
    ))
    .await;
    assert_eq!(flags, vec![(1, 1), (2, 1), (3, 1), (4, 0)]);

    // Wrong password and unknown user: 403, logged, nothing stored.
    let (s, body) = login(
        &h,
        &client,
        "maria-legacy",
        "dave@legacy.example",
        "not his password",
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{body}"
    );
    let (s, _) = login(
        &h,
        &client,
        "maria-legacy",
        "nobody@legacy.example",
        "whatever",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(user(&h, &t, 4).await["statusCode"], 404);
    assert!(
        !log_lines(&h, &t, "fp").await.is_empty(),
        "wrong password of a legacy user: fp"
    );
    assert!(
        !log_lines(&h, &t, "fu").await.is_empty(),
        "unknown user: fu"
    );
    assert_eq!(
        maria_rows(&format!(
            "SELECT id, migrated FROM {} WHERE id = 4",
            table.name
        ))
        .await,
        vec![(4, 0)]
    );

    // The legacy table goes away: migrated users never needed it again.
    maria(&format!("DROP TABLE {}", table.name)).await;
    let ada = &users[0];
    let (s, body) = login(&h, &client, "maria-legacy", &ada.email, &ada.password).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "a migrated user does not touch the legacy database: {body}"
    );
    let (s, body) = login(
        &h,
        &client,
        "maria-legacy",
        "dave@legacy.example",
        &users[3].password,
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("temporarily_unavailable")
        ),
        "{body}"
    );
    let fails = log_lines(&h, &t, "f").await;
    assert!(
        fails
            .iter()
            .any(|l| l.contains("SQL connector") && l.contains("doesn't exist")),
        "{fails:?}"
    );
    assert_eq!(
        user(&h, &t, 4).await["statusCode"],
        404,
        "nothing half-written"
    );
    h.stop().await;
}

/// PostgreSQL, a home-grown salted SHA-256 described by a custom_password_hash
/// template (digest stored raw in a bytea column, salt in its own column),
/// the password from options.configuration, integer ids in mark_migrated.
async fn postgres_users_migrate(b: Backend) {
    let users = of_format(&fixture(), &["sha256-salted"]);
    assert_eq!(users.len(), 3);
    let legacy = PgDatabase::create();
    let url = legacy.url();
    psql(
        &url,
        "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT, digest BYTEA, salt TEXT, verified BOOLEAN, name TEXT, meta JSONB, migrated_at TIMESTAMPTZ)",
    );
    for u in &users {
        psql(
            &url,
            &format!(
                "INSERT INTO users (id, email, digest, salt, verified, name, meta) VALUES ({}, {}, decode({}, 'hex'), {}, {}, {}, {})",
                u.id,
                lit(&u.email),
                lit(&u.hash),
                opt_lit(u.salt.as_deref()),
                u.verified,
                opt_lit(u.name.as_deref()),
                opt_lit(u.metadata.as_ref().map(Value::to_string).as_deref()),
            ),
        );
    }
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let dsn = format!(
        "postgres://postgres:${{configuration.LEGACY_DB_PASSWORD}}@127.0.0.1:5432/{}",
        legacy.name
    );
    let mut connector = json!({"type": "sql", "dsn": dsn,
        "lookup_query": "SELECT id, email, digest, salt, verified, name, meta FROM users WHERE email = $1",
        "columns": {"user_id": "id", "email": "email", "password_hash": "digest", "email_verified": "verified", "name": "name", "app_metadata": "meta"},
        "hash_format": {"algorithm": "sha256", "hash": {"encoding": "hex"}, "salt": {"column": "salt", "position": "prefix"}},
        "mark_migrated": "UPDATE users SET migrated_at = now() WHERE id = :user_id",
        "timeout_ms": 3000});
    let configuration = json!({"LEGACY_DB_PASSWORD": "pg-Secret-4-legacy"});
    let (cid, secret, conn_id) = connection(
        &h,
        &t,
        "pg-legacy",
        connector.clone(),
        configuration.clone(),
    )
    .await;
    let client = (cid, secret);

    for u in &users[..2] {
        let (s, body) = login(&h, &client, "pg-legacy", &u.email, &u.password).await;
        assert_eq!(s, StatusCode::OK, "{}: {body}", u.email);
        let stored = user(&h, &t, u.id).await;
        assert_eq!(stored["email_verified"], true);
        assert_eq!(
            stored["app_metadata"],
            u.metadata.clone().unwrap_or(json!({})),
            "jsonb (or NULL) metadata"
        );
    }
    assert_eq!(
        psql(
            &url,
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM users WHERE migrated_at IS NOT NULL"
        ),
        "5,6",
        "{:?}",
        log_lines(&h, &t, "w").await
    );

    let grace = &users[2];
    let (s, _) = login(&h, &client, "pg-legacy", &grace.email, "Wrong-password").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Two legacy rows for one identifier: refused, never a guess.
    psql(
        &url,
        &format!(
            "INSERT INTO users (id, email, digest, salt) VALUES (99, {}, decode('00', 'hex'), 'x')",
            lit(&grace.email)
        ),
    );
    let (s, body) = login(&h, &client, "pg-legacy", &grace.email, &grace.password).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("temporarily_unavailable")
        ),
        "{body}"
    );
    let fails = log_lines(&h, &t, "f").await;
    assert!(
        fails
            .iter()
            .any(|l| l.contains("two legacy users share this identifier")),
        "{fails:?}"
    );
    assert_eq!(user(&h, &t, grace.id).await["statusCode"], 404);

    // Changed settings take effect at once (the connector is rebuilt).
    connector["lookup_query"] = json!(
        "SELECT id, email, digest, salt, verified, name, meta FROM users WHERE email = :identifier AND id < 99"
    );
    let (s, b2) = h
        .api(&t, Method::PATCH, &format!("/connections/{conn_id}"), Some(json!({"options": {"enabledDatabaseCustomization": true, "import_mode": true,
            "passwordPolicy": "none", "tern_connector": connector, "configuration": configuration}})))
        .await;
    assert_eq!(s, StatusCode::OK, "{b2}");
    let (s, body) = login(&h, &client, "pg-legacy", &grace.email, &grace.password).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        psql(
            &url,
            "SELECT count(*) FROM users WHERE migrated_at IS NOT NULL"
        ),
        "3"
    );

    // A lookup "query" that writes is refused when it is saved (and without
    // mark_migrated the session is read-only besides).
    let sneaky = json!({"type": "sql", "dsn": format!("postgres://postgres@127.0.0.1:5432/{}", legacy.name),
        "lookup_query": "WITH gone AS (DELETE FROM users WHERE email = :identifier RETURNING *) SELECT id, email, digest FROM gone",
        "columns": {"user_id": "id", "email": "email", "password_hash": "digest"}});
    let (s, e) = h
        .api(&t, Method::POST, "/connections", Some(json!({"name": "pg-readonly", "strategy": "auth0",
            "options": {"enabledDatabaseCustomization": true, "import_mode": true, "tern_connector": sneaky}})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("lookup_query may not use DELETE"),
        "{e}"
    );

    // The legacy table goes away; migrated users keep logging in.
    psql(&url, "DROP TABLE users");
    for u in &users {
        let (s, body) = login(&h, &client, "pg-legacy", &u.email, &u.password).await;
        assert_eq!(s, StatusCode::OK, "{}: {body}", u.email);
    }
    h.stop().await;
}

/// SQLite, logins by email or username through one `:identifier` used twice,
/// text ids, no mark_migrated (the file is opened read-only).
async fn sqlite_users_migrate(b: Backend) {
    let users = of_format(&fixture(), &["bcrypt", "phpass", "md5-crypt"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("legacy.db");
    let dsn = format!("sqlite:{}", file.display());
    {
        let mut c = SqliteConnection::connect(&format!("{dsn}?mode=rwc"))
            .await
            .unwrap();
        c.execute("CREATE TABLE members (uid TEXT PRIMARY KEY, mail TEXT, login TEXT, pwhash TEXT, given TEXT, prefs TEXT)").await.unwrap();
        for u in &users {
            let login_name = u.email.split('@').next().unwrap().to_lowercase();
            c.execute(sqlx::AssertSqlSafe(format!(
                "INSERT INTO members VALUES ('m-{}', {}, {}, {}, {}, '{{\"theme\": \"dark\"}}')",
                u.id,
                lit(&u.email),
                lit(&login_name),
                lit(&u.hash),
                opt_lit(u.name.as_deref()),
            )))
            .await
            .unwrap();
        }
        c.close().await.unwrap();
    }
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let connector = json!({"type": "sql", "dsn": dsn,
        "lookup_query": "SELECT uid, mail, login, pwhash, given, prefs FROM members WHERE lower(mail) = lower(:identifier) OR login = :identifier",
        "columns": {"user_id": "uid", "email": "mail", "username": "login", "password_hash": "pwhash", "given_name": "given", "user_metadata": "prefs"}});
    let (cid, secret, _) = connection(&h, &t, "lite-legacy", connector, json!({})).await;
    let client = (cid, secret);

    // Carol by username, Bob by his email in another case.
    let carol = users.iter().find(|u| u.email.starts_with("carol")).unwrap();
    let (s, body) = login(&h, &client, "lite-legacy", "carol", &carol.password).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, stored) = h.api(&t, Method::GET, "/users/auth0%7Cm-3", None).await;
    assert_eq!(
        (stored["username"].as_str(), stored["email"].as_str()),
        (Some("carol"), Some("carol@legacy.example")),
        "{stored}"
    );
    assert_eq!(stored["user_metadata"], json!({"theme": "dark"}));
    assert_eq!(stored["given_name"], "Carol");
    let bob = users.iter().find(|u| u.format == "phpass").unwrap();
    let (s, body) = login(
        &h,
        &client,
        "lite-legacy",
        "BOB@legacy.EXAMPLE",
        &bob.password,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = login(&h, &client, "lite-legacy", "carol@legacy.example", "Wrong").await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a migrated user's password is Tern's to check now"
    );

    // A legacy row cannot fill Tern's store or memory: a row over 1 MiB is
    // refused as it is read, metadata over the Management API's 16 KB
    // before anything is stored.
    let ada = &users[0];
    for (prefs_bytes, why) in [
        (
            2 << 20,
            "the lookup query returns a row of more than 1048576 bytes (column 'prefs' passes it)",
        ),
        (
            20 << 10,
            "the profile's user_metadata is 20491 bytes; Tern keeps at most 16384",
        ),
    ] {
        let mut c = SqliteConnection::connect(&dsn).await.unwrap();
        c.execute(sqlx::AssertSqlSafe(format!(
            "UPDATE members SET prefs = json_object('blob', printf('%.{prefs_bytes}c', 'x')) WHERE mail = {}",
            lit(&ada.email)
        )))
        .await
        .unwrap();
        c.close().await.unwrap();
        let (s, body) = login(&h, &client, "lite-legacy", &ada.email, &ada.password).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let fails = log_lines(&h, &t, "f").await;
        assert!(fails.iter().any(|l| l.contains(why)), "{why}: {fails:?}");
        let (_, none) = h
            .api(
                &t,
                Method::GET,
                &format!("/users/auth0%7Cm-{}", ada.id),
                None,
            )
            .await;
        assert_eq!(none["statusCode"], 404, "nothing stored");
    }

    // The legacy table goes away; migrated users still log in, the rest get a clear 503.
    {
        let mut c = SqliteConnection::connect(&dsn).await.unwrap();
        c.execute("DROP TABLE members").await.unwrap();
        c.close().await.unwrap();
    }
    let (s, body) = login(
        &h,
        &client,
        "lite-legacy",
        "carol@legacy.example",
        &carol.password,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = login(&h, &client, "lite-legacy", &ada.email, &ada.password).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let fails = log_lines(&h, &t, "f").await;
    assert!(
        fails.iter().any(|l| l.contains("no such table: members")),
        "{fails:?}"
    );

    // A mistyped path fails; it does not create an empty database.
    let missing = dir.path().join("typo.db");
    let connector = json!({"type": "sql", "dsn": format!("sqlite:{}", missing.display()),
        "lookup_query": "SELECT uid, mail, pwhash FROM members WHERE mail = ?",
        "columns": {"user_id": "uid", "email": "mail", "password_hash": "pwhash"}});
    let (cid, secret, _) = connection(&h, &t, "typo-legacy", connector, json!({})).await;
    let (s, _) = login(&h, &(cid, secret), "typo-legacy", &ada.email, &ada.password).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let fails = log_lines(&h, &t, "f").await;
    assert!(
        fails.iter().any(|l| l.contains("typo.db cannot be opened")),
        "{fails:?}"
    );
    assert!(!missing.exists());
    h.stop().await;
}

/// A database that is down or silent: a quick 503, a tenant log that says
/// why without the DSN password, nothing stored; bad settings refused.
async fn legacy_database_down(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let password = "Sup3r-S3cret/pw@";
    // Port 1: nothing listens, the connection is refused at once.
    let refused = json!({"type": "sql", "dsn": "postgres://legacy_ro:${configuration.PW}@127.0.0.1:1/legacy",
        "lookup_query": "SELECT id, email, pw FROM users WHERE email = :identifier",
        "columns": {"user_id": "id", "email": "email", "password_hash": "pw"}});
    let client = connection(&h, &t, "down-legacy", refused, json!({"PW": password})).await;
    let started = Instant::now();
    let (s, body) = login(
        &h,
        &client_pair(&client),
        "down-legacy",
        "ann@legacy.example",
        "pw",
    )
    .await;
    let took = started.elapsed();
    assert_eq!(
        (s, body["error"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("temporarily_unavailable")
        ),
        "{body}"
    );
    assert!(
        took < Duration::from_secs(2),
        "a refused connection fails at once, not after the timeout: {took:?}"
    );
    let fails = log_lines(&h, &t, "f").await;
    let line = fails
        .iter()
        .find(|l| l.contains("SQL connector"))
        .unwrap_or_else(|| panic!("{fails:?}"));
    assert!(
        line.contains("postgres://legacy_ro:***@127.0.0.1:1/legacy"),
        "{line}"
    );
    assert!(line.to_lowercase().contains("refused"), "says why: {line}");
    assert!(
        !line.contains("Sup3r") && !line.contains("S3cret"),
        "no DSN password in the log: {line}"
    );
    let (_, list) = h
        .api(
            &t,
            Method::GET,
            "/users?q=email:%22ann@legacy.example%22&include_totals=true",
            None,
        )
        .await;
    assert_eq!(list["total"], 0, "{list}");

    // A server that accepts connections and never answers: the timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mute = json!({"type": "sql", "dsn": format!("mysql://root:${{configuration.PW}}@127.0.0.1:{port}/legacy"),
        "lookup_query": "SELECT id, email, pw FROM users WHERE email = ?",
        "columns": {"user_id": "id", "email": "email", "password_hash": "pw"}, "timeout_ms": 400});
    let client = connection(&h, &t, "mute-legacy", mute, json!({"PW": password})).await;
    let started = Instant::now();
    let (s, _) = login(
        &h,
        &client_pair(&client),
        "mute-legacy",
        "ann@legacy.example",
        "pw",
    )
    .await;
    let took = started.elapsed();
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let fails = log_lines(&h, &t, "f").await;
    assert!(
        fails
            .iter()
            .any(|l| l.contains("did not answer the lookup query within 400 ms")),
        "{fails:?}"
    );
    assert!(fails.iter().all(|l| !l.contains("Sup3r")), "{fails:?}");
    drop(silent);

    // Settings are checked when saved, naming the field.
    let bad = [
        (
            json!({"type": "sql", "dsn": "postgres://u@h/db", "lookup_query": "SELECT * FROM users WHERE email = :identifier", "columns": {"user_id": "id", "email": "email"}}),
            "options.tern_connector.columns.password_hash is required",
        ),
        (
            json!({"type": "sql", "dsn": "oracle://u@h/db", "lookup_query": "SELECT 1", "columns": {}}),
            "options.tern_connector.dsn must start",
        ),
        (
            json!({"type": "sql", "dsn": "postgres://u@h/db", "lookup_query": "SELECT * FROM users", "columns": {"user_id": "id", "email": "email", "password_hash": "pw"}}),
            "options.tern_connector.lookup_query must use the identifier",
        ),
        (
            json!({"type": "sql", "dsn": "postgres://u@h/db", "lookup_query": "SELECT * FROM users WHERE email = $1", "columns": {"user_id": "id", "email": "email", "password_hash": "pw"}, "hash_format": "sha-256"}),
            "options.tern_connector.hash_format",
        ),
        (json!({"type": "ldap"}), "options.tern_connector.type"),
    ];
    for (connector, want) in bad {
        let (s, body) = h
            .api(&t, Method::POST, "/connections", Some(json!({"name": "bad-legacy", "strategy": "auth0",
                "options": {"enabledDatabaseCustomization": true, "import_mode": true, "tern_connector": connector}})))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains(want),
            "{want}: {body}"
        );
    }
    h.stop().await;
}

fn client_pair(c: &(String, String, String)) -> (String, String) {
    (c.0.clone(), c.1.clone())
}

both_backends!(
    mariadb_users_migrate,
    postgres_users_migrate,
    sqlite_users_migrate,
    legacy_database_down
);
