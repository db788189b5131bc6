#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Issue 11 item 6: a stored hash must not cost minutes per login. A hash
//! over the cost limits (`password_hash.limits.*`) fails its import row with
//! the row's index and the setting, and a stored or legacy one refuses the
//! login at once with an `f` event naming the setting — never computed.
//!
//! Every hash here costs a day or more to compute (bcrypt 31, sha512-crypt
//! with 999 999 999 rounds): the HTTP client gives up after two minutes, so a
//! server that computes one fails the test instead of hanging it.

mod common;

use std::time::Duration;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection as _, Executor as _, SqliteConnection};

/// bcrypt cost 31 (2^31 rounds: about a day on one core).
const BCRYPT_31: &str = "$2b$31$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";
/// bcrypt cost 15: over the default bound 14, under a raised one.
const BCRYPT_15: &str = "$2b$15$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";
/// Auth0's documented bcrypt example (cost 10) of "hello".
const BCRYPT_10_HELLO: &str = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";

fn sha512_crypt_huge() -> String {
    format!("$6$rounds=999999999$saltsalt${}", ".".repeat(86))
}

/// A harness whose HTTP client gives up instead of hanging on a server
/// that computes a day-long hash.
async fn start(b: Backend) -> Harness {
    let mut h = Harness::start(b).await;
    h.http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    h
}

async fn import(h: &Harness, token: &str, rows: &Value) -> (String, Value) {
    let job = h.import_rows(token, rows).await;
    let id = job["id"].as_str().unwrap().to_string();
    let errors = h.job_errors(token, &id).await;
    (id, errors)
}

async fn login(
    h: &Harness,
    client: &(String, String),
    realm: &str,
    user: &str,
    pw: &str,
) -> (StatusCode, Value) {
    h.token(
        json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
                   "client_id": client.0, "client_secret": client.1,
                   "username": user, "password": pw, "realm": realm}),
    )
    .await
}

/// Descriptions of the tenant's `f` events.
async fn failures(h: &Harness, t: &str) -> Vec<String> {
    let (s, logs) = h
        .api(t, Method::GET, "/logs?q=type:f&per_page=100", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{logs}");
    logs.as_array()
        .unwrap()
        .iter()
        .map(|l| l["description"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Import rows over the bound fail with their index, Auth0's `MAXIMUM` code
/// and a message naming the bound and the setting; the other rows import.
async fn an_import_row_over_the_bound_fails_with_its_index(b: Backend) {
    let h = start(b).await;
    let t = h.admin_token().await;
    let rows = json!([
        {"email": "ok@example.com", "password_hash": BCRYPT_10_HELLO},
        {"email": "slow@example.com", "password_hash": BCRYPT_31},
        {"email": "rounds@example.com", "password_hash": sha512_crypt_huge()},
        {"email": "scrypt@example.com", "custom_password_hash": {"algorithm": "scrypt",
            "hash": {"value": "00".repeat(32), "encoding": "hex"}, "keylen": 32, "cost": 1u64 << 30}},
    ]);
    let (_, errors) = import(&h, &t, &rows).await;
    let got: Vec<(u64, &str, &str, &str)> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap(),
                e["errors"][0]["code"].as_str().unwrap(),
                e["errors"][0]["path"].as_str().unwrap(),
                e["errors"][0]["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), 3, "{errors}");
    assert_eq!(
        (got[0].0, got[0].1, got[0].2),
        (1, "MAXIMUM", "password_hash")
    );
    assert!(
        got[0].3.starts_with("Error in password_hash property - bcrypt cost 31 is over the bound 14 (password_hash.limits.bcrypt_cost)"),
        "{}",
        got[0].3
    );
    assert_eq!((got[1].0, got[1].1), (2, "MAXIMUM"));
    assert!(
        got[1].3.contains("999999999 rounds")
            && got[1]
                .3
                .contains("password_hash.limits.sha512_crypt_rounds"),
        "{}",
        got[1].3
    );
    assert_eq!(
        (got[2].0, got[2].1, got[2].2),
        (3, "MAXIMUM", "custom_password_hash")
    );
    assert!(
        got[2].3.contains("password_hash.limits.memory_mib"),
        "{}",
        got[2].3
    );
    // Nothing of the failed rows was written; the good row was.
    for (email, count) in [
        ("ok@example.com", 1),
        ("slow@example.com", 0),
        ("rounds@example.com", 0),
        ("scrypt@example.com", 0),
    ] {
        let (s, found) = h
            .api(
                &t,
                Method::GET,
                &format!("/users-by-email?email={email}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{found}");
        assert_eq!(found.as_array().unwrap().len(), count, "{email}: {found}");
    }
    h.stop().await;
}

/// A hash stored before the bounds existed (written straight to the store)
/// refuses its login at once with an `f` event naming the setting; the
/// other users of the connection are unaffected.
async fn a_stored_hash_over_the_bound_refuses_the_login(b: Backend) {
    let h = start(b).await;
    let t = h.admin_token().await;
    let client = h.password_client(&t).await;
    let realm = "Username-Password-Authentication";
    let store = &h.state().store;
    let tid = h.state().tid().to_string();
    for (email, hash) in [
        ("bcrypt31@example.com", BCRYPT_31.to_string()),
        ("rounds@example.com", sha512_crypt_huge()),
        ("fine@example.com", BCRYPT_10_HELLO.to_string()),
    ] {
        let u = h.create_user(&t, email, "Placeholder-Passw0rd").await;
        let mut user = store
            .get_user(&tid, u["user_id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        user.credential = Some(hash);
        store.update_user(&tid, &user).await.unwrap();
    }
    for (email, setting) in [
        ("bcrypt31@example.com", "password_hash.limits.bcrypt_cost"),
        (
            "rounds@example.com",
            "password_hash.limits.sha512_crypt_rounds",
        ),
    ] {
        let (s, body) = login(&h, &client, realm, email, "hello").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "invalid_grant", "{body}");
        let f = failures(&h, &t).await;
        assert!(
            f.iter()
                .any(|d| d.contains(setting) && d.contains("not verified")),
            "no f event naming {setting}: {f:?}"
        );
    }
    let (s, body) = login(&h, &client, realm, "fine@example.com", "hello").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    h.stop().await;
}

/// The bound is configuration: a row over the default imports under a
/// raised `password_hash.limits.bcrypt_cost`, and after a restart with the
/// default the same stored hash refuses the login with an `f` event.
async fn the_bound_is_configurable_and_holds_after_a_restart(b: Backend) {
    let h = Harness::start_with(b, |c| c.password_hash.limits.bcrypt_cost = 15).await;
    let t = h.admin_token().await;
    let (_, errors) = import(
        &h,
        &t,
        &json!([{"email": "fifteen@example.com", "password_hash": BCRYPT_15}]),
    )
    .await;
    assert_eq!(errors, json!([]), "imported under the raised bound");
    let mut h = h
        .restart(|c| c.password_hash.limits = Default::default())
        .await;
    h.http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let t = h.admin_token().await;
    let client = h.password_client(&t).await;
    let (s, _) = login(
        &h,
        &client,
        "Username-Password-Authentication",
        "fifteen@example.com",
        "hello",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let f = failures(&h, &t).await;
    assert!(
        f.iter().any(|d| d
            .contains("bcrypt cost 15 is over the bound 14 (password_hash.limits.bcrypt_cost)")),
        "{f:?}"
    );
    h.stop().await;
}

/// A legacy row read by the SQL connector with a hash over the bound: the
/// login is refused without computing it, the tenant log names the setting,
/// and nothing is migrated.
async fn a_legacy_sql_row_over_the_bound_refuses_the_login(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("legacy.db");
    let dsn = format!("sqlite:{}", file.display());
    {
        let mut c = SqliteConnection::connect(&format!("{dsn}?mode=rwc"))
            .await
            .unwrap();
        c.execute("CREATE TABLE members (uid TEXT PRIMARY KEY, mail TEXT, pwhash TEXT)")
            .await
            .unwrap();
        c.execute(sqlx::AssertSqlSafe(format!(
            "INSERT INTO members VALUES ('m-1', 'slow@legacy.example', '{BCRYPT_31}'), \
             ('m-2', 'fine@legacy.example', '{BCRYPT_10_HELLO}')"
        )))
        .await
        .unwrap();
        c.close().await.unwrap();
    }
    let h = start(b).await;
    let t = h.admin_token().await;
    let client = h.password_client(&t).await;
    let (s, c) = h
        .api(&t, Method::POST, "/connections", Some(json!({"name": "legacy-sql", "strategy": "auth0",
            "enabled_clients": [h.info.client_id, client.0],
            "options": {"enabledDatabaseCustomization": true, "import_mode": true,
                "tern_connector": {"type": "sql", "dsn": dsn,
                    "lookup_query": "SELECT uid, mail, pwhash FROM members WHERE lower(mail) = lower(:identifier)",
                    "columns": {"user_id": "uid", "email": "mail", "password_hash": "pwhash"}}}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (s, body) = login(&h, &client, "legacy-sql", "slow@legacy.example", "hello").await;
    assert!(s.is_client_error() || s.is_server_error(), "{s} {body}");
    let f = failures(&h, &t).await;
    assert!(
        f.iter()
            .any(|d| d.contains("bcrypt cost 31") && d.contains("password_hash.limits.bcrypt_cost")),
        "{f:?}"
    );
    let (s, _) = h.api(&t, Method::GET, "/users/auth0%7Cm-1", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing migrated");
    let (s, body) = login(&h, &client, "legacy-sql", "fine@legacy.example", "hello").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    h.stop().await;
}

both_backends!(
    an_import_row_over_the_bound_fails_with_its_index,
    a_stored_hash_over_the_bound_refuses_the_login,
    the_bound_is_configurable_and_holds_after_a_restart,
    a_legacy_sql_row_over_the_bound_refuses_the_login,
);
