//! What the HTTP-speaking connectors (`http`, `auth0`) share: one call to a
//! remote system through the tenant's network policy, under a deadline,
//! retried with jittered backoff, behind a circuit breaker, its answer read
//! up to [`MAX_ANSWER_BYTES`]; a machine-token cache; and the redacted
//! excerpt of an answer quoted in errors.
//!
//! Connect errors, timeouts and 5xx answers are retried (429 too when the
//! connector says so); every other answer is the caller's to interpret.

use std::future::Future;
use std::time::{Duration, Instant};

use prometheus_client::metrics::gauge::Gauge;
use reqwest::StatusCode;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use tern_core::legacy::LegacyError;
use tokio::sync::Mutex;

use crate::secrets::Redactions;

/// Characters of an unexpected answer's body quoted in an error.
const EXCERPT_CHARS: usize = 200;
/// Redirects followed per call (each hop checked by the network policy).
const MAX_REDIRECTS: usize = 5;
/// Most bytes of an answer a connector reads (a user profile is a few
/// kilobytes): a remote system that answers more is cut off there, not buffered.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Default `timeout_ms` of a connector.
pub fn default_timeout_ms() -> u64 {
    5000
}
/// Default `retries` of a connector.
pub fn default_retries() -> u32 {
    2
}
/// Default `backoff_ms` of a connector.
pub fn default_backoff_ms() -> u64 {
    100
}

/// A connector's configuration from `options.tern_connector`; the message
/// names the field that is wrong.
pub fn deserialize_config<T: serde::de::DeserializeOwned>(
    config: &serde_json::Value,
) -> Result<T, String> {
    serde_path_to_error::deserialize(config.clone()).map_err(|e| {
        match e.path().to_string().as_str() {
            "." => e.inner().to_string(),
            path => format!("{path}: {}", e.inner()),
        }
    })
}

/// The circuit breaker's settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Consecutive failed calls that open the circuit.
    #[serde(default = "default_failures")]
    pub failures: u32,
    /// How long it stays open, milliseconds.
    #[serde(default = "default_cooldown")]
    pub cooldown_ms: u64,
}

fn default_failures() -> u32 {
    5
}
fn default_cooldown() -> u64 {
    30_000
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failures: default_failures(),
            cooldown_ms: default_cooldown(),
        }
    }
}

/// How calls are bounded and retried (the connectors' `timeout_ms`,
/// `retries`, `backoff_ms`, `circuit_breaker`).
#[derive(Debug, Clone, PartialEq)]
pub struct Resilience {
    /// Bound of one operation, retries included.
    pub timeout_ms: u64,
    /// Extra attempts after a connect error, timeout or 5xx.
    pub retries: u32,
    /// First backoff, doubled at each retry.
    pub backoff_ms: u64,
    /// Circuit breaker.
    pub circuit_breaker: BreakerConfig,
}

impl Resilience {
    /// Check the bounds; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=60_000).contains(&self.timeout_ms) {
            return Err("timeout_ms must be between 1 and 60000".into());
        }
        if self.retries > 5 {
            return Err("retries must be between 0 and 5".into());
        }
        if !(1..=10_000).contains(&self.backoff_ms) {
            return Err("backoff_ms must be between 1 and 10000".into());
        }
        if !(1..=100).contains(&self.circuit_breaker.failures) {
            return Err("circuit_breaker.failures must be between 1 and 100".into());
        }
        if !(100..=3_600_000).contains(&self.circuit_breaker.cooldown_ms) {
            return Err("circuit_breaker.cooldown_ms must be between 100 and 3600000".into());
        }
        Ok(())
    }

    /// The deadline of an operation starting now.
    pub fn deadline(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.timeout_ms)
    }
}

/// A request body.
pub enum Body {
    /// `application/json`.
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded`, already encoded.
    Form(String),
}

/// One request a connector sends.
pub struct Outgoing<'a> {
    /// The method.
    pub method: reqwest::Method,
    /// The full URL.
    pub url: &'a str,
    /// A bearer token for `Authorization`, if any.
    pub bearer: Option<&'a str>,
    /// The body, if any.
    pub body: Option<Body>,
}

/// What one call produced before the connector interprets it.
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// `WWW-Authenticate: Bearer error="invalid_token"`: the bearer was refused.
    pub token_refused: bool,
    /// The body, up to [`MAX_ANSWER_BYTES`].
    pub body: String,
}

#[derive(Default)]
struct Breaker {
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

/// One connection's way to a remote system: its circuit state lives as long
/// as the connector.
pub struct Transport {
    /// Names the remote system in errors ("the legacy API at …").
    what: String,
    resilience: Resilience,
    network: tern_net::Network,
    /// Which answers are retried (default: 5xx).
    retry_if: fn(StatusCode, &str) -> bool,
    breaker: std::sync::Mutex<Breaker>,
    /// 1 from the circuit opening until a call succeeds again, else 0.
    circuit_open: Gauge,
}

impl Transport {
    /// A transport to the system `what` names, under these bounds.
    pub fn new(what: String, resilience: Resilience, network: tern_net::Network) -> Self {
        Self {
            what,
            resilience,
            network,
            retry_if: |status, _| status.is_server_error(),
            breaker: std::sync::Mutex::new(Breaker::default()),
            circuit_open: Gauge::default(),
        }
    }

    /// Retry the answers `retry` picks (status, body) instead of 5xx ones.
    #[must_use]
    pub fn retrying_if(mut self, retry: fn(StatusCode, &str) -> bool) -> Self {
        self.retry_if = retry;
        self
    }

    /// Report the circuit's state in `gauge` (a new transport's is closed).
    #[must_use]
    pub fn reporting_circuit_in(mut self, gauge: Gauge) -> Self {
        gauge.set(0);
        self.circuit_open = gauge;
        self
    }

    /// The bounds of this transport.
    pub fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    fn breaker_check(&self) -> Result<(), LegacyError> {
        let b = self
            .breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match b.open_until {
            Some(until) if Instant::now() < until => Err(LegacyError(format!(
                "{} is considered down: circuit open after {} consecutive failures; next attempt in {} ms",
                self.what,
                b.consecutive_failures,
                until.saturating_duration_since(Instant::now()).as_millis()
            ))),
            _ => Ok(()),
        }
    }

    fn breaker_record(&self, ok: bool) {
        let mut b = self
            .breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if ok {
            *b = Breaker::default();
            self.circuit_open.set(0);
        } else {
            b.consecutive_failures = b.consecutive_failures.saturating_add(1);
            if b.consecutive_failures >= self.resilience.circuit_breaker.failures {
                self.circuit_open.set(1);
                b.open_until = Some(
                    Instant::now()
                        + Duration::from_millis(self.resilience.circuit_breaker.cooldown_ms),
                );
            }
        }
    }

    fn request(
        &self,
        out: &Outgoing<'_>,
        remaining: Duration,
    ) -> Result<tern_net::Request, LegacyError> {
        let url = reqwest::Url::parse(out.url)
            .map_err(|e| LegacyError(format!("the connector URL {} is invalid: {e}", out.url)))?;
        let mut req = tern_net::Request::new(out.method.clone(), url);
        req.timeout = Some(remaining);
        let mut header = |name: HeaderName, value: &str| -> Result<(), LegacyError> {
            let v = HeaderValue::from_str(value)
                .map_err(|e| LegacyError(format!("unusable {name} header: {e}")))?;
            req.headers.insert(name, v);
            Ok(())
        };
        if let Some(t) = out.bearer {
            header(reqwest::header::AUTHORIZATION, &format!("Bearer {t}"))?;
        }
        match &out.body {
            Some(Body::Json(v)) => {
                header(reqwest::header::CONTENT_TYPE, "application/json")?;
                req.body = Some(v.to_string().into_bytes());
            }
            Some(Body::Form(f)) => {
                header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )?;
                req.body = Some(f.clone().into_bytes());
            }
            None => {}
        }
        Ok(req)
    }

    /// Send with retries until `deadline`; the first answer that is not
    /// retried (see [`retrying_if`](Self::retrying_if)).
    pub async fn call(&self, out: Outgoing<'_>, deadline: Instant) -> Result<Answer, LegacyError> {
        self.breaker_check()?;
        let started = Instant::now();
        let timeout_ms = self.resilience.timeout_ms;
        let mut attempt: u32 = 0;
        let mut last_error;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                last_error = format!("no answer within timeout_ms = {timeout_ms}");
                break;
            }
            let req = self.request(&out, remaining)?;
            // Every hop, redirects included, is checked by the network policy.
            match self.network.http().send(req, MAX_REDIRECTS).await {
                Ok(resp) => {
                    let status = resp.status();
                    let token_refused = resp
                        .headers()
                        .get_all(reqwest::header::WWW_AUTHENTICATE)
                        .iter()
                        .any(|v| v.to_str().is_ok_and(|v| v.contains("invalid_token")));
                    let body = match tokio::time::timeout(
                        deadline.saturating_duration_since(Instant::now()),
                        read_capped(resp),
                    )
                    .await
                    {
                        Ok(Ok(b)) => b,
                        Ok(Err(e)) => {
                            last_error = e;
                            break;
                        }
                        Err(_) => {
                            last_error = format!(
                                "the answer did not arrive within timeout_ms = {timeout_ms}"
                            );
                            break;
                        }
                    };
                    if (self.retry_if)(status, &body) {
                        last_error = format!("{} answered {status}", url_path(out.url));
                    } else {
                        self.breaker_record(true);
                        return Ok(Answer {
                            status,
                            token_refused,
                            body,
                        });
                    }
                }
                // A refused destination is the operator's decision: no retry,
                // and the circuit is not the place to remember it.
                Err(tern_net::SendError::Refused(r)) => {
                    return Err(LegacyError(format!("{} cannot be called: {r}", self.what)));
                }
                Err(e) if e.is_timeout() => {
                    last_error = format!("no answer within timeout_ms = {timeout_ms}");
                }
                Err(e) => last_error = transport_error(&e),
            }
            if attempt >= self.resilience.retries {
                break;
            }
            let backoff = tern_core::retry::jittered(Duration::from_millis(
                self.resilience
                    .backoff_ms
                    .saturating_mul(1 << attempt.min(16)),
            ));
            if deadline.saturating_duration_since(Instant::now()) <= backoff {
                break;
            }
            tokio::time::sleep(backoff).await;
            attempt += 1;
        }
        self.breaker_record(false);
        Err(LegacyError(format!(
            "{} failed after {} attempt(s) in {} ms: {last_error}",
            self.what,
            attempt + 1,
            started.elapsed().as_millis()
        )))
    }
}

/// The answer's body, up to [`MAX_ANSWER_BYTES`].
async fn read_capped(mut resp: reqwest::Response) -> Result<String, String> {
    let too_large =
        || format!("the answer is larger than {MAX_ANSWER_BYTES} bytes, all the connector reads");
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn url_path(url: &str) -> String {
    reqwest::Url::parse(url).map_or_else(|_| url.to_string(), |u| u.path().to_string())
}

fn transport_error(e: &tern_net::SendError) -> String {
    let what = if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    format!("{what}: {e}")
}

/// An excerpt of an answer's body for an error. A remote system may echo
/// its input (the password the user typed, JSON-escaped in the request)
/// and the credentials Tern sent, so those are redacted — from the whole
/// body, before the cut: a cut inside a secret would leave a piece no mask
/// matches.
pub fn excerpt<'a>(
    body: &str,
    typed_password: Option<&'a str>,
    secrets: impl Iterator<Item = &'a str>,
) -> String {
    let mut body = body.to_string();
    Redactions::new(typed_password, secrets).apply_text(&mut body);
    body.chars().take(EXCERPT_CHARS).collect()
}

/// A machine token, reused until 30 seconds (or a tenth of its life)
/// before it expires.
#[derive(Default)]
pub struct TokenCache(Mutex<Option<(String, Instant)>>);

impl TokenCache {
    /// The cached token, or a new one from `fetch` (token, lifetime in
    /// seconds) when there is none, it expired or `renew` asks for one.
    pub async fn get<F, Fut>(&self, renew: bool, fetch: F) -> Result<String, LegacyError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(String, i64), LegacyError>>,
    {
        let mut cached = self.0.lock().await;
        if !renew
            && let Some((t, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let (token, lifetime) = fetch().await?;
        let lifetime = u64::try_from(lifetime).unwrap_or(0);
        let margin = (lifetime / 10).min(30);
        *cached = Some((
            token.clone(),
            Instant::now() + Duration::from_secs(lifetime.saturating_sub(margin)),
        ));
        Ok(token)
    }
}
