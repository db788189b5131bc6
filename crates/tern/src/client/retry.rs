//! How long to wait before trying a request again, and what to tell the
//! person when the server said no.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use tern_core::retry::jittered;

/// The longest single wait a server's headers can impose on us.
const MAX_WAIT_SECS: f64 = 60.0;

/// Added to a wait for a rate-limit window's end: a clock a little ahead
/// of the server's must not come back just before the window ends.
const PAST_RESET_SECS: f64 = 0.05;

/// Exponential backoff: `base_ms` × 1.6^attempt, at most `cap_ms`, each
/// wait drawn between half and all of that (`tern_core::retry::jittered`).
pub fn backoff(attempt: u32, base_ms: u64, cap_ms: u64) -> Duration {
    let ms = (base_ms as f64 * 1.6f64.powi(attempt.min(30) as i32)).min(cap_ms as f64);
    jittered(Duration::from_millis(ms as u64))
}

/// How long to wait after a 429: until `X-RateLimit-Reset` when the rate
/// limit's window is spent (to the moment: `Retry-After` is in whole
/// seconds, at least one, where the window often ends in a fraction of
/// one), never longer than `Retry-After` says; `Retry-After` alone when
/// that is all the server gives; else (the concurrent-job limit says
/// nothing about when) a growing backoff.
pub fn wait_after_429(headers: &HeaderMap, attempt: u32) -> Duration {
    wait_after_429_at(headers, attempt, now_secs())
}

/// The local clock, in epoch seconds (what `X-RateLimit-Reset` counts in).
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
}

/// When the rate limit's window ends, in epoch seconds, if the answer
/// says it is spent (`X-RateLimit-Remaining: 0`).
pub fn spent_until(headers: &HeaderMap) -> Option<f64> {
    if header_u64(headers, "x-ratelimit-remaining") != Some(0) {
        return None;
    }
    header_u64(headers, "x-ratelimit-reset").map(|reset| reset as f64 + PAST_RESET_SECS)
}

/// What the client knows of the window after an answer with rate-limit
/// headers, having known `known`: the window's end if this answer says it
/// is spent; still `known` if the answer is of that same window (requests
/// in flight together answer out of order: one counted before the window
/// was spent may arrive after); else nothing.
pub fn pace_after(known: Option<f64>, headers: &HeaderMap) -> Option<f64> {
    if let Some(until) = spent_until(headers) {
        return Some(known.map_or(until, |k| k.max(until)));
    }
    let reset = header_u64(headers, "x-ratelimit-reset")? as f64 + PAST_RESET_SECS;
    known.filter(|k| reset <= *k)
}

/// How long to wait from `now` before a request, when the last answer
/// said the window is spent until `until`: nothing once it has passed.
pub fn wait_until(until: Option<f64>, now: f64) -> Option<Duration> {
    let secs = until? - now;
    (secs > 0.0).then(|| Duration::from_secs_f64(secs.min(MAX_WAIT_SECS)))
}

fn wait_after_429_at(headers: &HeaderMap, attempt: u32, now: f64) -> Duration {
    let retry_after = header_u64(headers, "retry-after").map(|s| (s as f64).min(MAX_WAIT_SECS));
    if let Some(until) = spent_until(headers) {
        let longest = retry_after.unwrap_or(MAX_WAIT_SECS).max(PAST_RESET_SECS);
        return Duration::from_secs_f64((until - now).clamp(PAST_RESET_SECS, longest));
    }
    if let Some(secs) = retry_after {
        return Duration::from_secs_f64(secs.max(PAST_RESET_SECS));
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

    /// Headers of a rate-limit window: requests left, and its end.
    fn window(remaining: &str, reset: &str) -> HeaderMap {
        headers(&[
            ("x-ratelimit-remaining", remaining),
            ("x-ratelimit-reset", reset),
        ])
    }

    fn secs(d: Duration) -> f64 {
        (d.as_secs_f64() * 1000.0).round() / 1000.0
    }

    #[test]
    fn waits_follow_the_server_headers() {
        let now = 1_000_000.0;
        // Retry-After bounds the wait for the window's end.
        let h = headers(&[
            ("retry-after", "3"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1000010"),
        ]);
        assert_eq!(wait_after_429_at(&h, 1, now), Duration::from_secs(3));
        let h = window("0", "1000002");
        assert_eq!(secs(wait_after_429_at(&h, 1, now)), 2.05);
        // The window ends in a fraction of a second: Retry-After's whole
        // second is not waited out.
        let h = headers(&[
            ("retry-after", "1"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1000001"),
        ]);
        assert_eq!(secs(wait_after_429_at(&h, 1, now + 0.8)), 0.25);
        // `Retry-After: 0` still waits a moment.
        let h = headers(&[
            ("retry-after", "0"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1000001"),
        ]);
        assert_eq!(wait_after_429_at(&h, 1, now), Duration::from_millis(50));
        let h = headers(&[("retry-after", "0")]);
        assert_eq!(wait_after_429_at(&h, 1, now), Duration::from_millis(50));
        // A reset in the past still waits a moment; one far ahead is capped.
        let h = window("0", "999000");
        assert_eq!(wait_after_429_at(&h, 1, now), Duration::from_millis(50));
        let h = window("0", "2000000");
        assert_eq!(wait_after_429_at(&h, 1, now), Duration::from_secs(60));
        let h = headers(&[("retry-after", "86400")]);
        assert_eq!(wait_after_429_at(&h, 1, now), Duration::from_secs(60));
        // Tokens left: the 429 is the job limit, so back off.
        let h = window("5", "1000002");
        let first = wait_after_429_at(&h, 0, now);
        assert!((100..=200).contains(&first.as_millis()), "{first:?}");
        let late = wait_after_429_at(&h, 20, now);
        assert!((1500..=3000).contains(&late.as_millis()), "{late:?}");
    }

    /// A spent window holds the next request until it ends; an answer with
    /// requests left, or without the headers, holds nothing.
    #[test]
    fn a_spent_window_paces_the_next_request() {
        let now = 1_000_000.0;
        let spent = window("0", "1000001");
        let until = spent_until(&spent);
        assert_eq!(until, Some(1_000_001.05));
        assert_eq!(wait_until(until, now + 0.55).map(secs), Some(0.5));
        assert_eq!(wait_until(until, now + 1.05), None);
        assert_eq!(wait_until(until, now + 2.0), None);
        assert_eq!(wait_until(None, now), None);
        let left = window("1", "1000001");
        assert_eq!(spent_until(&left), None);
        assert_eq!(spent_until(&headers(&[])), None);

        // Known to be spent: an answer of the same window with requests
        // left (counted earlier, arrived later) changes nothing; one of a
        // later window clears it.
        assert_eq!(pace_after(None, &spent), until);
        assert_eq!(pace_after(until, &left), until);
        let next = window("49", "1000004");
        assert_eq!(pace_after(until, &next), None);
        assert_eq!(pace_after(None, &left), None);
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
