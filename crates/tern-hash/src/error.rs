//! Error types.

use std::fmt;

/// Why a hash string could not be parsed, or a policy not built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The string matches no supported format. `tried` lists every format
    /// the identifier tried, in order.
    #[error("unrecognised password hash format (tried: {})", tried.join(", "))]
    Unrecognised {
        /// Formats tried, e.g. `"bcrypt ($2a$/$2b$/$2y$)"`.
        tried: Vec<&'static str>,
    },
    /// The string is of a recognised format but is malformed.
    #[error("malformed {scheme} hash: {reason}")]
    Malformed {
        /// The format recognised (a scheme name or family).
        scheme: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The string is well formed but uses a variant or parameter Tern does
    /// not verify (e.g. bcrypt `$2x$`, a digest without an implementation, or
    /// memory costs above Tern's limit).
    #[error("unsupported {scheme} hash: {reason}")]
    Unsupported {
        /// The format recognised.
        scheme: &'static str,
        /// What is not supported.
        reason: String,
    },
    /// A stored custom object (storage form beginning with `{`) is invalid.
    #[error("invalid custom_password_hash: {0}")]
    Custom(#[from] CustomHashError),
    /// The import file's `password_hash` field is not a usable hash.
    #[error("invalid password_hash: {0}")]
    ImportPasswordHash(Box<HashError>),
    /// Hashing-policy parameters out of range.
    #[error("invalid hashing policy: {0}")]
    InvalidPolicy(String),
}

impl HashError {
    pub(crate) fn malformed(scheme: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            scheme,
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(scheme: &'static str, reason: impl Into<String>) -> Self {
        Self::Unsupported {
            scheme,
            reason: reason.into(),
        }
    }
}

/// An invalid Auth0 `custom_password_hash` object, reported the way Auth0's
/// import job reports it: an error `code` (Auth0's JSON-schema codes such as
/// `INVALID_TYPE`, `ENUM_MISMATCH`, `OBJECT_REQUIRED`,
/// `OBJECT_ADDITIONAL_PROPERTIES`, `PATTERN`, `MINIMUM`, `MAXIMUM`,
/// `INVALID_FORMAT`, plus Tern's `UNSUPPORTED_DIGEST`), the JSON `path` of
/// the offending value starting at `custom_password_hash` (dot notation, as in
/// Auth0's job errors: `custom_password_hash.hash.encoding`), and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomHashError {
    /// Auth0 import error code.
    pub code: &'static str,
    /// Dot path of the offending value, starting with `custom_password_hash`.
    pub path: String,
    /// Human-readable message without the path.
    pub message: String,
}

impl fmt::Display for CustomHashError {
    /// Formats like Auth0's job error messages:
    /// `Error in <path> property - <message>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error in {} property - {}", self.path, self.message)
    }
}

impl std::error::Error for CustomHashError {}
