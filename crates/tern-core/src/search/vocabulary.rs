//! What a query may name: the fields of the thing searched and how each is
//! typed. The one Lucene parser ([`super::parse_query_in`]) reads every
//! search (users by [`Users`]; the tenant log by
//! `crate::log_search::LogFields`), so the syntax, limits and error
//! positions are the same everywhere.

use std::fmt;

use super::ast::{Field, FieldKind};
use super::error::SearchError;

/// The fields of one kind of search.
pub trait Vocabulary {
    /// A searchable field.
    type Field: Clone + PartialEq + fmt::Debug + fmt::Display;
    /// The field called `name` in a query at `pos`; the error says what can
    /// be searched instead.
    fn field(name: &str, pos: usize) -> Result<Self::Field, SearchError>;
    /// How the field's values are typed and compared.
    fn kind(field: &Self::Field) -> FieldKind;
    /// The fields a range applies to, as a refusal names them.
    const RANGE_FIELDS: &'static str;
}

/// A user search (`GET /api/v2/users?q=`): [`Field`]s.
#[derive(Debug, Clone, Copy)]
pub struct Users;

impl Vocabulary for Users {
    type Field = Field;
    fn field(name: &str, pos: usize) -> Result<Field, SearchError> {
        super::parser::field_from_name(name, pos)
    }
    fn kind(field: &Field) -> FieldKind {
        field.kind()
    }
    const RANGE_FIELDS: &'static str =
        "created_at, updated_at, last_login, logins_count and app_metadata fields";
}
