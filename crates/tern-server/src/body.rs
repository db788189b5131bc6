//! Request extractors that answer in Auth0's envelope instead of axum's plain text.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON request body of the Management API, size-limited.
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.config.max_body_bytes;
        if let Some(ct) = req.headers().get(axum::http::header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
            if !ct.starts_with("application/json") && !ct.contains("+json") {
                return Err(ApiError::invalid_body(format!(
                    "Expected a JSON body (Content-Type: application/json), got '{ct}'."
                )));
            }
        }
        let bytes = read_limited(req, limit).await?;
        if bytes.is_empty() {
            return Err(ApiError::invalid_body(
                "Payload validation error: the request body is empty; a JSON object is expected.",
            ));
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            ApiError::invalid_body(format!("Invalid request payload JSON format: {e}"))
        })
    }
}

/// A Management API body sent as JSON or, where Auth0's OpenAPI also lists
/// it, as `application/x-www-form-urlencoded`, read into the JSON the same
/// request would send (`form_json`), so validation and its messages are
/// shared. A form's values are all strings: only routes whose fields are
/// strings, and lists and objects of them, take this extractor.
pub struct JsonOrFormBody(pub Value);

impl FromRequest<AppState> for JsonOrFormBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if !is_form(req.headers()) {
            let JsonBody(v) = JsonBody::from_request(req, state).await?;
            return Ok(JsonOrFormBody(v));
        }
        let bytes = read_limited(req, state.config.max_body_bytes).await?;
        let pairs = std::str::from_utf8(&bytes)
            .ok()
            .and_then(parse_urlencoded)
            .ok_or_else(|| {
                ApiError::invalid_body(
                    "Payload validation error: the form body is not valid UTF-8 percent-encoding.",
                )
            })?;
        crate::form_json::to_json(pairs)
            .map(JsonOrFormBody)
            .map_err(|e| ApiError::invalid_body(format!("Payload validation error: {}.", e.0)))
    }
}

/// Read a body up to `limit` bytes; more is a 413 with Auth0's message.
pub async fn read_limited(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Payload content length greater than maximum allowed: {limit}."),
        )
    };
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        // Read (and drop) a moderately oversized body so the client, still
        // sending, receives the 413 instead of a reset connection. Bodies past
        // the router's hard cap are cut off there.
        let _ = axum::body::to_bytes(req.into_body(), limit.saturating_mul(2)).await;
        return Err(too_large());
    }
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| too_large())
}

/// Whether a request says its body is an urlencoded form (any case, any
/// parameters after the type).
pub fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Decode `application/x-www-form-urlencoded` text (query strings and form
/// bodies); `None` when the percent-encoding is not valid UTF-8.
pub fn parse_urlencoded(text: &str) -> Option<Vec<(String, String)>> {
    let decode = |s: &str| {
        urlencoding::decode(&s.replace('+', " "))
            .map(|c| c.into_owned())
            .ok()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

/// The query string as a map; repeated keys keep the last value.
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let pairs = parse_urlencoded(parts.uri.query().unwrap_or_default()).ok_or_else(|| {
            ApiError::invalid_query(
                "Query validation error: the query string is not valid UTF-8 percent-encoding.",
            )
        })?;
        Ok(QueryMap(pairs.into_iter().collect()))
    }
}

impl QueryMap {
    /// A string parameter.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    /// An integer parameter within `[min, max]`.
    pub fn int(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>, ApiError> {
        let Some(v) = self.0.get(key) else {
            return Ok(None);
        };
        let n: u64 = v.parse().map_err(|_| {
            ApiError::invalid_query(format!("Query validation error: 'Expected type integer but found type string' on property {key}."))
        })?;
        if n < min || n > max {
            return Err(ApiError::invalid_query(format!(
                "Query validation error: '{key}' must be between {min} and {max}, got {n}."
            )));
        }
        Ok(Some(n))
    }
    /// A boolean parameter (`true`/`false`).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(key).map(String::as_str) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid_query(format!(
                "Query validation error: 'Expected type boolean but found type string' on property {key}."
            ))),
        }
    }
    /// `fields` and `include_fields` as a list and a flag.
    pub fn fields(&self) -> Result<(Vec<String>, bool), ApiError> {
        let fields = self
            .str("fields")
            .map(|f| {
                f.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok((fields, self.bool("include_fields")?.unwrap_or(true)))
    }
}

/// Offset paging shared by the list endpoints.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// Zero-based page.
    pub page: u64,
    /// Page size.
    pub per_page: u64,
    /// Whether to wrap the list with totals.
    pub include_totals: bool,
}

impl Paging {
    /// Read `page`, `per_page` (≤ `max`, default 50) and `include_totals`.
    pub fn from_query(q: &QueryMap, max: u64) -> Result<Self, ApiError> {
        Ok(Self {
            page: q.int("page", 0, u64::from(u32::MAX))?.unwrap_or(0),
            per_page: q.int("per_page", 0, max)?.unwrap_or(50.min(max)),
            include_totals: q.bool("include_totals")?.unwrap_or(false),
        })
    }

    /// Cut a full list down to the page and wrap it as Auth0 does.
    pub fn apply<T: serde::Serialize>(&self, items: Vec<T>, key: &str) -> Value {
        let total = items.len();
        let start = usize::try_from(self.page.saturating_mul(self.per_page)).unwrap_or(usize::MAX);
        let page: Vec<Value> = items
            .into_iter()
            .skip(start)
            .take(usize::try_from(self.per_page).unwrap_or(usize::MAX))
            .map(|i| serde_json::to_value(i).unwrap_or(Value::Null))
            .collect();
        self.wrap(page, total as u64, key)
    }

    /// Wrap one page with totals when asked.
    pub fn wrap(&self, page: Vec<Value>, total: u64, key: &str) -> Value {
        if self.include_totals {
            serde_json::json!({
                "start": self.page * self.per_page,
                "limit": self.per_page,
                "length": page.len(),
                "total": total,
                key: page,
            })
        } else {
            Value::Array(page)
        }
    }
}
