//! The `http` connector: the legacy store is an HTTP API (such as
//! `examples/legacy-api`) protected by Tern's own machine tokens.
//!
//! ```json
//! "tern_connector": {
//!   "type": "http",
//!   "base_url": "http://127.0.0.1:4000",
//!   "login_path": "/login",                       // POST {"username","password"} → profile | 401
//!   "get_user_path": "/users",                    // GET ?email= (or a {email} placeholder) → profile | 404
//!   "migrated_path": "/users/{id}/migrated",      // POST after a migration; null: never called
//!   "count_path": "/users/count",                 // GET → N or {"count": N} (optional: the overview's "N of M")
//!   "profile_map": {"user_id": "/id", "email": "/email", "app_metadata.plan": "/account/plan"},
//!   "client_id": "…", "audience": "https://legacy-api.example/", "scope": "read:users migrate:users",
//!   "timeout_ms": 5000, "retries": 2, "backoff_ms": 100,
//!   "circuit_breaker": {"failures": 5, "cooldown_ms": 30000}
//! }
//! ```
//! The client secret is `options.configuration.TERN_CONNECTOR_CLIENT_SECRET`.
//!
//! Semantics: `timeout_ms` bounds a whole call, retries included. Connect
//! errors, timeouts and 5xx answers are retried with exponential backoff
//! (`backoff_ms`, doubled each time, each wait drawn between half and all
//! of it so that logins failing together do not retry together); 401 and
//! 404 are answers, never retried.
//! A 401 carrying `WWW-Authenticate: Bearer error="invalid_token"` means the
//! API refused Tern's token: the token is renewed once. After
//! `circuit_breaker.failures` consecutive failed calls the circuit opens for
//! `cooldown_ms`: calls fail at once (the user gets a 503) until a trial call
//! after the cool-down succeeds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::metrics::gauge::Gauge;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tern_core::legacy::{LegacyError, LegacyLogin, LegacyProfile, LegacySource, normalize_profile};
use tern_core::model::Connection;
use tokio::sync::Mutex;

use crate::secrets::Redactions;

use super::TokenSource;
use super::resilience::{self, BreakerConfig, CallConfig, Caller, MAX_REDIRECTS, Reply};

/// Characters of an unexpected answer's body quoted in the error.
const EXCERPT_CHARS: usize = 200;

/// Profile fields a `profile_map` may fill (plus `app_metadata.*`, `user_metadata.*`).
pub const TARGETS: &[&str] = &[
    "user_id",
    "email",
    "email_verified",
    "username",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
];

fn default_login_path() -> String {
    "/login".into()
}
fn default_get_user_path() -> String {
    "/users".into()
}
fn default_migrated_path() -> Option<String> {
    Some("/users/{id}/migrated".into())
}
/// `options.tern_connector` for `"type": "http"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Always `http`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `http(s)://host[:port][/prefix]`.
    pub base_url: String,
    /// `POST` with `{"username", "password"}`.
    #[serde(default = "default_login_path")]
    pub login_path: String,
    /// `GET` with `?email=` appended, or with `{email}` in the path.
    #[serde(default = "default_get_user_path")]
    pub get_user_path: String,
    /// `GET` answering how many users the legacy store holds (a number, or
    /// an object with `count`); absent: the store is not counted.
    #[serde(default)]
    pub count_path: Option<String>,
    /// `POST` after a migration, `{id}` = the legacy id; `null` = never.
    #[serde(default = "default_migrated_path")]
    pub migrated_path: Option<String>,
    /// Profile field ← JSON pointer into the answer; absent = the answer is
    /// already a profile (`user_id`/`id`, `email`, …).
    #[serde(default)]
    pub profile_map: Option<BTreeMap<String, String>>,
    /// The machine client Tern gets its token as.
    pub client_id: String,
    /// The legacy API's identifier in Tern.
    pub audience: String,
    /// Scopes to ask for (default: all the client grant allows).
    #[serde(default)]
    pub scope: Option<String>,
    /// Bound of one call, retries included.
    #[serde(default = "resilience::default_timeout")]
    pub timeout_ms: u64,
    /// Extra attempts after a connect error, timeout or 5xx.
    #[serde(default = "resilience::default_retries")]
    pub retries: u32,
    /// First backoff, doubled at each retry.
    #[serde(default = "resilience::default_backoff")]
    pub backoff_ms: u64,
    /// Circuit breaker.
    #[serde(default)]
    pub circuit_breaker: BreakerConfig,
}

impl HttpConfig {
    /// The retry, deadline and circuit settings.
    pub fn call_config(&self) -> CallConfig {
        CallConfig {
            timeout_ms: self.timeout_ms,
            retries: self.retries,
            backoff_ms: self.backoff_ms,
            circuit_breaker: self.circuit_breaker.clone(),
        }
    }
}

/// Mask the credentials of an `http` connector's `base_url` stored before
/// they were refused, as the answers show a connection.
pub fn mask_settings(settings: &mut Value, mask: &str) {
    if settings.get("type").and_then(Value::as_str) != Some("http") {
        return;
    }
    let Some(Value::String(base_url)) = settings.get_mut("base_url") else {
        return;
    };
    if let Ok(mut url) = reqwest::Url::parse(base_url)
        && (!url.username().is_empty() || url.password().is_some())
        && url.set_username(mask).is_ok()
        && url.set_password(None).is_ok()
    {
        *base_url = url.to_string();
    }
}

/// Parse and check a configuration; the message names the field.
pub fn parse(config: &Value) -> Result<HttpConfig, String> {
    let c: HttpConfig = super::settings(config)?;
    let url = reqwest::Url::parse(&c.base_url)
        .map_err(|e| format!("base_url '{}' is not a URL: {e}", c.base_url))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "base_url '{}' must be an http:// or https:// URL with a host",
            c.base_url
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("base_url must not have a query or a fragment".into());
    }
    // `read:connections` answers the settings as stored: credentials in the
    // URL would reach every reader (the API authenticates Tern by its
    // machine token, whose secret is sealed in `configuration`).
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "base_url must not hold credentials (user:password@): the legacy API accepts Tern's machine token, whose client secret goes in options.configuration.TERN_CONNECTOR_CLIENT_SECRET".into(),
        );
    }
    for (name, path) in [
        ("login_path", Some(&c.login_path)),
        ("get_user_path", Some(&c.get_user_path)),
        ("migrated_path", c.migrated_path.as_ref()),
        ("count_path", c.count_path.as_ref()),
    ] {
        if let Some(p) = path
            && (!p.starts_with('/') || p.len() > 1024)
        {
            return Err(format!(
                "{name} must start with '/' (at most 1024 characters)"
            ));
        }
    }
    if c.migrated_path
        .as_ref()
        .is_some_and(|p| !p.contains("{id}"))
    {
        return Err("migrated_path must contain {id} (the legacy user id)".into());
    }
    if let Some(map) = &c.profile_map {
        for (target, pointer) in map {
            check_target(target)?;
            if !(pointer.is_empty() || pointer.starts_with('/')) {
                return Err(format!(
                    "profile_map.{target}: '{pointer}' is not a JSON pointer (e.g. /id, /account/plan)"
                ));
            }
        }
        if !map.contains_key("user_id") {
            return Err(
                "profile_map must map user_id: a stable id keeps users from being duplicated"
                    .into(),
            );
        }
    }
    if c.client_id.trim().is_empty() || c.audience.trim().is_empty() {
        return Err("client_id and audience must not be empty".into());
    }
    c.call_config().check()?;
    Ok(c)
}

/// Check that a connector's `profile_map` names a profile field Tern fills.
pub fn check_target(target: &str) -> Result<(), String> {
    let nested = ["app_metadata.", "user_metadata."].iter().any(|p| {
        target
            .strip_prefix(p)
            .is_some_and(|k| !k.is_empty() && !k.contains('.'))
    });
    if TARGETS.contains(&target) || nested {
        Ok(())
    } else {
        Err(format!(
            "profile_map: '{target}' is not a profile field ({}, app_metadata.KEY, user_metadata.KEY)",
            TARGETS.join(", ")
        ))
    }
}

/// Build the profile a `profile_map` describes from an answer.
pub fn map_profile(answer: &Value, map: Option<&BTreeMap<String, String>>) -> Value {
    let Some(map) = map else {
        return answer.clone();
    };
    let mut out = Map::new();
    for (target, pointer) in map {
        let Some(v) = answer.pointer(pointer).filter(|v| !v.is_null()) else {
            continue;
        };
        match target.split_once('.') {
            Some((bag, key)) => {
                if let Value::Object(m) = out.entry(bag).or_insert_with(|| json!({})) {
                    m.insert(key.to_string(), v.clone());
                }
            }
            None => {
                out.insert(target.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// One connection's HTTP connector: its token and its circuit state live as
/// long as the configuration is unchanged.
pub struct HttpConnector {
    config: HttpConfig,
    base: String,
    secret: String,
    tokens: Arc<dyn TokenSource>,
    token: Mutex<Option<(String, Instant)>>,
    caller: Caller,
}

/// What one call produced before it is interpreted.
struct Answer {
    status: StatusCode,
    token_refused: bool,
    body: String,
    /// The bearer token sent for this answer: an API may echo it back.
    token: String,
}

impl HttpConnector {
    /// A connector for a validated configuration.
    pub fn new(
        config: HttpConfig,
        secret: String,
        network: tern_net::Network,
        tokens: Arc<dyn TokenSource>,
    ) -> Self {
        let base = config.base_url.trim_end_matches('/').to_string();
        Self {
            caller: Caller::new(
                config.call_config(),
                format!("the legacy API at {base}"),
                network,
            ),
            base,
            config,
            secret,
            tokens,
            token: Mutex::new(None),
        }
    }

    /// Report the circuit's state in `gauge` (a new connector's is closed).
    #[must_use]
    pub fn reporting_circuit_in(mut self, gauge: Gauge) -> Self {
        self.caller.report_circuit_in(gauge);
        self
    }

    /// A token for the legacy API, minted by Tern for the configured client,
    /// reused until 30 seconds (or a tenth of its life) before it expires.
    async fn token(&self, renew: bool) -> Result<String, LegacyError> {
        let mut cached = self.token.lock().await;
        if !renew
            && let Some((t, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let (token, lifetime) = self
            .tokens
            .client_token(
                &self.config.client_id,
                &self.secret,
                &self.config.audience,
                self.config.scope.as_deref(),
            )
            .await
            .map_err(|e| {
                LegacyError(format!(
                    "Tern could not get a token for the legacy API (client '{}', audience '{}'): {e}",
                    self.config.client_id, self.config.audience
                ))
            })?;
        let lifetime = u64::try_from(lifetime).unwrap_or(0);
        let margin = (lifetime / 10).min(30);
        *cached = Some((
            token.clone(),
            Instant::now() + Duration::from_secs(lifetime.saturating_sub(margin)),
        ));
        Ok(token)
    }

    /// Send with retries inside the deadline; a refused token is renewed once.
    async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
    ) -> Result<Answer, LegacyError> {
        let deadline = self.caller.deadline();
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| LegacyError(format!("the connector URL {url} is invalid: {e}")))?;
        let mut renewed = false;
        let mut token = self.token(false).await?;
        loop {
            let build = || {
                let mut req = tern_net::Request::new(method.clone(), parsed.clone());
                req.headers.insert(
                    reqwest::header::AUTHORIZATION,
                    reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
                        .map_err(|e| LegacyError(format!("unusable token: {e}")))?,
                );
                if let Some(b) = &body {
                    req.headers.insert(
                        reqwest::header::CONTENT_TYPE,
                        reqwest::header::HeaderValue::from_static("application/json"),
                    );
                    req.body = Some(b.to_string().into_bytes());
                }
                Ok(req)
            };
            let reply = self
                .caller
                .send(deadline, MAX_REDIRECTS, build, |r: &Reply| {
                    r.status
                        .is_server_error()
                        .then(|| format!("{} answered {}", parsed.path(), r.status))
                })
                .await?;
            let token_refused = reply
                .headers
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .any(|v| v.to_str().is_ok_and(|v| v.contains("invalid_token")));
            if reply.status == StatusCode::UNAUTHORIZED && token_refused && !renewed {
                // Keys rotated or the token was revoked: one fresh token.
                renewed = true;
                token = self.token(true).await?;
                continue;
            }
            return Ok(Answer {
                status: reply.status,
                token_refused,
                body: reply.body,
                token,
            });
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn profile(&self, body: &str) -> Result<LegacyProfile, LegacyError> {
        let v: Value = serde_json::from_str(body).map_err(|e| {
            LegacyError(format!(
                "the legacy API answered 200 with a body that is not JSON: {e}"
            ))
        })?;
        let mapped = map_profile(&v, self.config.profile_map.as_ref());
        normalize_profile(&mapped)
            .map_err(|e| LegacyError(format!("the legacy API's profile is unusable: {}", e.0)))
    }

    /// The error of an answer Tern did not expect, with an excerpt of its
    /// body for the tenant log. A legacy API may echo its input there (the
    /// password the user typed, JSON-escaped in the request) and the
    /// credentials Tern sent (its bearer token), so those are redacted —
    /// from the whole body, before the cut: a cut inside a secret would
    /// leave a piece no mask matches.
    fn unexpected(&self, what: &str, a: &Answer, typed_password: Option<&str>) -> LegacyError {
        let mut body = a.body.clone();
        Redactions::new(
            typed_password,
            [a.token.as_str(), self.secret.as_str()].into_iter(),
        )
        .apply_text(&mut body);
        let excerpt: String = body.chars().take(EXCERPT_CHARS).collect();
        if a.token_refused || a.status == StatusCode::FORBIDDEN {
            LegacyError(format!(
                "the legacy API refused Tern's token for {what} ({}): {excerpt} — check the client grant's scopes and the API's audience",
                a.status
            ))
        } else {
            LegacyError(format!(
                "the legacy API answered {} to {what}: {excerpt}",
                a.status
            ))
        }
    }
}

#[async_trait::async_trait]
impl LegacySource for HttpConnector {
    async fn login(
        &self,
        _tenant: &str,
        _connection: &Connection,
        username: &str,
        password: &str,
    ) -> Result<LegacyLogin, LegacyError> {
        let url = self.url(&self.config.login_path);
        let a = self
            .call(
                reqwest::Method::POST,
                &url,
                Some(json!({"username": username, "password": password})),
            )
            .await?;
        match a.status {
            s if s.is_success() => Ok(LegacyLogin::Profile(Box::new(self.profile(&a.body)?))),
            StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND if !a.token_refused => {
                Ok(LegacyLogin::WrongCredentials { user: None })
            }
            _ => Err(self.unexpected("login", &a, Some(password))),
        }
    }

    async fn get_user(
        &self,
        _tenant: &str,
        _connection: &Connection,
        email: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        let encoded = urlencoding::encode(email);
        let path = &self.config.get_user_path;
        let url = if path.contains("{email}") {
            self.url(&path.replace("{email}", &encoded))
        } else {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{}{sep}email={encoded}", self.url(path))
        };
        let a = self.call(reqwest::Method::GET, &url, None).await?;
        match a.status {
            s if s.is_success() => Ok(Some(self.profile(&a.body)?)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.unexpected("get_user", &a, None)),
        }
    }

    async fn count(
        &self,
        _tenant: &str,
        _connection: &Connection,
    ) -> Result<Option<u64>, LegacyError> {
        let Some(path) = &self.config.count_path else {
            return Ok(None);
        };
        let a = self
            .call(reqwest::Method::GET, &self.url(path), None)
            .await?;
        if !a.status.is_success() {
            return Err(self.unexpected("count", &a, None));
        }
        let v: Value = serde_json::from_str(&a.body).unwrap_or(Value::Null);
        v.as_u64()
            .or_else(|| v.get("count").and_then(Value::as_u64))
            .map(Some)
            .ok_or_else(|| {
                LegacyError(
                    "the count answer is neither a number nor an object with \"count\"".into(),
                )
            })
    }

    async fn mark_migrated(
        &self,
        _tenant: &str,
        _connection: &Connection,
        profile: &LegacyProfile,
    ) -> Result<(), LegacyError> {
        let Some(path) = &self.config.migrated_path else {
            return Ok(());
        };
        let url = self.url(&path.replace("{id}", &urlencoding::encode(&profile.user_id)));
        let a = self.call(reqwest::Method::POST, &url, None).await?;
        if a.status.is_success() {
            Ok(())
        } else {
            Err(self.unexpected("mark migrated", &a, None))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn base() -> Value {
        json!({"type": "http", "base_url": "http://127.0.0.1:4000", "client_id": "c", "audience": "https://legacy/"})
    }

    #[test]
    fn credentials_in_a_stored_base_url_are_masked() {
        let mut v = base();
        v["base_url"] = json!("https://svc:hunter2@legacy.example/api");
        mask_settings(&mut v, "********");
        assert_eq!(v["base_url"], "https://********@legacy.example/api");
        let mut plain = base();
        mask_settings(&mut plain, "********");
        assert_eq!(plain, base());
    }

    #[test]
    fn defaults_and_checks() {
        let c = parse(&base()).unwrap();
        assert_eq!(
            (
                c.login_path.as_str(),
                c.get_user_path.as_str(),
                c.migrated_path.as_deref()
            ),
            ("/login", "/users", Some("/users/{id}/migrated"))
        );
        assert_eq!(
            (c.timeout_ms, c.retries, c.circuit_breaker.failures),
            (5000, 2, 5)
        );
        let with = |k: &str, v: Value| {
            let mut b = base();
            b[k] = v;
            parse(&b)
        };
        assert!(
            with("migrated_path", Value::Null)
                .unwrap()
                .migrated_path
                .is_none()
        );
        for (k, v, needle) in [
            ("base_url", json!("ftp://x"), "http:// or https://"),
            ("base_url", json!("not a url"), "is not a URL"),
            ("login_path", json!("login"), "must start with '/'"),
            ("migrated_path", json!("/users/migrated"), "{id}"),
            ("timeout_ms", json!(0), "timeout_ms"),
            ("retries", json!(9), "retries"),
            ("profile_map", json!({"email": "/mail"}), "must map user_id"),
            ("profile_map", json!({"user_id": "id"}), "JSON pointer"),
            (
                "profile_map",
                json!({"user_id": "/id", "password": "/pw"}),
                "not a profile field",
            ),
            (
                "circuit_breaker",
                json!({"failures": 0}),
                "circuit_breaker.failures",
            ),
            ("surprise", json!(1), "unknown field"),
            ("client_id", json!(""), "client_id"),
        ] {
            let e = with(k, v).unwrap_err();
            assert!(e.contains(needle), "{k}: {e}");
        }
    }

    #[test]
    fn profile_map_reads_pointers() {
        let answer = json!({"id": 7, "mail": "A@x.co", "account": {"plan": "gold"}, "nick": null});
        let map: BTreeMap<String, String> = serde_json::from_value(json!({
            "user_id": "/id", "email": "/mail", "nickname": "/nick", "app_metadata.plan": "/account/plan", "name": "/missing"
        }))
        .unwrap();
        let p = map_profile(&answer, Some(&map));
        assert_eq!(
            p,
            json!({"user_id": 7, "email": "A@x.co", "app_metadata": {"plan": "gold"}})
        );
        let n = normalize_profile(&p).unwrap();
        assert_eq!(
            (n.user_id.as_str(), n.email.as_deref()),
            ("7", Some("a@x.co"))
        );
        assert_eq!(map_profile(&answer, None), answer);
    }
}
