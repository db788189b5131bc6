//! Matching the URLs a browser flow is given against an application's lists:
//! `callbacks` (where codes may be sent), `allowed_logout_urls`, and the
//! origins of `web_origins` / `allowed_origins` (CORS, web message).
//!
//! Auth0's rules: an entry matches exactly (scheme and host compared without
//! case, everything else byte for byte: `https://app/cb` is not
//! `https://app/cb/`), or it has one `*` in the left-most label of an
//! `http(s)` host, which then stands for exactly one label, with an optional
//! prefix and suffix around it (`https://*.example.com`,
//! `https://pr-*-preview.example.com`). A `*` anywhere else, twice, or right
//! above a top-level domain (`https://*.com`) matches nothing.

/// A URL cut at its authority, without parsing away anything the caller
/// wrote (a parser would add the trailing slash that exact matching must see).
struct Parts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<&'a str>,
    /// Path, query and fragment, as written.
    rest: &'a str,
}

fn parts(url: &str) -> Option<Parts<'_>> {
    let (scheme, after) = url.split_once("://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    // A user-info part (`https://app.example@evil.example`) is how open
    // redirects hide their real host: never part of a match.
    if authority.is_empty() || authority.contains('@') || authority.contains('\\') {
        return None;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (inner, tail) = v6.split_once(']')?;
        let port = match tail {
            "" => None,
            t => Some(t.strip_prefix(':')?),
        };
        (&authority[..inner.len() + 2], port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty()
        || port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some(Parts {
        scheme,
        host,
        port,
        rest,
    })
}

fn default_port(scheme: &str) -> Option<&'static str> {
    match scheme.to_ascii_lowercase().as_str() {
        "http" => Some("80"),
        "https" => Some("443"),
        _ => None,
    }
}

fn same_port(scheme: &str, a: Option<&str>, b: Option<&str>) -> bool {
    let d = default_port(scheme);
    a.or(d) == b.or(d)
}

/// Whether `host` matches the wildcard host `pattern` (which holds a `*`).
fn wildcard_host(pattern: &str, host: &str) -> bool {
    let Some((label, above)) = pattern.split_once('.') else {
        return false;
    };
    // One `*`, in the left-most label, with at least a domain and a
    // top-level domain above it.
    if label.matches('*').count() != 1 || above.contains('*') || !above.contains('.') {
        return false;
    }
    let Some((prefix, suffix)) = label.split_once('*') else {
        return false;
    };
    let Some((host_label, host_above)) = host.split_once('.') else {
        return false;
    };
    host_above.eq_ignore_ascii_case(above)
        && host_label.len() > prefix.len() + suffix.len()
        && host_label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && host_label
            .to_ascii_lowercase()
            .starts_with(&prefix.to_ascii_lowercase())
        && host_label
            .to_ascii_lowercase()
            .ends_with(&suffix.to_ascii_lowercase())
}

fn hosts_match(pattern: &Parts<'_>, candidate: &Parts<'_>) -> bool {
    if !pattern.scheme.eq_ignore_ascii_case(candidate.scheme)
        || !same_port(pattern.scheme, pattern.port, candidate.port)
    {
        return false;
    }
    if pattern.host.contains('*') {
        matches!(
            pattern.scheme.to_ascii_lowercase().as_str(),
            "http" | "https"
        ) && wildcard_host(pattern.host, candidate.host)
    } else {
        pattern.host.eq_ignore_ascii_case(candidate.host)
    }
}

/// Whether `url` is allowed by the list entry `pattern` (a callback or an
/// allowed logout URL): the whole URL, path and query included.
pub fn url_matches(pattern: &str, url: &str) -> bool {
    if pattern == url && !pattern.contains('*') {
        return true;
    }
    match (parts(pattern), parts(url)) {
        (Some(p), Some(u)) => p.rest == u.rest && hosts_match(&p, &u),
        _ => false,
    }
}

/// Whether `url` is allowed by any entry of `list`.
pub fn any_url_matches(list: &[String], url: &str) -> bool {
    list.iter().any(|p| url_matches(p, url))
}

/// Whether the browser origin `origin` (`scheme://host[:port]`, as in an
/// `Origin` header) is allowed by the entry `pattern`; the entry's path,
/// query and fragment are not taken into account.
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    match (parts(pattern), parts(origin)) {
        (Some(p), Some(o)) => o.rest.is_empty() && hosts_match(&p, &o),
        _ => false,
    }
}

/// The origin (`scheme://host[:port]`) of a URL, as a browser would send it
/// in an `Origin` header; `None` for what has no such origin.
pub fn origin_of(url: &str) -> Option<String> {
    let p = parts(url)?;
    let scheme = p.scheme.to_ascii_lowercase();
    // Custom schemes (native callbacks) have no origin a browser would send.
    if p.host.contains('*') || default_port(&scheme).is_none() {
        return None;
    }
    let host = p.host.to_ascii_lowercase();
    Some(match p.port {
        Some(port) if Some(port) != default_port(&scheme) => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// A key under which an entry without a wildcard and the origins it
/// matches are equal: scheme and host without case, the port with the
/// scheme's default filled in. `origin_matches(pattern, origin)` holds, for
/// a `pattern` without `*` in its host, exactly when both keys are `Some`
/// and equal; so such entries can be looked up instead of scanned. `None`
/// for a wildcard entry or what matches nothing.
pub fn entry_origin_key(pattern: &str) -> Option<String> {
    let p = parts(pattern)?;
    if p.host.contains('*') {
        return None;
    }
    Some(key_of(&p))
}

/// The key of an `Origin` header value (see [`entry_origin_key`]); `None`
/// for one no entry matches (a path, query or fragment; unparseable).
pub fn request_origin_key(origin: &str) -> Option<String> {
    let o = parts(origin)?;
    if !o.rest.is_empty() {
        return None;
    }
    Some(key_of(&o))
}

fn key_of(p: &Parts<'_>) -> String {
    // Unambiguous: a scheme holds no "://", a host no ':' outside IPv6
    // brackets, and a port is digits.
    let port = p.port.or(default_port(p.scheme)).unwrap_or_default();
    format!(
        "{}://{}:{port}",
        p.scheme.to_ascii_lowercase(),
        p.host.to_ascii_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_entries_match_byte_for_byte_but_for_scheme_and_host_case() {
        let cases = [
            ("https://app.example/cb", "https://app.example/cb", true),
            ("https://app.example/cb", "HTTPS://APP.example/cb", true),
            ("https://app.example/cb", "https://app.example/cb/", false),
            ("https://app.example/cb", "https://app.example/CB", false),
            (
                "https://app.example/cb",
                "https://app.example/cb?x=1",
                false,
            ),
            ("https://app.example/cb", "https://app.example:443/cb", true),
            (
                "https://app.example/cb",
                "https://app.example:444/cb",
                false,
            ),
            ("https://app.example/cb", "http://app.example/cb", false),
            (
                "https://app.example/cb",
                "https://app.example.evil/cb",
                false,
            ),
            (
                "https://app.example/cb",
                "https://app.example@evil.example/cb",
                false,
            ),
            ("http://localhost:3000", "http://localhost:3000/", false),
            (
                "com.example.app://callback",
                "com.example.app://callback",
                true,
            ),
            ("http://[::1]:8080/cb", "http://[::1]:8080/cb", true),
        ];
        for (pattern, url, want) in cases {
            assert_eq!(url_matches(pattern, url), want, "{pattern} vs {url}");
        }
    }

    #[test]
    fn a_wildcard_stands_for_one_left_most_label() {
        let cases = [
            ("https://*.example.com/cb", "https://a.example.com/cb", true),
            (
                "https://*.example.com/cb",
                "https://A-1.Example.com/cb",
                true,
            ),
            (
                "https://*.example.com/cb",
                "https://a.b.example.com/cb",
                false,
            ),
            ("https://*.example.com/cb", "https://example.com/cb", false),
            (
                "https://*.example.com/cb",
                "https://a.example.com/other",
                false,
            ),
            (
                "https://*.example.com/cb",
                "https://evil.com/.example.com/cb",
                false,
            ),
            (
                "https://*.example.com/cb",
                "https://a.example.com.evil/cb",
                false,
            ),
            (
                "https://*.example.com/cb",
                "https://x@a.example.com/cb",
                false,
            ),
            (
                "https://pr-*-preview.example.com",
                "https://pr-42-preview.example.com",
                true,
            ),
            (
                "https://pr-*-preview.example.com",
                "https://pr--preview.example.com",
                false,
            ),
            (
                "https://pr-*-preview.example.com",
                "https://42-preview.example.com",
                false,
            ),
            // Refused forms match nothing.
            ("https://*.com/cb", "https://example.com/cb", false),
            (
                "https://sub.*.example.com",
                "https://sub.a.example.com",
                false,
            ),
            ("https://*.*.example.com", "https://a.b.example.com", false),
            (
                "custom://*.example.com/cb",
                "custom://a.example.com/cb",
                false,
            ),
            (
                "https://*.example.com/cb",
                "https://*.example.com/cb",
                false,
            ),
        ];
        for (pattern, url, want) in cases {
            assert_eq!(url_matches(pattern, url), want, "{pattern} vs {url}");
        }
    }

    #[test]
    fn origins_ignore_the_entry_path_and_normalise_ports() {
        assert!(origin_matches(
            "https://app.example/some/path?q#f",
            "https://app.example"
        ));
        assert!(origin_matches(
            "https://app.example",
            "https://app.example:443"
        ));
        assert!(origin_matches(
            "http://localhost:3000/",
            "http://localhost:3000"
        ));
        assert!(!origin_matches(
            "http://localhost:3000",
            "http://localhost:3001"
        ));
        assert!(!origin_matches(
            "https://app.example",
            "https://app.example/path"
        ));
        assert!(origin_matches(
            "https://*.example.com",
            "https://a.example.com"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "https://example.com"
        ));
        assert_eq!(
            origin_of("HTTP://LocalHost:3000/cb?x").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(
            origin_of("https://app.example:443/cb").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(origin_of("https://*.example.com/cb"), None);
        assert_eq!(origin_of("com.example.app://callback"), None);
    }

    #[test]
    fn origin_keys_agree_with_origin_matches() {
        let entries = [
            "https://app.example",
            "HTTPS://App.Example:443/path?q",
            "https://app.example:8443",
            "http://app.example",
            "http://app.example:80",
            "capacitor://localhost",
            "https://[::1]:3000",
            "https://*.example.com",
            "https://app.example@evil.example",
            "not a url",
        ];
        let origins = [
            "https://app.example",
            "https://APP.example",
            "https://app.example:443",
            "https://app.example:0443",
            "https://app.example:8443",
            "https://app.example/",
            "http://app.example",
            "http://app.example:80",
            "CAPACITOR://localhost",
            "https://[::1]:3000",
            "https://a.example.com",
            "null",
        ];
        for e in entries {
            for o in origins {
                let looked_up = entry_origin_key(e)
                    .zip(request_origin_key(o))
                    .is_some_and(|(a, b)| a == b);
                if entry_origin_key(e).is_some() || parts(e).is_none() {
                    assert_eq!(looked_up, origin_matches(e, o), "{e} / {o}");
                }
            }
        }
    }
}
