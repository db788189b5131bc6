#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! MFA for users who arrived with a TOTP enrolment, on both backends: the
//! password grants answer `mfa_required`, `/mfa/challenge`,
//! `/mfa/authenticators` and the mfa-otp grant finish the login; codes are
//! computed here by an RFC 6238 implementation of the test's own (checked
//! against the RFC's vectors), on the server's clock; replays and brute
//! force are refused; seeds are sealed at rest, also those an earlier
//! version stored in clear.

mod common;

use common::{Backend, Harness, base32, totp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PASSWORD: &str = "Correct-Horse-7-Battery";
/// The seed an authenticator app of the user holds (Base32 of
/// "12345678901234567890", RFC 6238's key).
const SEED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const SEED_BYTES: &[u8] = b"12345678901234567890";
const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
const CALLBACK: &str = "https://app.example/callback";

#[test]
fn the_tests_totp_matches_rfc_6238_appendix_b() {
    for (t, code) in [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ] {
        assert_eq!(totp(SEED_BYTES, t, 8), code, "T = {t}");
    }
}

/// The code the user's app shows now, by the server's clock.
fn code_now(h: &Harness) -> String {
    totp(SEED_BYTES, h.state().now(), 6)
}

/// A code of this moment that is none of the three the server accepts.
fn wrong_code(h: &Harness) -> String {
    let now = h.state().now();
    let valid: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|d| totp(SEED_BYTES, now + d, 6))
        .collect();
    (0..)
        .map(|i| format!("{:06}", (123_456 + i * 7919) % 1_000_000))
        .find(|c| !valid.contains(c))
        .unwrap()
}

struct Setup {
    h: Harness,
    admin: String,
    client_id: String,
    secret: String,
    user_id: String,
}

/// A server with an imported user (bcrypt password, TOTP enrolment) and an
/// application allowed the password grants and the mfa-otp grant.
async fn setup(backend: Backend) -> Setup {
    setup_with(backend, |_| {}).await
}

/// [`setup`] with the server's configuration changed by `tweak`.
async fn setup_with(backend: Backend, tweak: impl FnOnce(&mut tern_server::Config)) -> Setup {
    let h = Harness::start_with(backend, tweak).await;
    let admin = h.admin_token().await;
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    h.import_rows(
        &admin,
        &json!([
            {"email": "otp@example.com", "email_verified": true, "password_hash": hash,
             "mfa_factors": [{"totp": {"secret": SEED}}]},
            {"email": "plain@example.com", "email_verified": true, "password_hash": hash},
        ]),
    )
    .await;
    let (client_id, secret) = h.password_client(&admin).await;
    let (s, b) = h
        .api(
            &admin,
            Method::PATCH,
            &format!("/clients/{client_id}"),
            Some(json!({"grant_types": ["password", "http://auth0.com/oauth/grant-type/password-realm", MFA_OTP]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, users) = h
        .api(
            &admin,
            Method::GET,
            "/users-by-email?email=otp@example.com",
            None,
        )
        .await;
    let user_id = users[0]["user_id"].as_str().unwrap().to_string();
    Setup {
        h,
        admin,
        client_id,
        secret,
        user_id,
    }
}

impl Setup {
    async fn password(&self, email: &str) -> (StatusCode, Value) {
        self.h
            .token(json!({
                "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
                "realm": "Username-Password-Authentication",
                "client_id": self.client_id, "client_secret": self.secret,
                "username": email, "password": PASSWORD, "scope": "openid email",
            }))
            .await
    }

    async fn mfa_token(&self) -> String {
        let (s, b) = self.password("otp@example.com").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        assert_eq!(b["error"], "mfa_required", "{b}");
        assert_eq!(
            b["error_description"],
            "Multifactor authentication required"
        );
        assert_eq!(
            b["mfa_requirements"],
            json!({"challenge": [{"type": "otp"}]})
        );
        b["mfa_token"].as_str().unwrap().to_string()
    }

    /// A regular web application on the user's connection (hosted login).
    async fn web_app(&self) -> (String, String) {
        let c = self
            .h
            .client_on(
                &self.admin,
                &self.h.info.connection_id,
                json!({"name": "Web", "app_type": "regular_web", "callbacks": [CALLBACK],
                       "grant_types": ["authorization_code"], "token_endpoint_auth_method": "client_secret_post"}),
            )
            .await;
        let app_id = c["client_id"].as_str().unwrap().to_string();
        (app_id, c["client_secret"].as_str().unwrap().to_string())
    }

    /// Redeem an authorization code of the web app; the ID token's claims.
    async fn id_token(&self, app_id: &str, app_secret: &str, code: &str) -> Value {
        let (s, t) = self
            .h
            .token(json!({"grant_type": "authorization_code", "client_id": app_id, "client_secret": app_secret,
                          "code": code, "redirect_uri": CALLBACK}))
            .await;
        assert_eq!(s, StatusCode::OK, "{t}");
        claims(t["id_token"].as_str().unwrap())
    }

    /// Guardian: every login asks for an authenticator app's code.
    async fn require_mfa(&self) {
        let (s, b) = self
            .h
            .api(
                &self.admin,
                Method::PUT,
                "/guardian/factors/otp",
                Some(json!({"enabled": true})),
            )
            .await;
        assert_eq!((s, &b), (StatusCode::OK, &json!({"enabled": true})));
        let (s, b) = self
            .h
            .api(
                &self.admin,
                Method::PUT,
                "/guardian/policies",
                Some(json!(["all-applications"])),
            )
            .await;
        assert_eq!((s, &b), (StatusCode::OK, &json!(["all-applications"])));
    }

    async fn stored_factors(&self, email: &str) -> Vec<Value> {
        let st = self.h.state();
        let (_, users) = self
            .h
            .api(
                &self.admin,
                Method::GET,
                &format!("/users-by-email?email={email}"),
                None,
            )
            .await;
        let id = users[0]["user_id"].as_str().unwrap();
        st.store
            .get_user(st.tid(), id)
            .await
            .unwrap()
            .unwrap()
            .mfa_factors
    }

    async fn otp(&self, mfa_token: &str, otp: &str) -> (StatusCode, Value) {
        self.h
            .token(json!({
                "grant_type": MFA_OTP,
                "client_id": self.client_id, "client_secret": self.secret,
                "mfa_token": mfa_token, "otp": otp,
            }))
            .await
    }
}

fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// The whole exchange as Auth0's MFA API has it, ending in the tokens the
/// password grant gives plus `amr: ["mfa"]`; a user without MFA is not asked.
async fn password_grant_then_otp_gives_tokens(backend: Backend) {
    let x = setup(backend).await;
    let (s, b) = x.password("plain@example.com").await;
    assert_eq!(s, StatusCode::OK, "no factor, no question: {b}");

    let token = x.mfa_token().await;
    let r =
        x.h.http
            .get(format!("{}/mfa/authenticators", x.h.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let list: Value = r.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["authenticator_type"], "otp");
    assert_eq!(list[0]["active"], true);
    assert!(!list.to_string().contains(SEED));

    let r = x
        .h
        .http
        .post(format!("{}/mfa/challenge", x.h.base))
        .json(&json!({"client_id": x.client_id, "client_secret": x.secret, "mfa_token": token, "challenge_type": "otp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"challenge_type": "otp"})
    );
    let r = x
        .h
        .http
        .post(format!("{}/mfa/challenge", x.h.base))
        .json(&json!({"client_id": x.client_id, "client_secret": x.secret, "mfa_token": token, "challenge_type": "oob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unsupported_challenge_type"
    );

    let (s, b) = x.otp(&token, &wrong_code(&x.h)).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{b}"
    );

    let (s, b) = x.otp(&token, &code_now(&x.h)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let id = claims(b["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], x.user_id.as_str());
    assert_eq!(id["email"], "otp@example.com");
    assert_eq!(id["amr"], json!(["mfa"]));
    assert_eq!(b["scope"], "openid email");
    let at = claims(b["access_token"].as_str().unwrap());
    assert_eq!(at["sub"], x.user_id.as_str());
    assert_eq!(at["azp"], x.client_id.as_str());

    // The log has the outcome of each code.
    let (_, logs) = x.h.api(&x.admin, Method::GET, "/logs", None).await;
    let kinds: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(kinds.contains(&"gd_auth_failed"), "{kinds:?}");
    assert!(kinds.contains(&"gd_auth_succeed"), "{kinds:?}");
    x.h.stop().await;
}

/// A code works once (RFC 6238 §5.2), also through a new mfa_token; an
/// mfa_token works only for its client and only for ten minutes; a client
/// without the mfa-otp grant cannot use one.
async fn codes_and_tokens_are_single_purpose(backend: Backend) {
    let x = setup(backend).await;
    let token = x.mfa_token().await;
    let code = code_now(&x.h);
    let (s, b) = x.otp(&token, &code).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = x.otp(&token, &code).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "replayed: {b}"
    );
    let again = x.mfa_token().await;
    let (s, _) = x.otp(&again, &code).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "replayed with a new mfa_token");
    // The next step's code is a new code.
    x.h.state().clock.advance(30);
    let (s, b) = x.otp(&again, &code_now(&x.h)).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Another application cannot use the token.
    let (other_id, other_secret) = x.h.password_client(&x.admin).await;
    x.h.api(
        &x.admin,
        Method::PATCH,
        &format!("/clients/{other_id}"),
        Some(json!({"grant_types": ["password", MFA_OTP]})),
    )
    .await;
    let token = x.mfa_token().await;
    x.h.state().clock.advance(30);
    let (s, b) = x
        .h
        .token(json!({"grant_type": MFA_OTP, "client_id": other_id, "client_secret": other_secret, "mfa_token": token, "otp": code_now(&x.h)}))
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{b}"
    );
    // A tampered token does not open.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 5;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let (s, b) = x
        .otp(&String::from_utf8(tampered).unwrap(), &code_now(&x.h))
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{b}"
    );
    // Ten minutes later it has expired.
    x.h.state().clock.advance(601);
    let (s, b) = x.otp(&token, &code_now(&x.h)).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("expired_token")),
        "{b}"
    );

    // Without the mfa-otp grant the application cannot finish the login.
    x.h.api(
        &x.admin,
        Method::PATCH,
        &format!("/clients/{}", x.client_id),
        Some(json!({"grant_types": ["password"]})),
    )
    .await;
    let token = x.mfa_token().await;
    x.h.state().clock.advance(30);
    let (s, b) = x.otp(&token, &code_now(&x.h)).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("unauthorized_client")),
        "{b}"
    );
    x.h.stop().await;
}

/// Ten wrong codes in fifteen minutes, and even the right one is refused
/// until the window has passed.
async fn wrong_codes_are_limited(backend: Backend) {
    let x = setup(backend).await;
    let token = x.mfa_token().await;
    for _ in 0..10 {
        let (s, _) = x.otp(&token, &wrong_code(&x.h)).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, b) = x.otp(&token, &code_now(&x.h)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(b["error"], "too_many_attempts");
    x.h.state().clock.advance(901);
    let token = x.mfa_token().await;
    let (s, b) = x.otp(&token, &code_now(&x.h)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    x.h.stop().await;
}

/// Wrong codes sent all at once with one `mfa_token` (it is reusable for
/// ten minutes): each attempt is counted before its code is compared, so no
/// more than ten are compared however many race, the others are refused
/// uncompared, and the right code is refused too until the window has passed.
async fn racing_wrong_codes_are_limited(backend: Backend) {
    const RACERS: usize = 40;
    let x = setup(backend).await;
    let token = x.mfa_token().await;
    let wrong = wrong_code(&x.h);
    let answers = futures_util::future::join_all((0..RACERS).map(|_| x.otp(&token, &wrong))).await;
    let mut compared = 0;
    let mut refused = 0;
    for (s, b) in &answers {
        match *s {
            StatusCode::FORBIDDEN => {
                assert_eq!(b["error"], "invalid_grant", "{b}");
                assert_eq!(b["error_description"], "Invalid otp_code.", "{b}");
                compared += 1;
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(b["error"], "too_many_attempts", "{b}");
                refused += 1;
            }
            other => panic!("{other}: {b}"),
        }
    }
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| s.as_u16()).collect();
    assert_eq!((compared, refused), (10, RACERS - 10), "{statuses:?}");
    let (s, b) = x.otp(&token, &code_now(&x.h)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(b["error"], "too_many_attempts");
    x.h.state().clock.advance(901);
    let token = x.mfa_token().await;
    let (s, b) = x.otp(&token, &code_now(&x.h)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    x.h.stop().await;
}

/// The hosted challenge page shares the count: wrong codes posted all at
/// once in one login transaction get no more than ten compared (a form
/// shown again, 400), the others refused (429), and then the right code too.
async fn racing_wrong_codes_on_the_hosted_page(backend: Backend) {
    use common::browser::Browser;
    const RACERS: usize = 40;
    let x = setup(backend).await;
    let (app_id, _) = x.web_app().await;
    let mut b = Browser::new(&x.h.base);
    let url = format!(
        "/authorize?response_type=code&client_id={app_id}&redirect_uri={}&scope=openid&state=s1",
        urlencoding::encode(CALLBACK)
    );
    let (_, state) = password_page(&mut b, &url, "otp@example.com").await;
    let page = format!("{}/u/mfa-otp-challenge?state={state}", x.h.base);
    let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let cookies = cookies.join("; ");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let wrong = wrong_code(&x.h);
    let post = |code: String| {
        let form = [("state", state.clone()), ("code", code)];
        http.post(&page)
            .header(reqwest::header::COOKIE, &cookies)
            .form(&form)
            .send()
    };
    let answers = futures_util::future::join_all((0..RACERS).map(|_| post(wrong.clone()))).await;
    let statuses: Vec<u16> = answers
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    let compared = statuses.iter().filter(|s| **s == 400).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((compared, refused), (10, RACERS - 10), "{statuses:?}");
    let right = post(code_now(&x.h)).await.unwrap();
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    x.h.stop().await;
}

/// Seeds are sealed in the database and never answered; a seed an earlier
/// version stored in clear is sealed at the next start and still works.
async fn seeds_are_sealed_at_rest(backend: Backend) {
    let x = setup(backend).await;
    let stored =
        x.h.state()
            .store
            .get_user(x.h.state().tid(), &x.user_id)
            .await
            .unwrap()
            .unwrap();
    let secret = stored.mfa_factors[0]["totp"]["secret"].as_str().unwrap();
    assert!(secret.starts_with("$tern-sealed$v1$"), "{secret}");
    assert!(!secret.contains(SEED));
    for path in [
        format!("/users/{}", x.user_id),
        format!("/users/{}/authentication-methods", x.user_id),
    ] {
        let (s, b) = x.h.api(&x.admin, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(!b.to_string().contains(SEED), "{path}: {b}");
        assert!(!b.to_string().contains("tern-sealed"), "{path}: {b}");
    }

    // As an earlier version left it: the seed in clear.
    let clear = vec![json!({"totp": {"secret": SEED}})];
    assert!(
        x.h.state()
            .store
            .replace_mfa_factors(x.h.state().tid(), &x.user_id, &stored.mfa_factors, &clear)
            .await
            .unwrap()
    );
    let x = Setup {
        h: x.h.restart(|_| {}).await,
        ..x
    };
    let after =
        x.h.state()
            .store
            .get_user(x.h.state().tid(), &x.user_id)
            .await
            .unwrap()
            .unwrap();
    let secret = after.mfa_factors[0]["totp"]["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("$tern-sealed$v1$"),
        "sealed at start: {secret}"
    );
    let token = x.mfa_token().await;
    let (s, b) = x.otp(&token, &code_now(&x.h)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    x.h.stop().await;
}

/// The hosted pages: after the password, `/u/mfa-otp-challenge` asks for
/// the code (the resume cannot skip it, a wrong code shows the form again),
/// and the code exchanged afterwards gives an ID token with `amr: ["mfa"]`.
async fn hosted_login_asks_for_the_code(backend: Backend) {
    use common::browser::Browser;
    let x = setup(backend).await;
    let (app_id, app_secret) = x.web_app().await;
    let mut b = Browser::new(&x.h.base);
    let url = format!(
        "/authorize?response_type=code&client_id={app_id}&redirect_uri={}&scope=openid%20email&state=s1",
        urlencoding::encode(CALLBACK)
    );
    let (posted, state) = password_page(&mut b, &url, "otp@example.com").await;
    assert_eq!(
        posted.location().as_deref(),
        Some(format!("/u/mfa-otp-challenge?state={state}").as_str())
    );
    // The resume cannot skip the code.
    let skipped = b.get(&format!("/authorize/resume?state={state}")).await;
    assert!(
        skipped
            .location()
            .unwrap()
            .starts_with("/u/mfa-otp-challenge"),
        "{:?}",
        skipped.location()
    );
    let form = b.follow(posted).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"code\""), "{}", form.body);
    let wrong = b
        .post_form(
            &format!("/u/mfa-otp-challenge?state={state}"),
            &[("state", &state), ("code", &wrong_code(&x.h))],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.body.contains("role=\"alert\""), "{}", wrong.body);
    let right = b
        .post_form(
            &format!("/u/mfa-otp-challenge?state={state}"),
            &[("state", &state), ("code", &code_now(&x.h))],
        )
        .await;
    assert_eq!(
        right.location().as_deref(),
        Some(format!("/authorize/resume?state={state}").as_str())
    );
    let back = b.follow(right).await;
    let code = back.location_param("code").expect("a code for the app");
    let id = x.id_token(&app_id, &app_secret, &code).await;
    assert_eq!(id["sub"], x.user_id.as_str());
    assert_eq!(id["amr"], json!(["mfa"]));

    // Signed in through the SSO session later: the session kept `mfa`.
    let again = b.get(&url).await;
    let code = again.location_param("code").expect("SSO: a code at once");
    let id = x.id_token(&app_id, &app_secret, &code).await;
    assert_eq!(id["amr"], json!(["mfa"]));
    x.h.stop().await;
}

#[test]
fn the_tests_base32_reads_rfc_4648_vectors() {
    assert_eq!(base32("MZXW6YTBOI"), b"foobar");
    assert_eq!(base32(SEED), SEED_BYTES);
}

/// The Guardian settings: Auth0's shapes and scopes; only what Tern can
/// enforce is accepted.
async fn guardian_settings(backend: Backend) {
    let x = setup(backend).await;
    let (s, b) =
        x.h.api(&x.admin, Method::GET, "/guardian/policies", None)
            .await;
    assert_eq!((s, b), (StatusCode::OK, json!([])));
    let (s, b) =
        x.h.api(&x.admin, Method::GET, "/guardian/factors", None)
            .await;
    assert_eq!(s, StatusCode::OK);
    let otp = b
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "otp")
        .unwrap();
    assert_eq!(otp["enabled"], false);
    for (path, body) in [
        ("/guardian/policies", json!(["confidence-score"])),
        ("/guardian/policies", json!({"policies": []})),
        ("/guardian/factors/sms", json!({"enabled": true})),
        (
            "/guardian/factors/carrier-pigeon",
            json!({"enabled": false}),
        ),
        ("/guardian/factors/otp", json!({"enabled": "yes"})),
        (
            "/guardian/factors/otp",
            json!({"enabled": true, "extra": 1}),
        ),
    ] {
        let (s, b) = x.h.api(&x.admin, Method::PUT, path, Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {b}");
        assert_eq!(b["statusCode"], 400, "{b}");
    }
    x.require_mfa().await;
    let (_, b) =
        x.h.api(&x.admin, Method::GET, "/guardian/factors", None)
            .await;
    let otp = b
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "otp")
        .unwrap();
    assert_eq!(otp["enabled"], true);
    let (_, b) =
        x.h.api(&x.admin, Method::GET, "/guardian/policies", None)
            .await;
    assert_eq!(b, json!(["all-applications"]));
    // Scopes as Auth0 names them.
    let i = &x.h.info;
    let reader =
        x.h.m2m_token(
            &i.client_id,
            &i.client_secret,
            &i.audience,
            Some("read:users"),
        )
        .await;
    for (method, path, body) in [
        (Method::GET, "/guardian/policies", None),
        (Method::PUT, "/guardian/policies", Some(json!([]))),
        (Method::GET, "/guardian/factors", None),
        (
            Method::PUT,
            "/guardian/factors/otp",
            Some(json!({"enabled": false})),
        ),
    ] {
        let (s, b) = x.h.api(&reader, method, path, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {b}");
    }
    x.h.stop().await;
}

/// `/authorize` at `start`, then the password of `email` on the hosted
/// login page; the answer to the password and the transaction's state.
async fn password_page(
    b: &mut common::browser::Browser,
    start: &str,
    email: &str,
) -> (common::browser::Answer, String) {
    let a = b.get(start).await;
    let page = b.follow(a).await;
    let state = common::browser::form_state(&page.body);
    let posted = b
        .post_form(
            &format!("/u/login?state={state}"),
            &[
                ("state", state.as_str()),
                ("username", email),
                ("password", PASSWORD),
            ],
        )
        .await;
    (posted, state)
}

/// The seed the enrolment page shows as text (grouped by four).
fn shown_secret(html: &str) -> String {
    let start = html.find("id=\"secret\">").expect("the key as text") + 12;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].replace(' ', "")
}

/// With the policy on, a user without an authenticator app enrols one on
/// the hosted pages after the password: QR code and key, a wrong first
/// code refused, the right one stores the enrolment sealed and finishes
/// the login with `amr: ["mfa"]`; the next login asks for a code.
async fn hosted_enrolment_when_required(backend: Backend) {
    use common::browser::Browser;
    let x = setup(backend).await;
    let (app_id, app_secret) = x.web_app().await;
    let start = format!(
        "/authorize?response_type=code&client_id={app_id}&redirect_uri={}&scope=openid%20email&state=s1",
        urlencoding::encode(CALLBACK)
    );
    // Without the policy, no question.
    let mut b = Browser::new(&x.h.base);
    let (posted, _) = password_page(&mut b, &start, "plain@example.com").await;
    assert!(
        posted.location().unwrap().starts_with("/authorize/resume"),
        "{:?}",
        posted.location()
    );

    x.require_mfa().await;
    let mut b = Browser::new(&x.h.base);
    let (posted, state) = password_page(&mut b, &start, "plain@example.com").await;
    let enrol_url = format!("/u/mfa-otp-enrollment-qr?state={state}");
    assert_eq!(posted.location().as_deref(), Some(enrol_url.as_str()));
    // Neither the resume nor the challenge page skips the enrolment.
    for path in [
        format!("/authorize/resume?state={state}"),
        format!("/u/mfa-otp-challenge?state={state}"),
    ] {
        let skipped = b.get(&path).await;
        assert_eq!(
            skipped.location().as_deref(),
            Some(enrol_url.as_str()),
            "{path}"
        );
    }
    let page = b.follow(posted).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<svg"), "a QR code: {}", page.body);
    let secret = shown_secret(&page.body);
    assert_eq!(base32(&secret).len(), 20, "160-bit seed: {secret}");
    // Not yet a factor: the seed waits, sealed, in the transaction.
    assert!(x.stored_factors("plain@example.com").await.is_empty());
    let stored = transaction_seed(&x, &state).await.expect("a seed");
    assert!(
        stored.starts_with("$tern-sealed$v1$") && !stored.contains(&secret),
        "{stored}"
    );
    // A reload shows the same key.
    let again = b.get(&enrol_url).await;
    assert_eq!(shown_secret(&again.body), secret);

    let seed = base32(&secret);
    let now = x.h.state().now();
    let valid: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|d| totp(&seed, now + d, 6))
        .collect();
    let wrong = (0..)
        .map(|i| format!("{:06}", (654_321 + i * 7919) % 1_000_000))
        .find(|c| !valid.contains(c))
        .unwrap();
    let refused = b
        .post_form(&enrol_url, &[("state", &state), ("code", &wrong)])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("role=\"alert\""));
    assert_eq!(
        shown_secret(&refused.body),
        secret,
        "same key after a wrong code"
    );
    assert!(x.stored_factors("plain@example.com").await.is_empty());

    let right = b
        .post_form(
            &enrol_url,
            &[("state", &state), ("code", &totp(&seed, now, 6))],
        )
        .await;
    assert_eq!(
        right.location().as_deref(),
        Some(format!("/authorize/resume?state={state}").as_str())
    );
    let back = b.follow(right).await;
    let code = back.location_param("code").expect("a code for the app");
    let id = x.id_token(&app_id, &app_secret, &code).await;
    assert_eq!(id["amr"], json!(["mfa"]));

    // Confirmed, still sealed; listed as a confirmed method without the seed.
    let factors = x.stored_factors("plain@example.com").await;
    assert_eq!(factors.len(), 1);
    assert!(factors[0]["totp"].get("pending").is_none(), "{factors:?}");
    let stored = factors[0]["totp"]["secret"].as_str().unwrap();
    assert!(stored.starts_with("$tern-sealed$v1$") && !stored.contains(&secret));
    let (s, b) =
        x.h.api(
            &x.admin,
            Method::GET,
            &format!(
                "/users/{}/authentication-methods",
                stored_user(&x, "plain@example.com").await
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b[0]["confirmed"], true, "{b}");

    // The next login asks for the app's code.
    x.h.state().clock.advance(30);
    let mut b = Browser::new(&x.h.base);
    let (posted, state) = password_page(&mut b, &start, "plain@example.com").await;
    assert_eq!(
        posted.location().as_deref(),
        Some(format!("/u/mfa-otp-challenge?state={state}").as_str())
    );
    let ok = b
        .post_form(
            &format!("/u/mfa-otp-challenge?state={state}"),
            &[
                ("state", &state),
                ("code", &totp(&seed, x.h.state().now(), 6)),
            ],
        )
        .await;
    assert!(ok.location().unwrap().starts_with("/authorize/resume"));
    x.h.stop().await;
}

/// `/authorize` for the web app (`app_id`) on the hosted pages.
fn start_url(app_id: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={app_id}&redirect_uri={}&scope=openid%20email&state=s1",
        urlencoding::encode(CALLBACK)
    )
}

fn enrol_url(state: &str) -> String {
    format!("/u/mfa-otp-enrollment-qr?state={state}")
}

fn challenge_url(state: &str) -> String {
    format!("/u/mfa-otp-challenge?state={state}")
}

/// A new browser that passed the password of plain@example.com (who has
/// no factor) while the policy requires one: its transaction is at the
/// enrolment step (the page not opened yet).
async fn at_enrolment(x: &Setup, start: &str) -> (common::browser::Browser, String) {
    let mut b = common::browser::Browser::new(&x.h.base);
    let (posted, state) = password_page(&mut b, start, "plain@example.com").await;
    assert_eq!(posted.location(), Some(enrol_url(&state)));
    (b, state)
}

/// Where a stored transaction stands.
async fn transaction_step(x: &Setup, state: &str) -> tern_core::login_transaction::TransactionStep {
    let st = x.h.state();
    st.store
        .get_login_transaction(st.tid(), state)
        .await
        .unwrap()
        .expect("the transaction")
        .step
}

/// The sealed seed a transaction at the enrolment step holds.
async fn transaction_seed(x: &Setup, state: &str) -> Option<String> {
    match transaction_step(x, state).await {
        tern_core::login_transaction::TransactionStep::MfaOtpEnrol { seed, .. } => seed,
        other => panic!("not at the enrolment step: {other:?}"),
    }
}

/// The code of the Base32 `secret` at `t`.
fn code_of(secret: &str, t: i64) -> String {
    totp(&base32(secret), t, 6)
}

/// The user's factors are exactly one confirmed TOTP enrolment.
fn one_confirmed(factors: &[Value]) {
    assert_eq!(factors.len(), 1, "{factors:?}");
    assert!(factors[0]["totp"]["secret"].is_string(), "{factors:?}");
    assert!(factors[0]["totp"].get("pending").is_none(), "{factors:?}");
}

/// A transaction that reached the enrolment step while the user had no
/// factor (an attacker who knows only the password) is no way to add one
/// once the user has enrolled: its enrolment page and its confirmation send
/// it to the challenge instead, which only the user's app passes; no
/// second factor is stored.
async fn a_stale_enrolment_transaction_is_sent_to_the_challenge(backend: Backend) {
    let x = setup(backend).await;
    let (app_id, app_secret) = x.web_app().await;
    let start = start_url(&app_id);
    x.require_mfa().await;
    // Two attackers with the password: one keeps the transaction without
    // opening the page, one opens the page (and sees a seed).
    let (mut quiet, quiet_state) = at_enrolment(&x, &start).await;
    let (mut early, early_state) = at_enrolment(&x, &start).await;
    let page = early.get(&enrol_url(&early_state)).await;
    assert_eq!(page.status, StatusCode::OK);
    let early_secret = shown_secret(&page.body);

    // The user enrols their own app in their own browser.
    let (mut user, user_state) = at_enrolment(&x, &start).await;
    let page = user.get(&enrol_url(&user_state)).await;
    let user_secret = shown_secret(&page.body);
    assert_ne!(user_secret, early_secret, "each transaction its own seed");
    let now = x.h.state().now();
    let done = user
        .post_form(
            &enrol_url(&user_state),
            &[
                ("state", &user_state),
                ("code", &code_of(&user_secret, now)),
            ],
        )
        .await;
    assert_eq!(
        done.location(),
        Some(format!("/authorize/resume?state={user_state}"))
    );
    let back = user.follow(done).await;
    assert!(
        back.location_param("code").is_some(),
        "{:?}",
        back.location()
    );
    one_confirmed(&x.stored_factors("plain@example.com").await);

    // The attacker who saw a seed posts its code: nothing is enrolled, the
    // transaction is at the challenge now.
    x.h.state().clock.advance(30);
    let now = x.h.state().now();
    let posted = early
        .post_form(
            &enrol_url(&early_state),
            &[
                ("state", &early_state),
                ("code", &code_of(&early_secret, now)),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    assert_eq!(posted.location(), Some(challenge_url(&early_state)));
    assert!(matches!(
        transaction_step(&x, &early_state).await,
        tern_core::login_transaction::TransactionStep::MfaOtp { .. }
    ));
    // The challenge wants the user's app; the attacker's seed is nothing.
    let refused = early
        .post_form(
            &challenge_url(&early_state),
            &[
                ("state", &early_state),
                ("code", &code_of(&early_secret, now)),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let resume = early
        .get(&format!("/authorize/resume?state={early_state}"))
        .await;
    assert_eq!(resume.location(), Some(challenge_url(&early_state)));
    assert!(resume.location_param("code").is_none());

    // The quiet attacker opens the enrolment page: no page, no new seed.
    let page = quiet.get(&enrol_url(&quiet_state)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), Some(challenge_url(&quiet_state)));
    assert!(!page.body.contains("id=\"secret\""));
    let challenge = quiet.follow(page).await;
    assert_eq!(challenge.status, StatusCode::OK);
    assert!(challenge.body.contains("name=\"code\""));
    assert!(!challenge.body.contains("id=\"secret\""));
    one_confirmed(&x.stored_factors("plain@example.com").await);

    // The moved transaction is an ordinary challenge: the user's app's code
    // passes it (as it would a tab the user left open), with `mfa`.
    let passed = quiet
        .post_form(
            &challenge_url(&quiet_state),
            &[
                ("state", &quiet_state),
                ("code", &code_of(&user_secret, now)),
            ],
        )
        .await;
    assert_eq!(
        passed.location(),
        Some(format!("/authorize/resume?state={quiet_state}"))
    );
    let back = quiet.follow(passed).await;
    let code = back.location_param("code").expect("a code for the app");
    let id = x.id_token(&app_id, &app_secret, &code).await;
    assert_eq!(id["amr"], json!(["mfa"]));
    one_confirmed(&x.stored_factors("plain@example.com").await);
    x.h.stop().await;
}

/// A transaction waiting at the challenge whose user's factor an
/// administrator deleted (a lost phone) has no code to ask for: its pages
/// send it to enrolment, as a new login would, and the new app's first
/// code finishes the login with `mfa`.
async fn a_challenge_without_a_factor_moves_to_enrolment(backend: Backend) {
    use common::browser::Browser;
    let x = setup(backend).await;
    let (app_id, app_secret) = x.web_app().await;
    x.require_mfa().await;
    let mut b = Browser::new(&x.h.base);
    let (posted, state) = password_page(&mut b, &start_url(&app_id), "otp@example.com").await;
    assert_eq!(posted.location(), Some(challenge_url(&state)));
    let (_, list) =
        x.h.api(
            &x.admin,
            Method::GET,
            &format!("/users/{}/enrollments", x.user_id),
            None,
        )
        .await;
    let id = list[0]["id"].as_str().unwrap().to_string();
    let (s, _) =
        x.h.api(
            &x.admin,
            Method::DELETE,
            &format!("/guardian/enrollments/{}", urlencoding::encode(&id)),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // The old app's code is no use; the page moves to enrolment.
    let posted = b
        .post_form(
            &challenge_url(&state),
            &[("state", &state), ("code", &code_now(&x.h))],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    assert_eq!(posted.location(), Some(enrol_url(&state)));
    let challenge = b.get(&challenge_url(&state)).await;
    assert_eq!(challenge.location(), Some(enrol_url(&state)));
    let page = b.get(&enrol_url(&state)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let secret = shown_secret(&page.body);
    let now = x.h.state().now();
    let done = b
        .post_form(
            &enrol_url(&state),
            &[("state", &state), ("code", &code_of(&secret, now))],
        )
        .await;
    assert_eq!(
        done.location(),
        Some(format!("/authorize/resume?state={state}"))
    );
    let back = b.follow(done).await;
    let code = back.location_param("code").expect("a code for the app");
    let id = x.id_token(&app_id, &app_secret, &code).await;
    assert_eq!(id["amr"], json!(["mfa"]));
    one_confirmed(&x.stored_factors("otp@example.com").await);
    x.h.stop().await;
}

/// The seed an enrolment page shows is its transaction's: two open
/// enrolments of one user show different seeds, a code of one is refused
/// by the other, and the API's pending enrolment (`/mfa/associate`) is
/// neither shown nor confirmed by the hosted pages.
async fn enrolment_seeds_belong_to_their_transaction(backend: Backend) {
    let x = setup(backend).await;
    let (app_id, _) = x.web_app().await;
    let start = start_url(&app_id);
    x.require_mfa().await;
    let (mut one, one_state) = at_enrolment(&x, &start).await;
    let first = shown_secret(&one.get(&enrol_url(&one_state)).await.body);
    let (mut two, two_state) = at_enrolment(&x, &start).await;
    let second = shown_secret(&two.get(&enrol_url(&two_state)).await.body);
    assert_ne!(first, second, "one seed per transaction");
    // Each keeps its own.
    assert_eq!(
        shown_secret(&one.get(&enrol_url(&one_state)).await.body),
        first
    );
    assert_eq!(
        shown_secret(&two.get(&enrol_url(&two_state)).await.body),
        second
    );
    let now = x.h.state().now();
    let refused = two
        .post_form(
            &enrol_url(&two_state),
            &[("state", &two_state), ("code", &code_of(&first, now))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(shown_secret(&refused.body), second);
    assert!(x.stored_factors("plain@example.com").await.is_empty());

    // An enrolment started through the API stays the API's.
    let (s, b) = x.password("plain@example.com").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let token = b["mfa_token"].as_str().unwrap().to_string();
    let r =
        x.h.http
            .post(format!("{}/mfa/associate", x.h.base))
            .bearer_auth(&token)
            .json(&json!({"authenticator_types": ["otp"]}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let api: Value = r.json().await.unwrap();
    let api_secret = api["secret"].as_str().unwrap().to_string();
    let (mut three, three_state) = at_enrolment(&x, &start).await;
    let third = shown_secret(&three.get(&enrol_url(&three_state)).await.body);
    assert_ne!(third, api_secret, "the page does not show the API's seed");
    let refused = two
        .post_form(
            &enrol_url(&two_state),
            &[("state", &two_state), ("code", &code_of(&api_secret, now))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    // The first transaction's own seed confirms there.
    let done = one
        .post_form(
            &enrol_url(&one_state),
            &[("state", &one_state), ("code", &code_of(&first, now))],
        )
        .await;
    assert_eq!(
        done.location(),
        Some(format!("/authorize/resume?state={one_state}"))
    );
    // One factor, the API's pending enrolment gone with it.
    one_confirmed(&x.stored_factors("plain@example.com").await);
    x.h.state().clock.advance(30);
    let later = x.h.state().now();
    let (s, b) = x.otp(&token, &code_of(&api_secret, later)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    // The other transactions ask for the code of the app enrolled.
    for (b, state) in [(&mut two, &two_state), (&mut three, &three_state)] {
        let page = b.get(&enrol_url(state)).await;
        assert_eq!(page.location(), Some(challenge_url(state)));
    }
    let passed = two
        .post_form(
            &challenge_url(&two_state),
            &[("state", &two_state), ("code", &code_of(&first, later))],
        )
        .await;
    assert_eq!(
        passed.location(),
        Some(format!("/authorize/resume?state={two_state}"))
    );
    one_confirmed(&x.stored_factors("plain@example.com").await);
    x.h.state().clock.advance(30);
    let (s, b) = x.otp(&token, &code_of(&first, x.h.state().now())).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the API's login takes the enrolled app: {b}"
    );
    x.h.stop().await;
}

/// Behind a trusted proxy the hosted MFA pages log the end user's address
/// (`X-Forwarded-For`), as every other hosted page does.
async fn hosted_mfa_logs_the_forwarded_address(backend: Backend) {
    let x = setup_with(backend, |c| {
        c.http.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let (app_id, _) = x.web_app().await;
    let start = start_url(&app_id);
    let forwarded = |b: &mut common::browser::Browser| {
        b.headers
            .insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
    };
    // The challenge: a wrong code, then the right one.
    let mut b = common::browser::Browser::new(&x.h.base);
    forwarded(&mut b);
    let (_, state) = password_page(&mut b, &start, "otp@example.com").await;
    let wrong = b
        .post_form(
            &challenge_url(&state),
            &[("state", &state), ("code", &wrong_code(&x.h))],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let right = b
        .post_form(
            &challenge_url(&state),
            &[("state", &state), ("code", &code_now(&x.h))],
        )
        .await;
    assert!(right.location().unwrap().starts_with("/authorize/resume"));
    // The enrolment.
    x.require_mfa().await;
    let (mut b, state) = {
        let mut b = common::browser::Browser::new(&x.h.base);
        forwarded(&mut b);
        let (_, state) = password_page(&mut b, &start, "plain@example.com").await;
        (b, state)
    };
    let secret = shown_secret(&b.get(&enrol_url(&state)).await.body);
    let done = b
        .post_form(
            &enrol_url(&state),
            &[
                ("state", &state),
                ("code", &code_of(&secret, x.h.state().now())),
            ],
        )
        .await;
    assert!(done.location().unwrap().starts_with("/authorize/resume"));
    for kind in [
        "gd_auth_failed",
        "gd_auth_succeed",
        "gd_enrollment_complete",
    ] {
        let (s, logs) =
            x.h.api(&x.admin, Method::GET, &format!("/logs?q=type:{kind}"), None)
                .await;
        assert_eq!(s, StatusCode::OK, "{logs}");
        let events = logs.as_array().unwrap();
        assert!(!events.is_empty(), "{kind}: {logs}");
        for e in events {
            assert_eq!(e["ip"], "203.0.113.7", "{kind}: {e}");
        }
    }
    x.h.stop().await;
}

/// Auth0's MFA API for applications that enrol users themselves: the
/// password grant answers `mfa_required`, `/mfa/challenge` asks for an
/// association, `/mfa/associate` gives a seed, the mfa-otp grant with its
/// first code confirms it and gives tokens, a refresh token included.
async fn associate_through_the_api(backend: Backend) {
    let x = setup(backend).await;
    x.h.api(
        &x.admin,
        Method::PATCH,
        &format!("/clients/{}", x.client_id),
        Some(json!({"grant_types": ["password", "http://auth0.com/oauth/grant-type/password-realm", MFA_OTP, "refresh_token"]})),
    )
    .await;
    x.require_mfa().await;
    let ask = || {
        x.h.token(json!({
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "realm": "Username-Password-Authentication",
            "client_id": x.client_id, "client_secret": x.secret,
            "username": "plain@example.com", "password": PASSWORD,
            "scope": "openid email offline_access",
        }))
    };
    let (s, b) = ask().await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("mfa_required")),
        "{b}"
    );
    assert_eq!(
        b["mfa_requirements"],
        json!({"enroll": [{"type": "otp"}]}),
        "{b}"
    );
    let token = b["mfa_token"].as_str().unwrap().to_string();
    let r = x
        .h
        .http
        .post(format!("{}/mfa/challenge", x.h.base))
        .json(&json!({"client_id": x.client_id, "client_secret": x.secret, "mfa_token": token, "challenge_type": "otp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "association_required"
    );
    // The grant has nothing to check yet.
    let (s, _) = x.otp(&token, "123456").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let associate = |body: Value, bearer: Option<String>| {
        let mut r =
            x.h.http
                .post(format!("{}/mfa/associate", x.h.base))
                .json(&body);
        if let Some(t) = bearer {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let r = associate(json!({"authenticator_types": ["otp"]}), None)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = associate(json!({"authenticator_types": ["oob"]}), Some(token.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = associate(
        json!({"authenticator_types": ["otp"]}),
        Some("not-a-token".into()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = associate(json!({"authenticator_types": ["otp"]}), Some(token.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["authenticator_type"], "otp");
    let secret = a["secret"].as_str().unwrap().to_string();
    let uri = a["barcode_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")),
        "{uri}"
    );
    let stored = x.stored_factors("plain@example.com").await;
    assert!(
        !serde_json::to_string(&stored).unwrap().contains(&secret),
        "sealed: {stored:?}"
    );

    let r =
        x.h.http
            .get(format!("{}/mfa/authenticators", x.h.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
    let list: Value = r.json().await.unwrap();
    assert_eq!(list[0]["active"], false, "pending: {list}");

    let seed = base32(&secret);
    let now = x.h.state().now();
    let valid: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|d| totp(&seed, now + d, 6))
        .collect();
    let wrong = (0..)
        .map(|i| format!("{:06}", (111_111 + i * 7919) % 1_000_000))
        .find(|c| !valid.contains(c))
        .unwrap();
    let (s, b) = x.otp(&token, &wrong).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{b}"
    );
    let (s, b) = x.otp(&token, &totp(&seed, now, 6)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        claims(b["id_token"].as_str().unwrap())["amr"],
        json!(["mfa"])
    );
    let refresh = b["refresh_token"]
        .as_str()
        .expect("offline_access: a refresh token");
    let (s, r) = x
        .h
        .token(json!({"grant_type": "refresh_token", "client_id": x.client_id, "client_secret": x.secret, "refresh_token": refresh}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    // The refreshed ID token says how the user logged in: the same `amr`
    // and `auth_time` as the login's, even once the clock has moved on.
    let first = claims(b["id_token"].as_str().unwrap());
    let refreshed = claims(r["id_token"].as_str().unwrap());
    assert_eq!(refreshed["amr"], json!(["mfa"]), "{refreshed}");
    assert_eq!(refreshed["auth_time"], first["auth_time"], "{refreshed}");
    x.h.state().clock.advance(120);
    let (s, r2) = x
        .h
        .token(json!({"grant_type": "refresh_token", "client_id": x.client_id, "client_secret": x.secret, "refresh_token": r["refresh_token"].as_str().unwrap_or(refresh)}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r2}");
    let later = claims(r2["id_token"].as_str().unwrap());
    assert_eq!(later["amr"], json!(["mfa"]), "{later}");
    assert_eq!(later["auth_time"], first["auth_time"], "{later}");
    assert!(later["iat"].as_i64() > first["iat"].as_i64(), "{later}");

    // Enrolled now: a second association is refused, the challenge works.
    let (_, b) = ask().await;
    let token = b["mfa_token"].as_str().unwrap().to_string();
    let r = associate(json!({"authenticator_types": ["otp"]}), Some(token.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (s, b) =
        x.h.api(
            &x.admin,
            Method::GET,
            &format!(
                "/users/{}/authentication-methods",
                stored_user(&x, "plain@example.com").await
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b[0]["confirmed"], true, "{b}");
    x.h.state().clock.advance(30);
    let (s, b) = x.otp(&token, &totp(&seed, x.h.state().now(), 6)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    x.h.stop().await;
}

/// Step-up: a session opened with the password alone, before the Guardian
/// policy required a factor, gets no code at the next `/authorize` — the
/// enrolment page asks for the factor first, `prompt=none` answers
/// `interaction_required`; once passed, the new session carries `mfa`.
async fn policy_turning_on_steps_up_password_sessions(backend: Backend) {
    use common::browser::Browser;
    let x = setup(backend).await;
    let (app_id, app_secret) = x.web_app().await;
    let start = format!(
        "/authorize?response_type=code&client_id={app_id}&redirect_uri={}&scope=openid%20email&state=s1",
        urlencoding::encode(CALLBACK)
    );
    let mut b = Browser::new(&x.h.base);
    let (posted, _) = password_page(&mut b, &start, "plain@example.com").await;
    let back = b.follow(posted).await;
    assert!(
        back.location_param("code").is_some(),
        "{:?}",
        back.location()
    );
    // The session answers at once while no factor is required.
    let again = b.get(&start).await;
    assert!(
        again.location_param("code").is_some(),
        "{:?}",
        again.location()
    );

    x.require_mfa().await;
    let silent = b.get(&format!("{start}&prompt=none")).await;
    assert_eq!(
        silent.location_param("error").as_deref(),
        Some("interaction_required"),
        "{:?}",
        silent.location()
    );
    assert!(silent.location_param("code").is_none());
    let stepped = b.get(&start).await;
    let location = stepped.location().unwrap_or_default();
    assert!(
        location.starts_with("/u/mfa-otp-enrollment-qr?state="),
        "{location}"
    );
    // The resume of that transaction cannot skip the factor either.
    let state = location.rsplit("state=").next().unwrap().to_string();
    let skipped = b.get(&format!("/authorize/resume?state={state}")).await;
    assert!(
        skipped
            .location()
            .unwrap_or_default()
            .starts_with("/u/mfa-otp-enrollment-qr"),
        "{:?}",
        skipped.location()
    );
    let form = b.follow(stepped).await;
    let seed = base32(&shown_secret(&form.body));
    let done = b
        .post_form(
            &format!("/u/mfa-otp-enrollment-qr?state={state}"),
            &[
                ("state", state.as_str()),
                ("code", &totp(&seed, x.h.state().now(), 6)),
            ],
        )
        .await;
    assert_eq!(
        done.location().as_deref(),
        Some(format!("/authorize/resume?state={state}").as_str()),
        "{}",
        done.body
    );
    let back = b.follow(done).await;
    let code = back
        .location_param("code")
        .expect("a code after the factor");
    let id = x.id_token(&app_id, &app_secret, &code).await;
    assert_eq!(id["amr"], json!(["mfa"]));
    // The stepped-up session now serves silently.
    let silent = b.get(&format!("{start}&prompt=none")).await;
    assert!(
        silent.location_param("code").is_some(),
        "{:?}",
        silent.location()
    );
    x.h.stop().await;
}

/// Auth0's Guardian enrollment endpoints: the imported TOTP enrolment is
/// listed (no seed), read by id, and deleted — after which the password
/// alone signs the user in again (no policy asks for a factor); each
/// endpoint asks for Auth0's scope.
async fn enrollments_are_listed_read_and_deleted(backend: Backend) {
    let x = setup(backend).await;
    let (s, list) =
        x.h.api(
            &x.admin,
            Method::GET,
            &format!("/users/{}/enrollments", x.user_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 1, "{list:?}");
    let e = &list[0];
    assert_eq!(e["status"], "confirmed");
    assert_eq!(e["type"], "totp");
    assert_eq!(e["auth_method"], "authenticator");
    assert!(!e.to_string().contains(SEED), "no seed: {e}");
    let id = e["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("totp|dev_"), "{id}");
    // One id for the factor wherever it is listed.
    let (_, methods) =
        x.h.api(
            &x.admin,
            Method::GET,
            &format!("/users/{}/authentication-methods", x.user_id),
            None,
        )
        .await;
    assert_eq!(methods[0]["id"], id.as_str(), "{methods}");
    let plain = stored_user(&x, "plain@example.com").await;
    let (s, none) =
        x.h.api(
            &x.admin,
            Method::GET,
            &format!("/users/{plain}/enrollments"),
            None,
        )
        .await;
    assert_eq!((s, none), (StatusCode::OK, json!([])));
    let (s, b) =
        x.h.api(
            &x.admin,
            Method::GET,
            "/users/auth0%7Cnobody/enrollments",
            None,
        )
        .await;
    assert_eq!(
        (s, b["errorCode"].as_str()),
        (StatusCode::NOT_FOUND, Some("inexistent_user"))
    );

    let path = format!("/guardian/enrollments/{}", urlencoding::encode(&id));
    let (s, one) = x.h.api(&x.admin, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert_eq!(one["id"], id.as_str());
    assert_eq!(one["status"], "confirmed");
    assert!(one.get("type").is_none(), "Auth0's shape: {one}");
    let (s, b) =
        x.h.api(
            &x.admin,
            Method::GET,
            "/guardian/enrollments/not-an-id",
            None,
        )
        .await;
    assert_eq!(
        (s, b["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_uri")),
        "{b}"
    );
    // Well-formed, but of another user: nothing.
    let forged = id.replace(&id[9..25], "0000000000000000");
    let (s, _) =
        x.h.api(
            &x.admin,
            Method::GET,
            &format!("/guardian/enrollments/{}", urlencoding::encode(&forged)),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Scopes as Auth0's: read:users lists, read:guardian_enrollments reads,
    // delete:guardian_enrollments deletes.
    let info = &x.h.info;
    let readers =
        x.h.m2m_token(
            &info.client_id,
            &info.client_secret,
            &info.audience,
            Some("read:users read:guardian_enrollments"),
        )
        .await;
    let (s, _) = x.h.api(&readers, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = x.h.api(&readers, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let users_only =
        x.h.m2m_token(
            &info.client_id,
            &info.client_secret,
            &info.audience,
            Some("read:users"),
        )
        .await;
    let (s, _) = x.h.api(&users_only, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) =
        x.h.api(
            &users_only,
            Method::GET,
            &format!("/users/{}/enrollments", x.user_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Before: the password alone is not enough.
    let (s, _) = x.password("otp@example.com").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = x.h.api(&x.admin, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert!(x.stored_factors("otp@example.com").await.is_empty());
    let (s, _) = x.h.api(&x.admin, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = x.h.api(&x.admin, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, list) =
        x.h.api(
            &x.admin,
            Method::GET,
            &format!("/users/{}/enrollments", x.user_id),
            None,
        )
        .await;
    assert_eq!((s, list), (StatusCode::OK, json!([])));
    let (s, b) = x.password("otp@example.com").await;
    assert_eq!(s, StatusCode::OK, "no factor left: {b}");
    x.h.stop().await;
}

/// `/users/{id}/authentication-methods/{id}` reads and removes one method
/// of that user only; `DELETE /users/{id}/authenticators` and
/// `/authentication-methods` remove all (a lost device), each under its
/// own scope, after which the password alone signs in again.
async fn authentication_methods_are_removed_one_or_all(backend: Backend) {
    let x = setup(backend).await;
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    x.h.import_rows(
        &x.admin,
        &json!([{"email": "two@example.com", "email_verified": true, "password_hash": hash,
            "mfa_factors": [{"totp": {"secret": SEED}}, {"phone": {"value": "+15550100"}}]}]),
    )
    .await;
    let two = stored_user(&x, "two@example.com").await;
    let plain = stored_user(&x, "plain@example.com").await;
    let methods_of = |user: &str| {
        format!(
            "/users/{}/authentication-methods",
            urlencoding::encode(user)
        )
    };
    let (_, list) =
        x.h.api(&x.admin, Method::GET, &methods_of(&two), None)
            .await;
    let ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{list}");
    let phone = ids.iter().find(|i| i.starts_with("sms|")).unwrap().clone();
    let one = |user: &str| format!("{}/{}", methods_of(user), urlencoding::encode(&phone));

    let (s, m) = x.h.api(&x.admin, Method::GET, &one(&two), None).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(
        (m["id"].as_str(), m["phone_number"].as_str()),
        (Some(phone.as_str()), Some("+15550100"))
    );
    // Another user's path does not reach it.
    for method in [Method::GET, Method::DELETE] {
        let (s, b) = x.h.api(&x.admin, method, &one(&plain), None).await;
        assert_eq!(
            (s, b["errorCode"].as_str()),
            (
                StatusCode::NOT_FOUND,
                Some("inexistent_authentication_method")
            ),
            "{b}"
        );
    }
    let (s, b) =
        x.h.api(&x.admin, Method::DELETE, &one("auth0|nobody"), None)
            .await;
    assert_eq!(
        (s, b["errorCode"].as_str()),
        (StatusCode::NOT_FOUND, Some("inexistent_user")),
        "{b}"
    );
    assert_eq!(x.stored_factors("two@example.com").await.len(), 2);

    // One removed, under delete:authentication_methods.
    let info = &x.h.info;
    let token = |scope: &'static str| {
        x.h.m2m_token(
            &info.client_id,
            &info.client_secret,
            &info.audience,
            Some(scope),
        )
    };
    let reader = token("read:authentication_methods").await;
    let (s, _) = x.h.api(&reader, Method::DELETE, &one(&two), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let methods_deleter = token("delete:authentication_methods").await;
    let (s, b) =
        x.h.api(&methods_deleter, Method::DELETE, &one(&two), None)
            .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let left = x.stored_factors("two@example.com").await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].get("totp").is_some(), "{left:?}");
    let (s, _) = x.h.api(&x.admin, Method::GET, &one(&two), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // All removed, under Guardian's scope; again is still a 204.
    let authenticators = format!("/users/{}/authenticators", urlencoding::encode(&two));
    let (s, _) =
        x.h.api(&methods_deleter, Method::DELETE, &authenticators, None)
            .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another scope");
    let guardian = token("delete:guardian_enrollments").await;
    for _ in 0..2 {
        let (s, b) =
            x.h.api(&guardian, Method::DELETE, &authenticators, None)
                .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }
    assert!(x.stored_factors("two@example.com").await.is_empty());
    let (s, b) =
        x.h.api(
            &guardian,
            Method::DELETE,
            "/users/auth0%7Cnobody/authenticators",
            None,
        )
        .await;
    assert_eq!(
        (s, b["errorCode"].as_str()),
        (StatusCode::NOT_FOUND, Some("inexistent_user")),
        "{b}"
    );

    // The setup's user: the password alone is refused until its methods go.
    let (s, _) = x.password("otp@example.com").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) =
        x.h.api(
            &methods_deleter,
            Method::DELETE,
            &methods_of(&x.user_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert!(x.stored_factors("otp@example.com").await.is_empty());
    let (s, b) = x.password("otp@example.com").await;
    assert_eq!(s, StatusCode::OK, "no factor left: {b}");
    x.h.stop().await;
}

async fn stored_user(x: &Setup, email: &str) -> String {
    let (_, users) =
        x.h.api(
            &x.admin,
            Method::GET,
            &format!("/users-by-email?email={email}"),
            None,
        )
        .await;
    users[0]["user_id"].as_str().unwrap().to_string()
}

/// Delete the user `user_id` and create another with the same id, in a
/// later second than anything issued so far (creation is compared with what
/// was issued in whole seconds, on the wall clock).
async fn reuse_the_id(x: &Setup, user_id: &str, email: &str) {
    let (s, b) =
        x.h.api(
            &x.admin,
            Method::DELETE,
            &format!("/users/{}", urlencoding::encode(user_id)),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let local_id = user_id.split_once('|').unwrap().1;
    let (s, b) =
        x.h.api(
            &x.admin,
            Method::POST,
            "/users",
            Some(
                json!({"connection": "Username-Password-Authentication", "user_id": local_id,
                        "email": email, "password": PASSWORD}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["user_id"], user_id, "{b}");
}

/// `/mfa/associate` then `/mfa/authenticators` with `token`, each refused
/// with 403; their answers.
async fn associate_and_list(x: &Setup, token: &str) -> [Value; 2] {
    let associate =
        x.h.http
            .post(format!("{}/mfa/associate", x.h.base))
            .bearer_auth(token)
            .json(&json!({"authenticator_types": ["otp"]}));
    let list =
        x.h.http
            .get(format!("{}/mfa/authenticators", x.h.base))
            .bearer_auth(token);
    let mut out = [Value::Null, Value::Null];
    for (slot, req) in out.iter_mut().zip([associate, list]) {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        *slot = r.json().await.unwrap();
    }
    out
}

/// An mfa_token issued to a user who was then deleted does not pass to the
/// next user given the same id: associating, listing, challenging and the
/// mfa-otp grant all refuse it.
async fn a_pending_login_does_not_pass_to_a_reused_id(backend: Backend) {
    let x = setup(backend).await;
    let token = x.mfa_token().await;
    reuse_the_id(&x, &x.user_id, "victim@example.com").await;
    let gone = |b: &Value| {
        assert_eq!(b["error"], "invalid_grant", "{b}");
        assert_eq!(
            b["error_description"], "The user no longer exists or is blocked.",
            "{b}"
        );
    };
    for b in associate_and_list(&x, &token).await {
        gone(&b);
    }
    let r =
        x.h.http
            .post(format!("{}/mfa/challenge", x.h.base))
            .json(&json!({"client_id": x.client_id, "client_secret": x.secret,
                          "mfa_token": token, "challenge_type": "otp"}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    gone(&r.json().await.unwrap());
    let (s, b) = x.otp(&token, &code_now(&x.h)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    gone(&b);
    x.h.stop().await;
}

/// A hosted login waiting for a factor whose user was deleted and the id
/// given to another ends: the page refuses, and the transaction is gone.
async fn a_hosted_factor_step_does_not_pass_to_a_reused_id(backend: Backend) {
    let x = setup(backend).await;
    let (app_id, _) = x.web_app().await;
    x.require_mfa().await;
    let (mut b, state) = at_enrolment(&x, &start_url(&app_id)).await;
    let user_id = stored_user(&x, "plain@example.com").await;
    reuse_the_id(&x, &user_id, "victim@example.com").await;
    let page = b.get(&enrol_url(&state)).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    assert!(!page.body.contains("<svg"), "no enrolment: {}", page.body);
    let st = x.h.state();
    let left = st
        .store
        .get_login_transaction(st.tid(), &state)
        .await
        .unwrap();
    assert!(left.is_none(), "the transaction ended: {left:?}");
    x.h.stop().await;
}

/// The mfa_token of a deleted application opens nothing: associating and
/// listing (which name no client) refuse it.
async fn a_deleted_applications_mfa_token_is_refused(backend: Backend) {
    let x = setup(backend).await;
    let token = x.mfa_token().await;
    let (s, b) =
        x.h.api(
            &x.admin,
            Method::DELETE,
            &format!("/clients/{}", x.client_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let gone = |b: &Value| {
        assert_eq!(b["error"], "invalid_grant", "{b}");
        assert_eq!(
            b["error_description"],
            "The application this mfa_token was issued to no longer exists.",
            "{b}"
        );
    };
    for b in associate_and_list(&x, &token).await {
        gone(&b);
    }
    x.h.stop().await;
}

both_backends!(
    a_deleted_applications_mfa_token_is_refused,
    a_pending_login_does_not_pass_to_a_reused_id,
    a_hosted_factor_step_does_not_pass_to_a_reused_id,
    a_stale_enrolment_transaction_is_sent_to_the_challenge,
    a_challenge_without_a_factor_moves_to_enrolment,
    enrolment_seeds_belong_to_their_transaction,
    hosted_mfa_logs_the_forwarded_address,
    enrollments_are_listed_read_and_deleted,
    authentication_methods_are_removed_one_or_all,
    policy_turning_on_steps_up_password_sessions,
    guardian_settings,
    hosted_enrolment_when_required,
    associate_through_the_api,
    hosted_login_asks_for_the_code,
    password_grant_then_otp_gives_tokens,
    codes_and_tokens_are_single_purpose,
    wrong_codes_are_limited,
    racing_wrong_codes_are_limited,
    racing_wrong_codes_on_the_hosted_page,
    seeds_are_sealed_at_rest,
);
