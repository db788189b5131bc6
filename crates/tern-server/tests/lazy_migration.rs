#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Lazy migration end to end: a legacy PostgreSQL database, Auth0-template
//! style `login` and `get_user` scripts run in the real QuickJS sandbox, and
//! users migrating through the password-realm grant.

mod common;

use common::{Backend, Harness, PgDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// bcrypt of "hello" from Auth0's docs (made by the bcrypt reference implementation).
const HELLO_BCRYPT: &str = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";

const LOGIN: &str = r#"function login(email, password, callback) {
  const bcrypt = require('bcrypt');
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    client.query('SELECT id, nickname, email, password, plan FROM users WHERE email = $1', [email], function (err, result) {
      done();
      if (err || result.rows.length === 0) return callback(err || new WrongUsernameOrPasswordError(email));
      const user = result.rows[0];
      bcrypt.compare(password, user.password, function (err, isValid) {
        if (err || !isValid) return callback(err || new WrongUsernameOrPasswordError(email));
        return callback(null, { user_id: user.id, nickname: user.nickname, email: user.email, metadata: { plan: user.plan } });
      });
    });
  });
}"#;

const GET_USER: &str = r#"function getByEmail(email, callback) {
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    client.query('SELECT id, nickname, email, plan FROM users WHERE email = $1', [email], function (err, result) {
      done();
      if (err) return callback(err);
      if (result.rows.length === 0) return callback(null);
      const user = result.rows[0];
      callback(null, { user_id: user.id, nickname: user.nickname, email: user.email, metadata: { plan: user.plan } });
    });
  });
}"#;

fn psql(url: &str, sql: &str) {
    let ok = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .status()
        .unwrap()
        .success();
    assert!(ok, "{sql}");
}

async fn lazy_migration(b: Backend) {
    let legacy = PgDatabase::create();
    psql(
        &legacy.url(),
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, nickname TEXT, password TEXT, plan TEXT)",
    );
    for i in 1..=12 {
        psql(
            &legacy.url(),
            &format!(
                "INSERT INTO users VALUES ({i}, 'old{i}@legacy.example', 'old{i}', '{HELLO_BCRYPT}', 'gold')"
            ),
        );
    }
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (s, c) = h
        .api(&t, Method::POST, "/connections", Some(json!({"name": "legacy-db", "strategy": "auth0", "enabled_clients": [h.info.client_id],
            "options": {"enabledDatabaseCustomization": true, "import_mode": true, "passwordPolicy": "none",
                        "customScripts": {"login": LOGIN, "get_user": GET_USER}, "configuration": {"PG_URL": legacy.url()}}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (cid, secret) = h.password_client(&t).await;
    let (_, _) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/connections/{}", c["id"].as_str().unwrap()),
            Some(json!({"enabled_clients": [h.info.client_id, cid]})),
        )
        .await;
    let login = |user: String, pw: &'static str| {
        h.token(json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": cid, "client_secret": secret,
                       "username": user, "password": pw, "realm": "legacy-db", "scope": "openid email"}))
    };

    // First login migrates the user: profile, metadata and the typed password, at once.
    let (s, body) = login("old1@legacy.example".into(), "hello").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, u) = h.api(&t, Method::GET, "/users/auth0%7C1", None).await;
    assert_eq!(u["email"], "old1@legacy.example");
    assert_eq!(
        u["app_metadata"],
        json!({"plan": "gold"}),
        "metadata stored with the credentials"
    );
    assert_eq!(u["identities"][0]["connection"], "legacy-db");
    let stored = h
        .state()
        .store
        .get_user(h.state().tid(), "auth0|1")
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.credential.unwrap().starts_with("$argon2id$"),
        "the typed password, under Tern's policy"
    );

    // Wrong password (user known to the legacy store) and unknown user.
    let (s, body) = login("old2@legacy.example".into(), "nope").await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant"))
    );
    let (s, _) = login("ghost@legacy.example".into(), "hello").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, none) = h.api(&t, Method::GET, "/users/auth0%7C2", None).await;
    assert_eq!(none["statusCode"], 404, "a failed login stores nothing");

    // Many simultaneous first logins of the same users create each exactly once.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        for i in 3..=6 {
            tasks.push(login(format!("old{i}@legacy.example"), "hello"));
        }
    }
    let results = futures_util::future::join_all(tasks).await;
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::OK),
        "{results:?}"
    );
    let (_, list) = h
        .api(
            &t,
            Method::GET,
            "/users?q=identities.connection:%22legacy-db%22&include_totals=true",
            None,
        )
        .await;
    assert_eq!(list["total"], 5, "users 1, 3, 4, 5, 6 — each once");

    // Signup of a legacy user who has not migrated is refused (get_user).
    let r = h.http.post(format!("{}/dbconnections/signup", h.base))
        .json(&json!({"client_id": cid, "connection": "legacy-db", "email": "old9@legacy.example", "password": "whatever"}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error_description"],
        "The user already exists"
    );

    // The legacy store goes away: migrated users still log in; others get a clear error and nothing is half-written.
    psql(&legacy.url(), "DROP TABLE users");
    let (s, _) = login("old1@legacy.example".into(), "hello").await;
    assert_eq!(
        s,
        StatusCode::OK,
        "a migrated user never touches the legacy store again"
    );
    let (s, body) = login("old7@legacy.example".into(), "hello").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    let (_, fails) = h.api(&t, Method::GET, "/logs?q=type:f", None).await;
    assert!(
        fails.as_array().unwrap().iter().any(|l| l["description"]
            .as_str()
            .unwrap()
            .contains("Legacy login failed; nothing was stored")
            && l["description"]
                .as_str()
                .unwrap()
                .contains("\"users\" does not exist")),
        "{fails}"
    );
    let (_, none) = h.api(&t, Method::GET, "/users/auth0%7C7", None).await;
    assert_eq!(none["statusCode"], 404);
    h.stop().await;
}

/// A legacy profile holding U+0000 (a legacy MySQL column may; PostgreSQL
/// cannot store it in text), or metadata over the Management API's 16 KB:
/// the login is refused with the reason logged, and nothing is stored — on
/// SQLite, which could store either, alike.
async fn unusable_profiles_are_refused(b: Backend) {
    const NUL_LOGIN: &str = r#"function login(email, password, callback) {
  if (password !== 'hello') return callback(new WrongUsernameOrPasswordError(email));
  if (email.startsWith('big')) return callback(null, { user_id: 'b1', email: email, app_metadata: { blob: 'x'.repeat(1 << 20) } });
  callback(null, { user_id: 'n1', email: email, app_metadata: { notes: ['ok', 'a\u0000b'] } });
}"#;
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (s, c) = h
        .api(&t, Method::POST, "/connections", Some(json!({"name": "legacy-nul", "strategy": "auth0", "enabled_clients": [h.info.client_id],
            "options": {"enabledDatabaseCustomization": true, "import_mode": true, "passwordPolicy": "none",
                        "customScripts": {"login": NUL_LOGIN}}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (cid, secret) = h.password_client(&t).await;
    h.api(
        &t,
        Method::PATCH,
        &format!("/connections/{}", c["id"].as_str().unwrap()),
        Some(json!({"enabled_clients": [h.info.client_id, cid]})),
    )
    .await;
    // A NUL character, and metadata a legacy system could fill the store
    // with (1 MiB, where the Management API keeps 16 KB).
    for (user, id, why) in [
        (
            "nul@legacy.example",
            "n1",
            "the profile holds the NUL character (\\u0000) at app_metadata.notes[1]",
        ),
        (
            "big@legacy.example",
            "b1",
            "the profile's app_metadata is 1048587 bytes; Tern keeps at most 16384",
        ),
    ] {
        let (s, body) = h
            .token(json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": cid, "client_secret": secret,
                          "username": user, "password": "hello", "realm": "legacy-nul"}))
            .await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let (_, none) = h
            .api(&t, Method::GET, &format!("/users/auth0%7C{id}"), None)
            .await;
        assert_eq!(none["statusCode"], 404, "nothing stored");
        let (_, fails) = h.api(&t, Method::GET, "/logs?q=type:f", None).await;
        assert!(
            fails
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["description"].as_str().unwrap().contains(why)),
            "{why}: {fails}"
        );
    }
    h.stop().await;
}

/// Import mode with a `login` script and no `get_user`: Tern cannot ask
/// whether the legacy store has a user, so it creates none — signup and
/// `POST /users` fail with Auth0's "Please implement the Get User script"
/// (logged) instead of creating an account over a legacy user who has not
/// migrated yet; that user still migrates by logging in.
async fn no_user_is_created_without_get_user(b: Backend) {
    const LOGIN_ONLY: &str = r#"function login(email, password, callback) {
  if (email !== 'old@legacy.example' || password !== 'Legacy-Pass-1') return callback(new WrongUsernameOrPasswordError(email));
  callback(null, { user_id: 'old1', email: email });
}"#;
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    let (s, c) = h
        .api(
            &t,
            Method::POST,
            "/connections",
            Some(json!({"name": "login-only", "strategy": "auth0",
            "enabled_clients": [h.info.client_id, cid],
            "options": {"enabledDatabaseCustomization": true, "import_mode": true,
                        "customScripts": {"login": LOGIN_ONLY}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");

    let r = h
        .http
        .post(format!("{}/dbconnections/signup", h.base))
        .json(&json!({"client_id": cid, "connection": "login-only",
            "email": "old@legacy.example", "password": "Attacker-Pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let (s, body) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(json!({"connection": "login-only",
            "email": "old@legacy.example", "password": "Attacker-Pass-1"})),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Please implement the Get User script"),
        "{body}"
    );
    let (_, fails) = h.api(&t, Method::GET, "/logs?q=type:fs", None).await;
    assert!(
        fails.as_array().unwrap().iter().any(|l| l["description"]
            .as_str()
            .unwrap()
            .contains("Please implement the Get User script")),
        "{fails}"
    );
    let (_, found) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=old@legacy.example",
            None,
        )
        .await;
    assert_eq!(found, json!([]), "nobody created");

    let (s, body) = h
        .token(json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": cid,
            "client_secret": secret, "username": "old@legacy.example", "password": "Legacy-Pass-1",
            "realm": "login-only"}))
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the owner migrates by logging in: {body}"
    );
    h.stop().await;
}

both_backends!(
    lazy_migration,
    unusable_profiles_are_refused,
    no_user_is_created_without_get_user
);
