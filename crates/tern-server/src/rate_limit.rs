//! Per-tenant token buckets for the Management API, with Auth0's headers.
//!
//! Our own bucket rather than `governor`'s because the `X-RateLimit-Remaining`
//! and `X-RateLimit-Reset` headers need the bucket's level, which governor
//! does not expose for keyed limiters.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tern_core::model::LogEvent;

use crate::config::RateLimitConfig;
use crate::error::ApiError;
use crate::state::AppState;

/// Token buckets keyed by tenant.
pub struct RateLimiter {
    config: RateLimitConfig,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The verdict for one request, with what the headers report.
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Bucket size.
    pub limit: u32,
    /// Whole tokens left after this request.
    pub remaining: u32,
    /// Epoch seconds when the bucket is full again (or, when empty, when the
    /// next request will be accepted).
    pub reset: u64,
}

impl RateLimiter {
    /// A limiter with this tier.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token from the tenant's bucket.
    pub fn check(&self, tenant: &str) -> Decision {
        let burst = f64::from(self.config.burst.max(1));
        let rate = self.config.per_second.max(0.001);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(tenant.to_string()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.updated).as_secs_f64() * rate).min(burst);
        b.updated = now;
        let allowed = b.tokens >= 1.0;
        if allowed {
            b.tokens -= 1.0;
        }
        let wait = if allowed {
            (burst - b.tokens) / rate
        } else {
            (1.0 - b.tokens) / rate
        };
        let reset_at = SystemTime::now() + Duration::from_secs_f64(wait);
        let reset = reset_at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64().ceil() as u64)
            .unwrap_or(0);
        Decision {
            allowed,
            limit: self.config.burst,
            remaining: b.tokens.floor().max(0.0) as u32,
            reset,
        }
    }
}

/// Middleware: refuse with 429 when the bucket is empty; headers on every response.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let d = state.limiter.check(state.tid());
    let mut resp = if d.allowed {
        next.run(req).await
    } else {
        let mut ev = LogEvent::new("api_limit", "Global limit has been reached");
        ev.details = Some(serde_json::json!({"path": req.uri().path()}));
        state.log(ev).await;
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "Global limit has been reached",
        )
        .into_response()
    };
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(d.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(d.remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(d.reset));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_and_refills() {
        let l = RateLimiter::new(RateLimitConfig {
            per_second: 1000.0,
            burst: 3,
        });
        let v: Vec<bool> = (0..4).map(|_| l.check("a").allowed).collect();
        assert_eq!(v, [true, true, true, false]);
        assert!(l.check("b").allowed, "tenants have separate buckets");
        std::thread::sleep(Duration::from_millis(5));
        assert!(l.check("a").allowed, "refilled");
    }

    #[test]
    fn remaining_counts_down() {
        let l = RateLimiter::new(RateLimitConfig {
            per_second: 0.001,
            burst: 2,
        });
        assert_eq!(l.check("t").remaining, 1);
        assert_eq!(l.check("t").remaining, 0);
        let d = l.check("t");
        assert!(!d.allowed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        assert!(d.reset > now, "reset is in the future");
    }
}
