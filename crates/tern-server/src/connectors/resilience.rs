//! How a connector calls a remote legacy service (the `http` connector's API,
//! AWS Cognito): through the tenant's network policy, inside one deadline,
//! retrying what may pass on a second try with jittered backoff, behind a
//! circuit breaker, reading at most [`MAX_ANSWER_BYTES`] of an answer.
//!
//! What counts as "may pass on a second try" is the connector's call: a 5xx
//! for the HTTP connector, also a throttling answer for Cognito (a 400).

use std::time::{Duration, Instant};

use prometheus_client::metrics::gauge::Gauge;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use tern_core::legacy::LegacyError;

/// Most bytes of an answer a connector reads (a user profile is a few
/// kilobytes): a service that answers more is cut off there, not buffered.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Redirects a connector's call follows (each hop checked by the network policy).
pub const MAX_REDIRECTS: usize = 5;

/// Serde default.
pub fn default_timeout() -> u64 {
    5000
}
/// Serde default.
pub fn default_retries() -> u32 {
    2
}
/// Serde default.
pub fn default_backoff() -> u64 {
    100
}
fn default_failures() -> u32 {
    5
}
fn default_cooldown() -> u64 {
    30_000
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

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failures: default_failures(),
            cooldown_ms: default_cooldown(),
        }
    }
}

/// The settings every remote connector shares. Each connector's
/// configuration spells them out (serde cannot flatten into a struct that
/// refuses unknown fields) with the defaults below.
#[derive(Debug, Clone, PartialEq)]
pub struct CallConfig {
    /// Bound of one call, retries included.
    pub timeout_ms: u64,
    /// Extra attempts after a connect error, timeout or retryable answer.
    pub retries: u32,
    /// First backoff, doubled at each retry.
    pub backoff_ms: u64,
    /// Circuit breaker.
    pub circuit_breaker: BreakerConfig,
}

impl CallConfig {
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
}

/// An answer, read.
pub struct Reply {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body (at most [`MAX_ANSWER_BYTES`]).
    pub body: String,
}

#[derive(Default)]
struct Breaker {
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

/// One connector's call discipline and circuit state.
pub struct Caller {
    config: CallConfig,
    /// How errors name the service ("the legacy API at https://…").
    service: String,
    network: tern_net::Network,
    breaker: std::sync::Mutex<Breaker>,
    /// 1 from the circuit opening until a call succeeds again, else 0.
    circuit_open: Gauge,
}

impl Caller {
    /// A caller with a closed circuit; `service` names the remote side in errors.
    pub fn new(config: CallConfig, service: String, network: tern_net::Network) -> Self {
        Self {
            config,
            service,
            network,
            breaker: std::sync::Mutex::new(Breaker::default()),
            circuit_open: Gauge::default(),
        }
    }

    /// Report the circuit's state in `gauge` (a new caller's is closed).
    pub fn report_circuit_in(&mut self, gauge: Gauge) {
        gauge.set(0);
        self.circuit_open = gauge;
    }

    /// The instant a call starting now must end by.
    pub fn deadline(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.config.timeout_ms)
    }

    fn breaker_check(&self) -> Result<(), LegacyError> {
        let b = self
            .breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match b.open_until {
            Some(until) if Instant::now() < until => Err(LegacyError(format!(
                "{} is considered down: circuit open after {} consecutive failures; next attempt in {} ms",
                self.service,
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
            if b.consecutive_failures >= self.config.circuit_breaker.failures {
                self.circuit_open.set(1);
                b.open_until = Some(
                    Instant::now() + Duration::from_millis(self.config.circuit_breaker.cooldown_ms),
                );
            }
        }
    }

    /// Send the request `build` makes (once per attempt) until an answer
    /// `retry_reason` accepts (it says why an answer is worth another try,
    /// or `None`), retrying connect errors, timeouts and such answers with
    /// jittered exponential backoff, all before `deadline`.
    pub async fn send(
        &self,
        deadline: Instant,
        max_redirects: usize,
        build: impl Fn() -> Result<tern_net::Request, LegacyError>,
        retry_reason: impl Fn(&Reply) -> Option<String>,
    ) -> Result<Reply, LegacyError> {
        self.breaker_check()?;
        let started = Instant::now();
        let timeout_ms = self.config.timeout_ms;
        let mut attempt: u32 = 0;
        let mut last_error;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                last_error = format!("no answer within timeout_ms = {timeout_ms}");
                break;
            }
            let mut req = build()?;
            req.timeout = Some(remaining);
            // Every hop, redirects included, is checked by the network policy.
            match self.network.http().send(req, max_redirects).await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
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
                    let reply = Reply {
                        status,
                        headers,
                        body,
                    };
                    match retry_reason(&reply) {
                        Some(why) => last_error = why,
                        None => {
                            self.breaker_record(true);
                            return Ok(reply);
                        }
                    }
                }
                // A refused destination is the operator's decision: no retry,
                // and the circuit is not the place to remember it.
                Err(tern_net::SendError::Refused(r)) => {
                    return Err(LegacyError(format!(
                        "{} cannot be called: {r}",
                        self.service
                    )));
                }
                Err(e) if e.is_timeout() => {
                    last_error = format!("no answer within timeout_ms = {timeout_ms}");
                }
                Err(e) => last_error = transport_error(&e),
            }
            if attempt >= self.config.retries {
                break;
            }
            let backoff = tern_core::retry::jittered(Duration::from_millis(
                self.config.backoff_ms.saturating_mul(1 << attempt.min(16)),
            ));
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining <= backoff {
                break;
            }
            tokio::time::sleep(backoff).await;
            attempt += 1;
        }
        self.breaker_record(false);
        Err(LegacyError(format!(
            "{} failed after {} attempt(s) in {} ms: {last_error}",
            self.service,
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

fn transport_error(e: &tern_net::SendError) -> String {
    let what = if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    format!("{what}: {e}")
}

/// Characters of an answer's body quoted in an error.
const EXCERPT_CHARS: usize = 200;

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
    crate::secrets::Redactions::new(typed_password, secrets).apply_text(&mut body);
    body.chars().take(EXCERPT_CHARS).collect()
}

/// A machine token, reused until 30 seconds (or a tenth of its life)
/// before it expires.
#[derive(Default)]
pub struct TokenCache(tokio::sync::Mutex<Option<(String, Instant)>>);

impl TokenCache {
    /// The cached token, or a new one from `fetch` (token, lifetime in
    /// seconds) when there is none, it expired or `renew` asks for one.
    pub async fn get<F, Fut>(&self, renew: bool, fetch: F) -> Result<String, LegacyError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(String, i64), LegacyError>>,
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
