//! A users file as `tern import` and the console read it: a JSON array,
//! NDJSON, an object holding the rows under a key (Firebase, Keycloak) or
//! CSV (Supabase), of any size, read as a stream (the format detected from
//! the first character), each row converted from its platform's shape and
//! handed over one by one in file order; and `chunk`, rows cut into job
//! files under the server's limit that remember each row's original index.
//!
//! Synchronous on purpose: callers run [`read_rows`] on a thread of their
//! own behind a bounded channel, so memory stays flat whatever the size.

mod chunk;
mod csv;
pub mod platforms;

use std::io::{self, BufRead};

use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

pub use chunk::Chunk;
pub use csv::{CsvError, CsvRows};

/// Turns one platform row into one import row; the error names what is
/// wrong with the row (it becomes that row's error).
pub type Convert = Box<dyn Fn(Value) -> Result<Value, String> + Send>;

/// How a file is read and converted.
pub struct Reading {
    /// The conversion of each row.
    pub convert: Convert,
    /// The rows sit in an array under this key of a top-level object.
    pub rows_key: Option<&'static str>,
    /// Input that is neither JSON array nor object is CSV with a header row.
    pub csv: bool,
    /// A key of the top-level object (beside `rows_key`) whose value the
    /// conversion needs, and what takes it: read whole and handed over when
    /// it comes before the rows (Keycloak's role definitions, which its
    /// realm export writes before the users).
    pub context: Option<Context>,
}

/// A value of the top-level object a conversion needs: its key, and what
/// takes it (see [`Reading::context`]).
pub type Context = (&'static str, Box<dyn Fn(Value) + Send>);

impl Reading {
    /// Rows as they are (Auth0's import schema).
    pub fn plain() -> Self {
        Self {
            convert: Box::new(Ok),
            rows_key: None,
            csv: false,
            context: None,
        }
    }
}

/// What the reader hands over, in file order.
#[derive(Debug)]
pub enum Item {
    /// A row, serialised compactly.
    Row {
        /// Its 0-based index in the file.
        index: usize,
        /// The row as compact JSON.
        json: Vec<u8>,
    },
    /// A row that could not be read (NDJSON line that is not JSON) or
    /// converted from its platform's shape.
    Invalid {
        /// Its 0-based index in the file.
        index: usize,
        /// `INVALID_JSON`, `INVALID_CSV`, `UNCONVERTIBLE_ROW`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The input cannot be read further.
    Fatal(String),
}

/// The hash format of an import row, for the dry-run summary: the scheme
/// `tern-hash` names for `password_hash`, the `algorithm` of an explicit
/// object, or "no password".
pub fn hash_format(row: &Value) -> String {
    if let Some(h) = row.get("password_hash").and_then(Value::as_str) {
        return match tern_hash::StoredHash::from_import_password_hash(h) {
            Ok(h) => h.scheme().name().to_string(),
            Err(_) => "unrecognised".into(),
        };
    }
    for key in ["tern_password_hash", "custom_password_hash"] {
        if let Some(obj) = row.get(key) {
            let alg = obj.get("algorithm").and_then(Value::as_str).unwrap_or("?");
            return match key {
                "tern_password_hash" => alg.to_string(),
                _ => format!("custom {alg}"),
            };
        }
    }
    "no password".into()
}

/// What the summary counts of one import row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFacts {
    /// Its password hash format ([`hash_format`]).
    pub hash_format: String,
    /// The second factors it carries, by kind (`totp`, `phone`…).
    pub second_factors: Vec<String>,
    /// The second factors its export held that could not be carried, one
    /// reason each (listed by the converter under [`LEFT_BEHIND`]).
    pub left_behind: Vec<String>,
}

/// The key under which a platform converter lists the second factors it
/// could not carry over (why, one line each); [`item`] takes it off the row
/// before the row is sent, and reports it in [`RowFacts`].
pub const LEFT_BEHIND: &str = "__tern_mfa_left_behind";

/// The second factors an import row carries, by kind.
fn second_factors(row: &Value) -> Vec<String> {
    row.get("mfa_factors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_object()?.keys().next().cloned())
        .collect()
}

/// Take the converter's list of second factors left behind off the row.
fn take_left_behind(row: &mut Value) -> Vec<String> {
    row.as_object_mut()
        .and_then(|o| o.remove(LEFT_BEHIND))
        .and_then(|v| v.as_array().cloned())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The first byte that is not whitespace (a UTF-8 byte order mark is skipped).
fn first_significant_byte(input: &mut impl BufRead) -> io::Result<Option<u8>> {
    let mut at_start = true;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        if at_start && buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            input.consume(3);
            at_start = false;
            continue;
        }
        at_start = false;
        let ws = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if ws < buf.len() {
            let b = buf[ws];
            input.consume(ws);
            return Ok(Some(b));
        }
        let n = buf.len();
        input.consume(n);
    }
}

/// Calls `each` for every element of a JSON array, one at a time.
struct EachElement<'a> {
    each: &'a mut dyn FnMut(Value) -> bool,
    stopped: &'a mut bool,
}

impl<'de> DeserializeSeed<'de> for EachElement<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EachElement<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of users")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            if !(self.each)(v) {
                *self.stopped = true;
                return Err(A::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// The array under one key of a top-level object; other keys are skipped
/// but the context's, read whole for it.
struct RowsUnder<'a> {
    key: &'static str,
    rows: EachElement<'a>,
    context: Option<&'a Context>,
}

impl<'de> DeserializeSeed<'de> for RowsUnder<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowsUnder<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "an object with a \"{}\" array", self.key)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rows = Some(self.rows);
        while let Some(k) = map.next_key::<String>()? {
            match rows.take_if(|_| k == self.key) {
                Some(seed) => map.next_value_seed(seed)?,
                None => match self.context.filter(|(key, _)| *key == k) {
                    Some((_, take)) => take(map.next_value::<Value>()?),
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
            }
        }
        Ok(())
    }
}

/// One platform row converted to an import row, its hash format told to
/// `format`.
pub fn item(reading: &Reading, observe: &dyn Fn(RowFacts), index: usize, v: Value) -> Item {
    let mut v = match (reading.convert)(v) {
        Ok(v) => v,
        Err(message) => {
            return Item::Invalid {
                index,
                code: "UNCONVERTIBLE_ROW",
                message,
            };
        }
    };
    let left_behind = take_left_behind(&mut v);
    observe(RowFacts {
        hash_format: hash_format(&v),
        second_factors: second_factors(&v),
        left_behind,
    });
    match serde_json::to_vec(&v) {
        Ok(json) => Item::Row { index, json },
        Err(e) => Item::Invalid {
            index,
            code: "INVALID_JSON",
            message: e.to_string(),
        },
    }
}

/// Read the whole input, detecting its format, and hand every row to
/// `send` in file order (what each row holds to `observe`). Reading stops
/// early when `send` answers false (its receiver is gone).
pub fn read_rows(
    mut input: impl BufRead,
    reading: &Reading,
    observe: &dyn Fn(RowFacts),
    send: &mut dyn FnMut(Item) -> bool,
) {
    let row = |index: usize, v: Value| item(reading, observe, index, v);
    let first = match first_significant_byte(&mut input) {
        Ok(b) => b,
        Err(e) => {
            send(Item::Fatal(format!("cannot read the input: {e}")));
            return;
        }
    };
    match (first, reading.rows_key) {
        (None, _) => {}
        (Some(b'['), _) | (Some(b'{'), Some(_)) => {
            let mut index = 0usize;
            let mut stopped = false;
            let mut each = |v: Value| {
                let ok = send(row(index, v));
                index += 1;
                ok
            };
            let rows = EachElement {
                each: &mut each,
                stopped: &mut stopped,
            };
            let mut de = serde_json::Deserializer::from_reader(&mut input);
            let (res, shape) = match reading.rows_key.filter(|_| first == Some(b'{')) {
                Some(key) => (
                    RowsUnder {
                        key,
                        rows,
                        context: reading.context.as_ref(),
                    }
                    .deserialize(&mut de),
                    format!("object with a \"{key}\" array"),
                ),
                None => (rows.deserialize(&mut de), "JSON array".into()),
            };
            if let Err(e) = res.and_then(|()| de.end())
                && !stopped
            {
                send(Item::Fatal(format!(
                    "the input is not a valid {shape} ({e}); rows before it were submitted"
                )));
            }
        }
        (Some(b), _) if reading.csv && b != b'{' => {
            let records = match CsvRows::new(&mut input) {
                Ok(r) => r,
                Err(e) => {
                    send(Item::Fatal(e));
                    return;
                }
            };
            for (index, record) in records.enumerate() {
                let item = match record {
                    Ok(v) => row(index, v),
                    Err(CsvError::Record(message)) => Item::Invalid {
                        index,
                        code: "INVALID_CSV",
                        message,
                    },
                    Err(CsvError::Input(e)) => Item::Fatal(e),
                };
                if !send(item) {
                    return;
                }
            }
        }
        (Some(_), _) => {
            let (mut index, mut line_no) = (0usize, 0usize);
            let mut line = Vec::with_capacity(4096);
            loop {
                line.clear();
                line_no += 1;
                match input.read_until(b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => {
                        send(Item::Fatal(format!(
                            "cannot read the input at line {line_no}: {e}"
                        )));
                        return;
                    }
                }
                let text = line.trim_ascii();
                if text.is_empty() {
                    continue;
                }
                let item = match serde_json::from_slice::<Value>(text) {
                    Ok(v) => row(index, v),
                    Err(e) => Item::Invalid {
                        index,
                        code: "INVALID_JSON",
                        message: format!("line {line_no} is not valid JSON: {e}"),
                    },
                };
                index += 1;
                if !send(item) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::BufReader;

    fn read_all(text: &str) -> Vec<String> {
        read_as(text, Reading::plain())
    }

    fn read_as(text: &str, reading: Reading) -> Vec<String> {
        // A tiny buffer: rows and the format's first byte straddle refills.
        let input = BufReader::with_capacity(7, io::Cursor::new(text.as_bytes().to_vec()));
        let mut out = Vec::new();
        read_rows(input, &reading, &|_| {}, &mut |item| {
            out.push(match item {
                Item::Row { index, json } => {
                    format!("{index} {}", String::from_utf8_lossy(&json))
                }
                Item::Invalid { index, .. } => format!("{index} invalid"),
                Item::Fatal(_) => "fatal".into(),
            });
            true
        });
        out
    }

    #[test]
    fn arrays_and_ndjson_stream_row_by_row() {
        assert_eq!(
            read_all("\u{feff}  [ {\"email\": \"a@x.io\"},\n 3, \"s\" ]  "),
            ["0 {\"email\":\"a@x.io\"}", "1 3", "2 \"s\""]
        );
        assert_eq!(
            read_all("{\"a\":1}\n\n  {bad\n{\"b\":2}\r\n"),
            ["0 {\"a\":1}", "1 invalid", "2 {\"b\":2}"]
        );
        assert_eq!(read_all("[{\"a\":1}, {"), ["0 {\"a\":1}", "fatal"]);
        assert_eq!(read_all("[1] x"), ["0 1", "fatal"]);
        assert!(read_all("  \n").is_empty());
        assert!(read_all("[]").is_empty());
    }

    #[test]
    fn rows_under_a_key_and_csv() {
        let under = || Reading {
            rows_key: Some("users"),
            ..Reading::plain()
        };
        assert_eq!(
            read_as(
                "{\"kind\": {\"users\": [9]}, \"users\": [1, {\"a\": [2]}], \"z\": 3}",
                under()
            ),
            ["0 1", "1 {\"a\":[2]}"]
        );
        assert_eq!(read_as("{\"users\": [1, }", under()), ["0 1", "fatal"]);
        let csv = Reading {
            csv: true,
            ..Reading::plain()
        };
        assert_eq!(
            read_as("id,n\n1,\"x,y\"\n2\n3,\n", csv),
            [
                "0 {\"id\":\"1\",\"n\":\"x,y\"}",
                "1 invalid",
                "2 {\"id\":\"3\",\"n\":null}"
            ]
        );
    }

    #[test]
    fn hash_formats_are_named() {
        let bcrypt = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";
        assert_eq!(hash_format(&json!({"password_hash": bcrypt})), "bcrypt");
        assert_eq!(hash_format(&json!({"password_hash": "zz"})), "unrecognised");
        assert_eq!(
            hash_format(&json!({"tern_password_hash": {"algorithm": "keycloak"}})),
            "keycloak"
        );
        assert_eq!(hash_format(&json!({"email": "a@b.c"})), "no password");
    }
}
