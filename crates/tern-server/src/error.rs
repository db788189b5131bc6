//! The two error envelopes clients see, and the one place domain errors map to them.
//!
//! `/api/v2` answers `{statusCode, error, message, errorCode}`; `/oauth`,
//! `/userinfo` and `/dbconnections` answer `{error, error_description}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tern_core::CoreError;

/// A Management API error.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Human message.
    pub message: String,
    /// Auth0 `errorCode`; omitted when `None` (as Auth0's job-limit 429).
    pub code: Option<&'static str>,
}

impl ApiError {
    /// Any status with a code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            code: Some(code),
        }
    }
    /// 400 `invalid_body`.
    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    }
    /// 400 `invalid_query_string`.
    pub fn invalid_query(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_query_string", message)
    }
    /// 401 `invalid_token`... Auth0 uses the message to tell why.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_token", message)
    }
    /// 403 for a token that lacks every accepted scope.
    pub fn insufficient_scope(expected: &[&str]) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!(
                "Insufficient scope; expected any of: {}.",
                expected.join(",")
            ),
        )
    }
    /// 404 with a code.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    /// 500 without details (they go to the server log).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error.",
        )
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::BadRequest { message, code } => {
                Self::new(StatusCode::BAD_REQUEST, code, message)
            }
            CoreError::NotFound { message, code } => {
                Self::new(StatusCode::NOT_FOUND, code, message)
            }
            CoreError::Conflict { message, code } => Self::new(StatusCode::CONFLICT, code, message),
            CoreError::Storage(detail) => {
                tracing::error!(%detail, "storage error");
                Self::internal()
            }
            CoreError::Timeout => crate::user_search::SearchFailure::TimedOut.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "statusCode": self.status.as_u16(),
            "error": self.status.canonical_reason().unwrap_or("Error"),
            "message": self.message,
        });
        if let Some(code) = self.code {
            body["errorCode"] = json!(code);
        }
        (self.status, Json(body)).into_response()
    }
}

/// An OAuth-style error.
#[derive(Debug)]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error`, e.g. `invalid_grant`.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
    /// The `mfa_token` of an `mfa_required` answer, and whether the user
    /// must enrol a factor first (`mfa_requirements.enroll`) rather than be
    /// challenged with one (`mfa_requirements.challenge`).
    pub mfa_token: Option<(String, bool)>,
}

impl OAuthError {
    /// Build one.
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            mfa_token: None,
        }
    }
    /// 403 `mfa_required` with the token that continues the login (Auth0's
    /// answer to a password grant for a user with a second factor).
    pub fn mfa_required(mfa_token: String, enrol: bool) -> Self {
        Self {
            mfa_token: Some((mfa_token, enrol)),
            ..Self::new(
                StatusCode::FORBIDDEN,
                "mfa_required",
                "Multifactor authentication required",
            )
        }
    }
    /// 400 `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
    /// 403 `access_denied`.
    pub fn access_denied(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "access_denied", description)
    }
    /// 500.
    pub fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Internal error.",
        )
    }
}

impl From<CoreError> for OAuthError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Storage(detail) => {
                tracing::error!(%detail, "storage error");
                Self::server_error()
            }
            CoreError::Timeout => Self::server_error(),
            other => Self::invalid_request(other.to_string()),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(match &self.mfa_token {
                None => json!({"error": self.error, "error_description": self.description}),
                Some((t, enrol)) => json!({
                    "error": self.error,
                    "error_description": self.description,
                    "mfa_token": t,
                    "mfa_requirements": {
                        (if *enrol { "enroll" } else { "challenge" }): [{"type": "otp"}],
                    },
                }),
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"tern\""),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        resp
    }
}

/// The answer of an OAuth endpoint that hands out tokens or secrets:
/// `200` with the JSON body or the error, never cached (RFC 6749 §5.1).
pub fn no_store(result: Result<serde_json::Value, OAuthError>) -> Response {
    let mut resp = match result {
        Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        Err(e) => e.into_response(),
    };
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    resp
}
