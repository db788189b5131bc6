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

//!
//! The allowed origins are answered from memory ([`AllowedOrigins`]), never
//! from the store per request: a request carrying `Origin` comes before any
//! authentication, preflights included, so a store read per request would
//! let anyone load every application at will. The index is rebuilt when
//! this instance changes an application and every `cors.reload_secs`, for
//! changes made by other instances sharing the database.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tern_core::CoreResult;
use tern_core::model::Client;
use tern_core::store::Store;
use tern_core::url_match::{entry_origin_key, origin_matches, origin_of, request_origin_key};

use crate::state::AppState;

/// The origins the tenant's applications allow, as of the last load.
#[derive(Default)]
struct OriginIndex {
    /// Origins of callbacks, compared byte for byte with `Origin`.
    callback_origins: HashSet<String>,
    /// `allowed_origins` / `web_origins` entries without a wildcard, under
    /// their [`entry_origin_key`].
    listed: HashSet<String>,
    /// Wildcard entries, matched one by one (each is one application's
    /// subdomain rule; there are few).
    wildcards: Vec<String>,
}

impl OriginIndex {
    fn of(clients: &[Client]) -> Self {
        let mut index = Self::default();
        let mut wildcards = HashSet::new();
        for c in clients {
            for entry in c.allowed_origins.iter().chain(&c.web_origins) {
                match entry_origin_key(entry) {
                    Some(key) => {
                        index.listed.insert(key);
                    }
                    None => {
                        wildcards.insert(entry.clone());
                    }
                }
            }
            index.callback_origins.extend(
                c.callbacks
                    .iter()
                    .filter(|cb| !cb.contains('*'))
                    .filter_map(|cb| origin_of(cb)),
            );
        }
        index.wildcards = wildcards.into_iter().collect();
        index
    }

    fn allows(&self, origin: &str) -> bool {
        self.callback_origins.contains(origin)
            || request_origin_key(origin).is_some_and(|k| self.listed.contains(&k))
            || self.wildcards.iter().any(|p| origin_matches(p, origin))
    }
}

/// The in-memory index of allowed origins, shared by every request.
pub struct AllowedOrigins {
    store: Arc<dyn Store>,
    tenant: String,
    current: RwLock<Arc<OriginIndex>>,
    /// Reloads take turns, so an older list never replaces a newer one.
    reloading: tokio::sync::Mutex<()>,
}

impl AllowedOrigins {
    /// The index of the tenant's applications as stored now.
    pub async fn load(store: Arc<dyn Store>, tenant: &str) -> CoreResult<Arc<Self>> {
        let index = OriginIndex::of(&store.list_clients(tenant).await?);
        Ok(Arc::new(Self {
            store,
            tenant: tenant.to_string(),
            current: RwLock::new(Arc::new(index)),
            reloading: tokio::sync::Mutex::new(()),
        }))
    }

    /// Read the applications again (after a change, or on the timer).
    pub async fn reload(&self) -> CoreResult<()> {
        let _turn = self.reloading.lock().await;
        let index = OriginIndex::of(&self.store.list_clients(&self.tenant).await?);
        match self.current.write() {
            Ok(mut current) => *current = Arc::new(index),
            // A poisoned lock only means a writer panicked mid-swap of an
            // Arc; the value is whole, replace it all the same.
            Err(poisoned) => *poisoned.into_inner() = Arc::new(index),
        }
        Ok(())
    }

    /// Whether a browser page on `origin` may call the endpoints.
    pub fn allows(&self, origin: &str) -> bool {
        let index = match self.current.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        };
        index.allows(origin)
    }

    /// Reload every `every`, so changes made by other instances arrive.
    pub fn spawn_periodic_reload(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let origins = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate; the index is fresh
            loop {
                tick.tick().await;
                if let Err(e) = origins.reload().await {
                    tracing::error!(error = %e, "could not reload the allowed CORS origins");
                }
            }
        })
    }
}

/// After this instance changed an application: its origins apply at once.
/// The change itself is stored; a failed reload is logged and the timer
/// catches up.
pub async fn clients_changed(s: &AppState) {
    if let Err(e) = s.cors_origins.reload().await {
        tracing::error!(error = %e, "could not reload the allowed CORS origins");
    }
}

/// Whether a browser page on `origin` may call the endpoints.
pub fn origin_allowed(s: &AppState, origin: &str) -> bool {
    s.cors_origins.allows(origin)
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
    let allowed = origin_allowed(&s, &origin);
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
