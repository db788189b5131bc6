//! Which hosts a script may reach through the provided network modules.

/// One allowed destination: a host name or IP literal as written in URLs and connection
/// settings (compared case-insensitively, IPv6 without brackets), optionally a single port.
/// A host starting with `*.` matches every subdomain (not the bare domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    /// Host name, IP literal or `*.suffix`.
    pub host: String,
    /// `None` allows every port.
    pub port: Option<u16>,
}

/// The destinations `request`, `fetch`, `axios`, `mysql` and `pg` may connect to.
///
/// Matching is on the host *as written* by the script (no DNS resolution is done for the
/// check): allowing `db.internal` allows whatever that name resolves to. Redirects are
/// checked hop by hop. The default policy allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    rules: Vec<HostRule>,
    allow_all: bool,
}

impl NetworkPolicy {
    /// A policy that allows no network access at all (the default).
    pub fn deny_all() -> Self {
        NetworkPolicy::default()
    }

    /// A policy that allows every host and port. Only for trusted scripts: it lets a
    /// script reach anything the server can reach.
    pub fn allow_all() -> Self {
        NetworkPolicy {
            rules: Vec::new(),
            allow_all: true,
        }
    }

    /// Adds a host, on every port.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.rules.push(HostRule {
            host: normalize(&host.into()),
            port: None,
        });
        self
    }

    /// Adds a host on one port.
    pub fn allow_host_port(mut self, host: impl Into<String>, port: u16) -> Self {
        self.rules.push(HostRule {
            host: normalize(&host.into()),
            port: Some(port),
        });
        self
    }

    /// The explicit rules of this policy.
    pub fn rules(&self) -> &[HostRule] {
        &self.rules
    }

    /// Whether a connection to `host:port` is allowed.
    pub fn is_allowed(&self, host: &str, port: u16) -> bool {
        if self.allow_all {
            return true;
        }
        let host = normalize(host);
        self.rules.iter().any(|rule| {
            let host_ok = match rule.host.strip_prefix("*.") {
                Some(suffix) => host
                    .strip_suffix(suffix)
                    .is_some_and(|head| head.ends_with('.') && head.len() > 1),
                None => rule.host == host,
            };
            host_ok && rule.port.is_none_or(|p| p == port)
        })
    }

    /// Whether an `http(s)` URL may be fetched.
    pub(crate) fn allows_url(&self, url: &url::Url) -> bool {
        match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) if matches!(url.scheme(), "http" | "https") => {
                self.is_allowed(host, port)
            }
            _ => false,
        }
    }
}

fn normalize(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        let p = NetworkPolicy::deny_all()
            .allow_host("127.0.0.1")
            .allow_host_port("DB.example.com", 5432)
            .allow_host("*.corp.test");
        assert!(p.is_allowed("127.0.0.1", 80));
        assert!(p.is_allowed("db.example.com", 5432));
        assert!(!p.is_allowed("db.example.com", 3306));
        assert!(p.is_allowed("a.corp.test", 1));
        assert!(!p.is_allowed("corp.test", 1));
        assert!(!p.is_allowed("xcorp.test", 1));
        assert!(!p.is_allowed("localhost", 80));
        assert!(!NetworkPolicy::default().is_allowed("127.0.0.1", 80));
        assert!(NetworkPolicy::allow_all().is_allowed("example.org", 443));
    }
}
