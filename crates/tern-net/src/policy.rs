//! Which addresses Tern may connect to on a tenant's behalf.
//!
//! The decision is made on the address a connection is actually opened to
//! (after DNS), never on a name as written: a name that resolves to a
//! loopback address is a loopback destination. Callers therefore resolve
//! through [`NetworkPolicy::resolve`] and connect to the addresses it
//! returns, so a second, different DNS answer (rebinding) is never used.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The configuration setting an operator changes to allow a refused destination.
pub const SETTING: &str = "network.allow";

/// One operator rule of `network.allow`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A host name as written in URLs and DSNs (lower case, no trailing dot);
    /// `*.suffix` matches every subdomain of `suffix` (not `suffix` itself).
    Name(String),
    /// An address range (a single address is a range of full length).
    Net(IpAddr, u8),
}

/// A rule: a name, an address or a CIDR range, optionally one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    target: Target,
    port: Option<u16>,
}

impl Rule {
    /// Reads `legacy.internal`, `*.corp.example`, `10.0.0.0/8`, `fd00::/8`,
    /// `127.0.0.1:4000`, `legacy.internal:8443`, `::1` or `[::1]:4000`.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let t = text.trim().to_ascii_lowercase();
        let bad = |why: &str| format!("{SETTING}: \"{text}\" {why}");
        if t.is_empty() {
            return Err(bad("is empty"));
        }
        if let Some((net, prefix)) = t.split_once('/') {
            let ip: IpAddr = net
                .trim_matches(['[', ']'])
                .parse()
                .map_err(|_| bad("is not a CIDR range (e.g. 10.0.0.0/8, fd00::/8)"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix: u8 = prefix
                .parse()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad("has an invalid prefix length"))?;
            let ip = canonical(ip);
            let prefix = if ip.is_ipv4() && max == 128 {
                prefix.saturating_sub(96)
            } else {
                prefix
            };
            return Ok(Rule {
                target: Target::Net(ip, prefix),
                port: None,
            });
        }
        if let Ok(ip) = t.parse::<IpAddr>() {
            return Ok(Rule::address(ip, None));
        }
        if let Some(rest) = t.strip_prefix('[') {
            let (ip, port) = rest
                .split_once(']')
                .ok_or_else(|| bad("is not [IPv6]:port"))?;
            let ip: IpAddr = ip.parse().map_err(|_| bad("is not [IPv6]:port"))?;
            let port = match port {
                "" => None,
                p => Some(
                    parse_port(p.trim_start_matches(':'))
                        .ok_or_else(|| bad("has an invalid port"))?,
                ),
            };
            return Ok(Rule::address(ip, port));
        }
        let (host, port) = match t.rsplit_once(':') {
            Some((h, p)) => (
                h,
                Some(parse_port(p).ok_or_else(|| bad("has an invalid port"))?),
            ),
            None => (t.as_str(), None),
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Rule::address(ip, port));
        }
        let name = host.trim_end_matches('.');
        let body = name.strip_prefix("*.").unwrap_or(name);
        let valid = !body.is_empty()
            && body.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if !valid {
            return Err(bad(
                "is neither a host name, an address, a CIDR range nor host:port",
            ));
        }
        Ok(Rule {
            target: Target::Name(name.to_string()),
            port,
        })
    }

    fn address(ip: IpAddr, port: Option<u16>) -> Rule {
        let ip = canonical(ip);
        let len = if ip.is_ipv4() { 32 } else { 128 };
        Rule {
            target: Target::Net(ip, len),
            port,
        }
    }

    fn covers(&self, name: Option<&str>, ip: IpAddr) -> bool {
        match &self.target {
            Target::Name(rule) => name.is_some_and(|n| match rule.strip_prefix("*.") {
                Some(suffix) => n
                    .strip_suffix(suffix)
                    .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
                None => rule == n,
            }),
            Target::Net(net, prefix) => in_net(ip, *net, *prefix),
        }
    }
}

fn parse_port(p: &str) -> Option<u16> {
    p.parse().ok().filter(|p| *p != 0)
}

/// A mapped or embedded IPv4 address as IPv4 (`::ffff:127.0.0.1` is 127.0.0.1).
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (canonical(ip), net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// What kind of non-public address an address is: its class, which anyone
/// may read, and the ranges of that class, shown only beside an address the
/// reader wrote themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Special {
    /// The class, e.g. "a loopback address".
    pub class: &'static str,
    /// The ranges the class covers, e.g. "127.0.0.0/8".
    pub ranges: &'static str,
}

impl fmt::Display for Special {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.class, self.ranges)
    }
}

const fn special(class: &'static str, ranges: &'static str) -> Special {
    Special { class, ranges }
}

/// Why an address is not a public one, or `None` for a public address.
pub fn special_range(ip: IpAddr) -> Option<Special> {
    match canonical(ip) {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<Special> {
    let o = ip.octets();
    let v = IpAddr::V4(ip);
    let net = |n: [u8; 4], p: u8| in_net(v, IpAddr::V4(Ipv4Addr::from(n)), p);
    Some(if ip.is_unspecified() || o[0] == 0 {
        special("an unspecified address", "\"this network\", 0.0.0.0/8")
    } else if ip.is_loopback() {
        special("a loopback address", "127.0.0.0/8")
    } else if ip.is_link_local() {
        special(
            "a link-local address",
            "169.254.0.0/16: cloud metadata services live there",
        )
    } else if ip.is_private() {
        special(
            "a private address",
            "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16",
        )
    } else if net([100, 64, 0, 0], 10) {
        special("a carrier-grade NAT address", "100.64.0.0/10")
    } else if ip.is_multicast() {
        special("a multicast address", "224.0.0.0/4")
    } else if o[0] >= 240 {
        special("a reserved or broadcast address", "240.0.0.0/4")
    } else if net([192, 0, 0, 0], 24) {
        special("an IETF protocol address", "192.0.0.0/24")
    } else if net([198, 18, 0, 0], 15) {
        special("a benchmarking address", "198.18.0.0/15")
    } else {
        return None;
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<Special> {
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if ip.is_unspecified() {
        return Some(special("an unspecified address", "::"));
    }
    if ip.is_loopback() {
        return Some(special("a loopback address", "::1"));
    }
    // IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
    // addresses carry an IPv4 address that may be reached through them.
    if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return special_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return special_v4(embedded(s[1], s[2]));
    }
    let v = IpAddr::V6(ip);
    let net = |n: &str, p: u8| n.parse().is_ok_and(|n| in_net(v, n, p));
    Some(if net("fe80::", 10) {
        special("a link-local address", "fe80::/10")
    } else if net("fec0::", 10) {
        special("a site-local address", "fec0::/10")
    } else if net("fc00::", 7) {
        special("a unique-local address", "fc00::/7")
    } else if ip.is_multicast() {
        special("a multicast address", "ff00::/8")
    } else {
        return None;
    })
}

/// Why a connection was refused; its message names the setting to change.
///
/// The message is read by whoever named the destination — a script or
/// connector author, through a script's error or the tenant's logs — on the
/// other side of a trust boundary from the network. So it names the host as
/// that author wrote it and the class of what it resolved to, never the
/// address a name resolved to: that would let an author map how internal
/// names resolve. The address is kept for the operator's log
/// ([`Refusal::resolved`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The host as the caller named it (normalized; an address literal as an address).
    host: String,
    /// The address checked, the one a name resolved to.
    addr: SocketAddr,
    /// Why, in words the author may read.
    reason: String,
}

impl Refusal {
    /// The host as the caller named it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port connected to.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address, when the caller wrote an address rather than a name
    /// (so telling it back reveals nothing).
    pub fn literal_address(&self) -> Option<IpAddr> {
        self.host.parse::<IpAddr>().ok().map(|_| self.addr.ip())
    }

    /// The address checked, a name's resolved address included: for the
    /// operator's log only, never for a message a tenant's author reads.
    pub fn resolved(&self) -> SocketAddr {
        self.addr
    }

    /// Why, in words the author may read.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// `host:port`, an IPv6 address in brackets.
fn host_port(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        _ => format!("{host}:{port}"),
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A name is allowed by a rule naming it, so the example never needs
        // the address it resolved to.
        let dest = host_port(&self.host, self.port());
        write!(
            f,
            "network access to {dest} is refused: {}. If this legacy system is yours, \
             allow it in Tern's configuration: {SETTING} = [\"{dest}\"] (a host name, an \
             address, a CIDR range or host:port)",
            self.reason
        )
    }
}

impl std::error::Error for Refusal {}

/// Why [`NetworkPolicy::resolve`] gave no address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The policy refuses the destination.
    Refused(Refusal),
    /// The name did not resolve (or is not a network host at all).
    Lookup(String),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::Refused(r) => r.fmt(f),
            ResolveError::Lookup(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ResolveError {}

impl From<Refusal> for ResolveError {
    fn from(r: Refusal) -> Self {
        ResolveError::Refused(r)
    }
}

/// The destinations Tern may connect to on a tenant's behalf (scripts'
/// `request`/`fetch`/`axios`/`mysql`/`pg`, the HTTP and SQL connectors).
///
/// Public addresses are allowed. Loopback, link-local, private,
/// unique-local, CGNAT, unspecified, multicast and reserved ranges (in
/// IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms too) are refused
/// unless a rule of `network.allow` covers them. Tern's own listening
/// addresses are refused even then, unless a rule names that exact
/// address (or name) *and port*: a broad rule such as `127.0.0.1` or
/// `10.0.0.0/8` meant for legacy systems never opens Tern's own endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    rules: Vec<Rule>,
    own: Vec<SocketAddr>,
}

impl NetworkPolicy {
    /// The default policy plus the operator's rules.
    pub fn new<S: AsRef<str>>(allow: &[S]) -> Result<Self, String> {
        let rules = allow
            .iter()
            .map(|r| Rule::parse(r.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(NetworkPolicy {
            rules,
            own: Vec::new(),
        })
    }

    /// Also refuse these addresses (Tern's own listeners). An unspecified
    /// address (`0.0.0.0:8080`) stands for every local address on its port.
    pub fn with_own_addresses(mut self, own: impl IntoIterator<Item = SocketAddr>) -> Self {
        self.own.extend(own);
        self
    }

    /// The operator's rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    fn is_own(&self, addr: SocketAddr) -> bool {
        let ip = canonical(addr.ip());
        self.own.iter().any(|o| {
            o.port() == addr.port() && {
                let own_ip = canonical(o.ip());
                own_ip == ip || (own_ip.is_unspecified() && special_range(ip).is_some())
            }
        })
    }

    /// Whether connecting to `addr` is allowed; `name` is the host name it
    /// was resolved from, if any (name rules match it).
    pub fn check(&self, name: Option<&str>, addr: SocketAddr) -> Result<(), Refusal> {
        let name = name.map(normalize);
        let ip = canonical(addr.ip());
        let port = addr.port();
        let refuse = |reason: String| {
            let refusal = Refusal {
                host: name.clone().unwrap_or_else(|| ip.to_string()),
                addr: SocketAddr::new(ip, port),
                reason,
            };
            // The operator's log keeps the address the message leaves out.
            tracing::info!(
                host = %refusal.host,
                address = %refusal.addr,
                reason = %refusal.reason,
                "the network policy refused a destination"
            );
            refusal
        };
        // What the author may be told: an address they wrote with its
        // ranges, a name only by the class of what it resolved to.
        let resolves = if name.is_some() {
            "it resolves to"
        } else {
            "it is"
        };
        let covered = |exact: bool| {
            self.rules.iter().any(|r| {
                (if exact {
                    r.port == Some(port)
                } else {
                    r.port.is_none_or(|p| p == port)
                }) && r.covers(name.as_deref(), ip)
            })
        };
        if covered(true) {
            return Ok(());
        }
        if self.is_own(SocketAddr::new(ip, port)) {
            return Err(refuse(format!(
                "{resolves} Tern's own listening address (allowed only by a rule naming this exact host and port)"
            )));
        }
        if covered(false) {
            return Ok(());
        }
        match special_range(ip) {
            None => Ok(()),
            Some(what) if name.is_some() => Err(refuse(format!("{resolves} {}", what.class))),
            Some(what) => Err(refuse(format!("{ip} is {what}"))),
        }
    }

    /// Resolve `host` (a name or an address literal) and check every
    /// address; connect only to what this returns. A name with any refused
    /// address is refused whole: one answer of a name mixing public and
    /// private addresses is a rebinding attempt or a misconfiguration.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
        let host = normalize(host);
        if let Ok(ip) = host.parse::<IpAddr>() {
            let addr = SocketAddr::new(ip, port);
            self.check(None, addr)?;
            return Ok(vec![addr]);
        }
        if host.is_empty() || host.contains('/') || host.contains('\\') {
            return Err(ResolveError::Lookup(format!(
                "\"{host}\" is not a network host (Unix sockets and files are not reachable)"
            )));
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| ResolveError::Lookup(format!("cannot resolve {host}: {e}")))?
            .collect();
        if addrs.is_empty() {
            return Err(ResolveError::Lookup(format!("{host} has no address")));
        }
        for a in &addrs {
            self.check(Some(&host), *a)?;
        }
        Ok(addrs)
    }
}

/// A host as written in a URL or DSN, compared case-insensitively, IPv6
/// without brackets, without a trailing dot.
fn normalize(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    #[test]
    fn the_default_refuses_every_special_range() {
        let p = NetworkPolicy::default();
        for a in [
            "127.0.0.1:80",
            "127.9.9.9:80",
            "0.0.0.0:80",
            "10.1.2.3:80",
            "172.16.0.1:80",
            "172.31.255.255:80",
            "192.168.1.1:80",
            "169.254.169.254:80",
            "100.64.0.1:80",
            "224.0.0.1:80",
            "255.255.255.255:80",
            "[::1]:80",
            "[::]:80",
            "[fe80::1]:80",
            "[fd00::1]:80",
            "[fc00::1]:80",
            "[ff02::1]:80",
            "[::ffff:127.0.0.1]:80",
            "[::ffff:169.254.169.254]:80",
            "[::127.0.0.1]:80",
            "[64:ff9b::a9fe:a9fe]:80",
            "[2002:7f00:1::]:80",
        ] {
            assert!(p.check(None, addr(a)).is_err(), "{a} must be refused");
        }
        for a in [
            "93.184.216.34:443",
            "172.32.0.1:80",
            "100.128.0.1:80",
            "[2606:4700::1111]:443",
            "[2002:5db8:d822::]:80",
        ] {
            assert!(p.check(None, addr(a)).is_ok(), "{a} must be allowed");
        }
    }

    #[test]
    fn rules_allow_names_ranges_and_ports() {
        let p = NetworkPolicy::new(&[
            "legacy.internal",
            "10.0.0.0/8",
            "127.0.0.1:4000",
            "*.corp.test",
            "[::1]:5432",
            "db.internal:6432",
        ])
        .unwrap();
        assert!(
            p.check(Some("legacy.internal"), addr("192.168.0.9:1"))
                .is_ok()
        );
        assert!(
            p.check(Some("LEGACY.internal."), addr("192.168.0.9:1"))
                .is_ok()
        );
        assert!(p.check(None, addr("10.200.0.1:22")).is_ok());
        assert!(p.check(None, addr("127.0.0.1:4000")).is_ok());
        assert!(p.check(None, addr("[::ffff:127.0.0.1]:4000")).is_ok());
        assert!(p.check(None, addr("127.0.0.1:4001")).is_err());
        assert!(p.check(Some("a.corp.test"), addr("10.9.9.9:1")).is_ok());
        assert!(p.check(Some("corp.test"), addr("192.168.9.9:1")).is_err());
        assert!(p.check(None, addr("[::1]:5432")).is_ok());
        assert!(p.check(None, addr("[::1]:5433")).is_err());
        assert!(
            p.check(Some("db.internal"), addr("192.168.1.1:6432"))
                .is_ok()
        );
        assert!(
            p.check(Some("db.internal"), addr("192.168.1.1:5432"))
                .is_err()
        );
        // A name does not allow another name resolving to the same address.
        assert!(p.check(Some("localhost"), addr("127.0.0.1:80")).is_err());
    }

    #[test]
    fn own_addresses_need_an_exact_rule() {
        let own = [addr("127.0.0.1:8080"), addr("0.0.0.0:9464")];
        let broad = NetworkPolicy::new(&["127.0.0.1", "10.0.0.0/8"])
            .unwrap()
            .with_own_addresses(own);
        assert!(broad.check(None, addr("127.0.0.1:4000")).is_ok());
        let e = broad.check(None, addr("127.0.0.1:8080")).unwrap_err();
        assert!(e.reason.contains("Tern's own"), "{e}");
        assert!(broad.check(None, addr("10.0.0.1:9464")).is_err());
        assert!(broad.check(None, addr("10.0.0.1:9465")).is_ok());
        let exact = NetworkPolicy::new(&["127.0.0.1:8080"])
            .unwrap()
            .with_own_addresses(own);
        assert!(exact.check(None, addr("127.0.0.1:8080")).is_ok());
    }

    #[test]
    fn bad_rules_are_named() {
        for bad in ["", "10.0.0.0/33", "host:99999", "a b", "[::1", "x:0"] {
            let e = Rule::parse(bad).unwrap_err();
            assert!(e.starts_with("network.allow"), "{e}");
        }
        assert_eq!(
            Rule::parse("::ffff:10.0.0.0/104").unwrap(),
            Rule::parse("10.0.0.0/8").unwrap()
        );
    }

    #[test]
    fn the_message_names_the_setting() {
        let e = NetworkPolicy::default()
            .check(Some("localhost"), addr("127.0.0.1:5432"))
            .unwrap_err();
        let m = e.to_string();
        assert!(m.contains("localhost:5432 is refused"), "{m}");
        assert!(m.contains("network.allow = [\"localhost:5432\"]"), "{m}");
        let literal = NetworkPolicy::default()
            .check(None, addr("[::1]:5432"))
            .unwrap_err()
            .to_string();
        assert!(
            literal.contains("network.allow = [\"[::1]:5432\"]"),
            "{literal}"
        );
    }

    #[test]
    fn a_name_is_refused_without_the_address_it_resolved_to() {
        let own = NetworkPolicy::default().with_own_addresses([addr("10.1.2.3:8080")]);
        for (name, to, class) in [
            ("legacy.internal", "10.1.2.3:80", "a private address"),
            ("localhost", "127.0.0.1:80", "a loopback address"),
            (
                "meta.internal",
                "169.254.169.254:80",
                "a link-local address",
            ),
            ("six.internal", "[fd00::7]:80", "a unique-local address"),
            (
                "tern.internal",
                "10.1.2.3:8080",
                "Tern's own listening address",
            ),
        ] {
            let e = own.check(Some(name), addr(to)).unwrap_err();
            let m = e.to_string();
            let ip = addr(to).ip().to_string();
            assert!(m.contains(&format!("it resolves to {class}")), "{m}");
            assert!(!m.contains(&ip), "{m}");
            assert_eq!(e.literal_address(), None);
            assert_eq!(e.resolved(), addr(to), "the operator's log keeps it");
        }
        let e = own.check(None, addr("10.1.2.3:80")).unwrap_err();
        assert!(
            e.to_string().contains("10.1.2.3 is a private address ("),
            "{e}"
        );
        assert_eq!(e.literal_address(), Some(addr("10.1.2.3:80").ip()));
    }

    #[tokio::test]
    async fn names_are_checked_after_resolution() {
        let p = NetworkPolicy::default();
        assert!(matches!(
            p.resolve("localhost", 80).await,
            Err(ResolveError::Refused(_))
        ));
        assert!(matches!(
            p.resolve("/var/run/postgresql", 5432).await,
            Err(ResolveError::Lookup(_))
        ));
        let allowed = NetworkPolicy::new(&["localhost"]).unwrap();
        assert!(!allowed.resolve("localhost", 80).await.unwrap().is_empty());
    }
}
