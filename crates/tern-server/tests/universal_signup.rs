#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The hosted signup and password-reset pages (`/u/signup`,
//! `/u/reset-password/request`, `/u/reset-password`) on both backends, with
//! a legacy PostgreSQL user store behind the connection: CSRF refused,
//! disabled signup, policy errors on the page, a legacy user who exists
//! cannot sign up twice, and a not-yet-migrated legacy user resets their
//! password through the pages and then logs in with it. Real HTTP, a
//! hand-driven cookie jar (`common::browser`); Chromium is in `browser.rs`.

mod common;
mod reset_support;

use common::browser::{Browser, claims, form_state};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use reset_support::*;
use serde_json::{Value, json};

const CALLBACK: &str = "https://app.example/callback";
const STRONG: &str = "Tern-Signup-2024";

struct App {
    id: String,
    secret: String,
}

/// A first-party web application using the code flow, enabled on the
/// `legacy-db` connection (and only there).
async fn web_app(h: &Harness, legacy: &LegacyApp) -> App {
    let t = &legacy.token;
    let c = h
        .client_on(
            t,
            &legacy.connection_id,
            json!({"name": "Shop", "app_type": "regular_web", "callbacks": [CALLBACK],
                "grant_types": ["authorization_code"], "token_endpoint_auth_method": "client_secret_post"}),
        )
        .await;
    let id = c["client_id"].as_str().unwrap().to_string();
    App {
        id,
        secret: c["client_secret"].as_str().unwrap().to_string(),
    }
}

fn authorize_url(app: &App, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse("http://x/authorize").unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &app.id)
            .append_pair("redirect_uri", CALLBACK)
            .append_pair("scope", "openid email")
            .append_pair("state", "app-state")
            .append_pair("connection", "legacy-db");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    format!("/authorize?{}", url.query().unwrap())
}

/// `/authorize` in `b`, following to the hosted page; (page, state).
async fn start(
    b: &mut Browser,
    app: &App,
    extra: &[(&str, &str)],
) -> (common::browser::Answer, String) {
    let a = b.get(&authorize_url(app, extra)).await;
    assert_eq!(a.status, StatusCode::FOUND, "{}", a.body);
    let page = b.follow(a).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let state = form_state(&page.body);
    (page, state)
}

/// Exchange the code of the callback the browser reached; the ID token's claims.
async fn id_token_of(h: &Harness, app: &App, callback: &common::browser::Answer) -> Value {
    let loc = callback.location().unwrap();
    assert!(loc.starts_with(CALLBACK), "{loc}");
    let code = callback.location_param("code").unwrap();
    let (s, tokens) = h
        .token(
            json!({"grant_type": "authorization_code", "client_id": app.id,
            "client_secret": app.secret, "code": code, "redirect_uri": CALLBACK}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    claims(tokens["id_token"].as_str().unwrap())
}

/// Post the signup form of transaction `state`.
async fn post(br: &mut Browser, state: &str, email: &str, pw: &str) -> common::browser::Answer {
    br.post_form(
        &format!("/u/signup?state={state}"),
        &[("state", state), ("email", email), ("password", pw)],
    )
    .await
}

/// Post the reset page's form (a browser without cookies: the ticket is the secret).
async fn set_password(
    h: &Harness,
    ticket: &str,
    pw: &str,
    confirm: &str,
) -> common::browser::Answer {
    Browser::new(&h.base)
        .post_form(
            "/u/reset-password",
            &[
                ("ticket", ticket),
                ("newPassword", pw),
                ("confirmNewPassword", confirm),
            ],
        )
        .await
}

async fn stored(h: &Harness, connection_id: &str, email: &str) -> Option<tern_core::model::User> {
    h.state()
        .store
        .get_user_by_email(h.state().tid(), connection_id, email)
        .await
        .unwrap()
}

async fn signup_page(b: Backend) {
    let legacy = legacy_store();
    let h = Harness::start(b).await;
    let la = legacy_connection(&h, &legacy).await;
    let app = web_app(&h, &la).await;

    // screen_hint=signup opens the signup page, with the policy's hint.
    let mut br = Browser::new(&h.base);
    let (page, state) = start(&mut br, &app, &[("screen_hint", "signup")]).await;
    assert!(
        page.body.contains("action=\"/u/signup?state="),
        "{}",
        page.body
    );
    assert!(page.body.contains("password-hint"), "{}", page.body);
    // Login CSRF: another browser posting into this transaction signs no one up.
    let mut attacker = Browser::new(&h.base);
    let forged = post(&mut attacker, &state, "mallory@example.com", STRONG).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(
        stored(&h, &la.connection_id, "mallory@example.com")
            .await
            .is_none()
    );

    // The connection's policy ("fair") refuses a weak password, on the page.
    let weak = post(&mut br, &state, "new@example.com", "abcdef").await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(weak.body.contains("role=\"alert\""), "{}", weak.body);
    assert!(weak.body.contains("too weak"), "{}", weak.body);
    assert!(
        stored(&h, &la.connection_id, "new@example.com")
            .await
            .is_none()
    );

    // A legacy user who never logged in here: get_user finds them, so no duplicate.
    let exists = post(&mut br, &state, "old1@legacy.example", STRONG).await;
    assert_eq!(exists.status, StatusCode::BAD_REQUEST);
    assert!(exists.body.contains("already exists"), "{}", exists.body);
    assert!(
        stored(&h, &la.connection_id, "old1@legacy.example")
            .await
            .is_none()
    );

    // A new person signs up and is signed in: the app gets a code for them
    // and, the verification email being off, a welcome mail.
    for template in [
        json!({"template": "verify_email", "body": "{{ url }}", "from": "", "subject": "Verify",
            "syntax": "liquid", "enabled": false}),
        json!({"template": "welcome_email", "body": "<p>Welcome to {{ application.name }}</p>",
            "from": "", "subject": "Welcome {{ user.email }}", "syntax": "liquid", "enabled": true}),
    ] {
        let (s, e) = h
            .api(&la.token, Method::POST, "/email-templates", Some(template))
            .await;
        assert_eq!(s, StatusCode::OK, "{e}");
    }
    let done = post(&mut br, &state, "new@example.com", STRONG).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let callback = br.follow(done).await;
    let id = id_token_of(&h, &app, &callback).await;
    let user = stored(&h, &la.connection_id, "new@example.com")
        .await
        .unwrap();
    assert_eq!(id["sub"], json!(user.user_id));
    assert_eq!(user.source, tern_core::model::UserSource::Signup);
    assert!(user.credential.is_some());
    let welcome = h.mail_to("new@example.com").await;
    assert_eq!(welcome.kind, "welcome_email");
    assert_eq!(welcome.subject, "Welcome new@example.com");
    assert_eq!(welcome.html.as_deref(), Some("<p>Welcome to Shop</p>"));
    // The session they got serves the next /authorize without a form.
    let again = br.get(&authorize_url(&app, &[])).await;
    assert!(again.location().unwrap().starts_with(CALLBACK));

    // Suspicious-IP throttling's pre-registration stage holds on the page as
    // on /dbconnections/signup: at one signup per address, the next is
    // refused on the form and nobody is created.
    let (s, body) = h
        .api(
            &la.token,
            Method::PATCH,
            "/attack-protection/suspicious-ip-throttling",
            Some(json!({"stage": {"pre-user-registration": {"max_attempts": 1, "rate": 86_400_000}}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let mut last = None;
    for email in ["burst1@example.com", "burst2@example.com"] {
        let mut fresh = Browser::new(&h.base);
        let (_, state) = start(
            &mut fresh,
            &app,
            &[("screen_hint", "signup"), ("prompt", "login")],
        )
        .await;
        last = Some((email, post(&mut fresh, &state, email, STRONG).await));
    }
    let (email, refused) = last.unwrap();
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("Too many accounts"),
        "{}",
        refused.body
    );
    assert!(stored(&h, &la.connection_id, email).await.is_none());

    // disable_signup: no page, no post, no link on the login page.
    h.merge_connection_options(
        &la.token,
        &la.connection_id,
        json!({"disable_signup": true}),
    )
    .await;
    let mut other = Browser::new(&h.base);
    let (login, state) = start(&mut other, &app, &[("prompt", "login")]).await;
    assert!(!login.body.contains("/u/signup"), "{}", login.body);
    let page = other.get(&format!("/u/signup?state={state}")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let refused = other
        .post_form(
            &format!("/u/signup?state={state}"),
            &[
                ("state", &state),
                ("email", "late@example.com"),
                ("password", STRONG),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        stored(&h, &la.connection_id, "late@example.com")
            .await
            .is_none()
    );
    h.stop().await;
}

async fn reset_for_a_legacy_user(b: Backend) {
    let legacy = legacy_store();
    let h = Harness::start(b).await;
    let la = legacy_connection(&h, &legacy).await;
    let app = web_app(&h, &la).await;
    h.merge_connection_options(
        &la.token,
        &la.connection_id,
        json!({"password_history": {"enable": true, "size": 3}}),
    )
    .await;
    let mut br = Browser::new(&h.base);
    let (login, state) = start(&mut br, &app, &[]).await;
    assert!(login.body.contains("/u/reset-password/request?state="));
    let page = br
        .get(&format!("/u/reset-password/request?state={state}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);

    // A forged request (another browser) mails nothing.
    let mut attacker = Browser::new(&h.base);
    let forged = attacker
        .post_form(
            &format!("/u/reset-password/request?state={state}"),
            &[("state", &state), ("email", "old2@legacy.example")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // The same answer for a stranger and for a legacy user not migrated yet.
    let mut answers = Vec::new();
    for email in ["nobody@legacy.example", "old2@legacy.example"] {
        let before = resets_done(&h).await;
        let a = br
            .post_form(
                &format!("/u/reset-password/request?state={state}"),
                &[("state", &state), ("email", email)],
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        wait_resets(&h, before + 1).await;
        answers.push(a.body);
    }
    assert_eq!(answers[0], answers[1]);
    assert!(
        answers[0].contains("If an account exists"),
        "{}",
        answers[0]
    );
    let mails = outbox(&h).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, "old2@legacy.example");
    let link = link_in(&h, &mails[0].text);
    assert!(link.contains("/u/reset-password?ticket="), "{link}");
    assert!(
        link.ends_with("&ui_locales=en"),
        "the page's language: {link}"
    );

    // The link's page, the new password twice, policy errors on the page.
    let ticket = ticket_of(&link);
    let mut mailbox = Browser::new(&h.base);
    let form = mailbox.get(&link).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        form.body.contains("action=\"/u/reset-password\""),
        "{}",
        form.body
    );
    // The hint names the history rule to someone choosing a new password.
    assert!(
        form.body.contains("Not one of your last 3 passwords."),
        "{}",
        form.body
    );
    let differ = set_password(&h, &ticket, STRONG, "Tern-Other-2024").await;
    assert_eq!(differ.status, StatusCode::BAD_REQUEST);
    assert!(differ.body.contains("differ"), "{}", differ.body);
    let weak = set_password(&h, &ticket, "abcdef", "abcdef").await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(weak.body.contains("role=\"alert\""), "{}", weak.body);
    let done = set_password(&h, &ticket, STRONG, STRONG).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    // The user now exists once, from the legacy profile, with the new password.
    let user = stored(&h, &la.connection_id, "old2@legacy.example")
        .await
        .unwrap();
    assert_eq!(user.user_id, "auth0|2");
    assert_eq!(user.app_metadata.get("plan"), Some(&json!("gold")));
    assert!(user.credential.is_some());
    let (s, found) = h
        .api(
            &la.token,
            Method::GET,
            "/users-by-email?email=old2%40legacy.example",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");

    // And logs in with it on the hosted page (the legacy password no longer works).
    let wrong = br
        .post_form(
            &format!("/u/login?state={state}"),
            &[
                ("state", &state),
                ("username", "old2@legacy.example"),
                ("password", "hello"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let ok = br
        .post_form(
            &format!("/u/login?state={state}"),
            &[
                ("state", &state),
                ("username", "old2@legacy.example"),
                ("password", STRONG),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let callback = br.follow(ok).await;
    let id = id_token_of(&h, &app, &callback).await;
    assert_eq!(id["sub"], json!("auth0|2"));

    // Asked from a page in French (a minute later: one link a minute per
    // user), the link opens the reset page in French.
    h.state().clock.advance(60);
    let mut fr = Browser::new(&h.base);
    let (_, state) = start(&mut fr, &app, &[("ui_locales", "fr")]).await;
    let before = resets_done(&h).await;
    let earlier: Vec<String> = outbox(&h).await.into_iter().map(|m| m.text).collect();
    let asked = fr
        .post_form(
            &format!("/u/reset-password/request?state={state}"),
            &[("state", &state), ("email", "old2@legacy.example")],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    wait_resets(&h, before + 1).await;
    let new: Vec<_> = outbox(&h)
        .await
        .into_iter()
        .filter(|m| !earlier.contains(&m.text))
        .collect();
    assert_eq!(new.len(), 1, "one more mail: {new:?}");
    let link = link_in(&h, &new[0].text);
    assert!(link.ends_with("&ui_locales=fr"), "{link}");
    let page = Browser::new(&h.base).get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<html lang=\"fr\""), "{}", page.body);
    h.stop().await;
}

/// The connection's password options beyond its level: the signup page
/// says which rule refused the password, and creates no one.
async fn signup_page_names_the_password_rule(b: Backend) {
    let legacy = legacy_store();
    let h = Harness::start(b).await;
    let la = legacy_connection(&h, &legacy).await;
    let app = web_app(&h, &la).await;
    h.merge_connection_options(&la.token, &la.connection_id, json!({"password_dictionary": {"enable": true, "dictionary": [STRONG]}, "password_no_personal_info": {"enable": true}}))
        .await;

    let mut br = Browser::new(&h.base);
    // The form names every rule before the user types, in the page's language.
    let (fr, _) = start(
        &mut Browser::new(&h.base),
        &app,
        &[("screen_hint", "signup"), ("ui_locales", "fr")],
    )
    .await;
    assert!(
        fr.body.contains("Pas un mot de passe courant.")
            && fr.body.contains("Rien de votre adresse e-mail"),
        "{}",
        fr.body
    );
    let (page, state) = start(&mut br, &app, &[("screen_hint", "signup")]).await;
    let hint = page
        .body
        .split("id=\"password-hint\"")
        .nth(1)
        .unwrap_or_default();
    let hint = hint.split("</p>").next().unwrap();
    for rule in [
        "Not a common password.",
        "Nothing of your email, username or name.",
    ] {
        assert!(hint.contains(rule), "{rule}: {hint}");
    }
    // A new user has no previous passwords to be told about.
    assert!(!hint.contains("last"), "{hint}");
    let cases = [
        (
            STRONG.to_uppercase().replace("TERN", "tern"),
            "This password is too common. Choose another one.",
        ),
        (
            "Quentin-Signup-2024".to_string(),
            "This password contains your personal information (email, username or name). Choose another one.",
        ),
    ];
    for (pw, message) in cases {
        let refused = post(&mut br, &state, "quentin@example.com", &pw).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{pw}");
        assert!(refused.body.contains(message), "{pw}: {}", refused.body);
    }
    assert!(
        stored(&h, &la.connection_id, "quentin@example.com")
            .await
            .is_none()
    );
    let done = post(&mut br, &state, "quentin@example.com", "Other-Signup-2024").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    h.stop().await;
}

/// A connection that requires usernames of 3 to 8 characters: the hosted
/// page asks for one and refuses one of the wrong length.
async fn signup_page_follows_the_username_rules(b: Backend) {
    let legacy = legacy_store();
    let h = Harness::start(b).await;
    let la = legacy_connection(&h, &legacy).await;
    let app = web_app(&h, &la).await;
    h.merge_connection_options(
        &la.token,
        &la.connection_id,
        json!({"requires_username": true, "validation": {"username": {"min": 3, "max": 8}}}),
    )
    .await;

    let mut br = Browser::new(&h.base);
    let (_, state) = start(&mut br, &app, &[("screen_hint", "signup")]).await;
    let post_with = |username: &'static str| {
        [
            ("state", state.clone()),
            ("email", "una@example.com".to_string()),
            ("username", username.to_string()),
            ("password", STRONG.to_string()),
        ]
    };
    for (username, message) in [
        ("", "Enter a username."),
        ("un", "This username is too short or too long for Shop."),
        (
            "una_is_too_long",
            "This username is too short or too long for Shop.",
        ),
    ] {
        let form = post_with(username);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = br
            .post_form(&format!("/u/signup?state={state}"), &pairs)
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{username:?}: {}",
            refused.body
        );
        assert!(
            refused.body.contains(message),
            "{username:?}: {}",
            refused.body
        );
    }
    assert!(
        stored(&h, &la.connection_id, "una@example.com")
            .await
            .is_none()
    );
    let form = post_with("una_1");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = br
        .post_form(&format!("/u/signup?state={state}"), &pairs)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    h.stop().await;
}

both_backends!(
    signup_page_follows_the_username_rules,
    signup_page,
    reset_for_a_legacy_user,
    signup_page_names_the_password_rule
);
