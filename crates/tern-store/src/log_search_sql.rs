//! The tenant log's search ([`tern_core::log_search::LogSearch`], `q` on
//! `GET /api/v2/logs`) as a SQL boolean expression over `logs`, for SQLite
//! and PostgreSQL.
//!
//! * **Injection-proof.** Every value from the query is a bind parameter;
//!   the SQL text holds only constants and the column and JSON key names
//!   chosen here.
//! * **Dates through the id index.** A log id begins with its time in
//!   nanoseconds (19 digits, so ids sort by time as text), the same instant
//!   as the event's `date`. A date condition is the `date` comparison (the
//!   answer) and the same bounds on `id`, widened by [`ID_SLACK`] — so the
//!   `(tenant_id, id)` index (migration 0037) serves it and a statement can
//!   walk it in order ([`bounded_by_date`]). An event whose stored date is
//!   further than that from its id's time is not found by date.
//! * **Case-sensitive, whole values**, as Auth0's log search; a prefix
//!   (`ip:203.0.113.*`) is a byte-wise range. A term without a field is
//!   any of Auth0's bare-term fields equal to it, or the description
//!   containing it.
//! * **Two-valued logic.** A field an event lacks is NULL; `NOT` sees
//!   `COALESCE(…, FALSE)`, so `NOT ip:"x"` matches events without an ip.
//! * `type`, `user_id` and `log_id` are columns (indexed); the other
//!   fields are read from the event's JSON body, event by event — a
//!   search on them alone walks the log, within the search's deadline.

use std::ops::Bound;

use tern_core::log_search::{BARE_TERM_FIELDS, LogField, LogSearch, prefix};
use tern_core::search::{Condition, DateValue, Query, Value};

use crate::search_sql::{Dialect, SqlValue, prefix_end};

/// How far an id's time may be from its event's date and still be found
/// by date: [`tern_core::model::LogEvent::new`] takes both from one
/// instant; events written before it did took them nanoseconds apart.
const ID_SLACK_NANOS: i128 = 1_000_000_000;

/// The smallest and the first too large time (ns) a 19-digit id holds.
const ID_NANOS: std::ops::Range<i128> = 1_000_000_000_000_000_000..10_000_000_000_000_000_000;

const FALSE: &str = "(1 = 0)";
const TRUE: &str = "(1 = 1)";

/// A boolean SQL expression over `logs` for `q`, and its bind values, with
/// placeholders `$n` numbered from `first_placeholder`, each used once in
/// increasing order.
pub fn where_clause(
    q: &LogSearch,
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

/// Whether every event `q` selects is within a bounded date range: then
/// the statement walks the id index within it, in id order (the date's).
pub fn bounded_by_date(q: &LogSearch) -> bool {
    match q {
        Query::And(qs) => qs.iter().any(bounded_by_date),
        Query::Field {
            field: LogField::Date,
            condition: Condition::Equals(_) | Condition::Range { .. },
        } => true,
        _ => false,
    }
}

struct Gen {
    dialect: Dialect,
    next: usize,
    binds: Vec<SqlValue>,
}

impl Gen {
    fn text(&mut self, s: impl Into<String>) -> String {
        let p = format!("${}", self.next);
        self.next += 1;
        self.binds.push(SqlValue::Text(s.into()));
        p
    }

    fn query(&mut self, q: &LogSearch) -> String {
        match q {
            Query::MatchAll => TRUE.to_owned(),
            Query::And(qs) => self.join(qs, " AND "),
            Query::Or(qs) => self.join(qs, " OR "),
            Query::Not(q) => format!("(NOT COALESCE({}, FALSE))", self.query(q)),
            Query::Field { field, condition } => self.leaf(*field, condition),
            Query::Exists(field) => match self.column(*field) {
                // Every event has a date, a type and an id.
                None => TRUE.to_owned(),
                Some(expr) => format!("({expr} IS NOT NULL)"),
            },
            Query::AnyField(c) => {
                let parts: Vec<String> = BARE_TERM_FIELDS
                    .iter()
                    .map(|f| match f {
                        LogField::Description => self.contains(*f, c),
                        f => self.leaf(*f, c),
                    })
                    .collect();
                format!("({})", parts.join(" OR "))
            }
        }
    }

    fn join(&mut self, qs: &[LogSearch], sep: &str) -> String {
        let parts: Vec<String> = qs.iter().map(|q| self.query(q)).collect();
        format!("({})", parts.join(sep))
    }

    /// The expression holding a field that an event may lack; `None` for
    /// the ones it always has (`date`, `type`, `log_id`).
    fn column(&self, field: LogField) -> Option<String> {
        let key = match field {
            LogField::Date | LogField::Type | LogField::LogId => return None,
            LogField::UserId => return Some("user_id".into()),
            // The rest are read from the body, under their own names.
            other => other.name(),
        };
        Some(match self.dialect {
            Dialect::Sqlite => format!("json_extract(body, '$.{key}')"),
            Dialect::Postgres => format!("(body::json ->> '{key}')"),
        })
    }

    /// The expression of a text field.
    fn text_expr(&self, field: LogField) -> String {
        match field {
            LogField::Type => "type".into(),
            LogField::LogId => "id".into(),
            f => self.column(f).unwrap_or_else(|| "NULL".into()),
        }
    }

    fn leaf(&mut self, field: LogField, c: &Condition) -> String {
        if field == LogField::Date {
            return match date_bounds(c) {
                Some((lower, upper)) => self.date_range(lower, upper),
                None => FALSE.to_owned(),
            };
        }
        let expr = self.text_expr(field);
        match c {
            Condition::Equals(v) => {
                let p = self.text(v.to_string());
                format!("({expr} = {p})")
            }
            Condition::Wildcard(pattern) => match prefix(pattern) {
                Some(start) => {
                    // Byte-wise, as the prefix is (PostgreSQL's own
                    // collation may order otherwise).
                    let expr = match self.dialect {
                        Dialect::Sqlite => expr,
                        Dialect::Postgres => format!("{expr} COLLATE \"C\""),
                    };
                    let a = self.text(start);
                    match prefix_end(start) {
                        Some(end) => {
                            let b = self.text(end);
                            format!("({expr} >= {a} AND {expr} < {b})")
                        }
                        None => format!("({expr} >= {a})"),
                    }
                }
                // Refused by `parse_log_query`.
                None => FALSE.to_owned(),
            },
            // Ranges are only on `date` (the vocabulary refuses others).
            Condition::Range { .. } => FALSE.to_owned(),
        }
    }

    /// A text field containing a bare term (or, `term*`, its prefix),
    /// case-sensitively. Auth0 matches the description's words; containing
    /// is wider (`pass` finds `password`), never narrower.
    fn contains(&mut self, field: LogField, c: &Condition) -> String {
        let term = match c {
            Condition::Equals(v) => v.to_string(),
            Condition::Wildcard(pattern) => match prefix(pattern) {
                Some(start) => start.to_owned(),
                // Refused by `parse_log_query`.
                None => return FALSE.to_owned(),
            },
            Condition::Range { .. } => return FALSE.to_owned(),
        };
        let expr = self.text_expr(field);
        let p = self.text(term);
        match self.dialect {
            Dialect::Sqlite => format!("(instr({expr}, {p}) > 0)"),
            Dialect::Postgres => format!("(strpos({expr}, {p}) > 0)"),
        }
    }

    /// `date` from `lower` (included) to `upper` (excluded), and the same
    /// on `id`, widened by the slack.
    fn date_range(&mut self, lower: Option<Edge>, upper: Option<Edge>) -> String {
        let mut parts = Vec::new();
        if let Some(e) = lower {
            let ns = e.nanos - ID_SLACK_NANOS;
            if ns >= ID_NANOS.end {
                return FALSE.to_owned();
            }
            if ns >= ID_NANOS.start {
                parts.push(format!("id >= {}", self.text(ns.to_string())));
            }
            parts.push(format!("date >= {}", self.text(e.text)));
        }
        if let Some(e) = upper {
            let ns = e.nanos + ID_SLACK_NANOS;
            if ns <= ID_NANOS.start {
                return FALSE.to_owned();
            }
            if ns < ID_NANOS.end {
                parts.push(format!("id < {}", self.text(ns.to_string())));
            }
            parts.push(format!("date < {}", self.text(e.text)));
        }
        if parts.is_empty() {
            return TRUE.to_owned();
        }
        format!("({})", parts.join(" AND "))
    }
}

/// One end of a date range: an instant as nanoseconds since the epoch and
/// as stored text.
struct Edge {
    nanos: i128,
    text: String,
}

fn start(v: &DateValue) -> Edge {
    Edge {
        nanos: v.start_unix_nanos(),
        text: v.start_text(),
    }
}

fn end(v: &DateValue) -> Edge {
    Edge {
        nanos: v.end_unix_nanos(),
        text: v.end_text(),
    }
}

/// A date condition as the first instant it covers (included) and the
/// first after it (excluded), either open; `None` for a condition the
/// parser does not make on dates.
fn date_bounds(c: &Condition) -> Option<(Option<Edge>, Option<Edge>)> {
    match c {
        Condition::Equals(Value::Date(v)) => Some((Some(start(v)), Some(end(v)))),
        Condition::Range { lower, upper } => {
            let lower = match lower {
                Bound::Included(Value::Date(v)) => Some(start(v)),
                Bound::Excluded(Value::Date(v)) => Some(end(v)),
                Bound::Unbounded => None,
                _ => return None,
            };
            let upper = match upper {
                Bound::Included(Value::Date(v)) => Some(end(v)),
                Bound::Excluded(Value::Date(v)) => Some(start(v)),
                Bound::Unbounded => None,
                _ => return None,
            };
            Some((lower, upper))
        }
        _ => None,
    }
}
