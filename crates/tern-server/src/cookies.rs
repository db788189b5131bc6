//! The cookies of the browser flows: reading them from a request and
//! writing them with the attributes Tern's public URL calls for.
//!
//! Every cookie is `HttpOnly` and `Path=/`. On an https public URL it is
//! `Secure`; the session cookie is then `SameSite=None` so silent
//! authentication works in an application's iframe, while the transaction
//! cookie stays `Lax` (only Tern's own pages read it). On plain http (local
//! development and tests) `SameSite=None` is impossible without `Secure`, so
//! both are `Lax`.

use axum::http::{HeaderMap, HeaderValue, header};

/// A cookie value from the request's `Cookie` headers.
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

/// How a cookie may travel cross-site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on top-level navigations from other sites, not in their frames.
    Lax,
    /// Sent everywhere (needs `Secure`): iframes of the application's site.
    None,
}

/// A `Set-Cookie` value. `max_age` in seconds; `None`: a browser-session cookie.
pub fn set(
    public_url: &str,
    name: &str,
    value: &str,
    max_age: Option<i64>,
    same_site: SameSite,
) -> HeaderValue {
    let same_site = match (same_site, public_url.starts_with("https://")) {
        (SameSite::None, true) => "None",
        _ => "Lax",
    };
    build(public_url, name, value, "/", max_age, same_site)
}

/// A `SameSite=Strict` cookie under `path` (the console's): never sent on a
/// request another site started, `Secure` on an https public URL.
pub fn set_strict(
    public_url: &str,
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
) -> HeaderValue {
    build(public_url, name, value, path, Some(max_age), "Strict")
}

/// A `SameSite=Lax` cookie under `path`: sent on top-level navigations
/// another site started too (the console's sign-in, whose callback may end
/// a redirect chain that began elsewhere); `Secure` on an https public URL.
pub fn set_lax_scoped(
    public_url: &str,
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
) -> HeaderValue {
    build(public_url, name, value, path, Some(max_age), "Lax")
}

fn build(
    public_url: &str,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
    same_site: &str,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite={same_site}");
    if public_url.starts_with("https://") {
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

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear(public_url: &str, name: &str) -> HeaderValue {
    set(public_url, name, "", Some(0), SameSite::Lax)
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
            "s=v; Path=/; HttpOnly; SameSite=None; Secure; Max-Age=10"
        );
        let http = set("http://localhost:1", "s", "v", None, SameSite::None);
        assert_eq!(http, "s=v; Path=/; HttpOnly; SameSite=Lax");
    }
}
