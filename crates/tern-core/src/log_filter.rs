//! Filtering tenant log events the way the console's log page asks: by
//! type, user (id, or a part of the name or email), connection (name or id)
//! and a range of days. The store reads the log by type, newest first; this
//! decides the rest.

use crate::model::LogEvent;

/// What the log page filters by; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// An event type (`s`, `f`, `sapi`…).
    pub kind: Option<String>,
    /// A user id, or part of the user's name or email (case-insensitive).
    pub user: Option<String>,
    /// A connection's name or id.
    pub connection: Option<String>,
    /// The first day (`YYYY-MM-DD`, UTC), inclusive.
    pub from: Option<String>,
    /// The last day (`YYYY-MM-DD`, UTC), inclusive.
    pub to: Option<String>,
}

/// Whether `s` is a `YYYY-MM-DD` day.
pub fn is_day(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

impl LogFilter {
    /// Whether `ev` passes every filter given.
    pub fn matches(&self, ev: &LogEvent) -> bool {
        if self.kind.as_deref().is_some_and(|k| k != ev.kind) {
            return false;
        }
        if let Some(u) = &self.user {
            let u = u.to_lowercase();
            let id = ev.user_id.as_deref() == Some(u.as_str())
                || ev
                    .user_id
                    .as_deref()
                    .is_some_and(|id| id.to_lowercase() == u);
            let name = ev
                .user_name
                .as_deref()
                .is_some_and(|n| n.to_lowercase().contains(&u));
            if !id && !name {
                return false;
            }
        }
        if let Some(c) = &self.connection {
            let hit = ev.connection.as_deref() == Some(c.as_str())
                || ev.connection_id.as_deref() == Some(c.as_str());
            if !hit {
                return false;
            }
        }
        let day = ev.date.get(..10).unwrap_or("");
        if self.from.as_deref().is_some_and(|f| day < f) {
            return false;
        }
        if self.to.as_deref().is_some_and(|t| day > t) {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, user: &str, conn: &str, date: &str) -> LogEvent {
        let mut e = LogEvent::new(kind, "x");
        e.user_id = Some(format!("auth0|{user}"));
        e.user_name = Some(format!("{user}@example.com"));
        e.connection = Some(conn.into());
        e.connection_id = Some(format!("con_{conn}"));
        e.date = date.into();
        e
    }

    #[test]
    fn every_given_filter_must_match() {
        let e = ev("f", "ada", "legacy", "2026-03-04T10:00:00.000Z");
        assert!(LogFilter::default().matches(&e));
        let f = |k: Option<&str>,
                 u: Option<&str>,
                 c: Option<&str>,
                 from: Option<&str>,
                 to: Option<&str>| LogFilter {
            kind: k.map(Into::into),
            user: u.map(Into::into),
            connection: c.map(Into::into),
            from: from.map(Into::into),
            to: to.map(Into::into),
        };
        assert!(
            f(
                Some("f"),
                Some("ADA@"),
                Some("legacy"),
                Some("2026-03-04"),
                Some("2026-03-04")
            )
            .matches(&e)
        );
        assert!(f(None, Some("auth0|ada"), Some("con_legacy"), None, None).matches(&e));
        assert!(!f(Some("s"), None, None, None, None).matches(&e));
        assert!(!f(None, Some("bob"), None, None, None).matches(&e));
        assert!(!f(None, None, Some("other"), None, None).matches(&e));
        assert!(!f(None, None, None, Some("2026-03-05"), None).matches(&e));
        assert!(!f(None, None, None, None, Some("2026-03-03")).matches(&e));
        assert!(is_day("2026-03-04"));
        assert!(!is_day("2026-3-4"));
        assert!(!is_day("2026-03-04T"));
    }
}
