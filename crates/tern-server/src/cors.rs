//! CORS for the endpoints a single-page application calls from JavaScript:
//! `/oauth/token`, `/oauth/revoke`, `/userinfo`.
//!
//! An origin is allowed when an application of the tenant lists it in
//! `allowed_origins` or `web_origins` (Auth0's wildcard rule for subdomains
//! applies), or has a callback on it (Auth0: "By default, all your callback
//! URLs will be allowed"). Preflights are answered here (`204`); for an
//! origin nobody allowed they carry no CORS header at all, so the browser
//! refuses, and an actual request from it is served without CORS headers
//! (the browser hides the answer from the page). No credentials are allowed:
//! these endpoints take secrets and tokens in the request, never cookies.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tern_core::url_match::{origin_matches, origin_of};

use crate::state::AppState;

/// Whether a browser page on `origin` may call the endpoints.
pub async fn origin_allowed(s: &AppState, origin: &str) -> bool {
    let Ok(clients) = s.store.list_clients(s.tid()).await else {
        return false;
    };
    clients.iter().any(|c| {
        c.allowed_origins
            .iter()
            .chain(&c.web_origins)
            .any(|p| origin_matches(p, origin))
            || c.callbacks
                .iter()
                .filter(|cb| !cb.contains('*'))
                .filter_map(|cb| origin_of(cb))
                .any(|o| o == origin)
    })
}

fn allowed_headers(req: &HeaderMap) -> HeaderValue {
    req.get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("authorization, content-type, auth0-client"))
}

/// The paths CORS applies to.
pub const PATHS: &[&str] = &["/oauth/token", "/oauth/revoke", "/userinfo"];

/// The middleware (on the whole router; acts on [`PATHS`] only): answers
/// preflights, adds `Access-Control-Allow-Origin` to answers for allowed
/// origins.
pub async fn layer(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if !PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(origin) = origin else {
        return next.run(req).await;
    };
    let allowed = origin_allowed(&s, &origin).await;
    if req.method() == Method::OPTIONS {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let h = resp.headers_mut();
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        if allowed && let Ok(o) = HeaderValue::from_str(&origin) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                allowed_headers(req.headers()),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("86400"),
            );
        }
        return resp;
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if allowed && let Ok(o) = HeaderValue::from_str(&origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
    resp
}
