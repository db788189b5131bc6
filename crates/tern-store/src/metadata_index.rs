//! Searching metadata through `user_metadata_values`, the side index that
//! migration 0025 creates and keeps with triggers: one row per user,
//! metadata kind (`app` | `user`), key path and tagged scalar token.
//!
//! [`driver`] turns a metadata leaf of a search (`app_metadata.plan:"pro"`,
//! `user_metadata.team:eng*`) into a condition over that table, from which
//! a search gathers candidate users — a superset of the matches that the
//! search's own JSON condition ([`crate::search_sql::where_clause`]) then
//! checks, so the index only ever narrows and never decides alone, except
//! when [`MetadataDriver::exact`] says it counts matches exactly.
//!
//! The tokens, as the migration writes them (`s` string of at most
//! [`MAX_INDEXED_CHARS`] characters, `t` the first ones of a longer one, `b`
//! boolean, `n` number normalised in SQL so numerically equal numbers share
//! a token) are built here the same way, in SQL for numbers.

use tern_core::search::{Condition, Field, Query, Value, is_number_literal};

use crate::search_sql::{Dialect, SqlValue, prefix_end, prefix_of};

/// Characters of a string value, or of a key path, the index holds (the
/// migration's 256).
const MAX_INDEXED_CHARS: usize = 256;

/// A condition over `user_metadata_values` (unqualified columns `kind`,
/// `path`, `token`; the caller adds `tenant_id`) selecting every user a
/// search's metadata leaf matches, and maybe others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataDriver {
    /// The boolean SQL expression, placeholders numbered as asked.
    pub sql: String,
    /// Its bind values, in order.
    pub binds: Vec<SqlValue>,
    /// Whether the rows it selects are exactly the query's matches, one per
    /// user: the whole query is an equality with a short string (one token,
    /// which a user holds at most once at a path), so a total can be
    /// counted in the index alone.
    pub exact: bool,
}

/// The side-index condition implied by `q`: a metadata equality or prefix,
/// alone or as a member of a top-level `AND`. `None` when the query has no
/// such leaf (or its path or prefix is longer than the index holds).
pub fn driver(q: &Query, dialect: Dialect, first_placeholder: usize) -> Option<MetadataDriver> {
    let (leaf, alone) = match q {
        Query::And(qs) => (qs.iter().find_map(indexable)?, false),
        q => (indexable(q)?, true),
    };
    let (kind, path, condition) = leaf;
    let mut g = Binds {
        next: first_placeholder,
        binds: Vec::new(),
    };
    let path_p = g.text(path);
    let (tokens, exact) = match condition {
        Condition::Equals(v) => equal_tokens(&mut g, v, dialect)?,
        Condition::Wildcard(pat) => {
            let prefix = prefix_of(pat)?;
            if prefix.chars().count() > MAX_INDEXED_CHARS {
                return None;
            }
            let end = prefix_end(prefix)?;
            // Short strings under `s`, long ones (cut, but a cut string
            // starts as the whole did) under `t`.
            let ranges: Vec<String> = ["s", "t"]
                .iter()
                .map(|tag| {
                    let from = g.text(format!("{tag}{prefix}"));
                    let to = g.text(format!("{tag}{end}"));
                    format!("(token >= {from} AND token < {to})")
                })
                .collect();
            (format!("({})", ranges.join(" OR ")), false)
        }
        Condition::Range { .. } => return None,
    };
    Some(MetadataDriver {
        sql: format!("kind = '{kind}' AND path = {path_p} AND {tokens}"),
        binds: g.binds,
        exact: exact && alone,
    })
}

/// `(kind, path, condition)` of a leaf the index serves.
fn indexable(q: &Query) -> Option<(&'static str, String, &Condition)> {
    let Query::Field { field, condition } = q else {
        return None;
    };
    let (kind, path) = match field {
        Field::AppMetadata(p) => ("app", p),
        Field::UserMetadata(p) => ("user", p),
        _ => return None,
    };
    let path = path.join(".");
    let served = match condition {
        Condition::Equals(v) => !matches!(v, Value::Date(_)),
        Condition::Wildcard(p) => prefix_of(p).is_some(),
        Condition::Range { .. } => false,
    };
    (served && !path.is_empty() && path.chars().count() <= MAX_INDEXED_CHARS)
        .then_some((kind, path, condition))
}

/// `token IN (…)` for every JSON scalar an equality matches (see
/// `search_sql`'s `json_condition`: a string equal to the text, a boolean
/// if it is `true`/`false`, a number numerically equal if it is a number
/// literal), and whether that is one short-string token.
fn equal_tokens(g: &mut Binds, v: &Value, dialect: Dialect) -> Option<(String, bool)> {
    let mut tokens = Vec::new();
    let mut number = None;
    let mut short_string = false;
    match v {
        Value::Text(s) => {
            if s.chars().count() <= MAX_INDEXED_CHARS {
                short_string = true;
                tokens.push(g.text(format!("s{s}")));
            } else {
                let cut: String = s.chars().take(MAX_INDEXED_CHARS).collect();
                tokens.push(g.text(format!("t{cut}")));
            }
            if s == "true" || s == "false" {
                tokens.push(g.text(format!("b{s}")));
            }
            if s.parse::<i64>().is_ok() || is_number_literal(s) {
                number = Some(s.clone());
            }
        }
        Value::Bool(b) => tokens.push(g.text(format!("b{b}"))),
        Value::Int(i) => number = Some(i.to_string()),
        Value::Decimal(s) => number = Some(s.clone()),
        Value::Date(_) => return None,
    }
    let exact = short_string && tokens.len() == 1 && number.is_none();
    if let Some(n) = number {
        let p = g.text(n);
        tokens.push(match dialect {
            Dialect::Sqlite => format!("'n' || CAST(CAST({p} AS REAL) AS TEXT)"),
            Dialect::Postgres => format!("tern_number_token(CAST({p} AS numeric))"),
        });
    }
    Some((format!("token IN ({})", tokens.join(", ")), exact))
}

struct Binds {
    next: usize,
    binds: Vec<SqlValue>,
}

impl Binds {
    fn text(&mut self, s: impl Into<String>) -> String {
        let p = format!("${}", self.next);
        self.next += 1;
        self.binds.push(SqlValue::Text(s.into()));
        p
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tern_core::search::parse_query;

    use super::*;

    fn drv(q: &str) -> Option<MetadataDriver> {
        driver(&parse_query(q).unwrap(), Dialect::Sqlite, 2)
    }

    #[test]
    fn a_short_string_equality_is_exact_alone_only() {
        let d = drv(r#"app_metadata.plan:"pro""#).unwrap();
        assert_eq!(d.sql, "kind = 'app' AND path = $2 AND token IN ($3)");
        assert_eq!(
            d.binds,
            vec![SqlValue::Text("plan".into()), SqlValue::Text("spro".into())]
        );
        assert!(d.exact);
        let d = drv(r#"app_metadata.plan:"pro" AND name:x"#).unwrap();
        assert!(!d.exact);
    }

    #[test]
    fn booleans_and_numbers_are_alternatives_and_not_exact() {
        let d = drv("user_metadata.a.b:true").unwrap();
        assert!(
            d.sql.starts_with("kind = 'user' AND path = $2"),
            "{}",
            d.sql
        );
        assert!(d.binds.contains(&SqlValue::Text("btrue".into())));
        assert!(!d.exact);
        let d = driver(
            &parse_query("app_metadata.n:5").unwrap(),
            Dialect::Postgres,
            2,
        )
        .unwrap();
        assert!(
            d.sql.contains("tern_number_token(CAST($4 AS numeric))"),
            "{}",
            d.sql
        );
        assert!(!d.exact);
    }

    #[test]
    fn a_prefix_is_two_ranges() {
        let d = drv("app_metadata.plan:pr*").unwrap();
        assert_eq!(
            d.binds[1..],
            [
                SqlValue::Text("spr".into()),
                SqlValue::Text("sps".into()),
                SqlValue::Text("tpr".into()),
                SqlValue::Text("tps".into())
            ]
        );
        assert!(!d.exact);
    }

    #[test]
    fn other_leaves_are_not_served() {
        for q in [
            "app_metadata.plan:*pro",
            "app_metadata.n:[1 TO 5]",
            "app_metadata.plan:pro OR name:x",
            "NOT app_metadata.plan:pro",
            "name:x",
            "_exists_:app_metadata.plan",
        ] {
            assert!(drv(q).is_none(), "{q}");
        }
    }
}
