//! Suspicious-IP throttling as Auth0 has it
//! (`/api/v2/attack-protection/suspicious-ip-throttling`): an address that
//! fails many logins across users (`pre-login`), or signs up many users
//! (`pre-user-registration`), is refused until attempts are granted again.
//!
//! Each stage is a bucket per address that holds `max_attempts` and grants
//! one attempt back every `rate` milliseconds (Auth0's wording). It is kept
//! as one number, the time at which the bucket is full again (GCRA's
//! "theoretical arrival time"): an attempt moves it `rate` later, and the
//! bucket refuses while it lies more than `(max_attempts − 1) × rate` ahead.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::attack_protection::{cidr_contains, enum_list, parse_cidr, type_error};
use crate::model::JsonObject;

/// The store key of the settings.
pub const SUSPICIOUS_IP: &str = "suspicious-ip-throttling";

/// The bucket an address's attempts count in: the address itself for
/// IPv4, its /64 network for IPv6. One IPv6 subscriber is routinely given a
/// whole /64 (RFC 6177), so counting each of its 2^64 addresses apart would
/// let one attacker rotate addresses and never run out of attempts. An
/// IPv4-mapped address counts as its IPv4 address. Text that is not an
/// address is its own bucket.
pub fn bucket(ip: &str) -> std::borrow::Cow<'_, str> {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string().into(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64").into()
            }
        },
        _ => ip.into(),
    }
}

/// What to do when an address runs out of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpShield {
    /// Refuse the address's attempts.
    Block,
    /// Tell the tenant's administrators.
    AdminNotification,
}

/// Which attempts a bucket counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleStage {
    /// Failed logins, whichever user they named.
    PreLogin,
    /// Signups.
    PreUserRegistration,
}

impl ThrottleStage {
    /// The stage's name in the settings and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreLogin => "pre-login",
            Self::PreUserRegistration => "pre-user-registration",
        }
    }
}

/// One stage's bucket size and refill interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageLimit {
    /// Attempts an address has before it is refused.
    pub max_attempts: u32,
    /// Milliseconds after which one attempt is granted back.
    pub rate: u64,
}

impl StageLimit {
    /// Whether a bucket full again at `tat_ms` refuses an attempt at `now_ms`.
    pub fn refuses(&self, tat_ms: i64, now_ms: i64) -> bool {
        tat_ms - now_ms > self.tolerance_ms()
    }

    /// How far ahead the bucket may be and still take an attempt (the
    /// store's `take_ip_throttle` applies [`Self::refuses`] with it).
    pub fn tolerance_ms(&self) -> i64 {
        i64::try_from(
            self.rate
                .saturating_mul(u64::from(self.max_attempts.saturating_sub(1))),
        )
        .unwrap_or(i64::MAX)
    }

    /// The rate as a store value.
    pub fn rate_ms(&self) -> i64 {
        i64::try_from(self.rate).unwrap_or(i64::MAX)
    }

    /// The milliseconds until an attempt at `now_ms` is taken again.
    pub fn retry_after_ms(&self, tat_ms: i64, now_ms: i64) -> i64 {
        (tat_ms - now_ms - self.tolerance_ms()).max(0)
    }

    fn patch(&mut self, stage: &str, body: &Value, bounds: Bounds) -> Result<(), String> {
        let obj = body
            .as_object()
            .ok_or_else(|| type_error(stage, "object"))?;
        for (key, value) in obj {
            let (lo, hi) = match key.as_str() {
                "max_attempts" => bounds.attempts,
                "rate" => bounds.rate,
                other => {
                    return Err(format!(
                        "Payload validation error: 'Additional properties not allowed: {other}' on property stage.{stage}."
                    ));
                }
            };
            let n = value
                .as_u64()
                .ok_or_else(|| type_error(&format!("stage.{stage}.{key}"), "integer"))?;
            if !(lo..=hi).contains(&n) {
                return Err(format!(
                    "Payload validation error: 'Value {n} is out of range' on property stage.{stage}.{key} ({lo} to {hi})."
                ));
            }
            if key == "max_attempts" {
                self.max_attempts = u32::try_from(n).unwrap_or(u32::MAX);
            } else {
                self.rate = n;
            }
        }
        Ok(())
    }
}

/// Auth0's ranges for one stage.
#[derive(Clone, Copy)]
struct Bounds {
    attempts: (u64, u64),
    rate: (u64, u64),
}

const PRE_LOGIN_BOUNDS: Bounds = Bounds {
    attempts: (1, 2500),
    rate: (34_560, 86_400_000),
};
const PRE_REGISTRATION_BOUNDS: Bounds = Bounds {
    attempts: (1, 72_000),
    rate: (1200, 86_400_000),
};

/// The two stages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stages {
    /// Failed logins from one address.
    #[serde(rename = "pre-login")]
    pub pre_login: StageLimit,
    /// Signups from one address.
    #[serde(rename = "pre-user-registration")]
    pub pre_user_registration: StageLimit,
}

/// The tenant's suspicious-IP throttling settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspiciousIpThrottling {
    /// Whether it is active.
    pub enabled: bool,
    /// What happens when an address runs out of attempts.
    pub shields: Vec<IpShield>,
    /// Addresses and CIDR ranges never throttled.
    pub allowlist: Vec<String>,
    /// Each stage's limit.
    pub stage: Stages,
}

impl Default for SuspiciousIpThrottling {
    /// Auth0's defaults: 100 failed logins a day (one back every 864 s), 50
    /// signups (one back every 1 728 s).
    fn default() -> Self {
        Self {
            enabled: true,
            shields: vec![IpShield::AdminNotification, IpShield::Block],
            allowlist: Vec::new(),
            stage: Stages {
                pre_login: StageLimit {
                    max_attempts: 100,
                    rate: 864_000,
                },
                pre_user_registration: StageLimit {
                    max_attempts: 50,
                    rate: 1_728_000,
                },
            },
        }
    }
}

impl SuspiciousIpThrottling {
    /// The limit of one stage.
    pub fn limit(&self, stage: ThrottleStage) -> StageLimit {
        match stage {
            ThrottleStage::PreLogin => self.stage.pre_login,
            ThrottleStage::PreUserRegistration => self.stage.pre_user_registration,
        }
    }

    /// Whether attempts from `ip` are refused once its bucket is empty.
    pub fn blocks(&self) -> bool {
        self.enabled && self.shields.contains(&IpShield::Block)
    }

    /// Whether administrators are told of a newly throttled address.
    pub fn notifies(&self) -> bool {
        self.enabled && self.shields.contains(&IpShield::AdminNotification)
    }

    /// Whether `ip` is in the allowlist.
    pub fn allows(&self, ip: &str) -> bool {
        ip.parse::<IpAddr>()
            .is_ok_and(|ip| self.allowlist.iter().any(|entry| cidr_contains(entry, ip)))
    }

    /// Apply a `PATCH` body: only what it names changes; a bad value or an
    /// unknown property is refused and nothing changes.
    pub fn patch(&mut self, body: &JsonObject) -> Result<(), String> {
        let mut next = self.clone();
        for (key, value) in body {
            match key.as_str() {
                "enabled" => {
                    next.enabled = value.as_bool().ok_or_else(|| type_error(key, "boolean"))?;
                }
                "shields" => next.shields = enum_list(key, value)?,
                "allowlist" => {
                    next.allowlist = value
                        .as_array()
                        .ok_or_else(|| type_error(key, "array"))?
                        .iter()
                        .map(|v| {
                            let s = v.as_str().ok_or_else(|| type_error(key, "array of strings"))?;
                            parse_cidr(s).map(|_| s.trim().to_string()).ok_or_else(|| {
                                format!(
                                    "Payload validation error: '{s}' in allowlist is not an IP address or CIDR range."
                                )
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                }
                "stage" => {
                    let stages = value.as_object().ok_or_else(|| type_error(key, "object"))?;
                    for (name, limit) in stages {
                        match name.as_str() {
                            "pre-login" => {
                                next.stage.pre_login.patch(name, limit, PRE_LOGIN_BOUNDS)?;
                            }
                            "pre-user-registration" => next.stage.pre_user_registration.patch(
                                name,
                                limit,
                                PRE_REGISTRATION_BOUNDS,
                            )?,
                            other => {
                                return Err(format!(
                                    "Payload validation error: 'Additional properties not allowed: {other}' on property stage."
                                ));
                            }
                        }
                    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn ipv6_addresses_count_per_64() {
        assert_eq!(bucket("203.0.113.7"), "203.0.113.7");
        assert_eq!(bucket("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(bucket("2001:db8:1:2:ffff:1:2:3"), "2001:db8:1:2::/64");
        assert_ne!(bucket("2001:db8:1:3::1"), bucket("2001:db8:1:2::1"));
        assert_eq!(bucket("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(bucket("not an address"), "not an address");
    }

    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> JsonObject {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn defaults_are_auth0s() {
        assert_eq!(
            serde_json::to_value(SuspiciousIpThrottling::default()).ok(),
            Some(
                json!({"enabled": true, "shields": ["admin_notification", "block"],
                "allowlist": [], "stage": {
                    "pre-login": {"max_attempts": 100, "rate": 864_000},
                    "pre-user-registration": {"max_attempts": 50, "rate": 1_728_000}}})
            )
        );
    }

    #[test]
    fn patch_changes_only_what_it_names_and_checks_it() {
        let mut s = SuspiciousIpThrottling::default();
        assert!(
            s.patch(&obj(json!({"stage": {"pre-login": {"max_attempts": 3}}})))
                .is_ok()
        );
        assert_eq!(s.stage.pre_login.max_attempts, 3);
        assert_eq!(s.stage.pre_login.rate, 864_000);
        assert_eq!(s.stage.pre_user_registration.max_attempts, 50);
        for body in [
            json!({"stage": {"pre-login": {"max_attempts": 0}}}),
            json!({"stage": {"pre-login": {"max_attempts": 2501}}}),
            json!({"stage": {"pre-login": {"rate": 34_559}}}),
            json!({"stage": {"pre-user-registration": {"rate": 1199}}}),
            json!({"stage": {"pre-user-registration": {"max_attempts": 72_001}}}),
            json!({"stage": {"pre-signup": {}}}),
            json!({"shields": ["block", "user_notification"]}),
            json!({"allowlist": ["300.0.0.1"]}),
            json!({"enabled": 1}),
            json!({"mode": "x"}),
        ] {
            let before = s.clone();
            assert!(s.patch(&obj(body.clone())).is_err(), "{body}");
            assert_eq!(s, before, "a refused patch changes nothing: {body}");
        }
    }

    #[test]
    fn a_bucket_takes_max_attempts_then_one_per_rate() {
        let limit = StageLimit {
            max_attempts: 3,
            rate: 1000,
        };
        // Three attempts at t=0 move the bucket to 3000: the fourth is refused.
        let mut tat = 0;
        for _ in 0..3 {
            assert!(!limit.refuses(tat, 0));
            tat = tat.max(0) + limit.rate_ms();
        }
        assert!(limit.refuses(tat, 0));
        assert_eq!(limit.retry_after_ms(tat, 0), 1000);
        // One rate later, one attempt is granted back.
        assert!(!limit.refuses(tat, 1000));
    }
}
