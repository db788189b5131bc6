//! What an operator's tooling talks to: one log line per request, and the
//! liveness and readiness probes.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::metrics::{RequestLabels, RouteLabels};
use crate::state::AppState;

/// The header a request id travels in, both ways.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of a request: the caller's `X-Request-Id` when it is a plain token
/// (a proxy's id keeps the trace joined up), else a new random one.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn request_id(req: &Request) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            // Anything else could forge log lines or carry a secret.
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(tern_core::ids::request_id)
}

/// One line per request: method, route template, status, latency, request
/// id. Never the path's values or the query string: they carry reset
/// tickets, emails and codes.
pub async fn request_log(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_string(), |p| p.as_str().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut resp = next.run(req).await;
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    s.metrics
        .requests
        .get_or_create(&RequestLabels {
            method: method.to_string(),
            route: route.clone(),
            status,
        })
        .inc();
    s.metrics
        .request_seconds
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    tracing::info!(
        target: "tern::request",
        method,
        route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %id,
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    resp
}

/// The method as logged and counted: HTTP allows any token as a method (of
/// hundreds of KB), and every distinct metric label is kept for the
/// process's life, so anything but the standard methods is `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// `GET /healthz`: the process is alive and serving.
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: this instance should get traffic — the store answers (its
/// migrations ran when it was opened) and the server is not draining.
pub async fn readyz(State(s): State<AppState>) -> Response {
    let draining = s.is_draining();
    let store = tokio::time::timeout(Duration::from_secs(2), s.store.default_tenant()).await;
    let store_ok = matches!(store, Ok(Ok(_)));
    let status = if store_ok && !draining {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if status == StatusCode::OK { "ready" } else { "not_ready" },
        "store": if store_ok { "ok" } else { "unreachable" },
        "draining": draining,
    });
    (status, Json(body)).into_response()
}
