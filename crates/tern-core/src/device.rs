//! Where a user's access was used from: the client address and `User-Agent`
//! of the requests that started and last used a session or a refresh token
//! family (Auth0's `device` object; Tern has no ASN database, so no
//! `*_asn`). Recorded on writes the request makes anyway, never by a write
//! of its own.

use serde::{Deserialize, Serialize};

/// Characters of a `User-Agent` kept: the header is the client's to fill,
/// and a stored row must not grow with it.
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// One request's address and user agent, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// The client's address (as `client_ip` decided it, proxies believed
    /// only when trusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The `User-Agent`, cut to [`MAX_USER_AGENT_CHARS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl Seen {
    /// A request from `ip` that sent `user_agent` (absent or empty: none).
    pub fn new(ip: impl Into<String>, user_agent: Option<&str>) -> Self {
        Self {
            ip: Some(ip.into()),
            user_agent: user_agent
                .filter(|ua| !ua.is_empty())
                .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
        }
    }

    /// Whether nothing was recorded (records made before Tern kept these).
    pub fn is_empty(&self) -> bool {
        self.ip.is_none() && self.user_agent.is_none()
    }
}

/// The first and the latest request of a session or token family.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The request that started it.
    #[serde(default, skip_serializing_if = "Seen::is_empty")]
    pub initial: Seen,
    /// The latest request that used it (the first until then).
    #[serde(default, skip_serializing_if = "Seen::is_empty")]
    pub last: Seen,
}

impl Device {
    /// Started by `seen`, not used since.
    pub fn starting(seen: Seen) -> Self {
        Self {
            initial: seen.clone(),
            last: seen,
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.initial.is_empty() && self.last.is_empty()
    }

    /// Auth0's `device` object (sessions' and refresh tokens' alike):
    /// `initial_ip`, `initial_user_agent`, `last_ip`, `last_user_agent`,
    /// each only when recorded.
    pub fn to_auth0(&self) -> serde_json::Value {
        let mut v = serde_json::Map::new();
        for (when, seen) in [("initial", &self.initial), ("last", &self.last)] {
            if let Some(ip) = &seen.ip {
                v.insert(format!("{when}_ip"), ip.clone().into());
            }
            if let Some(ua) = &seen.user_agent {
                v.insert(format!("{when}_user_agent"), ua.clone().into());
            }
        }
        serde_json::Value::Object(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_agent_is_cut_by_characters() {
        // Multi-byte characters: a byte cut would split one.
        let long = "é".repeat(MAX_USER_AGENT_CHARS + 10);
        let seen = Seen::new("192.0.2.1", Some(&long));
        let ua = seen.user_agent.unwrap();
        assert_eq!(ua.chars().count(), MAX_USER_AGENT_CHARS);
        assert!(long.starts_with(&ua));
        assert_eq!(Seen::new("192.0.2.1", Some("")).user_agent, None);
    }

    #[test]
    fn an_unrecorded_device_stores_nothing() {
        let json = serde_json::to_string(&Device::default()).unwrap();
        assert_eq!(json, "{}");
        let d = Device::starting(Seen::new("192.0.2.1", Some("curl/8")));
        let back: Device = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        let mut moved = d.clone();
        moved.last = Seen::new("198.51.100.7", None);
        assert_eq!(
            moved.to_auth0(),
            serde_json::json!({"initial_ip": "192.0.2.1", "initial_user_agent": "curl/8",
                               "last_ip": "198.51.100.7"})
        );
    }
}
