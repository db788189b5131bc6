//! The Management API client shared by `tern import` and `tern export`: a
//! client-credentials token (fetched once, refreshed on a 401) and requests
//! that wait out 429s and retry transient failures. It speaks only the public
//! API, like any other client of Tern.

pub mod credentials;
pub mod retry;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::lock;
pub use credentials::{ApiArgs, Credentials};
use retry::wait_after_429;
pub use retry::{api_message, backoff};

/// A request to send: built afresh for every attempt.
pub type Build<'a> =
    &'a (dyn Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder, String> + Sync);

/// An authenticated Management API client.
pub struct Client {
    http: reqwest::Client,
    creds: Credentials,
    audience: String,
    token: Mutex<String>,
    /// One refresh at a time; the others wait and use its token.
    refresh: tokio::sync::Mutex<()>,
    waits_429: AtomicU64,
    /// The end of the rate limit's window (epoch seconds) when the last
    /// answer said it was spent: requests wait for it rather than meet a 429.
    spent_until: Mutex<Option<f64>>,
    /// Whether the server holds a job poll until the job ends (Tern's
    /// `tern_wait_ms`); cleared when a server refuses the parameter.
    held_polls: AtomicBool,
    /// Set by the command to stop waiting and retrying.
    stop: Arc<AtomicBool>,
}

/// How long one held job poll may wait on the server: progress is shown at
/// least this often, and a job's end is seen as it happens.
const JOB_POLL_WAIT_MS: u64 = 1_000;

impl Client {
    /// Resolve the audience (given, or from the discovery document) and get a token.
    /// `agent` names the command in the User-Agent; `stop` ends retries early.
    pub async fn connect(
        creds: Credentials,
        agent: &str,
        stop: Arc<AtomicBool>,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .user_agent(format!("{agent}/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let audience = match &creds.audience {
            Some(a) => a.clone(),
            None => discover_audience(&http, &creds.base).await?,
        };
        let client = Self {
            http,
            creds,
            audience,
            token: Mutex::new(String::new()),
            refresh: tokio::sync::Mutex::new(()),
            waits_429: AtomicU64::new(0),
            spent_until: Mutex::new(None),
            held_polls: AtomicBool::new(true),
            stop,
        };
        let t = client.fetch_token().await?;
        *lock(&client.token) = t;
        Ok(client)
    }

    /// Whether job polls wait on the server for the job's end, so that the
    /// caller need not sleep between them.
    pub fn holds_polls(&self) -> bool {
        self.held_polls.load(Ordering::Relaxed)
    }

    /// Where requests go: `http(s)://host:port`.
    pub fn base(&self) -> &str {
        &self.creds.base
    }

    /// The Management API audience the token is for.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The HTTP client without credentials (for signed links, which must not
    /// receive our bearer token).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// How many times a 429 was waited out.
    pub fn waits_429(&self) -> u64 {
        self.waits_429.load(Ordering::Relaxed)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    async fn fetch_token(&self) -> Result<String, String> {
        let url = format!("{}/oauth/token", self.creds.base);
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": self.creds.client_id,
            "client_secret": self.creds.client_secret,
            "audience": self.audience,
        });
        let mut attempt = 0;
        loop {
            let r = match self.http.post(&url).json(&body).send().await {
                Ok(r) => r,
                Err(e) if attempt < 3 && e.is_connect() => {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt, 300, 3000)).await;
                    continue;
                }
                Err(e) => return Err(format!("cannot reach {}: {e}", self.creds.base)),
            };
            let status = r.status();
            if status == StatusCode::TOO_MANY_REQUESTS && attempt < 10 {
                attempt += 1;
                tokio::time::sleep(wait_after_429(r.headers(), attempt)).await;
                continue;
            }
            let text = r.text().await.unwrap_or_default();
            if !status.is_success() {
                return Err(format!(
                    "cannot get a token from {url} for client {} and audience {}: {}",
                    self.creds.client_id,
                    self.audience,
                    api_message(status, &text)
                ));
            }
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return v
                .get("access_token")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("{url} answered without an access_token"));
        }
    }

    async fn refresh_token(&self, stale: &str) -> Result<(), String> {
        let _guard = self.refresh.lock().await;
        if *lock(&self.token) != stale {
            return Ok(()); // another task refreshed it
        }
        let t = self.fetch_token().await?;
        *lock(&self.token) = t;
        Ok(())
    }

    /// Send with the bearer token. Waits out 429s, refreshes an expired token
    /// once, retries 5xx and refused connections (any transport error when
    /// `idempotent`) a few times. Any other answer is returned as is. After
    /// an answer that says the rate limit's window is spent, requests wait
    /// for its end instead of being refused (and waiting longer).
    pub async fn call(
        &self,
        what: &str,
        idempotent: bool,
        build: Build<'_>,
    ) -> Result<reqwest::Response, String> {
        let (mut attempt, mut waits, mut refreshed) = (0u32, 0u32, false);
        loop {
            let spent = *lock(&self.spent_until);
            if let Some(wait) = retry::wait_until(spent, retry::now_secs()) {
                tokio::time::sleep(wait).await;
                if self.stopping() {
                    return Err(format!("{what}: stopped"));
                }
            }
            let token = lock(&self.token).clone();
            let res = build(&self.http)?.bearer_auth(&token).send().await;
            if let Ok(r) = &res
                && r.headers().contains_key("x-ratelimit-remaining")
            {
                let mut known = lock(&self.spent_until);
                *known = retry::pace_after(*known, r.headers());
            }
            let retry_after = match res {
                Err(e) => {
                    if attempt >= 5 || !(idempotent || e.is_connect()) {
                        return Err(format!("{what}: cannot reach {}: {e}", self.creds.base));
                    }
                    attempt += 1;
                    backoff(attempt, 300, 5000)
                }
                Ok(r) => match r.status() {
                    StatusCode::UNAUTHORIZED if !refreshed => {
                        refreshed = true;
                        self.refresh_token(&token).await?;
                        continue;
                    }
                    StatusCode::TOO_MANY_REQUESTS => {
                        self.waits_429.fetch_add(1, Ordering::Relaxed);
                        waits += 1;
                        wait_after_429(r.headers(), waits)
                    }
                    s if s.is_server_error() && attempt < 5 => {
                        attempt += 1;
                        backoff(attempt, 300, 5000)
                    }
                    _ => return Ok(r),
                },
            };
            if self.stopping() {
                return Err(format!("{what}: stopped"));
            }
            tokio::time::sleep(retry_after).await;
        }
    }

    /// `call`, then the answer's status and body text.
    pub async fn call_text(
        &self,
        what: &str,
        idempotent: bool,
        build: Build<'_>,
    ) -> Result<(StatusCode, String), String> {
        let r = self.call(what, idempotent, build).await?;
        let status = r.status();
        Ok((status, r.text().await.unwrap_or_default()))
    }

    /// `GET /api/v2/jobs/{id}`: the job as JSON, or the server's message.
    /// Against Tern the request is held until the job ends or a second has
    /// passed; a server that refuses `tern_wait_ms` (Auth0) is asked plainly
    /// from then on, and the caller paces its polls (see [`Self::holds_polls`]).
    pub async fn job(&self, id: &str) -> Result<Value, String> {
        let url = format!("{}/api/v2/jobs/{id}", self.creds.base);
        let mut answer = None;
        if self.holds_polls() {
            let held = format!("{url}?tern_wait_ms={JOB_POLL_WAIT_MS}");
            let (status, text) = self
                .call_text("poll a job", true, &|c| Ok(c.get(&held)))
                .await?;
            if status == StatusCode::BAD_REQUEST {
                self.held_polls.store(false, Ordering::Relaxed);
            } else {
                answer = Some((status, text));
            }
        }
        let (status, text) = match answer {
            Some(a) => a,
            None => {
                self.call_text("poll a job", true, &|c| Ok(c.get(&url)))
                    .await?
            }
        };
        if !status.is_success() {
            return Err(format!("job {id}: {}", api_message(status, &text)));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The id of the connection called `name`.
    pub async fn connection_id(&self, name: &str) -> Result<String, String> {
        let url = format!("{}/api/v2/connections", self.creds.base);
        let (status, text) = self
            .call_text("list connections", true, &|c| {
                Ok(c.get(&url)
                    .query(&[("name", name), ("fields", "id,name,strategy")]))
            })
            .await?;
        if !status.is_success() {
            return Err(format!(
                "cannot look up connection {name:?}: {}",
                api_message(status, &text)
            ));
        }
        let list: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let list = list
            .as_array()
            .or_else(|| list.get("connections").and_then(Value::as_array))
            .cloned()
            .unwrap_or_default();
        list.iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|c| c.get("id").and_then(Value::as_str))
            .map(str::to_string)
            .ok_or_else(|| format!("there is no connection named {name:?}"))
    }
}

/// The Management API audience from the discovery document: `<issuer>api/v2/`.
async fn discover_audience(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let url = format!("{base}/.well-known/openid-configuration");
    let r = http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {base}: {e}"))?;
    let v: Value = r
        .json()
        .await
        .map_err(|e| format!("{url}: no discovery document ({e}); pass --audience"))?;
    let issuer = v
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{url}: no issuer; pass --audience"))?;
    Ok(format!("{}/api/v2/", issuer.trim_end_matches('/')))
}
