#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Browser sign-in at the protocol level, on both backends: `/authorize`,
//! the hosted login page, `/authorize/resume`, the code exchange, the ID
//! token, SSO sessions, `prompt=none`, `max_age`, `/oidc/logout` — and the
//! attacks on them (login CSRF, redirect_uri manipulation, code reuse, PKCE
//! downgrade, session fixation, framing). Real HTTP, a hand-driven cookie
//! jar (`common::browser`); Chromium and client libraries are in `browser.rs`.

mod common;

use common::browser::{Browser, claims, form_state, pkce};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CALLBACK: &str = "https://app.example/callback";
const LOGOUT_URL: &str = "https://app.example/logged-out";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";

struct App {
    id: String,
    secret: String,
}

/// An application for the code flow, with the default connection enabled;
/// `public`: a SPA without a secret.
async fn app(h: &Harness, t: &str, public: bool, extra: Value) -> App {
    let mut body = json!({
        "name": if public { "Spa" } else { "Web" },
        "app_type": if public { "spa" } else { "regular_web" },
        "callbacks": [CALLBACK, "https://*.preview.example/cb"],
        "allowed_logout_urls": [LOGOUT_URL],
        "web_origins": ["https://app.example"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": if public { "none" } else { "client_secret_post" },
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let c = h.client_on(t, &h.info.connection_id, body).await;
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
            .append_pair("scope", "openid profile email")
            .append_pair("state", "app-state-1")
            .append_pair("nonce", "n-0S6_WzA2Mj");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    format!("/authorize?{}", url.query().unwrap())
}

/// `/authorize` → login page → password → resume → the callback with a code.
async fn log_in(
    b: &mut Browser,
    app: &App,
    extra: &[(&str, &str)],
    password: &str,
) -> common::browser::Answer {
    let a = b.get(&authorize_url(app, extra)).await;
    assert_eq!(a.status, StatusCode::FOUND, "{}", a.body);
    let page = b.follow(a).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let state = form_state(&page.body);
    let posted = b
        .post_form(
            &format!("/u/login?state={state}"),
            &[
                ("state", &state),
                ("username", EMAIL),
                ("password", password),
            ],
        )
        .await;
    b.follow(posted).await
}

async fn exchange(
    h: &Harness,
    app: &App,
    code: &str,
    verifier: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"grant_type": "authorization_code", "client_id": app.id, "code": code, "redirect_uri": CALLBACK});
    if !app.secret.is_empty() {
        body["client_secret"] = json!(app.secret);
    }
    if let Some(v) = verifier {
        body["code_verifier"] = json!(v);
    }
    h.token(body).await
}

async fn userinfo(h: &Harness, access_token: &str) -> StatusCode {
    h.http
        .get(format!("{}/userinfo", h.base))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn setup(b: Backend) -> (Harness, String, App) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    h.create_user(&t, EMAIL, PASSWORD).await;
    let web = app(&h, &t, false, json!({})).await;
    (h, t, web)
}

async fn log_types(h: &Harness, t: &str) -> Vec<String> {
    let (_, logs) = h.api(t, Method::GET, "/logs?per_page=100", None).await;
    logs.as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

async fn code_flow_and_id_token(b: Backend) {
    let (h, t, web) = setup(b).await;
    let mut br = Browser::new(&h.base);
    let (verifier, challenge) = pkce();
    let pk = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let done = log_in(&mut br, &web, &pk, PASSWORD).await;
    assert_eq!(done.status, StatusCode::FOUND);
    let loc = done.location().unwrap();
    assert!(loc.starts_with(&format!("{CALLBACK}?code=")), "{loc}");
    assert_eq!(done.location_param("state").as_deref(), Some("app-state-1"));
    let code = done.location_param("code").unwrap();
    assert!(code.len() >= 43, "codes carry at least 128 bits");
    let session_cookie = done
        .set_cookie("__Host-tern_session")
        .expect("a session cookie");
    assert!(
        session_cookie.contains("HttpOnly")
            && session_cookie.contains("Secure")
            && session_cookie.contains("SameSite=None"),
        "{session_cookie}"
    );

    let (s, tokens) = exchange(&h, &web, &code, Some(&verifier)).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], json!(format!("{}/", h.state().public_url)));
    assert_eq!(id["aud"], json!(web.id));
    assert_eq!(id["azp"], json!(web.id));
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["email"], EMAIL);
    assert!(id["sub"].as_str().unwrap().starts_with("auth0|"));
    assert!(id["sid"].is_string());
    let now = tern_core::clock::now_epoch();
    assert!((id["auth_time"].as_i64().unwrap() - now).abs() < 60);
    assert!(id["exp"].as_i64().unwrap() > id["iat"].as_i64().unwrap());
    // at_hash: the left half of the access token's SHA-256, base64url.
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        tokens["access_token"].as_str().unwrap().as_bytes(),
    );
    use base64::Engine;
    assert_eq!(
        id["at_hash"],
        json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&d.as_ref()[..16]))
    );
    assert_eq!(
        userinfo(&h, tokens["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );

    // No nonce sent: none in the ID token (openid-client rejects an unexpected one).
    let (verifier2, challenge2) = pkce();
    let again = br
        .get(
            &authorize_url(
                &web,
                &[
                    ("code_challenge", &challenge2),
                    ("code_challenge_method", "S256"),
                ],
            )
            .replace("&nonce=n-0S6_WzA2Mj", ""),
        )
        .await;
    let code2 = again
        .location_param("code")
        .expect("the session answers at once");
    let (s, t2) = exchange(&h, &web, &code2, Some(&verifier2)).await;
    assert_eq!(s, StatusCode::OK, "{t2}");
    let id2 = claims(t2["id_token"].as_str().unwrap());
    assert!(id2.get("nonce").is_none(), "{id2}");
    assert_eq!(id2["sid"], id["sid"]);
    assert_eq!(id2["sub"], id["sub"]);
    assert_eq!(id2["auth_time"], id["auth_time"]);

    let types = log_types(&h, &t).await;
    assert!(
        types.contains(&"s".to_string()) && types.contains(&"seacft".to_string()),
        "{types:?}"
    );
    h.stop().await;
}

async fn code_reuse_revokes_what_it_issued(b: Backend) {
    let (h, t, web) = setup(b).await;
    let mut br = Browser::new(&h.base);
    let done = log_in(&mut br, &web, &[], PASSWORD).await;
    let code = done.location_param("code").unwrap();
    let (s, first) = exchange(&h, &web, &code, None).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&h, access).await, StatusCode::OK);
    let (s, second) = exchange(&h, &web, &code, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(second["error"], "invalid_grant");
    assert_eq!(
        userinfo(&h, access).await,
        StatusCode::UNAUTHORIZED,
        "the first exchange's token is revoked"
    );
    // A failed exchange by the code's own client uses the code up.
    let done = log_in(&mut Browser::new(&h.base), &web, &[], PASSWORD).await;
    let code = done.location_param("code").unwrap();
    let (s, e) = exchange(&h, &web, &code, Some(&"v".repeat(43))).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (s, _) = exchange(&h, &web, &code, None).await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a failed exchange used the code up"
    );
    let types = log_types(&h, &t).await;
    assert!(types.contains(&"feacft".to_string()), "{types:?}");
    h.stop().await;
}

/// Another application (a public SPA needs no secret) can neither use a
/// code, nor burn it, nor, replaying it once used, revoke what its own
/// client was issued.
async fn a_foreign_client_neither_burns_nor_revokes_a_code(b: Backend) {
    let (h, t, web) = setup(b).await;
    let spa = app(&h, &t, true, json!({})).await;
    let done = log_in(&mut Browser::new(&h.base), &web, &[], PASSWORD).await;
    let code = done.location_param("code").unwrap();
    let foreign = |s: StatusCode, e: &Value| {
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(e["error"], "invalid_grant", "{e}");
        assert_eq!(e["error_description"], "Invalid authorization code", "{e}");
    };
    let (s, e) = exchange(&h, &spa, &code, None).await;
    foreign(s, &e);
    let (s, tokens) = exchange(&h, &web, &code, None).await;
    assert_eq!(s, StatusCode::OK, "not burnt by the other client: {tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let (s, e) = exchange(&h, &spa, &code, None).await;
    foreign(s, &e);
    assert_eq!(
        userinfo(&h, access).await,
        StatusCode::OK,
        "a foreign replay revokes nothing"
    );
    h.stop().await;
}

/// A replay by the code's own client that comes while the first exchange
/// is between claiming the code and storing its grant still revokes that
/// grant: the first exchange gets no working tokens. The interleaving is
/// driven through the store.
async fn a_replay_racing_the_exchange_leaves_no_tokens(b: Backend) {
    use tern_core::grants::CodeRedemption;
    use tern_server::client_secret::hash_secret;
    let (h, t, web) = setup(b).await;
    let st = h.state();

    // The store's side: the first exchange claims; a replay comes before
    // its grant exists and is recorded on the code for the first to see.
    let done = log_in(&mut Browser::new(&h.base), &web, &[], PASSWORD).await;
    let code = hash_secret(&done.location_param("code").unwrap());
    assert!(
        !st.store
            .authorization_code_reused(st.tid(), &code)
            .await
            .unwrap()
    );
    let first = st
        .store
        .redeem_authorization_code(st.tid(), &code, &web.id, st.now(), "gr_first")
        .await
        .unwrap();
    assert!(matches!(first, CodeRedemption::Redeemed(_)), "{first:?}");
    let spa = app(&h, &t, true, json!({})).await;
    let foreign = st
        .store
        .redeem_authorization_code(st.tid(), &code, &spa.id, st.now(), "gr_other")
        .await
        .unwrap();
    assert_eq!(foreign, CodeRedemption::Unknown);
    assert!(
        !st.store
            .authorization_code_reused(st.tid(), &code)
            .await
            .unwrap(),
        "another client's call records nothing"
    );
    let replay = st
        .store
        .redeem_authorization_code(st.tid(), &code, &web.id, st.now(), "gr_replay")
        .await
        .unwrap();
    match replay {
        CodeRedemption::Reused(c) => assert_eq!(c.grant_id.as_deref(), Some("gr_first")),
        other => panic!("{other:?}"),
    }
    assert!(
        st.store
            .authorization_code_reused(st.tid(), &code)
            .await
            .unwrap()
    );

    // The server's side: a code whose reuse is recorded by the time the
    // exchange has stored its grant (as the replay above leaves it) gives
    // no working tokens.
    let done = log_in(&mut Browser::new(&h.base), &web, &[], PASSWORD).await;
    let code = done.location_param("code").unwrap();
    let mut db = h.database().await;
    sqlx::query("UPDATE authorization_codes SET reused_at = 1 WHERE code_hash = $1")
        .bind(hash_secret(&code))
        .execute(&mut db)
        .await
        .unwrap();
    let (s, e) = exchange(&h, &web, &code, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"], "invalid_grant", "{e}");
    let row = sqlx::query("SELECT grant_id FROM authorization_codes WHERE code_hash = $1")
        .bind(hash_secret(&code))
        .fetch_one(&mut db)
        .await
        .unwrap();
    let grant_id: String = sqlx::Row::try_get(&row, "grant_id").unwrap();
    let grant = st.store.get_grant(st.tid(), &grant_id).await.unwrap();
    assert!(
        grant.as_ref().is_some_and(|g| g.revoked_at.is_some()),
        "the grant is stored revoked: {grant:?}"
    );
    h.stop().await;
}

async fn code_expires_after_a_minute(b: Backend) {
    let (h, _t, web) = setup(b).await;
    let done = log_in(&mut Browser::new(&h.base), &web, &[], PASSWORD).await;
    let code = done.location_param("code").unwrap();
    h.state().clock.advance(61);
    let (s, e) = exchange(&h, &web, &code, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{e}"
    );
    h.stop().await;
}

async fn pkce_is_enforced_and_cannot_be_downgraded(b: Backend) {
    let (h, t, web) = setup(b).await;
    let spa = App {
        secret: String::new(),
        ..app(&h, &t, true, json!({})).await
    };
    // A public client must send a challenge: refused back at the callback.
    let mut br = Browser::new(&h.base);
    let a = br.get(&authorize_url(&spa, &[])).await;
    assert_eq!(
        a.location_param("error").as_deref(),
        Some("invalid_request"),
        "{:?}",
        a.location()
    );
    assert_eq!(a.location_param("state").as_deref(), Some("app-state-1"));
    // plain is not S256.
    let a = br
        .get(&authorize_url(
            &spa,
            &[
                ("code_challenge", &pkce().0),
                ("code_challenge_method", "plain"),
            ],
        ))
        .await;
    assert_eq!(
        a.location_param("error").as_deref(),
        Some("invalid_request")
    );
    // With a challenge: no verifier, or a wrong one, fails.
    let (verifier, challenge) = pkce();
    let pk = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let done = log_in(&mut br, &spa, &pk, PASSWORD).await;
    let code = done.location_param("code").unwrap();
    let (s, e) = exchange(&h, &spa, &code, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let done = br.get(&authorize_url(&spa, &pk)).await;
    let code = done.location_param("code").unwrap();
    let (s, _) = exchange(&h, &spa, &code, Some(&pkce().0)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let done = br.get(&authorize_url(&spa, &pk)).await;
    let code = done.location_param("code").unwrap();
    let (s, ok) = exchange(&h, &spa, &code, Some(&verifier)).await;
    assert_eq!(s, StatusCode::OK, "{ok}");
    // A code issued without a challenge refuses a verifier (downgrade).
    let done = log_in(&mut Browser::new(&h.base), &web, &[], PASSWORD).await;
    let code = done.location_param("code").unwrap();
    let (s, e) = exchange(&h, &web, &code, Some(&verifier)).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    h.stop().await;
}

async fn redirect_uri_must_be_registered(b: Backend) {
    let (h, _t, web) = setup(b).await;
    let mut br = Browser::new(&h.base);
    let attempts = [
        "https://app.example/callback/",
        "https://app.example/callback?x=1",
        "https://app.example.evil.example/callback",
        "https://app.example@evil.example/callback",
        "https://evil.example/callback",
        "https://a.b.preview.example/cb",
        "https://app.example/callback#frag",
        "http://app.example/callback",
    ];
    for uri in attempts {
        let url = authorize_url(&web, &[]).replace(
            &urlencoding::encode(CALLBACK).to_string(),
            &urlencoding::encode(uri),
        );
        let a = br.get(&url).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(a.location().is_none(), "no redirect to {uri}");
        assert!(a.body.contains("Callback URL mismatch"), "{}", a.body);
    }
    // The wildcard stands for one label.
    let url = authorize_url(&web, &[]).replace(
        &urlencoding::encode(CALLBACK).to_string(),
        &urlencoding::encode("https://pr-1.preview.example/cb"),
    );
    let a = br.get(&url).await;
    assert_eq!(a.status, StatusCode::FOUND, "{}", a.body);
    // Unknown client: a page, not a redirect.
    let a = br
        .get(&authorize_url(
            &App {
                id: "nope".into(),
                secret: String::new(),
            },
            &[],
        ))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.location().is_none());
    // Once client and callback are good, errors go back to the app with the state.
    let a = br
        .get(&authorize_url(&web, &[]).replace("response_type=code", "response_type=token"))
        .await;
    assert_eq!(
        a.location_param("error").as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(a.location_param("state").as_deref(), Some("app-state-1"));
    let a = br
        .get(&authorize_url(
            &web,
            &[("audience", "https://unknown.example/")],
        ))
        .await;
    assert_eq!(a.location_param("error").as_deref(), Some("access_denied"));
    // A request is kept for an hour before anyone signs in, so its values
    // are bounded: an over-long nonce or state is refused on a page (the
    // state not echoed); one at the bound starts the login.
    for (name, value) in [("nonce", "n-0S6_WzA2Mj"), ("state", "app-state-1")] {
        let with = |len: usize| authorize_url(&web, &[]).replace(value, &"v".repeat(len));
        let a = br.get(&with(2049)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{name}");
        assert!(a.location().is_none(), "{name}");
        assert!(
            a.body.contains(&format!(
                "The parameter &#39;{name}&#39; is longer than 2048 bytes"
            )) || a
                .body
                .contains(&format!("The parameter '{name}' is longer than 2048 bytes")),
            "{}",
            a.body
        );
        let a = br.get(&with(2048)).await;
        assert_eq!(a.status, StatusCode::FOUND, "{name}: {}", a.body);
    }
    h.stop().await;
}

async fn login_csrf_is_refused(b: Backend) {
    let (h, _t, web) = setup(b).await;
    // The attacker starts a transaction in their own browser...
    let mut attacker = Browser::new(&h.base);
    let a = attacker.get(&authorize_url(&web, &[])).await;
    let page = attacker.follow(a).await;
    let state = form_state(&page.body);
    // ...and makes the victim's browser post their credentials into it.
    let mut victim = Browser::new(&h.base);
    let forged = victim
        .post_form(
            &format!("/u/login?state={state}"),
            &[
                ("state", &state),
                ("username", EMAIL),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(forged.location().is_none());
    assert!(
        victim.jar.is_empty(),
        "no cookie for the victim: {:?}",
        victim.jar
    );
    // Nor can the victim's browser finish the attacker's transaction.
    let resume = victim
        .get(&format!("/authorize/resume?state={state}"))
        .await;
    assert_eq!(resume.status, StatusCode::FORBIDDEN);
    // The attacker's own transaction was not authenticated by the forged post.
    let resume = attacker
        .get(&format!("/authorize/resume?state={state}"))
        .await;
    assert!(
        resume.location().unwrap().starts_with("/u/login"),
        "{:?}",
        resume.location()
    );
    h.stop().await;
}

async fn session_fixation_and_cookies(b: Backend) {
    let (h, _t, web) = setup(b).await;
    let mut br = Browser::new(&h.base);
    // A session id planted before the login is never promoted.
    br.jar.insert(
        "__Host-tern_session".into(),
        "planted-by-an-attacker".into(),
    );
    let done = log_in(&mut br, &web, &[], PASSWORD).await;
    assert_eq!(done.status, StatusCode::FOUND);
    let fresh = br.jar.get("__Host-tern_session").cloned().unwrap();
    assert_ne!(fresh, "planted-by-an-attacker");
    // A second login gives a new id and ends the first session.
    let done = log_in(&mut br, &web, &[("prompt", "login")], PASSWORD).await;
    assert_eq!(done.status, StatusCode::FOUND);
    let second = br.jar.get("__Host-tern_session").cloned().unwrap();
    assert_ne!(second, fresh);
    let mut old = Browser::new(&h.base);
    old.jar.insert("__Host-tern_session".into(), fresh);
    let a = old.get(&authorize_url(&web, &[("prompt", "none")])).await;
    assert_eq!(a.location_param("error").as_deref(), Some("login_required"));
    // The transaction cookie is cleared at resume.
    assert!(
        !br.jar.keys().any(|k| k.starts_with("__Host-tern_tx_")),
        "{:?}",
        br.jar
    );
    h.stop().await;
}

async fn hosted_pages_refuse_framing_and_wrong_passwords(b: Backend) {
    let (h, t, web) = setup(b).await;
    let mut br = Browser::new(&h.base);
    let a = br
        .get(&authorize_url(&web, &[("login_hint", "ada@example.com")]))
        .await;
    let tx_cookie = a
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("__Host-tern_tx_"))
        .unwrap();
    assert!(
        tx_cookie.contains("HttpOnly") && tx_cookie.contains("SameSite=Lax"),
        "{tx_cookie}"
    );
    let page = br.follow(a).await;
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(
        page.body.contains("<label for=\"username\">")
            && page.body.contains("<label for=\"password\">")
    );
    assert!(
        page.body.contains("value=\"ada@example.com\""),
        "login_hint pre-fills the identifier"
    );
    let state = form_state(&page.body);
    let wrong = br
        .post_form(
            &format!("/u/login?state={state}"),
            &[
                ("state", &state),
                ("username", EMAIL),
                ("password", "not it"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(
        wrong.body.contains("role=\"alert\"") && wrong.body.contains("Wrong email or password."),
        "{}",
        wrong.body
    );
    assert!(
        !wrong.body.contains("not it"),
        "the typed password is never echoed"
    );
    let types = log_types(&h, &t).await;
    assert!(types.contains(&"fp".to_string()), "{types:?}");
    // French when asked.
    let mut fr = Browser::new(&h.base);
    let page = fr
        .get(&authorize_url(&web, &[("ui_locales", "fr-FR en")]))
        .await;
    let page = fr.follow(page).await;
    assert!(
        page.body.contains("<html lang=\"fr\">") && page.body.contains("Mot de passe"),
        "{}",
        page.body
    );
    h.stop().await;
}

async fn sso_prompt_none_max_age_and_lifetimes(b: Backend) {
    let (h, t, web) = setup(b).await;
    let mut br = Browser::new(&h.base);
    // No session: prompt=none answers login_required at the callback.
    let a = br.get(&authorize_url(&web, &[("prompt", "none")])).await;
    assert_eq!(a.location_param("error").as_deref(), Some("login_required"));
    assert_eq!(a.location_param("state").as_deref(), Some("app-state-1"));
    log_in(&mut br, &web, &[], PASSWORD).await;
    let a = br.get(&authorize_url(&web, &[("prompt", "none")])).await;
    assert!(a.location_param("code").is_some(), "{:?}", a.location());
    // SSO reaches another application of the tenant.
    let other = app(&h, &t, false, json!({})).await;
    let a = br.get(&authorize_url(&other, &[("prompt", "none")])).await;
    assert!(a.location_param("code").is_some(), "{:?}", a.location());
    // max_age: a login 2 minutes old is too old for max_age=60.
    h.state().clock.advance(120);
    let a = br
        .get(&authorize_url(
            &web,
            &[("prompt", "none"), ("max_age", "60")],
        ))
        .await;
    assert_eq!(a.location_param("error").as_deref(), Some("login_required"));
    let a = br.get(&authorize_url(&web, &[("max_age", "60")])).await;
    assert!(
        a.location().unwrap().starts_with("/u/login"),
        "max_age asks again"
    );
    let a = br
        .get(&authorize_url(
            &web,
            &[("prompt", "none"), ("max_age", "10000")],
        ))
        .await;
    assert!(a.location_param("code").is_some());
    // The idle lifetime (tenant setting, hours) ends an unused session.
    let (s, settings) = h
        .api(
            &t,
            Method::PATCH,
            "/tenants/settings",
            Some(json!({"idle_session_lifetime": 1, "session_lifetime": 2})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{settings}");
    let mut br = Browser::new(&h.base);
    log_in(&mut br, &web, &[], PASSWORD).await;
    h.state().clock.advance(50 * 60);
    let a = br.get(&authorize_url(&web, &[("prompt", "none")])).await;
    assert!(a.location_param("code").is_some(), "used within the hour");
    h.state().clock.advance(50 * 60);
    let a = br.get(&authorize_url(&web, &[("prompt", "none")])).await;
    assert!(
        a.location_param("code").is_some(),
        "each use restarts the idle hour"
    );
    h.state().clock.advance(61 * 60);
    let a = br.get(&authorize_url(&web, &[("prompt", "none")])).await;
    assert_eq!(
        a.location_param("error").as_deref(),
        Some("login_required"),
        "idle for over an hour"
    );
    // The absolute lifetime ends it however often it is used.
    let mut br = Browser::new(&h.base);
    log_in(&mut br, &web, &[], PASSWORD).await;
    for _ in 0..4 {
        h.state().clock.advance(40 * 60);
        let _ = br.get(&authorize_url(&web, &[("prompt", "none")])).await;
    }
    let a = br.get(&authorize_url(&web, &[("prompt", "none")])).await;
    assert_eq!(
        a.location_param("error").as_deref(),
        Some("login_required"),
        "past two hours"
    );
    let types = log_types(&h, &t).await;
    assert!(
        types.contains(&"ssa".to_string()) && types.contains(&"fsa".to_string()),
        "{types:?}"
    );
    h.stop().await;
}

async fn oidc_logout_ends_the_session(b: Backend) {
    let (h, t, web) = setup(b).await;
    let mut br = Browser::new(&h.base);
    let done = log_in(&mut br, &web, &[], PASSWORD).await;
    let code = done.location_param("code").unwrap();
    let (_, tokens) = exchange(&h, &web, &code, None).await;
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    // A URL that is not registered exactly is refused and ends nothing.
    let bad = format!(
        "/oidc/logout?id_token_hint={id_token}&post_logout_redirect_uri={}",
        urlencoding::encode("https://evil.example/")
    );
    let a = br.get(&bad).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        br.get(&authorize_url(&web, &[("prompt", "none")]))
            .await
            .location_param("code")
            .is_some()
    );
    // A forged hint is refused.
    let forged = format!("{}x", &id_token[..id_token.len() - 1]);
    assert_eq!(
        br.get(&format!("/oidc/logout?id_token_hint={forged}"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let good = format!(
        "/oidc/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye",
        urlencoding::encode(LOGOUT_URL)
    );
    let a = br.get(&good).await;
    assert_eq!(a.status, StatusCode::FOUND);
    assert_eq!(
        a.location().as_deref(),
        Some(format!("{LOGOUT_URL}?state=bye").as_str())
    );
    assert!(
        a.set_cookie("__Host-tern_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    let a = br.get(&authorize_url(&web, &[("prompt", "none")])).await;
    assert_eq!(a.location_param("error").as_deref(), Some("login_required"));
    // Without a hint, the user is asked; a cross-site GET ends nothing.
    log_in(&mut br, &web, &[], PASSWORD).await;
    let a = br.get("/oidc/logout").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("name=\"logout_hint\""));
    assert!(
        br.get(&authorize_url(&web, &[("prompt", "none")]))
            .await
            .location_param("code")
            .is_some()
    );
    let sid = {
        let i = a.body.find("name=\"logout_hint\" value=\"").unwrap() + 26;
        a.body[i..i + a.body[i..].find('"').unwrap()].to_string()
    };
    let a = br.post_form("/oidc/logout", &[("logout_hint", &sid)]).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = br.get(&authorize_url(&web, &[("prompt", "none")])).await;
    assert_eq!(a.location_param("error").as_deref(), Some("login_required"));
    // Asked with a return URL: the confirmation posts, and is answered with
    // a redirect to the application, so the page's CSP must allow its
    // origin as a form target (browsers hold redirects to form-action).
    log_in(&mut br, &web, &[], PASSWORD).await;
    let a = br
        .get(&format!(
            "/oidc/logout?client_id={}&post_logout_redirect_uri={}&state=asked",
            web.id,
            urlencoding::encode(LOGOUT_URL)
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let csp = a.header("content-security-policy").unwrap();
    let form_action = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("form-action "))
        .unwrap();
    assert_eq!(
        form_action, "form-action 'self' https://app.example",
        "{csp}"
    );
    let sid = {
        let i = a.body.find("name=\"logout_hint\" value=\"").unwrap() + 26;
        a.body[i..i + a.body[i..].find('"').unwrap()].to_string()
    };
    let a = br
        .post_form(
            "/oidc/logout",
            &[
                ("logout_hint", sid.as_str()),
                ("client_id", web.id.as_str()),
                ("post_logout_redirect_uri", LOGOUT_URL),
                ("state", "asked"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::FOUND);
    assert_eq!(
        a.location().as_deref(),
        Some(format!("{LOGOUT_URL}?state=asked").as_str())
    );
    // Without a return URL the form posts to Tern alone.
    log_in(&mut br, &web, &[], PASSWORD).await;
    let a = br.get("/oidc/logout").await;
    let csp = a.header("content-security-policy").unwrap();
    assert!(csp.contains("form-action 'self';"), "{csp}");
    let types = log_types(&h, &t).await;
    assert!(
        types.contains(&"slo".to_string()) && types.contains(&"flo".to_string()),
        "{types:?}"
    );
    h.stop().await;
}

async fn discovery_lists_the_browser_endpoints(b: Backend) {
    let h = Harness::start(b).await;
    let d: Value = h
        .http
        .get(format!("{}/.well-known/openid-configuration", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let base = &h.state().public_url;
    assert_eq!(
        d["authorization_endpoint"],
        json!(format!("{base}/authorize"))
    );
    assert_eq!(
        d["end_session_endpoint"],
        json!(format!("{base}/oidc/logout"))
    );
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["response_types_supported"], json!(["code"]));
    for mode in ["query", "form_post", "web_message"] {
        assert!(
            d["response_modes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(mode))
        );
    }
    h.stop().await;
}

/// One address may start `http.authorize_per_address_minute` login
/// transactions a minute: each is a row kept for an hour, so a loop of
/// `/authorize` requests could otherwise fill the store. Past it the
/// application hears `temporarily_unavailable` (no row, no page), the first
/// refusal is logged once, and the next minute or the allowlist lets it in.
async fn sign_ins_started_per_address_are_bounded(b: Backend) {
    let h = Harness::start_with(b, |c| c.http.authorize_per_address_minute = 3).await;
    let t = h.admin_token().await;
    let web = app(&h, &t, false, json!({})).await;
    // Start at a minute's beginning, so the window cannot turn mid-test.
    let now = h.state().now();
    h.state().clock.advance(60 - now.rem_euclid(60));
    let mut br = Browser::new(&h.base);
    for i in 0..3 {
        let a = br.get(&authorize_url(&web, &[])).await;
        let to = a.location().unwrap_or_default();
        assert!(to.starts_with("/u/login?state="), "sign-in {i}: {to}");
    }
    for _ in 0..2 {
        let a = br.get(&authorize_url(&web, &[])).await;
        assert_eq!(a.status, StatusCode::FOUND, "{}", a.body);
        assert!(
            a.location().unwrap().starts_with(CALLBACK),
            "{:?}",
            a.location()
        );
        assert_eq!(
            a.location_param("error").as_deref(),
            Some("temporarily_unavailable")
        );
        assert_eq!(a.location_param("state").as_deref(), Some("app-state-1"));
    }
    let limits = log_types(&h, &t)
        .await
        .iter()
        .filter(|k| *k == "limit_mu")
        .count();
    assert_eq!(limits, 1, "one event for the address's minute");
    // The next minute starts afresh.
    h.state().clock.advance(60);
    let a = br.get(&authorize_url(&web, &[])).await;
    assert!(
        a.location().unwrap().starts_with("/u/login?state="),
        "{:?}",
        a.location()
    );
    // An allowlisted address (a proxy, an office) is not counted.
    h.exempt_loopback_from_ip_throttling(&t).await;
    for _ in 0..5 {
        let a = br.get(&authorize_url(&web, &[])).await;
        assert!(
            a.location().unwrap().starts_with("/u/login?state="),
            "{:?}",
            a.location()
        );
    }
    h.stop().await;
}

/// Block (or unblock) the user `id`.
async fn set_blocked(h: &Harness, t: &str, id: &str, blocked: bool) {
    let (s, e) = h
        .api(
            t,
            Method::PATCH,
            &format!("/users/{}", urlencoding::encode(id)),
            Some(json!({"blocked": blocked})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
}

/// Enable the default connection for exactly `clients`.
async fn enable_for(h: &Harness, t: &str, clients: &[&str]) {
    let (s, e) = h
        .api(
            t,
            Method::PATCH,
            &format!("/connections/{}", h.info.connection_id),
            Some(json!({ "enabled_clients": clients })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
}

/// The code of a fresh sign-in (a new browser).
async fn fresh_code(h: &Harness, web: &App) -> String {
    let mut br = Browser::new(&h.base);
    let done = log_in(&mut br, web, &[], PASSWORD).await;
    done.location_param("code").expect("a code")
}

/// A code is only as good as what the login checked, checked again at the
/// exchange: refused once, between `/authorize` and the exchange, the user
/// was blocked (Auth0's "user is blocked") or deleted, their connection
/// was taken from the application, or the application lost the
/// `authorization_code` grant type or was deleted.
async fn a_code_is_refused_once_its_user_or_connection_may_no_longer(b: Backend) {
    let (h, t, web) = setup(b).await;
    let everyone = [h.info.client_id.as_str(), web.id.as_str()];
    let user_id = {
        let (s, tokens) = exchange(&h, &web, &fresh_code(&h, &web).await, None).await;
        assert_eq!(s, StatusCode::OK, "{tokens}");
        claims(tokens["id_token"].as_str().unwrap())["sub"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let refused = |(s, e): (StatusCode, Value), status: StatusCode, error: &str, why: &str| {
        assert_eq!(
            (s, e["error"].as_str(), e["error_description"].as_str()),
            (status, Some(error), Some(why)),
            "{e}"
        );
    };

    let code = fresh_code(&h, &web).await;
    set_blocked(&h, &t, &user_id, true).await;
    refused(
        exchange(&h, &web, &code, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "user is blocked",
    );
    set_blocked(&h, &t, &user_id, false).await;

    let code = fresh_code(&h, &web).await;
    enable_for(&h, &t, &[&h.info.client_id]).await;
    refused(
        exchange(&h, &web, &code, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "The user's connection is no longer enabled for this application.",
    );
    enable_for(&h, &t, &everyone).await;

    let code = fresh_code(&h, &web).await;
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/clients/{}", web.id),
            Some(json!({"grant_types": ["refresh_token"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    refused(
        exchange(&h, &web, &code, None).await,
        StatusCode::FORBIDDEN,
        "unauthorized_client",
        "Grant type 'authorization_code' not allowed for the client.",
    );
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/clients/{}", web.id),
            Some(json!({"grant_types": ["authorization_code", "refresh_token"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    // The code was not spent by the refusal, and still works.
    let (s, tokens) = exchange(&h, &web, &code, None).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");

    let kept = fresh_code(&h, &web).await;
    let code = fresh_code(&h, &web).await;
    let (s, e) = h
        .api(
            &t,
            Method::DELETE,
            &format!("/users/{}", urlencoding::encode(&user_id)),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, e) = exchange(&h, &web, &code, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{e}"
    );

    // The application deleted: nothing authenticates as it any more.
    let (s, e) = h
        .api(&t, Method::DELETE, &format!("/clients/{}", web.id), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, e) = exchange(&h, &web, &kept, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{e}"
    );
    h.stop().await;
}

/// `prompt=none` for `web`: "code", or the error it answered.
async fn silent(br: &mut Browser, web: &App) -> String {
    let a = br.get(&authorize_url(web, &[("prompt", "none")])).await;
    a.location_param("error")
        .or_else(|| a.location_param("code").map(|_| "code".to_string()))
        .unwrap_or_default()
}

/// Silent authentication and the end of a login check the user again: a
/// session whose user was blocked, or whose connection was taken from the
/// application, answers `prompt=none` with `login_required`; a user
/// blocked while on the hosted pages gets `access_denied` at `/authorize/resume`, no session and
/// no code.
async fn silent_auth_and_resume_check_the_user_again(b: Backend) {
    let (h, t, web) = setup(b).await;
    let everyone = [h.info.client_id.as_str(), web.id.as_str()];
    let mut br = Browser::new(&h.base);
    let done = log_in(&mut br, &web, &[], PASSWORD).await;
    let code = done.location_param("code").unwrap();
    let (s, tokens) = exchange(&h, &web, &code, None).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let user_id = claims(tokens["id_token"].as_str().unwrap())["sub"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(silent(&mut br, &web).await, "code");

    // Blocking ends the user's sessions; should one be left (written
    // before the block by a racing request), it still answers nothing.
    set_blocked(&h, &t, &user_id, true).await;
    assert_eq!(silent(&mut br, &web).await, "login_required");
    set_blocked(&h, &t, &user_id, false).await;
    log_in(&mut br, &web, &[], PASSWORD).await;
    assert_eq!(silent(&mut br, &web).await, "code");

    enable_for(&h, &t, &[&h.info.client_id]).await;
    assert_eq!(silent(&mut br, &web).await, "login_required");
    enable_for(&h, &t, &everyone).await;
    assert_eq!(silent(&mut br, &web).await, "code");

    // Blocked between the password and `/authorize/resume`.
    let mut br = Browser::new(&h.base);
    let a = br.get(&authorize_url(&web, &[])).await;
    let page = br.follow(a).await;
    let posted = br.submit_login(&page, EMAIL, PASSWORD).await;
    assert!(
        posted.location().unwrap().starts_with("/authorize/resume"),
        "{:?}",
        posted.location()
    );
    set_blocked(&h, &t, &user_id, true).await;
    let resumed = br.follow(posted).await;
    assert_eq!(
        resumed.location_param("error").as_deref(),
        Some("access_denied"),
        "{:?}",
        resumed.location()
    );
    assert_eq!(
        resumed.location_param("error_description").as_deref(),
        Some("user is blocked")
    );
    assert!(resumed.location_param("code").is_none());
    assert!(
        !br.jar.keys().any(|k| k.contains("tern_session")),
        "no session: {:?}",
        br.jar
    );
    h.stop().await;
}

both_backends!(
    a_code_is_refused_once_its_user_or_connection_may_no_longer,
    silent_auth_and_resume_check_the_user_again,
    code_flow_and_id_token,
    sign_ins_started_per_address_are_bounded,
    code_reuse_revokes_what_it_issued,
    a_foreign_client_neither_burns_nor_revokes_a_code,
    a_replay_racing_the_exchange_leaves_no_tokens,
    code_expires_after_a_minute,
    pkce_is_enforced_and_cannot_be_downgraded,
    redirect_uri_must_be_registered,
    login_csrf_is_refused,
    session_fixation_and_cookies,
    hosted_pages_refuse_framing_and_wrong_passwords,
    sso_prompt_none_max_age_and_lifetimes,
    oidc_logout_ends_the_session,
    discovery_lists_the_browser_endpoints,
);
