#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The `sql` connector reading each row's hash format, and its presets,
//! end to end against real MariaDB and PostgreSQL legacy tables:
//!
//! - one connection whose rows hold bcrypt, phpass, salted SHA-256, PBKDF2
//!   with a per-row iteration count and bare MD5 side by side, a column
//!   naming each row's scheme in the legacy system's words
//!   (`fixtures/sql_formats/generate.py`: pyca bcrypt, libpass, hashlib);
//! - every preset on a table laid out as its platform lays it out (columns
//!   the preset ignores included), with hashes from the tern-hash fixtures
//!   (made by libpass, pyca bcrypt, Django, hashlib, argon2-cffi and PHP's
//!   algorithms re-written in Python — see their generators).

mod common;

use common::{Backend, Harness, PgDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, MySqlConnection};

const MARIADB: &str = "mysql://root@127.0.0.1:3306/test";

/// A SQL string literal (fixture values hold no backslashes).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn opt_lit(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => lit(s),
        other => lit(&other.to_string()),
    }
}

async fn maria(sql: &str) {
    let mut c = MySqlConnection::connect(MARIADB).await.unwrap();
    c.execute(sqlx::AssertSqlSafe(sql.to_string()))
        .await
        .unwrap();
}

fn psql(url: &str, sql: &str) {
    let out = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Tables in MariaDB's `test` database named with one prefix, dropped on `Drop`.
struct MariaTables {
    prefix: String,
    tables: Vec<String>,
}

impl MariaTables {
    fn new() -> Self {
        Self {
            prefix: format!("t{}_", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            tables: Vec::new(),
        }
    }
    async fn create(&mut self, table: &str, columns: &str) -> String {
        let name = format!("{}{table}", self.prefix);
        maria(&format!("CREATE TABLE {name} ({columns})")).await;
        self.tables.push(name.clone());
        name
    }
}

impl Drop for MariaTables {
    fn drop(&mut self) {
        let drops: Vec<String> = self
            .tables
            .iter()
            .map(|t| format!("DROP TABLE IF EXISTS {t}"))
            .collect();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    for d in drops {
                        maria(&d).await;
                    }
                });
        })
        .join()
        .unwrap();
    }
}

async fn connection(h: &Harness, t: &str, name: &str, connector: Value) -> (String, String) {
    let (cid, secret) = h.password_client(t).await;
    let (s, c) = h
        .api(t, Method::POST, "/connections", Some(json!({"name": name, "strategy": "auth0", "enabled_clients": [h.info.client_id, cid],
            "options": {"enabledDatabaseCustomization": true, "import_mode": true, "passwordPolicy": "none",
                        "tern_connector": connector}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    (cid, secret)
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

async fn failures(h: &Harness, t: &str) -> Vec<String> {
    let (_, logs) = h.api(t, Method::GET, "/logs?q=type:f", None).await;
    logs.as_array()
        .unwrap()
        .iter()
        .map(|l| l["description"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn mixed_users() -> Vec<Value> {
    let raw: Value = serde_json::from_str(include_str!("fixtures/sql_formats/users.json")).unwrap();
    raw["users"].as_array().unwrap().clone()
}

/// The per-row format of the mixed store, in its own names.
fn mixed_format() -> Value {
    json!({"column": "scheme", "map": {
        "bcrypt": "bcrypt",
        "wp": "phpass",
        "sha256": {"algorithm": "sha256", "hash": {"encoding": "hex"}, "salt": {"column": "salt", "position": "prefix"}},
        "pbkdf2": {"algorithm": "discourse", "salt": {"column": "salt"}, "params": {"iterations": {"column": "iterations"}}}},
        "default": {"algorithm": "md5", "hash": {"encoding": "hex"}}})
}

/// Every mixed user logs in with their password and not with another.
async fn every_mixed_user(h: &Harness, t: &str, client: &(String, String), realm: &str) {
    for u in mixed_users() {
        let email = u["email"].as_str().unwrap();
        let pw = u["password"].as_str().unwrap();
        let (s, body) = login(h, client, realm, email, &format!("{pw}x")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{email} wrong password: {body}");
        let (s, body) = login(h, client, realm, email, pw).await;
        assert_eq!(s, StatusCode::OK, "{email} ({}): {body}", u["scheme"]);
        let (_, stored) = h
            .api(t, Method::GET, &format!("/users/auth0%7C{}", u["id"]), None)
            .await;
        assert_eq!(stored["email"], email, "{stored}");
    }
}

/// One MariaDB table holding five schemes; the scheme column's names are
/// the legacy system's (`BCRYPT`, `wp`…), matched without regard to case.
async fn one_connection_serves_every_format_mariadb(b: Backend) {
    let mut tables = MariaTables::new();
    let users = tables
        .create(
            "accounts",
            "id INT PRIMARY KEY, email VARCHAR(255), pw VARCHAR(255), scheme VARCHAR(16), salt VARCHAR(64), iterations INT",
        )
        .await;
    for u in mixed_users() {
        maria(&format!(
            "INSERT INTO {users} VALUES ({}, {}, {}, {}, {}, {})",
            u["id"],
            opt_lit(&u["email"]),
            opt_lit(&u["hash"]),
            opt_lit(&u["scheme"]),
            opt_lit(&u["salt"]),
            opt_lit(&u["iterations"])
        ))
        .await;
    }
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let connector = json!({"type": "sql", "dsn": MARIADB,
        "lookup_query": format!("SELECT id, email, pw, scheme, salt, iterations FROM {users} WHERE email = :identifier"),
        "columns": {"user_id": "id", "email": "email", "password_hash": "pw"},
        "hash_format": mixed_format()});
    let client = connection(&h, &t, "mixed-maria", connector.clone()).await;
    every_mixed_user(&h, &t, &client, "mixed-maria").await;

    // A scheme the map does not name, with no default: the login fails
    // (503) and the log names the column, the value and the known names.
    maria(&format!(
        "INSERT INTO {users} VALUES (50, 'gus@mixed.example', 'zz', 'md4', NULL, NULL)"
    ))
    .await;
    let mut strict = connector.clone();
    strict["hash_format"]
        .as_object_mut()
        .unwrap()
        .remove("default");
    let client = connection(&h, &t, "mixed-strict", strict).await;
    let (s, body) = login(&h, &client, "mixed-strict", "gus@mixed.example", "x").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let logged = failures(&h, &t).await;
    assert!(
        logged.iter().any(|l| l.contains("legacy user 50")
            && l.contains("scheme column 'scheme' says 'md4'")
            && l.contains("bcrypt, wp, sha256, pbkdf2")),
        "{logged:?}"
    );
    let (_, stored) = h.api(&t, Method::GET, "/users/auth0%7C50", None).await;
    assert_eq!(stored["statusCode"], 404, "nothing half-written");

    // Mistakes are refused when saved, naming the setting.
    for (format, want) in [
        (
            json!({"column": "scheme", "map": {"a": "bcrypt", "A": "phpass"}}),
            "hash_format.map.A: the name is given twice",
        ),
        (
            json!({"column": "scheme", "map": {"x": "sha-256"}}),
            "hash_format.map.x \"sha-256\" is neither",
        ),
        (
            json!({"column": "scheme", "map": {"x": {"algorithm": "vbulletin", "salt": {"column": 3}}}}),
            "hash_format.map.x.salt must be {\"column\"",
        ),
        (
            json!({"column": "scheme", "map": {"x": {"algorithm": "smf", "params": {}}}}),
            "hash_format.map.x.params: Missing required property: username",
        ),
        (
            json!({"column": "scheme", "map": {"x": "auto"}, "fallback": "auto"}),
            "hash_format.fallback is not a setting of a per-row hash format",
        ),
        (
            json!({"map": {"x": "auto"}}),
            "hash_format.column must name the column",
        ),
        (
            json!({"column": "scheme", "map": {}}),
            "hash_format.map must be an object",
        ),
    ] {
        let mut c = connector.clone();
        c["hash_format"] = format;
        let (s, body) = h
            .api(&t, Method::POST, "/connections", Some(json!({"name": "bad-mixed", "strategy": "auth0",
                "options": {"enabledDatabaseCustomization": true, "import_mode": true, "tern_connector": c}})))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(want), "{want}: {message}");
    }
    h.stop().await;
}

/// The same store in PostgreSQL, salts in `bytea`-free text and the
/// iteration count an integer column.
async fn one_connection_serves_every_format_postgres(b: Backend) {
    let legacy = PgDatabase::create();
    let url = legacy.url();
    psql(
        &url,
        "CREATE TABLE accounts (id BIGINT PRIMARY KEY, email TEXT, pw TEXT, scheme TEXT, salt TEXT, iterations INTEGER)",
    );
    for u in mixed_users() {
        psql(
            &url,
            &format!(
                "INSERT INTO accounts VALUES ({}, {}, {}, {}, {}, {})",
                u["id"],
                opt_lit(&u["email"]),
                opt_lit(&u["hash"]),
                opt_lit(&u["scheme"]),
                opt_lit(&u["salt"]),
                opt_lit(&u["iterations"])
            ),
        );
    }
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let connector = json!({"type": "sql", "dsn": format!("postgres://postgres@127.0.0.1:5432/{}", legacy.name),
        "lookup_query": "SELECT id, email, pw, scheme, salt, iterations FROM accounts WHERE email = :identifier",
        "columns": {"user_id": "id", "email": "email", "password_hash": "pw"},
        "hash_format": mixed_format()});
    let client = connection(&h, &t, "mixed-pg", connector).await;
    every_mixed_user(&h, &t, &client, "mixed-pg").await;
    h.stop().await;
}

// ------------------------------------------------------------------ presets

/// A vector of the tern-hash fixtures by id: the hash (string or object)
/// and its password.
fn vector(id: &str) -> (Value, String) {
    for raw in [
        include_str!("../../tern-hash/fixtures/vectors.json"),
        include_str!("../../tern-hash/tests/fixtures/formats.json"),
        include_str!("../../tern-hash/tests/fixtures/explicit.json"),
    ] {
        let v: Value = serde_json::from_str(raw).unwrap();
        if let Some(found) = v["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
        {
            let hash = found
                .get("object")
                .or_else(|| found.get("hash"))
                .unwrap()
                .clone();
            return (hash, found["password"].as_str().unwrap().to_string());
        }
    }
    panic!("no vector {id}")
}

fn hash_of(id: &str) -> (String, String) {
    let (h, pw) = vector(id);
    (h.as_str().unwrap().to_string(), pw)
}

/// A user of a preset's table: the login, the password, the Tern user id.
struct PresetUser {
    login: String,
    password: String,
    user_id: String,
}

fn pu(login: &str, password: &str, user_id: &str) -> PresetUser {
    PresetUser {
        login: login.into(),
        password: password.into(),
        user_id: user_id.into(),
    }
}

async fn check_preset(
    h: &Harness,
    t: &str,
    name: &str,
    connector: Value,
    users: &[PresetUser],
    refused: &[&str],
) {
    let client = connection(h, t, name, connector).await;
    for u in users {
        let (s, body) = login(h, &client, name, &u.login, "Wrong-password").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{name} {}: {body}", u.login);
        let (s, body) = login(h, &client, name, &u.login, &u.password).await;
        if s != StatusCode::OK {
            let (_, logs) = h.api(t, Method::GET, "/logs", None).await;
            panic!("{name} {}: {body} {logs:#}", u.login);
        }
        let (_, stored) = h
            .api(
                t,
                Method::GET,
                &format!("/users/{}", urlencoding::encode(&u.user_id)),
                None,
            )
            .await;
        assert_eq!(stored["identities"][0]["connection"], name, "{stored}");
    }
    // Users the platform would not let in are unknown to the preset.
    for login_name in refused {
        let (s, body) = login(h, &client, name, login_name, "whatever").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{name} {login_name}: {body}");
        assert_eq!(body["error"], "invalid_grant", "{body}");
    }
}

/// The PHP platforms, on MariaDB, each under a prefix of its own.
async fn presets_on_mariadb(b: Backend) {
    let mut tables = MariaTables::new();
    let p = tables.prefix.clone();
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let preset =
        |name: &str| json!({"type": "sql", "dsn": MARIADB, "preset": name, "table_prefix": p});

    // WordPress: phpass, 6.8+ `$wp$`, and a bare MD5 of an ancient account.
    let wp = tables.create("users", "ID BIGINT UNSIGNED PRIMARY KEY, user_login VARCHAR(60), user_pass VARCHAR(255), user_nicename VARCHAR(50), user_email VARCHAR(100), user_url VARCHAR(100), user_registered DATETIME, user_activation_key VARCHAR(255), user_status INT, display_name VARCHAR(250)").await;
    let (phpass, phpass_pw) = hash_of("phpass-P-ascii");
    let (wpb, wpb_pw) = hash_of("wordpress-unicode");
    for (id, login_name, email, hash) in [
        (1, "admin", "admin@wp.example", phpass.as_str()),
        (2, "jo", "jo@wp.example", wpb.as_str()),
        (
            3,
            "old",
            "old@wp.example",
            "5f4dcc3b5aa765d61d8327deb882cf99",
        ),
    ] {
        maria(&format!("INSERT INTO {wp} VALUES ({id}, '{login_name}', {}, '{login_name}', '{email}', '', NOW(), '', 0, 'WP {login_name}')", lit(hash))).await;
    }
    check_preset(
        &h,
        &t,
        "wordpress",
        preset("wordpress"),
        &[
            pu("admin@wp.example", &phpass_pw, "auth0|1"),
            pu("jo", &wpb_pw, "auth0|2"),
            pu("old@wp.example", "password", "auth0|3"),
        ],
        &[],
    )
    .await;

    // phpBB: bcrypt (3.1+) and `$H$` (3.0); a bot row cannot log in.
    let phpbb = tables.create("phpbb_users", "user_id INT PRIMARY KEY, user_type TINYINT, group_id INT, username VARCHAR(255), username_clean VARCHAR(255), user_password VARCHAR(255), user_email VARCHAR(100), user_regdate INT").await;
    let (bc, bc_pw) = hash_of("bcrypt-2y-ascii");
    let (hh, hh_pw) = hash_of("phpass-H-unicode");
    for (id, kind, name, hash) in [
        (21, 3, "Founder", bc.as_str()),
        (22, 0, "Member", hh.as_str()),
        (23, 2, "Bot", bc.as_str()),
    ] {
        maria(&format!("INSERT INTO {phpbb} VALUES ({id}, {kind}, 2, '{name}', LOWER('{name}'), {}, LOWER('{name}@bb.example'), 0)", lit(hash))).await;
    }
    let mut bb = preset("phpbb");
    bb["table_prefix"] = json!(format!("{p}phpbb_"));
    check_preset(
        &h,
        &t,
        "phpbb",
        bb,
        &[
            pu("Founder", &bc_pw, "auth0|21"),
            pu("member@bb.example", &hh_pw, "auth0|22"),
        ],
        &["bot@bb.example"],
    )
    .await;

    // Drupal 7: `$S$`; the anonymous row (uid 0) and blocked users are not users.
    let drupal = tables.create("drupal_users", "uid INT UNSIGNED PRIMARY KEY, name VARCHAR(60), pass VARCHAR(128), mail VARCHAR(254), created INT, status TINYINT, init VARCHAR(254)").await;
    let (d7, d7_pw) = hash_of("drupal7-unicode");
    maria(&format!("INSERT INTO {drupal} VALUES (0, '', '', '', 0, 0, ''), (7, 'editor', {}, 'editor@drupal.example', 0, 1, ''), (8, 'blocked', {}, 'blocked@drupal.example', 0, 0, '')", lit(&d7), lit(&d7))).await;
    let mut dp = preset("drupal7");
    dp["table_prefix"] = json!(format!("{p}drupal_"));
    check_preset(
        &h,
        &t,
        "drupal7",
        dp,
        &[pu("editor", &d7_pw, "auth0|7")],
        &["blocked@drupal.example"],
    )
    .await;

    // Magento 2 customers: `hash:salt:version`, argon2 (2) and a chained upgrade (0:1).
    let magento = tables.create("customer_entity", "entity_id INT UNSIGNED PRIMARY KEY, website_id SMALLINT, email VARCHAR(255), group_id SMALLINT, firstname VARCHAR(255), lastname VARCHAR(255), password_hash VARCHAR(128), rp_token VARCHAR(128)").await;
    let (m2, m2_pw) = vector("magento-v2-ascii");
    let (m01, m01_pw) = vector("magento-v0-1-unicode");
    maria(&format!("INSERT INTO {magento} VALUES (11, 1, 'shopper@magento.example', 1, 'Sam', 'Shopper', {}, NULL), (12, 1, 'second@magento.example', 1, '', '', {}, NULL)", lit(m2["hash"].as_str().unwrap()), lit(m01["hash"].as_str().unwrap()))).await;
    check_preset(
        &h,
        &t,
        "magento2",
        preset("magento2"),
        &[
            pu("shopper@magento.example", &m2_pw, "auth0|11"),
            pu("second@magento.example", &m01_pw, "auth0|12"),
        ],
        &[],
    )
    .await;

    // Joomla: bcrypt (3+) beside MD5 `hash:salt` (1.5–2.5); a blocked user.
    let joomla = tables.create("jos_users", "id INT PRIMARY KEY, name VARCHAR(400), username VARCHAR(150), email VARCHAR(100), password VARCHAR(100), block TINYINT, sendEmail TINYINT, registerDate DATETIME, activation VARCHAR(100), params TEXT").await;
    let (jm, jm_pw) = vector("joomla-unicode");
    let (jb, jb_pw) = hash_of("bcrypt-2y-unicode");
    maria(&format!("INSERT INTO {joomla} VALUES (42, 'Old Timer', 'oldtimer', 'old@joomla.example', {}, 0, 0, NOW(), '', '{{}}'), (43, 'New Comer', 'newcomer', 'new@joomla.example', {}, 0, 0, NOW(), '', '{{}}'), (44, 'Blocked', 'blocked', 'blocked@joomla.example', {}, 1, 0, NOW(), '', '{{}}')", lit(jm["hash"].as_str().unwrap()), lit(&jb), lit(&jb))).await;
    let mut jo = preset("joomla");
    jo["table_prefix"] = json!(format!("{p}jos_"));
    check_preset(
        &h,
        &t,
        "joomla",
        jo,
        &[
            pu("oldtimer", &jm_pw, "auth0|42"),
            pu("new@joomla.example", &jb_pw, "auth0|43"),
        ],
        &["blocked@joomla.example"],
    )
    .await;

    // Nextcloud: `1|` bcrypt and `3|` argon2id; the email is a preference.
    let nc_users = tables
        .create(
            "oc_users",
            "uid VARCHAR(64) PRIMARY KEY, displayname VARCHAR(64), password VARCHAR(255), uid_lower VARCHAR(64)",
        )
        .await;
    let nc_prefs = tables.create("oc_preferences", "userid VARCHAR(64), appid VARCHAR(32), configkey VARCHAR(64), configvalue LONGTEXT, PRIMARY KEY (userid, appid, configkey)").await;
    let (n1, n1_pw) = hash_of("nextcloud-1-ascii");
    let (n3, n3_pw) = hash_of("nextcloud-3-unicode");
    maria(&format!("INSERT INTO {nc_users} VALUES ('Alice', 'Alice A.', {}, 'alice'), ('bob', 'Bob', {}, 'bob')", lit(&n1), lit(&n3))).await;
    maria(&format!("INSERT INTO {nc_prefs} VALUES ('Alice', 'settings', 'email', 'alice@cloud.example'), ('Alice', 'core', 'lang', 'en'), ('bob', 'settings', 'email', 'bob@cloud.example')")).await;
    let mut nc = preset("nextcloud");
    nc["table_prefix"] = json!(format!("{p}oc_"));
    check_preset(
        &h,
        &t,
        "nextcloud",
        nc,
        &[
            pu("alice", &n1_pw, "auth0|Alice"),
            pu("bob@cloud.example", &n3_pw, "auth0|bob"),
        ],
        &[],
    )
    .await;

    // vBulletin 3/4: md5(md5(p) ‖ salt), the salt a column.
    let vb = tables.create("vb_user", "userid INT UNSIGNED PRIMARY KEY, usergroupid SMALLINT, username VARCHAR(100), password CHAR(32), passworddate DATE, email CHAR(100), salt CHAR(30)").await;
    let (v, v_pw) = vector("vbulletin-unicode");
    maria(&format!(
        "INSERT INTO {vb} VALUES (5, 2, 'poster', {}, '2020-01-01', 'poster@vb.example', {})",
        lit(v["hash"].as_str().unwrap()),
        lit(v["salt"].as_str().unwrap())
    ))
    .await;
    let mut vbp = preset("vbulletin");
    vbp["table_prefix"] = json!(format!("{p}vb_"));
    check_preset(
        &h,
        &t,
        "vbulletin",
        vbp,
        &[pu("poster@vb.example", &v_pw, "auth0|5")],
        &[],
    )
    .await;

    // SMF 2.0: SHA-1(lower(member_name) ‖ p), 2.1: bcrypt of the same; an
    // unactivated member.
    let smf = tables.create("smf_members", "id_member INT UNSIGNED PRIMARY KEY, member_name VARCHAR(80), date_registered INT, real_name VARCHAR(255), passwd VARCHAR(64), email_address VARCHAR(255), is_activated TINYINT, password_salt VARCHAR(255)").await;
    let (s, s_pw) = vector("smf-ascii");
    let username = s["params"]["username"].as_str().unwrap();
    let (s21, s21_pw) = vector("smf21-unicode");
    maria(&format!("INSERT INTO {smf} VALUES (9, {}, 0, 'Alice', {}, 'alice@smf.example', 1, 'x'), (10, 'pending', 0, '', {}, 'pending@smf.example', 0, 'x'), (13, {}, 0, '', {}, 'alice21@smf.example', 1, '')", lit(username), lit(s["hash"].as_str().unwrap()), lit(s["hash"].as_str().unwrap()), lit(s21["params"]["username"].as_str().unwrap()), lit(s21["hash"].as_str().unwrap()))).await;
    let mut smp = preset("smf");
    smp["table_prefix"] = json!(format!("{p}smf_"));
    check_preset(
        &h,
        &t,
        "smf",
        smp,
        &[
            pu("alice@smf.example", &s_pw, "auth0|9"),
            pu("alice21@smf.example", &s21_pw, "auth0|13"),
        ],
        &["pending@smf.example"],
    )
    .await;
    h.stop().await;
}

/// Django and Keycloak, on PostgreSQL.
async fn presets_on_postgres(b: Backend) {
    let legacy = PgDatabase::create();
    let url = legacy.url();
    let dsn = format!("postgres://postgres@127.0.0.1:5432/{}", legacy.name);
    let h = Harness::start(b).await;
    let t = h.admin_token().await;

    // Django: self-describing hashes; an unusable password and an inactive user.
    psql(
        &url,
        "CREATE TABLE auth_user (id SERIAL PRIMARY KEY, password VARCHAR(128) NOT NULL, last_login TIMESTAMPTZ, is_superuser BOOLEAN NOT NULL, username VARCHAR(150) UNIQUE NOT NULL, first_name VARCHAR(150) NOT NULL, last_name VARCHAR(150) NOT NULL, email VARCHAR(254) NOT NULL, is_staff BOOLEAN NOT NULL, is_active BOOLEAN NOT NULL, date_joined TIMESTAMPTZ NOT NULL)",
    );
    let (dj, dj_pw) = hash_of("django-pbkdf2-sha256-unicode");
    let (dbc, dbc_pw) = hash_of("django-bcrypt-ascii");
    psql(
        &url,
        &format!(
            "INSERT INTO auth_user VALUES (1, {}, NULL, true, 'root', 'Ro', 'Ot', 'root@django.example', true, true, now()), \
             (2, {}, NULL, false, 'plain', '', '', 'plain@django.example', false, true, now()), \
             (3, '!unusablePasswordMarker0123456789abcdefgh', NULL, false, 'sso', '', '', 'sso@django.example', false, true, now()), \
             (4, {}, NULL, false, 'gone', '', '', 'gone@django.example', false, false, now())",
            lit(&dj),
            lit(&dbc),
            lit(&dj)
        ),
    );
    check_preset(
        &h,
        &t,
        "django",
        json!({"type": "sql", "dsn": dsn, "preset": "django"}),
        &[
            pu("root", &dj_pw, "auth0|1"),
            pu("plain@django.example", &dbc_pw, "auth0|2"),
        ],
        &["sso@django.example", "gone@django.example"],
    )
    .await;

    // Keycloak: a realm's users with their password credentials (PBKDF2
    // and Argon2); the same email in another realm is not this realm's user.
    psql(
        &url,
        "CREATE TABLE realm (id VARCHAR(36) PRIMARY KEY, name VARCHAR(255) UNIQUE, enabled BOOLEAN); \
         CREATE TABLE user_entity (id VARCHAR(36) PRIMARY KEY, email VARCHAR(255), email_constraint VARCHAR(255), email_verified BOOLEAN NOT NULL DEFAULT false, enabled BOOLEAN NOT NULL DEFAULT false, federation_link VARCHAR(255), first_name VARCHAR(255), last_name VARCHAR(255), realm_id VARCHAR(255), username VARCHAR(255), created_timestamp BIGINT, service_account_client_link VARCHAR(255), not_before INTEGER NOT NULL DEFAULT 0); \
         CREATE TABLE credential (id VARCHAR(36) PRIMARY KEY, salt BYTEA, type VARCHAR(255), user_id VARCHAR(36), created_date BIGINT, user_label VARCHAR(255), secret_data TEXT, credential_data TEXT, priority INTEGER); \
         INSERT INTO realm VALUES ('r-1', 'acme', true), ('r-2', 'other', true);",
    );
    let (k1, k1_pw) = vector("keycloak-pbkdf2-sha256-ascii");
    let (k2, k2_pw) = vector("keycloak-argon2-unicode");
    let users = [
        (
            "2d1f7c4e-0000-4000-8000-000000000001",
            "r-1",
            "kim",
            "kim@kc.example",
            &k1,
        ),
        (
            "2d1f7c4e-0000-4000-8000-000000000002",
            "r-1",
            "lee",
            "lee@kc.example",
            &k2,
        ),
        (
            "2d1f7c4e-0000-4000-8000-000000000003",
            "r-2",
            "kim2",
            "kim@kc.example",
            &k2,
        ),
    ];
    for (i, (id, realm, username, email, cred)) in users.iter().enumerate() {
        psql(
            &url,
            &format!(
                "INSERT INTO user_entity (id, email, email_constraint, email_verified, enabled, first_name, last_name, realm_id, username, created_timestamp) \
                 VALUES ('{id}', '{email}', '{email}', true, true, 'K', 'C', '{realm}', '{username}', 0); \
                 INSERT INTO credential VALUES ('c-{i}', NULL, 'password', '{id}', 0, NULL, {}, {}, 10); \
                 INSERT INTO credential VALUES ('o-{i}', NULL, 'otp', '{id}', 0, NULL, '{{}}', '{{}}', 20);",
                lit(cred["secretData"].as_str().unwrap()),
                lit(cred["credentialData"].as_str().unwrap())
            ),
        );
    }
    check_preset(
        &h,
        &t,
        "keycloak",
        json!({"type": "sql", "dsn": dsn, "preset": "keycloak", "realm": "acme"}),
        &[
            pu("kim@kc.example", &k1_pw, &format!("auth0|{}", users[0].0)),
            pu("LEE", &k2_pw, &format!("auth0|{}", users[1].0)),
        ],
        &["kim2"],
    )
    .await;
    let (_, kim) = h
        .api(
            &t,
            Method::GET,
            &format!("/users/auth0%7C{}", users[0].0),
            None,
        )
        .await;
    assert_eq!(
        (&kim["email_verified"], &kim["given_name"]),
        (&json!(true), &json!("K")),
        "{kim}"
    );
    h.stop().await;
}

both_backends!(
    one_connection_serves_every_format_mariadb,
    one_connection_serves_every_format_postgres,
    presets_on_mariadb,
    presets_on_postgres
);
