//! The Management API rate limit, with Auth0's headers.
//!
//! It runs after authentication: a request without a valid token is
//! answered 401 by `auth` and counts against nobody, so strangers cannot
//! spend an administrator's allowance. Each client of each tenant has its
//! own allowance, counted in the store (`rate_windows`, scope `api`) so that
//! every instance sharing the database sees the same count.
//!
//! The count is a fixed window: `rate_limit.burst` requests per window of
//! `burst / per_second` seconds — the long-run rate of a token bucket with
//! that size and refill, in one row per client written with one statement.
//! A refusal is written to the tenant log once per client and window (the
//! first one), so a client hammering the API adds one row per window, not
//! one per request.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tern_core::model::LogEvent;
use tern_core::store::Store;

use crate::auth::Caller;
use crate::config::RateLimitConfig;
use crate::error::ApiError;
use crate::state::AppState;

/// The store scope of the Management API's windows.
const SCOPE: &str = "api";

/// The Management API's allowance per client.
#[derive(Debug, Clone, Copy)]
pub struct RateLimiter {
    limit: u64,
    window_secs: i64,
}

/// The verdict for one request, with what the headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Requests allowed per window.
    pub limit: u64,
    /// Requests left in this window after this one.
    pub remaining: u64,
    /// Epoch seconds when the window ends and the allowance is whole again.
    pub reset: i64,
    /// The first refusal of the window: the one written to the tenant log.
    pub first_refusal: bool,
}

/// Marks a response as the limiter's refusal, so the audit log (`fapi`)
/// does not add a row per refused request.
#[derive(Debug, Clone, Copy)]
pub struct Refused;

impl RateLimiter {
    /// The allowance `config` describes.
    pub fn new(config: RateLimitConfig) -> Self {
        let limit = u64::from(config.burst.max(1));
        let per_second = if config.per_second.is_finite() && config.per_second > 0.0 {
            config.per_second
        } else {
            0.001
        };
        // At least a second: windows are whole epoch seconds.
        let window_secs = (limit as f64 / per_second).round().clamp(1.0, 86_400.0) as i64;
        Self { limit, window_secs }
    }

    /// The window `now` falls in: its start.
    fn window_start(&self, now: i64) -> i64 {
        now - now.rem_euclid(self.window_secs)
    }

    /// The verdict for the `hits`-th request of the window starting at `start`.
    fn decide(&self, start: i64, hits: u64) -> Decision {
        Decision {
            allowed: hits <= self.limit,
            limit: self.limit,
            remaining: self.limit.saturating_sub(hits),
            reset: start + self.window_secs,
            first_refusal: hits == self.limit + 1,
        }
    }

    /// Count one request of `client` at `now` (epoch seconds).
    pub async fn check(
        &self,
        store: &dyn Store,
        tenant: &str,
        client: &str,
        now: i64,
    ) -> tern_core::CoreResult<Decision> {
        let start = self.window_start(now);
        let hits = store.hit_rate_window(tenant, SCOPE, client, start).await?;
        Ok(self.decide(start, hits))
    }
}

/// Middleware (inside `auth::management`): refuse with 429 when the
/// caller's allowance is spent; Auth0's headers on every response.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(client) = req
        .extensions()
        .get::<Caller>()
        .map(|c| c.client_id.clone())
    else {
        // Unreachable behind `auth::management`; never count an anonymous call.
        return ApiError::unauthorized("Missing authentication").into_response();
    };
    let d = match state
        .limiter
        .check(state.store.as_ref(), state.tid(), &client, state.now())
        .await
    {
        Ok(d) => d,
        Err(e) => {
            // The caller is authenticated; a store that cannot count must
            // not take the API down with it.
            tracing::error!(error = %e, "rate limit not counted");
            return next.run(req).await;
        }
    };
    let mut resp = if d.allowed {
        next.run(req).await
    } else {
        state.metrics.refused("api_rate_limit");
        if d.first_refusal {
            let mut ev = LogEvent::new("api_limit", "Global limit has been reached");
            ev.client_id = Some(client);
            ev.details = Some(serde_json::json!({
                "path": req.uri().path(),
                "limit": d.limit,
                "window_ends": d.reset,
            }));
            state.log(ev).await;
        }
        let mut resp = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "Global limit has been reached",
        )
        .into_response();
        resp.extensions_mut().insert(Refused);
        resp
    };
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(d.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(d.remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(d.reset));
    if !d.allowed {
        let wait = (d.reset - state.now()).max(1);
        h.insert("retry-after", HeaderValue::from(wait));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter::new(RateLimitConfig { per_second, burst })
    }

    #[test]
    fn window_keeps_the_buckets_long_run_rate() {
        // Auth0's paid tier: 50 at once, 15/s → 50 per 3 s.
        let l = limiter(15.0, 50);
        assert_eq!((l.limit, l.window_secs), (50, 3));
        // Free tier: 10 at once, 2/s → 10 per 5 s.
        let l = limiter(2.0, 10);
        assert_eq!((l.limit, l.window_secs), (10, 5));
        // Never below a second, whatever the configuration says.
        assert_eq!(limiter(10_000.0, 10).window_secs, 1);
        assert_eq!(limiter(0.0, 100).window_secs, 86_400);
    }

    #[test]
    fn verdicts_within_a_window() {
        let l = limiter(0.5, 3); // 3 per 6 s
        assert_eq!(l.window_start(1_000_003), 1_000_002);
        let v: Vec<(bool, u64, bool)> = (1..=5)
            .map(|hits| {
                let d = l.decide(1_000_002, hits);
                (d.allowed, d.remaining, d.first_refusal)
            })
            .collect();
        assert_eq!(
            v,
            [
                (true, 2, false),
                (true, 1, false),
                (true, 0, false),
                (false, 0, true),
                (false, 0, false)
            ]
        );
        assert_eq!(l.decide(1_000_002, 1).reset, 1_000_008);
    }
}
