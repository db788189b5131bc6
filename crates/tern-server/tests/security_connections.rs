#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Connections stay apart (issue 11, item 2): a legacy answer or an import
//! row on one connection never reaches a user of another, even when the two
//! legacy systems number their users alike — which they usually do.
//!
//! Connection A is the default database connection, holding `auth0|42`
//! (Victor, with a password) and `auth0|43` (Carol, imported without one).
//! Connection B is a custom database whose legacy store is a real script in
//! the QuickJS sandbox, with its own user 42 (Mallory, whose password she
//! knows) and 43 (Carol's account in the other shop, same email). Every
//! attempt by B to produce `auth0|42` or `auth0|43` must be refused, logged
//! as `w` naming both connections and both ids, and change nothing of A's.

mod common;

use common::{Backend, Harness};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tern_core::model::User;

const REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
const A: &str = "Username-Password-Authentication";
const B: &str = "shop-b";
const VICTOR_PASSWORD: &str = "Vict0r-a-pass";

/// Connection B's legacy store: its own users, numbered from the same range
/// as A's, with their own passwords (the script compares them itself).
const B_LOGIN: &str = r#"function login(email, password, callback) {
  var users = {
    'mallory@b.example': { id: 42, password: 'Mall0ry-pass' },
    'carol@a.example': { id: 43, password: 'Car0l-b-pass' },
    'dave@b.example': { id: 50, password: 'Dav3-b-pass' }
  };
  var u = users[email];
  if (!u || u.password !== password) return callback(new WrongUsernameOrPasswordError(email));
  callback(null, { user_id: u.id, email: email, name: 'B user ' + u.id });
}"#;

const B_GET_USER: &str = r#"function getByEmail(email, callback) {
  var ids = { 'mallory@b.example': 42, 'carol@a.example': 43, 'dave@b.example': 50 };
  if (!ids[email]) return callback(null);
  callback(null, { user_id: ids[email], email: email });
}"#;

/// What the attacks run against.
struct World {
    h: Harness,
    t: String,
    client_id: String,
    client_secret: String,
    a_id: String,
    b_id: String,
}

/// A with Victor (`auth0|42`) and Carol (`auth0|43`, no password); B with
/// the scripts above (`import_mode` as given; `None`: a plain database).
async fn world(backend: Backend, b_import_mode: Option<bool>) -> World {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let (client_id, client_secret) = h.password_client(&t).await;
    let (s, victor) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(json!({"connection": A, "user_id": "42",
            "email": "victor@a.example", "password": VICTOR_PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{victor}");
    assert_eq!(victor["user_id"], "auth0|42");
    // Carol came from A's bulk import without a hash: she waits for a password.
    let (_, job) = import(
        &h,
        &t,
        &h.info.connection_id.clone(),
        &json!([{"email": "carol@a.example", "user_id": "43"}]),
        false,
    )
    .await;
    assert_eq!(job["summary"]["inserted"], 1, "{job}");
    let options = match b_import_mode {
        Some(import_mode) => {
            json!({"enabledDatabaseCustomization": true, "import_mode": import_mode,
            "customScripts": {"login": B_LOGIN, "get_user": B_GET_USER}})
        }
        None => json!({}),
    };
    let (s, c) = h
        .api(
            &t,
            Method::POST,
            "/connections",
            Some(json!({"name": B, "strategy": "auth0",
            "enabled_clients": [h.info.client_id, client_id], "options": options})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    World {
        a_id: h.info.connection_id.clone(),
        b_id: c["id"].as_str().unwrap().to_string(),
        h,
        t,
        client_id,
        client_secret,
    }
}

impl World {
    async fn login(&self, realm: &str, user: &str, password: &str) -> (StatusCode, Value) {
        self.h
            .token(json!({"grant_type": REALM, "client_id": self.client_id,
                "client_secret": self.client_secret, "username": user, "password": password,
                "realm": realm, "scope": "openid email"}))
            .await
    }

    async fn stored(&self, user_id: &str) -> Option<User> {
        let st = self.h.state();
        st.store.get_user(st.tid(), user_id).await.unwrap()
    }

    /// `w` events (newest first).
    async fn warnings(&self) -> Vec<Value> {
        let (s, body) = self
            .h
            .api(&self.t, Method::GET, "/logs?q=type:w&per_page=100", None)
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    /// A `w` event on B naming both connections and both ids.
    async fn assert_warned(&self, legacy_id: &str) {
        let w = self.warnings().await;
        let found = w.iter().any(|e| {
            let d = e["description"].as_str().unwrap_or_default();
            e["connection"] == B
                && d.contains(B)
                && d.contains(A)
                && d.contains(&format!("'{legacy_id}'"))
                && d.contains(&format!("auth0|{legacy_id}"))
        });
        assert!(
            found,
            "a w event naming {B}, {A}, '{legacy_id}' and auth0|{legacy_id}: {w:#?}"
        );
        let details = w
            .iter()
            .find(|e| e["details"]["stored_connection_id"] == self.a_id.as_str())
            .unwrap_or_else(|| panic!("details name A's connection id: {w:#?}"));
        assert_eq!(details["connection_id"], self.b_id.as_str());
        assert_eq!(
            details["details"]["stored_user_id"],
            format!("auth0|{legacy_id}")
        );
    }

    /// Victor and Carol are exactly as before the attack.
    async fn assert_a_untouched(&self, victor_before: &User) {
        let victor = self.stored("auth0|42").await.unwrap();
        assert_eq!(&victor, victor_before, "Victor unchanged");
        assert_eq!(victor.connection_name, A);
        let carol = self.stored("auth0|43").await.unwrap();
        assert_eq!(carol.connection_id, self.a_id);
        assert_eq!(carol.email.as_deref(), Some("carol@a.example"));
        assert_eq!(carol.credential, None, "Carol still has no password");
        let (s, body) = self.login(A, "victor@a.example", VICTOR_PASSWORD).await;
        assert_eq!(s, StatusCode::OK, "Victor still logs in on A: {body}");
    }
}

/// Upload `rows` into a connection and wait for the job's end.
async fn import(
    h: &Harness,
    t: &str,
    connection_id: &str,
    rows: &Value,
    upsert: bool,
) -> (String, Value) {
    let form = Form::new()
        .part(
            "users",
            Part::bytes(serde_json::to_vec(rows).unwrap())
                .file_name("users.json")
                .mime_str("application/json")
                .unwrap(),
        )
        .text("connection_id", connection_id.to_string())
        .text("upsert", upsert.to_string())
        .text("tern_wait_ms", "10000");
    let r = h
        .http
        .post(format!("{}/api/v2/jobs/users-imports", h.base))
        .bearer_auth(t)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let mut job: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    // A loaded machine may need longer than the longest wait the upload offers.
    for _ in 0..600 {
        if job["status"] == "completed" || job["status"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        job = h.api(t, Method::GET, &format!("/jobs/{id}"), None).await.1;
    }
    assert_eq!(job["status"], "completed", "{job}");
    (id, job)
}

/// Import mode off (B's legacy store stays the source of truth): the issue's
/// attack. Mallory's own password on B must not give her `sub = auth0|42`,
/// nor rewrite Victor's email to hers.
async fn import_mode_off_login_refused(backend: Backend) {
    let w = world(backend, Some(false)).await;
    let victor_before = w.stored("auth0|42").await.unwrap();

    let (s, body) = w.login(B, "mallory@b.example", "Mall0ry-pass").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no token for Victor: {body}");
    assert_eq!(body["error"], "invalid_grant");
    assert!(body.get("access_token").is_none());
    w.assert_warned("42").await;
    // Carol's account in shop B is not Carol's account in shop A.
    let (s, body) = w.login(B, "carol@a.example", "Car0l-b-pass").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    w.assert_warned("43").await;
    w.assert_a_untouched(&victor_before).await;

    // B's users whose ids nobody else holds still log in, as B's users.
    let (s, body) = w.login(B, "dave@b.example", "Dav3-b-pass").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let dave = w.stored("auth0|50").await.unwrap();
    assert_eq!(
        (dave.connection_id.as_str(), dave.credential),
        (w.b_id.as_str(), None)
    );
    w.h.stop().await;
}

/// Import mode on (lazy migration): the same answers must neither log in as
/// A's users nor give Carol's A account the password of her B account; a
/// reset asked on B must not mail a link for A's Carol.
async fn import_mode_on_login_and_reset_refused(backend: Backend) {
    let w = world(backend, Some(true)).await;
    let victor_before = w.stored("auth0|42").await.unwrap();

    let (s, body) = w.login(B, "mallory@b.example", "Mall0ry-pass").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    w.assert_warned("42").await;
    let (s, body) = w.login(B, "carol@a.example", "Car0l-b-pass").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    w.assert_warned("43").await;

    // A reset on B for Carol: B's get_user names id 43, held by A's Carol.
    let r =
        w.h.http
            .post(format!("{}/dbconnections/change_password", w.h.base))
            .json(&json!({"client_id": w.client_id, "connection": B, "email": "carol@a.example"}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    wait_logged(&w.h, "fcpr", 1).await;
    let st = w.h.state();
    let mails = st.store.list_outbox(st.tid(), 0, 100).await.unwrap();
    let resets: Vec<_> = mails
        .iter()
        .filter(|m| m.kind == "password_reset")
        .collect();
    assert!(resets.is_empty(), "no link for A's Carol: {resets:?}");
    w.assert_a_untouched(&victor_before).await;

    // Dave migrates into B as usual.
    let (s, body) = w.login(B, "dave@b.example", "Dav3-b-pass").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let dave = w.stored("auth0|50").await.unwrap();
    assert_eq!(dave.connection_id, w.b_id);
    assert!(dave.credential.is_some());
    w.h.stop().await;
}

/// An import row on B carrying A's user_id is refused with Auth0's code for
/// duplicates and a message naming the other connection; inserts and
/// upserts alike, while B's other rows go in.
async fn import_row_refused(backend: Backend) {
    let w = world(backend, None).await;
    let victor_before = w.stored("auth0|42").await.unwrap();
    let t = w.t.clone();
    let rows = json!([
        {"email": "mallory@b.example", "user_id": "42", "password_hash": "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K"},
        {"email": "erin@b.example", "user_id": "b-7"},
    ]);
    let (id, job) = import(&w.h, &t, &w.b_id, &rows, false).await;
    assert_eq!(
        (
            job["summary"]["inserted"].as_u64(),
            job["summary"]["failed"].as_u64()
        ),
        (Some(1), Some(1)),
        "{job}"
    );
    assert_row_refused(&w, &id, 0).await;

    // Upsert: Erin's row names A's Carol by id.
    let rows = json!([{"email": "erin@b.example", "user_id": "43", "given_name": "Erin"}]);
    let (id, job) = import(&w.h, &t, &w.b_id, &rows, true).await;
    assert_eq!(job["summary"]["failed"], 1, "{job}");
    assert_row_refused(&w, &id, 0).await;
    let erin = w.stored("auth0|b-7").await.unwrap();
    assert_eq!(
        (erin.given_name, erin.connection_id),
        (None, w.b_id.clone())
    );
    w.assert_a_untouched(&victor_before).await;
    w.h.stop().await;
}

async fn assert_row_refused(w: &World, job_id: &str, index: u64) {
    let (s, errs) =
        w.h.api(&w.t, Method::GET, &format!("/jobs/{job_id}/errors"), None)
            .await;
    assert_eq!(s, StatusCode::OK, "{errs}");
    let e = errs
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["index"] == index)
        .unwrap_or_else(|| panic!("row {index} has an error: {errs}"));
    let first = &e["errors"][0];
    assert_eq!(first["code"], "DUPLICATED_USER", "{e}");
    assert_eq!(first["path"], "user_id", "{e}");
    let message = first["message"].as_str().unwrap();
    assert!(
        message.contains(A) && message.contains(&w.a_id) && message.contains("auth0|4"),
        "names the connection holding the id: {message}"
    );
}

/// Wait (bounded) until `n` events of this type are logged.
async fn wait_logged(h: &Harness, kind: &str, n: u64) {
    let st = h.state();
    for _ in 0..800 {
        let (_, total) = st
            .store
            .list_logs(st.tid(), Some(kind), 0, 0, u64::MAX)
            .await
            .unwrap();
        if total >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("fewer than {n} {kind} events");
}

both_backends!(
    import_mode_off_login_refused,
    import_mode_on_login_and_reset_refused,
    import_row_refused
);
