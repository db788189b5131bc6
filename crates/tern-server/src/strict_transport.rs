//! HTTP Strict Transport Security (RFC 6797) on an https public URL: every
//! answer tells the browser to reach Tern over https only, for a year. A
//! first visit typed as `http://tern.example`, or a link written so, then
//! never goes out in clear, where someone on the network could strip TLS
//! and read the password typed into the login page. Not
//! `includeSubDomains`: other hosts under the domain are not Tern's to
//! speak for. On plain http (local development) the header is meaningless
//! (browsers ignore it there) and is not sent.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The header's value: one year (what the HSTS preload list asks at least).
pub const VALUE: &str = "max-age=31536000";

/// The middleware (on the whole router).
pub async fn layer(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    if s.public_url.starts_with("https://") {
        resp.headers_mut()
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(VALUE));
    }
    resp
}
