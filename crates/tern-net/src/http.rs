//! Outbound HTTP under the policy: every hop of a request is checked on the
//! address it connects to.
//!
//! reqwest resolves names through a resolver of ours that answers only
//! checked addresses, so the address checked is the address connected to
//! (no DNS rebinding between the two). The resolver sees a name but not a
//! port, so one client is kept per `host:port`, its resolver knowing the
//! port. Address literals never reach a resolver: they are checked before
//! each hop. Redirects are followed here, not by reqwest, so that each hop
//! goes through the client of its own `host:port`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};

use crate::policy::{NetworkPolicy, Refusal, ResolveError};

/// Clients kept at once; past this the cache starts afresh.
const MAX_CLIENTS: usize = 256;

/// One request.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// `http` or `https` URL.
    pub url: url::Url,
    /// Headers.
    pub headers: HeaderMap,
    /// Body, resent on 307/308.
    pub body: Option<Vec<u8>>,
    /// Bound on the whole exchange, redirects included, until the answer's
    /// headers (the caller bounds reading the body).
    pub timeout: Option<Duration>,
}

impl Request {
    /// A request without headers, body or timeout.
    pub fn new(method: Method, url: url::Url) -> Self {
        Request {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            timeout: None,
        }
    }
}

/// Why a request got no answer.
#[derive(Debug)]
pub enum SendError {
    /// The policy refused a hop.
    Refused(Refusal),
    /// Not an `http(s)` URL with a host, or a redirect that cannot be followed.
    Invalid(String),
    /// More redirects than allowed.
    TooManyRedirects(usize),
    /// The transport failed (connect, TLS, timeout, name resolution).
    Http(reqwest::Error),
}

impl SendError {
    /// The request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendError::Http(e) if e.is_timeout())
    }

    /// Connecting failed (refusals included).
    pub fn is_connect(&self) -> bool {
        matches!(self, SendError::Refused(_))
            || matches!(self, SendError::Http(e) if e.is_connect())
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Refused(r) => r.fmt(f),
            SendError::Invalid(m) => f.write_str(m),
            SendError::TooManyRedirects(n) => write!(f, "more than {n} redirects"),
            SendError::Http(e) => {
                write!(f, "{e}")?;
                let mut source = std::error::Error::source(e);
                while let Some(s) = source {
                    write!(f, ": {s}")?;
                    source = s.source();
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SendError {}

/// The refusal somewhere in an error's chain (reqwest wraps the resolver's).
fn refusal_in(e: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refusal>() {
            return Some(r.clone());
        }
        if let Some(ResolveError::Refused(r)) = err.downcast_ref::<ResolveError>() {
            return Some(r.clone());
        }
        cur = err.source();
    }
    None
}

/// Answers only addresses the policy allows, for one port.
struct CheckedResolver {
    policy: Arc<NetworkPolicy>,
    port: u16,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let port = self.port;
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addrs = policy
                .resolve(&name, port)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// HTTP under a [`NetworkPolicy`]: clients per `host:port`, redirects
/// followed hop by hop.
#[derive(Default)]
pub struct HttpClients {
    policy: Arc<NetworkPolicy>,
    clients: Mutex<HashMap<(String, u16), reqwest::Client>>,
}

impl std::fmt::Debug for HttpClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClients")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl HttpClients {
    /// Clients under `policy`.
    pub fn new(policy: Arc<NetworkPolicy>) -> Self {
        HttpClients {
            policy,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &NetworkPolicy {
        &self.policy
    }

    fn client(&self, host: &str, port: u16) -> Result<reqwest::Client, SendError> {
        let key = (host.to_string(), port);
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let client = reqwest::Client::builder()
            // Proxies from the environment would connect on our behalf, unchecked.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(CheckedResolver {
                policy: self.policy.clone(),
                port,
            }))
            .build()
            .map_err(SendError::Http)?;
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// Checks what can be checked before connecting: the scheme, and an
    /// address literal (names are checked by the resolver, at connect time).
    fn precheck(&self, url: &url::Url) -> Result<(String, u16), SendError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SendError::Invalid(format!(
                "{} is not an http(s) URL",
                url.scheme()
            )));
        }
        let port = url
            .port_or_known_default()
            .ok_or_else(|| SendError::Invalid("the URL has no port".into()))?;
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(SendError::Invalid("the URL has no host".into())),
        };
        if let Some(ip) = ip {
            self.policy
                .check(None, SocketAddr::new(ip, port))
                .map_err(SendError::Refused)?;
        }
        Ok((url.host_str().unwrap_or_default().to_string(), port))
    }

    /// Sends `req`, following at most `max_redirects` redirects (0: none,
    /// the 3xx is the answer). A redirect to another origin drops
    /// `Authorization` and `Cookie`; 303 (and 301/302 after a POST) turn the
    /// request into a GET without body, as browsers and reqwest do.
    pub async fn send(
        &self,
        req: Request,
        max_redirects: usize,
    ) -> Result<reqwest::Response, SendError> {
        let Request {
            mut method,
            mut url,
            mut headers,
            mut body,
            timeout,
        } = req;
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut hops = 0;
        loop {
            let (host, port) = self.precheck(&url)?;
            let client = self.client(&host, port)?;
            let mut builder = client
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some(b) = &body {
                builder = builder.body(b.clone());
            }
            if let Some(d) = deadline {
                builder = builder.timeout(d.saturating_duration_since(Instant::now()));
            }
            let resp = builder.send().await.map_err(|e| match refusal_in(&e) {
                Some(r) => SendError::Refused(r),
                None => SendError::Http(e),
            })?;
            let status = resp.status();
            let redirect = matches!(
                status,
                StatusCode::MOVED_PERMANENTLY
                    | StatusCode::FOUND
                    | StatusCode::SEE_OTHER
                    | StatusCode::TEMPORARY_REDIRECT
                    | StatusCode::PERMANENT_REDIRECT
            );
            let location = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_string);
            let (true, Some(location)) = (redirect && max_redirects > 0, location) else {
                return Ok(resp);
            };
            hops += 1;
            if hops > max_redirects {
                return Err(SendError::TooManyRedirects(max_redirects));
            }
            let next = url.join(&location).map_err(|e| {
                SendError::Invalid(format!("invalid redirect location {location}: {e}"))
            })?;
            if status == StatusCode::SEE_OTHER && method != Method::HEAD
                || matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                    && method == Method::POST
            {
                method = Method::GET;
                body = None;
                for h in [
                    header::CONTENT_TYPE,
                    header::CONTENT_LENGTH,
                    header::CONTENT_ENCODING,
                    header::TRANSFER_ENCODING,
                ] {
                    headers.remove(h);
                }
            }
            if next.origin() != url.origin() {
                for h in [
                    header::AUTHORIZATION,
                    header::COOKIE,
                    header::PROXY_AUTHORIZATION,
                    header::WWW_AUTHENTICATE,
                ] {
                    headers.remove(h);
                }
            }
            url = next;
        }
    }
}
