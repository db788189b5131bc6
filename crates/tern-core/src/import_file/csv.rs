//! CSV with a header row (RFC 4180: quoted fields may hold commas, quotes
//! doubled, and line breaks), read record by record; each record becomes a
//! JSON object of strings keyed by the header, empty fields as null (the
//! way `psql \copy … csv` and the Supabase dashboard write NULL).

use std::io::BufRead;

use serde_json::{Map, Value};

/// Why a record was not read.
#[derive(Debug, PartialEq)]
pub enum CsvError {
    /// This record is malformed; the next one may be fine.
    Record(String),
    /// The input cannot be read further.
    Input(String),
}

/// The records of a CSV input, as JSON objects.
pub struct CsvRows<R> {
    input: R,
    header: Vec<String>,
    /// The line the next record starts on (1-based).
    line: usize,
}

/// One record's fields; `None` at the end of the input.
fn read_record(input: &mut impl BufRead, line: &mut usize) -> Result<Option<Vec<String>>, String> {
    let mut raw = Vec::new();
    loop {
        let start = raw.len();
        let n = input
            .read_until(b'\n', &mut raw)
            .map_err(|e| format!("cannot read the input at line {line}: {e}"))?;
        if n == 0 {
            if raw.is_empty() {
                return Ok(None);
            }
            break;
        }
        *line += 1;
        let quotes = raw.iter().filter(|&&b| b == b'"').count();
        if quotes % 2 == 0 {
            if raw[start..].trim_ascii().is_empty() && start == 0 {
                raw.clear(); // a blank line between records
                continue;
            }
            break;
        }
    }
    let text = String::from_utf8(raw).map_err(|_| format!("line {line} is not UTF-8"))?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    let (mut fields, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    Ok(Some(fields))
}

impl<R: BufRead> CsvRows<R> {
    /// Read the header row.
    pub fn new(mut input: R) -> Result<Self, String> {
        let mut line = 1;
        let header = read_record(&mut input, &mut line)?.ok_or("the CSV input is empty")?;
        let header = header
            .into_iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        Ok(Self {
            input,
            header,
            line,
        })
    }
}

impl<R: BufRead> Iterator for CsvRows<R> {
    /// A record as an object, or why it cannot be read.
    type Item = Result<Value, CsvError>;
    fn next(&mut self) -> Option<Self::Item> {
        let first_line = self.line;
        let fields = match read_record(&mut self.input, &mut self.line) {
            Ok(f) => f?,
            Err(e) => return Some(Err(CsvError::Input(e))),
        };
        if fields.len() != self.header.len() {
            return Some(Err(CsvError::Record(format!(
                "line {first_line} has {} fields; the header has {}",
                fields.len(),
                self.header.len()
            ))));
        }
        let row: Map<String, Value> = self
            .header
            .iter()
            .zip(fields)
            .map(|(k, v)| {
                let v = if v.is_empty() {
                    Value::Null
                } else {
                    Value::String(v)
                };
                (k.clone(), v)
            })
            .collect();
        Some(Ok(Value::Object(row)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quoted_fields_and_nulls() {
        let text = "\u{feff}id,meta,x\r\n1,\"{\"\"a\"\":\"\"b,\nc\"\"}\",\n\n2,plain,\"\"\n";
        let rows: Vec<_> = CsvRows::new(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"))
            .collect();
        assert_eq!(
            rows,
            vec![
                Ok(json!({"id": "1", "meta": "{\"a\":\"b,\nc\"}", "x": null})),
                Ok(json!({"id": "2", "meta": "plain", "x": null})),
            ]
        );
        let rows: Vec<_> = CsvRows::new("a,b\n1\n".as_bytes())
            .unwrap_or_else(|e| panic!("{e}"))
            .collect();
        assert_eq!(
            rows,
            vec![Err(CsvError::Record(
                "line 2 has 1 fields; the header has 2".into()
            ))]
        );
    }
}
