#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The browser sign-in surface under attack, on both backends: what an
//! attacker on the network or another site could do with the answers of
//! `/authorize`, the hosted pages, logout and the token endpoint. Real
//! HTTP, a hand-driven cookie jar (`common::browser`); the flows
//! themselves are tested in `authorize.rs` and `refresh_tokens.rs`.

mod common;

use common::browser::{Browser, authorize_path, form_state};
use common::{Backend, Harness, free_port};
use reqwest::StatusCode;
use serde_json::json;

const HSTS: &str = "max-age=31536000";
const CALLBACK: &str = "https://app.example/callback";

/// A silent `/authorize` (`prompt=none`) of application `id` to [`CALLBACK`].
async fn silent_authorize(br: &mut Browser, id: &str) -> common::browser::Answer {
    br.get(&authorize_path(
        id,
        CALLBACK,
        "openid",
        &[("prompt", "none")],
    ))
    .await
}
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
    let silent = silent_authorize(&mut br, &id).await;
    assert!(
        silent.location_param("code").is_some(),
        "the session lives: {:?}",
        silent.location()
    );
    h.stop().await;
}

/// The `Set-Cookie` line of `a` for the cookie named `name` (exactly).
fn set_line(a: &common::browser::Answer, name: &str) -> String {
    a.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.split_once('=').is_some_and(|(n, _)| n == name))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", a.headers))
        .to_string()
}

/// What a `__Host-` cookie must be for a browser to keep it: `Secure`,
/// `Path=/`, no `Domain` (and `HttpOnly`, Tern's own rule).
fn host_only(line: &str) {
    let attrs: Vec<&str> = line.split(';').skip(1).map(str::trim).collect();
    assert!(attrs.contains(&"Secure"), "{line}");
    assert!(attrs.contains(&"Path=/"), "{line}");
    assert!(attrs.contains(&"HttpOnly"), "{line}");
    assert!(
        !attrs
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("domain")),
        "{line}"
    );
}

/// On an https public URL the session cookie, the login transaction's
/// cookie and the console's cookies carry the `__Host-` prefix (`Secure`,
/// `Path=/`, no `Domain`), so a sibling subdomain can neither plant nor
/// overwrite them; on http (local development), where browsers refuse the
/// prefix, they keep their plain names.
async fn cookies_are_host_only_on_https(b: Backend) {
    let h = Harness::start(b).await;
    let (id, _) = web_app(&h, "Web").await;
    let mut br = Browser::new(&h.base);
    let a = br.get(&authorize_path(&id, CALLBACK, "openid", &[])).await;
    let tx = a
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-tern_tx_"))
        .unwrap_or_else(|| panic!("{:?}", a.headers))
        .to_string();
    host_only(&tx);
    assert!(tx.contains("SameSite=Lax"), "{tx}");
    let page = br.follow(a).await;
    let posted = br.submit_login(&page, EMAIL, PASSWORD).await;
    let done = br.follow(posted).await;
    assert!(
        done.location_param("code").is_some(),
        "{:?}",
        done.location()
    );
    let session = set_line(&done, "__Host-tern_session");
    host_only(&session);
    assert!(session.contains("SameSite=None"), "{session}");
    assert!(
        !br.jar.keys().any(|k| k.starts_with("tern_")),
        "no plain names on https: {:?}",
        br.jar
    );

    let mut op = Browser::new(&h.base);
    let login = op.get("/console/login").await;
    host_only(&set_line(&login, "__Host-tern_console_signin"));
    let op = h.console_operator("op@example.com", PASSWORD).await;
    assert!(op.jar.contains_key("__Host-tern_console"), "{:?}", op.jar);
    let mut again = Browser::new(&h.base);
    again.jar = op.jar.clone();
    let out = again.get("/console").await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    h.stop().await;

    // Plain http: plain names, not `Secure`.
    let h = Harness::start_with(b, |c| c.public_url = Some("http://localhost:3000".into())).await;
    let (id, _) = web_app(&h, "Web").await;
    let mut br = Browser::new(&h.base);
    let a = br.get(&authorize_path(&id, CALLBACK, "openid", &[])).await;
    let page = br.follow(a).await;
    assert!(
        br.jar.keys().any(|k| k.starts_with("tern_tx_")),
        "{:?}",
        br.jar
    );
    let posted = br.submit_login(&page, EMAIL, PASSWORD).await;
    let done = br.follow(posted).await;
    let session = set_line(&done, "tern_session");
    assert!(!session.contains("Secure"), "{session}");
    h.stop().await;
}

/// Upgrading to `__Host-` names signs nobody out: a browser holding the
/// SSO and console cookies under their plain names, from before (made here
/// by a server on http, which stores its sessions as Tern did before the
/// prefix), is still recognised, and the answer moves each cookie to its
/// `__Host-` name and expires the plain one; from then on the browser
/// sends the new name only, which still names the same sessions.
async fn cookies_set_before_the_prefix_still_sign_in_and_move(b: Backend) {
    let port = free_port();
    let h = Harness::start_with(b, |c| {
        c.listen = format!("127.0.0.1:{port}");
        c.public_url = Some(format!("http://127.0.0.1:{port}"));
    })
    .await;
    let (id, secret) = web_app(&h, "Web").await;
    let mut br = Browser::new(&h.base);
    let done = br
        .code_sign_in(&id, CALLBACK, "openid", EMAIL, PASSWORD)
        .await;
    assert!(done.location_param("code").is_some());
    let op = h.console_operator("op@example.com", PASSWORD).await;
    // Ada's SSO session, the operator's console session (the operator's
    // own SSO session stays behind).
    let mut jar = br.jar.clone();
    jar.insert("tern_console".into(), op.jar["tern_console"].clone());
    assert!(jar.contains_key("tern_session"));

    // The upgrade: the same data served on https.
    let h = h.restart(|c| c.public_url = None).await;
    assert!(h.state().public_url.starts_with("https://"));
    let mut br = Browser::new(&h.base);
    let sso = jar["tern_session"].clone();
    let console = jar["tern_console"].clone();
    // Each cookie alone, so that each is recognised under its plain name
    // (an answer moves every plain cookie the request carried).
    br.jar.insert("tern_session".into(), sso.clone());

    let silent = silent_authorize(&mut br, &id).await;
    let code = silent.location_param("code").unwrap_or_else(|| {
        panic!(
            "the old session still serves: {:?} {}",
            silent.location(),
            silent.body
        )
    });
    let (s, tokens) = h
        .token(json!({"grant_type": "authorization_code", "client_id": id,
                      "client_secret": secret, "code": code, "redirect_uri": CALLBACK}))
        .await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let moved = set_line(&silent, "__Host-tern_session");
    host_only(&moved);
    assert!(
        moved.starts_with(&format!("__Host-tern_session={sso};")),
        "{moved}"
    );
    assert!(!moved.contains("Max-Age=0"), "{moved}");
    assert!(set_line(&silent, "tern_session").contains("Max-Age=0"));

    br.jar.insert("tern_console".into(), console.clone());
    let page = br.get("/console").await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "the old console session still serves"
    );
    let moved = set_line(&page, "__Host-tern_console");
    host_only(&moved);
    assert!(
        moved.starts_with(&format!("__Host-tern_console={console};")),
        "{moved}"
    );
    assert!(moved.contains("SameSite=Strict"), "{moved}");
    let gone = set_line(&page, "tern_console");
    assert!(
        gone.contains("Max-Age=0") && gone.contains("Path=/console"),
        "{gone}"
    );

    // Moved: only the new names are left, and they serve.
    assert!(
        !br.jar.contains_key("tern_session") && !br.jar.contains_key("tern_console"),
        "{:?}",
        br.jar
    );
    let silent = silent_authorize(&mut br, &id).await;
    assert!(
        silent.location_param("code").is_some(),
        "{:?}",
        silent.location()
    );
    assert!(silent.set_cookie("__Host-tern_session").is_none());
    assert!(silent.set_cookie("tern_session").is_none());
    assert_eq!(br.get("/console").await.status, StatusCode::OK);
    h.stop().await;
}

/// A sibling subdomain can set a plain-named cookie for the parent domain
/// but not a `__Host-` one. The `__Host-` cookie wins over a planted plain
/// one, and a session, login transaction or console session made since the
/// upgrade is not reached through the plain name at all: an attacker
/// cannot plant their own (session fixation, login CSRF).
async fn a_planted_plain_cookie_is_not_preferred(b: Backend) {
    let h = Harness::start(b).await;
    let (id, secret) = web_app(&h, "Web").await;
    let t = h.admin_token().await;
    let mallory = h.create_user(&t, "mallory@example.com", PASSWORD).await;
    let mut attacker = Browser::new(&h.base);
    attacker
        .code_sign_in(&id, CALLBACK, "openid", "mallory@example.com", PASSWORD)
        .await;
    let theirs = attacker.jar["__Host-tern_session"].clone();

    // Beside the victim's own session: the victim's wins.
    let mut victim = Browser::new(&h.base);
    victim
        .code_sign_in(&id, CALLBACK, "openid", EMAIL, PASSWORD)
        .await;
    victim.jar.insert("tern_session".into(), theirs.clone());
    let silent = silent_authorize(&mut victim, &id).await;
    let code = silent.location_param("code").expect("a code");
    let (s, tokens) = h
        .token(json!({"grant_type": "authorization_code", "client_id": id,
                      "client_secret": secret, "code": code, "redirect_uri": CALLBACK}))
        .await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let sub = common::browser::claims(tokens["id_token"].as_str().unwrap())["sub"].clone();
    assert_ne!(sub, mallory["user_id"], "the planted session was not used");
    // The planted cookie is expired (as far as Tern's host can).
    assert!(
        silent
            .set_cookie("tern_session")
            .unwrap()
            .contains("Max-Age=0")
    );

    // Alone: it names nothing.
    let mut fresh = Browser::new(&h.base);
    fresh.jar.insert("tern_session".into(), theirs);
    let silent = silent_authorize(&mut fresh, &id).await;
    assert_eq!(
        silent.location_param("error").as_deref(),
        Some("login_required"),
        "{:?}",
        silent.location()
    );
    assert!(silent.set_cookie("__Host-tern_session").is_none());

    // A login transaction of the attacker's, its cookie planted plain:
    // the victim's browser cannot post its form (login CSRF).
    let mut attacker = Browser::new(&h.base);
    let a = attacker
        .get(&authorize_path(&id, CALLBACK, "openid", &[]))
        .await;
    let page = attacker.follow(a).await;
    let state = form_state(&page.body);
    let mut victim = Browser::new(&h.base);
    for (k, v) in &attacker.jar {
        victim
            .jar
            .insert(k.trim_start_matches("__Host-").to_string(), v.clone());
    }
    let forged = victim
        .post_form(
            &format!("/u/login?state={state}"),
            &[
                ("state", &state),
                ("username", "mallory@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);

    // The console: an operator's session cookie planted plain signs no
    // one in.
    let op = h.console_operator("op@example.com", PASSWORD).await;
    let mut victim = Browser::new(&h.base);
    victim
        .jar
        .insert("tern_console".into(), op.jar["__Host-tern_console"].clone());
    let a = victim.get("/console").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location().as_deref(), Some("/console/login"));
    h.stop().await;
}

both_backends!(
    https_answers_ask_browsers_to_stay_on_https,
    cookies_are_host_only_on_https,
    cookies_set_before_the_prefix_still_sign_in_and_move,
    a_planted_plain_cookie_is_not_preferred,
    reflected_values_are_escaped,
    an_access_token_is_no_id_token_hint,
);
