#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Refresh tokens on both backends: issued for `offline_access` by the code
//! and password grants where client and API allow it; the `refresh_token`
//! grant with rotation, the reuse leeway, family revocation on reuse, idle
//! and absolute expiry (the injectable clock); `POST /oauth/revoke`;
//! `/userinfo` for refreshed tokens; CORS on the endpoints a SPA calls.
//! Real HTTP; the hosted login page driven by `common::browser`.

mod common;

use common::browser::{Browser, claims, form_state};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CALLBACK: &str = "https://app.example/callback";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";
const API: &str = "https://api.example/";

struct App {
    id: String,
    secret: String,
}

/// An application with the default connection enabled; `extra` overrides
/// the body (e.g. its `refresh_token` settings).
async fn app(h: &Harness, t: &str, extra: Value) -> App {
    let mut body = json!({
        "name": "Web",
        "app_type": "regular_web",
        "callbacks": [CALLBACK],
        "allowed_origins": ["https://spa.example"],
        "web_origins": ["https://*.preview.example"],
        "grant_types": ["authorization_code", "refresh_token", "password"],
        "token_endpoint_auth_method": "client_secret_post",
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

fn rotating(leeway: i64) -> Value {
    json!({"refresh_token": {
        "rotation_type": "rotating", "expiration_type": "expiring", "leeway": leeway,
        "token_lifetime": 1000, "idle_token_lifetime": 100,
    }})
}

async fn api(h: &Harness, t: &str, offline: bool) {
    let (s, b) = h
        .api(
            t,
            Method::POST,
            "/resource-servers",
            Some(
                json!({"name": "Things", "identifier": API, "allow_offline_access": offline,
                        "scopes": [{"value": "read:things", "description": "Read"}]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

/// The code flow through the hosted login page; the token response.
async fn code_flow(h: &Harness, app: &App, scope: &str, audience: Option<&str>) -> Value {
    let code = code_of(h, app, scope, audience).await;
    let (s, tokens) = h
        .token(
            json!({"grant_type": "authorization_code", "client_id": app.id,
                      "client_secret": app.secret, "code": code, "redirect_uri": CALLBACK}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    tokens
}

/// The code of a sign-in through the hosted login page.
async fn code_of(h: &Harness, app: &App, scope: &str, audience: Option<&str>) -> String {
    let mut b = Browser::new(&h.base);
    let mut url = url::Url::parse("http://x/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.id)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("scope", scope)
        .append_pair("state", "s1");
    if let Some(a) = audience {
        url.query_pairs_mut().append_pair("audience", a);
    }
    let a = b.get(&format!("/authorize?{}", url.query().unwrap())).await;
    let page = b.follow(a).await;
    let state = form_state(&page.body);
    let posted = b
        .post_form(
            &format!("/u/login?state={state}"),
            &[
                ("state", &state),
                ("username", EMAIL),
                ("password", PASSWORD),
            ],
        )
        .await;
    let done = b.follow(posted).await;
    done.location_param("code").expect("a code")
}

async fn password(h: &Harness, app: &App, scope: &str) -> Value {
    let (s, tokens) = h
        .token(
            json!({"grant_type": "password", "client_id": app.id, "client_secret": app.secret,
                      "username": EMAIL, "password": PASSWORD, "scope": scope}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    tokens
}

async fn refresh(h: &Harness, app: &App, rt: &str) -> (StatusCode, Value) {
    h.token(json!({"grant_type": "refresh_token", "client_id": app.id,
                   "client_secret": app.secret, "refresh_token": rt}))
        .await
}

fn rt(v: &Value) -> String {
    v["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token in {v}"))
        .to_string()
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

async fn log_types(h: &Harness, t: &str) -> Vec<String> {
    let (_, logs) = h.api(t, Method::GET, "/logs?per_page=100", None).await;
    logs.as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

/// Change the application `id` with `body` (`PATCH /clients/{id}`).
async fn patch_client(h: &Harness, t: &str, id: &str, body: Value) {
    let (s, e) = h
        .api(t, Method::PATCH, &format!("/clients/{id}"), Some(body))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
}

async fn setup(b: Backend) -> (Harness, String) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    h.create_user(&t, EMAIL, PASSWORD).await;
    (h, t)
}

async fn code_flow_rotation_and_reuse_revokes_the_family(b: Backend) {
    let (h, t) = setup(b).await;
    api(&h, &t, true).await;
    let web = app(&h, &t, rotating(0)).await;
    let (_, c) = h
        .api(&t, Method::GET, &format!("/clients/{}", web.id), None)
        .await;
    assert_eq!(c["refresh_token"]["rotation_type"], "rotating", "{c}");
    assert_eq!(c["refresh_token"]["infinite_token_lifetime"], false, "{c}");

    let first = code_flow(
        &h,
        &web,
        "openid email offline_access read:things",
        Some(API),
    )
    .await;
    assert_eq!(first["scope"], "openid email offline_access read:things");
    let rt1 = rt(&first);
    let sid = claims(first["id_token"].as_str().unwrap())["sid"].clone();
    assert!(sid.is_string());

    let (s, second) = refresh(&h, &web, &rt1).await;
    assert_eq!(s, StatusCode::OK, "{second}");
    let rt2 = rt(&second);
    assert_ne!(rt1, rt2, "rotation returns a new token");
    let id = claims(second["id_token"].as_str().unwrap());
    assert_eq!(id["sid"], sid, "the refreshed ID token keeps the session");
    assert!(id.get("nonce").is_none());
    let access = claims(second["access_token"].as_str().unwrap());
    assert_eq!(access["aud"][0], API);
    assert_eq!(access["scope"], "openid email offline_access read:things");
    let at2 = second["access_token"].as_str().unwrap().to_string();
    assert_eq!(userinfo(&h, &at2).await, StatusCode::OK);

    // A reduced scope is fine; a wider one is not.
    let (s, narrow) = h
        .token(
            json!({"grant_type": "refresh_token", "client_id": web.id, "client_secret": web.secret,
                      "refresh_token": rt2, "scope": "openid offline_access"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{narrow}");
    assert_eq!(narrow["scope"], "openid offline_access");
    let rt3 = rt(&narrow);
    let (s, e) = h
        .token(
            json!({"grant_type": "refresh_token", "client_id": web.id, "client_secret": web.secret,
                      "refresh_token": rt3, "scope": "openid profile"}),
        )
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_scope")),
        "{e}"
    );

    // Another client cannot use the token.
    let other = app(&h, &t, rotating(0)).await;
    let (s, e) = refresh(&h, &other, &rt3).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant"))
    );

    // Replaying rt1 (already rotated, no leeway): the whole family dies.
    let (s, e) = refresh(&h, &web, &rt1).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error"], "invalid_grant");
    assert_eq!(e["error_description"], "Unknown or invalid refresh token.");
    let (s, _) = refresh(&h, &web, &rt3).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the newest token of the family is revoked too"
    );
    assert_eq!(
        userinfo(&h, &at2).await,
        StatusCode::UNAUTHORIZED,
        "the family's access tokens are refused at /userinfo"
    );
    let types = log_types(&h, &t).await;
    for ty in ["sertft", "fertft", "ferrt"] {
        assert!(types.contains(&ty.to_string()), "{ty} in {types:?}");
    }
    h.stop().await;
}

async fn leeway_idle_and_absolute_expiry(b: Backend) {
    let (h, _t) = setup(b).await;
    let t = h.admin_token().await;
    let web = app(&h, &t, rotating(30)).await;

    // Password grant, no API: a refresh token for /userinfo.
    let rt1 = rt(&password(&h, &web, "openid offline_access").await);
    let (s, r) = refresh(&h, &web, &rt1).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let rt2 = rt(&r);
    // The answer was lost: rt1 again within the leeway works once more.
    h.state().clock.advance(10);
    let (s, r) = refresh(&h, &web, &rt1).await;
    assert_eq!(s, StatusCode::OK, "within the leeway: {r}");
    let rt2b = rt(&r);
    // rt2 used: rt1 is now the second-to-last token, so its reuse is a breach.
    let (s, r) = refresh(&h, &web, &rt2).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (s, _) = refresh(&h, &web, &rt1).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = refresh(&h, &web, &rt2b).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "family revoked");

    // Idle expiry: 100 s without use.
    let idle = rt(&password(&h, &web, "openid offline_access").await);
    h.state().clock.advance(101);
    let (s, e) = refresh(&h, &web, &idle).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{e}"
    );

    // Absolute expiry: used every 95 s (never idle), refused after 1000 s.
    let mut token = rt(&password(&h, &web, "openid offline_access").await);
    for _ in 0..10 {
        h.state().clock.advance(95);
        let (s, r) = refresh(&h, &web, &token).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        token = rt(&r);
    }
    h.state().clock.advance(95);
    let (s, e) = refresh(&h, &web, &token).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "past the family's 1000 s: {e}");
    h.stop().await;
}

/// `POST /oauth/token` as a page on `origin` sends it (a browser sends
/// `Origin` with every POST); `None`: as a server does.
async fn token_from(h: &Harness, origin: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut req = h.http.post(format!("{}/oauth/token", h.base)).json(&body);
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// A browser gets and uses refresh tokens only of an application with
/// rotation, as Auth0 ("when a browser requests a refresh token from the
/// /token endpoint, Auth0 will only return a refresh token if Refresh Token
/// Rotation is enabled for that client") and RFC 9700 §4.14.2 require: a
/// token a script can read must at least be caught when replayed.
async fn a_browser_gets_only_rotating_refresh_tokens(b: Backend) {
    const SPA: &str = "https://spa.example";
    let (h, t) = setup(b).await;
    // Auth0's defaults: non-rotating, non-expiring.
    let web = app(&h, &t, json!({})).await;
    let code_body = |code: &str| {
        json!({"grant_type": "authorization_code", "client_id": web.id,
               "client_secret": web.secret, "code": code, "redirect_uri": CALLBACK})
    };
    let code = code_of(&h, &web, "openid offline_access", None).await;
    let (s, tokens) = token_from(&h, Some(SPA), code_body(&code)).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    assert_eq!(tokens["scope"], "openid", "offline_access is not granted");
    assert!(tokens["access_token"].is_string() && tokens["id_token"].is_string());
    let password_body = json!({"grant_type": "password", "client_id": web.id,
        "client_secret": web.secret, "username": EMAIL, "password": PASSWORD,
        "scope": "openid offline_access"});
    let (s, tokens) = token_from(&h, Some(SPA), password_body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");

    // A server gets one; a browser cannot use it, and does not spend it.
    let server_rt = rt(&code_flow(&h, &web, "openid offline_access", None).await);
    let refresh_body = json!({"grant_type": "refresh_token", "client_id": web.id,
        "client_secret": web.secret, "refresh_token": server_rt});
    let (s, e) = token_from(&h, Some(SPA), refresh_body.clone()).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{e}"
    );
    assert!(e.get("access_token").is_none());
    let (s, r) = token_from(&h, None, refresh_body).await;
    assert_eq!(s, StatusCode::OK, "the server's token still works: {r}");

    // With rotation the browser gets rotating tokens and uses them.
    patch_client(&h, &t, &web.id, rotating(0)).await;
    let code = code_of(&h, &web, "openid offline_access", None).await;
    let (s, tokens) = token_from(&h, Some(SPA), code_body(&code)).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let first = rt(&tokens);
    let (s, r) = token_from(
        &h,
        Some(SPA),
        json!({"grant_type": "refresh_token", "client_id": web.id,
               "client_secret": web.secret, "refresh_token": first}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_ne!(rt(&r), first, "rotated");
    let (s, tokens) = token_from(&h, Some(SPA), password_body).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    rt(&tokens);
    h.stop().await;
}

async fn offline_access_only_where_allowed(b: Backend) {
    let (h, t) = setup(b).await;
    api(&h, &t, false).await;
    // Auth0's defaults: non-rotating, non-expiring.
    let web = app(&h, &t, json!({})).await;
    let (_, c) = h
        .api(&t, Method::GET, &format!("/clients/{}", web.id), None)
        .await;
    assert_eq!(c["refresh_token"]["rotation_type"], "non-rotating", "{c}");
    assert_eq!(c["refresh_token"]["expiration_type"], "non-expiring", "{c}");
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/clients/{}", web.id),
            Some(json!({"refresh_token": {"rotation_type": "sometimes", "expiration_type": "expiring"}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    // Multi-resource policies: a list of audience and scopes, kept as sent;
    // anything else is refused and the settings stay as they were.
    let policies = json!([{"audience": API, "scope": ["read:things"]}]);
    for (bad, status) in [
        (json!({"k": {"v": true}}), StatusCode::BAD_REQUEST),
        (json!([]), StatusCode::BAD_REQUEST),
        (
            json!([{"audience": "", "scope": []}]),
            StatusCode::BAD_REQUEST,
        ),
        (policies.clone(), StatusCode::OK),
    ] {
        let body = json!({"refresh_token": {
            "rotation_type": "non-rotating", "expiration_type": "non-expiring", "policies": bad,
        }});
        let (s, e) = h
            .api(
                &t,
                Method::PATCH,
                &format!("/clients/{}", web.id),
                Some(body),
            )
            .await;
        assert_eq!(s, status, "{bad}: {e}");
    }
    let (_, c) = h
        .api(&t, Method::GET, &format!("/clients/{}", web.id), None)
        .await;
    assert_eq!(c["refresh_token"]["policies"], policies, "{c}");

    // The API does not allow offline access: no refresh token, no offline_access.
    let tokens = code_flow(&h, &web, "openid offline_access read:things", Some(API)).await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    assert_eq!(tokens["scope"], "openid read:things");

    // Non-rotating: the same token works again and no new one is returned.
    let tokens = code_flow(&h, &web, "openid offline_access", None).await;
    let token = rt(&tokens);
    for _ in 0..2 {
        let (s, r) = refresh(&h, &web, &token).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert!(r.get("refresh_token").is_none(), "{r}");
        assert!(r["id_token"].is_string());
    }

    // Without the refresh_token grant type: none issued, and none accepted.
    let no_rt = app(
        &h,
        &t,
        json!({"grant_types": ["authorization_code", "password"]}),
    )
    .await;
    let tokens = password(&h, &no_rt, "openid offline_access").await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let (s, e) = refresh(&h, &no_rt, &token).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("unauthorized_client"))
    );
    h.stop().await;
}

/// Tokens already out follow the application's and the API's settings of
/// today, not those they were issued under: turning rotation on makes a
/// non-rotating token rotate at its next use (the old one is spent, and
/// replaying it revokes the family); making tokens expire ends those
/// issued when they did not; a refresh is refused once the connection is
/// no longer enabled for the application or the API stops allowing
/// offline access, and never gives a scope the API no longer defines.
async fn tokens_out_follow_todays_settings(b: Backend) {
    let (h, t) = setup(b).await;
    let (s, e) = h
        .api(
            &t,
            Method::POST,
            "/resource-servers",
            Some(
                json!({"name": "Things", "identifier": API, "allow_offline_access": true,
                "scopes": [{"value": "read:things", "description": "Read"},
                           {"value": "write:things", "description": "Write"}]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let web = app(&h, &t, json!({})).await;
    let old = rt(&code_flow(&h, &web, "openid offline_access", None).await);
    let patch = |body: Value| patch_client(&h, &t, &web.id, body);
    patch(rotating(0)).await;
    let (s, r) = refresh(&h, &web, &old).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let next = rt(&r);
    let (s, _) = refresh(&h, &web, &old).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the pre-rotation token is spent");
    let (s, _) = refresh(&h, &web, &next).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "its replay revoked the family");

    // Non-rotating, non-expiring; then expiring with a 1000 s lifetime.
    patch(json!({"refresh_token": {"rotation_type": "non-rotating", "expiration_type": "non-expiring"}}))
        .await;
    let lasting = rt(&code_flow(&h, &web, "openid offline_access", None).await);
    h.state().clock.advance(600);
    patch(
        json!({"refresh_token": {"rotation_type": "non-rotating", "expiration_type": "expiring",
        "token_lifetime": 1000, "idle_token_lifetime": 900}}),
    )
    .await;
    let (s, r) = refresh(&h, &web, &lasting).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    h.state().clock.advance(401);
    let (s, r) = refresh(&h, &web, &lasting).await;
    assert_eq!(
        (s, r["error_description"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("Unknown or invalid refresh token: it expired.")
        ),
        "1000 s after the login, though issued non-expiring"
    );

    // An API scope dropped since the login is not given again.
    patch(json!({"refresh_token": {"rotation_type": "non-rotating", "expiration_type": "non-expiring"}}))
        .await;
    let tokens = code_flow(
        &h,
        &web,
        "openid offline_access read:things write:things",
        Some(API),
    )
    .await;
    let scoped = rt(&tokens);
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/resource-servers/{}", urlencoding::encode(API)),
            Some(json!({"scopes": [{"value": "read:things", "description": "Read"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, r) = refresh(&h, &web, &scoped).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["scope"], "openid offline_access read:things", "{r}");
    // The API stops allowing offline access.
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/resource-servers/{}", urlencoding::encode(API)),
            Some(json!({"allow_offline_access": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, r) = refresh(&h, &web, &scoped).await;
    assert_eq!(
        (s, r["error_description"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("The API no longer allows offline access.")
        )
    );

    // The connection is no longer enabled for the application.
    let plain = rt(&code_flow(&h, &web, "openid offline_access", None).await);
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/connections/{}", h.info.connection_id),
            Some(json!({"enabled_clients": [h.info.client_id]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, r) = refresh(&h, &web, &plain).await;
    assert_eq!(
        (s, r["error_description"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("The user's connection is no longer enabled for this application.")
        )
    );
    h.stop().await;
}

/// As Auth0: switching the application's rotation type revokes the user's
/// tokens of the other kind for the same API once a token of the new kind
/// is issued to them — at their next login, or when they exchange an old
/// token (which turns into the new kind) — in both directions; a token for
/// another API lives on.
async fn switching_rotation_revokes_the_other_kind(b: Backend) {
    let (h, t) = setup(b).await;
    api(&h, &t, true).await;
    let web = app(&h, &t, json!({})).await;
    let patch = |body: Value| patch_client(&h, &t, &web.id, body);
    let non_rotating = json!({"refresh_token": {"rotation_type": "non-rotating", "expiration_type": "non-expiring"}});
    let login = || password(&h, &web, "openid offline_access");
    let refused = |(s, r): (StatusCode, Value), why: &str| {
        assert_eq!(
            (s, r["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("invalid_grant")),
            "{why}: {r}"
        );
    };

    // At the next login.
    let lasting = rt(&login().await);
    let (s, r) = refresh(&h, &web, &lasting).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let other_api = rt(&code_flow(&h, &web, "openid offline_access", Some(API)).await);
    patch(rotating(0)).await;
    let rotating_rt = rt(&login().await);
    refused(
        refresh(&h, &web, &lasting).await,
        "non-rotating, after the login",
    );
    let (s, r) = refresh(&h, &web, &rotating_rt).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let successor = rt(&r);
    assert_ne!(successor, rotating_rt, "the new token rotates");
    refused(refresh(&h, &web, &rotating_rt).await, "rotated");

    patch(non_rotating.clone()).await;
    let again = rt(&login().await);
    refused(
        refresh(&h, &web, &successor).await,
        "rotating, after the login",
    );
    for _ in 0..2 {
        let (s, r) = refresh(&h, &web, &again).await;
        assert_eq!(s, StatusCode::OK, "non-rotating: {r}");
        assert!(r.get("refresh_token").is_none(), "{r}");
    }
    let (s, r) = refresh(&h, &web, &other_api).await;
    assert_eq!(s, StatusCode::OK, "another API's token is not touched: {r}");

    // At the exchange of a token of the old kind.
    let first = rt(&login().await);
    let second = rt(&login().await);
    patch(rotating(0)).await;
    let (s, r) = refresh(&h, &web, &first).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let turned = rt(&r);
    refused(
        refresh(&h, &web, &second).await,
        "the other non-rotating token",
    );
    refused(
        refresh(&h, &web, &again).await,
        "the other non-rotating token",
    );
    let (s, r) = refresh(&h, &web, &turned).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    h.stop().await;
}

async fn revoke(h: &Harness, form: &[(&str, &str)]) -> (StatusCode, String) {
    let r = h
        .http
        .post(format!("{}/oauth/revoke", h.base))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn revocation(b: Backend) {
    let (h, t) = setup(b).await;
    let web = app(&h, &t, json!({})).await;
    let tokens = code_flow(&h, &web, "openid offline_access", None).await;
    let token = rt(&tokens);
    let access = tokens["access_token"].as_str().unwrap();

    let (s, _) = revoke(
        &h,
        &[
            ("client_id", &web.id),
            ("client_secret", "wrong"),
            ("token", &token),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, body) = revoke(
        &h,
        &[("client_id", &web.id), ("client_secret", &web.secret)],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    // Another client's revocation changes nothing, and says the same.
    let other = app(&h, &t, json!({})).await;
    let (s, body) = revoke(
        &h,
        &[
            ("client_id", &other.id),
            ("client_secret", &other.secret),
            ("token", &token),
        ],
    )
    .await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, ""));
    let (s, _) = refresh(&h, &web, &token).await;
    assert_eq!(s, StatusCode::OK);

    let (s, body) = revoke(
        &h,
        &[
            ("client_id", &web.id),
            ("client_secret", &web.secret),
            ("token", &token),
        ],
    )
    .await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, ""));
    let (s, e) = refresh(&h, &web, &token).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant"))
    );
    assert_eq!(userinfo(&h, access).await, StatusCode::UNAUTHORIZED);
    // Unknown or already revoked: the same answer (RFC 7009 §2.2).
    let (s, body) = revoke(
        &h,
        &[
            ("client_id", &web.id),
            ("client_secret", &web.secret),
            ("token", "nope"),
        ],
    )
    .await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, ""));
    assert!(log_types(&h, &t).await.contains(&"srrt".to_string()));

    // A public client revokes without a secret.
    let spa = App {
        secret: String::new(),
        ..app(
            &h,
            &t,
            json!({"token_endpoint_auth_method": "none", "app_type": "spa"}),
        )
        .await
    };
    let (s, r) = h
        .token(
            json!({"grant_type": "password", "client_id": spa.id, "username": EMAIL,
                      "password": PASSWORD, "scope": "openid offline_access"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let spa_rt = rt(&r);
    let (s, _) = revoke(&h, &[("client_id", &spa.id), ("token", &spa_rt)]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h
        .token(json!({"grant_type": "refresh_token", "client_id": spa.id, "refresh_token": spa_rt}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let d: Value = h
        .http
        .get(format!("{}/.well-known/openid-configuration", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        d["revocation_endpoint"],
        json!(format!("{}/oauth/revoke", h.state().public_url))
    );
    assert!(
        d["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("refresh_token"))
    );
    h.stop().await;
}

async fn cors_for_allowed_origins_only(b: Backend) {
    let (h, t) = setup(b).await;
    let _web = app(&h, &t, json!({})).await;
    let preflight = |origin: &'static str, path: &'static str| {
        let h = &h;
        async move {
            h.http
                .request(Method::OPTIONS, format!("{}{path}", h.base))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "content-type, auth0-client",
                )
                .send()
                .await
                .unwrap()
        }
    };
    for path in ["/oauth/token", "/oauth/revoke", "/userinfo"] {
        // allowed_origins, a web_origins wildcard, a callback's origin.
        for origin in [
            "https://spa.example",
            "https://pr-7.preview.example",
            "https://app.example",
        ] {
            let r = preflight(origin, path).await;
            assert_eq!(r.status(), StatusCode::NO_CONTENT, "{path} {origin}");
            assert_eq!(
                r.headers()["access-control-allow-origin"].to_str().unwrap(),
                origin
            );
            assert!(
                r.headers()["access-control-allow-methods"]
                    .to_str()
                    .unwrap()
                    .contains("POST")
            );
            assert!(
                r.headers()["access-control-allow-headers"]
                    .to_str()
                    .unwrap()
                    .contains("auth0-client")
            );
            assert!(
                r.headers()
                    .get("access-control-allow-credentials")
                    .is_none()
            );
        }
        for origin in [
            "https://evil.example",
            "https://a.b.preview.example",
            "http://spa.example",
        ] {
            let r = preflight(origin, path).await;
            assert!(
                r.headers().get("access-control-allow-origin").is_none(),
                "{path} {origin}"
            );
        }
    }
    let post = |origin: &'static str| {
        let h = &h;
        async move {
            h.http
                .post(format!("{}/oauth/token", h.base))
                .header("Origin", origin)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", "x"),
                    ("refresh_token", "y"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = post("https://spa.example").await;
    assert_eq!(
        r.headers()["access-control-allow-origin"].to_str().unwrap(),
        "https://spa.example"
    );
    assert!(
        post("https://evil.example")
            .await
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // Not the Management API.
    let r = h
        .http
        .request(Method::OPTIONS, format!("{}/api/v2/clients", h.base))
        .header("Origin", "https://spa.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    h.stop().await;
}

/// CORS is answered from memory: an application created, changed or
/// deleted on this instance applies at once; one written to the store by
/// another instance applies at the next reload (the `cors.reload_secs`
/// timer), which shows that no request reads the store.
async fn cors_origins_follow_applications_from_memory(b: Backend) {
    let (h, t) = setup(b).await;
    let allowed = |origin: &'static str| {
        let h = &h;
        async move {
            let r = h
                .http
                .request(Method::OPTIONS, format!("{}/oauth/token", h.base))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "POST")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
            r.headers().get("access-control-allow-origin").is_some()
        }
    };
    assert!(!allowed("https://new.example").await);
    let web = app(
        &h,
        &t,
        json!({"allowed_origins": ["https://new.example"], "web_origins": []}),
    )
    .await;
    assert!(
        allowed("https://new.example").await,
        "at once on this instance"
    );
    assert!(
        allowed("https://app.example").await,
        "its callback's origin"
    );
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/clients/{}", web.id),
            Some(json!({"allowed_origins": ["https://changed.example"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert!(!allowed("https://new.example").await);
    assert!(allowed("https://changed.example").await);
    let (s, _) = h
        .api(&t, Method::DELETE, &format!("/clients/{}", web.id), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(!allowed("https://changed.example").await);
    assert!(!allowed("https://app.example").await);

    // Another instance's application: stored, not yet known here.
    let st = h.state();
    let mut other = st
        .store
        .get_client(st.tid(), &h.info.client_id)
        .await
        .unwrap()
        .unwrap();
    other.client_id = "other_instance_app".into();
    other.allowed_origins = vec!["https://other.example".into()];
    st.store.insert_client(st.tid(), &other).await.unwrap();
    assert!(
        !allowed("https://other.example").await,
        "requests do not read the store"
    );
    st.cors_origins.reload().await.unwrap();
    assert!(allowed("https://other.example").await, "after the reload");
    h.stop().await;
}

/// Each refresh checks the user again, as the login did: refused once the
/// user is blocked (Auth0: 403 `invalid_grant`, "user is blocked") — and
/// served again once unblocked — or once the application lost the
/// `refresh_token` grant type, or the user was deleted. (A connection
/// taken from the application: `tokens_out_follow_todays_settings`.)
async fn a_refresh_checks_the_user_again(b: Backend) {
    let (h, t) = setup(b).await;
    let web = app(&h, &t, json!({})).await;
    let tokens = code_flow(&h, &web, "openid offline_access", None).await;
    let token = rt(&tokens);
    let user_id = claims(tokens["id_token"].as_str().unwrap())["sub"]
        .as_str()
        .unwrap()
        .to_string();
    let user = format!("/users/{}", urlencoding::encode(&user_id));
    let (s, e) = h
        .api(&t, Method::PATCH, &user, Some(json!({"blocked": true})))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, r) = refresh(&h, &web, &token).await;
    assert_eq!(
        (s, r["error"].as_str(), r["error_description"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("invalid_grant"),
            Some("user is blocked")
        ),
        "{r}"
    );
    let (s, e) = h
        .api(&t, Method::PATCH, &user, Some(json!({"blocked": false})))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, r) = refresh(&h, &web, &token).await;
    assert_eq!(s, StatusCode::OK, "{r}");

    patch_client(
        &h,
        &t,
        &web.id,
        json!({"grant_types": ["authorization_code", "password"]}),
    )
    .await;
    let (s, r) = refresh(&h, &web, &token).await;
    assert_eq!(
        (s, r["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("unauthorized_client")),
        "{r}"
    );
    patch_client(
        &h,
        &t,
        &web.id,
        json!({"grant_types": ["authorization_code", "refresh_token", "password"]}),
    )
    .await;
    let (s, r) = refresh(&h, &web, &token).await;
    assert_eq!(s, StatusCode::OK, "{r}");

    let (s, e) = h.api(&t, Method::DELETE, &user, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, r) = refresh(&h, &web, &token).await;
    assert_eq!(
        (s, r["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{r}"
    );
    h.stop().await;
}

both_backends!(
    a_refresh_checks_the_user_again,
    a_browser_gets_only_rotating_refresh_tokens,
    tokens_out_follow_todays_settings,
    switching_rotation_revokes_the_other_kind,
    code_flow_rotation_and_reuse_revokes_the_family,
    leeway_idle_and_absolute_expiry,
    offline_access_only_where_allowed,
    revocation,
    cors_for_allowed_origins_only,
    cors_origins_follow_applications_from_memory,
);
