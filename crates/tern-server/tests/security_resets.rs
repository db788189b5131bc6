#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Reset links that die when they should (issue 11, item 5) and the
//! reset/login race (item 7), over real HTTP on both backends.
//!
//! - `/dbconnections/*` take JSON only: a cross-site page can POST
//!   `text/plain`, a form or a body without a type without a preflight, and
//!   must not make Tern mail anyone.
//! - A user has at most a few open links; a new password (PATCH or a reset),
//!   a new email or a block closes them all. A rehash on login or the first
//!   credential a legacy login sets is not a new password and closes none.
//! - A password login that meets the user a lazy reset just created (no
//!   credential yet) sets that user's credential and answers 200.

mod common;
mod reset_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use reset_support::*;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

const DB: &str = "Username-Password-Authentication";

/// The reset links mailed so far to `to`, oldest first.
async fn links_to(h: &Harness, to: &str) -> Vec<String> {
    outbox(h)
        .await
        .iter()
        .filter(|m| m.to == to)
        .map(|m| link_in(h, &m.text))
        .collect()
}

/// Which of these links still open the reset form (200) — the others are
/// 410 Gone.
async fn open(links: &[String]) -> Vec<bool> {
    let mut out = Vec::new();
    for l in links {
        let (s, _, html) = open_link(l).await;
        assert!(s == StatusCode::OK || s == StatusCode::GONE, "{s}: {html}");
        out.push(s == StatusCode::OK);
    }
    out
}

/// The default connection and an application on it.
async fn app(h: &Harness) -> LegacyApp {
    let t = h.admin_token().await;
    let (client_id, client_secret) = h.password_client(&t).await;
    LegacyApp {
        token: t,
        client_id,
        client_secret,
        connection_id: h.info.connection_id.clone(),
    }
}

async fn patch(h: &Harness, t: &str, user_id: &str, body: Value) -> Value {
    let path = format!("/users/{}", urlencoding::encode(user_id));
    let (s, u) = h.api(t, Method::PATCH, &path, Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    u
}

/// The issue's scenario and each thing that must close a user's links.
async fn links_die_with_what_they_were_for(b: Backend) {
    let h = Harness::start(b).await;
    let app = app(&h).await;
    let t = app.token.clone();
    let u = h.create_user(&t, "pat@example.com", "Old-pa55word").await;
    let id = u["user_id"].as_str().unwrap().to_string();
    let reset = |email: &'static str| request_reset(&h, &app.client_id, DB, email);

    // Five requests: five mails, but only the newest links stay open.
    for _ in 0..5 {
        assert_eq!(reset("pat@example.com").await.0, StatusCode::OK);
    }
    let first = links_to(&h, "pat@example.com").await;
    assert_eq!(first.len(), 5);
    assert_eq!(open(&first).await, [false, false, true, true, true]);
    let oldest = ticket_of(&first[0]);
    let (s, _, _) = submit(&h, &oldest, "Th1ef-password", "Th1ef-password").await;
    assert_eq!(s, StatusCode::GONE, "the oldest link sets nothing");

    // A new email closes every link sent to the old one.
    patch(&h, &t, &id, json!({"email": "pat@new.example"})).await;
    assert_eq!(open(&first).await, [false; 5]);
    for l in &first {
        let (s, _, _) = submit(&h, &ticket_of(l), "Th1ef-password", "Th1ef-password").await;
        assert_eq!(s, StatusCode::GONE);
    }
    assert_eq!(
        login(&h, &app, DB, "pat@new.example", "Old-pa55word").await,
        StatusCode::OK,
        "no link changed the password"
    );

    // A new password (PATCH) closes them.
    for _ in 0..2 {
        reset("pat@new.example").await;
    }
    let second = links_to(&h, "pat@new.example").await;
    assert_eq!(open(&second).await, [true, true]);
    patch(&h, &t, &id, json!({"password": "N3w-pa55word"})).await;
    assert_eq!(open(&second).await, [false, false]);

    // A block closes them.
    reset("pat@new.example").await;
    let third = links_to(&h, "pat@new.example").await;
    assert_eq!(open(&third[2..]).await, [true]);
    patch(&h, &t, &id, json!({"blocked": true})).await;
    assert_eq!(open(&third[2..]).await, [false]);
    patch(&h, &t, &id, json!({"blocked": false})).await;

    // Other profile changes leave them open; a reset through one link
    // closes the others.
    reset("pat@new.example").await;
    reset("pat@new.example").await;
    let fourth = links_to(&h, "pat@new.example").await;
    patch(
        &h,
        &t,
        &id,
        json!({"name": "Pat", "user_metadata": {"lang": "fr"}}),
    )
    .await;
    assert_eq!(open(&fourth[3..]).await, [true, true]);
    let (s, _, html) = submit(
        &h,
        &ticket_of(&fourth[4]),
        "R3set-pa55word",
        "R3set-pa55word",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert_eq!(open(&fourth[3..]).await, [false, false]);
    assert_eq!(
        login(&h, &app, DB, "pat@new.example", "R3set-pa55word").await,
        StatusCode::OK
    );
    h.stop().await;
}

/// A rehash on login stores a new hash of the same password: the user's
/// links stay open.
async fn rehash_keeps_links(b: Backend) {
    let h = Harness::start(b).await;
    let app = app(&h).await;
    let t = app.token.clone();
    let st = h.state();
    // bcrypt is below the current policy (argon2id): the first login rehashes.
    let form = reqwest::multipart::Form::new()
        .part(
            "users",
            reqwest::multipart::Part::bytes(
                serde_json::to_vec(
                    &json!([{"email": "quinn@example.com", "password_hash": HELLO_BCRYPT}]),
                )
                .unwrap(),
            )
            .file_name("users.json")
            .mime_str("application/json")
            .unwrap(),
        )
        .text("connection_id", h.info.connection_id.clone())
        .text("tern_wait_ms", "10000");
    let r = h
        .http
        .post(format!("{}/api/v2/jobs/users-imports", h.base))
        .bearer_auth(&t)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["status"], "completed", "{job}");
    request_reset(&h, &app.client_id, DB, "quinn@example.com").await;
    let links = links_to(&h, "quinn@example.com").await;
    assert_eq!(
        login(&h, &app, DB, "quinn@example.com", "hello").await,
        StatusCode::OK
    );
    let quinn = st
        .store
        .get_user_by_email(st.tid(), &h.info.connection_id, "quinn@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(
        quinn
            .credential
            .as_deref()
            .unwrap()
            .starts_with("$argon2id$"),
        "rehashed: {:?}",
        quinn.credential
    );
    assert_eq!(open(&links).await, [true], "a rehash is not a new password");
    h.stop().await;
}

/// `/dbconnections/*` take JSON only: what a page on another site can send
/// without a CORS preflight is refused with 415, and nobody is mailed.
async fn json_only(b: Backend) {
    let h = Harness::start(b).await;
    let app = app(&h).await;
    h.create_user(&app.token, "sam@example.com", "Old-pa55word")
        .await;
    let body = json!({"client_id": app.client_id, "connection": DB, "email": "sam@example.com"})
        .to_string();
    let signup = json!({"client_id": app.client_id, "connection": DB, "email": "new@example.com", "password": "Sign-up-pa55"}).to_string();
    let form = format!(
        "client_id={}&connection={DB}&email=sam%40example.com",
        app.client_id
    );
    for (path, content_type, payload) in [
        ("change_password", Some("text/plain"), body.clone()),
        (
            "change_password",
            Some("text/plain;charset=UTF-8"),
            body.clone(),
        ),
        (
            "change_password",
            Some("application/x-www-form-urlencoded"),
            form.clone(),
        ),
        (
            "change_password",
            Some("multipart/form-data; boundary=x"),
            body.clone(),
        ),
        ("change_password", None, body.clone()),
        ("signup", Some("text/plain"), signup.clone()),
        ("signup", None, signup.clone()),
    ] {
        let mut req = h
            .http
            .post(format!("{}/dbconnections/{path}", h.base))
            .header("origin", "https://evil.example")
            .body(payload);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{path} {content_type:?}"
        );
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"], "invalid_request", "{e}");
        assert!(
            e["error_description"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{e}"
        );
    }
    // JSON (with or without a charset) still works: one mail, for it alone.
    let r = h
        .http
        .post(format!("{}/dbconnections/change_password", h.base))
        .header("content-type", "Application/JSON; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    wait_resets(&h, 1).await;
    assert_eq!(resets_done(&h).await, 1);
    assert_eq!(outbox(&h).await.len(), 1);
    let (_, none) = h
        .api(
            &app.token,
            Method::GET,
            "/users-by-email?email=new%40example.com",
            None,
        )
        .await;
    assert_eq!(none, json!([]), "no signup went through");
    h.stop().await;
}

// ------------------------------------------------------------ the race

/// A legacy user service over HTTP (a system outside our control, faked by
/// the test) whose login answers only when the test lets it: the window
/// between a login's lookup and its insert, held open on purpose.
struct GatedLegacy {
    url: String,
    /// One message per login that reached the service and now waits.
    arrived: mpsc::UnboundedReceiver<()>,
    release: Arc<Semaphore>,
    logins: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

const RITA: &str = "rita@legacy.example";
const RITA_PASSWORD: &str = "Rit4-legacy-pw";

async fn gated_legacy() -> GatedLegacy {
    use axum::extract::{Query, State as AxState};
    use axum::routing::{get, post};
    type St = (mpsc::UnboundedSender<()>, Arc<Semaphore>, Arc<AtomicUsize>);
    let (tx, arrived) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let logins = Arc::new(AtomicUsize::new(0));
    let profile = json!({"id": 7, "email": RITA, "name": "Rita"});
    let p = profile.clone();
    let app = axum::Router::new()
        .route(
            "/authenticate",
            post(
                move |AxState((tx, release, logins)): AxState<St>,
                      axum::Json(b): axum::Json<Value>| async move {
                    logins.fetch_add(1, Ordering::SeqCst);
                    tx.send(()).unwrap();
                    release.acquire().await.unwrap().forget();
                    if b["email"] == RITA && b["password"] == RITA_PASSWORD {
                        (axum::http::StatusCode::OK, axum::Json(p))
                    } else {
                        (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({})))
                    }
                },
            ),
        )
        .route(
            "/users",
            get(move |Query(q): Query<HashMap<String, String>>| async move {
                if q.get("email").map(String::as_str) == Some(RITA) {
                    (axum::http::StatusCode::OK, axum::Json(profile))
                } else {
                    (axum::http::StatusCode::NOT_FOUND, axum::Json(json!({})))
                }
            }),
        )
        .with_state((tx, release.clone(), logins.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    GatedLegacy {
        url,
        arrived,
        release,
        logins,
        task,
    }
}

const GATED_LOGIN: &str = r#"function login(email, password, callback) {
  request.post({ url: configuration.LEGACY_URL + '/authenticate', json: { email: email, password: password } },
    function (err, response, body) {
      if (err) return callback(err);
      if (response.statusCode === 401) return callback(new WrongUsernameOrPasswordError(email));
      callback(null, { user_id: body.id, email: body.email, name: body.name });
    });
}"#;

const GATED_GET_USER: &str = r#"function getByEmail(email, callback) {
  request.get({ url: configuration.LEGACY_URL + '/users', qs: { email: email }, json: true },
    function (err, response, body) {
      if (err) return callback(err);
      if (response.statusCode === 404) return callback(null);
      callback(null, { user_id: body.id, email: body.email, name: body.name });
    });
}"#;

/// A lazy connection on the gated service and an application on it.
async fn gated_connection(h: &Harness, legacy: &GatedLegacy) -> LegacyApp {
    let t = h.admin_token().await;
    let (client_id, client_secret) = h.password_client(&t).await;
    let (s, c) = h
        .api(
            &t,
            Method::POST,
            "/connections",
            Some(json!({"name": "legacy-gated", "strategy": "auth0",
            "enabled_clients": [h.info.client_id, client_id],
            "options": {"enabledDatabaseCustomization": true, "import_mode": true,
                        "customScripts": {"login": GATED_LOGIN, "get_user": GATED_GET_USER},
                        "configuration": {"LEGACY_URL": legacy.url}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    LegacyApp {
        token: t,
        client_id,
        client_secret,
        connection_id: c["id"].as_str().unwrap().to_string(),
    }
}

/// Issue 11, item 7: a legacy-only user asks for a reset and logs in with
/// the legacy password meanwhile. Order forced: the logins have looked Rita
/// up (not there) and wait in the legacy call; the reset is requested
/// (writing no user: its ticket carries her profile); then the legacy
/// answers and the login migrates her. The link, used afterwards, sets
/// the new password on the stored Rita.
async fn reset_then_login_race(b: Backend) {
    let mut legacy = gated_legacy().await;
    let h = Harness::start(b).await;
    let app = gated_connection(&h, &legacy).await;
    // One instance makes attempts on one brute-force counter (Rita from
    // this address) take turns; the race is between instances (or
    // addresses). Allowlisting the address lets the three race here.
    let (s, e) = h
        .api(
            &app.token,
            Method::PATCH,
            "/attack-protection/brute-force-protection",
            Some(json!({"allowlist": ["127.0.0.1"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let st = h.state();
    let log_in = |pw: &'static str| {
        let h = &h;
        let app = &app;
        async move { login(h, app, "legacy-gated", RITA, pw).await }
    };
    // Two logins with the right password, one with a wrong one.
    let logins = async {
        tokio::join!(
            log_in(RITA_PASSWORD),
            log_in(RITA_PASSWORD),
            log_in("wrong-password")
        )
    };
    let reset_meanwhile = async {
        for _ in 0..3 {
            legacy.arrived.recv().await.unwrap();
        }
        let (s, _, _) = request_reset(&h, &app.client_id, "legacy-gated", RITA).await;
        assert_eq!(s, StatusCode::OK);
        let rita = st.store.get_user(st.tid(), "auth0|7").await.unwrap();
        assert_eq!(rita, None, "the request writes no user");
        legacy.release.add_permits(3);
    };
    let ((first, second, wrong), ()) = tokio::join!(logins, reset_meanwhile);
    assert_eq!((first, second), (StatusCode::OK, StatusCode::OK));
    assert_eq!(wrong, StatusCode::FORBIDDEN);

    // One Rita, with the typed password; the legacy store is not asked again.
    let (_, same) = h
        .api(
            &app.token,
            Method::GET,
            "/users-by-email?email=rita%40legacy.example",
            None,
        )
        .await;
    assert_eq!(same.as_array().unwrap().len(), 1, "{same}");
    let rita = st
        .store
        .get_user(st.tid(), "auth0|7")
        .await
        .unwrap()
        .unwrap();
    let verdict = tern_core::login::verify_password(Some(&rita), RITA_PASSWORD, &st.policy);
    assert!(
        matches!(verdict, tern_core::login::Verdict::Valid { .. }),
        "{verdict:?}"
    );
    let calls = legacy.logins.load(Ordering::SeqCst);
    assert_eq!(
        login(&h, &app, "legacy-gated", RITA, RITA_PASSWORD).await,
        StatusCode::OK
    );
    assert_eq!(legacy.logins.load(Ordering::SeqCst), calls);
    let f = logs(&h, &app.token, "f").await;
    assert!(
        !any_describes(&f, &["already exists with another password"]),
        "{f:#?}"
    );
    // Logging in with the legacy password is not a new password: the link
    // Rita asked for still works.
    let links = links_to(&h, RITA).await;
    assert_eq!(open(&links).await, [true]);
    // The link finds Rita stored (the login's insert won): it sets the new
    // password on her, never a second Rita.
    let (s, _, html) = submit(&h, &ticket_of(&links[0]), "N3w-rita-pass", "N3w-rita-pass").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert_eq!(
        login(&h, &app, "legacy-gated", RITA, "N3w-rita-pass").await,
        StatusCode::OK
    );
    assert_eq!(
        login(&h, &app, "legacy-gated", RITA, RITA_PASSWORD).await,
        StatusCode::FORBIDDEN
    );
    let rita = st
        .store
        .get_user(st.tid(), "auth0|7")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        rita.source,
        tern_core::model::UserSource::LazyReset,
        "the login's user"
    );
    legacy.task.abort();
    h.stop().await;
}

/// The same, one after the other: the reset's work is over before the
/// login starts.
async fn reset_then_login_in_turn(b: Backend) {
    let legacy = gated_legacy().await;
    legacy.release.add_permits(100);
    let h = Harness::start(b).await;
    let app = gated_connection(&h, &legacy).await;
    let (s, _, _) = request_reset(&h, &app.client_id, "legacy-gated", RITA).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        login(&h, &app, "legacy-gated", RITA, RITA_PASSWORD).await,
        StatusCode::OK
    );
    let st = h.state();
    let rita = st
        .store
        .get_user(st.tid(), "auth0|7")
        .await
        .unwrap()
        .unwrap();
    assert!(rita.credential.is_some());
    legacy.task.abort();
    h.stop().await;
}

/// One address cannot walk a list of emails: past
/// `RESET_REQUESTS_PER_ADDRESS_HOUR` requests in an hour, the answer stays
/// the same (no enumeration) but nothing is looked up or mailed — one
/// `fcpr` says so — until the hour is over.
async fn one_address_is_limited_without_telling(b: Backend) {
    let limit = tern_server::reset::RESET_REQUESTS_PER_ADDRESS_HOUR;
    let h = Harness::start(b).await;
    let app = app(&h).await;
    h.create_user(&app.token, "pat@example.com", "Old-pa55word")
        .await;
    // Start the hour on its boundary, so the test does not cross one.
    let now = h.state().now();
    h.state().clock.advance(3600 - now.rem_euclid(3600));
    let (s, _, first_answer) = change_password(&h, &app.client_id, DB, "pat@example.com").await;
    assert_eq!(s, StatusCode::OK);
    for i in 1..limit {
        let (s, _, _) =
            change_password(&h, &app.client_id, DB, &format!("nobody{i}@example.com")).await;
        assert_eq!(s, StatusCode::OK);
    }
    wait_resets(&h, limit).await;
    assert_eq!(outbox(&h).await.len(), 1, "the first request mailed Pat");
    h.state().clock.advance(61);
    for _ in 0..3 {
        let (s, _, answer) = change_password(&h, &app.client_id, DB, "pat@example.com").await;
        assert_eq!(
            (s, &answer),
            (StatusCode::OK, &first_answer),
            "the same answer"
        );
    }
    wait_resets(&h, limit + 1).await;
    let events = logs(&h, &app.token, "fcpr").await;
    assert!(
        any_describes(&events, &["change password requests from this address"]),
        "{events:?}"
    );
    assert_eq!(outbox(&h).await.len(), 1, "nothing mailed past the limit");
    assert_eq!(
        h.metric_reaching("tern_refusals_total{kind=\"reset_requests\"}", 3.0)
            .await,
        Some(3.0),
        "each refused request counted"
    );
    assert_eq!(resets_done(&h).await, limit + 1, "one event for the flood");

    // The next hour, the address may ask again.
    h.state().clock.advance(3600);
    request_reset(&h, &app.client_id, DB, "pat@example.com").await;
    assert_eq!(outbox(&h).await.len(), 2);
    h.stop().await;
}

both_backends!(
    one_address_is_limited_without_telling,
    links_die_with_what_they_were_for,
    rehash_keeps_links,
    json_only,
    reset_then_login_race,
    reset_then_login_in_turn
);
