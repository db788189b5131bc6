//! The `auth0` connector's settings (`options.tern_connector` with
//! `"type": "auth0"`), checked when saved and when the connector is built.

use serde::Deserialize;
use serde_json::Value;

use super::SECRET_KEY;
use crate::connectors::resilience::{BreakerConfig, CallConfig};

fn default_realm() -> String {
    "Username-Password-Authentication".into()
}

/// `options.tern_connector` for `"type": "auth0"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Auth0Config {
    /// Always `auth0`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The tenant's domain (`acme.eu.auth0.com`, or a custom domain).
    #[serde(default)]
    pub domain: Option<String>,
    /// Instead of `domain`: `http(s)://host[:port]` (tests, proxies).
    #[serde(default)]
    pub base_url: Option<String>,
    /// A client of the source tenant allowed the password grant on `realm`
    /// and the Management API's `read:users`.
    pub client_id: String,
    /// The source tenant's database connection.
    #[serde(default = "default_realm")]
    pub realm: String,
    /// The Management API's identifier; default `{base}/api/v2/` (with a
    /// custom domain, the tenant's canonical `https://TENANT.auth0.com/api/v2/`).
    #[serde(default)]
    pub audience: Option<String>,
    /// Set `app_metadata.tern_migrated: true` in the source tenant after a
    /// migration (needs `update:users`).
    #[serde(default)]
    pub mark_migrated: bool,
    /// Migrate users the old tenant asks a second factor of
    /// (`mfa_required`) on their password alone. Off by default: their
    /// factors cannot come over, so a stolen password would be enough to
    /// move the account and enrol the thief's own factor.
    #[serde(default)]
    pub migrate_mfa_users: bool,
    /// Bound of one operation, retries included.
    #[serde(default = "crate::connectors::resilience::default_timeout")]
    pub timeout_ms: u64,
    /// Extra attempts after a connect error, timeout, 429 or 5xx.
    #[serde(default = "crate::connectors::resilience::default_retries")]
    pub retries: u32,
    /// First backoff, doubled at each retry.
    #[serde(default = "crate::connectors::resilience::default_backoff")]
    pub backoff_ms: u64,
    /// Circuit breaker.
    #[serde(default)]
    pub circuit_breaker: BreakerConfig,
}

impl Auth0Config {
    /// The tenant's base URL, without a trailing `/`.
    pub fn base(&self) -> String {
        match (&self.base_url, &self.domain) {
            (Some(u), _) => u.trim_end_matches('/').to_string(),
            (None, Some(d)) => format!("https://{}", d.trim_end_matches('/')),
            (None, None) => String::new(),
        }
    }

    /// The Management API's identifier.
    pub fn management_audience(&self) -> String {
        self.audience
            .clone()
            .unwrap_or_else(|| format!("{}/api/v2/", self.base()))
    }

    /// The call bounds of this configuration.
    pub fn call_config(&self) -> CallConfig {
        CallConfig {
            timeout_ms: self.timeout_ms,
            retries: self.retries,
            backoff_ms: self.backoff_ms,
            circuit_breaker: self.circuit_breaker.clone(),
        }
    }
}

/// Parse and check a configuration; the message names the field.
pub fn parse(config: &Value) -> Result<Auth0Config, String> {
    let c: Auth0Config = crate::connectors::settings(config)?;
    match (&c.domain, &c.base_url) {
        (Some(_), Some(_)) => {
            return Err("give either domain or base_url, not both".into());
        }
        (None, None) => {
            return Err(
                "domain is required: the source tenant's domain, e.g. \"acme.eu.auth0.com\"".into(),
            );
        }
        (Some(d), None)
            if d.is_empty()
                || d.contains(['/', ':', '@', '?', '#', ' '])
                || reqwest::Url::parse(&format!("https://{d}")).is_err() =>
        {
            return Err(format!(
                "domain '{d}' must be a bare host name such as \"acme.eu.auth0.com\" (no scheme, path or port; use base_url for those)"
            ));
        }
        _ => {}
    }
    let base = c.base();
    let url =
        reqwest::Url::parse(&base).map_err(|e| format!("base_url '{base}' is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "base_url '{base}' must be an http:// or https:// URL with a host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err(format!(
            "base_url '{base}' must be the tenant's origin only (no path, query or fragment)"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "base_url must not hold credentials (user:password@): the client secret goes in options.configuration.{SECRET_KEY}"
        ));
    }
    if c.client_id.trim().is_empty() {
        return Err("client_id must not be empty (the source tenant's client)".into());
    }
    if c.realm.trim().is_empty() {
        return Err("realm must name the source tenant's database connection".into());
    }
    if let Some(a) = &c.audience
        && a.trim().is_empty()
    {
        return Err("audience must not be empty (null: {base}/api/v2/)".into());
    }
    c.call_config().check()?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"type": "auth0", "domain": "acme.eu.auth0.com", "client_id": "c"})
    }

    #[test]
    fn defaults_and_checks() {
        let c = parse(&base()).unwrap();
        assert_eq!(c.base(), "https://acme.eu.auth0.com");
        assert_eq!(c.management_audience(), "https://acme.eu.auth0.com/api/v2/");
        assert_eq!(c.realm, "Username-Password-Authentication");
        let with = |k: &str, v: Value| {
            let mut b = base();
            b[k] = v;
            parse(&b)
        };
        for (k, v, needle) in [
            ("domain", json!("https://acme.auth0.com"), "bare host name"),
            ("domain", Value::Null, "domain is required"),
            (
                "base_url",
                json!("http://127.0.0.1:1"),
                "either domain or base_url",
            ),
            ("client_id", json!(" "), "client_id"),
            ("realm", json!(""), "realm"),
            ("retries", json!(9), "retries"),
            ("scope", json!("x"), "unknown field"),
        ] {
            let e = with(k, v).unwrap_err();
            assert!(e.contains(needle), "{k}: {e}");
        }
        let mut b = base();
        b.as_object_mut().unwrap().remove("domain");
        for (url, needle) in [
            ("http://127.0.0.1:8080/tenant", "origin only"),
            ("https://u:p@acme.example", "credentials"),
            ("ftp://acme.example", "http:// or https://"),
        ] {
            b["base_url"] = json!(url);
            let e = parse(&b).unwrap_err();
            assert!(e.contains(needle), "{url}: {e}");
        }
    }
}
