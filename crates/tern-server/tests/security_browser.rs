#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The browser sign-in surface under attack, on both backends: what an
//! attacker on the network or another site could do with the answers of
//! `/authorize`, the hosted pages, logout and the token endpoint. Real
//! HTTP, a hand-driven cookie jar (`common::browser`); the flows
//! themselves are tested in `authorize.rs` and `refresh_tokens.rs`.

mod common;

use common::browser::Browser;
use common::{Backend, Harness};
use reqwest::StatusCode;

const HSTS: &str = "max-age=31536000";

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

both_backends!(https_answers_ask_browsers_to_stay_on_https);
