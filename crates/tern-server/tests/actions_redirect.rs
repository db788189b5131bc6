#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Redirect actions end to end, on both backends: `api.redirect.sendUserTo`
//! pauses a hosted sign-in and sends the browser away with Auth0's `state`,
//! `/continue` resumes it (`onContinuePostLogin`, then the actions after
//! it); session tokens made by `api.redirect.encodeToken` are checked, and
//! those `api.redirect.validateToken` reads are made, by an independent
//! JWT implementation (`jsonwebtoken`). Grants cannot redirect; every
//! action sees `event.request` without secrets.

mod common;

use common::browser::{Answer, Browser, authorize_path, claims};
use common::{Backend, Harness};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";
const REALM: &str = "Username-Password-Authentication";
const CALLBACK: &str = "https://app.example/callback";
const TERMS: &str = "https://terms.example/accept";
/// The secret the action and the terms site share.
const SHARED: &str = "terms-site-shared-secret-0123456789";

/// Auth0's terms-acceptance pattern: a session token to the site, the site's
/// token read back in `onContinuePostLogin`.
const TERMS_ACTION: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://x/before', 'kept');
  api.idToken.setCustomClaim('https://x/can_redirect', api.redirect.canRedirect());
  api.idToken.setCustomClaim('https://x/authorize_method', event.request.method);
  api.idToken.setCustomClaim('https://x/authorize_query', event.request.query);
  api.user.setAppMetadata('sent_to_terms', true);
  const token = api.redirect.encodeToken({
    secret: event.secrets.SHARED,
    expiresInSeconds: 60,
    payload: { email: event.user.email },
  });
  api.redirect.sendUserTo('https://terms.example/accept?v=2', { query: { session_token: token, lang: 'en' } });
};
exports.onContinuePostLogin = async (event, api) => {
  const payload = api.redirect.validateToken({ secret: event.secrets.SHARED });
  api.idToken.setCustomClaim('https://x/answer', payload.answer);
  api.idToken.setCustomClaim('https://x/continue_method', event.request.method);
  api.idToken.setCustomClaim('https://x/metadata_at_continue', event.user.app_metadata.sent_to_terms === true);
};
"#;

/// Bound after the terms action: it must not run before `/continue`.
const AFTER_ACTION: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  api.user.setAppMetadata('after_ran', true);
  api.idToken.setCustomClaim('https://x/after', 'ran');
};
"#;

struct Setup {
    h: Harness,
    t: String,
    web: (String, String),
    uid: String,
}

async fn setup(b: Backend, actions: &[(&str, &str)]) -> Setup {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let user = h.create_user(&t, EMAIL, PASSWORD).await;
    let web = h
        .client_on(
            &t,
            &h.info.connection_id,
            json!({"name": "Web", "app_type": "regular_web", "callbacks": [CALLBACK],
                   "grant_types": ["authorization_code", "password", "http://auth0.com/oauth/grant-type/password-realm"],
                   "token_endpoint_auth_method": "client_secret_post"}),
        )
        .await;
    for (name, code) in actions {
        let (s, a) = h
            .api(
                &t,
                Method::POST,
                "/actions/actions",
                Some(json!({
                    "name": name,
                    "supported_triggers": [{"id": "post-login", "version": "v3"}],
                    "code": code, "runtime": "node22", "deploy": true,
                    "secrets": [{"name": "SHARED", "value": SHARED}],
                })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
    }
    let bindings: Vec<Value> = actions
        .iter()
        .map(|(n, _)| json!({"ref": {"type": "action_name", "value": n}, "display_name": n}))
        .collect();
    let (s, b) = h
        .api(
            &t,
            Method::PATCH,
            "/actions/triggers/post-login/bindings",
            Some(json!({ "bindings": bindings })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    Setup {
        uid: user["user_id"].as_str().unwrap().to_string(),
        web: (
            web["client_id"].as_str().unwrap().to_string(),
            web["client_secret"].as_str().unwrap().to_string(),
        ),
        h,
        t,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The site's answer token: HS256 with `secret`, these claims.
fn site_token(secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

impl Setup {
    /// Sign in at the hosted pages; the redirect to the terms site.
    async fn signed_in_to_terms(&self, br: &mut Browser) -> Answer {
        let away = br
            .code_sign_in(&self.web.0, CALLBACK, "openid", EMAIL, PASSWORD)
            .await;
        assert_eq!(away.status, StatusCode::OK, "{}", away.body);
        let to = away.location().unwrap();
        assert!(to.starts_with(TERMS), "{to}");
        away
    }

    /// `POST /continue` as the terms site's form does, followed to the
    /// application's callback (or a page).
    async fn continue_with(&self, br: &mut Browser, state: &str, token: &str) -> Answer {
        let back = br
            .post_form(
                "/continue",
                &[
                    ("state", state),
                    ("session_token", token),
                    ("answer", "form"),
                ],
            )
            .await;
        br.follow(back).await
    }

    async fn exchange(&self, code: &str) -> Value {
        let (s, tokens) = self
            .h
            .token(
                json!({"grant_type": "authorization_code", "client_id": self.web.0,
                          "client_secret": self.web.1, "code": code, "redirect_uri": CALLBACK}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{tokens}");
        claims(tokens["id_token"].as_str().unwrap())
    }

    async fn app_metadata(&self) -> Value {
        let uid: String = url::form_urlencoded::byte_serialize(self.uid.as_bytes()).collect();
        let (_, u) = self
            .h
            .api(&self.t, Method::GET, &format!("/users/{uid}"), None)
            .await;
        u["app_metadata"].clone()
    }

    async fn failures(&self) -> Vec<String> {
        let (_, logs) = self
            .h
            .api(&self.t, Method::GET, "/logs?q=type:f&per_page=50", None)
            .await;
        logs.as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["description"].as_str().map(str::to_string))
            .collect()
    }
}

async fn a_redirect_pauses_the_sign_in_and_continue_finishes_it(b: Backend) {
    let x = setup(b, &[("terms", TERMS_ACTION), ("after", AFTER_ACTION)]).await;
    let mut br = Browser::new(&x.h.base);
    let away = x.signed_in_to_terms(&mut br).await;
    // The action's URL keeps its query, gets the action's and Auth0's state.
    assert_eq!(away.location_param("v").as_deref(), Some("2"));
    assert_eq!(away.location_param("lang").as_deref(), Some("en"));
    let state = away.location_param("state").unwrap();
    assert!(state.len() >= 80, "unguessable: {state}");
    // The session token, verified by another JWT implementation.
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_aud = false;
    let sent = jsonwebtoken::decode::<Value>(
        away.location_param("session_token").unwrap(),
        &DecodingKey::from_secret(SHARED.as_bytes()),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!(sent["sub"], x.uid.as_str(), "{sent}");
    assert_eq!(sent["state"], state.as_str(), "{sent}");
    assert_eq!(sent["email"], EMAIL, "{sent}");
    assert!(
        sent["iss"].as_str().is_some_and(|i| !i.contains("://")),
        "the tenant's hostname: {sent}"
    );
    assert!(sent["ip"].is_string(), "{sent}");
    let (iat, exp) = (sent["iat"].as_i64().unwrap(), sent["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 60, "{sent}");
    // Paused: the metadata set before the redirect is written (Auth0's
    // external site reads the profile), the later action has not run.
    let meta = x.app_metadata().await;
    assert_eq!(meta["sent_to_terms"], true, "{meta}");
    assert!(meta.get("after_ran").is_none(), "{meta}");

    let answer = site_token(
        SHARED,
        json!({"sub": x.uid, "state": state, "answer": "accepted", "exp": now() + 60}),
    );
    let done = x.continue_with(&mut br, &state, &answer).await;
    let Some(code) = done.location_param("code") else {
        panic!(
            "no code after /continue: {:?} {} {:?}",
            done.location(),
            done.body,
            x.failures().await
        );
    };
    assert_eq!(done.location_param("state").as_deref(), Some("app-state"));
    let idt = x.exchange(&code).await;
    assert_eq!(idt["https://x/before"], "kept", "{idt}");
    assert_eq!(idt["https://x/answer"], "accepted", "{idt}");
    assert_eq!(idt["https://x/continue_method"], "POST", "{idt}");
    assert_eq!(idt["https://x/metadata_at_continue"], true, "{idt}");
    assert_eq!(idt["https://x/after"], "ran", "{idt}");
    assert_eq!(idt["https://x/can_redirect"], true, "{idt}");
    // event.request of the browser flow: the /authorize request.
    assert_eq!(idt["https://x/authorize_method"], "GET", "{idt}");
    let q = &idt["https://x/authorize_query"];
    assert_eq!(q["client_id"], x.web.0.as_str(), "{q}");
    assert_eq!(q["state"], "app-state", "{q}");
    assert_eq!(q["redirect_uri"], CALLBACK, "{q}");
    assert_eq!(x.app_metadata().await["after_ran"], true);

    // The state is used once: again, nothing happens.
    let again = br
        .post_form(
            "/continue",
            &[("state", &state), ("session_token", &answer)],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert!(again.body.contains("invalid_request"), "{}", again.body);

    // From the SSO session: the action redirects again, in a transaction of
    // its own, and the continue finishes the same way.
    let a = br
        .get(&authorize_path(&x.web.0, CALLBACK, "openid", &[]))
        .await;
    assert!(
        a.location().unwrap().starts_with(TERMS),
        "{:?}",
        a.location()
    );
    let state2 = a.location_param("state").unwrap();
    assert_ne!(state2, state);
    let answer = site_token(
        SHARED,
        json!({"state": state2, "answer": "again", "exp": now() + 60}),
    );
    // A GET carrying the token in its query works too.
    let back = br
        .get(&format!(
            "/continue?state={}&session_token={answer}",
            urlencode(&state2)
        ))
        .await;
    let done = br.follow(back).await;
    let idt = x.exchange(&done.location_param("code").unwrap()).await;
    assert_eq!(idt["https://x/answer"], "again", "{idt}");
    assert_eq!(idt["https://x/continue_method"], "GET", "{idt}");

    // prompt=none cannot show the terms: interaction_required, as Auth0.
    let silent = br
        .get(&authorize_path(
            &x.web.0,
            CALLBACK,
            "openid",
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(
        silent.location_param("error").as_deref(),
        Some("interaction_required"),
        "{:?}",
        silent.location()
    );
    x.h.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn wrong_states_and_bad_tokens_change_nothing_or_fail(b: Backend) {
    let x = setup(b, &[("terms", TERMS_ACTION)]).await;
    let mut br = Browser::new(&x.h.base);
    let away = x.signed_in_to_terms(&mut br).await;
    let state = away.location_param("state").unwrap();
    let good = |st: &str| {
        site_token(
            SHARED,
            json!({"state": st, "answer": "yes", "exp": now() + 60}),
        )
    };
    // A POST without the transaction cookie — what a browser sends when
    // another site posts the form, the cookie being SameSite=Lax — gets a
    // page of Tern's that posts the same fields again from Tern's origin
    // (then with the cookie); a browser that has none (another browser)
    // is refused on that second post.
    let mut other = Browser::new(&x.h.base);
    let token = good(&state);
    let bounce = other
        .post_form("/continue", &[("state", &state), ("session_token", &token)])
        .await;
    assert_eq!(bounce.status, StatusCode::OK, "{}", bounce.body);
    assert!(
        bounce.body.contains("action=\"/continue\""),
        "{}",
        bounce.body
    );
    assert!(
        bounce.body.contains("name=\"tern_resent\""),
        "{}",
        bounce.body
    );
    assert!(bounce.body.contains(&token), "the token is posted again");
    let r = other
        .post_form(
            "/continue",
            &[
                ("state", &state),
                ("session_token", &token),
                ("tern_resent", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = other.get(&format!("/continue?state={state}")).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a GET carries no form: {}",
        r.body
    );
    // A state of the right transaction with a wrong nonce, or none.
    let id = state.split('.').next().unwrap();
    for wrong in [format!("{id}.not-the-nonce"), id.to_string(), String::new()] {
        let r = x.continue_with(&mut br, &wrong, &good(&wrong)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{wrong}: {}", r.body);
    }
    assert!(x.failures().await.is_empty(), "nothing ran");
    // The right state still continues; a token signed with another secret
    // fails the login, logged naming the action.
    let forged = site_token(
        "not-the-shared-secret",
        json!({"state": state, "answer": "yes", "exp": now() + 60}),
    );
    let done = x.continue_with(&mut br, &state, &forged).await;
    assert_eq!(
        done.location_param("error").as_deref(),
        Some("access_denied"),
        "{:?} {}",
        done.location(),
        done.body
    );
    assert!(done.location_param("code").is_none());
    let f = x.failures().await;
    assert!(
        f.iter()
            .any(|d| d.contains("'terms'") && d.contains("signature")),
        "{f:?}"
    );

    // Expired, another login's state, another algorithm: each fails.
    let cases: Vec<(TokenFor, &str)> = vec![
        (
            Box::new(|st: &str| {
                site_token(
                    SHARED,
                    json!({"state": st, "answer": "yes", "exp": now() - 5}),
                )
            }),
            "expired",
        ),
        (
            Box::new(|_st: &str| {
                site_token(
                    SHARED,
                    json!({"state": "someone-elses.state", "answer": "yes", "exp": now() + 60}),
                )
            }),
            "state claim",
        ),
        (
            Box::new(|st: &str| {
                jsonwebtoken::encode(
                    &Header::new(Algorithm::HS512),
                    &json!({"state": st, "exp": now() + 60}),
                    &EncodingKey::from_secret(SHARED.as_bytes()),
                )
                .unwrap()
            }),
            "HS256",
        ),
    ];
    for (make, why) in cases {
        let mut br = Browser::new(&x.h.base);
        let away = x.signed_in_to_terms(&mut br).await;
        let state = away.location_param("state").unwrap();
        let done = x.continue_with(&mut br, &state, &make(&state)).await;
        assert_eq!(
            done.location_param("error").as_deref(),
            Some("access_denied"),
            "{why}: {:?}",
            done.location()
        );
        let f = x.failures().await;
        assert!(f.iter().any(|d| d.contains(why)), "{why}: {f:?}");
    }
    x.h.stop().await;
}

/// Makes the site's token for a login's `state`.
type TokenFor = Box<dyn Fn(&str) -> String>;

async fn grants_cannot_redirect_and_see_their_request_without_secrets(b: Backend) {
    let x = setup(
        b,
        &[(
            "inspect",
            r#"exports.onExecutePostLogin = async (event, api) => {
                 api.idToken.setCustomClaim('https://x/can_redirect', api.redirect.canRedirect());
                 api.idToken.setCustomClaim('https://x/request', event.request);
                 if (event.request.body.try_redirect) {
                   api.redirect.sendUserTo('https://terms.example/accept');
                 }
               };"#,
        )],
    )
    .await;
    let grant = |extra: Value| {
        let mut body = json!({
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "realm": REALM, "username": EMAIL, "password": PASSWORD,
            "scope": "openid", "client_id": x.web.0, "client_secret": x.web.1,
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        x.h.token(body)
    };
    let (s, tokens) = grant(json!({})).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let idt = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(idt["https://x/can_redirect"], false, "{idt}");
    let req = &idt["https://x/request"];
    assert_eq!(req["method"], "POST", "{req}");
    assert_eq!(req["body"]["username"], EMAIL, "{req}");
    assert_eq!(req["body"]["realm"], REALM, "{req}");
    assert_eq!(req["body"]["client_id"], x.web.0.as_str(), "{req}");
    assert_eq!(req["query"], json!({}), "{req}");
    let seen = req.to_string();
    assert!(!seen.contains(PASSWORD), "{seen}");
    assert!(!seen.contains(&x.web.1), "{seen}");
    assert!(req["body"].get("password").is_none() && req["body"].get("client_secret").is_none());

    // sendUserTo where no browser can follow: the login fails, as Auth0's
    // password exchange does, with the reason in the log.
    let (s, body) = grant(json!({"try_redirect": "yes"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "access_denied", "{body}");
    assert!(body.get("access_token").is_none());
    let f = x.failures().await;
    assert!(
        f.iter()
            .any(|d| d.contains("'inspect'") && d.contains("cannot be redirected")),
        "{f:?}"
    );
    x.h.stop().await;
}

async fn a_redirect_to_a_non_http_url_fails_the_login(b: Backend) {
    let x = setup(
        b,
        &[(
            "bad-url",
            r#"exports.onExecutePostLogin = async (event, api) => {
                 api.redirect.sendUserTo('javascript:alert(1)');
               };"#,
        )],
    )
    .await;
    let done = Browser::new(&x.h.base)
        .code_sign_in(&x.web.0, CALLBACK, "openid", EMAIL, PASSWORD)
        .await;
    assert_eq!(
        done.location_param("error").as_deref(),
        Some("access_denied"),
        "{:?}",
        done.location()
    );
    let f = x.failures().await;
    assert!(
        f.iter()
            .any(|d| d.contains("'bad-url'") && d.contains("not an absolute http")),
        "{f:?}"
    );
    x.h.stop().await;
}

both_backends!(
    a_redirect_pauses_the_sign_in_and_continue_finishes_it,
    wrong_states_and_bad_tokens_change_nothing_or_fail,
    grants_cannot_redirect_and_see_their_request_without_secrets,
    a_redirect_to_a_non_http_url_fails_the_login,
);
