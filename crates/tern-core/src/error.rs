//! The domain's error type. `tern-server` maps each variant to Auth0's envelope
//! in exactly one place.

use thiserror::Error;

/// Result alias for the domain.
pub type CoreResult<T> = Result<T, CoreError>;

/// What can go wrong in the domain, phrased for the person who sent the request.
#[derive(Debug, Error)]
pub enum CoreError {
    /// The request is malformed or breaks a rule (400).
    #[error("{message}")]
    BadRequest {
        /// Human-readable message, shown as is.
        message: String,
        /// Machine code (Auth0's `errorCode`), e.g. `invalid_body`.
        code: &'static str,
    },
    /// The thing does not exist (404).
    #[error("{message}")]
    NotFound {
        /// Human-readable message, e.g. "The user does not exist."
        message: String,
        /// Machine code, e.g. `inexistent_user`.
        code: &'static str,
    },
    /// It exists already (409).
    #[error("{message}")]
    Conflict {
        /// Human-readable message.
        message: String,
        /// Machine code.
        code: &'static str,
    },
    /// The store failed; details go to the server log, not to the client.
    #[error("storage failure: {0}")]
    Storage(String),
    /// The store stopped a statement at the deadline its caller gave (a
    /// user search past its time limit); nothing was written.
    #[error("the statement was stopped at its deadline")]
    Timeout,
}

impl CoreError {
    /// A 400 with Auth0's `invalid_body` code.
    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            code: "invalid_body",
        }
    }
    /// A 400 with a given code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            code,
        }
    }
    /// A 404.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            message: message.into(),
            code,
        }
    }
    /// A 409.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            code,
        }
    }
}
