#![allow(clippy::unwrap_used)]
//! `request`, `fetch`, `node-fetch` and `axios` against a real local HTTP server.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tern_script::{
    CallbackResult, Network, NetworkPolicy, ScriptEnv, ScriptError, ScriptLimits, ScriptName, run,
};

/// `jane@example.com` / `pw` in HTTP Basic form.
const JANE_BASIC: &str = "Basic amFuZUBleGFtcGxlLmNvbTpwdw==";

async fn profile(headers: HeaderMap) -> impl IntoResponse {
    match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(JANE_BASIC) => (
            StatusCode::OK,
            Json(json!({"user_id": 17, "nickname": "jane", "email": "jane@example.com"})),
        )
            .into_response(),
        Some("Bearer t0ken") => {
            Json(json!({"user_id": "bearer", "email": "jane@example.com"})).into_response()
        }
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn by_email(Path(email): Path<String>) -> impl IntoResponse {
    if email == "jane@example.com" {
        Json(json!({"user_id": 17, "nickname": "jane", "email": email})).into_response()
    } else {
        (StatusCode::NOT_FOUND, "not found").into_response()
    }
}

async fn echo_json(headers: HeaderMap, Json(body): Json<Value>) -> impl IntoResponse {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (
        StatusCode::CREATED,
        Json(json!({"created": body, "contentType": ct})),
    )
}

async fn echo_form(body: String) -> impl IntoResponse {
    Json(json!({"form": body}))
}

async fn echo_query(
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let custom = headers
        .get("x-custom")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Json(json!({"query": q, "custom": custom}))
}

async fn slow() -> impl IntoResponse {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "late"
}

async fn server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app =
        Router::new()
            .route("/profile", get(profile))
            .route("/users-by-email/{email}", get(by_email))
            .route("/users", post(echo_json))
            .route("/form", post(echo_form))
            .route("/query", get(echo_query))
            .route("/slow", get(slow))
            .route("/big", get(|| async { "x".repeat(3 * 1024 * 1024) }))
            .route(
                "/redirect-in",
                get(|| async { Redirect::temporary("/users-by-email/jane@example.com") }),
            )
            .route(
                "/redirect-out",
                get(move || async move {
                    Redirect::temporary(&format!("http://127.0.0.2:{port}/profile"))
                }),
            );
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    port
}

fn env(port: u16) -> ScriptEnv {
    let mut configuration = std::collections::BTreeMap::new();
    configuration.insert("BASE".to_owned(), format!("http://127.0.0.1:{port}"));
    ScriptEnv {
        configuration,
        network: Network::new(NetworkPolicy::new(&[format!("127.0.0.1:{port}")]).unwrap()),
        limits: ScriptLimits {
            timeout: Duration::from_secs(10),
            ..ScriptLimits::default()
        },
        ..ScriptEnv::default()
    }
}

/// Auth0's `request` login template, pointed at the local server.
const REQUEST_LOGIN: &str = r#"function login(email, password, callback) {
  const request = require('request');

  request.get({
    url: configuration.BASE + '/profile',
    auth: {
      username: email,
      password: password
    }
    //for more options check:
    //https://github.com/mikeal/request#requestoptions-callback
  }, function(err, response, body) {
    if (err) return callback(err);
    if (response.statusCode === 401) return callback();
    const user = JSON.parse(body);

    callback(null, {
      user_id: user.user_id.toString(),
      nickname: user.nickname,
      email: user.email
    });
  });
}"#;

/// Auth0's `request` get_user template.
const REQUEST_GET_USER: &str = r#"function loginByEmail(email, callback) {
  const request = require('request');

  request.get({
    url: configuration.BASE + '/users-by-email/' + email
  }, function(err, response, body) {
    if (err) return callback(err);
    if (response.statusCode === 404) return callback(null);

    const user = JSON.parse(body);

    callback(null, {
      user_id: user.user_id.toString(),
      nickname: user.nickname,
      email: user.email
    });
  });
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_templates() {
    let port = server().await;
    let e = env(port);
    let ok = run(
        REQUEST_LOGIN,
        ScriptName::Login,
        vec!["jane@example.com".into(), "pw".into()],
        &e,
    )
    .await;
    assert_eq!(
        ok.outcome,
        Ok(CallbackResult::Value(Some(
            json!({"user_id": "17", "nickname": "jane", "email": "jane@example.com"})
        )))
    );
    let bad = run(
        REQUEST_LOGIN,
        ScriptName::Login,
        vec!["jane@example.com".into(), "nope".into()],
        &e,
    )
    .await;
    assert_eq!(bad.outcome, Ok(CallbackResult::Value(None)));
    let found = run(
        REQUEST_GET_USER,
        ScriptName::GetUser,
        vec!["jane@example.com".into()],
        &e,
    )
    .await;
    assert!(
        matches!(found.outcome, Ok(CallbackResult::Value(Some(ref v))) if v["user_id"] == "17")
    );
    let missing = run(
        REQUEST_GET_USER,
        ScriptName::GetUser,
        vec!["bob@example.com".into()],
        &e,
    )
    .await;
    assert_eq!(missing.outcome, Ok(CallbackResult::Value(None)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_options() {
    let port = server().await;
    let r = run(
        r#"function create(user, callback) {
          request.post({url: configuration.BASE + '/users', json: {email: user.email, n: 1}}, function (err, res, body) {
            if (err) return callback(err);
            request.post({url: configuration.BASE + '/form', form: {a: 'b c', d: '&'}}, function (err2, res2, body2) {
              if (err2) return callback(err2);
              request({url: configuration.BASE + '/query', qs: {x: 1, y: 'z w'}, headers: {'X-Custom': 'yes'}, json: true}, function (err3, res3, body3) {
                if (err3) return callback(err3);
                callback(null, {status: res.statusCode, body, form: JSON.parse(body2).form, query: body3, ct: res3.headers['content-type']});
              });
            });
          });
        }"#,
        ScriptName::Create,
        vec![json!({"email": "new@example.com", "password": "x"})],
        &env(port),
    )
    .await;
    assert_eq!(
        r.outcome,
        Ok(CallbackResult::Value(Some(json!({
            "status": 201,
            "body": {"created": {"email": "new@example.com", "n": 1}, "contentType": "application/json"},
            "form": "a=b%20c&d=%26",
            "query": {"query": {"x": "1", "y": "z w"}, "custom": "yes"},
            "ct": "application/json",
        }))))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_node_fetch_and_axios() {
    let port = server().await;
    let r = run(
        r#"async function login(email, password, callback) {
          const fetch2 = require('node-fetch@2.6.0');
          const res = await fetch(configuration.BASE + '/profile', {headers: {Authorization: 'Bearer t0ken'}});
          const user = await res.json();
          const denied = await fetch2(new URL('/profile', configuration.BASE));
          const created = await fetch(configuration.BASE + '/users', {method: 'POST', body: JSON.stringify({a: 1}), headers: {'content-type': 'application/json'}});
          const axios = require('axios');
          const ax = await axios.post(configuration.BASE + '/users', {b: 2});
          let axErr = null;
          try { await axios.get(configuration.BASE + '/users-by-email/nobody'); } catch (e) { axErr = [e.isAxiosError, e.response.status]; }
          const redirected = await fetch(configuration.BASE + '/redirect-in');
          callback(null, {
            user_id: user.user_id, ok: res.ok, ct: res.headers.get('Content-Type'),
            denied: [denied.status, denied.ok], created: [created.status, (await created.json()).created],
            axios: [ax.status, ax.data.created], axErr, redirected: [redirected.status, (await redirected.json()).user_id],
          });
        }"#,
        ScriptName::Login,
        vec!["jane@example.com".into(), "pw".into()],
        &env(port),
    )
    .await;
    assert_eq!(
        r.outcome,
        Ok(CallbackResult::Value(Some(json!({
            "user_id": "bearer", "ok": true, "ct": "application/json",
            "denied": [401, false], "created": [201, {"a": 1}], "axios": [201, {"b": 2}],
            "axErr": [true, 404], "redirected": [200, 17],
        }))))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_and_limits() {
    let port = server().await;
    // A redirect to a host the policy does not allow is refused.
    let r = run(
        "async function (email, password, callback) { try { await fetch(configuration.BASE + '/redirect-out'); callback(null, 'followed'); } catch (e) { callback(null, e.message); } }",
        ScriptName::Login,
        vec!["a".into(), "b".into()],
        &env(port),
    )
    .await;
    assert!(
        matches!(r.outcome, Ok(CallbackResult::Value(Some(Value::String(ref m)))) if m.contains("network.allow")),
        "{:?}",
        r.outcome
    );
    // Another port on the same host is refused.
    let r = run(
        "function (email, password, callback) { request.get('http://127.0.0.1:1/', function (err) { callback(null, err.code); }); }",
        ScriptName::Login,
        vec!["a".into(), "b".into()],
        &env(port),
    )
    .await;
    assert_eq!(
        r.outcome,
        Ok(CallbackResult::Value(Some(json!("ENOTALLOWED"))))
    );
    // A response larger than the memory limit allows is refused.
    let mut small = env(port);
    small.limits.memory_bytes = 2 * 1024 * 1024;
    let r = run(
        "function (email, password, callback) { request.get(configuration.BASE + '/big', function (err) { callback(null, err && err.code); }); }",
        ScriptName::Login,
        vec!["a".into(), "b".into()],
        &small,
    )
    .await;
    assert_eq!(
        r.outcome,
        Ok(CallbackResult::Value(Some(json!("ERESPONSETOOLARGE"))))
    );
    // A hanging server does not outlive the deadline.
    let mut short = env(port);
    short.limits.timeout = Duration::from_millis(500);
    let r = run(
        "function (email, password, callback) { request.get(configuration.BASE + '/slow', function (err, res) { callback(err, 'never'); }); }",
        ScriptName::Login,
        vec!["a".into(), "b".into()],
        &short,
    )
    .await;
    assert_eq!(r.outcome, Err(ScriptError::Timeout));
    // The server answers after 30 s; well under that proves the deadline
    // (the margin absorbs a loaded CI machine compiling the script slowly).
    assert!(r.elapsed < Duration::from_secs(10), "{:?}", r.elapsed);
}
