#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The URLs an operator stores (branding, application URL lists, the
//! tenant's redirection and logout URLs) and the hosted pages' headers:
//! the API refuses what the browser would read differently from how it is
//! written or would run as script, bounds the client's lists and fields,
//! and a page keeps its Content-Security-Policy whatever was stored before.

mod common;

use common::browser::Browser;
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tern_core::tenant_settings::Branding;

const CALLBACK: &str = "https://app.example/callback";

async fn web_app(h: &Harness, t: &str) -> String {
    let c = h
        .client_on(
            t,
            &h.info.connection_id,
            json!({"name": "Web", "app_type": "regular_web", "callbacks": [CALLBACK],
                   "web_origins": ["https://app.example"],
                   "grant_types": ["authorization_code"]}),
        )
        .await;
    c["client_id"].as_str().unwrap().to_string()
}

fn authorize_url(client_id: &str, redirect_uri: &str, mode: &str) -> String {
    let mut url = url::Url::parse("http://x/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_mode", mode)
        .append_pair("scope", "openid")
        .append_pair("state", "s1");
    format!("/authorize?{}", url.query().unwrap())
}

/// The page's CSP, asserted present and free of what was smuggled in.
fn csp_of(a: &common::browser::Answer) -> String {
    let csp = a
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("no CSP on a {} page: {}", a.status, a.body));
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("javascript"), "{csp}");
    csp
}

async fn a_stored_bad_url_never_removes_a_pages_csp(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let id = web_app(&h, &t).await;
    // Values the API now refuses, as a database from before may hold them.
    let store = &h.state().store;
    let tid = h.state().tid().to_string();
    store
        .put_branding(
            &tid,
            &Branding {
                logo_url: Some("https://cdn.ex\nample/logo.png".into()),
                favicon_url: Some("https://cdn.example/f.ico\r".into()),
                tern_stylesheet_url: Some("https://cdn.example\t/x.css".into()),
                ..Branding::default()
            },
        )
        .await
        .unwrap();
    let mut client = store.get_client(&tid, &id).await.unwrap().unwrap();
    let newline_cb = "https://app.ex\nample/cb";
    let script_cb = "javascript:alert(document.domain)//";
    client.callbacks = vec![CALLBACK.into(), newline_cb.into(), script_cb.into()];
    client.web_origins = vec!["https://app.ex\nample".into(), "https://app.example".into()];
    store.update_client(&tid, &client).await.unwrap();

    // The login page: a CSP, framing denied, no branding it cannot name.
    let mut br = Browser::new(&h.base);
    let a = br.get(&authorize_url(&id, CALLBACK, "form_post")).await;
    assert_eq!(a.status, StatusCode::FOUND, "{}", a.body);
    let page = br.follow(a).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csp = csp_of(&page);
    assert!(csp.contains("img-src 'none'"), "{csp}");
    assert!(
        csp.contains("form-action 'self' https://app.example;"),
        "{csp}"
    );
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
    assert!(!page.body.contains("cdn.ex"), "{}", page.body);

    // The stored bad callbacks match nothing: an error page, with its CSP,
    // never a form leading to them.
    for (cb, mode) in [
        (script_cb, "form_post"),
        (script_cb, "query"),
        (newline_cb, "form_post"),
        (newline_cb, "web_message"),
    ] {
        let a = br.get(&authorize_url(&id, cb, mode)).await;
        assert_eq!(
            a.status,
            StatusCode::BAD_REQUEST,
            "{cb:?} {mode}: {}",
            a.body
        );
        assert!(a.body.contains("Callback URL mismatch"), "{}", a.body);
        let csp = csp_of(&a);
        assert!(csp.contains("form-action 'self';"), "{csp}");
        assert_eq!(a.header("x-frame-options").as_deref(), Some("DENY"));
        assert!(a.location().is_none());
    }
    h.stop().await;
}

async fn a_stored_bad_default_redirection_is_not_followed(b: Backend) {
    let h = Harness::start(b).await;
    let store = &h.state().store;
    let tid = h.state().tid().to_string();
    let mut settings = store.get_tenant_settings(&tid).await.unwrap();
    settings.default_redirection_uri = Some("javascript:alert(document.domain)".into());
    store.put_tenant_settings(&tid, &settings).await.unwrap();
    let mut br = Browser::new(&h.base);
    let a = br.get("/u/login?state=bookmarked").await;
    assert!(a.location().is_none(), "{:?}", a.location());
    assert_ne!(a.status, StatusCode::FOUND);
    csp_of(&a);
    // A good one is still followed.
    settings.default_redirection_uri = Some("https://app.example/login".into());
    store.put_tenant_settings(&tid, &settings).await.unwrap();
    let a = br.get("/u/login?state=bookmarked").await;
    assert_eq!(a.location().as_deref(), Some("https://app.example/login"));
    h.stop().await;
}

/// Logout URLs stored before they had to be `http(s)` without control
/// characters (`javascript:`, a newline) are never where a logout goes,
/// whether named by `returnTo` / `post_logout_redirect_uri` or taken as the
/// application's first; a good one next to them still is.
async fn a_stored_bad_logout_url_is_not_followed(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let id = web_app(&h, &t).await;
    let store = &h.state().store;
    let tid = h.state().tid().to_string();
    let script = "javascript:alert(document.domain)//";
    let newline = "https://app.ex\nample/bye";
    let good = "https://app.example/bye";
    let mut client = store.get_client(&tid, &id).await.unwrap().unwrap();
    client.allowed_logout_urls = vec![script.into(), newline.into(), good.into()];
    store.update_client(&tid, &client).await.unwrap();
    let mut settings = store.get_tenant_settings(&tid).await.unwrap();
    settings.allowed_logout_urls = vec![script.into()];
    store.put_tenant_settings(&tid, &settings).await.unwrap();

    let enc = |u: &str| url::form_urlencoded::byte_serialize(u.as_bytes()).collect::<String>();
    let mut br = Browser::new(&h.base);
    for path in [
        format!("/v2/logout?client_id={id}&returnTo={}", enc(script)),
        format!("/v2/logout?client_id={id}&returnTo={}", enc(newline)),
        format!("/v2/logout?returnTo={}", enc(script)),
        format!(
            "/oidc/logout?client_id={id}&post_logout_redirect_uri={}",
            enc(script)
        ),
    ] {
        let a = br.get(&path).await;
        assert!(a.location().is_none(), "{path}: {:?}", a.location());
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}: {}", a.body);
        csp_of(&a);
    }
    // Without returnTo: not the first entry (a script), the first good one.
    let a = br.get(&format!("/v2/logout?client_id={id}")).await;
    assert_eq!(a.location().as_deref(), Some(good), "{}", a.body);
    let a = br
        .get(&format!("/v2/logout?client_id={id}&returnTo={}", enc(good)))
        .await;
    assert_eq!(a.location().as_deref(), Some(good));
    h.stop().await;
}

async fn message_of(h: &Harness, t: &str, method: Method, path: &str, body: Value) -> String {
    let (s, b) = h.api(t, method, path, Some(body.clone())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body} → {b}");
    assert_eq!(b["errorCode"], "invalid_body", "{b}");
    b["message"].as_str().unwrap().to_string()
}

async fn the_api_refuses_urls_read_otherwise_or_run_as_script(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let id = web_app(&h, &t).await;
    let path = format!("/clients/{id}");
    for (field, value) in [
        ("callbacks", json!(["https://app.ex\nample/cb"])),
        ("callbacks", json!(["javascript:alert(document.domain)//"])),
        ("callbacks", json!(["data:text/html,<script>x</script>"])),
        ("callbacks", json!(["vbscript:x", CALLBACK])),
        ("callbacks", json!(["file:///etc/passwd"])),
        ("callbacks", json!(["https://app.example/*"])),
        ("callbacks", json!(["myapp://*.example.com/cb"])),
        ("allowed_logout_urls", json!(["https://app.example/bye\r"])),
        ("allowed_logout_urls", json!(["myapp://bye"])),
        ("web_origins", json!(["https://app.ex\tample"])),
        ("web_origins", json!(["https://*.com"])),
        ("callbacks", json!(["https://*.github.io/cb"])),
        ("allowed_logout_urls", json!(["https://*.co.uk/bye"])),
        ("allowed_origins", json!(["blob:https://app.example/x"])),
        ("initiate_login_uri", json!("https://app.example/\nlogin")),
        ("initiate_login_uri", json!("javascript:alert(1)")),
        ("logo_uri", json!("https://cdn.ex\nample/l.png")),
        ("logo_uri", json!("javascript:alert(1)")),
    ] {
        let m = message_of(&h, &t, Method::PATCH, &path, json!({ field: value })).await;
        assert!(m.contains(field), "{field}: {m}");
        let m = message_of(
            &h,
            &t,
            Method::POST,
            "/clients",
            json!({"name": "New", field: value}),
        )
        .await;
        assert!(m.contains(field), "{field}: {m}");
    }
    // Native callbacks, wildcards in http(s) hosts and an empty logo stay.
    let (s, c) = h
        .api(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"callbacks": [CALLBACK, "com.example.app://callback",
                         "https://*.preview.example/cb"],
                        "allowed_origins": ["https://*.example.com"], "logo_uri": ""})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");

    for (field, value) in [
        ("logo_url", "https://cdn.ex\nample/logo.png"),
        ("favicon_url", "https://cdn.example/f.ico\r\n"),
        ("tern_stylesheet_url", "https://cdn.example\t/x.css"),
        ("tern_stylesheet_url", "javascript:alert(1)"),
    ] {
        let m = message_of(&h, &t, Method::PATCH, "/branding", json!({ field: value })).await;
        assert!(m.contains(field), "{field}: {m}");
    }
    h.stop().await;
}

async fn tenant_redirection_and_logout_urls_are_web_urls(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    for (field, value) in [
        ("default_redirection_uri", json!("javascript:alert(1)")),
        ("default_redirection_uri", json!("http://app.example/login")),
        (
            "default_redirection_uri",
            json!("https://app.ex\nample/login"),
        ),
        ("allowed_logout_urls", json!(["javascript:alert(1)"])),
        ("allowed_logout_urls", json!(["https://app.example/\nbye"])),
    ] {
        let m = message_of(
            &h,
            &t,
            Method::PATCH,
            "/tenants/settings",
            json!({ field: value }),
        )
        .await;
        assert!(m.contains(field), "{field}: {m}");
    }
    let (s, b) = h
        .api(
            &t,
            Method::PATCH,
            "/tenants/settings",
            Some(
                json!({"default_redirection_uri": "https://app.example/login",
                        "allowed_logout_urls": ["http://localhost:3000/bye"]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    h.stop().await;
}

async fn client_lists_and_fields_are_bounded(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let id = web_app(&h, &t).await;
    let path = format!("/clients/{id}");
    let many: Vec<String> = (0..101)
        .map(|i| format!("https://app.example/cb/{i}"))
        .collect();
    let long = format!("https://app.example/{}", "a".repeat(2048));
    let eleven: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    for (body, field, bound) in [
        (json!({"callbacks": many}), "callbacks", "100"),
        (json!({"web_origins": many}), "web_origins", "100"),
        (
            json!({"allowed_logout_urls": [long]}),
            "allowed_logout_urls",
            "2048",
        ),
        (
            json!({"description": "d".repeat(141)}),
            "description",
            "140",
        ),
        (json!({"client_metadata": eleven}), "client_metadata", "10"),
        (
            json!({"client_metadata": {"k": "v".repeat(256)}}),
            "client_metadata.k",
            "255",
        ),
        (
            json!({"client_metadata": {"k".repeat(256): "v"}}),
            "client_metadata",
            "255",
        ),
    ] {
        let m = message_of(&h, &t, Method::PATCH, &path, body).await;
        assert!(m.contains(field) && m.contains(bound), "{field}: {m}");
    }
    // At the bounds: accepted.
    let hundred: Vec<String> = (0..100)
        .map(|i| format!("https://app.example/cb/{i}"))
        .collect();
    let ten: serde_json::Map<String, Value> = (0..10)
        .map(|i| (format!("k{i}"), json!("v".repeat(255))))
        .collect();
    let (s, b) = h
        .api(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"callbacks": hundred, "client_metadata": ten,
                        "description": "d".repeat(140)})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    h.stop().await;
}

async fn an_unknown_client_id_is_shown_shortened(b: Backend) {
    let h = Harness::start(b).await;
    let mut br = Browser::new(&h.base);
    let spoof = format!(
        "x{}",
        "Your account is locked, call +1 555 0100. ".repeat(40)
    );
    let a = br.get(&authorize_url(&spoof, CALLBACK, "query")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("Unknown client: x"), "{}", a.body);
    let shown: String = spoof.chars().take(64).collect();
    let one_more: String = spoof.chars().take(65).collect();
    assert!(a.body.contains(&shown), "{}", a.body);
    assert!(!a.body.contains(&one_more), "{}", a.body);
    h.stop().await;
}

both_backends!(
    a_stored_bad_url_never_removes_a_pages_csp,
    the_api_refuses_urls_read_otherwise_or_run_as_script,
    tenant_redirection_and_logout_urls_are_web_urls,
    a_stored_bad_default_redirection_is_not_followed,
    a_stored_bad_logout_url_is_not_followed,
    client_lists_and_fields_are_bounded,
    an_unknown_client_id_is_shown_shortened,
);
