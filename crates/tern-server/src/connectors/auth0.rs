//! The `auth0` connector: the legacy store is another Auth0 tenant (or
//! anything speaking its Authentication and Management APIs). Users move
//! lazily, without a hash export: at a user's first login Tern checks the
//! password with the old tenant and keeps the user with the same `user_id`.
//!
//! ```json
//! "tern_connector": {
//!   "type": "auth0",
//!   "domain": "acme.eu.auth0.com",          // or "base_url": "https://login.acme.com"
//!   "client_id": "…",                       // password-realm grant + Management API read:users
//!   "realm": "Username-Password-Authentication",
//!   "audience": null,                       // the Management API identifier; default {base}/api/v2/
//!   "mark_migrated": false,                 // true: PATCH app_metadata.tern_migrated (update:users)
//!   "timeout_ms": 5000, "retries": 2, "backoff_ms": 100,
//!   "circuit_breaker": {"failures": 5, "cooldown_ms": 30000}
//! }
//! ```
//! The client secret is `options.configuration.AUTH0_CLIENT_SECRET`.
//!
//! Login: the password-realm grant (`scope openid profile email`, no
//! audience: the user's token only names the user, through its id token's
//! `sub`, or `/userinfo` when no id token comes) proves the password; the
//! full user then comes from `GET /api/v2/users/{id}` with a
//! client-credentials token for the Management API, cached until it
//! expires. Decisions, each documented in the README:
//! - a Management token without `read:users` refuses the login (a clear
//!   error, nothing stored) rather than migrating a user without its
//!   metadata: a user migrates once, a partial copy would stay partial;
//! - `mfa_required`: the password was right but the old tenant wants a
//!   second factor, whose secrets cannot come over (Auth0 exports none):
//!   not migrated (the password alone would move a protected account, and
//!   a thief could enrol their own factor in Tern), unless
//!   `migrate_mfa_users` says to — then found through the Management API by
//!   its login name, it enrols again in Tern;
//! - `invalid_grant` is wrong credentials; `too_many_attempts`, a blocked
//!   user, a user outside `realm` are refused with the reason in the log;
//! - 429, 5xx and timeouts are retried with jittered backoff (`resilience`).
//!
//! `get_user` reads `users-by-email` (or, for a username, a v3 search),
//! keeping only users of `realm`. `count` is not offered: the Management
//! API has no per-connection user count.

use std::time::Instant;

use base64::Engine;
use prometheus_client::metrics::gauge::Gauge;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use tern_core::legacy::{LegacyError, LegacyLogin, LegacyProfile, LegacySource, normalize_profile};
use tern_core::model::Connection;

mod config;

pub use config::{Auth0Config, parse};

use super::resilience::{Caller, MAX_REDIRECTS, Reply, TokenCache, excerpt};

/// One request the connector sends.
struct Outgoing<'a> {
    method: Method,
    url: &'a str,
    /// A bearer token for `Authorization`, if any.
    bearer: Option<&'a str>,
    /// A JSON body, if any.
    body: Option<Value>,
    /// The end user's address, sent as `auth0-forwarded-for`.
    end_user_ip: Option<&'a str>,
}

impl Outgoing<'_> {
    fn request(&self) -> Result<tern_net::Request, LegacyError> {
        let url = reqwest::Url::parse(self.url)
            .map_err(|e| LegacyError(format!("the connector URL {} is invalid: {e}", self.url)))?;
        let mut req = tern_net::Request::new(self.method.clone(), url);
        let value = |v: &str| {
            reqwest::header::HeaderValue::from_str(v)
                .map_err(|e| LegacyError(format!("unusable header value: {e}")))
        };
        if let Some(t) = self.bearer {
            req.headers.insert(
                reqwest::header::AUTHORIZATION,
                value(&format!("Bearer {t}"))?,
            );
        }
        if let Some(ip) = self.end_user_ip {
            req.headers.insert(
                reqwest::header::HeaderName::from_static("auth0-forwarded-for"),
                value(ip)?,
            );
        }
        if let Some(v) = &self.body {
            req.headers
                .insert(reqwest::header::CONTENT_TYPE, value("application/json")?);
            req.body = Some(v.to_string().into_bytes());
        }
        Ok(req)
    }
}

/// The `options.configuration` key of the source tenant client's secret.
pub const SECRET_KEY: &str = "AUTH0_CLIENT_SECRET";
/// Auth0's password grant naming the connection.
const PASSWORD_REALM: &str = crate::password_grant::PASSWORD_REALM;
/// What the user's token asks for: an id token naming the user.
const LOGIN_SCOPE: &str = "openid profile email";

/// One connection's `auth0` connector: its Management token and circuit
/// state live as long as the configuration is unchanged.
pub struct Auth0Connector {
    config: Auth0Config,
    base: String,
    secret: String,
    management_token: TokenCache,
    caller: Caller,
}

/// An Auth0 error answer (`error`/`error_description` from the
/// Authentication API; `errorCode`/`message` from the Management API).
struct Refusal {
    code: String,
    description: String,
}

fn refusal(body: &str) -> Refusal {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
    Refusal {
        code: [s("error"), s("errorCode")]
            .into_iter()
            .find(|c| !c.is_empty())
            .unwrap_or_default()
            .to_string(),
        description: [s("error_description"), s("message")]
            .into_iter()
            .find(|c| !c.is_empty())
            .unwrap_or_default()
            .to_string(),
    }
}

/// Auth0 answers 429 when a tenant's rate limit is reached: worth
/// retrying, like a 5xx; but not a user blocked for too many attempts
/// (429 `too_many_attempts` too), which no retry changes.
fn worth_retrying(status: StatusCode, body: &str) -> bool {
    status.is_server_error()
        || (status == StatusCode::TOO_MANY_REQUESTS && refusal(body).code != "too_many_attempts")
}

/// Why an answer is worth another try (see [`worth_retrying`]).
fn retry_reason(r: &Reply) -> Option<String> {
    worth_retrying(r.status, &r.body)
        .then(|| format!("the source Auth0 tenant answered {}", r.status))
}

/// The `sub` claim of an id token received straight from the token
/// endpoint: Tern made that request itself, so the answer's origin is the
/// check (OpenID Connect Core 3.1.3.7 allows TLS to stand in for the
/// signature there); only the claim naming the user is read.
fn id_token_subject(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_string)
}

/// A Lucene phrase for a v3 user search: `\` and `"` escaped.
fn lucene_phrase(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        if matches!(ch, '\\' | '"') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

impl Auth0Connector {
    /// A connector for a validated configuration.
    pub fn new(config: Auth0Config, secret: String, network: tern_net::Network) -> Self {
        let base = config.base();
        let caller = Caller::new(
            config.call_config(),
            format!("the source Auth0 tenant at {base}"),
            network,
        );
        Self {
            config,
            base,
            secret,
            management_token: TokenCache::default(),
            caller,
        }
    }

    /// Report the circuit's state in `gauge` (a new connector's is closed).
    #[must_use]
    pub fn reporting_circuit_in(mut self, gauge: Gauge) -> Self {
        self.caller.report_circuit_in(gauge);
        self
    }

    /// Send with retries until `deadline`.
    async fn call(&self, out: Outgoing<'_>, deadline: Instant) -> Result<Reply, LegacyError> {
        self.caller
            .send(deadline, MAX_REDIRECTS, || out.request(), retry_reason)
            .await
    }

    fn redacted(&self, body: &str, password: Option<&str>, token: Option<&str>) -> String {
        excerpt(
            body,
            password,
            [self.secret.as_str(), token.unwrap_or_default()]
                .into_iter()
                .filter(|s| !s.is_empty()),
        )
    }

    async fn token_request(&self, body: Value, deadline: Instant) -> Result<Reply, LegacyError> {
        let url = format!("{}/oauth/token", self.base);
        let out = Outgoing {
            method: Method::POST,
            url: &url,
            bearer: None,
            body: Some(body),
            end_user_ip: None,
        };
        self.call(out, deadline).await
    }

    /// A client-credentials token for the source tenant's Management API.
    async fn management_token(
        &self,
        renew: bool,
        deadline: Instant,
    ) -> Result<String, LegacyError> {
        self.management_token
            .get(renew, || async {
                let audience = self.config.management_audience();
                let a = self
                    .token_request(
                        json!({"grant_type": "client_credentials", "client_id": self.config.client_id,
                               "client_secret": self.secret, "audience": audience}),
                        deadline,
                    )
                    .await?;
                let v: Value = serde_json::from_str(&a.body).unwrap_or(Value::Null);
                match v.get("access_token").and_then(Value::as_str) {
                    Some(t) if a.status.is_success() => Ok((
                        t.to_string(),
                        v.get("expires_in").and_then(Value::as_i64).unwrap_or(0),
                    )),
                    _ => Err(LegacyError(format!(
                        "the source Auth0 tenant gave no Management API token to client '{}' (audience '{audience}'), {}: {} — authorize the client for the Management API with read:users",
                        self.config.client_id,
                        a.status,
                        self.redacted(&a.body, None, None)
                    ))),
                }
            })
            .await
    }

    /// A Management API call; a refused token is renewed once.
    async fn management(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Value>,
        deadline: Instant,
    ) -> Result<(Reply, String), LegacyError> {
        let url = format!("{}/api/v2{path_and_query}", self.base);
        let mut token = self.management_token(false, deadline).await?;
        let mut renewed = false;
        loop {
            let out = Outgoing {
                method: method.clone(),
                url: &url,
                bearer: Some(&token),
                body: body.clone(),
                end_user_ip: None,
            };
            let a = self.call(out, deadline).await?;
            if a.status == StatusCode::UNAUTHORIZED && !renewed {
                // Keys rotated or the grant changed: one fresh token.
                renewed = true;
                token = self.management_token(true, deadline).await?;
                continue;
            }
            return Ok((a, token));
        }
    }

    /// The error of a Management API answer Tern did not expect.
    fn management_error(&self, what: &str, (a, token): &(Reply, String)) -> LegacyError {
        let body = self.redacted(&a.body, None, Some(token));
        if a.status == StatusCode::FORBIDDEN || a.status == StatusCode::UNAUTHORIZED {
            LegacyError(format!(
                "the source Auth0 tenant refused {what} ({}): {body} — the Management API client grant of '{}' needs read:users{}; nothing was migrated",
                a.status,
                self.config.client_id,
                if self.config.mark_migrated {
                    " and update:users (mark_migrated)"
                } else {
                    ""
                }
            ))
        } else {
            LegacyError(format!(
                "the source Auth0 tenant answered {} to {what}: {body}",
                a.status
            ))
        }
    }

    /// Whether an Auth0 user object belongs to the configured database connection.
    fn in_realm(&self, user: &Value) -> bool {
        user.get("identities")
            .and_then(Value::as_array)
            .is_some_and(|ids| {
                ids.iter().any(|i| {
                    i.get("provider").and_then(Value::as_str) == Some("auth0")
                        && i.get("connection").and_then(Value::as_str)
                            == Some(self.config.realm.as_str())
                })
            })
    }

    /// A Tern profile from an Auth0 user object: the same `user_id` (with
    /// its `auth0|` prefix, which `migrated_user` puts back), metadata,
    /// verification and creation time; MFA enrollments stay behind.
    fn profile(&self, user: &Value) -> Result<LegacyProfile, LegacyError> {
        let id = user
            .get("user_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !id.starts_with("auth0|") || !self.in_realm(user) {
            return Err(LegacyError::unusable_profile(format!(
                "the source tenant's user '{id}' is not a user of its database connection '{}' (social and enterprise identities are not migrated)",
                self.config.realm
            )));
        }
        if user.get("blocked").and_then(Value::as_bool) == Some(true) {
            return Err(LegacyError(format!(
                "the user '{id}' is blocked in the source Auth0 tenant; not migrated (unblock it there, or create it in Tern)"
            )));
        }
        let mut kept = Map::new();
        // The profile fields a connector fills, and both metadata objects.
        for k in super::http::TARGETS
            .iter()
            .copied()
            .chain(["app_metadata", "user_metadata"])
        {
            if let Some(v) = user.get(k).filter(|v| !v.is_null()) {
                kept.insert(k.to_string(), v.clone());
            }
        }
        let mut p = normalize_profile(&Value::Object(kept))?;
        p.created_at = user
            .get("created_at")
            .and_then(Value::as_str)
            .and_then(tern_core::clock::normalize_iso);
        Ok(p)
    }

    /// The source tenant's user with this id.
    async fn user(&self, id: &str, deadline: Instant) -> Result<LegacyProfile, LegacyError> {
        let path = format!("/users/{}", urlencoding::encode(id));
        let a = self.management(Method::GET, &path, None, deadline).await?;
        if !a.0.status.is_success() {
            return Err(self.management_error("reading the user", &a));
        }
        self.profile(&parse_json(&a.0.body)?)
    }

    /// The user a password login proved, from its token answer.
    async fn subject(&self, tokens: &Value, deadline: Instant) -> Result<String, LegacyError> {
        if let Some(sub) = tokens
            .get("id_token")
            .and_then(Value::as_str)
            .and_then(id_token_subject)
        {
            return Ok(sub);
        }
        let access = tokens
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                LegacyError("the source Auth0 tenant's login answer has no token".into())
            })?;
        let url = format!("{}/userinfo", self.base);
        let out = Outgoing {
            method: Method::GET,
            url: &url,
            bearer: Some(access),
            body: None,
            end_user_ip: None,
        };
        let a = self.call(out, deadline).await?;
        parse_json(&a.body)?
            .get("sub")
            .and_then(Value::as_str)
            .filter(|_| a.status.is_success())
            .map(str::to_string)
            .ok_or_else(|| {
                LegacyError(format!(
                    "the source Auth0 tenant's /userinfo answered {} without a subject",
                    a.status
                ))
            })
    }

    /// Users of `realm` matching an email or a username.
    async fn find(
        &self,
        login: &str,
        deadline: Instant,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        let path = if login.contains('@') {
            format!("/users-by-email?email={}", urlencoding::encode(login))
        } else {
            let q = format!("username:{}", lucene_phrase(login));
            format!("/users?q={}&search_engine=v3", urlencoding::encode(&q))
        };
        let a = self.management(Method::GET, &path, None, deadline).await?;
        if !a.0.status.is_success() {
            return Err(self.management_error("a user lookup", &a));
        }
        let found = parse_json(&a.0.body)?;
        let mut in_realm = found
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| self.in_realm(u));
        match (in_realm.next(), in_realm.next()) {
            (None, _) => Ok(None),
            (Some(u), None) => self.profile(u).map(Some),
            (Some(_), Some(_)) => Err(LegacyError(format!(
                "the source Auth0 tenant has several users of '{}' for this identifier; not migrated",
                self.config.realm
            ))),
        }
    }
}

fn parse_json(body: &str) -> Result<Value, LegacyError> {
    serde_json::from_str(body).map_err(|e| {
        LegacyError(format!(
            "the source Auth0 tenant answered with a body that is not JSON: {e}"
        ))
    })
}

#[async_trait::async_trait]
impl LegacySource for Auth0Connector {
    async fn login(
        &self,
        tenant: &str,
        connection: &Connection,
        username: &str,
        password: &str,
    ) -> Result<LegacyLogin, LegacyError> {
        self.login_from(tenant, connection, username, password, None)
            .await
    }

    async fn login_from(
        &self,
        _tenant: &str,
        _connection: &Connection,
        username: &str,
        password: &str,
        ip: Option<&str>,
    ) -> Result<LegacyLogin, LegacyError> {
        let deadline = self.caller.deadline();
        let url = format!("{}/oauth/token", self.base);
        let out = Outgoing {
            method: Method::POST,
            url: &url,
            bearer: None,
            body: Some(
                json!({"grant_type": PASSWORD_REALM, "client_id": self.config.client_id,
                       "client_secret": self.secret, "realm": self.config.realm,
                       "username": username, "password": password, "scope": LOGIN_SCOPE}),
            ),
            // Every login reaches the old tenant from Tern's address: without
            // the user's, its brute-force protection and suspicious-IP
            // throttling would count every user's failures against Tern and
            // soon refuse all of them. Auth0 reads this header from a client
            // with "Trust Token Endpoint IP Header" on (and ignores it otherwise).
            end_user_ip: ip,
        };
        let a = self.call(out, deadline).await?;
        if a.status.is_success() {
            let tokens = parse_json(&a.body)?;
            let sub = self.subject(&tokens, deadline).await?;
            return Ok(LegacyLogin::Profile(Box::new(
                self.user(&sub, deadline).await?,
            )));
        }
        let r = refusal(&a.body);
        let why = self.redacted(&r.description, Some(password), None);
        match r.code.as_str() {
            "invalid_grant" => Ok(LegacyLogin::WrongCredentials { user: None }),
            // The password was right; only the second factor is missing,
            // and it cannot come over (no export of its secrets).
            "mfa_required" if !self.config.migrate_mfa_users => Err(LegacyError(format!(
                "the source Auth0 tenant asks '{username}' for a second factor, which cannot come over; not migrated, as the password alone would move an account its factor protects (set migrate_mfa_users to migrate such users, who then enrol again in Tern)"
            ))),
            "mfa_required" => match self.find(username, deadline).await? {
                Some(p) => Ok(LegacyLogin::Profile(Box::new(p))),
                None => Err(LegacyError(format!(
                    "the source Auth0 tenant asked for MFA but '{username}' was not found through its Management API; not migrated"
                ))),
            },
            "too_many_attempts" => Err(LegacyError(format!(
                "the source Auth0 tenant blocked this user after too many attempts ({why}); not migrated until it is unblocked there"
            ))),
            "unauthorized" | "access_denied" if why.to_lowercase().contains("blocked") => {
                Err(LegacyError(format!(
                    "the user is blocked in the source Auth0 tenant ({why}); not migrated"
                )))
            }
            "invalid_client"
            | "unauthorized_client"
            | "access_denied"
            | "invalid_request"
            | "unsupported_grant_type"
            | "invalid_scope" => Err(LegacyError(format!(
                "the source Auth0 tenant refused the login request ({} {}: {why}) — check that client '{}' exists, its secret in options.configuration.{SECRET_KEY}, that the Password grant is enabled for it and that connection '{}' is enabled for it",
                a.status, r.code, self.config.client_id, self.config.realm
            ))),
            _ => Err(LegacyError(format!(
                "the source Auth0 tenant answered {} to the login: {}",
                a.status,
                self.redacted(&a.body, Some(password), None)
            ))),
        }
    }

    async fn get_user(
        &self,
        _tenant: &str,
        _connection: &Connection,
        email: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        self.find(email, self.caller.deadline()).await
    }

    async fn mark_migrated(
        &self,
        _tenant: &str,
        _connection: &Connection,
        profile: &LegacyProfile,
    ) -> Result<(), LegacyError> {
        if !self.config.mark_migrated {
            return Ok(());
        }
        let path = format!(
            "/users/{}",
            urlencoding::encode(&format!("auth0|{}", profile.user_id))
        );
        let a = self
            .management(
                Method::PATCH,
                &path,
                Some(json!({"app_metadata": {"tern_migrated": true}})),
                self.caller.deadline(),
            )
            .await?;
        if a.0.status.is_success() {
            Ok(())
        } else {
            Err(self.management_error("marking the user migrated", &a))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn what_is_retried() {
        for (status, body, retried) in [
            (503, "", true),
            (500, r#"{"error":"server_error"}"#, true),
            (
                429,
                r#"{"statusCode":429,"error":"Too Many Requests"}"#,
                true,
            ),
            (
                429,
                r#"{"error":"too_many_attempts","error_description":"blocked"}"#,
                false,
            ),
            (403, r#"{"error":"invalid_grant"}"#, false),
            (
                401,
                r#"{"error":"unauthorized","error_description":"user is blocked"}"#,
                false,
            ),
        ] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(worth_retrying(status, body), retried, "{status} {body}");
        }
    }

    #[test]
    fn subject_and_query_escaping() {
        // An id token written by hand (header.payload.signature).
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"auth0|5f7c","aud":"x"}"#);
        assert_eq!(
            id_token_subject(&format!("eyJhbGciOiJSUzI1NiJ9.{payload}.sig")).as_deref(),
            Some("auth0|5f7c")
        );
        assert_eq!(id_token_subject("not-a-jwt"), None);
        assert_eq!(lucene_phrase(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
