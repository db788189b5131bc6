//! Outbound HTTP for `request`, `fetch` and `axios`, through the server's
//! [`Network`]: every hop, redirects included, connects only to an address
//! the policy allows.

use base64::Engine;
use serde_json::{Value, json};
use tern_net::{Network, SendError};

use std::sync::Arc;

use super::budget::Budget;
use super::io::OpError;

/// Maximum redirects followed.
const MAX_REDIRECTS: usize = 10;

/// One request as described by the prelude.
pub(crate) struct HttpRequest {
    method: reqwest::Method,
    url: url::Url,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    timeout_ms: Option<u64>,
    follow: bool,
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
        let follow = v
            .get("followRedirects")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        Ok(HttpRequest {
            method,
            url,
            headers,
            body,
            timeout_ms,
            follow,
        })
    }
}

/// Sends the request; the response is `{status, statusText, url, headers, body}` with the
/// body base64-encoded and at most `limit` bytes, each chunk counted against the
/// call's received bytes as it arrives (reading stops at the first one over).
pub(crate) async fn send(
    network: Network,
    req: HttpRequest,
    limit: usize,
    budget: Arc<Budget>,
) -> Result<Value, OpError> {
    let host = req.url.host_str().unwrap_or("").to_owned();
    let port = req.url.port_or_known_default().unwrap_or(0);
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &req.headers {
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|e| OpError::new(format!("invalid header name {k}: {e}")))?;
        let value = reqwest::header::HeaderValue::from_str(v)
            .map_err(|e| OpError::new(format!("invalid value of header {k}: {e}")))?;
        headers.append(name, value);
    }
    let request = tern_net::Request {
        method: req.method,
        url: req.url,
        headers,
        body: req.body,
        timeout: req.timeout_ms.map(std::time::Duration::from_millis),
    };
    let max_redirects = if req.follow { MAX_REDIRECTS } else { 0 };
    let mut resp = network
        .http()
        .send(request, max_redirects)
        .await
        .map_err(|e| send_error(&e, &host, port))?;
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
        .map_err(|e| send_error(&SendError::Http(e), &host, port))?
    {
        if body.len() + chunk.len() > limit {
            return Err(OpError::new(format!(
                "response body exceeds the sandbox limit of {limit} bytes"
            ))
            .with("code", "ERESPONSETOOLARGE"));
        }
        budget.receive(chunk.len())?;
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

fn send_error(e: &SendError, host: &str, port: u16) -> OpError {
    if let SendError::Refused(r) = e {
        return OpError::refused(r);
    }
    let code = match e {
        SendError::TooManyRedirects(_) | SendError::Invalid(_) => "EREDIRECT",
        e if e.is_timeout() => "ETIMEDOUT",
        e if e.is_connect() => "ECONNREFUSED",
        _ => "EHTTP",
    };
    OpError::new(e.to_string())
        .with("code", code)
        .with("address", host)
        .with("port", port)
}
