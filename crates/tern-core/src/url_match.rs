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
//!
//! Past Auth0: nor does a `*` right above any other public suffix of the
//! Public Suffix List (`https://*.github.io`, `https://*.co.uk`,
//! `https://*.vercel.app`). Anyone can have a name there, so such an entry
//! would send codes and tokens to strangers' sites.

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

/// The wildcard host `pattern` cut into the prefix and suffix around its
/// `*` and the domain above, when it has Auth0's shape: one `*`, in the
/// left-most label, with at least a domain and a top-level domain above it,
/// and that domain not itself a public suffix.
fn wildcard_shape(pattern: &str) -> Option<(&str, &str, &str)> {
    let (label, above) = pattern.split_once('.')?;
    if label.matches('*').count() != 1
        || above.contains('*')
        || !above.contains('.')
        || is_public_suffix(above)
    {
        return None;
    }
    let (prefix, suffix) = label.split_once('*')?;
    Some((prefix, suffix, above))
}

/// Whether `domain` is a public suffix (a name under which anyone may
/// register their own): it has no registrable domain of its own. A name
/// under a top-level domain the list does not know (`app.example`) counts
/// as registrable under it, as browsers read it.
fn is_public_suffix(domain: &str) -> bool {
    psl::domain(domain.to_ascii_lowercase().as_bytes()).is_none()
}

/// Whether `host` matches the wildcard host `pattern` (which holds a `*`).
fn wildcard_host(pattern: &str, host: &str) -> bool {
    let Some((prefix, suffix, above)) = wildcard_shape(pattern) else {
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
///
/// The hosted pages copy it into their Content-Security-Policy and
/// `frame-ancestors`, so it is the URL parser's serialisation (what the
/// browser will compare), never text cut from the URL: a URL the parser
/// would read differently from how it is written (a newline it drops) has
/// no origin, and neither has one whose origin would hold a character that
/// separates CSP sources or directives.
pub fn origin_of(url: &str) -> Option<String> {
    let p = parts(url)?;
    // Custom schemes (native callbacks) have no origin a browser would send.
    if p.host.contains('*') || default_port(p.scheme).is_none() || parser_would_alter(url) {
        return None;
    }
    let origin = url::Url::parse(url).ok()?.origin().ascii_serialization();
    origin
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._:/[]".contains(&b))
        .then_some(origin)
}

/// Schemes a browser runs, or reads from itself or the disk, instead of
/// handing the URL to an application: never a callback, logout URL or
/// origin (`javascript:` in a callback is script on Tern's origin).
const REFUSED_SCHEMES: &[&str] = &[
    "javascript",
    "vbscript",
    "data",
    "file",
    "blob",
    "about",
    "filesystem",
    "view-source",
];

/// Whether the URL parser would silently change what is written: it drops
/// TAB, CR and LF anywhere and control characters and spaces at the ends,
/// and reads `\` as `/` in http(s). Such a URL is stored as the operator
/// did not see it, and matches and origins cut from it go astray.
pub fn parser_would_alter(url: &str) -> bool {
    url.chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
}

/// Which URLs a stored field accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRule {
    /// `https` only, no wildcard (branding, login URIs, the tenant's
    /// default redirection).
    Https,
    /// `http` or `https`, no wildcard (an application's logo).
    Web,
    /// `http` or `https`, a wildcard allowed in the host (logout URLs,
    /// web and CORS origins).
    WebWithWildcard,
    /// A callback: `http(s)` (wildcard allowed in the host) or a native
    /// application's custom scheme (`com.example.app://callback`).
    Callback,
}

/// Check a URL an operator stores; the message completes "<field> …".
pub fn check_stored_url(url: &str, rule: UrlRule) -> Result<(), String> {
    if parser_would_alter(url) {
        return Err(
            "must not contain spaces, control characters (tab, newline) or backslashes".into(),
        );
    }
    let scheme = scheme_of(url).ok_or("must be an absolute URL")?;
    let web = scheme == "http" || scheme == "https";
    check_scheme(&scheme, web, rule)?;
    if url.contains('*') && !wildcard_allowed(url, web, rule) {
        return Err(
            "may hold a * only once, in the left-most label of an http(s) host, above a domain \
             of its own (https://*.example.com; not above a public suffix such as github.io or co.uk)"
                .into(),
        );
    }
    // The rest is checked as the browser will read it, the wildcard
    // standing for one label.
    let parsed = url::Url::parse(&url.replacen('*', "w", 1));
    if web && (parts(url).is_none() || !parsed.as_ref().is_ok_and(|u| u.host().is_some())) {
        return Err("must be an absolute URL with a host and no user name or password".into());
    }
    parsed
        .map(|_| ())
        .map_err(|_| "must be an absolute URL".into())
}

/// The URL's scheme, lower-cased, if it has a well-formed one (RFC 3986).
fn scheme_of(url: &str) -> Option<String> {
    let (scheme, _) = url.split_once(':')?;
    let well_formed = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    well_formed.then(|| scheme.to_ascii_lowercase())
}

fn check_scheme(scheme: &str, web: bool, rule: UrlRule) -> Result<(), String> {
    match rule {
        UrlRule::Https if scheme != "https" => Err("must be an absolute https URL".into()),
        UrlRule::Web | UrlRule::WebWithWildcard if !web => {
            Err("must be an http or https URL".into())
        }
        UrlRule::Callback if REFUSED_SCHEMES.contains(&scheme) => Err(format!(
            "must be an http(s) URL or a native application's custom scheme, not {scheme}:"
        )),
        _ => Ok(()),
    }
}

/// Whether the `*` in `url` is one Auth0 accepts: in a list that allows
/// wildcards, in an http(s) host, once, in its left-most label.
fn wildcard_allowed(url: &str, web: bool, rule: UrlRule) -> bool {
    matches!(rule, UrlRule::WebWithWildcard | UrlRule::Callback)
        && web
        && parts(url).is_some_and(|p| !p.rest.contains('*') && wildcard_shape(p.host).is_some())
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
            // Right above a public suffix anyone can have a name under.
            (
                "https://*.github.io/cb",
                "https://attacker.github.io/cb",
                false,
            ),
            ("https://*.co.uk/cb", "https://evil.co.uk/cb", false),
            ("https://*.CO.UK/cb", "https://evil.co.uk/cb", false),
            (
                "https://*.vercel.app/cb",
                "https://evil.vercel.app/cb",
                false,
            ),
            (
                "https://*.app.github.io/cb",
                "https://a.app.github.io/cb",
                true,
            ),
            (
                "https://*.example.co.uk/cb",
                "https://a.example.co.uk/cb",
                true,
            ),
            (
                "https://*.preview.example/cb",
                "https://a.preview.example/cb",
                true,
            ),
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

    #[test]
    fn origins_are_never_cut_from_what_the_parser_would_change() {
        assert_eq!(origin_of("https://cdn.ex\nample/logo.png"), None);
        assert_eq!(origin_of("https://cdn.example\t/x"), None);
        assert_eq!(origin_of("https://cdn.example;script-src/x"), None);
        assert_eq!(origin_of("https://cdn.example,x/x"), None);
        assert_eq!(
            origin_of("https://Bücher.example/x").as_deref(),
            Some("https://xn--bcher-kva.example")
        );
        assert_eq!(
            origin_of("http://[::1]:8080/cb").as_deref(),
            Some("http://[::1]:8080")
        );
    }

    #[test]
    fn stored_urls_are_checked_as_the_browser_reads_them() {
        use UrlRule::*;
        let ok = [
            ("https://app.example/cb", Callback),
            ("http://localhost:3000/cb", Callback),
            ("https://*.example.com/cb", Callback),
            ("https://pr-*-preview.example.com", WebWithWildcard),
            ("com.example.app://callback", Callback),
            ("myapp:/callback", Callback),
            ("https://cdn.example/logo.png", Https),
            ("http://app.example/logo.png", Web),
        ];
        for (u, rule) in ok {
            assert_eq!(check_stored_url(u, rule), Ok(()), "{u}");
        }
        let refused = [
            ("https://cdn.ex\nample/cb", Callback),
            ("https://cdn.example/cb\r", Callback),
            ("https://cdn.example/c b", Callback),
            ("https://cdn.example\\@evil/cb", Callback),
            ("javascript:alert(document.domain)//", Callback),
            ("JavaScript:alert(1)", Callback),
            ("data:text/html,x", Callback),
            ("vbscript:x", Callback),
            ("file:///etc/passwd", Callback),
            ("blob:https://app.example/x", Callback),
            ("about:blank", Callback),
            ("myapp://*.example.com/cb", Callback),
            ("https://*.com/cb", Callback),
            ("https://*.github.io/cb", Callback),
            ("https://*.co.uk", WebWithWildcard),
            ("https://*.herokuapp.com/cb", Callback),
            ("https://sub.*.example.com", WebWithWildcard),
            ("https://app.example/*", Callback),
            ("https://*.example.com", Web),
            ("https://user@app.example/cb", Callback),
            ("https:///cb", Callback),
            ("relative/cb", Callback),
            ("", Callback),
            ("myapp://cb", WebWithWildcard),
            ("http://cdn.example/x.css", Https),
            ("javascript:alert(1)", Https),
        ];
        for (u, rule) in refused {
            assert!(check_stored_url(u, rule).is_err(), "{u:?} {rule:?}");
        }
    }
}
