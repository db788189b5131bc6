#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! `PATCH /users/{id}` against what happens around it: a password reset
//! that lands while the edit is under way, and the unblock links mailed to
//! an address the edit replaces.

mod common;
mod reset_support;

use std::sync::Arc;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use reset_support::confirm_link;
use serde_json::json;
use tern_core::attack_protection::legacy_key;
use tern_core::store::FailedLogin;
use tokio::sync::Notify;

const CONN: &str = "Username-Password-Authentication";

/// A legacy `get_user` service that holds the lookup of `held_email` until
/// the test lets it go: the edit that asked is then paused between reading
/// the user and writing it. Every other email answers "no such user" at once.
struct HeldLookup {
    url: String,
    arrived: Arc<Notify>,
    release: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

/// Ann's email changed to ann@elsewhere.example (`PATCH` of the user at `path`).
async fn move_ann_elsewhere(h: &Harness, t: &str, path: &str) {
    let (s, u) = h
        .api(
            t,
            Method::PATCH,
            path,
            Some(json!({"email": "ann@elsewhere.example", "connection": CONN})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
}

async fn held_lookup(held_email: &'static str) -> HeldLookup {
    use axum::extract::Query;
    use axum::routing::get;
    let (arrived, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let (a, r) = (arrived.clone(), release.clone());
    let app = axum::Router::new().route(
        "/users",
        get(
            move |Query(q): Query<std::collections::HashMap<String, String>>| async move {
                if q.get("email").map(String::as_str) == Some(held_email) {
                    a.notify_one();
                    r.notified().await;
                }
                axum::http::StatusCode::NOT_FOUND
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    HeldLookup {
        url,
        arrived,
        release,
        task,
    }
}

const GET_USER: &str = r#"function getUser(email, callback) {
  request.get({ url: configuration.LEGACY_URL + '/users', qs: { email: email }, json: true },
    function (err, response) {
      if (err) return callback(err);
      if (response.statusCode === 404) return callback(null);
      callback(new Error('legacy service answered ' + response.statusCode));
    });
}"#;
const LOGIN: &str = r#"function login(email, password, callback) {
  callback(new WrongUsernameOrPasswordError(email));
}"#;

/// An email edit reads the user, asks the legacy store whether the new
/// email is taken (held here), then writes: a password set meanwhile stays.
async fn an_edit_does_not_undo_a_concurrent_password_change(b: Backend) {
    let legacy = held_lookup("new@race.example").await;
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    let (s, c) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/connections/{}", h.info.connection_id),
            Some(json!({
            "options": {"enabledDatabaseCustomization": true, "import_mode": true,
                        "customScripts": {"login": LOGIN, "get_user": GET_USER},
                        "configuration": {"LEGACY_URL": legacy.url}}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let user = h.create_user(&t, "old@race.example", "Old-passw0rd!").await;
    let path = format!(
        "/users/{}",
        urlencoding::encode(user["user_id"].as_str().unwrap())
    );

    let edit = h.api(
        &t,
        Method::PATCH,
        &path,
        Some(json!({"email": "new@race.example"})),
    );
    let reset_meanwhile = async {
        legacy.arrived.notified().await;
        let (s, u) = h
            .api(
                &t,
                Method::PATCH,
                &path,
                Some(json!({"password": "New-passw0rd!"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{u}");
        legacy.release.notify_one();
    };
    let ((s, u), ()) = tokio::join!(edit, reset_meanwhile);
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["email"], "new@race.example");

    let client = (cid.as_str(), secret.as_str());
    let (s, body) = h
        .password_grant_from(client, "new@race.example", "New-passw0rd!", "127.0.0.1")
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the password set meanwhile stays: {body}"
    );
    let (s, _) = h
        .password_grant_from(client, "new@race.example", "Old-passw0rd!", "127.0.0.1")
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the edit did not bring the old one back"
    );
    legacy.task.abort();
    h.stop().await;
}

/// A block's unblock link went to the old address: once the email changes,
/// it no longer lifts the block (as reset links are closed).
async fn a_new_email_voids_unblock_links(b: Backend) {
    let h = Harness::start_with(b, |c| {
        c.http.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    let client = (cid.as_str(), secret.as_str());
    h.set_attack_protection(&t, "brute-force-protection", json!({"max_attempts": 3}))
        .await;
    let user = h.create_user(&t, "ann@example.com", "Secret-123").await;
    let path = format!(
        "/users/{}",
        urlencoding::encode(user["user_id"].as_str().unwrap())
    );
    let ip = "198.51.100.1";
    for _ in 0..3 {
        let (s, _) = h
            .password_grant_from(client, "ann@example.com", "wrong", ip)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let st = h.state();
    let mails = st.store.list_outbox(st.tid(), 0, 1000).await.unwrap();
    let link = mails
        .iter()
        .filter(|m| m.kind == "account_unblock")
        .find_map(|m| {
            m.text
                .split_whitespace()
                .find_map(|w| w.find("/lo/unblock?ticket=").map(|i| w[i..].to_string()))
        })
        .expect("an unblock mail");

    move_ann_elsewhere(&h, &t, &path).await;
    let r = h
        .http
        .get(format!("{}{link}", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "the old address's link is void"
    );
    let (s, _) = h
        .password_grant_from(client, "ann@elsewhere.example", "Secret-123", ip)
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the block holds");
    h.stop().await;
}

/// Block `identifier`'s legacy key (counted before its user is stored) with
/// unblock token `token`; the block's unblock link.
async fn legacy_block_link(h: &Harness, identifier: &str, token: &str) -> String {
    let st = h.state();
    let key = legacy_key(&h.info.connection_id, identifier);
    let failed = FailedLogin {
        user_id: &key,
        ip: "198.51.100.1",
        connection: CONN,
        identifier,
        now: st.now(),
        forget_before: 0,
    };
    st.store
        .count_login_failure(st.tid(), &failed)
        .await
        .unwrap();
    let hash = tern_server::reset::token_hash(token);
    let blocked = st
        .store
        .block_login(st.tid(), &key, failed.ip, st.now(), &hash);
    assert!(blocked.await.unwrap());
    format!("{}/lo/unblock?ticket={token}", h.base)
}

/// A block counted before the user was stored, under the legacy key of
/// the email then typed, may hold an unblock link too: once the stored
/// user's email changes, it no longer lifts the block either, while a link
/// of another identifier's block still does. (The block is written through
/// the store: Tern mails no link for a legacy identifier, so only the store
/// can give the test a token.)
async fn a_new_email_voids_legacy_unblock_links(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let user = h.create_user(&t, "ann@example.com", "Secret-123").await;
    let path = format!(
        "/users/{}",
        urlencoding::encode(user["user_id"].as_str().unwrap())
    );
    let old = legacy_block_link(
        &h,
        "Ann@Example.com",
        "oldaddresstoken0000000000000000000000000000",
    )
    .await;
    let other = legacy_block_link(
        &h,
        "bea@example.com",
        "otheraddresstoken00000000000000000000000000",
    )
    .await;

    move_ann_elsewhere(&h, &t, &path).await;
    let status = |url: String| {
        let http = h.http.clone();
        async move { http.get(url).send().await.unwrap().status() }
    };
    assert_eq!(
        status(old).await,
        StatusCode::NOT_FOUND,
        "the old address's legacy link is void"
    );
    assert_eq!(
        status(other.clone()).await,
        StatusCode::OK,
        "another identifier's link is untouched"
    );
    let (s, _, page) = confirm_link(&other).await;
    assert_eq!(s, StatusCode::OK, "and lifts its block: {page}");
    h.stop().await;
}

both_backends!(
    an_edit_does_not_undo_a_concurrent_password_change,
    a_new_email_voids_unblock_links,
    a_new_email_voids_legacy_unblock_links
);
