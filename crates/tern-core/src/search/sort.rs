//! The `sort` parameter of `GET /api/v2/users`.

use std::fmt;

use super::ast::Field;
use super::error::{SearchError, SearchErrorKind};

/// A parsed `sort` parameter: one field and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sort {
    /// The field sorted on.
    pub field: SortField,
    /// The direction.
    pub order: SortOrder,
}

/// Sort direction: `1` is ascending, `-1` descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// `field:1`.
    Ascending,
    /// `field:-1`.
    Descending,
}

/// The fields users can be sorted on (metadata cannot be, as in Auth0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortField {
    /// `email` (compared case-insensitively).
    Email,
    /// `name` (compared case-insensitively).
    Name,
    /// `given_name` (compared case-insensitively).
    GivenName,
    /// `family_name` (compared case-insensitively).
    FamilyName,
    /// `nickname` (compared case-insensitively).
    Nickname,
    /// `username`.
    Username,
    /// `user_id`.
    UserId,
    /// `created_at`.
    CreatedAt,
    /// `updated_at`.
    UpdatedAt,
    /// `last_login`.
    LastLogin,
    /// `logins_count`.
    LoginsCount,
}

impl SortField {
    /// Every sortable field.
    pub const ALL: [SortField; 11] = [
        SortField::Email,
        SortField::Name,
        SortField::GivenName,
        SortField::FamilyName,
        SortField::Nickname,
        SortField::Username,
        SortField::UserId,
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::LastLogin,
        SortField::LoginsCount,
    ];

    /// The field's name as written in the `sort` parameter.
    pub fn name(self) -> &'static str {
        match self {
            SortField::Email => "email",
            SortField::Name => "name",
            SortField::GivenName => "given_name",
            SortField::FamilyName => "family_name",
            SortField::Nickname => "nickname",
            SortField::Username => "username",
            SortField::UserId => "user_id",
            SortField::CreatedAt => "created_at",
            SortField::UpdatedAt => "updated_at",
            SortField::LastLogin => "last_login",
            SortField::LoginsCount => "logins_count",
        }
    }

    /// The same field as a search [`Field`].
    pub fn as_field(self) -> Field {
        match self {
            SortField::Email => Field::Email,
            SortField::Name => Field::Name,
            SortField::GivenName => Field::GivenName,
            SortField::FamilyName => Field::FamilyName,
            SortField::Nickname => Field::Nickname,
            SortField::Username => Field::Username,
            SortField::UserId => Field::UserId,
            SortField::CreatedAt => Field::CreatedAt,
            SortField::UpdatedAt => Field::UpdatedAt,
            SortField::LastLogin => Field::LastLogin,
            SortField::LoginsCount => Field::LoginsCount,
        }
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = match self.order {
            SortOrder::Ascending => "1",
            SortOrder::Descending => "-1",
        };
        write!(f, "{}:{dir}", self.field.name())
    }
}

/// Parses a `sort` parameter, `field:1` (ascending) or `field:-1`
/// (descending); the shape is Auth0's `^(([a-zA-Z0-9_\.]+))\:(1|-1)$`.
/// Sorting by `app_metadata`/`user_metadata` is rejected
/// ([`SearchErrorKind::Unsupported`]), other unknown fields are
/// [`SearchErrorKind::UnknownField`]; positions are character offsets.
pub fn parse_sort(s: &str) -> Result<Sort, SearchError> {
    let shape = |pos: usize| {
        SearchError::syntax(
            pos,
            "expected the sort as field:1 (ascending) or field:-1 (descending)",
        )
    };
    let name_len = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
        .map_or(s.len(), |(i, _)| i);
    // `name_len` is a byte index of an ASCII prefix, so it is also a char offset.
    let (name, rest) = s.split_at(name_len);
    if name.is_empty() {
        return Err(shape(0));
    }
    let order = match rest {
        ":1" => SortOrder::Ascending,
        ":-1" => SortOrder::Descending,
        _ => {
            let bad = if rest.starts_with(':') {
                name_len + 1
            } else {
                name_len
            };
            return Err(shape(bad));
        }
    };
    if let Some(field) = SortField::ALL.into_iter().find(|f| f.name() == name) {
        return Ok(Sort { field, order });
    }
    if name == "app_metadata"
        || name == "user_metadata"
        || name.starts_with("app_metadata.")
        || name.starts_with("user_metadata.")
    {
        return Err(SearchError::new(
            SearchErrorKind::Unsupported,
            Some(0),
            "sorting by app_metadata or user_metadata is not supported",
        ));
    }
    let names: Vec<&str> = SortField::ALL.iter().map(|f| f.name()).collect();
    Err(SearchError::new(
        SearchErrorKind::UnknownField,
        Some(0),
        format!(
            "cannot sort by '{name}'; sortable fields are: {}",
            names.join(", ")
        ),
    ))
}
