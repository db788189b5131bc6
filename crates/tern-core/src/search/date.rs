//! Date values in queries (`created_at`, `updated_at`, `last_login`).

use std::fmt;

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A date or instant written in a query.
///
/// Stored timestamps are TEXT in the fixed-width UTC form
/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (millisecond precision), so every value maps
/// to a half-open interval of such strings, `[start_text, end_text)`:
/// a day covers the whole UTC day, an instant covers the one millisecond it
/// names (an instant with sub-millisecond digits covers no stored value).
/// Range bounds use the interval like Elasticsearch's date rounding:
/// `>= v` is `>= start`, `> v` is `>= end`, `<= v` is `< end`, `< v` is `< start`,
/// and `field:v` is `>= start AND < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateValue {
    /// `YYYY-MM-DD`: the whole UTC day.
    Day(Date),
    /// A full ISO-8601 date-time (`YYYY-MM-DDTHH:MM[:SS[.fff…]][Z|±HH:MM]`),
    /// normalised to UTC; no offset means UTC.
    Instant(OffsetDateTime),
}

/// Smallest year accepted in a query.
const MIN_YEAR: i32 = 1;
/// Largest year accepted in a query (keeps every bound 4-digit after UTC
/// conversion and +1 day).
const MAX_YEAR: i32 = 9998;

impl DateValue {
    /// Parses `YYYY-MM-DD` or an ISO-8601 date-time; `None` if malformed or
    /// outside years 0001–9998.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 10 || !s.is_ascii() {
            return None;
        }
        let year = digits(&b[0..4])? as i32;
        if b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let month = Month::try_from(digits(&b[5..7])? as u8).ok()?;
        let day = digits(&b[8..10])? as u8;
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return None;
        }
        let date = Date::from_calendar_date(year, month, day).ok()?;
        if b.len() == 10 {
            return Some(DateValue::Day(date));
        }
        if b[10] != b'T' && b[10] != b't' {
            return None;
        }
        let rest = &b[11..];
        // HH:MM
        if rest.len() < 5 || rest[2] != b':' {
            return None;
        }
        let hour = digits(&rest[0..2])? as u8;
        let minute = digits(&rest[3..5])? as u8;
        let mut i = 5;
        let mut second = 0u8;
        let mut nanos = 0u32;
        if rest.get(i) == Some(&b':') {
            second = digits(rest.get(i + 1..i + 3)?)? as u8;
            i += 3;
            if rest.get(i) == Some(&b'.') || rest.get(i) == Some(&b',') {
                i += 1;
                let start = i;
                while i < rest.len() && rest[i].is_ascii_digit() {
                    i += 1;
                }
                let frac = &rest[start..i];
                if frac.is_empty() || frac.len() > 9 {
                    return None;
                }
                let mut n = digits(frac)? as u32;
                for _ in frac.len()..9 {
                    n *= 10;
                }
                nanos = n;
            }
        }
        let offset = match &rest[i..] {
            [] | [b'Z'] | [b'z'] => UtcOffset::UTC,
            [sign @ (b'+' | b'-'), tail @ ..] => {
                let (h, m) = match tail {
                    [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                        (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)
                    }
                    [h1, h2] => (digits(&[*h1, *h2])?, 0),
                    _ => return None,
                };
                if h > 23 || m > 59 {
                    return None;
                }
                let (h, m) = (h as i8, m as i8);
                if *sign == b'-' {
                    UtcOffset::from_hms(-h, -m, 0).ok()?
                } else {
                    UtcOffset::from_hms(h, m, 0).ok()?
                }
            }
            _ => return None,
        };
        let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
        let dt = PrimitiveDateTime::new(date, time)
            .assume_offset(offset)
            .to_offset(UtcOffset::UTC);
        Some(DateValue::Instant(dt))
    }

    /// The first stored timestamp (fixed-width UTC text) covered by this value.
    pub fn start_text(&self) -> String {
        format_utc(self.start())
    }

    /// The first stored timestamp (fixed-width UTC text) after this value.
    pub fn end_text(&self) -> String {
        format_utc(self.end())
    }

    /// [`DateValue::start_text`] in nanoseconds since the Unix epoch (log
    /// ids begin with their time so).
    pub fn start_unix_nanos(&self) -> i128 {
        self.start().unix_timestamp_nanos()
    }

    /// [`DateValue::end_text`] in nanoseconds since the Unix epoch.
    pub fn end_unix_nanos(&self) -> i128 {
        self.end().unix_timestamp_nanos()
    }

    /// The first millisecond covered by this value.
    fn start(&self) -> OffsetDateTime {
        match self {
            DateValue::Day(d) => d.midnight().assume_utc(),
            DateValue::Instant(t) => {
                let floor = floor_ms(*t);
                if floor == *t {
                    floor
                } else {
                    floor + Duration::milliseconds(1)
                }
            }
        }
    }

    /// The first millisecond after this value.
    fn end(&self) -> OffsetDateTime {
        match self {
            DateValue::Day(d) => d.midnight().assume_utc() + Duration::days(1),
            DateValue::Instant(t) => floor_ms(*t) + Duration::milliseconds(1),
        }
    }
}

impl fmt::Display for DateValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateValue::Day(d) => {
                write!(
                    f,
                    "{:04}-{:02}-{:02}",
                    d.year(),
                    u8::from(d.month()),
                    d.day()
                )
            }
            DateValue::Instant(t) => {
                let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
                let (h, mi, s, n) = (t.hour(), t.minute(), t.second(), t.nanosecond());
                write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{n:09}Z")
            }
        }
    }
}

/// Formats a UTC instant as `YYYY-MM-DDTHH:MM:SS.mmmZ` (truncating to ms).
pub(crate) fn format_utc(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
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

fn floor_ms(t: OffsetDateTime) -> OffsetDateTime {
    let sub = t.nanosecond() % 1_000_000;
    t - Duration::nanoseconds(i64::from(sub))
}

/// Parses a run of ASCII digits (at most 9) as a number.
fn digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0')))
}
