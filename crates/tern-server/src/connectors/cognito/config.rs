//! The `cognito` connector's settings (`options.tern_connector`) and
//! secrets (`options.configuration`), checked with messages naming the field.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use tern_core::model::JsonObject;

use super::profile;
use crate::connectors::resilience::{self, BreakerConfig, CallConfig};

/// `options.configuration` key of the app client's secret.
pub const CLIENT_SECRET_KEY: &str = "COGNITO_CLIENT_SECRET";
/// `options.configuration` key of the IAM access key id (lookups, count).
pub const ACCESS_KEY_ID_KEY: &str = "AWS_ACCESS_KEY_ID";
/// `options.configuration` key of the IAM secret access key.
pub const SECRET_ACCESS_KEY_KEY: &str = "AWS_SECRET_ACCESS_KEY";

/// `options.tern_connector` for `"type": "cognito"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CognitoConfig {
    /// Always `cognito`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The pool's AWS region, e.g. `eu-west-1`.
    pub region: String,
    /// `{region}_{id}`.
    pub user_pool_id: String,
    /// The app client Tern signs users in as.
    pub client_id: String,
    /// Another endpoint than `https://cognito-idp.{region}.amazonaws.com/`
    /// (a VPC endpoint, an emulator in tests).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Profile field ← Cognito attribute, over the defaults.
    #[serde(default)]
    pub profile_map: Option<BTreeMap<String, String>>,
    /// A custom attribute set to `"true"` once a user migrated (needs the AWS keys).
    #[serde(default)]
    pub migrated_attribute: Option<String>,
    /// Bound of one call, retries included.
    #[serde(default = "resilience::default_timeout")]
    pub timeout_ms: u64,
    /// Extra attempts after a connect error, timeout, throttling or 5xx.
    #[serde(default = "resilience::default_retries")]
    pub retries: u32,
    /// First backoff, doubled at each retry.
    #[serde(default = "resilience::default_backoff")]
    pub backoff_ms: u64,
    /// Circuit breaker.
    #[serde(default)]
    pub circuit_breaker: BreakerConfig,
}

impl CognitoConfig {
    /// The retry, deadline and circuit settings.
    pub fn call_config(&self) -> CallConfig {
        CallConfig {
            timeout_ms: self.timeout_ms,
            retries: self.retries,
            backoff_ms: self.backoff_ms,
            circuit_breaker: self.circuit_breaker.clone(),
        }
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| format!("https://cognito-idp.{}.amazonaws.com/", self.region))
    }
}

/// The connector's secrets, from `options.configuration`.
#[derive(Clone, Default, PartialEq)]
pub struct Secrets {
    /// The app client's secret, if it has one.
    pub client_secret: Option<String>,
    /// (access key id, secret access key), if lookups are configured.
    pub keys: Option<(String, String)>,
}

impl Secrets {
    /// Read them from a connection's options; both AWS keys or neither.
    pub fn from_options(options: &JsonObject) -> Result<Self, String> {
        let get = |k: &str| {
            options
                .get("configuration")
                .and_then(|c| c.get(k))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let keys = match (get(ACCESS_KEY_ID_KEY), get(SECRET_ACCESS_KEY_KEY)) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            _ => {
                return Err(format!(
                    "set both 'options.configuration.{ACCESS_KEY_ID_KEY}' and '{SECRET_ACCESS_KEY_KEY}' (for user lookups), or neither"
                ));
            }
        };
        Ok(Self {
            client_secret: get(CLIENT_SECRET_KEY),
            keys,
        })
    }

    /// A cache key: a rotated secret rebuilds the connector.
    pub fn fingerprint(&self) -> String {
        let (id, key) = self.keys.clone().unwrap_or_default();
        format!(
            "{}\u{0}{id}\u{0}{key}",
            self.client_secret.clone().unwrap_or_default()
        )
    }
}

fn is_region(r: &str) -> bool {
    // e.g. eu-west-1, us-gov-west-1, ap-southeast-3
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// Parse and check a configuration; the message names the field.
pub fn parse(config: &Value) -> Result<CognitoConfig, String> {
    let c: CognitoConfig = crate::connectors::settings(config)?;
    if !is_region(&c.region) {
        return Err(format!(
            "region '{}' is not an AWS region (e.g. eu-west-1)",
            c.region
        ));
    }
    let pool_ok = c
        .user_pool_id
        .strip_prefix(&format!("{}_", c.region))
        .is_some_and(|id| !id.is_empty() && id.chars().all(|ch| ch.is_ascii_alphanumeric()));
    if !pool_ok {
        return Err(format!(
            "user_pool_id '{}' must be the pool's id in region {} ({}_…, as the Cognito console shows it)",
            c.user_pool_id, c.region, c.region
        ));
    }
    if c.client_id.trim().is_empty() || !c.client_id.chars().all(|ch| ch.is_ascii_alphanumeric()) {
        return Err("client_id must be the app client's id (letters and digits)".into());
    }
    if let Some(e) = &c.endpoint {
        let url =
            reqwest::Url::parse(e).map_err(|err| format!("endpoint '{e}' is not a URL: {err}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "endpoint '{e}' must be an http:// or https:// URL with a host"
            ));
        }
        if !url.username().is_empty() || url.password().is_some() || url.path() != "/" {
            return Err(format!(
                "endpoint '{e}' must be a bare origin such as https://cognito-idp.{}.amazonaws.com/ (no credentials, no path)",
                c.region
            ));
        }
    }
    if let Some(map) = &c.profile_map {
        profile::check_map(map)?;
    }
    if let Some(a) = &c.migrated_attribute
        && !a.strip_prefix("custom:").is_some_and(|n| {
            !n.is_empty() && n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        })
    {
        return Err(format!(
            "migrated_attribute '{a}' must be a custom attribute of the pool (custom:NAME)"
        ));
    }
    c.call_config().check()?;
    Ok(c)
}

/// Check a `cognito` configuration with the secrets it needs.
pub fn validate(config: &Value, options: &JsonObject) -> Result<(), String> {
    let c = parse(config)?;
    let secrets = Secrets::from_options(options)?;
    if c.migrated_attribute.is_some() && secrets.keys.is_none() {
        return Err(format!(
            "migrated_attribute needs 'options.configuration.{ACCESS_KEY_ID_KEY}' and '{SECRET_ACCESS_KEY_KEY}' (AdminUpdateUserAttributes is signed)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"type": "cognito", "region": "eu-west-1", "user_pool_id": "eu-west-1_AbC123", "client_id": "1example23clientid"})
    }

    #[test]
    fn configuration_checks() {
        let c = parse(&base()).unwrap();
        assert_eq!(c.endpoint(), "https://cognito-idp.eu-west-1.amazonaws.com/");
        assert_eq!((c.timeout_ms, c.retries), (5000, 2));
        let with = |k: &str, v: Value| {
            let mut b = base();
            b[k] = v;
            parse(&b)
        };
        for (k, v, needle) in [
            ("region", json!("Europe"), "not an AWS region"),
            (
                "user_pool_id",
                json!("us-east-1_AbC"),
                "in region eu-west-1",
            ),
            ("client_id", json!(""), "client_id"),
            ("endpoint", json!("ftp://x"), "http:// or https://"),
            (
                "endpoint",
                json!("https://k:s@vpce.example/"),
                "bare origin",
            ),
            ("migrated_attribute", json!("migrated"), "custom:NAME"),
            (
                "profile_map",
                json!({"password": "custom:pw"}),
                "not a profile field",
            ),
            ("retries", json!(9), "retries"),
            ("colour", json!("blue"), "unknown field"),
        ] {
            let e = with(k, v).unwrap_err();
            assert!(e.contains(needle), "{k}: {e}");
        }
        let mut half = serde_json::Map::new();
        half.insert("configuration".into(), json!({"AWS_ACCESS_KEY_ID": "AKIA"}));
        assert!(validate(&base(), &half).unwrap_err().contains("or neither"));
        let mut none = serde_json::Map::new();
        none.insert("configuration".into(), json!({}));
        let mut marked = base();
        marked["migrated_attribute"] = json!("custom:migrated");
        assert!(
            validate(&marked, &none)
                .unwrap_err()
                .contains("AWS_ACCESS_KEY_ID")
        );
    }
}
