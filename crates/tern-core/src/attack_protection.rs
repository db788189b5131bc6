//! Attack protection settings and the rules they carry, as Auth0 has them:
//! brute-force protection (`/api/v2/attack-protection/brute-force-protection`)
//! and its blocks (`/api/v2/user-blocks`).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::JsonObject;

/// How long a brute-force block lasts after the last failed attempt (Auth0:
/// the block lifts by itself after 30 days).
pub const BLOCK_LIFETIME_SECS: i64 = 30 * 86_400;

/// Auth0's separate limit on login attempts of one user from one IP.
pub const ATTEMPTS_PER_MINUTE: u64 = 20;

/// How often one user may be mailed an unblock link.
pub const UNBLOCK_MAIL_INTERVAL_SECS: i64 = 3600;

/// The store key of the brute-force settings.
pub const BRUTE_FORCE: &str = "brute-force-protection";

/// The prefix of [`legacy_key`]s. Every Tern user id is `<provider>|…`
/// with a provider name that has no `:` (`auth0`, `email`, `sms`, …), so no
/// user id starts with it.
pub const LEGACY_KEY_PREFIX: &str = "legacy:";

/// The key brute-force counters and blocks of a legacy user Tern has not
/// stored are kept under (in `login_failures.user_id`): the connection's id
/// and the typed identifier, normalised (trimmed, then as emails are
/// stored, so the key of a stored user's email is the one its typing made).
pub fn legacy_key(connection_id: &str, identifier: &str) -> String {
    format!(
        "{LEGACY_KEY_PREFIX}{connection_id}:{}",
        normalised_identifier(identifier)
    )
}

/// A typed identifier as counters and blocks know it: trimmed, NFC,
/// lower-cased ([`crate::user_profile::normalize_email`]; for a username
/// that is its lower-cased form).
pub fn normalised_identifier(identifier: &str) -> String {
    crate::user_profile::normalize_email(identifier.trim())
}

/// What to do when the threshold is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BruteForceShield {
    /// Refuse that IP's attempts for that user.
    Block,
    /// Mail the user an unblock link.
    UserNotification,
}

/// What failed attempts are counted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BruteForceMode {
    /// Per user and IP: an attacker blocks only their own address.
    CountPerIdentifierAndIp,
    /// Per user, from any IP (Account Lockout).
    CountPerIdentifier,
}

/// The tenant's brute-force protection settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BruteForceProtection {
    /// Whether it is active.
    pub enabled: bool,
    /// What happens at the threshold.
    pub shields: Vec<BruteForceShield>,
    /// Addresses and CIDR ranges never counted or blocked.
    pub allowlist: Vec<String>,
    /// What failures are counted per.
    pub mode: BruteForceMode,
    /// Consecutive failures that block (1–100).
    pub max_attempts: u32,
}

impl Default for BruteForceProtection {
    fn default() -> Self {
        Self {
            enabled: true,
            shields: vec![BruteForceShield::Block, BruteForceShield::UserNotification],
            allowlist: Vec::new(),
            mode: BruteForceMode::CountPerIdentifierAndIp,
            max_attempts: 10,
        }
    }
}

impl BruteForceProtection {
    /// Whether blocking is on.
    pub fn blocks(&self) -> bool {
        self.enabled && self.shields.contains(&BruteForceShield::Block)
    }

    /// Whether the user is mailed an unblock link.
    pub fn notifies(&self) -> bool {
        self.enabled && self.shields.contains(&BruteForceShield::UserNotification)
    }

    /// The IP failures are counted under: the address, or `""` when counted
    /// per identifier.
    pub fn counting_ip<'a>(&self, ip: &'a str) -> &'a str {
        match self.mode {
            BruteForceMode::CountPerIdentifierAndIp => ip,
            BruteForceMode::CountPerIdentifier => "",
        }
    }

    /// Whether `ip` is in the allowlist.
    pub fn allows(&self, ip: &str) -> bool {
        let Ok(ip) = ip.parse::<IpAddr>() else {
            return false;
        };
        self.allowlist.iter().any(|entry| cidr_contains(entry, ip))
    }

    /// Apply a `PATCH` body: only the fields given change; a value out of
    /// range or an unknown field is refused with Auth0's wording.
    pub fn patch(&mut self, body: &JsonObject) -> Result<(), String> {
        let mut next = self.clone();
        for (key, value) in body {
            match key.as_str() {
                "enabled" => {
                    next.enabled = value.as_bool().ok_or_else(|| type_error(key, "boolean"))?;
                }
                "shields" => next.shields = enum_list(key, value)?,
                "mode" => {
                    next.mode = serde_json::from_value(value.clone()).map_err(|_| {
                        format!(
                            "Payload validation error: 'Invalid value {value}' on property mode (Account Lockout: count_per_identifier_and_ip or count_per_identifier)."
                        )
                    })?;
                }
                "allowlist" => {
                    let list = value
                        .as_array()
                        .ok_or_else(|| type_error(key, "array"))?
                        .iter()
                        .map(|v| {
                            let s = v.as_str().ok_or_else(|| type_error(key, "array of strings"))?;
                            if parse_cidr(s).is_some() {
                                Ok(s.trim().to_string())
                            } else {
                                Err(format!(
                                    "Payload validation error: '{s}' in allowlist is not an IP address or CIDR range."
                                ))
                            }
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    next.allowlist = list;
                }
                "max_attempts" => {
                    let n = value.as_u64().ok_or_else(|| type_error(key, "integer"))?;
                    if !(1..=100).contains(&n) {
                        return Err(format!(
                            "Payload validation error: 'Value {n} is out of range' on property max_attempts (1 to 100)."
                        ));
                    }
                    next.max_attempts = u32::try_from(n).unwrap_or(10);
                }
                other => {
                    return Err(format!(
                        "Payload validation error: 'Additional properties not allowed: {other}'."
                    ));
                }
            }
        }
        *self = next;
        Ok(())
    }
}

pub(crate) fn type_error(key: &str, want: &str) -> String {
    format!("Payload validation error: 'Expected type {want}' on property {key}.")
}

pub(crate) fn enum_list<T: serde::de::DeserializeOwned>(
    key: &str,
    value: &Value,
) -> Result<Vec<T>, String> {
    let items = value.as_array().ok_or_else(|| type_error(key, "array"))?;
    items
        .iter()
        .map(|v| {
            serde_json::from_value(v.clone()).map_err(|_| {
                format!("Payload validation error: 'Invalid value {v}' in property {key}.")
            })
        })
        .collect()
}

/// `1.2.3.4`, `10.0.0.0/8`, `2001:db8::/32`: the network and prefix length.
pub(crate) fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let s = s.trim();
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a.parse::<IpAddr>().ok()?, Some(l.parse::<u8>().ok()?)),
        None => (s.parse::<IpAddr>().ok()?, None),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((addr, len))
}

pub(crate) fn cidr_contains(entry: &str, ip: IpAddr) -> bool {
    let Some((net, len)) = parse_cidr(entry) else {
        return false;
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// One brute-force block, as `/api/v2/user-blocks` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginBlock {
    /// The user's email or username.
    pub identifier: String,
    /// The blocked address; absent when counted per identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The connection's name.
    pub connection: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> JsonObject {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn defaults_are_auth0s() {
        assert_eq!(
            serde_json::to_value(BruteForceProtection::default()).ok(),
            Some(
                json!({"enabled": true, "shields": ["block", "user_notification"],
                "allowlist": [], "mode": "count_per_identifier_and_ip", "max_attempts": 10})
            )
        );
    }

    #[test]
    fn patch_changes_only_what_it_names_and_checks_it() {
        let mut s = BruteForceProtection::default();
        assert!(
            s.patch(&obj(
                json!({"max_attempts": 3, "mode": "count_per_identifier"})
            ))
            .is_ok()
        );
        assert_eq!(
            (s.max_attempts, s.mode),
            (3, BruteForceMode::CountPerIdentifier)
        );
        assert!(s.enabled);
        let refused = [
            json!({"max_attempts": 0}),
            json!({"max_attempts": 101}),
            json!({"mode": "per_ip"}),
            json!({"shields": ["block", "admin_notification"]}),
            json!({"allowlist": ["10.0.0.0/33"]}),
            json!({"enabled": "yes"}),
            json!({"colour": "red"}),
        ];
        for body in refused {
            let before = s.clone();
            assert!(s.patch(&obj(body.clone())).is_err(), "{body}");
            assert_eq!(s, before, "a refused patch changes nothing: {body}");
        }
    }

    #[test]
    fn allowlist_matches_addresses_and_ranges() {
        let mut s = BruteForceProtection::default();
        let list = json!({"allowlist": ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]});
        assert!(s.patch(&obj(list)).is_ok());
        for (ip, allowed) in [
            ("10.1.2.3", true),
            ("11.0.0.1", false),
            ("192.0.2.7", true),
            ("192.0.2.8", false),
            ("2001:db8::1", true),
            ("2001:db9::1", false),
            ("::ffff:10.9.9.9", true),
            ("not an ip", false),
        ] {
            assert_eq!(s.allows(ip), allowed, "{ip}");
        }
    }

    #[test]
    fn counting_ip_follows_the_mode() {
        let mut s = BruteForceProtection::default();
        assert_eq!(s.counting_ip("192.0.2.1"), "192.0.2.1");
        s.mode = BruteForceMode::CountPerIdentifier;
        assert_eq!(s.counting_ip("192.0.2.1"), "");
    }
}
