#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! What a user was issued ends with them, on both backends: deleting a user
//! (by id, by email, with their connection) deletes their grants (refresh
//! tokens, and the access tokens `/userinfo` checks against them), browser
//! and console sessions and reset tickets, and a user created later with the
//! same id inherits none of them even where such rows remain; a new password
//! (Management API, reset link) or a block ends the user's sessions;
//! `/userinfo` refuses the tokens of a deleted application. Real HTTP; the
//! hosted login driven by `common::browser`.

mod common;
mod reset_support;

use common::browser::{Browser, claims, form_state};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use reset_support::{submit, ticket_of};
use serde_json::{Value, json};

const CALLBACK: &str = "https://app.example/callback";
const PASSWORD: &str = "Correct-Horse-7-Battery";
const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";

struct App {
    id: String,
    secret: String,
}

/// A web application on `connection_id` allowed the code, refresh and
/// password grants.
async fn app(h: &Harness, t: &str, connection_id: &str) -> App {
    let c = h
        .client_on(
            t,
            connection_id,
            json!({"name": "Web", "app_type": "regular_web", "callbacks": [CALLBACK],
                   "grant_types": ["authorization_code", "refresh_token", "password"],
                   "token_endpoint_auth_method": "client_secret_post"}),
        )
        .await;
    App {
        id: c["client_id"].as_str().unwrap().to_string(),
        secret: c["client_secret"].as_str().unwrap().to_string(),
    }
}

/// Create `auth0|{local_id}` in `connection` with `email`.
async fn create(h: &Harness, t: &str, connection: &str, local_id: &str, email: &str) {
    let (s, b) = h
        .api(
            t,
            Method::POST,
            "/users",
            Some(
                json!({"connection": connection, "user_id": local_id, "email": email,
                        "password": PASSWORD}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

fn authorize_url(app: &App, prompt_none: bool) -> String {
    let mut url = url::Url::parse("http://x/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.id)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("scope", "openid email offline_access")
        .append_pair("state", "s1");
    if prompt_none {
        url.query_pairs_mut().append_pair("prompt", "none");
    }
    format!("/authorize?{}", url.query().unwrap())
}

/// A user signed in through the hosted login: the browser holding their
/// SSO session, and the code exchange's tokens (with a refresh token).
async fn sign_in(h: &Harness, app: &App, email: &str) -> (Browser, Value) {
    let (b, code) = code_for(h, app, email).await;
    let (s, tokens) = exchange(h, app, &code).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    (b, tokens)
}

async fn exchange(h: &Harness, app: &App, code: &str) -> (StatusCode, Value) {
    h.token(
        json!({"grant_type": "authorization_code", "client_id": app.id,
               "client_secret": app.secret, "code": code, "redirect_uri": CALLBACK}),
    )
    .await
}

/// The hosted login's code for `email`, not exchanged yet.
async fn code_for(h: &Harness, app: &App, email: &str) -> (Browser, String) {
    let mut b = Browser::new(&h.base);
    let a = b.get(&authorize_url(app, false)).await;
    let page = b.follow(a).await;
    let state = form_state(&page.body);
    let posted = b
        .post_form(
            &format!("/u/login?state={state}"),
            &[
                ("state", &state),
                ("username", email),
                ("password", PASSWORD),
            ],
        )
        .await;
    let done = b.follow(posted).await;
    (b, done.location_param("code").expect("a code"))
}

/// What `prompt=none` answers the browser: the code's or the error's name.
async fn silent_authorize(b: &mut Browser, app: &App) -> String {
    let a = b.get(&authorize_url(app, true)).await;
    a.location_param("error")
        .or_else(|| a.location_param("code").map(|_| "code".to_string()))
        .unwrap_or_else(|| panic!("no answer at the callback: {:?}", a.location()))
}

async fn refresh(h: &Harness, app: &App, tokens: &Value) -> (StatusCode, Value) {
    h.token(json!({"grant_type": "refresh_token", "client_id": app.id,
                   "client_secret": app.secret,
                   "refresh_token": tokens["refresh_token"]}))
        .await
}

async fn userinfo(h: &Harness, access_token: &str) -> (StatusCode, String) {
    let r = h
        .http
        .get(format!("{}/userinfo", h.base))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let said = body["error_description"]
        .as_str()
        .or(body["email"].as_str())
        .unwrap_or_default()
        .to_string();
    (status, said)
}

/// A reset ticket for `user_id` from the Management API; its token.
async fn reset_ticket(h: &Harness, t: &str, user_id: &str) -> String {
    let (s, b) = h
        .api(
            t,
            Method::POST,
            "/tickets/password-change",
            Some(json!({"user_id": user_id})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    ticket_of(b["ticket"].as_str().unwrap())
}

/// What a signed-in user holds, as the store names it.
struct Issued {
    grant: String,
    sid: String,
    ticket: String,
}

async fn issued(h: &Harness, t: &str, tokens: &Value, user_id: &str) -> Issued {
    let jti = claims(tokens["access_token"].as_str().unwrap())["jti"]
        .as_str()
        .unwrap()
        .to_string();
    Issued {
        grant: jti.split_once('.').unwrap().0.to_string(),
        sid: claims(tokens["id_token"].as_str().unwrap())["sid"]
            .as_str()
            .unwrap()
            .to_string(),
        ticket: reset_ticket(h, t, user_id).await,
    }
}

/// Whether the store still holds the grant, the session or the ticket.
async fn still_stored(h: &Harness, i: &Issued) -> (bool, bool, bool) {
    let s = h.state();
    let ticket_hash = tern_server::reset::token_hash(&i.ticket);
    (
        s.store
            .get_grant(s.tid(), &i.grant)
            .await
            .unwrap()
            .is_some(),
        s.store
            .get_session_by_sid(s.tid(), &i.sid)
            .await
            .unwrap()
            .is_some(),
        s.store
            .get_password_ticket(s.tid(), &ticket_hash)
            .await
            .unwrap()
            .is_some(),
    )
}

/// What the deleted user's credentials obtain once another user holds the
/// id: nothing.
async fn nothing_passes_to(
    h: &Harness,
    app: &App,
    browser: &mut Browser,
    tokens: &Value,
    ticket: &str,
) {
    let (s, e) = refresh(h, app, tokens).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error"], "invalid_grant", "{e}");
    let (s, said) = userinfo(h, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{said}");
    assert_eq!(silent_authorize(browser, app).await, "login_required");
    // The ticket was deleted with its user: an unknown link.
    let (s, _, html) = submit(h, ticket, "N3w-pass-word-1", "N3w-pass-word-1").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{html}");
}

async fn execute(db: &mut sqlx::AnyConnection, sql: &'static str) {
    sqlx::query(sql).execute(db).await.unwrap();
}

async fn deleting_a_user_ends_what_they_were_issued(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    h.exempt_loopback_from_ip_throttling(&t).await;
    let web = app(&h, &t, &h.info.connection_id).await;
    let (s, other) = h
        .api(
            &t,
            Method::POST,
            "/connections",
            Some(json!({"name": "other-db", "strategy": "auth0"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{other}");
    let other_id = other["id"].as_str().unwrap().to_string();
    let other_web = app(&h, &t, &other_id).await;

    // Three users, each deleted another way.
    create(&h, &t, DEFAULT_CONNECTION, "41", "by-id@example.com").await;
    create(&h, &t, DEFAULT_CONNECTION, "42", "by-email@example.com").await;
    create(&h, &t, "other-db", "43", "with-connection@example.com").await;
    let (mut by_id_browser, by_id_tokens) = sign_in(&h, &web, "by-id@example.com").await;
    let by_id = issued(&h, &t, &by_id_tokens, "auth0|41").await;
    let (mut by_email_browser, by_email_tokens) = sign_in(&h, &web, "by-email@example.com").await;
    let by_email = issued(&h, &t, &by_email_tokens, "auth0|42").await;
    let (_, with_connection_tokens) = sign_in(&h, &other_web, "with-connection@example.com").await;
    let with_connection = issued(&h, &t, &with_connection_tokens, "auth0|43").await;
    for i in [&by_id, &by_email, &with_connection] {
        assert_eq!(still_stored(&h, i).await, (true, true, true));
    }

    let (s, _) = h.api(&t, Method::DELETE, "/users/auth0%7C41", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let path = format!(
        "/connections/{}/users?email=by-email%40example.com",
        h.info.connection_id
    );
    let (s, _) = h.api(&t, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = h
        .api(
            &t,
            Method::DELETE,
            &format!("/connections/{other_id}"),
            None,
        )
        .await;
    assert!(s.is_success(), "{s}");
    for i in [&by_id, &by_email, &with_connection] {
        assert_eq!(
            still_stored(&h, i).await,
            (false, false, false),
            "grant, session and ticket deleted with the user"
        );
    }

    // The next users with those ids (another person, another email) get
    // nothing of them.
    create(&h, &t, DEFAULT_CONNECTION, "41", "next-41@example.com").await;
    create(&h, &t, DEFAULT_CONNECTION, "42", "next-42@example.com").await;
    nothing_passes_to(&h, &web, &mut by_id_browser, &by_id_tokens, &by_id.ticket).await;
    nothing_passes_to(
        &h,
        &web,
        &mut by_email_browser,
        &by_email_tokens,
        &by_email.ticket,
    )
    .await;
    h.stop().await;
}

async fn a_user_created_later_inherits_nothing_left_behind(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let web = app(&h, &t, &h.info.connection_id).await;
    create(&h, &t, DEFAULT_CONNECTION, "42", "first@example.com").await;
    let (mut browser, tokens) = sign_in(&h, &web, "first@example.com").await;
    let first = issued(&h, &t, &tokens, "auth0|42").await;
    let (_, unexchanged) = code_for(&h, &web, "first@example.com").await;

    // Rows left behind by a deletion that ended nothing (as before
    // migration 0035, or an operator's SQL): only the user row goes.
    let mut db = h.database().await;
    match b {
        Backend::Sqlite => execute(&mut db, "DROP TRIGGER users_delete_ends_access").await,
        Backend::Postgres => {
            execute(&mut db, "DROP TRIGGER users_delete_ends_access ON users").await;
        }
    }
    execute(&mut db, "DELETE FROM users WHERE user_id = 'auth0|42'").await;
    assert_eq!(still_stored(&h, &first).await, (true, true, true));
    // Issued and created are compared in whole seconds: the next user is
    // created in a later one.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    create(&h, &t, DEFAULT_CONNECTION, "42", "second@example.com").await;

    let (s, e) = refresh(&h, &web, &tokens).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(
        e["error_description"], "The user no longer exists or is blocked.",
        "{e}"
    );
    let (s, e) = exchange(&h, &web, &unexchanged).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(
        e["error_description"], "The user no longer exists or is blocked.",
        "{e}"
    );
    assert_eq!(
        userinfo(&h, tokens["access_token"].as_str().unwrap()).await,
        (
            StatusCode::UNAUTHORIZED,
            "The user no longer exists.".into()
        )
    );
    assert_eq!(silent_authorize(&mut browser, &web).await, "login_required");
    let (s, _, html) = submit(&h, &first.ticket, "N3w-pass-word-1", "N3w-pass-word-1").await;
    assert_eq!(s, StatusCode::GONE, "{html}");
    // The second user's own sign-in works.
    let (_, own) = sign_in(&h, &web, "second@example.com").await;
    assert_eq!(
        userinfo(&h, own["access_token"].as_str().unwrap()).await,
        (StatusCode::OK, "second@example.com".into())
    );
    h.stop().await;
}

async fn a_new_password_or_a_block_ends_sessions(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let web = app(&h, &t, &h.info.connection_id).await;
    create(&h, &t, DEFAULT_CONNECTION, "7", "ada@example.com").await;

    // Management API password change.
    let (mut browser, _) = sign_in(&h, &web, "ada@example.com").await;
    assert_eq!(silent_authorize(&mut browser, &web).await, "code");
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            "/users/auth0%7C7",
            Some(json!({"password": PASSWORD, "connection": DEFAULT_CONNECTION})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(silent_authorize(&mut browser, &web).await, "login_required");

    // A block, lifted: the session opened before it stays ended.
    let (mut browser, _) = sign_in(&h, &web, "ada@example.com").await;
    for blocked in [true, false] {
        let (s, e) = h
            .api(
                &t,
                Method::PATCH,
                "/users/auth0%7C7",
                Some(json!({"blocked": blocked})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{e}");
    }
    assert_eq!(silent_authorize(&mut browser, &web).await, "login_required");

    // A reset link.
    let (mut browser, _) = sign_in(&h, &web, "ada@example.com").await;
    let ticket = reset_ticket(&h, &t, "auth0|7").await;
    let (s, _, html) = submit(&h, &ticket, PASSWORD, PASSWORD).await;
    assert!(s.is_success() || s.is_redirection(), "{s}: {html}");
    assert_eq!(silent_authorize(&mut browser, &web).await, "login_required");
    h.stop().await;
}

async fn console_sessions_end_with_a_new_password_a_block_or_the_operator(b: Backend) {
    const OPERATOR: &str = "ops@example.com";
    const OPERATOR_PASSWORD: &str = "Operator-Pass-7-word";
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let operator_id = || async {
        let (_, found) = h
            .api(
                &t,
                Method::GET,
                "/users-by-email?email=ops%40example.com",
                None,
            )
            .await;
        found[0]["user_id"].as_str().unwrap().replace('|', "%7C")
    };
    let signed_out = |a: common::browser::Answer| {
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(a.location().as_deref(), Some("/console/login"));
    };

    let mut console = h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    assert_eq!(console.get("/console").await.status, StatusCode::OK);
    let id = operator_id().await;
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"password": OPERATOR_PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    signed_out(console.get("/console").await);

    let signed = console.console_sign_in(OPERATOR, OPERATOR_PASSWORD).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    assert_eq!(console.get("/console").await.status, StatusCode::OK);
    for blocked in [true, false] {
        let (s, e) = h
            .api(
                &t,
                Method::PATCH,
                &format!("/users/{id}"),
                Some(json!({"blocked": blocked})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{e}");
    }
    signed_out(console.get("/console").await);

    // Deleted, then created again with the same id.
    let signed = console.console_sign_in(OPERATOR, OPERATOR_PASSWORD).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    assert_eq!(console.get("/console").await.status, StatusCode::OK);
    let (s, _) = h
        .api(&t, Method::DELETE, &format!("/users/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let local_id = id.split_once("%7C").unwrap().1;
    create(&h, &t, "tern-operators", local_id, OPERATOR).await;
    signed_out(console.get("/console").await);
    h.stop().await;
}

async fn userinfo_refuses_tokens_of_a_deleted_application(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let web = app(&h, &t, &h.info.connection_id).await;
    create(&h, &t, DEFAULT_CONNECTION, "8", "grace@example.com").await;
    let (_, tokens) = sign_in(&h, &web, "grace@example.com").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo(&h, access).await,
        (StatusCode::OK, "grace@example.com".into())
    );
    let (s, _) = h
        .api(&t, Method::DELETE, &format!("/clients/{}", web.id), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        userinfo(&h, access).await,
        (
            StatusCode::UNAUTHORIZED,
            "Invalid token: the client it was issued to was deleted.".into()
        )
    );
    h.stop().await;
}

both_backends!(
    deleting_a_user_ends_what_they_were_issued,
    a_user_created_later_inherits_nothing_left_behind,
    a_new_password_or_a_block_ends_sessions,
    console_sessions_end_with_a_new_password_a_block_or_the_operator,
    userinfo_refuses_tokens_of_a_deleted_application,
);
