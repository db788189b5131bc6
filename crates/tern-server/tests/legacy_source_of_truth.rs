#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! A custom-database connection with import mode OFF: the legacy PostgreSQL
//! store stays the source of truth, served by Auth0-template-style scripts
//! (login, get_user, create, verify, change_password, delete, change_email)
//! in the real QuickJS sandbox. Tern keeps profiles, never a password. And the
//! connection's `configuration` secrets: sealed at rest, masked in answers,
//! clear for the scripts.

mod common;

use common::{Backend, Harness, PgDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// bcrypt of "hello" from Auth0's docs (made by the bcrypt reference implementation).
const HELLO_BCRYPT: &str = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";
/// Python `bcrypt` 5.0.0: `hashpw(b"correct horse battery staple", gensalt(rounds=10))`.
const PY_BCRYPT: &str = "$2b$10$9sBZVDj11OEqipBiI715VerP/.GvqOoa3Fwe1HTEt1oym933Z1tJC";
/// A secret only the scripts may see.
const API_KEY: &str = "sk_live_7Jq2xVb9-never-shown";

const LOGIN: &str = r#"function login(email, password, callback) {
  const bcrypt = require('bcrypt');
  const postgres = require('pg');
  // Written reversed so the script itself does not hold the secret.
  if (configuration.API_KEY.split('').reverse().join('') !== 'nwohs-reven-9bVx2qJ7_evil_ks') return callback(new Error('configuration.API_KEY is not the clear value'));
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    client.query('SELECT id, nickname, email, password, email_verified FROM users WHERE email = $1', [email], function (err, result) {
      done();
      if (err || result.rows.length === 0) return callback(err || new WrongUsernameOrPasswordError(email));
      const user = result.rows[0];
      bcrypt.compare(password, user.password, function (err, isValid) {
        if (err || !isValid) return callback(err || new WrongUsernameOrPasswordError(email));
        return callback(null, { user_id: user.id, nickname: user.nickname, email: user.email, email_verified: user.email_verified });
      });
    });
  });
}"#;

const GET_USER: &str = r#"function getByEmail(email, callback) {
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    client.query('SELECT id, nickname, email FROM users WHERE email = $1', [email], function (err, result) {
      done();
      if (err) return callback(err);
      if (result.rows.length === 0) return callback(null);
      const user = result.rows[0];
      callback(null, { user_id: user.id, nickname: user.nickname, email: user.email });
    });
  });
}"#;

const CREATE: &str = r#"function create(user, callback) {
  const bcrypt = require('bcrypt');
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    bcrypt.hash(user.password, 10, function (err, hashedPassword) {
      if (err) return callback(err);
      const query = 'INSERT INTO users(email, password, nickname, tenant_seen) VALUES ($1, $2, $3, $4)';
      client.query(query, [user.email, hashedPassword, user.email.split('@')[0], user.tenant + '/' + user.connection], function (err) {
        done();
        if (err && err.code === '23505') return callback(new ValidationError('user_exists', 'the user already exists'));
        return callback(err);
      });
    });
  });
}"#;

const VERIFY: &str = r#"function verify(email, callback) {
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    client.query('UPDATE users SET email_verified = true WHERE email = $1 AND email_verified = false', [email], function (err, result) {
      done();
      return callback(err, result && result.rowCount > 0);
    });
  });
}"#;

const CHANGE_PASSWORD: &str = r#"function changePassword(email, newPassword, callback) {
  const bcrypt = require('bcrypt');
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    bcrypt.hash(newPassword, 10, function (err, hash) {
      if (err) return callback(err);
      client.query('UPDATE users SET password = $1 WHERE email = $2', [hash, email], function (err, result) {
        done();
        return callback(err, result && result.rowCount > 0);
      });
    });
  });
}"#;

const DELETE: &str = r#"function remove(id, callback) {
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    client.query('DELETE FROM users WHERE id = $1', [id], function (err) {
      done();
      return callback(err);
    });
  });
}"#;

const CHANGE_EMAIL: &str = r#"function changeEmail(email, newEmail, verified, callback) {
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    client.query('UPDATE users SET email = $1, email_verified = $2 WHERE email = $3', [newEmail, verified, email], function (err, result) {
      done();
      return callback(err, result && result.rowCount > 0);
    });
  });
}"#;

fn psql(url: &str, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The stored connection rows, read with the database's own client.
fn raw_connection_rows(h: &Harness) -> String {
    match &h.pg {
        Some(pg) => psql(&pg.url(), "SELECT body FROM connections"),
        None => {
            let out = std::process::Command::new("sqlite3")
                .arg(h.dir.path().join("tern.db"))
                .arg("SELECT body FROM connections")
                .output()
                .unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap()
        }
    }
}

async fn legacy_stays_the_source_of_truth(b: Backend) {
    let legacy = PgDatabase::create();
    let lurl = legacy.url();
    psql(
        &lurl,
        "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT UNIQUE, nickname TEXT, password TEXT, \
         email_verified BOOLEAN NOT NULL DEFAULT false, tenant_seen TEXT)",
    );
    psql(
        &lurl,
        &format!(
            "INSERT INTO users (email, nickname, password) VALUES ('ann@legacy.example', 'ann', '{HELLO_BCRYPT}')"
        ),
    );
    let mut h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    let scripts = json!({"login": LOGIN, "get_user": GET_USER, "create": CREATE, "verify": VERIFY,
        "change_password": CHANGE_PASSWORD, "delete": DELETE, "change_email": CHANGE_EMAIL});
    let (s, c) = h
        .api(&t, Method::POST, "/connections", Some(json!({"name": "legacy-truth", "strategy": "auth0",
            "enabled_clients": [h.info.client_id, cid],
            "options": {"enabledDatabaseCustomization": true, "import_mode": false, "passwordPolicy": "none",
                        "customScripts": scripts, "configuration": {"PG_URL": lurl, "API_KEY": API_KEY}}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let conn_id = c["id"].as_str().unwrap().to_string();

    // --- configuration: masked in every answer, sealed at rest.
    let masked = json!({"PG_URL": "********", "API_KEY": "********"});
    assert_eq!(c["options"]["configuration"], masked, "create answer");
    let (_, got) = h
        .api(&t, Method::GET, &format!("/connections/{conn_id}"), None)
        .await;
    assert_eq!(got["options"]["configuration"], masked, "GET");
    let (_, list) = h.api(&t, Method::GET, "/connections", None).await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == conn_id.as_str())
        .unwrap();
    assert_eq!(listed["options"]["configuration"], masked, "list");
    let raw = raw_connection_rows(&h);
    assert!(
        raw.contains("legacy-truth") && raw.contains("$tern-sealed$v1$"),
        "{raw}"
    );
    assert!(
        !raw.contains(API_KEY) && !raw.contains(&legacy.name),
        "the raw row holds no secret: {raw}"
    );

    let login = |user: &str, pw: &str| {
        h.token(json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": cid,
                       "client_secret": secret, "username": user, "password": pw, "realm": "legacy-truth",
                       "scope": "openid email"}))
    };
    let hr = &h;
    let local = move |id: &'static str| async move {
        hr.state()
            .store
            .get_user(hr.state().tid(), id)
            .await
            .unwrap()
    };

    // --- login: the script runs every time; Tern keeps a profile, no password.
    let (s, body) = login("ann@legacy.example", "hello").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let ann = local("auth0|1").await.expect("a profile is kept");
    assert_eq!(ann.credential, None, "never the password");
    assert_eq!(ann.email.as_deref(), Some("ann@legacy.example"));
    let (s, _) = login("ann@legacy.example", "wrong").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The legacy store changes the password behind Tern's back: it is the truth.
    psql(
        &lurl,
        &format!("UPDATE users SET password = '{PY_BCRYPT}' WHERE id = 1"),
    );
    let (s, _) = login("ann@legacy.example", "hello").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the old password no longer works");
    let (s, body) = login("ann@legacy.example", "correct horse battery staple").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(local("auth0|1").await.unwrap().logins_count, 2);

    // --- POST /users: get_user, create, login; the legacy row holds a bcrypt hash.
    let (s, u) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(
                json!({"connection": "legacy-truth", "email": "bob@legacy.example",
            "password": "B0b-password", "user_metadata": {"lang": "fr"}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let row = psql(
        &lurl,
        "SELECT id || ' ' || password || ' ' || tenant_seen FROM users WHERE email = 'bob@legacy.example'",
    );
    let (bob_id, rest) = row.split_once(' ').unwrap();
    assert!(
        rest.starts_with("$2"),
        "created by the script with bcrypt: {row}"
    );
    assert!(
        rest.ends_with("/legacy-truth"),
        "Auth0's user object: tenant/connection: {row}"
    );
    assert_eq!(u["user_id"], format!("auth0|{bob_id}"), "the legacy id");
    assert_eq!(u["user_metadata"], json!({"lang": "fr"}));
    let bob_uid = format!("auth0|{bob_id}");
    let stored = h
        .state()
        .store
        .get_user(h.state().tid(), &bob_uid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.credential, None);
    let (s, _) = login("bob@legacy.example", "B0b-password").await;
    assert_eq!(s, StatusCode::OK);
    // A user the legacy store has already: refused, nothing created.
    let (s, e) = h
        .api(&t, Method::POST, "/users", Some(json!({"connection": "legacy-truth", "email": "ann@legacy.example", "password": "x"})))
        .await;
    assert_eq!(
        (s, e["errorCode"].as_str()),
        (StatusCode::CONFLICT, Some("auth0_idp_error")),
        "{e}"
    );

    // --- signup goes through the same sequence.
    let r = h.http.post(format!("{}/dbconnections/signup", h.base))
        .json(&json!({"client_id": cid, "connection": "legacy-truth", "email": "cy@legacy.example", "password": "Cy-password"}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        psql(
            &lurl,
            "SELECT count(*) FROM users WHERE email = 'cy@legacy.example'"
        ),
        "1"
    );
    let r = h.http.post(format!("{}/dbconnections/signup", h.base))
        .json(&json!({"client_id": cid, "connection": "legacy-truth", "email": "cy@legacy.example", "password": "Cy-password"}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error_description"],
        "The user already exists"
    );

    // --- verify, change_password, change_email through PATCH /users.
    let path = format!("/users/{}", urlencoding::encode(&bob_uid));
    let (s, u) = h
        .api(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"email_verified": true})),
        )
        .await;
    assert_eq!(
        (s, &u["email_verified"]),
        (StatusCode::OK, &json!(true)),
        "{u}"
    );
    assert_eq!(
        psql(
            &lurl,
            &format!("SELECT email_verified FROM users WHERE id = {bob_id}")
        ),
        "t"
    );
    // An email-verification link runs the same `verify` script first.
    assert_eq!(
        psql(&lurl, "SELECT email_verified FROM users WHERE id = 1"),
        "f"
    );
    let (s, body) = h
        .api(
            &t,
            Method::POST,
            "/tickets/email-verification",
            Some(json!({"user_id": "auth0|1"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let link = body["ticket"]
        .as_str()
        .unwrap()
        .replacen(&h.state().public_url, &h.base, 1);
    let r = h.http.get(&link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Opening the link verifies nothing; the page's button does.
    assert_eq!(
        psql(&lurl, "SELECT email_verified FROM users WHERE id = 1"),
        "f"
    );
    let ticket = link.split_once("ticket=").unwrap().1;
    let r = h
        .http
        .post(format!("{}/lo/verify_email", h.base))
        .form(&[("ticket", ticket)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        psql(&lurl, "SELECT email_verified FROM users WHERE id = 1"),
        "t"
    );
    let (_, ann) = h.api(&t, Method::GET, "/users/auth0%7C1", None).await;
    assert_eq!(ann["email_verified"], true, "{ann}");
    let (s, u) = h
        .api(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"password": "N3w-password"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let stored = h
        .state()
        .store
        .get_user(h.state().tid(), &bob_uid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.credential, None,
        "the new password went to the legacy store only"
    );
    let (s, _) = login("bob@legacy.example", "B0b-password").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = login("bob@legacy.example", "N3w-password").await;
    assert_eq!(s, StatusCode::OK);
    let (s, u) = h
        .api(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"email": "robert@legacy.example", "email_verified": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(
        psql(
            &lurl,
            &format!("SELECT email || ' ' || email_verified FROM users WHERE id = {bob_id}")
        ),
        "robert@legacy.example true"
    );
    let (s, _) = login("robert@legacy.example", "N3w-password").await;
    assert_eq!(s, StatusCode::OK);

    // --- delete: the legacy row goes first, then Tern's profile.
    let (s, _) = h.api(&t, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        psql(
            &lurl,
            &format!("SELECT count(*) FROM users WHERE id = {bob_id}")
        ),
        "0"
    );
    let (_, gone) = h.api(&t, Method::GET, &path, None).await;
    assert_eq!(gone["statusCode"], 404);

    // --- the migration report sees profiles, none with a credential.
    let (s, rep) = h
        .api(
            &t,
            Method::GET,
            &format!("/connections/{conn_id}/migration"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rep}");
    assert_eq!(rep["import_mode"], false);
    assert_eq!(
        rep["sources"]["legacy"]["users"], 1,
        "ann, kept at login: {rep}"
    );
    assert_eq!(rep["sources"]["signup"]["users"], 1, "cy: {rep}");
    assert_eq!(rep["awaiting_credential"], 2);
    assert_eq!(rep["credentials_by_scheme"], json!({}));

    // --- a mask sent back keeps the sealed value; a mask for a new key is refused.
    let mut options = got["options"].clone();
    options["passwordPolicy"] = json!("none");
    let (s, c2) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/connections/{conn_id}"),
            Some(json!({"options": options})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c2}");
    assert_eq!(c2["options"]["configuration"], masked);
    let mut bad = options.clone();
    bad["configuration"]["NEW_KEY"] = json!("********");
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/connections/{conn_id}"),
            Some(json!({"options": bad})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().unwrap().contains("NEW_KEY"), "{e}");

    // The key survives a restart (data dir, 0600) and the scripts still read the secrets.
    let key_file = h.dir.path().join("secrets.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "secrets.key is private");
    }
    h = h.restart(|_| {}).await;
    let t = h.admin_token().await;
    let login = |user: &str, pw: &str| {
        h.token(json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": cid,
                       "client_secret": secret, "username": user, "password": pw, "realm": "legacy-truth"}))
    };
    let (s, body) = login("ann@legacy.example", "correct horse battery staple").await;
    assert_eq!(
        s,
        StatusCode::OK,
        "after a restart and a masked PATCH: {body}"
    );

    // A tried script that prints the secret: the answer masks it.
    let (s, tried) = h
        .api(&t, Method::POST, &format!("/connections/{conn_id}/scripts/get_user/try"), Some(json!({
            "email": "ann@legacy.example",
            "script": "function g(email, cb) { console.log('key=' + configuration.API_KEY); cb(null, {user_id: configuration.API_KEY, email: email}); }"})))
        .await;
    assert_eq!(s, StatusCode::OK, "{tried}");
    assert_eq!(tried["console"], json!(["key=********"]));
    assert_eq!(tried["result"]["user_id"], "********");
    assert!(!tried.to_string().contains(API_KEY));

    // --- the legacy store fails: clear errors, nothing changed locally.
    psql(&lurl, "ALTER TABLE users RENAME TO users_gone");
    let ann_path = "/users/auth0%7C1";
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            ann_path,
            Some(json!({"email": "ann2@legacy.example"})),
        )
        .await;
    assert_eq!(
        (s, e["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("auth0_idp_error")),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("change_email script")
            && e["message"]
                .as_str()
                .unwrap()
                .contains("nothing was changed"),
        "{e}"
    );
    let (_, ann) = h.api(&t, Method::GET, ann_path, None).await;
    assert_eq!(ann["email"], "ann@legacy.example", "unchanged");
    let (s, e) = h.api(&t, Method::DELETE, ann_path, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("delete script"),
        "{e}"
    );
    let (s, _) = h.api(&t, Method::GET, ann_path, None).await;
    assert_eq!(s, StatusCode::OK, "not deleted");
    let (s, e) = h
        .api(&t, Method::POST, "/users", Some(json!({"connection": "legacy-truth", "email": "dee@legacy.example", "password": "x"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (_, found) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=dee@legacy.example",
            None,
        )
        .await;
    assert_eq!(found, json!([]), "no half-written user");
    let (s, body) = login("ann@legacy.example", "correct horse battery staple").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    h.stop().await;
}

both_backends!(
    legacy_stays_the_source_of_truth,
    legacy_email_change_is_unverified
);

/// A login script whose answer the test steers through `configuration`:
/// the legacy store's email and whether it says the email is verified.
const STEERED_LOGIN: &str = r#"function login(identifier, password, callback) {
  if (password !== 'hello') return callback(new WrongUsernameOrPasswordError(identifier));
  const profile = { user_id: '7', email: configuration.EMAIL };
  if (configuration.VERIFIED === 'yes') profile.email_verified = true;
  return callback(null, profile);
}"#;
const STEERED_GET_USER: &str = r#"function getByEmail(email, callback) {
  return callback(null, { user_id: '7', email: configuration.EMAIL });
}"#;

/// Auth0's rule: an email changed without `email_verified` is unverified —
/// the old address's proof says nothing about the new one. A script that
/// keeps the same email and omits the flag does not downgrade it.
async fn legacy_email_change_is_unverified(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    let options = |email: &str, verified: &str| {
        json!({"enabledDatabaseCustomization": true, "import_mode": false, "passwordPolicy": "none",
               "customScripts": {"login": STEERED_LOGIN, "get_user": STEERED_GET_USER},
               "configuration": {"EMAIL": email, "VERIFIED": verified}})
    };
    let (s, c) = h
        .api(&t, Method::POST, "/connections", Some(json!({"name": "legacy-steered", "strategy": "auth0",
            "enabled_clients": [h.info.client_id, cid], "options": options("kim@old.example", "yes")})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let conn_path = format!("/connections/{}", c["id"].as_str().unwrap());
    let login = |user: &'static str| {
        h.token(json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": cid,
                       "client_secret": secret, "username": user, "password": "hello",
                       "realm": "legacy-steered", "scope": "openid email"}))
    };
    let hr = &h;
    let local = move || async move {
        hr.state()
            .store
            .get_user(hr.state().tid(), "auth0|7")
            .await
            .unwrap()
            .unwrap()
    };

    let (s, body) = login("kim@old.example").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(local().await.email_verified, "the script said verified");

    // Same email, the flag omitted: still verified.
    let (s, c) = h
        .api(
            &t,
            Method::PATCH,
            &conn_path,
            Some(json!({"options": options("kim@old.example", "no")})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let (s, body) = login("kim@old.example").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        local().await.email_verified,
        "an omitted flag never downgrades the same email"
    );

    // A new email without the flag: unverified.
    let (s, c) = h
        .api(
            &t,
            Method::PATCH,
            &conn_path,
            Some(json!({"options": options("kim@new.example", "no")})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let (s, body) = login("kim@old.example").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let kim = local().await;
    assert_eq!(kim.email.as_deref(), Some("kim@new.example"));
    assert!(
        !kim.email_verified,
        "a changed email is unverified unless the script says so"
    );

    // A new email the script says is verified: verified.
    let (s, c) = h
        .api(
            &t,
            Method::PATCH,
            &conn_path,
            Some(json!({"options": options("kim@third.example", "yes")})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let (s, body) = login("kim@new.example").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let kim = local().await;
    assert_eq!(kim.email.as_deref(), Some("kim@third.example"));
    assert!(kim.email_verified);
    h.stop().await;
}
