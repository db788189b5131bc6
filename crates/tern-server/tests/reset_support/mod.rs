//! Shared by the password-reset, legacy-guard and mail tests: a legacy
//! PostgreSQL user store with Auth0-template-style scripts, and the reset
//! flow's HTTP steps (the mail in the outbox, the link, the page's form).

#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Harness, PgDatabase};

/// bcrypt of "hello" from Auth0's docs (made by the bcrypt reference implementation).
pub const HELLO_BCRYPT: &str = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";

/// Auth0's "Database: PostgreSQL" login template, looking users up by email
/// or nickname. `uid` is the legacy system's public id (nullable: old rows
/// of real systems lack one).
pub const LOGIN: &str = r#"function login(emailOrNickname, password, callback) {
  const bcrypt = require('bcrypt');
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    client.query('SELECT uid, nickname, email, password, plan FROM users WHERE email = $1 OR nickname = $1', [emailOrNickname], function (err, result) {
      done();
      if (err || result.rows.length === 0) return callback(err || new WrongUsernameOrPasswordError(emailOrNickname));
      const user = result.rows[0];
      bcrypt.compare(password, user.password, function (err, isValid) {
        if (err || !isValid) return callback(err || new WrongUsernameOrPasswordError(emailOrNickname));
        return callback(null, { user_id: user.uid, nickname: user.nickname, email: user.email, metadata: { plan: user.plan } });
      });
    });
  });
}"#;

/// The matching get_user template; it also finds users by their secondary
/// address (`alias`), as some legacy systems do.
pub const GET_USER: &str = r#"function getByEmail(email, callback) {
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    client.query('SELECT uid, nickname, email, plan FROM users WHERE email = $1 OR alias = $1 LIMIT 1', [email], function (err, result) {
      done();
      if (err) return callback(err);
      if (result.rows.length === 0) return callback(null);
      const user = result.rows[0];
      callback(null, { user_id: user.uid, nickname: user.nickname, email: user.email, metadata: { plan: user.plan } });
    });
  });
}"#;

/// Run SQL on a database with psql.
pub fn psql(url: &str, sql: &str) {
    let ok = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .status()
        .unwrap()
        .success();
    assert!(ok, "{sql}");
}

/// A legacy store with `old1@legacy.example` … `old6@legacy.example`
/// (uid 1…6, password "hello", nickname `oldN`).
pub fn legacy_store() -> PgDatabase {
    let legacy = PgDatabase::create();
    psql(
        &legacy.url(),
        "CREATE TABLE users (uid TEXT, email TEXT, alias TEXT, nickname TEXT, password TEXT, plan TEXT)",
    );
    for i in 1..=6 {
        psql(
            &legacy.url(),
            &format!(
                "INSERT INTO users VALUES ('{i}', 'old{i}@legacy.example', NULL, 'old{i}', '{HELLO_BCRYPT}', 'gold')"
            ),
        );
    }
    legacy
}

/// What a test needs to drive a legacy connection.
pub struct LegacyApp {
    pub token: String,
    pub client_id: String,
    pub client_secret: String,
    pub connection_id: String,
}

/// Create the `legacy-db` connection (lazy migration, password policy
/// "fair") and an application allowed to use it.
pub async fn legacy_connection(h: &Harness, legacy: &PgDatabase) -> LegacyApp {
    let t = h.admin_token().await;
    let (client_id, client_secret) = h.password_client(&t).await;
    let (s, c) = h
        .api(&t, Method::POST, "/connections", Some(json!({"name": "legacy-db", "strategy": "auth0",
            "enabled_clients": [h.info.client_id, client_id],
            "options": {"enabledDatabaseCustomization": true, "import_mode": true, "passwordPolicy": "fair",
                        "customScripts": {"login": LOGIN, "get_user": GET_USER}, "configuration": {"PG_URL": legacy.url()}}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    LegacyApp {
        token: t,
        client_id,
        client_secret,
        connection_id: c["id"].as_str().unwrap().to_string(),
    }
}

/// `POST /dbconnections/change_password`; (status, content type, body text).
pub async fn change_password(
    h: &Harness,
    client_id: &str,
    connection: &str,
    email: &str,
) -> (StatusCode, String, String) {
    let r = h
        .http
        .post(format!("{}/dbconnections/change_password", h.base))
        .json(&json!({"client_id": client_id, "email": email, "connection": connection}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

/// Change-password requests finished so far: each logs one `scpr`, `fcpr`
/// or `fn` when its background work is done.
pub async fn resets_done(h: &Harness) -> u64 {
    let st = h.state();
    let mut n = 0;
    for kind in ["scpr", "fcpr", "fn"] {
        n += st
            .store
            .list_logs(st.tid(), Some(kind), 0, 0, u64::MAX)
            .await
            .unwrap()
            .1;
    }
    n
}

/// Wait (bounded) until `n` change-password requests have finished.
pub async fn wait_resets(h: &Harness, n: u64) {
    for _ in 0..800 {
        if resets_done(h).await >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("fewer than {n} change-password requests finished");
}

/// `POST /dbconnections/change_password` and wait for the work it starts
/// (the answer comes first).
pub async fn request_reset(
    h: &Harness,
    client_id: &str,
    connection: &str,
    email: &str,
) -> (StatusCode, String, String) {
    // A minute apart, as a person asks: a user gets at most one reset
    // mail a minute (issue 12), which is tested on its own.
    h.state().clock.advance(61);
    let before = resets_done(h).await;
    let answer = change_password(h, client_id, connection, email).await;
    if answer.0 == StatusCode::OK {
        wait_resets(h, before + 1).await;
    }
    answer
}

/// The outbox, oldest first.
pub async fn outbox(h: &Harness) -> Vec<tern_core::mail::OutboxMessage> {
    h.state()
        .store
        .list_outbox(h.state().tid(), 0, 1000)
        .await
        .unwrap()
}

/// The reset link in a mail body, made reachable: the mail names the public
/// (https) URL, the test server listens on plain http.
pub fn link_in(h: &Harness, text: &str) -> String {
    let public = &h.state().public_url;
    let start = text.find(public.as_str()).expect("a link to this server");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link.replacen(public.as_str(), &h.base, 1)
}

/// A ticket's answer (`{"ticket": url}`) as a link to this test server:
/// the URL must begin with the public URL and `path`; the link and its token.
pub fn ticket_link(h: &Harness, answer: &Value, path: &str) -> (String, String) {
    let url = answer["ticket"].as_str().unwrap();
    let public = &h.state().public_url;
    assert!(url.starts_with(&format!("{public}{path}?ticket=")), "{url}");
    let link = url.replacen(public.as_str(), &h.base, 1);
    let token = ticket_of(&link);
    (link, token)
}

/// The ticket of a reset link.
pub fn ticket_of(link: &str) -> String {
    let rest = link.split_once("ticket=").unwrap().1;
    rest.split('&').next().unwrap().to_string()
}

/// A client that does not follow redirects (the page redirects to `result_url`).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `GET` the reset page; (status, headers, html).
pub async fn open_link(link: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = browser().get(link).send().await.unwrap();
    let (s, headers) = (r.status(), r.headers().clone());
    (s, headers, r.text().await.unwrap())
}

/// Follow a mailed link that asks for a confirmation (email verification,
/// brute-force unblock) as its recipient does: open it, then press the
/// page's button (posting its form's ticket); (status, headers, html) of
/// the last answer. A link that does not open the button's page (used,
/// expired, unknown) answers at once.
pub async fn confirm_link(link: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let (s, headers, html) = open_link(link).await;
    if s != StatusCode::OK {
        return (s, headers, html);
    }
    let field = "name=\"ticket\" value=\"";
    let start = html
        .find(field)
        .unwrap_or_else(|| panic!("no confirmation form: {html}"))
        + field.len();
    let ticket = &html[start..start + html[start..].find('"').unwrap()];
    let action = link.split_once('?').unwrap().0;
    let r = browser()
        .post(action)
        .form(&[("ticket", ticket)])
        .send()
        .await
        .unwrap();
    let (s, headers) = (r.status(), r.headers().clone());
    (s, headers, r.text().await.unwrap())
}

/// Post the page's form; (status, headers, html).
pub async fn submit(
    h: &Harness,
    ticket: &str,
    password: &str,
    confirm: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = browser()
        .post(format!("{}/lo/reset", h.base))
        .form(&[
            ("ticket", ticket),
            ("newPassword", password),
            ("confirmNewPassword", confirm),
        ])
        .send()
        .await
        .unwrap();
    let (s, headers) = (r.status(), r.headers().clone());
    (s, headers, r.text().await.unwrap())
}

/// A password-realm login; the status.
pub async fn login(h: &Harness, app: &LegacyApp, realm: &str, user: &str, pw: &str) -> StatusCode {
    let (s, _) = h
        .token(
            json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": app.client_id, "client_secret": app.client_secret,
            "username": user, "password": pw, "realm": realm}),
        )
        .await;
    s
}

/// Tenant log events of one type, newest first.
pub async fn logs(h: &Harness, token: &str, kind: &str) -> Vec<Value> {
    let (s, body) = h
        .api(
            token,
            Method::GET,
            &format!("/logs?q=type:{kind}&per_page=100"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

/// Whether some event's description contains every fragment.
pub fn any_describes(events: &[Value], fragments: &[&str]) -> bool {
    events.iter().any(|e| {
        let d = e["description"].as_str().unwrap_or_default();
        fragments.iter().all(|f| d.contains(f))
    })
}
