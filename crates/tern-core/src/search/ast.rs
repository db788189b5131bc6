//! The typed query tree produced by [`super::parse_query`].

use std::fmt;
use std::ops::Bound;

use super::date::DateValue;

/// A parsed query over the fields `F` (a user search's [`Field`]s by
/// default; the tenant log's are `crate::log_search::LogField`).
///
/// Trees built by the parser are normalised: `And`/`Or` have at least two
/// children and never directly contain a node of their own kind, and `Not`
/// never directly contains a `Not`.
#[derive(Debug, Clone, PartialEq)]
pub enum Query<F = Field> {
    /// Matches every user: the empty query, `*` and `*:*`.
    MatchAll,
    /// All sub-queries match.
    And(Vec<Query<F>>),
    /// At least one sub-query matches.
    Or(Vec<Query<F>>),
    /// The sub-query does not match. A user whose field is NULL does not match
    /// `name:"x"`, so it does match `NOT name:"x"` (two-valued logic).
    Not(Box<Query<F>>),
    /// A condition on one field: `field:value`, `field:pat*`, `field:[a TO b]`.
    Field {
        /// The field searched.
        field: F,
        /// What its value must satisfy.
        condition: Condition,
    },
    /// `_exists_:field`, `field:*` or `field:[* TO *]`: the field has a value.
    /// For metadata paths: some non-null scalar exists at or below the path
    /// (empty arrays, empty objects and nulls count as missing, as in Auth0).
    Exists(F),
    /// A term without a field: matches when the condition holds on any of
    /// the vocabulary's default fields (the user search's
    /// [`DEFAULT_FIELDS`], never metadata; the log's
    /// `crate::log_search::BARE_TERM_FIELDS`). The condition is always
    /// `Equals(Value::Text)` or `Wildcard`.
    AnyField(Condition),
}

/// The fields a term without a field name is matched against.
pub const DEFAULT_FIELDS: [Field; 6] = [
    Field::Email,
    Field::Name,
    Field::GivenName,
    Field::FamilyName,
    Field::Nickname,
    Field::Username,
];

/// A searchable field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    /// `email` (case-insensitive).
    Email,
    /// `email.domain`: the part after the last `@` (case-insensitive).
    EmailDomain,
    /// `name` (case-insensitive).
    Name,
    /// `given_name` (case-insensitive).
    GivenName,
    /// `family_name` (case-insensitive).
    FamilyName,
    /// `nickname` (case-insensitive).
    Nickname,
    /// `username` (case-sensitive).
    Username,
    /// `user_id`, e.g. `auth0|abc` (case-sensitive, no tokenisation).
    UserId,
    /// `identities.connection`: the connection's name (case-sensitive).
    IdentitiesConnection,
    /// `phone_number` (case-sensitive).
    PhoneNumber,
    /// `created_at` (date).
    CreatedAt,
    /// `updated_at` (date).
    UpdatedAt,
    /// `last_login` (date, may be missing).
    LastLogin,
    /// `logins_count` (integer).
    LoginsCount,
    /// `blocked` (boolean).
    Blocked,
    /// `email_verified` (boolean).
    EmailVerified,
    /// `app_metadata.<path>`: the path's segments, at least one. Array levels
    /// are skipped: a segment applies to every element of an array.
    AppMetadata(Vec<String>),
    /// `user_metadata.<path>`: as [`Field::AppMetadata`]; no wildcards or
    /// ranges allowed.
    UserMetadata(Vec<String>),
}

/// How a field's values are typed and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// Text compared case-insensitively (ASCII case folding).
    CaseInsensitiveText,
    /// Text compared exactly.
    Text,
    /// A timestamp; values are [`DateValue`]s.
    Date,
    /// An integer; values are `Value::Int`.
    Integer,
    /// A boolean; values are `Value::Bool`.
    Boolean,
    /// `app_metadata.*`: JSON scalars; wildcards and ranges allowed.
    AppMetadata,
    /// `user_metadata.*`: JSON scalars; only equality and existence.
    UserMetadata,
}

impl Field {
    /// Looks up a field by its query name (`email`, `app_metadata.plan`, ...).
    /// `None` if the name is not searchable or a metadata path is empty or
    /// has a segment that is not made of letters, digits, `_` and `-`.
    pub fn from_name(name: &str) -> Option<Field> {
        Some(match name {
            "email" => Field::Email,
            "email.domain" => Field::EmailDomain,
            "name" => Field::Name,
            "given_name" => Field::GivenName,
            "family_name" => Field::FamilyName,
            "nickname" => Field::Nickname,
            "username" => Field::Username,
            "user_id" => Field::UserId,
            "identities.connection" => Field::IdentitiesConnection,
            "phone_number" => Field::PhoneNumber,
            "created_at" => Field::CreatedAt,
            "updated_at" => Field::UpdatedAt,
            "last_login" => Field::LastLogin,
            "logins_count" => Field::LoginsCount,
            "blocked" => Field::Blocked,
            "email_verified" => Field::EmailVerified,
            _ => {
                if let Some(path) = name.strip_prefix("app_metadata.") {
                    Field::AppMetadata(metadata_path(path)?)
                } else if let Some(path) = name.strip_prefix("user_metadata.") {
                    Field::UserMetadata(metadata_path(path)?)
                } else {
                    return None;
                }
            }
        })
    }

    /// The field's name as written in queries.
    pub fn name(&self) -> String {
        let fixed = match self {
            Field::Email => "email",
            Field::EmailDomain => "email.domain",
            Field::Name => "name",
            Field::GivenName => "given_name",
            Field::FamilyName => "family_name",
            Field::Nickname => "nickname",
            Field::Username => "username",
            Field::UserId => "user_id",
            Field::IdentitiesConnection => "identities.connection",
            Field::PhoneNumber => "phone_number",
            Field::CreatedAt => "created_at",
            Field::UpdatedAt => "updated_at",
            Field::LastLogin => "last_login",
            Field::LoginsCount => "logins_count",
            Field::Blocked => "blocked",
            Field::EmailVerified => "email_verified",
            Field::AppMetadata(p) => return format!("app_metadata.{}", p.join(".")),
            Field::UserMetadata(p) => return format!("user_metadata.{}", p.join(".")),
        };
        fixed.to_owned()
    }

    /// How the field's values are typed and compared.
    pub fn kind(&self) -> FieldKind {
        match self {
            Field::Email
            | Field::EmailDomain
            | Field::Name
            | Field::GivenName
            | Field::FamilyName
            | Field::Nickname => FieldKind::CaseInsensitiveText,
            Field::Username | Field::UserId | Field::IdentitiesConnection | Field::PhoneNumber => {
                FieldKind::Text
            }
            Field::CreatedAt | Field::UpdatedAt | Field::LastLogin => FieldKind::Date,
            Field::LoginsCount => FieldKind::Integer,
            Field::Blocked | Field::EmailVerified => FieldKind::Boolean,
            Field::AppMetadata(_) => FieldKind::AppMetadata,
            Field::UserMetadata(_) => FieldKind::UserMetadata,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Splits and validates a metadata path (`a.b.c`): at most
/// [`super::MAX_PATH_KEYS`] keys.
fn metadata_path(path: &str) -> Option<Vec<String>> {
    let segs: Vec<String> = path.split('.').map(str::to_owned).collect();
    let ok = segs.len() <= super::MAX_PATH_KEYS
        && segs.iter().all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        });
    ok.then_some(segs)
}

/// What a field's value must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Equal to the value. For case-insensitive fields the comparison ignores
    /// (ASCII) case; for a date-only value it means "on that UTC day". For
    /// metadata fields the value is always `Value::Text(v)` and matches a JSON
    /// string equal to `v`, a JSON boolean if `v` is `true`/`false`, and a
    /// JSON number numerically equal to `v` if `v` is a number literal.
    Equals(Value),
    /// Matches the wildcard pattern (whole-value match).
    Wildcard(Pattern),
    /// Between the bounds; `Unbounded` for `*`. Bounds are `Date` on date
    /// fields, `Int` on `logins_count`; on `app_metadata` either all numeric
    /// (`Int`/`Decimal`, compared with JSON numbers) or all `Text` (compared
    /// byte-wise with JSON strings). At least one bound is finite.
    Range {
        /// Lower bound (`[`: included, `{`: excluded).
        lower: Bound<Value>,
        /// Upper bound (`]`: included, `}`: excluded).
        upper: Bound<Value>,
    },
}

/// A typed value from the query.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text, as written (case is folded by the backend for case-insensitive
    /// fields).
    Text(String),
    /// An integer (`logins_count`, integer bounds on `app_metadata`).
    Int(i64),
    /// A non-integer number literal such as `1.5` or `-2e3`, kept as text
    /// (numeric bounds on `app_metadata`).
    Decimal(String),
    /// `true` or `false` (`blocked`, `email_verified`).
    Bool(bool),
    /// A date or instant (`created_at`, `updated_at`, `last_login`).
    Date(DateValue),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) | Value::Decimal(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Date(d) => write!(f, "{d}"),
        }
    }
}

/// A wildcard pattern: literals, `*` (any run of characters, possibly empty)
/// and `?` (exactly one character). Consecutive `*` are merged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    parts: Vec<PatternPart>,
}

/// One piece of a [`Pattern`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PatternPart {
    /// Characters matched literally (never empty).
    Literal(String),
    /// `*`: any run of characters.
    AnyChars,
    /// `?`: exactly one character.
    AnyChar,
}

impl Pattern {
    /// Builds a pattern, merging adjacent literals and adjacent `*`s and
    /// dropping empty literals.
    pub fn new(parts: impl IntoIterator<Item = PatternPart>) -> Self {
        let mut out: Vec<PatternPart> = Vec::new();
        for p in parts {
            match (out.last_mut(), p) {
                (_, PatternPart::Literal(s)) if s.is_empty() => {}
                (Some(PatternPart::Literal(prev)), PatternPart::Literal(s)) => prev.push_str(&s),
                (Some(PatternPart::AnyChars), PatternPart::AnyChars) => {}
                (_, p) => out.push(p),
            }
        }
        Self { parts: out }
    }

    /// The pieces, in order.
    pub fn parts(&self) -> &[PatternPart] {
        &self.parts
    }

    /// Whether the pattern contains `*` or `?` at all.
    pub fn has_wildcards(&self) -> bool {
        self.parts
            .iter()
            .any(|p| !matches!(p, PatternPart::Literal(_)))
    }

    /// How many literal characters the pattern has.
    pub fn literal_chars(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                PatternPart::Literal(s) => s.chars().count(),
                _ => 0,
            })
            .sum()
    }

    /// Whether the pattern starts with a wildcard (a suffix/infix search).
    pub fn is_leading_wildcard(&self) -> bool {
        matches!(
            self.parts.first(),
            Some(PatternPart::AnyChars | PatternPart::AnyChar)
        )
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.parts {
            match p {
                PatternPart::Literal(s) => {
                    for c in s.chars() {
                        if matches!(c, '*' | '?' | '\\') {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                }
                PatternPart::AnyChars => f.write_str("*")?,
                PatternPart::AnyChar => f.write_str("?")?,
            }
        }
        Ok(())
    }
}
