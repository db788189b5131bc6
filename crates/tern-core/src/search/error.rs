//! The error type of query and sort parsing.

use std::fmt;

/// What kind of problem a [`SearchError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchErrorKind {
    /// The query is not well-formed: unbalanced parentheses or quotes, a
    /// missing value or operand, a stray character.
    Syntax,
    /// A field name that cannot be searched (or sorted on).
    UnknownField,
    /// Well-formed but not supported, e.g. a range on `user_metadata`, a
    /// wildcard on a date, a leading wildcard with fewer than 3 literal
    /// characters, boosting (`^`) or fuzzy search (`~`).
    Unsupported,
    /// A value of the wrong shape for its field: a bad date, a non-integer
    /// `logins_count`, a boolean field compared with something other than
    /// `true`/`false`.
    InvalidValue,
    /// The query exceeds a size limit: length ([`super::MAX_QUERY_LENGTH`]),
    /// nesting depth ([`super::MAX_DEPTH`]), clause count
    /// ([`super::MAX_CLAUSES`]) or a metadata path's keys
    /// ([`super::MAX_PATH_KEYS`]).
    TooComplex,
}

/// Why a search query (or a sort specification) was rejected.
///
/// Its `Display` form is meant for the API's 400 message and says where the
/// problem is, as a 0-based character offset into the query, e.g.
/// `Syntax error at position 12: expected ')' to close the group opened at position 3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchError {
    kind: SearchErrorKind,
    position: Option<usize>,
    message: String,
}

impl SearchError {
    /// Builds an error; `position` is a 0-based character offset, if the
    /// problem has a place.
    pub fn new(kind: SearchErrorKind, position: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            kind,
            position,
            message: message.into(),
        }
    }

    /// A syntax error at `position`.
    pub(crate) fn syntax(position: usize, message: impl Into<String>) -> Self {
        Self::new(SearchErrorKind::Syntax, Some(position), message)
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> SearchErrorKind {
        self.kind
    }

    /// The 0-based character offset of the problem in the input, if any.
    pub fn position(&self) -> Option<usize> {
        self.position
    }

    /// The description of the problem, without the position prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.kind {
            SearchErrorKind::Syntax => "Syntax error",
            _ => "Invalid query",
        };
        match self.position {
            Some(p) => write!(f, "{label} at position {p}: {}", self.message),
            None => write!(f, "{label}: {}", self.message),
        }
    }
}

impl std::error::Error for SearchError {}
