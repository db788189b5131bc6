#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The README walkthrough "Move a legacy app's users to Tern", step by step
//! as a new user runs it: the real `tern serve` and `tern import` binaries,
//! `examples/legacy-api` (started through its library, the code its binary
//! runs; `legacy-api export` is its `export::import_file`), plain HTTP calls
//! for what the README does with curl. On SQLite and on PostgreSQL.
//!
//! It lives in the `tern` crate because only here is the `tern` binary built
//! for tests (`CARGO_BIN_EXE_tern`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const AUDIENCE: &str = "https://legacy-api.example/";
const REALM: &str = "legacy-users";
const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

/// Step 4b: the same migration with a script — Tern's machine token fetched
/// from Tern itself, then the legacy API called with it.
const LOGIN_SCRIPT: &str = r#"async function login(email, password, callback) {
  try {
    const t = await fetch(configuration.TERN_URL + '/oauth/token', {
      method: 'POST', headers: {'content-type': 'application/json'},
      body: JSON.stringify({grant_type: 'client_credentials', client_id: configuration.CLIENT_ID,
                            client_secret: configuration.CLIENT_SECRET, audience: configuration.AUDIENCE})});
    if (!t.ok) return callback(new Error('Tern refused the machine token: ' + t.status));
    const headers = {authorization: 'Bearer ' + (await t.json()).access_token, 'content-type': 'application/json'};
    const res = await fetch(configuration.LEGACY_API + '/login', {method: 'POST', headers,
                            body: JSON.stringify({username: email, password: password})});
    if (res.status === 401) return callback(new WrongUsernameOrPasswordError(email));
    if (!res.ok) return callback(new Error('legacy API answered ' + res.status));
    const u = await res.json();
    await fetch(configuration.LEGACY_API + '/users/' + u.id + '/migrated', {method: 'POST', headers});
    callback(null, {user_id: String(u.id), email: u.email, name: u.display_name,
                    email_verified: u.email_confirmed, app_metadata: {plan: u.account.plan}});
  } catch (e) { callback(e); }
}"#;

const GET_USER_SCRIPT: &str = r#"async function getByEmail(email, callback) {
  try {
    const t = await fetch(configuration.TERN_URL + '/oauth/token', {
      method: 'POST', headers: {'content-type': 'application/json'},
      body: JSON.stringify({grant_type: 'client_credentials', client_id: configuration.CLIENT_ID,
                            client_secret: configuration.CLIENT_SECRET, audience: configuration.AUDIENCE})});
    const headers = {authorization: 'Bearer ' + (await t.json()).access_token};
    const res = await fetch(configuration.LEGACY_API + '/users?email=' + encodeURIComponent(email), {headers});
    if (res.status === 404) return callback(null);
    if (!res.ok) return callback(new Error('legacy API answered ' + res.status));
    const u = await res.json();
    callback(null, {user_id: String(u.id), email: u.email, name: u.display_name, app_metadata: {plan: u.account.plan}});
  } catch (e) { callback(e); }
}"#;

/// Step 6: migration over — the legacy store is no longer asked.
const OFF: &str = "function login(email, password, callback) { return callback(); }";
const OFF_GET_USER: &str = "function getByEmail(email, callback) { return callback(); }";

struct Tern {
    child: Child,
    url: String,
}

impl Drop for Tern {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `tern serve --listen 127.0.0.1:PORT --public-url http://127.0.0.1:PORT`.
fn tern_serve(root: &std::path::Path, db: Option<&str>) -> Tern {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tern"));
    cmd.current_dir(root).args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--public-url",
        &url,
    ]);
    if let Some(db) = db {
        cmd.args(["--database-url", db]);
    }
    let mut child = cmd
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERN_LOG", "warn")
        // The README's step 1: the legacy API and database on this machine
        // are allowed explicitly, and Tern's own address by its exact port
        // (the scripts of step 4b fetch their token from it).
        .env(
            "TERN_NETWORK__ALLOW",
            format!("[\"127.0.0.1\", \"127.0.0.1:{port}\"]"),
        )
        .env(
            "TERN_NETWORK__SQLITE_DIRS",
            format!("[\"{}\"]", root.display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains(&url), "{line}");
    Tern { child, url }
}

struct Api<'a> {
    http: reqwest::Client,
    base: &'a str,
    token: String,
}

impl Api<'_> {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v2{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }
    async fn post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(s, 201, "POST {path}: {v}");
        v
    }
    async fn patch(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.call(reqwest::Method::PATCH, path, Some(body)).await;
        assert_eq!(s, 200, "PATCH {path}: {v}");
        v
    }
}

async fn token(http: &reqwest::Client, base: &str, body: Value) -> (u16, Value) {
    let r = http
        .post(format!("{base}/oauth/token"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

struct Seed {
    id: i64,
    email: String,
    password: String,
}

fn seed() -> Vec<Seed> {
    let doc: Value = serde_json::from_str(legacy_api::store::SEED).unwrap();
    doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| Seed {
            id: u["id"].as_i64().unwrap(),
            email: u["email"].as_str().unwrap().into(),
            password: u["demo_password"].as_str().unwrap().into(),
        })
        .collect()
}

async fn walkthrough(db: Option<&str>) {
    let root = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();

    // 1. Start Tern; take the admin credentials from tern-data/bootstrap.json.
    let tern = tern_serve(root.path(), db);
    let boot: Value = serde_json::from_slice(
        &std::fs::read(root.path().join("tern-data/bootstrap.json")).unwrap(),
    )
    .unwrap();
    let (s, t) = token(
        &http,
        &tern.url,
        json!({"grant_type": "client_credentials", "client_id": boot["client_id"],
        "client_secret": boot["client_secret"], "audience": boot["audience"]}),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let api = Api {
        http: http.clone(),
        base: &tern.url,
        token: t["access_token"].as_str().unwrap().to_string(),
    };

    // 2. Run the legacy API: it trusts Tern's keys, for its own audience.
    let legacy = legacy_api::start(legacy_api::Config {
        listen: "127.0.0.1:0".into(),
        issuer: format!("{}/", tern.url),
        jwks_url: None,
        audience: AUDIENCE.into(),
        db_path: root.path().join("legacy.db"),
        leeway_secs: 5,
    })
    .await
    .unwrap();
    let legacy_url = format!("http://{}", legacy.addr);

    // 3. The legacy API in Tern: machine-to-machine only; a machine client
    //    with a grant for it; the application users log in with.
    api.post(
        "/resource-servers",
        json!({"name": "Legacy API", "identifier": AUDIENCE, "tern_machine_to_machine_only": true,
        "scopes": [{"value": "read:users"}, {"value": "migrate:users"}]}),
    )
    .await;
    let m2m = api
        .post("/clients", json!({"name": "legacy-connector", "app_type": "non_interactive", "grant_types": ["client_credentials"]}))
        .await;
    let (mid, msecret) = (
        m2m["client_id"].as_str().unwrap(),
        m2m["client_secret"].as_str().unwrap(),
    );
    api.post(
        "/client-grants",
        json!({"client_id": mid, "audience": AUDIENCE, "scope": ["read:users", "migrate:users"]}),
    )
    .await;
    let app = api
        .post("/clients", json!({"name": "web-app", "app_type": "regular_web", "grant_types": ["password", PASSWORD_REALM]}))
        .await;
    let (cid, csecret) = (
        app["client_id"].as_str().unwrap(),
        app["client_secret"].as_str().unwrap(),
    );

    // 4a. The connection, with the HTTP connector: no code.
    let conn = api
        .post("/connections", json!({"name": REALM, "strategy": "auth0", "enabled_clients": [cid],
            "options": {"enabledDatabaseCustomization": true, "import_mode": true,
                "tern_connector": {"type": "http", "base_url": legacy_url, "client_id": mid, "audience": AUDIENCE,
                    "profile_map": {"user_id": "/id", "email": "/email", "name": "/display_name",
                                    "email_verified": "/email_confirmed", "app_metadata.plan": "/account/plan"}},
                "configuration": {"TERN_CONNECTOR_CLIENT_SECRET": msecret}}}))
        .await;
    let conn_path = format!("/connections/{}", conn["id"].as_str().unwrap());
    let users = seed();
    let login = |u: &Seed| {
        token(
            &http,
            &tern.url,
            json!({"grant_type": PASSWORD_REALM, "client_id": cid, "client_secret": csecret,
            "username": u.email, "password": u.password, "realm": REALM}),
        )
    };
    // A user of the legacy API cannot get a token for it, even with the right password.
    let (s, v) = token(&http, &tern.url, json!({"grant_type": PASSWORD_REALM, "client_id": cid, "client_secret": csecret,
        "username": users[0].email, "password": users[0].password, "realm": REALM, "audience": AUDIENCE})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (403, Some("access_denied")),
        "{v}"
    );
    for u in &users[0..4] {
        let (s, v) = login(u).await;
        assert_eq!(s, 200, "{} through the connector: {v}", u.email);
    }

    // 4b. The same with scripts (a connector, when set, wins; so it is removed).
    api.patch(
        &conn_path,
        json!({"options": {"enabledDatabaseCustomization": true, "import_mode": true,
        "customScripts": {"login": LOGIN_SCRIPT, "get_user": GET_USER_SCRIPT},
        "configuration": {"TERN_URL": tern.url, "CLIENT_ID": mid, "CLIENT_SECRET": msecret,
                          "AUDIENCE": AUDIENCE, "LEGACY_API": legacy_url}}}),
    )
    .await;
    for u in &users[4..8] {
        let (s, v) = login(u).await;
        assert_eq!(s, 200, "{} through the script: {v}", u.email);
    }

    // 4c. The same with the SQL connector: no legacy API in the path; Tern
    //     reads the legacy database and verifies its hashes itself. The
    //     self-describing schemes go through "auto"; the salted SHA-256 rows
    //     (which need a hash template) wait for the bulk import.
    api.patch(
        &conn_path,
        json!({"options": {"enabledDatabaseCustomization": true, "import_mode": true,
            "tern_connector": {"type": "sql",
                "dsn": format!("sqlite:{}", root.path().join("legacy.db").display()),
                "lookup_query": "SELECT id, email, password_hash, display_name, email_confirmed, \
                    json_object('plan', plan) AS app_metadata FROM users \
                    WHERE email = :identifier AND password_scheme IN ('bcrypt', 'phpass', 'md5_crypt')",
                "columns": {"user_id": "id", "email": "email", "password_hash": "password_hash",
                            "name": "display_name", "email_verified": "email_confirmed",
                            "app_metadata": "app_metadata"},
                "hash_format": "auto",
                "mark_migrated": "UPDATE users SET migrated_at = datetime('now') WHERE id = :user_id"}}}),
    )
    .await;
    let (s, v) = login(&users[8]).await;
    assert_eq!(s, 200, "{} through the SQL connector: {v}", users[8].email);
    let (s, _) = login(&Seed {
        id: users[9].id,
        email: users[9].email.clone(),
        password: users[9].password.clone(),
    })
    .await;
    assert_eq!(s, 403, "a salted SHA-256 user is not found by this query");
    const LAZY: usize = 9;

    // Every lazily migrated user is marked in the legacy database.
    let ldb = legacy_api::store::LegacyDb::open(&root.path().join("legacy.db"))
        .await
        .unwrap();
    for _ in 0..100 {
        if ldb.list(true).await.unwrap().len() == users.len() - LAZY {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // 5. Bulk-import the rest: `legacy-api export > users.json`, `tern import`.
    let rest = ldb.list(true).await.unwrap();
    assert_eq!(
        rest.len(),
        users.len() - LAZY,
        "only the users who never logged in"
    );
    let file = root.path().join("users.json");
    std::fs::write(
        &file,
        serde_json::to_vec_pretty(&legacy_api::export::import_file(&rest)).unwrap(),
    )
    .unwrap();
    ldb.close().await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .current_dir(root.path())
        .args([
            "import",
            "users.json",
            "--connection",
            REALM,
            "--url",
            &tern.url,
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "tern import: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // 6. Switch the legacy store off: `return callback()`; stop the legacy API.
    api.patch(
        &conn_path,
        json!({"options": {"enabledDatabaseCustomization": true, "import_mode": true,
        "customScripts": {"login": OFF, "get_user": OFF_GET_USER}}}),
    )
    .await;
    legacy.stop().await;

    // Everyone still logs in: migrated lazily (by a connector or a script) or imported.
    for u in &users {
        let (s, v) = login(u).await;
        assert_eq!(s, 200, "{} after the switch-off: {v}", u.email);
        let (_, user) = api
            .call(
                reqwest::Method::GET,
                &format!("/users/auth0%7C{}", u.id),
                None,
            )
            .await;
        assert!(user["app_metadata"]["plan"].is_string(), "{user}");
    }
    let (s, _) = login(&Seed {
        id: 0,
        email: "stranger@legacy.example".into(),
        password: "x".into(),
    })
    .await;
    assert_eq!(s, 403);
    let (_, list) = api
        .call(
            reqwest::Method::GET,
            "/users?q=identities.connection:%22legacy-users%22&include_totals=true",
            None,
        )
        .await;
    assert_eq!(
        list["total"].as_u64(),
        Some(users.len() as u64),
        "each legacy user exactly once"
    );
    drop(tern);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walkthrough_sqlite() {
    walkthrough(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walkthrough_postgres() {
    let base = std::env::var("TERN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("tern_walk_{}", uuid::Uuid::new_v4().simple());
    let psql = |sql: &str| {
        let ok = Command::new("psql")
            .args([
                format!("{base}/postgres").as_str(),
                "-v",
                "ON_ERROR_STOP=1",
                "-qc",
                sql,
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "{sql}");
    };
    psql(&format!("CREATE DATABASE {name}"));
    struct Drop_<F: FnMut()>(F);
    impl<F: FnMut()> Drop for Drop_<F> {
        fn drop(&mut self) {
            (self.0)()
        }
    }
    let _cleanup = Drop_(|| psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
    walkthrough(Some(&format!("{base}/{name}"))).await;
}
