#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The Management API's sessions on both backends: `GET`/`DELETE
//! /users/{id}/sessions`, `GET`/`PATCH`/`DELETE /sessions/{id}` and `POST
//! /sessions/{id}/revoke`, over real HTTP against sessions a real sign-in
//! made through `/authorize` and the hosted login page. Ending a session
//! must send the browser's next `/authorize` to the login page; revoking
//! one must also refuse its refresh tokens, and nothing else's, and log
//! each. A session records the browser's address (through a trusted
//! proxy's `X-Forwarded-For`) and `User-Agent` where it started and was
//! last used.

mod common;

use common::browser::{Browser, claims};
use common::{Backend, Harness};
use reqwest::header::USER_AGENT;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tern_core::sso::Session;

const CALLBACK: &str = "https://app.example/callback";
const EMAIL: &str = "ada@example.com";
const OTHER_EMAIL: &str = "grace@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";

struct App {
    id: String,
    secret: String,
}

struct Setup {
    h: Harness,
    /// Every Management API scope.
    t: String,
    web: App,
    user_id: String,
}

async fn setup(b: Backend) -> Setup {
    // Loopback is the trusted proxy, so a browser's `X-Forwarded-For` is
    // the address the server records (without one: 127.0.0.1).
    let h = Harness::start_with(b, |c| {
        c.http.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let t = h.admin_token().await;
    let user = h.create_user(&t, EMAIL, PASSWORD).await;
    h.create_user(&t, OTHER_EMAIL, PASSWORD).await;
    let c = h
        .client_on(
            &t,
            &h.info.connection_id,
            json!({"name": "Web", "app_type": "regular_web", "callbacks": [CALLBACK],
                   "grant_types": ["authorization_code", "refresh_token", "password"],
                   "token_endpoint_auth_method": "client_secret_post"}),
        )
        .await;
    let web = App {
        id: c["client_id"].as_str().unwrap().to_string(),
        secret: c["client_secret"].as_str().unwrap().to_string(),
    };
    Setup {
        user_id: user["user_id"].as_str().unwrap().to_string(),
        h,
        t,
        web,
    }
}

/// A browser signed in as `email` through the code flow, and the tokens
/// its code bought (`scope` decides whether a refresh token comes too).
async fn signed_in(x: &Setup, email: &str, scope: &str) -> (Browser, Value) {
    let mut b = Browser::new(&x.h.base);
    let done = b
        .code_sign_in(&x.web.id, CALLBACK, scope, email, PASSWORD)
        .await;
    let code = done.location_param("code").expect("a code");
    let (s, tokens) =
        x.h.token(
            json!({"grant_type": "authorization_code", "client_id": x.web.id,
                      "client_secret": x.web.secret, "code": code, "redirect_uri": CALLBACK}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    (b, tokens)
}

/// The session id (`sid`) the ID token names.
fn sid(tokens: &Value) -> String {
    claims(tokens["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Whether the browser's next `/authorize` signs it in silently (a code)
/// rather than showing the login page.
async fn still_signed_in(x: &Setup, b: &mut Browser) -> bool {
    b.signs_in_silently(&x.web.id, CALLBACK).await
}

async fn refresh(x: &Setup, rt: &Value) -> (StatusCode, Value) {
    x.h.token(json!({"grant_type": "refresh_token", "client_id": x.web.id,
                     "client_secret": x.web.secret, "refresh_token": rt}))
        .await
}

async fn sessions_of(x: &Setup, user_id: &str, query: &str) -> Value {
    let (s, page) =
        x.h.api(
            &x.t,
            Method::GET,
            &format!("/users/{user_id}/sessions{query}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page
}

/// The tenant log's refresh token revocations (`srrt`).
async fn revocations_logged(x: &Setup) -> Value {
    let (s, logs) =
        x.h.api(&x.t, Method::GET, "/logs?q=type:srrt&per_page=100", None)
            .await;
    assert_eq!(s, StatusCode::OK, "{logs}");
    logs
}

fn is_iso(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|d| d.len() == 24 && d.ends_with('Z') && d.as_bytes()[10] == b'T')
}

async fn listed_then_deleted(b: Backend) {
    let x = setup(b).await;
    let (mut br, tokens) = signed_in(&x, EMAIL, "openid").await;
    let sid = sid(&tokens);
    let page = sessions_of(&x, &x.user_id, "").await;
    let list = page["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{page}");
    assert!(page.get("next").is_none(), "one page: {page}");
    let one = &list[0];
    assert_eq!(one["id"], sid.as_str());
    assert_eq!(one["user_id"], x.user_id.as_str());
    assert_eq!(one["clients"], json!([{"client_id": x.web.id}]));
    assert_eq!(one["authentication"]["methods"][0]["name"], "pwd");
    for field in [
        "created_at",
        "updated_at",
        "authenticated_at",
        "idle_expires_at",
        "expires_at",
        "last_interacted_at",
    ] {
        assert!(is_iso(&one[field]), "{field}: {one}");
    }
    // A browser without `X-Forwarded-For` or `User-Agent`: the peer only.
    assert_eq!(
        one["device"],
        json!({"initial_ip": "127.0.0.1", "last_ip": "127.0.0.1"})
    );
    assert_eq!(one["session_metadata"], json!({}));
    // Never the cookie or its digest.
    let cookie = br.jar.get("__Host-tern_session").unwrap().clone();
    let digest = tern_server::cookies::digest(&x.h.state().public_url, "", &cookie);
    assert!(!page.to_string().contains(&cookie) && !page.to_string().contains(&digest));
    let (s, got) =
        x.h.api(&x.t, Method::GET, &format!("/sessions/{sid}"), None)
            .await;
    assert_eq!((s, &got), (StatusCode::OK, one));

    assert!(still_signed_in(&x, &mut br).await);
    let (s, e) =
        x.h.api(&x.t, Method::DELETE, &format!("/sessions/{sid}"), None)
            .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{e}");
    assert!(
        !still_signed_in(&x, &mut br).await,
        "an ended session signs nobody in"
    );
    let (s, e) =
        x.h.api(&x.t, Method::GET, &format!("/sessions/{sid}"), None)
            .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(e["errorCode"], "inexistent_session", "{e}");
    // As Auth0's (no 404 in its OpenAPI): ending an ended session is accepted.
    let (s, _) =
        x.h.api(&x.t, Method::DELETE, &format!("/sessions/{sid}"), None)
            .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(sessions_of(&x, &x.user_id, "").await["sessions"], json!([]));
    x.h.stop().await;
}

async fn every_session_of_a_user_paged_and_ended(b: Backend) {
    let x = setup(b).await;
    let (mut one, _) = signed_in(&x, EMAIL, "openid").await;
    let (mut two, _) = signed_in(&x, EMAIL, "openid").await;
    let (mut theirs, _) = signed_in(&x, OTHER_EMAIL, "openid").await;
    let page = sessions_of(&x, &x.user_id, "?take=1").await;
    assert_eq!(page["sessions"].as_array().unwrap().len(), 1, "{page}");
    let next = page["next"].as_str().expect("a next page").to_string();
    let rest = sessions_of(&x, &x.user_id, &format!("?take=1&from={next}")).await;
    assert_eq!(rest["sessions"].as_array().unwrap().len(), 1, "{rest}");
    assert!(rest.get("next").is_none(), "{rest}");
    assert_ne!(rest["sessions"][0]["id"], page["sessions"][0]["id"]);
    let (s, e) =
        x.h.api(
            &x.t,
            Method::GET,
            &format!("/users/{}/sessions?take=0", x.user_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["errorCode"], "invalid_query_string", "{e}");

    let path = format!("/users/{}/sessions", x.user_id);
    let (s, e) = x.h.api(&x.t, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{e}");
    assert!(!still_signed_in(&x, &mut one).await);
    assert!(!still_signed_in(&x, &mut two).await);
    assert!(
        still_signed_in(&x, &mut theirs).await,
        "another user's session stays"
    );
    assert_eq!(sessions_of(&x, &x.user_id, "").await["sessions"], json!([]));
    for m in [Method::GET, Method::DELETE] {
        let (s, e) = x.h.api(&x.t, m, "/users/auth0|nobody/sessions", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(e["errorCode"], "inexistent_user", "{e}");
    }

    // Expired sessions are not listed (the injectable clock, no sleep).
    let (_, tokens) = signed_in(&x, EMAIL, "openid").await;
    assert_eq!(
        sessions_of(&x, &x.user_id, "").await["sessions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    x.h.state().clock.advance(400 * 86_400);
    assert_eq!(sessions_of(&x, &x.user_id, "").await["sessions"], json!([]));
    let (s, _) =
        x.h.api(
            &x.t,
            Method::GET,
            &format!("/sessions/{}", sid(&tokens)),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    x.h.stop().await;
}

async fn revoking_a_session_refuses_its_refresh_tokens(b: Backend) {
    let x = setup(b).await;
    let (mut br, tokens) = signed_in(&x, EMAIL, "openid offline_access").await;
    let sid = sid(&tokens);
    let through_session = tokens["refresh_token"].clone();
    assert!(through_session.is_string(), "{tokens}");
    // A second browser's session, and a password grant (no session).
    let (mut other_browser, other) = signed_in(&x, EMAIL, "openid offline_access").await;
    let (s, password) =
        x.h.token(json!({"grant_type": "password", "client_id": x.web.id,
                      "client_secret": x.web.secret, "username": EMAIL,
                      "password": PASSWORD, "scope": "openid offline_access"}))
            .await;
    assert_eq!(s, StatusCode::OK, "{password}");

    // The grant its code bought: the refresh token naming the session.
    let (s, listed) =
        x.h.api(
            &x.t,
            Method::GET,
            &format!("/users/{}/refresh-tokens", x.user_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{listed}");
    let grant_of_session: Vec<&Value> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["session_id"] == sid.as_str())
        .collect();
    assert_eq!(grant_of_session.len(), 1, "{listed}");
    let grant_id = grant_of_session[0]["id"].clone();

    let path = format!("/sessions/{sid}/revoke");
    let only_sessions = x.h.scoped_token(&["delete:sessions"]).await;
    let (s, e) = x.h.api(&only_sessions, Method::POST, &path, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["errorCode"], "insufficient_scope");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("delete:refresh_tokens"),
        "{e}"
    );
    assert!(
        still_signed_in(&x, &mut br).await,
        "a refusal changes nothing"
    );

    assert_eq!(revocations_logged(&x).await, json!([]));
    let (s, e) = x.h.api(&x.t, Method::POST, &path, None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{e}");
    // Logged as the refresh-token endpoints log a revocation.
    let logged = revocations_logged(&x).await;
    assert_eq!(logged.as_array().unwrap().len(), 1, "{logged}");
    let entry = &logged[0];
    assert_eq!(entry["user_id"], x.user_id.as_str(), "{entry}");
    assert_eq!(entry["client_id"], x.web.id.as_str(), "{entry}");
    assert_eq!(entry["details"]["grant_id"], grant_id, "{entry}");
    assert_eq!(
        entry["details"]["revoked_by"],
        x.h.info.client_id.as_str(),
        "{entry}"
    );
    assert!(!still_signed_in(&x, &mut br).await);
    let (s, e) = refresh(&x, &through_session).await;
    // Auth0 refuses a revoked refresh token with 403 `invalid_grant`.
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error"], "invalid_grant", "{e}");
    let (s, e) = refresh(&x, &password["refresh_token"]).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "a password grant's token has no session: {e}"
    );
    let (s, e) = refresh(&x, &other["refresh_token"]).await;
    assert_eq!(s, StatusCode::OK, "another session's token: {e}");
    assert!(still_signed_in(&x, &mut other_browser).await);
    let (s, _) = x.h.api(&x.t, Method::POST, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "revoked already");

    // Deleting (not revoking) leaves the refresh tokens, as Auth0's.
    let other_sid = self::sid(&other);
    let (s, _) =
        x.h.api(
            &x.t,
            Method::DELETE,
            &format!("/sessions/{other_sid}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, e) = refresh(&x, &other["refresh_token"]).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    x.h.stop().await;
}

async fn scopes_and_tenancy(b: Backend) {
    let x = setup(b).await;
    let (_, tokens) = signed_in(&x, EMAIL, "openid").await;
    let sid = sid(&tokens);
    let one = format!("/sessions/{sid}");
    let of_user = format!("/users/{}/sessions", x.user_id);
    let read = x.h.scoped_token(&["read:sessions", "read:users"]).await;
    let delete = x.h.scoped_token(&["delete:sessions", "delete:users"]).await;
    for (token, method, path, scope) in [
        (&read, Method::DELETE, &one, "delete:sessions"),
        (&read, Method::DELETE, &of_user, "delete:sessions"),
        (&read, Method::PATCH, &one, "update:sessions"),
        (&delete, Method::PATCH, &one, "update:sessions"),
        (&delete, Method::GET, &one, "read:sessions"),
        (&delete, Method::GET, &of_user, "read:sessions"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"session_metadata": {"a": "b"}}));
        let (s, e) = x.h.api(token, method.clone(), path, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {e}");
        assert_eq!(e["errorCode"], "insufficient_scope");
        assert!(e["message"].as_str().unwrap().contains(scope), "{e}");
    }
    let (s, got) = x.h.api(&read, Method::GET, &one, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        got["session_metadata"],
        json!({}),
        "a refused PATCH wrote nothing"
    );

    for (method, path) in [
        (Method::GET, "/sessions/no-such-session"),
        (Method::DELETE, "/sessions/no-such-session"),
        (Method::POST, "/sessions/no-such-session/revoke"),
        (Method::PATCH, "/sessions/no-such-session"),
        // The console's setup link is stored beside the sessions; it is nobody's.
        (Method::GET, "/sessions/console-setup"),
        (Method::DELETE, "/sessions/console-setup"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"session_metadata": {}}));
        let (s, e) = x.h.api(&x.t, method.clone(), path, body).await;
        // A DELETE of nothing is accepted, as Auth0's (no 404 in its OpenAPI).
        if method == Method::DELETE {
            assert_eq!(s, StatusCode::ACCEPTED, "{method} {path}: {e}");
            continue;
        }
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {e}");
        assert_eq!(e["errorCode"], "inexistent_session", "{e}");
    }
    assert!(
        x.h.info.console_setup_url.is_some(),
        "the setup record exists, so the 404 above was its doing"
    );

    // Another tenant's session of a user with the same id is out of reach.
    let store = &x.h.state().store;
    let other = tern_core::model::Tenant {
        id: "ten_other".into(),
        name: "other".into(),
        created_at: tern_core::clock::now_iso(),
    };
    store.insert_tenant(&other).await.unwrap();
    let now = x.h.state().now();
    let foreign = Session {
        id_hash: "foreign-cookie-digest".into(),
        sid: "foreign-sid".into(),
        user_id: x.user_id.clone(),
        connection_id: x.h.info.connection_id.clone(),
        auth_time: now,
        created_at: now,
        last_interacted_at: now,
        expires_at: now + 3600,
        idle_expires_at: now + 3600,
        clients: Vec::new(),
        amr: Vec::new(),
        device: Default::default(),
        metadata: [("owner".to_string(), "other tenant".to_string())].into(),
    };
    store.insert_session(&other.id, &foreign).await.unwrap();
    for (method, path) in [
        (Method::GET, "/sessions/foreign-sid"),
        (Method::PATCH, "/sessions/foreign-sid"),
        (Method::DELETE, "/sessions/foreign-sid"),
        (Method::POST, "/sessions/foreign-sid/revoke"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"session_metadata": null}));
        let (s, e) = x.h.api(&x.t, method.clone(), path, body).await;
        // Accepted, and the session is still there below.
        if method == Method::DELETE {
            assert_eq!(s, StatusCode::ACCEPTED, "{method} {path}: {e}");
            continue;
        }
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {e}");
        assert_eq!(e["errorCode"], "inexistent_session", "{e}");
    }
    let kept = store.get_session_by_sid(&other.id, "foreign-sid").await;
    assert_eq!(
        kept.unwrap().unwrap().metadata,
        foreign.metadata,
        "another tenant's session keeps its metadata"
    );
    let listed = sessions_of(&x, &x.user_id, "").await;
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["sessions"][0]["id"], sid.as_str());
    let (s, _) = x.h.api(&x.t, Method::DELETE, &of_user, None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert!(
        store
            .get_session_by_sid(&other.id, "foreign-sid")
            .await
            .unwrap()
            .is_some(),
        "another tenant's session survives"
    );
    x.h.stop().await;
}

async fn device_recorded_where_the_session_started_and_was_last_used(b: Backend) {
    let x = setup(b).await;
    let mut br = Browser::new(&x.h.base);
    br.headers
        .insert(USER_AGENT, "Browser-One/1.0".parse().unwrap());
    br.headers
        .insert("x-forwarded-for", "198.51.100.10".parse().unwrap());
    let done = br
        .code_sign_in(&x.web.id, CALLBACK, "openid", EMAIL, PASSWORD)
        .await;
    assert!(done.location_param("code").is_some());
    let page = sessions_of(&x, &x.user_id, "").await;
    let started = page["sessions"][0].clone();
    assert_eq!(
        started["device"],
        json!({"initial_ip": "198.51.100.10", "initial_user_agent": "Browser-One/1.0",
               "last_ip": "198.51.100.10", "last_user_agent": "Browser-One/1.0"}),
        "{started}"
    );

    // Used again from elsewhere, by a client whose user agent would bloat
    // the row: the latest device moves and is cut, the first stays.
    let long = format!("Browser-Two/2.0 ({})", "x".repeat(400));
    br.headers.insert(USER_AGENT, long.parse().unwrap());
    br.headers
        .insert("x-forwarded-for", "203.0.113.20".parse().unwrap());
    x.h.state().clock.advance(60);
    assert!(still_signed_in(&x, &mut br).await);
    let sid = started["id"].as_str().unwrap();
    let (s, used) =
        x.h.api(&x.t, Method::GET, &format!("/sessions/{sid}"), None)
            .await;
    assert_eq!(s, StatusCode::OK, "{used}");
    let device = &used["device"];
    assert_eq!(device["initial_ip"], "198.51.100.10", "{used}");
    assert_eq!(device["initial_user_agent"], "Browser-One/1.0", "{used}");
    assert_eq!(device["last_ip"], "203.0.113.20", "{used}");
    let cut: String = long.chars().take(256).collect();
    assert_eq!(device["last_user_agent"], cut.as_str(), "{used}");
    assert_ne!(used["last_interacted_at"], started["last_interacted_at"]);
    x.h.stop().await;
}

async fn session_metadata_patched_and_validated(b: Backend) {
    let x = setup(b).await;
    let (mut br, tokens) = signed_in(&x, EMAIL, "openid").await;
    let sid = sid(&tokens);
    let one = format!("/sessions/{sid}");
    let patch = |body: Option<Value>| {
        let (x, one) = (&x, &one);
        async move { x.h.api(&x.t, Method::PATCH, one, body).await }
    };
    let before = sessions_of(&x, &x.user_id, "").await["sessions"][0].clone();

    let (s, got) = patch(Some(
        json!({"session_metadata": {"team": "ops", "ticket": "T-1"}}),
    ))
    .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["id"], sid.as_str());
    assert_eq!(
        got["session_metadata"],
        json!({"team": "ops", "ticket": "T-1"})
    );
    assert_eq!(
        got["last_interacted_at"], before["last_interacted_at"],
        "a label is not a use"
    );
    let listed = sessions_of(&x, &x.user_id, "").await;
    assert_eq!(
        listed["sessions"][0], got,
        "the list shows what the PATCH returned"
    );
    // Each use rewrites the session's record; the metadata stays.
    assert!(still_signed_in(&x, &mut br).await);
    let (_, used) = x.h.api(&x.t, Method::GET, &one, None).await;
    assert_eq!(used["session_metadata"], got["session_metadata"], "{used}");

    // A PATCH replaces the whole object.
    let (s, got) = patch(Some(json!({"session_metadata": {"team": "dev"}}))).await;
    assert_eq!(
        (s, &got["session_metadata"]),
        (StatusCode::OK, &json!({"team": "dev"}))
    );
    let (s, got) = patch(Some(json!({"session_metadata": null}))).await;
    assert_eq!((s, &got["session_metadata"]), (StatusCode::OK, &json!({})));
    patch(Some(json!({"session_metadata": {"team": "dev"}}))).await;
    let (s, got) = patch(Some(json!({"session_metadata": {}}))).await;
    assert_eq!((s, &got["session_metadata"]), (StatusCode::OK, &json!({})));

    // Auth0's bounds, at the edge: 25 properties of 255 characters.
    let full: serde_json::Map<String, Value> = (0..25)
        .map(|i| (format!("key{i}"), json!("v".repeat(255))))
        .collect();
    let (s, got) = patch(Some(json!({"session_metadata": full}))).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["session_metadata"], Value::Object(full.clone()));

    let mut over = full.clone();
    over.insert("key25".into(), json!("v"));
    for (body, says) in [
        (Some(json!({"session_metadata": over})), "26 properties"),
        (
            Some(json!({"session_metadata": {"note": "v".repeat(256)}})),
            "'session_metadata.note' must be at most 255 characters",
        ),
        (
            Some(json!({"session_metadata": {"count": 3}})),
            "'session_metadata.count' must be a string",
        ),
        (
            Some(json!({"session_metadata": ["a"]})),
            "'session_metadata' must be an object",
        ),
        (
            Some(json!({"session_metadata": {}, "expires_at": "2030-01-01T00:00:00.000Z"})),
            "Additional properties not allowed: expires_at",
        ),
        (Some(json!({})), "minimum 1"),
        (None, "the request body is empty"),
    ] {
        let (s, e) = patch(body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body:?}: {e}");
        assert_eq!(e["errorCode"], "invalid_body", "{e}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(says), "{body:?}: {message}");
    }
    let (_, after) = x.h.api(&x.t, Method::GET, &one, None).await;
    assert_eq!(
        after["session_metadata"],
        Value::Object(full),
        "a refused PATCH changes nothing"
    );

    // An ended session cannot be labelled.
    x.h.api(&x.t, Method::DELETE, &one, None).await;
    let (s, e) = patch(Some(json!({"session_metadata": null}))).await;
    assert_eq!(
        (s, &e["errorCode"]),
        (StatusCode::NOT_FOUND, &json!("inexistent_session"))
    );
    x.h.stop().await;
}

/// An operator's sessions (console and SSO) are theirs to list, but ending
/// them is a change to an operator: it needs every Management API scope.
async fn an_operators_sessions_need_every_scope_to_end(b: Backend) {
    let x = setup(b).await;
    let mut op =
        x.h.console_operator("ops@example.com", "Operator-Pass-42!")
            .await;
    assert_eq!(op.get("/console").await.status, StatusCode::OK);
    let (s, users) =
        x.h.api(
            &x.t,
            Method::GET,
            "/users-by-email?email=ops@example.com",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{users}");
    let op_id = users[0]["user_id"].as_str().unwrap().to_string();
    let listed = sessions_of(&x, &op_id, "").await;
    let sessions = listed["sessions"].as_array().unwrap().clone();
    assert!(!sessions.is_empty(), "{listed}");
    let sid = sessions[0]["id"].as_str().unwrap();
    let scoped =
        x.h.scoped_token(&[
            "delete:sessions",
            "delete:refresh_tokens",
            "update:sessions",
        ])
        .await;
    for (method, path) in [
        (Method::DELETE, format!("/users/{op_id}/sessions")),
        (Method::DELETE, format!("/sessions/{sid}")),
        (Method::POST, format!("/sessions/{sid}/revoke")),
        (Method::PATCH, format!("/sessions/{sid}")),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"session_metadata": {"a": "b"}}));
        let (s, e) = x.h.api(&scoped, method.clone(), &path, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {e}");
        assert_eq!(e["errorCode"], "insufficient_scope", "{e}");
    }
    assert_eq!(op.get("/console").await.status, StatusCode::OK);
    let (s, _) =
        x.h.api(
            &x.t,
            Method::DELETE,
            &format!("/users/{op_id}/sessions"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let a = op.get("/console").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "signed out of the console");
    assert_eq!(a.location().as_deref(), Some("/console/login"));
    x.h.stop().await;
}

/// A `from` that is not a `next` of the same list: 400 in Auth0's envelope,
/// with a message naming `from` and `fragment`.
async fn cursor_refused(x: &Setup, path: &str, from: &str, fragment: &str) {
    let (s, e) =
        x.h.api(&x.t, Method::GET, &format!("{path}from={from}"), None)
            .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{path}{from}: {e}");
    assert_eq!(e["errorCode"], "invalid_query_string", "{e}");
    assert_eq!(e["statusCode"], 400, "{e}");
    let m = e["message"].as_str().unwrap();
    assert!(
        m.contains("'from'") && m.contains(fragment),
        "{path}{from}: {m}"
    );
}

async fn checkpoint_cursors_are_opaque_and_checked(b: Backend) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let x = setup(b).await;
    let (_, one) = signed_in(&x, EMAIL, "openid offline_access").await;
    let (_, two) = signed_in(&x, EMAIL, "openid offline_access").await;
    let sessions = format!("/users/{}/sessions?take=1&", x.user_id);
    let tokens = format!("/users/{}/refresh-tokens?take=1&", x.user_id);
    let listing = format!("/refresh-tokens?user_id={}&take=1&", x.user_id);

    // The cursor names no id, and pages to the other session.
    let page = sessions_of(&x, &x.user_id, "?take=1").await;
    let next = page["next"].as_str().expect("a next page").to_string();
    for id in [sid(&one), sid(&two)] {
        assert!(!next.contains(&id), "{next} shows {id}");
    }
    let rest = sessions_of(&x, &x.user_id, &format!("?take=1&from={next}")).await;
    assert_ne!(rest["sessions"][0]["id"], page["sessions"][0]["id"]);
    assert!(rest.get("next").is_none(), "{rest}");

    // A refresh token cursor pages either refresh token list.
    let (s, first) = x.h.api(&x.t, Method::GET, &tokens, None).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let rt_next = first["next"].as_str().expect("a next page").to_string();
    assert!(!rt_next.contains("gr_"), "{rt_next}");
    for path in [&tokens, &listing] {
        let (s, second) =
            x.h.api(&x.t, Method::GET, &format!("{path}from={rt_next}"), None)
                .await;
        assert_eq!(s, StatusCode::OK, "{second}");
        let key = if path == &tokens {
            "tokens"
        } else {
            "refresh_tokens"
        };
        assert_eq!(second[key].as_array().unwrap().len(), 1, "{second}");
        assert_ne!(second[key][0]["id"], first["tokens"][0]["id"]);
    }

    // Another list's cursor is refused by name.
    cursor_refused(&x, &sessions, &rt_next, "refresh tokens").await;
    cursor_refused(&x, &tokens, &next, "sessions").await;
    cursor_refused(&x, &listing, &next, "sessions").await;
    // A raw id (what `next` used to be), garbage, an altered cursor.
    let raw_sid = page["sessions"][0]["id"].as_str().unwrap().to_string();
    cursor_refused(&x, &sessions, &raw_sid, "next").await;
    let raw_grant = first["tokens"][0]["id"].as_str().unwrap().to_string();
    cursor_refused(&x, &tokens, &raw_grant, "next").await;
    cursor_refused(&x, &sessions, "%21%21", "next").await;
    let mut bytes = URL_SAFE_NO_PAD.decode(&next).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let altered = URL_SAFE_NO_PAD.encode(&bytes);
    cursor_refused(&x, &sessions, &altered, "altered").await;
    // A layout this release does not know (a later one's): said so.
    bytes[0] = 99;
    let later = URL_SAFE_NO_PAD.encode(&bytes);
    cursor_refused(&x, &sessions, &later, "version 99").await;
    x.h.stop().await;
}

/// Auth0's OpenAPI lists a form body for `PATCH /sessions/{id}` too: the
/// metadata object in bracket syntax, validated as the JSON one is.
async fn session_metadata_patched_by_form(b: Backend) {
    let x = setup(b).await;
    let (_br, tokens) = signed_in(&x, EMAIL, "openid").await;
    let one = format!("/sessions/{}", sid(&tokens));
    let (s, got) =
        x.h.api_form(
            &x.t,
            Method::PATCH,
            &one,
            "session_metadata%5Bteam%5D=ops&session_metadata[ticket]=T+1%2F2",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(
        got["session_metadata"],
        json!({"team": "ops", "ticket": "T 1/2"})
    );
    for (form, says) in [
        ("session_metadata=x", "'session_metadata' must be an object"),
        (
            "expires_at=2030",
            "Additional properties not allowed: expires_at",
        ),
        ("session_metadata=x&session_metadata[a]=b", "contradicts"),
        ("session_metadata[a]=%FF", "not valid UTF-8"),
    ] {
        let (s, e) = x.h.api_form(&x.t, Method::PATCH, &one, form).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{form}: {e}");
        assert_eq!(e["errorCode"], "invalid_body", "{e}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(says), "{form}: {message}");
    }
    let (_, after) = x.h.api(&x.t, Method::GET, &one, None).await;
    assert_eq!(after["session_metadata"], got["session_metadata"]);
    x.h.stop().await;
}

both_backends!(
    session_metadata_patched_by_form,
    checkpoint_cursors_are_opaque_and_checked,
    an_operators_sessions_need_every_scope_to_end,
    listed_then_deleted,
    every_session_of_a_user_paged_and_ended,
    revoking_a_session_refuses_its_refresh_tokens,
    scopes_and_tenancy,
    device_recorded_where_the_session_started_and_was_last_used,
    session_metadata_patched_and_validated,
);
