//! WHATWG URL parsing behind the `URL` class (the `url` crate).

use serde_json::json;
use url::Url;

fn components(u: &Url) -> String {
    let port = u.port().map(|p| p.to_string()).unwrap_or_default();
    let host = match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or("")),
        None => u.host_str().unwrap_or("").to_owned(),
    };
    let search = match u.query() {
        Some(q) if !q.is_empty() => format!("?{q}"),
        _ => String::new(),
    };
    let hash = match u.fragment() {
        Some(f) if !f.is_empty() => format!("#{f}"),
        _ => String::new(),
    };
    json!({
        "href": u.as_str(),
        "protocol": format!("{}:", u.scheme()),
        "username": u.username(),
        "password": u.password().unwrap_or(""),
        "host": host,
        "hostname": u.host_str().unwrap_or(""),
        "port": port,
        "pathname": u.path(),
        "search": search,
        "hash": hash,
        "origin": u.origin().ascii_serialization(),
    })
    .to_string()
}

/// `new URL(input, base)`: the components as JSON, or `None` when invalid.
pub(crate) fn parse(input: &str, base: Option<&str>) -> Option<String> {
    let parsed = match base {
        Some(b) => Url::parse(b).ok()?.join(input).ok()?,
        None => Url::parse(input).ok()?,
    };
    Some(components(&parsed))
}

/// Sets one component (`url.search = …`); returns the new components, or `None` when the
/// URL or value is invalid (the URL is then left unchanged by the caller).
pub(crate) fn set(href: &str, prop: &str, value: &str) -> Option<String> {
    let mut u = Url::parse(href).ok()?;
    match prop {
        "href" => u = Url::parse(value).ok()?,
        "protocol" => u.set_scheme(value.trim_end_matches(':')).ok()?,
        "username" => u.set_username(value).ok()?,
        "password" => u.set_password(Some(value).filter(|v| !v.is_empty())).ok()?,
        "host" => {
            let (h, p) = match value.rsplit_once(':') {
                Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
                    (h, Some(p.parse::<u16>().ok()?))
                }
                _ => (value, None),
            };
            u.set_host(Some(h)).ok()?;
            if p.is_some() {
                u.set_port(p).ok()?;
            }
        }
        "hostname" => u.set_host(Some(value)).ok()?,
        "port" => {
            let p = if value.is_empty() {
                None
            } else {
                Some(value.parse::<u16>().ok()?)
            };
            u.set_port(p).ok()?;
        }
        "pathname" => u.set_path(value),
        "search" => {
            let q = value.trim_start_matches('?');
            u.set_query(if q.is_empty() { None } else { Some(q) });
        }
        "hash" => {
            let f = value.trim_start_matches('#');
            u.set_fragment(if f.is_empty() { None } else { Some(f) });
        }
        _ => return None,
    }
    Some(components(&u))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_set() {
        let c: serde_json::Value =
            serde_json::from_str(&parse("/a?b=1#h", Some("http://x.test:8080/base")).unwrap())
                .unwrap();
        assert_eq!(c["href"], "http://x.test:8080/a?b=1#h");
        assert_eq!(c["host"], "x.test:8080");
        assert_eq!(c["search"], "?b=1");
        assert!(parse("not a url", None).is_none());
        let s: serde_json::Value =
            serde_json::from_str(&set("http://x.test/a", "search", "?q=2").unwrap()).unwrap();
        assert_eq!(s["href"], "http://x.test/a?q=2");
    }
}
