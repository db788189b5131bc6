//! The `cognito` connector: the legacy store is an AWS Cognito user pool.
//! Cognito never exports password hashes, so its users move by lazy
//! migration: Tern signs the user in at Cognito with the password typed at
//! Tern, and on success stores the user with that password.
//!
//! ```json
//! "tern_connector": {
//!   "type": "cognito",
//!   "region": "eu-west-1",
//!   "user_pool_id": "eu-west-1_AbC123",
//!   "client_id": "…",                      // an app client allowing USER_PASSWORD_AUTH
//!   "endpoint": null,                      // default https://cognito-idp.{region}.amazonaws.com/
//!   "profile_map": {"app_metadata.plan": "custom:tier"},   // optional, see `profile`
//!   "migrated_attribute": "custom:migrated",              // optional: set to "true" after a migration
//!   "timeout_ms": 5000, "retries": 2, "backoff_ms": 100,
//!   "circuit_breaker": {"failures": 5, "cooldown_ms": 30000}
//! }
//! ```
//! Secrets, in `options.configuration`: `COGNITO_CLIENT_SECRET` when the app
//! client has one (Tern sends the `SECRET_HASH` Cognito requires then), and
//! `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` of an IAM identity allowed
//! `cognito-idp:ListUsers`, `AdminGetUser`, `DescribeUserPool` (and
//! `AdminUpdateUserAttributes` with `migrated_attribute`): with them Tern can
//! look users up (signup collision check, password reset) and count them;
//! without them `get_user` answers "not supported".
//!
//! Login: `InitiateAuth` (`USER_PASSWORD_AUTH`), then `GetUser` with the
//! access token for the attributes. `NotAuthorizedException` and
//! `UserNotFoundException` are wrong credentials. A user Cognito will not
//! let in with the password alone (unconfirmed, reset required, or asked a
//! challenge: a new password, MFA) is not migrated: the login fails with a
//! `LegacyError` saying why (the tenant log shows it; the user gets
//! `temporarily_unavailable`, not a password error that would count against
//! them, and never a Tern user made with a password Cognito did not accept).
//! Throttling, 5xx and timeouts are retried like the `http` connector's calls.

mod config;
mod profile;
pub mod sigv4;

pub use config::{
    ACCESS_KEY_ID_KEY, CLIENT_SECRET_KEY, CognitoConfig, SECRET_ACCESS_KEY_KEY, Secrets, parse,
    validate,
};

use std::time::Instant;

use aws_lc_rs::hmac;
use base64::Engine;
use prometheus_client::metrics::gauge::Gauge;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::{Value, json};
use tern_core::legacy::{
    LegacyError, LegacyLogin, LegacyProfile, LegacySource, normalize_profile, not_supported,
};
use tern_core::model::Connection;
use tern_core::user_profile::UsernameRules;

use super::resilience::{Caller, Reply};
use crate::secrets::Redactions;

const CONTENT_TYPE_JSON: &str = "application/x-amz-json-1.1";
const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";
/// The SigV4 service name of Cognito user pools.
const SERVICE: &str = "cognito-idp";
/// Characters of an unexpected answer's message quoted in the error.
const EXCERPT_CHARS: usize = 200;

/// `SECRET_HASH`: Base64(HMAC-SHA256(client secret, username + client id)).
pub fn secret_hash(client_secret: &str, username: &str, client_id: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, client_secret.as_bytes());
    let tag = hmac::sign(&key, format!("{username}{client_id}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// A `ListUsers` filter matching one email exactly; `"` and `\` escaped so
/// the address cannot end the quoted value.
pub fn email_filter(email: &str) -> String {
    let escaped = email.replace('\\', "\\\\").replace('"', "\\\"");
    format!("email = \"{escaped}\"")
}

/// An AWS error answer: its exception name and message.
struct AwsError {
    kind: String,
    message: String,
}

/// The exception an error answer names (`__type` or `x-amzn-ErrorType`,
/// whose values may carry a namespace before `#` or details after `:`).
fn aws_error(r: &Reply) -> Option<AwsError> {
    if r.status.is_success() {
        return None;
    }
    let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    let raw = body
        .get("__type")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            r.headers
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })?;
    let kind = raw.rsplit('#').next().unwrap_or(&raw);
    let kind = kind.split(':').next().unwrap_or(kind).to_string();
    let message = body
        .get("message")
        .or_else(|| body.get("Message"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Some(AwsError { kind, message })
}

/// Why an answer is worth another try: throttling, a 5xx.
fn retry_reason(r: &Reply) -> Option<String> {
    let throttled = aws_error(r).filter(|e| {
        matches!(
            e.kind.as_str(),
            "TooManyRequestsException" | "ThrottlingException" | "InternalErrorException"
        )
    });
    if let Some(e) = throttled {
        return Some(format!("Cognito answered {} ({})", r.status, e.kind));
    }
    r.status
        .is_server_error()
        .then(|| format!("Cognito answered {}", r.status))
}

/// The attributes of a `GetUser`/`AdminGetUser` (`UserAttributes`) or a
/// `ListUsers` entry (`Attributes`).
fn attributes(user: &Value) -> Vec<(String, String)> {
    user.get("UserAttributes")
        .or_else(|| user.get("Attributes"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|a| {
                    Some((
                        a.get("Name")?.as_str()?.to_string(),
                        a.get("Value")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One connection's Cognito connector; its circuit state lives as long as
/// the configuration is unchanged.
pub struct CognitoConnector {
    config: CognitoConfig,
    endpoint: reqwest::Url,
    /// The `Host` header as reqwest sends it (signed by SigV4).
    host: String,
    secrets: Secrets,
    caller: Caller,
}

impl CognitoConnector {
    /// A connector for a validated configuration.
    pub fn new(
        config: CognitoConfig,
        secrets: Secrets,
        network: tern_net::Network,
    ) -> Result<Self, String> {
        let endpoint = reqwest::Url::parse(&config.endpoint())
            .map_err(|e| format!("endpoint is not a URL: {e}"))?;
        let host = match (endpoint.host_str(), endpoint.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err("endpoint has no host".into()),
        };
        let caller = Caller::new(
            config.call_config(),
            format!("Cognito at {}", endpoint.as_str().trim_end_matches('/')),
            network,
        );
        Ok(Self {
            config,
            endpoint,
            host,
            secrets,
            caller,
        })
    }

    /// Report the circuit's state in `gauge`.
    #[must_use]
    pub fn reporting_circuit_in(mut self, gauge: Gauge) -> Self {
        self.caller.report_circuit_in(gauge);
        self
    }

    /// Call one operation; `signed`: with SigV4 (the administrative ones).
    async fn call(
        &self,
        operation: &str,
        body: &Value,
        signed: bool,
    ) -> Result<Reply, LegacyError> {
        let target = format!("{TARGET_PREFIX}{operation}");
        let payload = body.to_string().into_bytes();
        let keys = match (signed, &self.secrets.keys) {
            (false, _) => None,
            (true, Some(k)) => Some(k),
            (true, None) => {
                return Err(LegacyError(format!(
                    "{operation} needs the AWS keys in options.configuration"
                )));
            }
        };
        let header = |v: &str| {
            HeaderValue::from_str(v)
                .map_err(|e| LegacyError(format!("Cognito request header unusable: {e}")))
        };
        let build = || {
            let mut req = tern_net::Request::new(reqwest::Method::POST, self.endpoint.clone());
            req.headers
                .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_JSON));
            req.headers
                .insert(HeaderName::from_static("x-amz-target"), header(&target)?);
            if let Some((id, secret)) = keys {
                // Signed at each attempt: the signature covers the time.
                let sig = sigv4::sign(
                    &sigv4::SignedRequest {
                        host: &self.host,
                        target: &target,
                        content_type: CONTENT_TYPE_JSON,
                        body: &payload,
                    },
                    &sigv4::Credentials {
                        access_key_id: id,
                        secret_access_key: secret,
                    },
                    &self.config.region,
                    SERVICE,
                    time::OffsetDateTime::now_utc(),
                );
                req.headers.insert(
                    HeaderName::from_static("x-amz-date"),
                    header(&sig.amz_date)?,
                );
                req.headers
                    .insert(reqwest::header::AUTHORIZATION, header(&sig.authorization)?);
            }
            req.body = Some(payload.clone());
            Ok(req)
        };
        // AWS never redirects these calls: a redirect is not followed with a password.
        self.caller
            .send(self.caller.deadline(), 0, build, retry_reason)
            .await
    }

    /// The error of an answer Tern did not expect, the secrets it might
    /// echo (the typed password, a token, the client secret) masked.
    fn unexpected(
        &self,
        what: &str,
        r: &Reply,
        password: Option<&str>,
        extra: &[&str],
    ) -> LegacyError {
        let (kind, message) = aws_error(r).map_or_else(
            || (String::new(), r.body.clone()),
            |e| (format!(" {}", e.kind), e.message),
        );
        let mut text = message;
        let known = [
            self.secrets.client_secret.as_deref().unwrap_or_default(),
            self.secrets
                .keys
                .as_ref()
                .map(|(_, s)| s.as_str())
                .unwrap_or_default(),
        ];
        Redactions::new(password, extra.iter().copied().chain(known)).apply_text(&mut text);
        let excerpt: String = text.chars().take(EXCERPT_CHARS).collect();
        LegacyError(format!(
            "Cognito answered {}{kind} to {what}: {excerpt}",
            r.status
        ))
    }

    fn profile(&self, user: &Value, connection: &Connection) -> Result<LegacyProfile, LegacyError> {
        let usernames = UsernameRules::of(&connection.options).required;
        let mapped = profile::build(
            &attributes(user),
            self.config.profile_map.as_ref(),
            usernames,
        );
        normalize_profile(&mapped)
            .map_err(|e| LegacyError(format!("the Cognito user's profile is unusable: {}", e.0)))
    }

    /// A profile for one `ListUsers` or `AdminGetUser` answer.
    async fn lookup(
        &self,
        connection: &Connection,
        identifier: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        let pool = &self.config.user_pool_id;
        if identifier.contains('@') {
            let r = self
                .call(
                    "ListUsers",
                    &json!({"UserPoolId": pool, "Filter": email_filter(identifier), "Limit": 2}),
                    true,
                )
                .await?;
            if !r.status.is_success() {
                return Err(self.unexpected("ListUsers", &r, None, &[]));
            }
            let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            let users = v
                .get("Users")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            match users.as_slice() {
                [] => Ok(None),
                [one] => self.profile(one, connection).map(Some),
                _ => Err(LegacyError(format!(
                    "several Cognito users have the email '{identifier}': Tern cannot tell which one to migrate"
                ))),
            }
        } else {
            let r = self
                .call(
                    "AdminGetUser",
                    &json!({"UserPoolId": pool, "Username": identifier}),
                    true,
                )
                .await?;
            if aws_error(&r).is_some_and(|e| e.kind == "UserNotFoundException") {
                return Ok(None);
            }
            if !r.status.is_success() {
                return Err(self.unexpected("AdminGetUser", &r, None, &[]));
            }
            let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            self.profile(&v, connection).map(Some)
        }
    }
}

/// Why Cognito's answer to `InitiateAuth` leaves the user where they are.
fn not_migrated(username: &str, why: &str) -> LegacyError {
    LegacyError(format!(
        "Cognito did not let '{username}' sign in with the password alone ({why}); the user is not migrated"
    ))
}

#[async_trait::async_trait]
impl LegacySource for CognitoConnector {
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
        connection: &Connection,
        username: &str,
        password: &str,
        ip: Option<&str>,
    ) -> Result<LegacyLogin, LegacyError> {
        let client_id = &self.config.client_id;
        let mut params = json!({"USERNAME": username, "PASSWORD": password});
        if let Some(secret) = &self.secrets.client_secret {
            params["SECRET_HASH"] = json!(secret_hash(secret, username, client_id));
        }
        let mut request = json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id, "AuthParameters": params});
        // The user's address for Cognito's threat protection (adaptive
        // authentication, compromised credentials), which would otherwise
        // see every login come from Tern.
        if let Some(ip) = ip {
            request["UserContextData"] = json!({"IpAddress": ip});
        }
        let started = Instant::now();
        let r = self.call("InitiateAuth", &request, false).await?;
        if let Some(e) = aws_error(&r) {
            return match e.kind.as_str() {
                // Cognito says "Unable to verify secret hash for client …"
                // (or that the client "is configured for secret") with the
                // exception of a wrong password: that is the operator's to fix.
                "NotAuthorizedException" if e.message.to_lowercase().contains("secret") => {
                    Err(LegacyError(format!(
                        "Cognito refused the SECRET_HASH of app client {client_id}: check options.configuration.{CLIENT_SECRET_KEY}"
                    )))
                }
                "NotAuthorizedException" => Ok(LegacyLogin::WrongCredentials {
                    user: Some(username.to_string()),
                }),
                "UserNotFoundException" => Ok(LegacyLogin::WrongCredentials { user: None }),
                "UserNotConfirmedException" => Err(not_migrated(
                    username,
                    "UserNotConfirmedException: the user never confirmed their account",
                )),
                "PasswordResetRequiredException" => Err(not_migrated(
                    username,
                    "PasswordResetRequiredException: Cognito requires a password reset; a password reset at Tern migrates the user",
                )),
                _ => Err(self.unexpected("InitiateAuth", &r, Some(password), &[])),
            };
        }
        if !r.status.is_success() {
            return Err(self.unexpected("InitiateAuth", &r, Some(password), &[]));
        }
        let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        if let Some(challenge) = v.get("ChallengeName").and_then(Value::as_str) {
            return Err(not_migrated(
                username,
                &format!("Cognito asks for the {challenge} challenge, which Tern does not answer"),
            ));
        }
        let Some(token) = v
            .pointer("/AuthenticationResult/AccessToken")
            .and_then(Value::as_str)
        else {
            return Err(LegacyError(
                "Cognito's InitiateAuth answer has neither a challenge nor an access token".into(),
            ));
        };
        let r = self
            .call("GetUser", &json!({"AccessToken": token}), false)
            .await?;
        if !r.status.is_success() {
            return Err(self.unexpected("GetUser", &r, Some(password), &[token]));
        }
        let user: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "cognito login verified"
        );
        Ok(LegacyLogin::Profile(Box::new(
            self.profile(&user, connection)?,
        )))
    }

    async fn get_user(
        &self,
        _tenant: &str,
        connection: &Connection,
        email: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        if self.secrets.keys.is_none() {
            // Lookups are administrative calls: without keys, signup and
            // password reset cannot ask Cognito and are refused, rather than
            // letting someone claim an address a Cognito user holds.
            return Err(not_supported("get_user", connection));
        }
        self.lookup(connection, email.trim()).await
    }

    async fn count(
        &self,
        _tenant: &str,
        _connection: &Connection,
    ) -> Result<Option<u64>, LegacyError> {
        if self.secrets.keys.is_none() {
            return Ok(None);
        }
        let r = self
            .call(
                "DescribeUserPool",
                &json!({"UserPoolId": self.config.user_pool_id}),
                true,
            )
            .await?;
        if !r.status.is_success() {
            return Err(self.unexpected("DescribeUserPool", &r, None, &[]));
        }
        let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        Ok(v.pointer("/UserPool/EstimatedNumberOfUsers")
            .and_then(Value::as_u64))
    }

    async fn mark_migrated(
        &self,
        _tenant: &str,
        _connection: &Connection,
        profile: &LegacyProfile,
    ) -> Result<(), LegacyError> {
        let Some(attribute) = &self.config.migrated_attribute else {
            return Ok(());
        };
        // AdminUpdateUserAttributes takes the user name; `sub` is accepted
        // as one by pools whose users sign in with an email or phone alias,
        // and the email by pools using email as the user name.
        let username = profile
            .email
            .clone()
            .unwrap_or_else(|| profile.user_id.clone());
        let r = self
            .call(
                "AdminUpdateUserAttributes",
                &json!({"UserPoolId": self.config.user_pool_id, "Username": username,
                        "UserAttributes": [{"Name": attribute, "Value": "true"}]}),
                true,
            )
            .await?;
        if r.status.is_success() {
            Ok(())
        } else {
            Err(self.unexpected("AdminUpdateUserAttributes", &r, None, &[]))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Expected value from Python's hmac/hashlib/base64 (an independent
    /// implementation): base64(hmac.new(secret, username + client_id, sha256)).
    #[test]
    fn secret_hash_matches_python() {
        assert_eq!(
            secret_hash("shh-client-secret", "ada@example.com", "1example23clientid"),
            "erHlKwmwukksgSk2EsA7u4UElqLJGw9P0YkaIGV1sc8="
        );
    }

    fn reply(status: u16, body: Value) -> Reply {
        Reply {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            headers: reqwest::header::HeaderMap::new(),
            body: body.to_string(),
        }
    }

    /// Throttling and 5xx are retried; Cognito's answers about the user are not.
    #[test]
    fn what_is_retried() {
        let throttled = json!({"__type": "TooManyRequestsException", "message": "Rate exceeded"});
        assert!(
            retry_reason(&reply(400, throttled))
                .unwrap()
                .contains("TooManyRequests")
        );
        assert!(retry_reason(&reply(503, json!({}))).is_some());
        let namespaced = json!({"__type": "com.amazonaws.cognito#NotAuthorizedException", "message": "Incorrect username or password."});
        assert!(retry_reason(&reply(400, namespaced.clone())).is_none());
        assert_eq!(
            aws_error(&reply(400, namespaced)).unwrap().kind,
            "NotAuthorizedException"
        );
        assert!(aws_error(&reply(200, json!({}))).is_none());
    }

    #[test]
    fn email_filter_escapes() {
        assert_eq!(email_filter("a@b.co"), r#"email = "a@b.co""#);
        assert_eq!(
            email_filter(r#"x" or "y\@b.co"#),
            r#"email = "x\" or \"y\\@b.co""#
        );
    }
}
