//! Who is calling the Management API, and what may they do.
//!
//! A bearer token is accepted only if it is an RS256 JWT signed by one of the
//! tenant's keys that is not revoked (by `kid`), issued by us, for the
//! Management API audience, unexpired, and issued to a machine client (`sub`
//! ending in `@clients`) that still exists.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use tern_core::model::LogEvent;

use crate::error::ApiError;
use crate::keys::Verifier;
use crate::state::AppState;

/// The authenticated caller of a Management API request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The machine client.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

impl Caller {
    /// Succeeds when the caller holds any of the scopes.
    pub fn require(&self, any_of: &[&str]) -> Result<(), ApiError> {
        if any_of.iter().any(|s| self.scopes.iter().any(|g| g == s)) {
            Ok(())
        } else {
            Err(ApiError::insufficient_scope(any_of))
        }
    }
}

impl Caller {
    /// Succeeds when the caller holds every one of the scopes (Auth0's key
    /// rotation needs both `create:` and `update:signing_keys`).
    pub fn require_all(&self, all_of: &[&str]) -> Result<(), ApiError> {
        if all_of.iter().all(|s| self.scopes.iter().any(|g| g == s)) {
            Ok(())
        } else {
            Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("Insufficient scope; expected {}.", all_of.join(" and ")),
            ))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("Missing authentication"))
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: Option<String>,
}

/// Verify a bearer token for `audience`; returns the claims' subject and scopes.
pub async fn verify_bearer(
    state: &AppState,
    token: &str,
    audience: &str,
) -> Result<(String, Vec<String>), ApiError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|_| ApiError::unauthorized("Invalid token."))?;
    if header.alg != Algorithm::RS256 {
        return Err(ApiError::unauthorized(
            "Invalid signature received for JSON Web Token validation.",
        ));
    }
    let kid = header
        .kid
        .ok_or_else(|| ApiError::unauthorized("Invalid token."))?;
    let key = match state.keys.verifier(&kid).await {
        Verifier::Key(key) => key,
        Verifier::Revoked => {
            return Err(ApiError::unauthorized(
                "Invalid token: the key that signed it was revoked.",
            ));
        }
        Verifier::Unknown => return Err(ApiError::unauthorized("Invalid token.")),
    };
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[state.issuer()]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.leeway = 5;
    let data = jsonwebtoken::decode::<Claims>(token, &key, &v).map_err(|e| {
        ApiError::unauthorized(match e.kind() {
            ErrorKind::ExpiredSignature => {
                "Expired token received for JSON Web Token validation".to_string()
            }
            ErrorKind::InvalidSignature => {
                "Invalid signature received for JSON Web Token validation.".to_string()
            }
            ErrorKind::InvalidAudience => format!("Bad audience: expected {audience}"),
            ErrorKind::InvalidIssuer => "Invalid issuer.".to_string(),
            _ => "Invalid token.".to_string(),
        })
    })?;
    let scopes = data
        .claims
        .scope
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Ok((data.claims.sub, scopes))
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &axum::http::HeaderMap) -> Option<&str> {
    let v = parts
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Middleware: authenticate the caller, then log mutating calls (`sapi`/`fapi`).
pub async fn management(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(token) = bearer(req.headers()) else {
        return ApiError::unauthorized("Missing authentication").into_response();
    };
    let caller = match verify_bearer(&state, token, &state.management_audience()).await {
        Ok((sub, scopes)) => match sub.strip_suffix("@clients") {
            Some(client_id) => Caller {
                client_id: client_id.to_string(),
                scopes,
            },
            None => return ApiError::unauthorized("Client is not global.").into_response(),
        },
        Err(e) => return e.into_response(),
    };
    // A token outlives nothing it was issued to: once its client is deleted
    // it is refused, as Auth0 does. (A rotated client secret, as in Auth0,
    // leaves tokens already issued valid until they expire.)
    match state.store.get_client(state.tid(), &caller.client_id).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return ApiError::unauthorized(
                "Invalid token: the client it was issued to was deleted.",
            )
            .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let client_id = caller.client_id.clone();
    req.extensions_mut().insert(caller);
    let resp = next.run(req).await;
    // A refusal by the rate limiter is logged by it, once per window.
    let refused = resp
        .extensions()
        .get::<crate::rate_limit::Refused>()
        .is_some();
    if method != axum::http::Method::GET && !refused {
        let ok = resp.status().is_success();
        let mut ev = LogEvent::new(if ok { "sapi" } else { "fapi" }, format!("{method} {path}"));
        ev.client_id = Some(client_id);
        ev.details = Some(serde_json::json!({"status": resp.status().as_u16()}));
        state.log(ev).await;
    }
    resp
}
