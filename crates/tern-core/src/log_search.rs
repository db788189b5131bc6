//! The Management API's log listing parameters (`GET /api/v2/logs`,
//! `GET /api/v2/users/{id}/logs`): Auth0's log search (`q`, read by the
//! user search's parser over the log's fields), `sort` and `fields`. Each
//! refusal names what was wrong and what is accepted.

use std::fmt;

use crate::search::{
    Condition, FieldKind, Pattern, PatternPart, Query, SearchError, SearchErrorKind, Vocabulary,
    parse_query_in,
};

/// The fields Auth0's log `sort` and `fields` patterns name.
pub const LOG_FIELDS: &[&str] = &[
    "date",
    "connection",
    "client_id",
    "client_name",
    "ip",
    "user_id",
    "user_name",
    "description",
    "user_agent",
    "type",
    "details",
    "strategy",
    "strategy_type",
];

/// A searchable field of a log event (Auth0's log search names them so).
/// Every one compares case-sensitively, as Auth0's; `date` is a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogField {
    /// `date`: when the event happened; a day, an instant or a range.
    Date,
    /// `type`: the event's code (`s`, `fp`, …).
    Type,
    /// `log_id`.
    LogId,
    /// `user_id`.
    UserId,
    /// `ip`: the caller's address.
    Ip,
    /// `client_id`.
    ClientId,
    /// `client_name`.
    ClientName,
    /// `connection`: the connection's name.
    Connection,
    /// `connection_id`.
    ConnectionId,
    /// `user_name`: the name or email typed.
    UserName,
    /// `description`.
    Description,
}

/// Every searchable log field, in the order error messages list them.
pub const SEARCHABLE: &[LogField] = &[
    LogField::Date,
    LogField::Type,
    LogField::LogId,
    LogField::UserId,
    LogField::Ip,
    LogField::ClientId,
    LogField::ClientName,
    LogField::Connection,
    LogField::ConnectionId,
    LogField::UserName,
    LogField::Description,
];

/// The fields a term without a field name (`jane`, `"Wrong email"`) is
/// searched against, as Auth0's log search lists them: equal to the term
/// (or, `term*`, beginning with it), or for `description`, containing it.
pub const BARE_TERM_FIELDS: &[LogField] = &[
    LogField::UserName,
    LogField::Connection,
    LogField::ClientName,
    LogField::Type,
    LogField::Ip,
    LogField::LogId,
    LogField::Description,
];

/// Fields Auth0's log search has that Tern's log events do not hold.
const NOT_RECORDED: &[&str] = &[
    "hostname",
    "organization_id",
    "user_agent",
    "strategy",
    "strategy_type",
];

impl LogField {
    /// The field's name in a query and in an event.
    pub fn name(self) -> &'static str {
        match self {
            LogField::Date => "date",
            LogField::Type => "type",
            LogField::LogId => "log_id",
            LogField::UserId => "user_id",
            LogField::Ip => "ip",
            LogField::ClientId => "client_id",
            LogField::ClientName => "client_name",
            LogField::Connection => "connection",
            LogField::ConnectionId => "connection_id",
            LogField::UserName => "user_name",
            LogField::Description => "description",
        }
    }
}

impl fmt::Display for LogField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The tenant log's search vocabulary: [`LogField`]s, and terms without a
/// field against [`BARE_TERM_FIELDS`].
#[derive(Debug, Clone, Copy)]
pub struct LogFields;

impl Vocabulary for LogFields {
    type Field = LogField;
    fn field(name: &str, pos: usize) -> Result<LogField, SearchError> {
        if let Some(f) = SEARCHABLE.iter().find(|f| f.name() == name) {
            return Ok(*f);
        }
        let list = SEARCHABLE
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ");
        let (kind, message) = if NOT_RECORDED.contains(&name) {
            (
                SearchErrorKind::Unsupported,
                format!("Tern's log events do not record {name}; searchable fields are: {list}"),
            )
        } else {
            (
                SearchErrorKind::UnknownField,
                format!(
                    "unknown field '{}'; searchable fields are: {list}",
                    shorten(name)
                ),
            )
        };
        Err(SearchError::new(kind, Some(pos), message))
    }
    fn kind(field: &LogField) -> FieldKind {
        match field {
            LogField::Date => FieldKind::Date,
            _ => FieldKind::Text,
        }
    }
    const RANGE_FIELDS: &'static str = "date";
}

/// A parsed log search.
pub type LogSearch = Query<LogField>;

/// Parse a log search (`q`): Auth0's Lucene subset over [`LogField`]s —
/// `AND`, `OR`, `NOT`, parentheses, quoted values, `date` as a day, an
/// instant or a range (`[…]`, `{…}`, `*` for an open end), `_exists_:f`
/// a trailing `*` (a prefix), and terms without a field
/// ([`BARE_TERM_FIELDS`]). Values match whole and case-sensitively.
/// `None` for a search that selects everything (empty, `*`).
pub fn parse_log_query(q: &str) -> Result<Option<LogSearch>, String> {
    let query = parse_query_in::<LogFields>(q).map_err(|e| e.to_string())?;
    check_patterns(&query)?;
    Ok((query != Query::MatchAll).then_some(query))
}

/// Wildcards only as a trailing `*` (a prefix, which a range answers):
/// anything else would compare every event's text with a pattern.
fn check_patterns(q: &LogSearch) -> Result<(), String> {
    match q {
        Query::And(qs) | Query::Or(qs) => qs.iter().try_for_each(check_patterns),
        Query::Not(q) => check_patterns(q),
        Query::Field {
            field,
            condition: Condition::Wildcard(p),
        } if prefix(p).is_none() => Err(format!(
            "Invalid query: {field}:{} — log search supports a wildcard only as a trailing * (a prefix, e.g. ip:203.0.113.*)",
            shorten(&p.to_string())
        )),
        Query::AnyField(Condition::Wildcard(p)) if prefix(p).is_none() => Err(format!(
            "Invalid query: {} — log search supports a wildcard only as a trailing * (a prefix, e.g. 203.0.113.*)",
            shorten(&p.to_string())
        )),
        _ => Ok(()),
    }
}

/// The prefix a pattern `prefix*` stands for.
pub fn prefix(p: &Pattern) -> Option<&str> {
    match p.parts() {
        [PatternPart::Literal(l), PatternPart::AnyChars] => Some(l),
        _ => None,
    }
}

/// At most 60 characters of something quoted back in a message.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// `sort`: whether the listing is oldest first. Only the date orders Tern's
/// log (the order events were written); Auth0's other sort fields are
/// refused by name.
pub fn parse_log_sort(sort: Option<&str>) -> Result<bool, String> {
    let Some(sort) = sort.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(false);
    };
    let malformed = || {
        format!(
            "'{}' is not a sort: use a field and 1 (ascending) or -1 (descending), e.g. date:-1",
            shorten(sort)
        )
    };
    let (field, direction) = sort.split_once(':').ok_or_else(malformed)?;
    let ascending = match direction {
        "1" => true,
        "-1" => false,
        _ => return Err(malformed()),
    };
    match field {
        "date" => Ok(ascending),
        f if LOG_FIELDS.contains(&f) => Err(format!(
            "sorting logs by {f} is not supported; sort by date:1 or date:-1"
        )),
        _ => Err(malformed()),
    }
}

/// `fields`: each must be one of [`LOG_FIELDS`] (`log_id` too: it is
/// always kept, so a reader can page on).
pub fn check_log_fields(fields: &[String]) -> Result<(), String> {
    match fields
        .iter()
        .find(|f| f.as_str() != "log_id" && !LOG_FIELDS.contains(&f.as_str()))
    {
        Some(f) => Err(format!(
            "'{}' is not a log field; fields are: {}",
            shorten(f),
            LOG_FIELDS.join(", ")
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::ops::Bound;

    use crate::search::{DateValue, Value};

    fn field(field: LogField, v: &str) -> LogSearch {
        Query::Field {
            field,
            condition: Condition::Equals(Value::Text(v.into())),
        }
    }

    #[test]
    fn reads_auth0s_log_search() {
        assert_eq!(parse_log_query(" ").unwrap(), None);
        assert_eq!(parse_log_query("*").unwrap(), None);
        assert_eq!(
            parse_log_query("type:fp").unwrap(),
            Some(field(LogField::Type, "fp"))
        );
        assert_eq!(
            parse_log_query("user_id:\"auth0|abc\" AND type:s").unwrap(),
            Some(Query::And(vec![
                field(LogField::UserId, "auth0|abc"),
                field(LogField::Type, "s")
            ]))
        );
        assert_eq!(
            parse_log_query("type:s OR type:f").unwrap(),
            Some(Query::Or(vec![
                field(LogField::Type, "s"),
                field(LogField::Type, "f")
            ]))
        );
        assert_eq!(
            parse_log_query("NOT ip:\"10.0.0.1\"").unwrap(),
            Some(Query::Not(Box::new(field(LogField::Ip, "10.0.0.1"))))
        );
        let day = |s: &str| DateValue::parse(s).unwrap();
        assert_eq!(
            parse_log_query("date:[2026-12-01 TO 2026-12-02}").unwrap(),
            Some(Query::Field {
                field: LogField::Date,
                condition: Condition::Range {
                    lower: Bound::Included(Value::Date(day("2026-12-01"))),
                    upper: Bound::Excluded(Value::Date(day("2026-12-02"))),
                },
            })
        );
        assert!(parse_log_query("date:[* TO 2026-12-02] AND ip:203.0.113.*").is_ok());
        assert!(parse_log_query("description:\"Wrong email or password.\"").is_ok());
        // Terms without a field: searched against Auth0's bare-term fields.
        assert_eq!(
            parse_log_query("fp").unwrap(),
            Some(Query::AnyField(Condition::Equals(Value::Text("fp".into()))))
        );
        assert!(parse_log_query("\"Wrong email\" AND 203.0.113.*").is_ok());
    }

    #[test]
    fn refuses_what_it_cannot_answer_by_name() {
        for (q, says) in [
            ("hostname:x", "do not record hostname"),
            ("nope:x", "unknown field 'nope'"),
            ("ip:*10.0", "only as a trailing *"),
            ("ip:10.?.0.1", "only as a trailing *"),
            ("*113.7", "only as a trailing *"),
            ("type:[a TO b]", "ranges are only supported on date"),
            ("date:2026-13-01", "not a valid date"),
            ("date:2026*", "wildcards are not supported on date"),
            ("type:s AND (", "Syntax error"),
            ("user_id:\"unterminated", "Syntax error"),
        ] {
            let e = parse_log_query(q).unwrap_err();
            assert!(e.contains(says), "{q}: {e}");
        }
        let long = format!("ip:{}*x", "1".repeat(500));
        assert!(parse_log_query(&long).unwrap_err().len() < 300);
    }

    #[test]
    fn sorts_by_date_only() {
        assert!(!parse_log_sort(None).unwrap());
        assert!(parse_log_sort(Some("date:1")).unwrap());
        assert!(!parse_log_sort(Some("date:-1")).unwrap());
        assert!(
            parse_log_sort(Some("type:1"))
                .unwrap_err()
                .contains("sorting logs by type is not supported")
        );
        for bad in ["date:2", "date", "nope:1", "date:-1:1"] {
            assert!(
                parse_log_sort(Some(bad))
                    .unwrap_err()
                    .contains("is not a sort"),
                "{bad}"
            );
        }
    }

    #[test]
    fn fields_are_log_fields() {
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_log_fields(&f(&["date", "type", "log_id"])).is_ok());
        assert!(
            check_log_fields(&f(&["date", "password"]))
                .unwrap_err()
                .contains("'password' is not a log field")
        );
    }
}
