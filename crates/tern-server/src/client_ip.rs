//! Whose address a request comes from: the one decision every per-IP rule
//! (brute-force blocks, suspicious-IP throttling, the tenant log's `ip`)
//! rests on.
//!
//! A header naming an address is a claim anyone can make, so Tern believes
//! one only from a party it trusts:
//! - the TCP peer, always;
//! - `X-Forwarded-For`, only when the peer is in `http.trusted_proxies`, and
//!   then read from the right: each hop a trusted proxy appended is
//!   believed, and the first address not in a trusted range is the client
//!   (what lies to its left was written by the client itself);
//! - Auth0's `auth0-forwarded-for`, only on `POST /oauth/token` from a
//!   confidential client that authenticated with its secret and whose
//!   `is_token_endpoint_ip_header_trusted` is true (default false) — a
//!   server-side application passing on its end user's address for the
//!   password grants, as Auth0 allows. From any other client it would let
//!   the secret's holder choose the address the protections count against.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::state::AppState;

/// The proxy ranges whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parse `http.trusted_proxies`: CIDR ranges (`10.0.0.0/8`, `::1/128`)
    /// or single addresses.
    pub fn parse(ranges: &[String]) -> Result<Self, String> {
        ranges
            .iter()
            .map(|r| {
                let r = r.trim();
                r.parse::<IpNet>()
                    .or_else(|_| r.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("http.trusted_proxies: '{r}' is not an address or a CIDR range")
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut ip = canonical(peer);
        if !self.trusts(ip) {
            return ip;
        }
        // Every X-Forwarded-For line, in order, as one list of hops.
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            let Some(addr) = parse_hop(hop) else {
                // A hop no proxy would write: stop at the last believed one.
                break;
            };
            ip = addr;
            if !self.trusts(addr) {
                break;
            }
        }
        ip
    }
}

/// `auth0-forwarded-for` when the caller may set it (`trusted`: a
/// confidential client that authenticated with its secret on the token
/// endpoint and has `is_token_endpoint_ip_header_trusted`), else the
/// transport's answer.
pub fn token_endpoint_ip(transport: IpAddr, headers: &HeaderMap, trusted: bool) -> IpAddr {
    if !trusted {
        return transport;
    }
    headers
        .get("auth0-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_hop)
        .unwrap_or(transport)
}

/// One address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `::1`,
/// `[::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(canonical)
}

/// An IPv4 address carried as IPv6 (`::ffff:1.2.3.4`, what a dual-stack
/// socket reports) is the IPv4 address, so one client has one key.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A request as a session or a refresh token records it: the client's
/// address (as decided here) and its `User-Agent`, cut to a bounded length.
pub fn seen(ip: impl Into<String>, headers: &HeaderMap) -> tern_core::device::Seen {
    tern_core::device::Seen::new(ip, user_agent(headers))
}

/// The request's `User-Agent`, when it is text.
pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

/// Extractor: the client's address as [`TrustedProxies::client_ip`] decides.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        // Without ConnectInfo (a router driven in-process) there is no peer.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        Ok(Self(s.trusted_proxies.client_ip(peer, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn who_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into()]).unwrap();
        let cases: &[(&str, &[&str], &str, &str)] = &[
            (
                "203.0.113.9",
                &["198.51.100.1"],
                "203.0.113.9",
                "untrusted peer: header ignored",
            ),
            ("10.0.0.2", &[], "10.0.0.2", "trusted peer without header"),
            ("10.0.0.2", &["198.51.100.1"], "198.51.100.1", "one proxy"),
            (
                "10.0.0.2",
                &["6.6.6.6, 198.51.100.1"],
                "198.51.100.1",
                "a spoofed hop on the left is not believed",
            ),
            (
                "10.0.0.2",
                &["6.6.6.6, 198.51.100.1, 10.0.0.7"],
                "198.51.100.1",
                "two trusted proxies",
            ),
            (
                "10.0.0.2",
                &["6.6.6.6", "198.51.100.1"],
                "198.51.100.1",
                "several header lines are one list",
            ),
            (
                "10.0.0.2",
                &["10.0.0.9, 10.0.0.8"],
                "10.0.0.9",
                "only proxies: the leftmost",
            ),
            (
                "10.0.0.2",
                &["garbage, 10.0.0.8"],
                "10.0.0.8",
                "unparseable hop: the last believed",
            ),
            (
                "10.0.0.2",
                &["198.51.100.1:4711"],
                "198.51.100.1",
                "hop with a port",
            ),
            ("::1", &["[2001:db8::1]:443"], "2001:db8::1", "IPv6"),
            (
                "::ffff:10.0.0.2",
                &["198.51.100.1"],
                "198.51.100.1",
                "IPv4-mapped peer",
            ),
            (
                "10.0.0.2",
                &["::ffff:198.51.100.1"],
                "198.51.100.1",
                "IPv4-mapped hop",
            ),
        ];
        for (peer, xff, want, why) in cases {
            assert_eq!(
                proxies.client_ip(ip(peer), &headers(xff)),
                ip(want),
                "{why}"
            );
        }
    }

    #[test]
    fn no_trusted_proxies_means_the_peer() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("127.0.0.1"), &headers(&["198.51.100.1"])),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_bad_range_is_refused() {
        let err = TrustedProxies::parse(&["10.0.0.0/33".into()]).err();
        assert!(err.is_some_and(|e| e.contains("10.0.0.0/33")));
    }

    #[test]
    fn auth0_forwarded_for_only_from_a_confidential_client() {
        let mut h = HeaderMap::new();
        h.insert("auth0-forwarded-for", "198.51.100.4".parse().unwrap());
        let peer = ip("127.0.0.1");
        assert_eq!(token_endpoint_ip(peer, &h, true), ip("198.51.100.4"));
        assert_eq!(token_endpoint_ip(peer, &h, false), peer);
        h.insert("auth0-forwarded-for", "not an ip".parse().unwrap());
        assert_eq!(token_endpoint_ip(peer, &h, true), peer);
    }
}
