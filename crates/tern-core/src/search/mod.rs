//! User search: Auth0's search engine v3 query syntax (a Lucene subset),
//! parsed into a typed [`Query`], and the `sort` parameter ([`Sort`]). The
//! tenant log's search (`crate::log_search`) is read by the same parser
//! over its own fields ([`Vocabulary`], [`parse_query_in`]).
//!
//! This module only parses and validates; turning a [`Query`] into SQL is
//! the store's job (`tern_store::search_sql`).
//!
//! ```
//! use tern_core::search::{parse_query, Condition, Field, Query, Value};
//!
//! let q = parse_query(r#"email.domain:"example.com" AND NOT blocked:true"#).unwrap();
//! let Query::And(parts) = q else { panic!() };
//! assert_eq!(
//!     parts[0],
//!     Query::Field {
//!         field: Field::EmailDomain,
//!         condition: Condition::Equals(Value::Text("example.com".into())),
//!     }
//! );
//!
//! let err = parse_query("(name:jane OR name:joe").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "Syntax error at position 22: expected ')' to close the group opened at position 0"
//! );
//! ```

mod ast;
mod date;
mod error;
mod parser;
mod sort;
mod vocabulary;

pub use ast::{Condition, DEFAULT_FIELDS, Field, FieldKind, Pattern, PatternPart, Query, Value};
pub use date::DateValue;
pub use error::{SearchError, SearchErrorKind};
pub use parser::{
    MAX_CLAUSES, MAX_DEPTH, MAX_PATH_KEYS, MAX_QUERY_LENGTH, is_number_literal, parse_query,
    parse_query_in,
};
pub use sort::{Sort, SortField, SortOrder, parse_sort};
pub use vocabulary::{Users, Vocabulary};

#[cfg(test)]
mod tests;
