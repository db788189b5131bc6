//! How long to wait before trying a request again, and what to tell the
//! person when the server said no.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// The longest single wait a server's headers can impose on us.
const MAX_WAIT_SECS: f64 = 60.0;

/// Exponential backoff: `base_ms` × 1.6^attempt, at most `cap_ms`.
pub fn backoff(attempt: u32, base_ms: u64, cap_ms: u64) -> Duration {
    let ms = (base_ms as f64 * 1.6f64.powi(attempt.min(30) as i32)).min(cap_ms as f64);
    Duration::from_millis(ms as u64)
}

/// How long to wait after a 429: `Retry-After` (seconds) when the server
/// gives it; until `X-RateLimit-Reset` when the rate limit's bucket is empty;
/// else (the concurrent-job limit says nothing about when) a growing backoff.
pub fn wait_after_429(headers: &HeaderMap, attempt: u32) -> Duration {
    wait_after_429_at(headers, attempt, now_secs())
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn wait_after_429_at(headers: &HeaderMap, attempt: u32, now: f64) -> Duration {
    let num = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    if let Some(secs) = num("retry-after") {
        return Duration::from_secs_f64((secs as f64).clamp(0.05, MAX_WAIT_SECS));
    }
    if num("x-ratelimit-remaining") == Some(0)
        && let Some(reset) = num("x-ratelimit-reset")
    {
        let secs = (reset as f64 - now).clamp(0.05, MAX_WAIT_SECS);
        return Duration::from_secs_f64(secs);
    }
    backoff(attempt, 200, 3000)
}

/// `HTTP <status>: <message>` from Auth0's error envelopes (`message` on
/// /api/v2, `error_description` on /oauth), or the start of the raw text.
pub fn api_message(status: StatusCode, text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let msg = v
        .get("message")
        .or_else(|| v.get("error_description"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| text.chars().take(300).collect());
    format!("HTTP {}: {msg}", status.as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                *k,
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
        }
        h
    }

    #[test]
    fn waits_follow_the_server_headers() {
        let now = 1_000_000.0;
        let h = headers(&[
            ("retry-after", "3"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1000010"),
        ]);
        assert_eq!(wait_after_429_at(&h, 1, now), Duration::from_secs(3));
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1000002"),
        ]);
        assert_eq!(wait_after_429_at(&h, 1, now), Duration::from_secs(2));
        // A reset in the past still waits a moment; one far ahead is capped.
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "999000"),
        ]);
        assert_eq!(wait_after_429_at(&h, 1, now), Duration::from_millis(50));
        let h = headers(&[("retry-after", "86400")]);
        assert_eq!(wait_after_429_at(&h, 1, now), Duration::from_secs(60));
        // Tokens left: the 429 is the job limit, so back off.
        let h = headers(&[
            ("x-ratelimit-remaining", "5"),
            ("x-ratelimit-reset", "1000002"),
        ]);
        assert_eq!(wait_after_429_at(&h, 0, now), Duration::from_millis(200));
        assert_eq!(wait_after_429_at(&h, 20, now), Duration::from_millis(3000));
    }

    #[test]
    fn messages_come_from_either_envelope() {
        let api = r#"{"statusCode":400,"error":"Bad Request","message":"The connection does not exist.","errorCode":"invalid_body"}"#;
        assert_eq!(
            api_message(StatusCode::BAD_REQUEST, api),
            "HTTP 400: The connection does not exist."
        );
        let oauth = r#"{"error":"access_denied","error_description":"Unauthorized"}"#;
        assert_eq!(
            api_message(StatusCode::UNAUTHORIZED, oauth),
            "HTTP 401: Unauthorized"
        );
        assert_eq!(
            api_message(StatusCode::BAD_GATEWAY, "<html>"),
            "HTTP 502: <html>"
        );
    }
}
