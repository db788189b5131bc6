//! Outbound HTTP for `request`, `fetch` and `axios` (reqwest), restricted by the
//! [`NetworkPolicy`] on the first request and on every redirect.

use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};

use super::io::OpError;
use crate::NetworkPolicy;

/// Maximum redirects followed.
const MAX_REDIRECTS: usize = 10;

/// The two clients of one call: following redirects or not.
pub(crate) struct Clients {
    follow: reqwest::Client,
    no_follow: reqwest::Client,
}

impl Clients {
    /// Builds both clients; proxies from the environment are ignored.
    pub fn new(policy: Arc<NetworkPolicy>) -> Result<Self, String> {
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error("too many redirects");
            }
            if policy.allows_url(attempt.url()) {
                attempt.follow()
            } else {
                let msg = format!(
                    "redirect to {} is not allowed by the script sandbox policy",
                    attempt.url()
                );
                attempt.error(msg)
            }
        });
        let build = |redirect| {
            reqwest::Client::builder()
                .redirect(redirect)
                .no_proxy()
                .build()
                .map_err(|e| format!("cannot build HTTP client: {e}"))
        };
        Ok(Clients {
            follow: build(redirect)?,
            no_follow: build(reqwest::redirect::Policy::none())?,
        })
    }

    /// The client to use.
    pub fn get(&self, follow_redirects: bool) -> reqwest::Client {
        if follow_redirects {
            self.follow.clone()
        } else {
            self.no_follow.clone()
        }
    }
}

/// One request as described by the prelude.
pub(crate) struct HttpRequest {
    method: reqwest::Method,
    url: url::Url,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    timeout_ms: Option<u64>,
}

impl HttpRequest {
    /// Reads `{method, url, headers: [[k, v]…], body: base64|null, timeout}`.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let method = v.get("method").and_then(Value::as_str).unwrap_or("GET");
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("invalid HTTP method {method}"))?;
        let raw_url = v
            .get("url")
            .and_then(Value::as_str)
            .ok_or("Invalid URI: missing url")?;
        let url =
            url::Url::parse(raw_url).map_err(|e| format!("Invalid URI \"{raw_url}\": {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("Invalid protocol: {}:", url.scheme()));
        }
        let mut headers = Vec::new();
        if let Some(list) = v.get("headers").and_then(Value::as_array) {
            for pair in list {
                if let (Some(k), Some(val)) = (
                    pair.get(0).and_then(Value::as_str),
                    pair.get(1).and_then(Value::as_str),
                ) {
                    headers.push((k.to_owned(), val.to_owned()));
                }
            }
        }
        let body = match v.get("body").and_then(Value::as_str) {
            Some(b64) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| format!("invalid request body: {e}"))?,
            ),
            None => None,
        };
        let timeout_ms = v
            .get("timeout")
            .and_then(Value::as_f64)
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(|t| t as u64);
        Ok(HttpRequest {
            method,
            url,
            headers,
            body,
            timeout_ms,
        })
    }
}

/// Sends the request; the response is `{status, statusText, url, headers, body}` with the
/// body base64-encoded and at most `limit` bytes.
pub(crate) async fn send(
    client: reqwest::Client,
    policy: Arc<NetworkPolicy>,
    req: HttpRequest,
    limit: usize,
) -> Result<Value, OpError> {
    let host = req.url.host_str().unwrap_or("").to_owned();
    let port = req.url.port_or_known_default().unwrap_or(0);
    if !policy.allows_url(&req.url) {
        return Err(OpError::not_allowed(&host, port));
    }
    let mut builder = client.request(req.method, req.url);
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    if let Some(body) = req.body {
        builder = builder.body(body);
    }
    if let Some(ms) = req.timeout_ms {
        builder = builder.timeout(std::time::Duration::from_millis(ms));
    }
    let mut resp = builder
        .send()
        .await
        .map_err(|e| http_error(&e, &host, port))?;
    let status = resp.status();
    let headers: Vec<Value> = resp
        .headers()
        .iter()
        .map(|(k, v)| json!([k.as_str(), String::from_utf8_lossy(v.as_bytes())]))
        .collect();
    let final_url = resp.url().to_string();
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| http_error(&e, &host, port))?
    {
        if body.len() + chunk.len() > limit {
            return Err(OpError::new(format!(
                "response body exceeds the sandbox limit of {limit} bytes"
            ))
            .with("code", "ERESPONSETOOLARGE"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(json!({
        "status": status.as_u16(),
        "statusText": status.canonical_reason().unwrap_or(""),
        "url": final_url,
        "headers": headers,
        "body": base64::engine::general_purpose::STANDARD.encode(&body),
    }))
}

fn http_error(e: &reqwest::Error, host: &str, port: u16) -> OpError {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    let code = if e.is_timeout() {
        "ETIMEDOUT"
    } else if e.is_connect() {
        "ECONNREFUSED"
    } else if e.is_redirect() {
        "EREDIRECT"
    } else {
        "EHTTP"
    };
    OpError::new(msg)
        .with("code", code)
        .with("address", host)
        .with("port", port)
}
