#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The browser sign-in surface under attack, on both backends: what an
//! attacker on the network or another site could do with the answers of
//! `/authorize`, the hosted pages, logout and the token endpoint. Real
//! HTTP, a hand-driven cookie jar (`common::browser`); the flows
//! themselves are tested in `authorize.rs` and `refresh_tokens.rs`.

mod common;

use common::browser::{Browser, authorize_path, form_state};
use common::{Backend, Harness};
use reqwest::StatusCode;
use serde_json::json;

const HSTS: &str = "max-age=31536000";
const CALLBACK: &str = "https://app.example/callback";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";
/// Markup an attacker puts wherever a value is reflected.
const SCRIPT: &str = "\"'><script>alert(1)</script>";
/// Ends a `<script>` element and starts the attacker's.
const BREAKOUT: &str = "</script><script>alert(2)</script>";
/// An application name as an attacker with `update:clients` might write it.
const EVIL_NAME: &str = "<img src=x onerror=alert(3)>";

/// A confidential web application named `name` on the default connection,
/// with a user to sign in; the application's id and secret.
async fn web_app(h: &Harness, name: &str) -> (String, String) {
    let t = h.admin_token().await;
    h.create_user(&t, EMAIL, PASSWORD).await;
    let c = h
        .client_on(
            &t,
            &h.info.connection_id,
            json!({"name": name, "app_type": "regular_web", "callbacks": [CALLBACK],
                   "web_origins": ["https://app.example"],
                   "allowed_logout_urls": ["https://app.example/bye"],
                   "grant_types": ["authorization_code"],
                   "token_endpoint_auth_method": "client_secret_post"}),
        )
        .await;
    (
        c["client_id"].as_str().unwrap().to_string(),
        c["client_secret"].as_str().unwrap().to_string(),
    )
}

/// The page holds none of the attacker's markup as markup.
fn inert(html: &str) {
    for raw in ["<script>alert(1)", "<script>alert(2)", "<img src=x", "\"'>"] {
        assert!(!html.contains(raw), "{raw} reflected as markup: {html}");
    }
}

/// Paths of every kind: a hosted page, a redirect, JSON, an error.
const PATHS: &[&str] = &[
    "/u/login?state=unknown",
    "/authorize?client_id=nobody",
    "/v2/logout",
    "/.well-known/openid-configuration",
    "/userinfo",
];

/// On an https public URL every answer tells the browser to come back over
/// https only (HSTS): a first visit typed as `http://`, or a link to it,
/// cannot then be stripped of TLS by someone on the network, who would
/// read the password typed into the login page. On plain http (local
/// development) the header means nothing and is not sent.
async fn https_answers_ask_browsers_to_stay_on_https(b: Backend) {
    let h = Harness::start(b).await;
    assert!(h.state().public_url.starts_with("https://"));
    let mut br = Browser::new(&h.base);
    for path in PATHS {
        let a = br.get(path).await;
        assert_eq!(
            a.header("strict-transport-security").as_deref(),
            Some(HSTS),
            "{path}: {}",
            a.status
        );
    }
    let a = br.get("/u/login?state=unknown").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    h.stop().await;

    let h = Harness::start_with(b, |c| c.public_url = Some("http://localhost:3000".into())).await;
    let mut br = Browser::new(&h.base);
    for path in PATHS {
        let a = br.get(path).await;
        assert!(
            a.header("strict-transport-security").is_none(),
            "{path} on http"
        );
    }
    h.stop().await;
}

/// Every value a request or an application puts on a page is escaped:
/// `login_hint`, the typed username, the application's name, `state` in the
/// `form_post` form and in the `web_message` script.
async fn reflected_values_are_escaped(b: Backend) {
    let h = Harness::start(b).await;
    let (id, _) = web_app(&h, EVIL_NAME).await;
    let mut br = Browser::new(&h.base);
    let a = br
        .get(&authorize_path(
            &id,
            CALLBACK,
            "openid",
            &[("login_hint", SCRIPT)],
        ))
        .await;
    let page = br.follow(a).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    inert(&page.body);
    assert!(page.body.contains("&lt;img src=x"), "{}", page.body);
    let state = form_state(&page.body);
    let wrong = br
        .post_form(
            &format!("/u/login?state={state}"),
            &[("state", &state), ("username", SCRIPT), ("password", "x")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    inert(&wrong.body);

    // Answers to the application: `prompt=none` without a session.
    for mode in ["form_post", "web_message"] {
        for state in [SCRIPT, BREAKOUT] {
            let a = br
                .get(&format!(
                    "{}&state={}",
                    authorize_path(
                        &id,
                        CALLBACK,
                        "openid",
                        &[("prompt", "none"), ("response_mode", mode)]
                    )
                    .replace("&state=app-state", ""),
                    urlencoding::encode(state)
                ))
                .await;
            assert_eq!(a.status, StatusCode::OK, "{mode}: {}", a.body);
            assert!(a.body.contains("login_required"), "{}", a.body);
            if mode == "form_post" {
                inert(&a.body);
            } else {
                // Inside the script, as a JSON string: quotes escaped, and
                // no `<` that could end the element.
                assert!(a.body.contains("\\u003cscript>alert"), "{}", a.body);
                assert!(!a.body.contains("<script>alert"), "{}", a.body);
                assert!(!a.body.contains("</script><script>"), "{}", a.body);
            }
        }
    }
    h.stop().await;
}

/// `id_token_hint` must be an ID token: an access token Tern signed (for
/// `/userinfo`, whose `sub` is the same user) neither ends the session nor
/// names where to go.
async fn an_access_token_is_no_id_token_hint(b: Backend) {
    let h = Harness::start(b).await;
    let (id, secret) = web_app(&h, "Web").await;
    let mut br = Browser::new(&h.base);
    let done = br
        .code_sign_in(&id, CALLBACK, "openid", EMAIL, PASSWORD)
        .await;
    let code = done.location_param("code").expect("a code");
    let (s, tokens) = h
        .token(json!({"grant_type": "authorization_code", "client_id": id,
                      "client_secret": secret, "code": code, "redirect_uri": CALLBACK}))
        .await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    for extra in ["", &format!("&client_id={id}")] {
        let a = br
            .get(&format!(
                "/oidc/logout?id_token_hint={access}{extra}&post_logout_redirect_uri={}",
                urlencoding::encode("https://app.example/bye")
            ))
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(a.location().is_none());
    }
    let silent = br
        .get(&authorize_path(
            &id,
            CALLBACK,
            "openid",
            &[("prompt", "none")],
        ))
        .await;
    assert!(
        silent.location_param("code").is_some(),
        "the session lives: {:?}",
        silent.location()
    );
    h.stop().await;
}

both_backends!(
    https_answers_ask_browsers_to_stay_on_https,
    reflected_values_are_escaped,
    an_access_token_is_no_id_token_hint,
);
