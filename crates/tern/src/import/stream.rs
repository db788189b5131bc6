//! The reader thread: the file read as `tern_core::import_file` reads it
//! (JSON array, NDJSON, rows under a key, CSV; any size, as a stream), rows
//! handed over one by one in file order through a bounded channel, so
//! memory stays flat.

use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

pub use tern_core::import_file::Item;

use super::tally::Tally;
use crate::importers::Reading;

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

/// Start the reader thread on `reader`; it counts the bytes it reads into
/// `tally` and converts rows as `reading` says. It ends at the end of the
/// input or when `tx`'s receiver is dropped.
pub fn spawn_reader(
    reader: Box<dyn Read + Send>,
    tally: Arc<Tally>,
    reading: Reading,
    tx: mpsc::Sender<Item>,
) -> std::thread::JoinHandle<()> {
    let input: Input = BufReader::with_capacity(
        256 * 1024,
        Counting {
            inner: reader,
            tally: tally.clone(),
        },
    );
    std::thread::spawn(move || read_rows(input, &reading, &tally, tx))
}

/// One platform row converted to an import row, its hash format counted.
pub fn item(reading: &Reading, tally: &Tally, index: usize, v: serde_json::Value) -> Item {
    tern_core::import_file::item(reading, &|facts| tally.count(facts), index, v)
}

/// The reader thread: detect the format, stream the rows out.
fn read_rows(input: Input, reading: &Reading, tally: &Tally, tx: mpsc::Sender<Item>) {
    tern_core::import_file::read_rows(input, reading, &|facts| tally.count(facts), &mut |item| {
        tx.blocking_send(item).is_ok()
    });
}
