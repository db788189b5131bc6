//! Timestamps in the one format Tern stores and returns.
//!
//! Every timestamp is UTC ISO-8601 with milliseconds and a `Z`
//! (`2024-05-01T12:00:00.000Z`), as Auth0 returns them. The width is fixed so
//! that text order equals time order, which lets both SQL backends compare and
//! sort dates as plain strings.

use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// The current time as an ISO timestamp.
pub fn now_iso() -> String {
    iso(OffsetDateTime::now_utc())
}

/// Format a time as Tern's fixed-width ISO timestamp.
pub fn iso(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Epoch second `secs` as Tern's ISO timestamp (`None` past the years
/// `time` represents).
pub fn iso_of_epoch(secs: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(secs).ok().map(iso)
}

/// Seconds since the Unix epoch, now.
pub fn now_epoch() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The time as the server's expiry decisions see it: sessions, login
/// transactions, authorization codes and refresh tokens read it, so a test
/// can move it forward instead of sleeping. Nothing but a test moves it; in
/// production it is the system clock.
#[derive(Debug, Default)]
pub struct Clock {
    /// Seconds added to the system clock (tests only).
    skew_secs: std::sync::atomic::AtomicI64,
}

impl Clock {
    /// Seconds since the Unix epoch, now (plus any skew a test applied).
    pub fn now(&self) -> i64 {
        now_epoch().saturating_add(self.skew_secs.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Move this clock forward by `secs` (tests: "a day later").
    pub fn advance(&self, secs: i64) {
        self.skew_secs
            .fetch_add(secs, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Parse an RFC 3339 timestamp (any offset) into Tern's fixed-width form.
pub fn normalize_iso(s: &str) -> Option<String> {
    OffsetDateTime::parse(s, &Rfc3339).ok().map(iso)
}

/// Seconds since the Unix epoch of a stored (RFC 3339) timestamp, rounded
/// down to the second.
pub fn epoch_of_iso(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_and_utc() {
        assert_eq!(
            normalize_iso("2024-05-01T14:00:00.5+02:00").as_deref(),
            Some("2024-05-01T12:00:00.500Z")
        );
        assert_eq!(now_iso().len(), 24);
    }

    #[test]
    fn epoch_of_a_stored_timestamp() {
        assert_eq!(epoch_of_iso("1970-01-01T00:01:40.900Z"), Some(100));
        assert_eq!(epoch_of_iso("not a date"), None);
    }

    #[test]
    fn a_clock_moves_forward_when_told() {
        let c = Clock::default();
        let before = c.now();
        c.advance(3600);
        assert!(c.now() >= before + 3600);
    }
}
