//! Translation of a parsed user search ([`tern_core::search::Query`]) into a
//! SQL boolean expression over the `users` table, and of a
//! [`tern_core::search::Sort`] into an `ORDER BY` list, for SQLite and
//! PostgreSQL.
//!
//! Guarantees:
//! * **Injection-proof.** Every value taken from the query (including
//!   metadata path keys) is a bind parameter (`$n`); the SQL text holds only
//!   constants and column names chosen here.
//! * **Same results on both backends.** Text comparisons are byte-wise
//!   (`COLLATE "C"` on PostgreSQL for ordering), case folding is ASCII-only on
//!   both (SQLite's `lower()`; `lower(x COLLATE "C")` on PostgreSQL), `LIKE`
//!   wildcards in user values are escaped with an explicit `ESCAPE '\'`, and
//!   SQLite uses `GLOB` (with `[*]`, `[?]`, `[[]` escapes) where matching must
//!   be case-sensitive.
//! * **Two-valued logic where it matters.** A leaf on a nullable column may
//!   be NULL, which a `WHERE` treats as false; only a `NOT` could tell the
//!   two apart, so its operand is `COALESCE(…, FALSE)` and `NOT name:"x"`
//!   matches users whose `name` is NULL. Leaves are bare comparisons
//!   elsewhere so that the indexes on them are usable.
//! * **Index-friendly.** `email` is compared as `lower(email)` (the
//!   expression the `users_email_lower` index holds), a wildcard that is
//!   only a prefix (`email:user12*`) is a range (`>= 'user12' AND <
//!   'user13'`), dates are compared and sorted in the index's collation
//!   (they are fixed-width UTC text, ordered alike in every collation), and
//!   [`driver`] names a condition an index answers, for a statement to
//!   gather its few candidates before sorting them.
//!
//! Column references are unqualified: use the fragment in a statement whose
//! only table with these column names is `users`.

use std::fmt::Write as _;
use std::ops::Bound;

use tern_core::search::{
    Condition, DEFAULT_FIELDS, Field, FieldKind, Pattern, PatternPart, Query, Sort, SortField,
    SortOrder, Value, is_number_literal,
};

/// The SQL backend a statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite (3.38 or later: uses `->`, `json_tree`, `NULLS LAST`).
    Sqlite,
    /// PostgreSQL (13 or later: uses `jsonb`, `jsonb_path_exists`; the log
    /// has `xid8` transaction ids, migration 0047).
    Postgres,
}

/// A value to bind to a `$n` placeholder, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlValue {
    /// Bind as `String`.
    Text(String),
    /// Bind as `i64`.
    Int(i64),
}

/// Returns a boolean SQL expression over the `users` table and its bind
/// values, using placeholders `$n` numbered from `first_placeholder` (each
/// placeholder is used once, in increasing order; bind the values in the
/// order returned).
///
/// Semantics, per field:
/// * `email`, `email.domain` (after the last `@`), `name`, `given_name`,
///   `family_name`, `nickname`: ASCII-case-insensitive; `username`,
///   `user_id`, `identities.connection` (`connection_name`), `phone_number`:
///   exact. Wildcards match the whole value.
/// * Dates: see [`tern_core::search::DateValue`]; a date-only value covers its whole UTC day.
/// * `logins_count`: integers; `blocked`, `email_verified`: `0`/`1`.
/// * Metadata paths: the JSON value at the path, where arrays at any level
///   are looked through (`app_metadata.roles:admin` matches `["admin"]`).
///   Equality matches a JSON string equal to the value, a JSON boolean if the
///   value is `true`/`false`, a JSON number numerically equal if the value is
///   a number literal. Wildcards and text ranges apply to JSON strings,
///   numeric ranges to JSON numbers. `_exists_` needs a non-null scalar at or
///   below the path.
pub fn where_clause(
    q: &Query,
    dialect: Dialect,
    first_placeholder: usize,
) -> (String, Vec<SqlValue>) {
    let mut g = Gen {
        dialect,
        next: first_placeholder,
        binds: Vec::new(),
    };
    let sql = g.query(q);
    (sql, g.binds)
}

/// Returns an `ORDER BY` list (without the keywords) for `s`, e.g.
/// `created_at DESC NULLS LAST, user_id ASC`. Missing values sort last in
/// both directions (as in Elasticsearch), case-insensitive fields sort by
/// their ASCII-lower-cased value, and ties are broken by `user_id` so paging
/// is deterministic. Text sorts byte-wise on both backends.
pub fn order_by(s: &Sort, dialect: Dialect) -> String {
    let dir = match s.order {
        SortOrder::Ascending => "ASC",
        SortOrder::Descending => "DESC",
    };
    let user_id = ordered("user_id", dialect);
    if s.field == SortField::UserId {
        return format!("{user_id} {dir}");
    }
    // Columns that are never NULL sort without `NULLS LAST`, which would
    // keep an index from serving the order (SQLite ascending, PostgreSQL
    // descending).
    let (key, not_null) = match s.field {
        SortField::LoginsCount => ("logins_count".to_owned(), true),
        f => {
            let field = f.as_field();
            let col = column(&field, dialect);
            match field.kind() {
                // Already byte-ordered on PostgreSQL (`lower(x COLLATE "C")`).
                FieldKind::CaseInsensitiveText => (lower(&col, dialect), false),
                FieldKind::Date => (col, matches!(field, Field::CreatedAt | Field::UpdatedAt)),
                _ => (ordered(&col, dialect), false),
            }
        }
    };
    let nulls = if not_null { "" } else { " NULLS LAST" };
    format!("{key} {dir}{nulls}, {user_id} ASC")
}

/// A condition an index answers, implied by a whole query: the rows it
/// selects are a superset of the query's. See [`driver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Driver {
    /// The boolean SQL expression (placeholders as in [`where_clause`]).
    pub sql: String,
    /// Its bind values, in order.
    pub binds: Vec<SqlValue>,
    /// Whether it selects few rows whatever the data: an id (unique) or an
    /// exact email (unique in a connection). A prefix may select many, so a
    /// caller counts its candidates (up to a bound) before relying on it.
    pub bounded: bool,
}

/// The index-served condition the query implies, if it has one: `user_id`
/// or `email` equal to a value or starting with a prefix, alone or as a
/// member of a top-level `AND` (an exact match preferred over a prefix).
/// Placeholders are numbered from `first_placeholder`.
pub fn driver(q: &Query, dialect: Dialect, first_placeholder: usize) -> Option<Driver> {
    let mut g = Gen {
        dialect,
        next: first_placeholder,
        binds: Vec::new(),
    };
    let leaf = match q {
        Query::And(qs) => qs
            .iter()
            .filter(|q| driver_kind(q).is_some())
            .min_by_key(|q| driver_kind(q).map(|bounded| !bounded))?,
        q => q,
    };
    let bounded = driver_kind(leaf)?;
    let Query::Field { field, condition } = leaf else {
        return None;
    };
    let sql = g.scalar_condition(field, condition)?;
    Some(Driver {
        sql,
        binds: g.binds,
        bounded,
    })
}

/// `Some(bounded)` for a leaf [`driver`] can use.
fn driver_kind(q: &Query) -> Option<bool> {
    let Query::Field { field, condition } = q else {
        return None;
    };
    if !matches!(field, Field::Email | Field::UserId) {
        return None;
    }
    match condition {
        Condition::Equals(_) => Some(true),
        Condition::Wildcard(p) if prefix_of(p).is_some() => Some(false),
        _ => None,
    }
}

/// The literal of a pattern that is a literal followed by `*`, if it has an
/// upper bound (see [`prefix_end`]).
pub(crate) fn prefix_of(p: &Pattern) -> Option<&str> {
    match p.parts() {
        [PatternPart::Literal(l), PatternPart::AnyChars] if prefix_end(l).is_some() => Some(l),
        _ => None,
    }
}

/// The least string greater than every string starting with `p`, in byte
/// (UTF-8, so code point) order: `p` with its last character incremented,
/// dropping trailing characters that have no successor.
pub(crate) fn prefix_end(p: &str) -> Option<String> {
    let mut chars: Vec<char> = p.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Byte-wise ordering of a text expression.
fn ordered(expr: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => expr.to_owned(),
        Dialect::Postgres => format!("{expr} COLLATE \"C\""),
    }
}

/// ASCII-only lower-casing of a text expression (identical on both backends).
fn lower(expr: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => format!("lower({expr})"),
        Dialect::Postgres => format!("lower({expr} COLLATE \"C\")"),
    }
}

/// The SQL expression holding a (non-metadata) field's value.
fn column(field: &Field, dialect: Dialect) -> String {
    let col = match field {
        Field::Email => "email",
        Field::EmailDomain => {
            return match dialect {
                // Everything after the last '@'; NULL when there is none.
                Dialect::Sqlite => "(CASE WHEN instr(email, '@') > 0 THEN \
                    substr(email, length(rtrim(email, replace(email, '@', ''))) + 1) END)"
                    .to_owned(),
                Dialect::Postgres => {
                    "(CASE WHEN strpos(email, '@') > 0 THEN regexp_replace(email, '^.*@', '') END)"
                        .to_owned()
                }
            };
        }
        Field::Name => "name",
        Field::GivenName => "given_name",
        Field::FamilyName => "family_name",
        Field::Nickname => "nickname",
        Field::Username => "username",
        Field::UserId => "user_id",
        Field::IdentitiesConnection => "connection_name",
        Field::PhoneNumber => "phone_number",
        Field::CreatedAt => "created_at",
        Field::UpdatedAt => "updated_at",
        Field::LastLogin => "last_login",
        Field::LoginsCount => "logins_count",
        Field::Blocked => "blocked",
        Field::EmailVerified => "email_verified",
        Field::AppMetadata(_) => "app_metadata",
        Field::UserMetadata(_) => "user_metadata",
    };
    col.to_owned()
}

const FALSE: &str = "(1 = 0)";
const TRUE: &str = "(1 = 1)";
/// JSON scalar types in SQLite's `json_tree.type`.
const SQLITE_SCALAR: &str = "NOT IN ('object', 'array', 'null')";
const SQLITE_NUMBER: &str = "IN ('integer', 'real')";
/// jsonpath (a constant) for "some non-null scalar at or below".
const PG_ANY_SCALAR: &str =
    "'strict $.** ? (@.type() != \"null\" && @.type() != \"object\" && @.type() != \"array\")'";

struct Gen {
    dialect: Dialect,
    next: usize,
    binds: Vec<SqlValue>,
}

impl Gen {
    fn bind(&mut self, v: SqlValue) -> String {
        let p = format!("${}", self.next);
        self.next += 1;
        self.binds.push(v);
        p
    }

    fn text(&mut self, s: impl Into<String>) -> String {
        self.bind(SqlValue::Text(s.into()))
    }

    fn query(&mut self, q: &Query) -> String {
        match q {
            Query::MatchAll => TRUE.to_owned(),
            Query::And(qs) => self.join(qs, " AND ", TRUE),
            Query::Or(qs) => self.join(qs, " OR ", FALSE),
            Query::Not(q) => format!("(NOT COALESCE({}, FALSE))", self.query(q)),
            Query::Field { field, condition } => self.field(field, condition),
            Query::Exists(field) => self.exists(field),
            Query::AnyField(condition) => {
                let parts: Vec<String> = DEFAULT_FIELDS
                    .iter()
                    .map(|f| self.field(f, condition))
                    .collect();
                format!("({})", parts.join(" OR "))
            }
        }
    }

    fn join(&mut self, qs: &[Query], sep: &str, empty: &str) -> String {
        if qs.is_empty() {
            return empty.to_owned();
        }
        let parts: Vec<String> = qs.iter().map(|q| self.query(q)).collect();
        format!("({})", parts.join(sep))
    }

    /// A leaf condition, never NULL.
    fn field(&mut self, field: &Field, c: &Condition) -> String {
        match field {
            Field::AppMetadata(path) | Field::UserMetadata(path) => {
                let col = column(field, self.dialect);
                let path = path.clone();
                self.metadata(&col, &path, |g, v| g.json_condition(v, c))
            }
            _ => match self.scalar_condition(field, c) {
                Some(expr) => format!("({expr})"),
                None => FALSE.to_owned(),
            },
        }
    }

    /// A condition on a column; `None` if it can never hold (a condition the
    /// parser would not produce for this field).
    fn scalar_condition(&mut self, field: &Field, c: &Condition) -> Option<String> {
        let d = self.dialect;
        let col = column(field, d);
        match (field.kind(), c) {
            (FieldKind::CaseInsensitiveText | FieldKind::Text, _) => {
                let ci = field.kind() == FieldKind::CaseInsensitiveText;
                let expr = if ci { lower(&col, d) } else { col };
                let fold = |s: String| if ci { s.to_ascii_lowercase() } else { s };
                match c {
                    Condition::Equals(v) => {
                        let p = self.text(fold(v.to_string()));
                        Some(format!("{expr} = {p}"))
                    }
                    Condition::Wildcard(pat) => match prefix_of(pat) {
                        // A prefix is a range, which an index serves.
                        Some(p) => {
                            // `lower(…)` is byte-ordered already.
                            let expr = if ci { expr } else { ordered(&expr, d) };
                            let (from, to) = (fold(p.to_owned()), fold(p.to_owned()));
                            let to = prefix_end(&to).unwrap_or_default();
                            let (a, b) = (self.text(from), self.text(to));
                            Some(format!("{expr} >= {a} AND {expr} < {b}"))
                        }
                        None => Some(self.wildcard(&expr, pat, ci || d == Dialect::Postgres, ci)),
                    },
                    Condition::Range { lower, upper } => {
                        let expr = ordered(&expr, d);
                        let to_text = |v: &Value| SqlValue::Text(fold(v.to_string()));
                        self.range(&expr, lower, upper, to_text)
                    }
                }
            }
            (FieldKind::Date, Condition::Equals(Value::Date(v))) => {
                let expr = col;
                let (a, b) = (self.text(v.start_text()), self.text(v.end_text()));
                Some(format!("{expr} >= {a} AND {expr} < {b}"))
            }
            (FieldKind::Date, Condition::Range { lower, upper }) => {
                let expr = col.clone();
                let mut parts = Vec::new();
                match lower {
                    Bound::Included(Value::Date(v)) => {
                        parts.push(format!("{expr} >= {}", self.text(v.start_text())))
                    }
                    Bound::Excluded(Value::Date(v)) => {
                        parts.push(format!("{expr} >= {}", self.text(v.end_text())))
                    }
                    Bound::Unbounded => {}
                    _ => return None,
                }
                match upper {
                    Bound::Included(Value::Date(v)) => {
                        parts.push(format!("{expr} < {}", self.text(v.end_text())))
                    }
                    Bound::Excluded(Value::Date(v)) => {
                        parts.push(format!("{expr} < {}", self.text(v.start_text())))
                    }
                    Bound::Unbounded => {}
                    _ => return None,
                }
                if parts.is_empty() {
                    parts.push(format!("{col} IS NOT NULL"));
                }
                Some(parts.join(" AND "))
            }
            (FieldKind::Integer, Condition::Equals(Value::Int(i))) => {
                let p = self.bind(SqlValue::Int(*i));
                Some(format!("{col} = {p}"))
            }
            (FieldKind::Integer, Condition::Range { lower, upper }) => {
                if ![lower, upper].iter().all(|b| {
                    matches!(
                        b,
                        Bound::Unbounded
                            | Bound::Included(Value::Int(_))
                            | Bound::Excluded(Value::Int(_))
                    )
                }) {
                    return None;
                }
                let to_int = |v: &Value| match v {
                    Value::Int(i) => SqlValue::Int(*i),
                    _ => SqlValue::Int(0),
                };
                self.range(&col, lower, upper, to_int)
            }
            (FieldKind::Boolean, Condition::Equals(Value::Bool(b))) => {
                let p = self.bind(SqlValue::Int(i64::from(*b)));
                Some(format!("{col} = {p}"))
            }
            _ => None,
        }
    }

    /// `expr` compared with both bounds; `None` if both are unbounded.
    fn range(
        &mut self,
        expr: &str,
        lower: &Bound<Value>,
        upper: &Bound<Value>,
        conv: impl Fn(&Value) -> SqlValue,
    ) -> Option<String> {
        let mut parts = Vec::new();
        for (b, incl, excl) in [(lower, ">=", ">"), (upper, "<=", "<")] {
            match b {
                Bound::Included(v) => parts.push(format!("{expr} {incl} {}", self.bind(conv(v)))),
                Bound::Excluded(v) => parts.push(format!("{expr} {excl} {}", self.bind(conv(v)))),
                Bound::Unbounded => {}
            }
        }
        if parts.is_empty() {
            None
        } else {
            Some(parts.join(" AND "))
        }
    }

    /// A whole-value wildcard match of `expr`; `like` chooses LIKE (else
    /// SQLite GLOB, case-sensitive); `fold` lower-cases the literals (ASCII).
    fn wildcard(&mut self, expr: &str, pat: &Pattern, like: bool, fold: bool) -> String {
        let mut s = String::new();
        for part in pat.parts() {
            match part {
                PatternPart::Literal(l) => {
                    let l = if fold {
                        l.to_ascii_lowercase()
                    } else {
                        l.clone()
                    };
                    for ch in l.chars() {
                        match (like, ch) {
                            (true, '%' | '_' | '\\') => {
                                s.push('\\');
                                s.push(ch);
                            }
                            (false, '*' | '?' | '[') => {
                                let _ = write!(s, "[{ch}]");
                            }
                            _ => s.push(ch),
                        }
                    }
                }
                PatternPart::AnyChars => s.push(if like { '%' } else { '*' }),
                PatternPart::AnyChar => s.push(if like { '_' } else { '?' }),
            }
        }
        let p = self.text(s);
        if like {
            format!("{expr} LIKE {p} ESCAPE '\\'")
        } else {
            format!("{expr} GLOB {p}")
        }
    }

    fn exists(&mut self, field: &Field) -> String {
        match field {
            Field::AppMetadata(path) | Field::UserMetadata(path) => {
                let col = column(field, self.dialect);
                let path = path.clone();
                self.metadata(&col, &path, |g, v| g.json_exists(v))
            }
            _ => format!("({} IS NOT NULL)", column(field, self.dialect)),
        }
    }

    /// `EXISTS` over the JSON values reached by `path` in column `col`,
    /// looking through arrays at every level; `leaf` builds the condition on
    /// one value (given the SQL naming it: a `json_tree` alias on SQLite, a
    /// `jsonb` expression on PostgreSQL).
    fn metadata(
        &mut self,
        col: &str,
        path: &[String],
        leaf: impl FnOnce(&mut Self, &str) -> Option<String>,
    ) -> String {
        if path.is_empty() {
            return FALSE.to_owned();
        }
        let n = path.len();
        match self.dialect {
            Dialect::Sqlite => {
                // json_tree(x) yields x and everything below it; rows whose
                // fullkey has no '.' were reached through array indexes only.
                let mut from = Vec::new();
                let mut filter = Vec::new();
                for (i, seg) in path.iter().enumerate() {
                    let k = i + 1;
                    let src = if i == 0 {
                        col.to_owned()
                    } else {
                        format!("(CASE WHEN m{i}.type = 'object' THEN m{i}.value END)")
                    };
                    let p = self.text(format!("$.\"{seg}\""));
                    from.push(format!("json_tree({src} -> {p}) AS m{k}"));
                    filter.push(format!("m{k}.fullkey NOT LIKE '%.%'"));
                }
                let Some(cond) = leaf(self, &format!("m{n}")) else {
                    return FALSE.to_owned();
                };
                filter.push(cond);
                format!(
                    "EXISTS (SELECT 1 FROM {} WHERE {})",
                    from.join(", "),
                    filter.join(" AND ")
                )
            }
            Dialect::Postgres => {
                let mut ctes = Vec::new();
                for (i, seg) in path.iter().enumerate() {
                    let k = i + 1;
                    let p = self.text(seg.clone());
                    let base = if i == 0 {
                        format!("SELECT ({col})::jsonb -> {p}")
                    } else {
                        format!(
                            "SELECT m{i}.v -> {p} FROM m{i} WHERE jsonb_typeof(m{i}.v) = 'object'"
                        )
                    };
                    ctes.push(format!(
                        "m{k}(v) AS ({base} UNION ALL SELECT e{k}.x FROM m{k}, \
                         jsonb_array_elements(CASE WHEN jsonb_typeof(m{k}.v) = 'array' \
                         THEN m{k}.v ELSE '[]'::jsonb END) AS e{k}(x))"
                    ));
                }
                let Some(cond) = leaf(self, &format!("m{n}.v")) else {
                    return FALSE.to_owned();
                };
                format!(
                    "EXISTS (WITH RECURSIVE {} SELECT 1 FROM m{n} WHERE {cond})",
                    ctes.join(", ")
                )
            }
        }
    }

    /// The condition on one JSON value `v` (see [`Gen::metadata`]).
    fn json_condition(&mut self, v: &str, c: &Condition) -> Option<String> {
        match c {
            Condition::Equals(value) => {
                let mut alts = Vec::new();
                let (text, boolean, number) = match value {
                    Value::Text(s) => {
                        let boolean = match s.as_str() {
                            "true" => Some(true),
                            "false" => Some(false),
                            _ => None,
                        };
                        let number = if let Ok(i) = s.parse::<i64>() {
                            Some(SqlValue::Int(i))
                        } else if is_number_literal(s) {
                            Some(SqlValue::Text(s.clone()))
                        } else {
                            None
                        };
                        (Some(s.clone()), boolean, number)
                    }
                    Value::Bool(b) => (None, Some(*b), None),
                    Value::Int(i) => (None, None, Some(SqlValue::Int(*i))),
                    Value::Decimal(s) => (None, None, Some(SqlValue::Text(s.clone()))),
                    Value::Date(d) => (Some(d.to_string()), None, None),
                };
                if let Some(s) = text {
                    let p = self.text(s);
                    alts.push(self.json_string_cmp(v, "=", &p));
                }
                if let Some(b) = boolean {
                    alts.push(match self.dialect {
                        Dialect::Sqlite => format!("{v}.type = '{b}'"),
                        Dialect::Postgres => format!("{v} = '{b}'::jsonb"),
                    });
                }
                if let Some(n) = number {
                    alts.push(self.json_number_cmp(v, "=", n));
                }
                Some(format!("({})", alts.join(" OR ")))
            }
            Condition::Wildcard(pat) => match self.dialect {
                Dialect::Sqlite => {
                    let m = self.wildcard(&format!("{v}.value"), pat, false, false);
                    Some(format!("({v}.type = 'text' AND {m})"))
                }
                Dialect::Postgres => {
                    let m = self.wildcard(&format!("({v} #>> '{{}}')"), pat, true, false);
                    Some(format!("(jsonb_typeof({v}) = 'string' AND {m})"))
                }
            },
            Condition::Range { lower, upper } => {
                let numeric = [lower, upper].iter().any(|b| {
                    matches!(
                        b,
                        Bound::Included(Value::Int(_) | Value::Decimal(_))
                            | Bound::Excluded(Value::Int(_) | Value::Decimal(_))
                    )
                });
                let mut parts = Vec::new();
                for (b, incl, excl) in [(lower, ">=", ">"), (upper, "<=", "<")] {
                    let (op, value) = match b {
                        Bound::Included(x) => (incl, x),
                        Bound::Excluded(x) => (excl, x),
                        Bound::Unbounded => continue,
                    };
                    if numeric {
                        let n = match value {
                            Value::Int(i) => SqlValue::Int(*i),
                            Value::Decimal(s) => SqlValue::Text(s.clone()),
                            Value::Text(s) if is_number_literal(s) => SqlValue::Text(s.clone()),
                            _ => return None,
                        };
                        parts.push(self.json_number_cmp(v, op, n));
                    } else {
                        let p = self.text(value.to_string());
                        parts.push(self.json_string_cmp(v, op, &p));
                    }
                }
                if parts.is_empty() {
                    return Some(self.json_exists(v).unwrap_or_else(|| FALSE.to_owned()));
                }
                Some(format!("({})", parts.join(" AND ")))
            }
        }
    }

    /// `v` is a JSON string and `string op p` (byte-wise).
    fn json_string_cmp(&self, v: &str, op: &str, p: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("({v}.type = 'text' AND {v}.value {op} {p})"),
            Dialect::Postgres => format!(
                "((CASE WHEN jsonb_typeof({v}) = 'string' THEN {v} #>> '{{}}' END) COLLATE \"C\" {op} {p})"
            ),
        }
    }

    /// `v` is a JSON number and `number op n` (numerically); a `Text` value is
    /// a validated number literal and is cast.
    fn json_number_cmp(&mut self, v: &str, op: &str, n: SqlValue) -> String {
        let cast = matches!(n, SqlValue::Text(_));
        let p = self.bind(n);
        match self.dialect {
            Dialect::Sqlite => {
                let rhs = if cast {
                    format!("CAST({p} AS REAL)")
                } else {
                    p
                };
                format!("({v}.type {SQLITE_NUMBER} AND {v}.value {op} {rhs})")
            }
            Dialect::Postgres => {
                let rhs = if cast {
                    format!("CAST({p} AS numeric)")
                } else {
                    p
                };
                format!(
                    "((CASE WHEN jsonb_typeof({v}) = 'number' THEN ({v} #>> '{{}}')::numeric END) {op} {rhs})"
                )
            }
        }
    }

    /// Some non-null scalar at or below `v`.
    fn json_exists(&self, v: &str) -> Option<String> {
        Some(match self.dialect {
            Dialect::Sqlite => format!(
                "({v}.type {SQLITE_SCALAR} OR ({v}.type = 'object' AND EXISTS (SELECT 1 FROM \
                 json_tree(CASE WHEN {v}.type = 'object' THEN {v}.value END) AS d WHERE d.type {SQLITE_SCALAR})))"
            ),
            Dialect::Postgres => format!("jsonb_path_exists({v}, {PG_ANY_SCALAR})"),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tern_core::search::{parse_query, parse_sort};

    use super::*;

    fn sql(q: &str, d: Dialect) -> (String, Vec<SqlValue>) {
        where_clause(&parse_query(q).unwrap(), d, 2)
    }

    #[test]
    fn placeholders_are_numbered_from_the_first() {
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            let (s, v) = sql("name:a OR app_metadata.x.y:b OR created_at:2024-01-01", d);
            // name: 1, metadata: 2 path keys + 1 value, date: 2.
            assert_eq!(v.len(), 6, "{s}");
            for n in 2..8 {
                assert_eq!(s.matches(&format!("${n}")).count(), 1, "${n} in {s}");
            }
            assert!(
                !s.contains("$8") && !s.contains("$1 ") && !s.contains("$1)"),
                "{s}"
            );
        }
    }

    #[test]
    fn values_are_never_interpolated() {
        let hostile = r#"'; DROP TABLE users; --"#;
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            let q = format!(
                r#"name:"{0}" OR user_id:"{0}" OR app_metadata.k:"{0}" OR email:*DROP*"#,
                hostile.replace('"', "\\\"")
            );
            let (s, v) = sql(&q, d);
            assert!(!s.contains("DROP"), "{s}");
            assert!(v.iter().any(|x| *x == SqlValue::Text(hostile.to_owned())));
        }
    }

    #[test]
    fn like_and_glob_escape_user_wildcards() {
        let (s, v) = sql(r"name:a%b_c\\d*e", Dialect::Postgres);
        assert!(s.contains("LIKE $2 ESCAPE '\\'"), "{s}");
        assert_eq!(v, vec![SqlValue::Text(r"a\%b\_c\\d%e".into())]);
        let (s, v) = sql(r"username:a\*b?c\[d*", Dialect::Sqlite);
        assert!(s.contains("username GLOB $2"), "{s}");
        assert_eq!(v, vec![SqlValue::Text("a[*]b?c[[]d*".into())]);
        let (s, v) = sql("username:Ab*c", Dialect::Postgres);
        assert!(s.contains("username LIKE $2"), "{s}");
        assert_eq!(v, vec![SqlValue::Text("Ab%c".into())]);
    }

    #[test]
    fn case_folding_is_ascii_only_and_on_value_too() {
        let (s, v) = sql("name:ÉMILE", Dialect::Postgres);
        assert_eq!(s, "(lower(name COLLATE \"C\") = $2)");
        assert_eq!(v, vec![SqlValue::Text("Émile".into())]);
        let (s, _) = sql("name:x", Dialect::Sqlite);
        assert_eq!(s, "(lower(name) = $2)");
        let (s, _) = sql("NOT name:x", Dialect::Sqlite);
        assert_eq!(s, "(NOT COALESCE((lower(name) = $2), FALSE))");
    }

    #[test]
    fn sort_clauses() {
        let cases = [
            (
                "created_at:-1",
                Dialect::Sqlite,
                "created_at DESC, user_id ASC",
            ),
            (
                "created_at:1",
                Dialect::Postgres,
                "created_at ASC, user_id COLLATE \"C\" ASC",
            ),
            (
                "name:1",
                Dialect::Sqlite,
                "lower(name) ASC NULLS LAST, user_id ASC",
            ),
            (
                "email:-1",
                Dialect::Postgres,
                "lower(email COLLATE \"C\") DESC NULLS LAST, user_id COLLATE \"C\" ASC",
            ),
            (
                "logins_count:-1",
                Dialect::Postgres,
                "logins_count DESC, user_id COLLATE \"C\" ASC",
            ),
            (
                "last_login:-1",
                Dialect::Postgres,
                "last_login DESC NULLS LAST, user_id COLLATE \"C\" ASC",
            ),
            ("user_id:-1", Dialect::Sqlite, "user_id DESC"),
        ];
        for (s, d, want) in cases {
            assert_eq!(order_by(&parse_sort(s).unwrap(), d), want);
        }
    }

    #[test]
    fn a_prefix_is_a_range_an_index_serves() {
        let (s, v) = sql("email:User12*", Dialect::Sqlite);
        assert_eq!(s, "(lower(email) >= $2 AND lower(email) < $3)");
        assert_eq!(
            v,
            vec![
                SqlValue::Text("user12".into()),
                SqlValue::Text("user13".into())
            ]
        );
        let (s, v) = sql("user_id:abc*", Dialect::Postgres);
        assert_eq!(
            s,
            "(user_id COLLATE \"C\" >= $2 AND user_id COLLATE \"C\" < $3)"
        );
        assert_eq!(v[1], SqlValue::Text("abd".into()));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }

    #[test]
    fn drivers_prefer_an_exact_match_and_stay_out_of_or_and_not() {
        let q = |s: &str| parse_query(s).unwrap();
        let d = driver(
            &q("email:a* AND name:x AND user_id:\"auth0|1\""),
            Dialect::Sqlite,
            2,
        )
        .unwrap();
        assert_eq!(d.sql, "user_id = $2");
        assert!(d.bounded);
        let d = driver(&q("email:Ann@X.org"), Dialect::Postgres, 5).unwrap();
        assert_eq!(d.sql, "lower(email COLLATE \"C\") = $5");
        assert_eq!(d.binds, vec![SqlValue::Text("ann@x.org".into())]);
        let d = driver(&q("email:ann* AND blocked:true"), Dialect::Sqlite, 2).unwrap();
        assert!(!d.bounded);
        for none in [
            "email:a OR name:b",
            "NOT email:a",
            "name:a",
            "email:*abc",
            "email:a*b",
        ] {
            assert!(driver(&q(none), Dialect::Sqlite, 2).is_none(), "{none}");
        }
    }
}
