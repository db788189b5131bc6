#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The console at the protocol level, on both backends: the one-time setup
//! link, signing in through Tern's own login (`/console/login` →
//! `/authorize` → hosted page → `/console/callback`) and out (the console
//! session, then the SSO session), the callback's refusals (no sign-in
//! started, another state, expired, access denied, a code bound to another
//! browser), the session cookie's attributes and lifetimes (the injectable
//! clock), CSRF, the sessions it refuses (none, forged, a normal user's SSO
//! session, another server's operator), and the console application the
//! Management API cannot change. Real HTTP and a hand-driven cookie jar
//! (`common::browser`); Chromium is in `console_browser.rs`.

mod common;

use common::browser::{Answer, Browser, csrf, form_state};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::json;

const OPERATOR: &str = "ops@example.com";
const OPERATOR_PASSWORD: &str = "Operator-Pass-42";

fn setup_token(h: &Harness) -> String {
    let url = h.info.console_setup_url.clone().expect("a setup link");
    let public = &h.server.as_ref().unwrap().public_url;
    assert!(
        url.starts_with(&format!("{public}/console/setup?token=")),
        "{url}"
    );
    url.split_once("token=").unwrap().1.to_string()
}

async fn set_up(b: &mut Browser, token: &str, password: &str) -> Answer {
    b.post_form(
        "/console/setup",
        &[
            ("token", token),
            ("email", OPERATOR),
            ("password", password),
            ("confirm", password),
        ],
    )
    .await
}

/// The first operator, created through the setup link and signed in
/// through Tern's login.
/// The first operator, signed in through the setup link and Tern's login.
async fn operator(h: &Harness) -> Browser {
    h.console_operator(OPERATOR, OPERATOR_PASSWORD).await
}

/// The callback's page: the console cookie set, onward to the console.
fn signed_in(a: &Answer) {
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(
        a.set_cookie("__Host-tern_console").is_some(),
        "{:?}",
        a.headers
    );
    assert!(a.body.contains("0;url=/console"), "{}", a.body);
}

fn to_login(a: &Answer) {
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location().as_deref(), Some("/console/login"));
}

async fn setup_link_is_single_use(backend: Backend) {
    let h = Harness::start(backend).await;
    let token = setup_token(&h);
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(h.dir.path().join("bootstrap.json")).unwrap())
            .unwrap();
    assert_eq!(
        file["console_setup_url"].as_str(),
        h.info.console_setup_url.as_deref()
    );

    let mut b = Browser::new(&h.base);
    let page = b.get(&format!("/console/setup?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Set up the console"));
    let wrong = b.get("/console/setup?token=not-the-token").await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);

    // A password the policy refuses leaves the token usable.
    let weak = set_up(&mut b, &token, "short").await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(weak.body.contains("PasswordStrengthError"), "{}", weak.body);

    let done = set_up(&mut b, &token, OPERATOR_PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    // No session yet: the operator signs in through Tern's login, the
    // email filled in.
    assert_eq!(
        done.location().as_deref(),
        Some("/console/login?login_hint=ops%40example.com")
    );
    assert!(done.set_cookie("__Host-tern_console").is_none());
    let login = b.get(&done.location().unwrap()).await;
    let page = b.follow(login).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("value=\"ops@example.com\""),
        "{}",
        page.body
    );
    let signed = b.console_sign_in(OPERATOR, OPERATOR_PASSWORD).await;
    signed_in(&signed);
    let cookie = signed.set_cookie("__Host-tern_console").unwrap();
    for attr in [
        "HttpOnly",
        "SameSite=Strict",
        // `Path=/`: a `__Host-` cookie must have it (on http it is `/console`).
        "Path=/;",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    // The public URL is https (the tests' listener speaks plain http behind it).
    assert!(cookie.contains("; Secure"), "{cookie}");
    let home = b.get("/console").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Migration overview"));

    // Spent: neither the page nor a second form works, in any browser.
    let mut other = Browser::new(&h.base);
    assert_eq!(
        other
            .get(&format!("/console/setup?token={token}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let again = set_up(&mut other, &token, "Another-Pass-99").await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(!other.jar.contains_key("__Host-tern_console"));

    // The operator is a user of the operators' connection, created once and logged.
    let t = h.admin_token().await;
    let (_, users) = h
        .api(&t, Method::GET, "/users?q=email:\"ops@example.com\"", None)
        .await;
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["identities"][0]["connection"], "tern-operators");
    let (_, logs) = h.api(&t, Method::GET, "/logs?q=type:sapi", None).await;
    assert!(
        logs.as_array().unwrap().iter().any(|l| l["description"]
            .as_str()
            .unwrap_or("")
            .contains("first operator")),
        "{logs}"
    );

    // A restart with an operator issues no new link.
    let h = h.restart(|_| {}).await;
    assert!(h.info.console_setup_url.is_none());
    h.stop().await;
}

/// The link sets up the first operator only: once an operator exists
/// however it was made (here by the Management API with every scope), the
/// link is spent — its reader does not become an operator.
async fn an_operator_made_elsewhere_spends_the_link(backend: Backend) {
    let h = Harness::start(backend).await;
    let token = setup_token(&h);
    let t = h.admin_token().await;
    let (s, made) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(
                json!({"connection": "tern-operators", "email": "made@example.com",
                "password": "Made-By-Api-42"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let mut b = Browser::new(&h.base);
    let page = b.get(&format!("/console/setup?token={token}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    let posted = set_up(&mut b, &token, "Intruder-Pass-42").await;
    assert_eq!(posted.status, StatusCode::NOT_FOUND, "{}", posted.body);
    let (_, users) = h
        .api(
            &t,
            Method::GET,
            "/users?q=identities.connection:\"tern-operators\"",
            None,
        )
        .await;
    let emails: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(emails, ["made@example.com"]);
    h.stop().await;
}

async fn no_page_without_a_session(backend: Backend) {
    let h = Harness::start(backend).await;
    let mut b = Browser::new(&h.base);
    to_login(&b.get("/console").await);
    let conn = format!("/console/connections/{}/migration", h.info.connection_id);
    to_login(&b.get(&conn).await);
    to_login(&b.post_form("/console/logout", &[("csrf", "x")]).await);
    b.jar
        .insert("__Host-tern_console".into(), "forged-value".into());
    let forged = b.get("/console").await;
    to_login(&forged);
    // The stale cookie is dropped.
    assert!(
        forged
            .set_cookie("__Host-tern_console")
            .unwrap()
            .contains("Max-Age=0")
    );
    // Signing in starts at Tern's login, for the console application,
    // with PKCE, a state and a nonce kept in a short-lived cookie.
    let login = b.get("/console/login").await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let to = login.location().unwrap();
    assert!(to.starts_with("/authorize?"), "{to}");
    for (k, v) in [
        ("client_id", "tern-console"),
        ("response_type", "code"),
        ("code_challenge_method", "S256"),
    ] {
        assert_eq!(login.location_param(k).as_deref(), Some(v), "{to}");
    }
    for k in ["state", "nonce", "code_challenge"] {
        assert!(
            login.location_param(k).is_some_and(|v| v.len() >= 43),
            "{k}: {to}"
        );
    }
    let pending = login.set_cookie("__Host-tern_console_signin").unwrap();
    for attr in [
        "HttpOnly",
        "SameSite=Lax",
        // `Path=/`: a `__Host-` cookie must have it (on http it is the callback's).
        "Path=/;",
        "Max-Age=600",
        "; Secure",
    ] {
        assert!(pending.contains(attr), "{pending}");
    }
    let page = b.follow(login).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    h.stop().await;
}

async fn csrf_is_refused(backend: Backend) {
    let h = Harness::start(backend).await;
    let mut b = operator(&h).await;
    let home = b.get("/console").await;
    let token = csrf(&home.body);
    let missing = b.post_form("/console/logout", &[]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = b
        .post_form("/console/logout", &[("csrf", &"0".repeat(64))])
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // Another operator session's token is not this one's.
    let mut second = Browser::new(&h.base);
    signed_in(&second.console_sign_in(OPERATOR, OPERATOR_PASSWORD).await);
    let other_token = csrf(&second.get("/console").await.body);
    assert_ne!(other_token, token);
    let crossed = b
        .post_form("/console/logout", &[("csrf", &other_token)])
        .await;
    assert_eq!(crossed.status, StatusCode::FORBIDDEN);
    // Still signed in; with the right token the logout ends the console
    // session, then Tern's SSO session, and lands on the signed-out page.
    assert_eq!(b.get("/console").await.status, StatusCode::OK);
    let cookie = b.jar.get("__Host-tern_console").cloned().unwrap();
    assert!(b.jar.contains_key("__Host-tern_session"));
    let out = b.post_form("/console/logout", &[("csrf", &token)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.location()
            .unwrap()
            .starts_with("/v2/logout?client_id=tern-console&returnTo="),
        "{:?}",
        out.location()
    );
    assert!(
        out.set_cookie("__Host-tern_console")
            .unwrap()
            .contains("Max-Age=0")
    );
    let done = b.follow(out).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("You are signed out"), "{}", done.body);
    assert!(
        !b.jar.contains_key("__Host-tern_session"),
        "the SSO session ended"
    );
    let mut replay = Browser::new(&h.base);
    replay.jar.insert("__Host-tern_console".into(), cookie);
    to_login(&replay.get("/console").await);
    // Signing in again asks for the password: no session is left to reuse.
    let again = b.get("/console/login").await;
    let page = b.follow(again).await;
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    h.stop().await;
}

/// An application with the code and password grants, the default
/// connection enabled for it; its id and secret.
async fn web_app(h: &Harness, t: &str) -> (String, String) {
    let (s, c) = h
        .api(
            t,
            Method::POST,
            "/clients",
            Some(json!({"name": "Web", "app_type": "regular_web",
                "callbacks": ["https://app.example/callback"],
                "grant_types": ["authorization_code", "password"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let client_id = c["client_id"].as_str().unwrap().to_string();
    let client_secret = c["client_secret"].as_str().unwrap().to_string();
    let path = format!("/connections/{}", h.info.connection_id);
    let (s, _) = h
        .api(
            t,
            Method::PATCH,
            &path,
            Some(json!({"enabled_clients": [client_id, h.info.client_id]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    (client_id, client_secret)
}

async fn only_operators_sessions_count(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    h.create_user(&t, "ada@example.com", "Correct-Horse-7-Battery")
        .await;
    let (client_id, client_secret) = web_app(&h, &t).await;

    // A normal user's SSO session, from the hosted login page.
    let mut b = Browser::new(&h.base);
    let a = b
        .get(&format!(
            "/authorize?response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&scope=openid"
        ))
        .await;
    let page = b.follow(a).await;
    let state = form_state(&page.body);
    let posted = b
        .post_form(
            &format!("/u/login?state={state}"),
            &[
                ("state", &state),
                ("username", "ada@example.com"),
                ("password", "Correct-Horse-7-Battery"),
            ],
        )
        .await;
    b.follow(posted).await;
    let sso = b
        .jar
        .get("__Host-tern_session")
        .cloned()
        .expect("an SSO session");
    let mut forged = Browser::new(&h.base);
    forged.jar.insert("__Host-tern_console".into(), sso);
    to_login(&forged.get("/console").await);

    // Nor can a normal user sign in at the console: their SSO session is
    // not one the console application accepts, and their password is
    // checked against the operators' connection only.
    let again = b.get("/console/login").await;
    let page = b.follow(again).await;
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    assert!(!b.jar.contains_key("__Host-tern_console"));
    let mut c = Browser::new(&h.base);
    let refused = c
        .console_sign_in("ada@example.com", "Correct-Horse-7-Battery")
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("Wrong email or password."));
    assert!(!c.jar.contains_key("__Host-tern_console"));

    // An operator's password opens no other application: the operators'
    // connection is enabled for the console application alone.
    let mut op = operator(&h).await;
    let (s, _) = h
        .token(
            json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": client_id, "client_secret": client_secret,
            "username": OPERATOR, "password": OPERATOR_PASSWORD, "realm": "tern-operators"}),
        )
        .await;
    assert_ne!(s, StatusCode::OK);

    // Another server's operator session means nothing here.
    let other = Harness::start(backend).await;
    let mut theirs = operator(&other).await;
    assert_eq!(theirs.get("/console").await.status, StatusCode::OK);
    let cookie = theirs.jar.get("__Host-tern_console").cloned().unwrap();
    let mut crossed = Browser::new(&h.base);
    crossed.jar.insert("__Host-tern_console".into(), cookie);
    to_login(&crossed.get("/console").await);
    assert_eq!(op.get("/console").await.status, StatusCode::OK);
    other.stop().await;
    h.stop().await;
}

async fn sign_in_follows_password_rules(backend: Backend) {
    let h = Harness::start(backend).await;
    drop(operator(&h).await);
    let mut b = Browser::new(&h.base);
    for _ in 0..10 {
        let a = b.console_sign_in(OPERATOR, "Wrong-Pass-1").await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(a.body.contains("Wrong email or password."));
    }
    // Brute-force protection: the eleventh attempt is refused unread,
    // even with the right password.
    let blocked = b.console_sign_in(OPERATOR, OPERATOR_PASSWORD).await;
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        blocked.body
    );
    assert!(!b.jar.contains_key("__Host-tern_console"));
    let t = h.admin_token().await;
    let (_, logs) = h.api(&t, Method::GET, "/logs?q=type:fp", None).await;
    assert!(
        logs.as_array()
            .unwrap()
            .iter()
            .any(|l| l["client_name"] == "Tern Console"),
        "{logs}"
    );
    h.stop().await;
}

async fn sessions_expire_idle_and_absolute(backend: Backend) {
    let h = Harness::start(backend).await;
    let clock = &h.state().clock;
    let mut b = operator(&h).await;
    clock.advance(29 * 60);
    assert_eq!(b.get("/console").await.status, StatusCode::OK);
    clock.advance(31 * 60);
    to_login(&b.get("/console").await);
    // Tern's SSO session is still alive, but the console asks for the
    // password again (`prompt=login`): an idle timeout means something.
    assert!(b.jar.contains_key("__Host-tern_session"));
    let again = b.get("/console/login").await;
    assert_eq!(again.location_param("prompt").as_deref(), Some("login"));
    let page = b.follow(again).await;
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    assert!(!b.jar.contains_key("__Host-tern_console"));

    // Used every 25 minutes, a session still ends after 12 hours.
    let mut b = Browser::new(&h.base);
    signed_in(&b.console_sign_in(OPERATOR, OPERATOR_PASSWORD).await);
    for _ in 0..28 {
        clock.advance(25 * 60);
        assert_eq!(b.get("/console").await.status, StatusCode::OK);
    }
    clock.advance(25 * 60);
    to_login(&b.get("/console").await);
    h.stop().await;
}

async fn overview_counts_users(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let mut b = operator(&h).await;
    let before = b.get("/console").await;
    assert!(
        before.body.contains("id=\"total-users\">0<"),
        "{}",
        before.body
    );
    h.create_user(&t, "a@example.com", "Correct-Horse-7-Battery")
        .await;
    h.create_user(&t, "b@example.com", "Correct-Horse-7-Battery")
        .await;
    let after = b.get("/console").await;
    // The operator is not counted: the operators' connection is not listed.
    assert!(
        after.body.contains("id=\"total-users\">2<"),
        "{}",
        after.body
    );
    assert!(!after.body.contains("tern-operators"));
    let page = b
        .get(&format!(
            "/console/connections/{}/migration",
            h.info.connection_id
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let api_row = page.body.find("data-source=\"api\"").unwrap();
    assert!(page.body[api_row..].contains("<td class=\"num\">2</td>"));
    assert!(
        page.body.contains("data-scheme=\"argon2id\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("Failed logins by cause"));
    let missing = b.get("/console/connections/con_nope/migration").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    h.stop().await;
}

async fn users_are_found_and_unblocked(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let ada = h
        .create_user(&t, "ada@example.com", "Correct-Horse-7-Battery")
        .await;
    h.create_user(&t, "bob@example.org", "Correct-Horse-7-Battery")
        .await;
    let mut b = operator(&h).await;
    let found = b
        .get("/console/users?q=email%3A%22ada%40example.com%22")
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(found.body.contains("ada@example.com"));
    assert!(!found.body.contains("bob@example.org"));
    let bad = b.get("/console/users?q=email%3A%28").await;
    assert!(bad.body.contains("The query is not valid"), "{}", bad.body);

    // Ten wrong passwords block Ada's logins from this address.
    let id = ada["user_id"].as_str().unwrap();
    let enc = urlencoding::encode(id).into_owned();
    let stored = h
        .state()
        .store
        .get_user(h.state().tid(), id)
        .await
        .unwrap()
        .unwrap();
    let hash = stored.credential.clone().unwrap();
    let brute = tern_server::brute_force::settings(h.state()).await.unwrap();
    assert!(brute.max_attempts >= 1);
    let (client_id, client_secret) = web_app(&h, &t).await;
    for _ in 0..brute.max_attempts {
        h.token(
            json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": client_id, "client_secret": client_secret,
            "username": "ada@example.com", "password": "Wrong-Pass-1",
            "realm": "Username-Password-Authentication"}),
        )
        .await;
    }
    let page = b.get(&format!("/console/users/{enc}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("id=\"scheme\">argon2id<"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"arrived\">api<"));
    assert!(!page.body.contains(&hash), "the hash never reaches a page");
    assert!(page.body.contains("Lift the blocks"), "{}", page.body);
    let token = csrf(&page.body);
    let refused = b
        .post_form(&format!("/console/users/{enc}/unblock-logins"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let lifted = b
        .post_form(
            &format!("/console/users/{enc}/unblock-logins"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(lifted.status, StatusCode::SEE_OTHER, "{}", lifted.body);
    let after = b.get(&format!("/console/users/{enc}")).await;
    assert!(after.body.contains("No login is blocked."));
    let (_, logs) = h.api(&t, Method::GET, "/logs?q=type:sapi", None).await;
    let entry = logs
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["description"] == "Console: brute-force blocks lifted")
        .expect("logged");
    assert_eq!(entry["details"]["actor"]["email"], OPERATOR);
    assert_eq!(entry["user_id"], id);
    assert!(entry["details"]["lifted"].as_u64().unwrap() >= 1, "{entry}");
    to_login(
        &Browser::new(&h.base)
            .get(&format!("/console/users/{enc}"))
            .await,
    );
    h.stop().await;
}

/// Another server's (another tenant's) operator is no operator here: a
/// console cookie copied from one server to another is refused both ways,
/// even for the same email and password.
async fn another_servers_operator_is_refused(backend: Backend) {
    let a = Harness::start(backend).await;
    let b = Harness::start(backend).await;
    let mut on_a = operator(&a).await;
    assert_eq!(on_a.get("/console").await.status, StatusCode::OK);
    let mut on_b = operator(&b).await;
    assert_eq!(on_b.get("/console").await.status, StatusCode::OK);
    let from_a = on_a.jar.get("__Host-tern_console").cloned().unwrap();
    let from_b = on_b.jar.get("__Host-tern_console").cloned().unwrap();
    assert_ne!(from_a, from_b);
    for (server, cookie) in [(&b, &from_a), (&a, &from_b)] {
        let mut copied = Browser::new(&server.base);
        copied
            .jar
            .insert("__Host-tern_console".into(), cookie.clone());
        to_login(&copied.get("/console").await);
        to_login(&copied.get("/console/users").await);
    }
    a.stop().await;
    b.stop().await;
}

/// The hosted login up to the console's callback, not followed: the
/// callback URL with its code and state.
async fn callback_url(b: &mut Browser) -> String {
    let login = b.get("/console/login").await;
    let page = b.follow(login).await;
    let posted = b.submit_login(&page, OPERATOR, OPERATOR_PASSWORD).await;
    let mut a = posted;
    loop {
        let loc = a.location().expect("a redirect to the callback");
        if loc.contains("/console/callback?") {
            return loc
                .split_once("/console/callback")
                .map(|(_, q)| format!("/console/callback{q}"))
                .unwrap();
        }
        a = b.get(&loc).await;
    }
}

fn refused(a: &Answer, status: StatusCode, says: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert!(a.body.contains(says), "{says}: {}", a.body);
    assert!(
        a.body.contains("href=\"/console/login\""),
        "a way to start again"
    );
    assert!(a.set_cookie("__Host-tern_console").is_none());
}

async fn callback_refuses_what_this_browser_did_not_start(backend: Backend) {
    let h = Harness::start(backend).await;
    drop(operator(&h).await);

    // A callback with no sign-in started in this browser.
    let mut b = Browser::new(&h.base);
    let a = b.get("/console/callback?code=abc&state=xyz").await;
    refused(&a, StatusCode::BAD_REQUEST, "did not start this sign-in");

    // Another state than the one this browser's sign-in holds.
    let login = b.get("/console/login").await;
    let state = login.location_param("state").unwrap();
    let a = b
        .get("/console/callback?code=abc&state=another-state")
        .await;
    refused(
        &a,
        StatusCode::BAD_REQUEST,
        "does not belong to the sign-in",
    );

    // The login page answered access_denied: said plainly.
    let login = b.get("/console/login").await;
    let state2 = login.location_param("state").unwrap();
    assert_ne!(state, state2, "every sign-in has its own state");
    let a = b
        .get(&format!(
            "/console/callback?error=access_denied&error_description=Not+for+you&state={state2}"
        ))
        .await;
    refused(&a, StatusCode::FORBIDDEN, "Access denied");
    assert!(a.body.contains("Not for you"));

    // Ten minutes later, a started sign-in is over.
    let login = b.get("/console/login").await;
    let state3 = login.location_param("state").unwrap();
    h.state().clock.advance(601);
    let a = b
        .get(&format!("/console/callback?code=abc&state={state3}"))
        .await;
    refused(&a, StatusCode::BAD_REQUEST, "Sign-in expired");

    // A code that came back to this browser, replayed by another browser
    // that started its own sign-in (its state put in): PKCE refuses it,
    // and the code is spent.
    let mut victim = Browser::new(&h.base);
    let url = callback_url(&mut victim).await;
    let code = url
        .split_once("code=")
        .unwrap()
        .1
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let mut thief = Browser::new(&h.base);
    let login = thief.get("/console/login").await;
    let theirs = login.location_param("state").unwrap();
    let a = thief
        .get(&format!("/console/callback?code={code}&state={theirs}"))
        .await;
    refused(&a, StatusCode::BAD_REQUEST, "code was refused");
    let a = victim.get(&url).await;
    refused(&a, StatusCode::BAD_REQUEST, "code was refused");

    // The right browser with its own code signs in; the code then is spent.
    let mut b = Browser::new(&h.base);
    let url = callback_url(&mut b).await;
    signed_in(&b.get(&url).await);
    assert_eq!(b.get("/console").await.status, StatusCode::OK);
    let again = b.get(&url).await;
    assert_ne!(again.status, StatusCode::OK);
    h.stop().await;
}

async fn the_console_application_cannot_be_changed(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let (s, app) = h.api(&t, Method::GET, "/clients/tern-console", None).await;
    assert_eq!(s, StatusCode::OK, "{app}");
    let public = h.server.as_ref().unwrap().public_url.clone();
    assert_eq!(
        app["callbacks"],
        json!([format!("{public}/console/callback")])
    );
    assert_eq!(app["grant_types"], json!(["authorization_code"]));
    assert!(app.get("client_secret").is_none());
    let (_, operators) = h
        .api(&t, Method::GET, "/connections?name=tern-operators", None)
        .await;
    let operators = operators[0].clone();
    let op_id = operators["id"].as_str().unwrap().to_string();
    assert_eq!(operators["enabled_clients"], json!(["tern-console"]));
    assert_eq!(operators["options"]["disable_signup"], json!(true));

    let web = json!({"name": "x", "app_type": "regular_web"});
    let (_, other) = h.api(&t, Method::POST, "/clients", Some(web)).await;
    let other_id = other["client_id"].as_str().unwrap().to_string();
    let mgmt = h.state().management_audience();
    let attempts: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (
            Method::PATCH,
            "/clients/tern-console".into(),
            Some(json!({"callbacks": ["https://evil.example/cb"]})),
        ),
        (
            Method::PATCH,
            "/clients/tern-console".into(),
            Some(json!({"name": "renamed"})),
        ),
        (Method::DELETE, "/clients/tern-console".into(), None),
        (
            Method::POST,
            "/clients/tern-console/rotate-secret".into(),
            None,
        ),
        (
            Method::POST,
            "/client-grants".into(),
            Some(json!({"client_id": "tern-console", "audience": mgmt, "scope": ["read:users"]})),
        ),
        (
            Method::PATCH,
            format!("/connections/{op_id}"),
            Some(json!({"enabled_clients": ["tern-console", other_id]})),
        ),
        (
            Method::PATCH,
            format!("/connections/{op_id}"),
            Some(json!({"options": {"disable_signup": false}})),
        ),
        (Method::DELETE, format!("/connections/{op_id}"), None),
        (
            Method::PATCH,
            format!("/connections/{}", h.info.connection_id),
            Some(json!({"enabled_clients": ["tern-console"]})),
        ),
        (
            Method::POST,
            "/connections".into(),
            Some(
                json!({"name": "more-ops", "strategy": "auth0", "enabled_clients": ["tern-console"]}),
            ),
        ),
    ];
    for (method, path, body) in attempts {
        let (s, e) = h.api(&t, method.clone(), &path, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {e}");
        assert_eq!(e["errorCode"], "operation_not_supported", "{e}");
        assert!(
            e["message"].as_str().unwrap().contains("Tern Console")
                || e["message"].as_str().unwrap().contains("tern-operators"),
            "{e}"
        );
    }
    let (_, still) = h.api(&t, Method::GET, "/clients/tern-console", None).await;
    assert_eq!(still, app, "nothing changed");
    // Nobody redeems a console code at the token endpoint: the console
    // application's secret exists nowhere in clear.
    let (s, e) = h
        .token(
            json!({"grant_type": "authorization_code", "client_id": "tern-console",
            "code": "x", "redirect_uri": format!("{public}/console/callback")}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
    // Nor signs up as an operator.
    let signup = h
        .http
        .post(format!("{}/dbconnections/signup", h.base))
        .json(
            &json!({"client_id": "tern-console", "connection": "tern-operators",
            "email": "eve@example.com", "password": "Eve-Pass-1234"}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        signup.status().is_client_error(),
        "{}",
        signup.text().await.unwrap()
    );

    // A data dir whose console application went missing (made by an
    // earlier version) gets it back at the next start, at the new URL.
    h.state()
        .store
        .delete_client(h.state().tid(), "tern-console")
        .await
        .unwrap();
    let h = h
        .restart(|c| c.public_url = Some("https://moved.example".into()))
        .await;
    let (_, back) = h
        .api(
            &h.admin_token().await,
            Method::GET,
            "/clients/tern-console",
            None,
        )
        .await;
    assert_eq!(
        back["callbacks"],
        json!(["https://moved.example/console/callback"])
    );
    assert_eq!(
        back["allowed_logout_urls"],
        json!(["https://moved.example/console/signed-out"])
    );
    h.stop().await;
}

/// An operator enrolled in MFA passes it: the hosted login asks for the
/// code after the password, and no console session exists before it.
async fn operators_enrolled_in_mfa_pass_it(backend: Backend) {
    // The seed an authenticator app holds (Base32 of RFC 6238's key).
    const SEED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let s = h.state();
    let operators = h.operators_connection().await;
    let hash = bcrypt::hash(OPERATOR_PASSWORD, 4).unwrap();
    h.import_rows_into(
        &t,
        &operators.id,
        &json!([{"email": OPERATOR, "email_verified": true, "password_hash": hash,
                 "mfa_factors": [{"totp": {"secret": SEED}}]}]),
    )
    .await;
    let mut b = Browser::new(&h.base);
    let challenge = b.console_sign_in(OPERATOR, OPERATOR_PASSWORD).await;
    assert_eq!(challenge.status, StatusCode::OK, "{}", challenge.body);
    assert!(
        challenge.body.contains("name=\"code\""),
        "{}",
        challenge.body
    );
    assert!(!b.jar.contains_key("__Host-tern_console"));
    to_login(&b.get("/console").await);
    let state = form_state(&challenge.body);
    let code = common::totp(b"12345678901234567890", s.now(), 6);
    let posted = b
        .post_form(
            &format!("/u/mfa-otp-challenge?state={state}"),
            &[("state", &state), ("code", &code)],
        )
        .await;
    signed_in(&b.follow(posted).await);
    assert_eq!(b.get("/console").await.status, StatusCode::OK);
    h.stop().await;
}

both_backends!(
    operators_enrolled_in_mfa_pass_it,
    callback_refuses_what_this_browser_did_not_start,
    the_console_application_cannot_be_changed,
    setup_link_is_single_use,
    an_operator_made_elsewhere_spends_the_link,
    no_page_without_a_session,
    csrf_is_refused,
    only_operators_sessions_count,
    sign_in_follows_password_rules,
    sessions_expire_idle_and_absolute,
    overview_counts_users,
    users_are_found_and_unblocked,
    another_servers_operator_is_refused,
);
