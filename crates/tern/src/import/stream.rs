//! The reader thread: a JSON array or NDJSON of any size read as a stream
//! (the format detected from the first character), rows handed over one by
//! one in file order through a bounded channel, so memory stays flat.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
use serde_json::Value;
use tokio::sync::mpsc;

use super::auth0_export::from_auth0_export;
use super::tally::Tally;

/// What the reader thread hands over, in file order.
pub enum Item {
    /// A row, serialised compactly.
    Row { index: usize, json: Vec<u8> },
    /// A row that could not be read (NDJSON line that is not JSON).
    Invalid { index: usize, message: String },
    /// The input cannot be read further.
    Fatal(String),
}

/// Counts the bytes read (for the progress bar).
struct Counting<R> {
    inner: R,
    tally: Arc<Tally>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tally.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

type Input = BufReader<Counting<Box<dyn Read + Send>>>;

/// Open the input; its size when it is a regular file.
pub fn open_input(file: &str) -> Result<(Box<dyn Read + Send>, Option<u64>), String> {
    if file == "-" {
        return Ok((Box::new(io::stdin()), None));
    }
    let path = Path::new(file);
    let f = std::fs::File::open(path).map_err(|e| format!("cannot open {file}: {e}"))?;
    let meta = f
        .metadata()
        .map_err(|e| format!("cannot read {file}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{file} is a directory"));
    }
    let size = meta.is_file().then_some(meta.len());
    Ok((Box::new(f), size))
}

/// The first byte that is not whitespace (a UTF-8 byte order mark is skipped).
fn first_significant_byte(input: &mut Input) -> io::Result<Option<u8>> {
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

/// Start the reader thread on `reader`; it counts the bytes it reads into
/// `tally` and, with `export`, converts Auth0 export rows. It ends at the end
/// of the input or when `tx`'s receiver is dropped.
pub fn spawn_reader(
    reader: Box<dyn Read + Send>,
    tally: Arc<Tally>,
    export: bool,
    tx: mpsc::Sender<Item>,
) -> std::thread::JoinHandle<()> {
    let input: Input = BufReader::with_capacity(
        256 * 1024,
        Counting {
            inner: reader,
            tally,
        },
    );
    std::thread::spawn(move || read_rows(input, export, tx))
}

/// The reader thread: detect the format, stream the rows out.
fn read_rows(mut input: Input, export: bool, tx: mpsc::Sender<Item>) {
    let send = |item: Item| tx.blocking_send(item).is_ok();
    let row = |index: usize, v: Value| {
        let v = if export { from_auth0_export(v) } else { v };
        match serde_json::to_vec(&v) {
            Ok(json) => Item::Row { index, json },
            Err(e) => Item::Invalid {
                index,
                message: e.to_string(),
            },
        }
    };
    let first = match first_significant_byte(&mut input) {
        Ok(b) => b,
        Err(e) => {
            send(Item::Fatal(format!("cannot read the input: {e}")));
            return;
        }
    };
    match first {
        None => {}
        Some(b'[') => {
            let mut index = 0usize;
            let mut stopped = false;
            let mut each = |v: Value| {
                let ok = send(row(index, v));
                index += 1;
                ok
            };
            let mut de = serde_json::Deserializer::from_reader(&mut input);
            let res = EachElement {
                each: &mut each,
                stopped: &mut stopped,
            }
            .deserialize(&mut de)
            .and_then(|()| de.end());
            if let Err(e) = res
                && !stopped
            {
                send(Item::Fatal(format!(
                    "the input is not a valid JSON array ({e}); rows before it were submitted"
                )));
            }
        }
        Some(_) => {
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

    fn read_all(text: &str) -> Vec<String> {
        // A tiny buffer: rows and the format's first byte straddle refills.
        let input: Input = BufReader::with_capacity(
            7,
            Counting {
                inner: Box::new(io::Cursor::new(text.as_bytes().to_vec())),
                tally: Arc::new(Tally::default()),
            },
        );
        let (tx, mut rx) = mpsc::channel(1);
        let t = std::thread::spawn(move || read_rows(input, false, tx));
        let mut out = Vec::new();
        while let Some(item) = rx.blocking_recv() {
            out.push(match item {
                Item::Row { index, json } => {
                    format!("{index} {}", String::from_utf8_lossy(&json))
                }
                Item::Invalid { index, .. } => format!("{index} invalid"),
                Item::Fatal(_) => "fatal".into(),
            });
        }
        t.join().unwrap_or_default();
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
}
