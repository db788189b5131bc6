//! The cookies of the browser flows: reading them from a request and
//! writing them with the attributes Tern's public URL calls for.
//!
//! Every cookie is `HttpOnly`. On an https public URL it is `Secure`,
//! `Path=/`, has no `Domain` and carries the `__Host-` prefix
//! ([`HOST_PREFIX`]): browsers then accept it only from Tern's own host over
//! https, so a sibling subdomain (`evil.example.com` beside
//! `login.example.com`) can neither plant one nor overwrite Tern's — no
//! session fixation, no login CSRF through a planted transaction cookie.
//! The session cookie is then `SameSite=None` so silent authentication
//! works in an application's iframe, while the transaction cookie stays
//! `Lax` (only Tern's own pages read it). On plain http (local development
//! and tests) browsers refuse `__Host-` cookies and `SameSite=None` without
//! `Secure`, so cookies keep their plain names, and are `Lax`.
//!
//! Upgrading must not sign anyone out: on https a cookie is read under its
//! `__Host-` name first and, failing that, under its plain (legacy) name
//! ([`find`]). A record (session, transaction) made for a `__Host-` cookie
//! is stored under a digest bound to that name ([`digest`]), so its value
//! presented under the plain name — which a sibling subdomain can plant —
//! matches nothing; only records made before the upgrade are found through
//! the plain name. `cookie_moves` then moves such a cookie to its new name.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::client_secret::hash_secret;

/// The prefix of every cookie on an https public URL (RFC 6265bis
/// §4.1.3.2: `Secure`, `Path=/`, no `Domain`, else the browser drops it).
pub const HOST_PREFIX: &str = "__Host-";

/// Whether cookies of `public_url` carry [`HOST_PREFIX`].
pub fn prefixed(public_url: &str) -> bool {
    public_url.starts_with("https://")
}

/// The name the cookie `base` goes by under `public_url`.
pub fn name(public_url: &str, base: &str) -> String {
    if prefixed(public_url) {
        format!("{HOST_PREFIX}{base}")
    } else {
        base.to_string()
    }
}

/// A cookie value from the request's `Cookie` headers, by its exact name.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A cookie as the request carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'a> {
    /// Its value.
    pub value: &'a str,
    /// Under its `__Host-` name (else its plain one).
    pub host: bool,
}

impl Found<'_> {
    /// The digests a record of this cookie may be stored under (`salt`:
    /// what its kind of record mixes in, see [`digest`]): a `__Host-`
    /// cookie names a record made for it, or one made before the upgrade
    /// whose cookie was moved; a plain one only the latter.
    pub fn digests(&self, salt: &str) -> Vec<String> {
        let legacy = hash_secret(&format!("{salt}{}", self.value));
        if self.host {
            vec![bound(salt, self.value), legacy]
        } else {
            vec![legacy]
        }
    }
}

/// The cookie `base` of the request: on https its `__Host-` name first,
/// then its plain name (a cookie set before the upgrade, or planted by a
/// sibling subdomain: see [`Found::digests`]); on http its plain name.
pub fn find<'a>(public_url: &str, headers: &'a HeaderMap, base: &str) -> Option<Found<'a>> {
    if prefixed(public_url)
        && let Some(value) = get(headers, &format!("{HOST_PREFIX}{base}"))
    {
        return Some(Found { value, host: true });
    }
    get(headers, base).map(|value| Found { value, host: false })
}

/// The digest a record of a cookie issued now with `value` is stored
/// under: on https bound to the `__Host-` name (the NUL byte, which no
/// cookie value holds, keeps it apart from any digest of a value read from
/// a request), on http the SHA-256 of `salt` + `value` as before.
pub fn digest(public_url: &str, salt: &str, value: &str) -> String {
    if prefixed(public_url) {
        bound(salt, value)
    } else {
        hash_secret(&format!("{salt}{value}"))
    }
}

fn bound(salt: &str, value: &str) -> String {
    hash_secret(&format!("{HOST_PREFIX}\0{salt}{value}"))
}

/// How a cookie may travel cross-site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on top-level navigations from other sites, not in their frames.
    Lax,
    /// Sent everywhere (needs `Secure`): iframes of the application's site.
    None,
}

/// A `Set-Cookie` value for the cookie `base` (named as [`name`] says).
/// `max_age` in seconds; `None`: a browser-session cookie.
pub fn set(
    public_url: &str,
    base: &str,
    value: &str,
    max_age: Option<i64>,
    same_site: SameSite,
) -> HeaderValue {
    let same_site = match (same_site, prefixed(public_url)) {
        (SameSite::None, true) => "None",
        _ => "Lax",
    };
    build(public_url, base, value, "/", max_age, same_site)
}

/// A `SameSite=Strict` cookie (the console's): never sent on a request
/// another site started. On http it is kept to `path`; on https a
/// `__Host-` cookie must have `Path=/`.
pub fn set_strict(
    public_url: &str,
    base: &str,
    value: &str,
    path: &str,
    max_age: i64,
) -> HeaderValue {
    build(public_url, base, value, path, Some(max_age), "Strict")
}

/// A `SameSite=Lax` cookie: sent on top-level navigations another site
/// started too (the console's sign-in, whose callback may end a redirect
/// chain that began elsewhere). On http it is kept to `path`; on https a
/// `__Host-` cookie must have `Path=/`.
pub fn set_lax_scoped(
    public_url: &str,
    base: &str,
    value: &str,
    path: &str,
    max_age: i64,
) -> HeaderValue {
    build(public_url, base, value, path, Some(max_age), "Lax")
}

fn build(
    public_url: &str,
    base: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
    same_site: &str,
) -> HeaderValue {
    let (name, path) = if prefixed(public_url) {
        (name(public_url, base), "/")
    } else {
        (base.to_string(), path)
    };
    line(&name, value, path, max_age, same_site, prefixed(public_url))
}

fn line(
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
    same_site: &str,
    secure: bool,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite={same_site}");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={}", age.max(0)));
    }
    // Names and values are Tern's own (alphanumerics), never request
    // input; should one ever not be, a harmless expired cookie goes out.
    HeaderValue::from_str(&c)
        .unwrap_or_else(|_| HeaderValue::from_static("tern_invalid=1; Max-Age=0"))
}

/// A `Set-Cookie` value that deletes the cookie `base`.
pub fn clear(public_url: &str, base: &str) -> HeaderValue {
    set(public_url, base, "", Some(0), SameSite::Lax)
}

/// On https, the `Set-Cookie` value that deletes the cookie `base` under
/// its plain name, as it was set before the upgrade (under `path`); on
/// http there is no other name, so nothing.
pub fn clear_legacy(public_url: &str, base: &str, path: &str) -> Option<HeaderValue> {
    prefixed(public_url).then(|| line(base, "", path, Some(0), "Lax", true))
}

/// The name a `Set-Cookie` value sets.
pub fn set_name(set_cookie: &HeaderValue) -> Option<&str> {
    set_cookie.to_str().ok()?.split_once('=').map(|(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_many() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; tern_session=abc"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(get(&h, "tern_session"), Some("abc"));
        assert_eq!(get(&h, "b"), Some("2"));
        assert_eq!(get(&h, "tern"), None);
    }

    #[test]
    fn attributes_follow_the_scheme() {
        let https = set("https://t.example", "s", "v", Some(10), SameSite::None);
        assert_eq!(
            https,
            "__Host-s=v; Path=/; HttpOnly; SameSite=None; Secure; Max-Age=10"
        );
        let http = set("http://localhost:1", "s", "v", None, SameSite::None);
        assert_eq!(http, "s=v; Path=/; HttpOnly; SameSite=Lax");
        // A `__Host-` cookie must have `Path=/`, whatever path the plain one had.
        let scoped = set_strict("https://t.example", "c", "v", "/console", 5);
        assert_eq!(
            scoped,
            "__Host-c=v; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=5"
        );
        let scoped = set_strict("http://localhost:1", "c", "v", "/console", 5);
        assert_eq!(
            scoped,
            "c=v; Path=/console; HttpOnly; SameSite=Strict; Max-Age=5"
        );
        assert_eq!(
            clear_legacy("https://t.example", "c", "/console").unwrap(),
            "c=; Path=/console; HttpOnly; SameSite=Lax; Secure; Max-Age=0"
        );
        assert!(clear_legacy("http://localhost:1", "c", "/console").is_none());
    }

    #[test]
    fn the_host_name_is_read_first_and_binds_its_records() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("s=planted; __Host-s=mine"),
        );
        let https = "https://t.example";
        let found = find(https, &h, "s").unwrap();
        assert_eq!((found.value, found.host), ("mine", true));
        assert_eq!(found.digests("")[0], digest(https, "", "mine"));
        // On http the `__Host-` cookie is not Tern's (browsers refuse it there).
        assert_eq!(
            find("http://localhost:1", &h, "s").unwrap().value,
            "planted"
        );
        // A value issued under the `__Host-` name, presented under the
        // plain one, names no record made for it.
        let mut plain = HeaderMap::new();
        plain.append(header::COOKIE, HeaderValue::from_static("s=mine"));
        let legacy = find(https, &plain, "s").unwrap();
        assert!(!legacy.host);
        assert!(!legacy.digests("").contains(&digest(https, "", "mine")));
        assert_eq!(legacy.digests(""), vec![hash_secret("mine")]);
    }
}
