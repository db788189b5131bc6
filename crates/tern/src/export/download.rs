//! Fetching a completed export: the signed `location`, streamed through a
//! gzip decoder (or kept compressed with `--gzip`) into the output, counting
//! the rows on the way. A file output is written beside its target and
//! renamed into place only once complete, so a failed run leaves no half file.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use flate2::write::GzDecoder;
use reqwest::StatusCode;

use crate::client::api_message;
use crate::progress::Progress;

/// Where the export is written.
pub enum Output {
    Stdout,
    File {
        partial: tempfile::NamedTempFile,
        target: PathBuf,
    },
}

impl Output {
    /// `-` is standard output; otherwise a temporary file next to `path`,
    /// created now so an unwritable destination fails before any job runs.
    pub fn open(path: &str) -> Result<Self, String> {
        if path == "-" {
            return Ok(Self::Stdout);
        }
        let target = PathBuf::from(path);
        if target.is_dir() {
            return Err(format!("{path} is a directory"));
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let partial = tempfile::Builder::new()
            .prefix(".tern-export-")
            .tempfile_in(&dir)
            .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
        Ok(Self::File { partial, target })
    }

    /// A name for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Stdout => "standard output".into(),
            Self::File { target, .. } => target.display().to_string(),
        }
    }

    fn writer(&self) -> io::Result<Box<dyn Write + Send>> {
        Ok(match self {
            Self::Stdout => Box::new(BufWriter::new(io::stdout())),
            Self::File { partial, .. } => Box::new(BufWriter::new(partial.as_file().try_clone()?)),
        })
    }

    /// Put a complete file in place.
    pub fn commit(self) -> Result<(), String> {
        match self {
            Self::Stdout => Ok(()),
            Self::File { partial, target } => {
                partial
                    .as_file()
                    .sync_all()
                    .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
                partial
                    .persist(&target)
                    .map(drop)
                    .map_err(|e| format!("cannot write {}: {}", target.display(), e.error))
            }
        }
    }
}

/// The URL to fetch a `location` from. The link is signed for Tern's public
/// URL; when it points at the server the API calls go to (the audience's
/// origin, or the same host and port under another scheme), fetch it the way
/// the person told us to reach that server — e.g. a loopback `tern serve`
/// whose public URL says https while it listens in plain HTTP. Any other
/// host is fetched as it is.
pub fn reachable_location(location: &str, base: &str, audience: &str) -> String {
    let public = audience.trim_end_matches('/').strip_suffix("/api/v2");
    let candidates = [
        public.and_then(|p| location.strip_prefix(p)),
        without_scheme(location).strip_prefix(without_scheme(base)),
    ];
    for rest in candidates.into_iter().flatten() {
        if rest.starts_with('/') {
            return format!("{base}{rest}");
        }
    }
    location.to_string()
}

/// What a finished download held.
pub struct Fetched {
    /// Users in the file (CSV: lines after the header).
    pub rows: u64,
    /// Bytes received (compressed).
    pub bytes: u64,
}

/// Why a download did not complete.
pub enum FetchError {
    /// The link expired or was refused: fetch the job again for a new one.
    LinkRefused(String),
    Failed(String),
}

/// Download `url` (no credentials: the link is the authorisation) into
/// `output`, gunzipped unless `keep_gzip`.
pub async fn fetch(
    http: &reqwest::Client,
    url: &str,
    output: &Output,
    keep_gzip: bool,
    csv: bool,
    progress: &Progress,
) -> Result<Fetched, FetchError> {
    let failed = |e: String| FetchError::Failed(e);
    // Errors without the URL: its token is a credential for the file.
    let mut r = http.get(url).send().await.map_err(|e| {
        failed(format!(
            "cannot download the export from {}: {}",
            origin(url),
            e.without_url()
        ))
    })?;
    let status = r.status();
    if !status.is_success() {
        let text = r.text().await.unwrap_or_default();
        let msg = format!("the download was refused: {}", api_message(status, &text));
        return Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => FetchError::LinkRefused(msg),
            _ => FetchError::Failed(msg),
        });
    }
    if let Some(len) = r.content_length() {
        progress.bar().set_length(len);
    }
    progress.restyle("{spinner} [{elapsed_precise}] {bytes}/{total_bytes} {msg}");
    progress.bar().set_message("downloading");

    let write_error = |e: io::Error| failed(format!("cannot write {}: {e}", output.describe()));
    let out = output.writer().map_err(write_error)?;
    let mut unpacker = Unpacker::new(out, keep_gzip, csv);
    let mut bytes = 0u64;
    while let Some(chunk) = r
        .chunk()
        .await
        .map_err(|e| failed(format!("the download broke off: {}", e.without_url())))?
    {
        bytes += chunk.len() as u64;
        progress.bar().set_position(bytes);
        unpacker.write(&chunk).map_err(|e| match e {
            UnpackError::Gzip(e) => failed(format!("the export is not a valid gzip file: {e}")),
            UnpackError::Write(e) => write_error(e),
        })?;
    }
    let rows = unpacker.finish().map_err(|e| match e {
        UnpackError::Gzip(e) => failed(format!("the export is not a valid gzip file: {e}")),
        UnpackError::Write(e) => write_error(e),
    })?;
    Ok(Fetched { rows, bytes })
}

fn without_scheme(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, rest)| rest)
}

fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    url[after_scheme..]
        .find('/')
        .map_or(url, |i| &url[..after_scheme + i])
}

enum UnpackError {
    /// The compressed stream is corrupt.
    Gzip(io::Error),
    /// The output cannot be written.
    Write(io::Error),
}

/// Counts rows in decompressed export text: newlines, except (CSV) inside a
/// quoted value — every CSV string is quoted, quotes inside doubled, so a
/// toggle on `"` tracks it. NDJSON lines cannot hold a raw newline.
struct RowCounter<W> {
    inner: W,
    csv: bool,
    in_quotes: bool,
    lines: u64,
    /// The last byte was not a newline (a final line without one still counts).
    open_line: bool,
    /// An output write failed (told apart from gzip errors, which the
    /// decoder reports through the same `io::Error`).
    write_failed: Option<io::ErrorKind>,
}

impl<W: Write> Write for RowCounter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf).inspect_err(|e| {
            self.write_failed = Some(e.kind());
        })?;
        for &b in &buf[..n] {
            match b {
                b'"' if self.csv => self.in_quotes = !self.in_quotes,
                b'\n' if !self.in_quotes => self.lines += 1,
                _ => {}
            }
        }
        if n > 0 {
            self.open_line = buf[n - 1] != b'\n';
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|e| {
            self.write_failed = Some(e.kind());
        })
    }
}

impl<W> RowCounter<W> {
    fn rows(&self) -> u64 {
        let lines = self.lines + u64::from(self.open_line);
        if self.csv {
            lines.saturating_sub(1) // the header
        } else {
            lines
        }
    }
}

/// Compressed bytes in; the output gets them decompressed, or as they are
/// with `keep_gzip` (then a decoder still runs, to count rows and to check
/// the file is whole).
struct Unpacker {
    raw: Option<Box<dyn Write + Send>>,
    decoder: GzDecoder<RowCounter<Box<dyn Write + Send>>>,
}

impl Unpacker {
    fn new(out: Box<dyn Write + Send>, keep_gzip: bool, csv: bool) -> Self {
        let (raw, decoded): (_, Box<dyn Write + Send>) = if keep_gzip {
            (Some(out), Box::new(io::sink()))
        } else {
            (None, out)
        };
        Self {
            raw,
            decoder: GzDecoder::new(RowCounter {
                inner: decoded,
                csv,
                in_quotes: false,
                lines: 0,
                open_line: false,
                write_failed: None,
            }),
        }
    }

    fn classify(&self, e: io::Error) -> UnpackError {
        match self.decoder.get_ref().write_failed {
            Some(_) => UnpackError::Write(e),
            None => UnpackError::Gzip(e),
        }
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), UnpackError> {
        if let Some(raw) = &mut self.raw {
            raw.write_all(chunk).map_err(UnpackError::Write)?;
        }
        self.decoder.write_all(chunk).map_err(|e| self.classify(e))
    }

    /// Flush everything; the number of rows.
    fn finish(mut self) -> Result<u64, UnpackError> {
        self.decoder.try_finish().map_err(|e| self.classify(e))?;
        if let Some(raw) = &mut self.raw {
            raw.flush().map_err(UnpackError::Write)?;
        }
        let mut counter = self.decoder.finish().map_err(UnpackError::Gzip)?;
        counter.flush().map_err(UnpackError::Write)?;
        Ok(counter.rows())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(text: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    /// A writer the test can read back after the unpacker consumed it.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn unpack(gz: &[u8], keep: bool, csv: bool, piece: usize) -> (Vec<u8>, Result<u64, String>) {
        let out = Shared::default();
        let mut u = Unpacker::new(Box::new(out.clone()), keep, csv);
        let mut res = Ok(());
        for c in gz.chunks(piece) {
            res = res.and_then(|()| u.write(c));
        }
        let rows = res.and_then(|()| u.finish()).map_err(|e| match e {
            UnpackError::Gzip(e) => format!("gzip {e}"),
            UnpackError::Write(e) => format!("write {e}"),
        });
        let bytes = out.0.lock().unwrap().clone();
        (bytes, rows)
    }

    #[test]
    fn gzip_is_undone_and_rows_counted() {
        let ndjson = "{\"email\":\"a@x.io\"}\n{\"email\":\"b@x.io\",\"name\":\"line\\nbreak\"}\n";
        let (out, rows) = unpack(&gzip(ndjson), false, false, 5);
        assert_eq!(
            (String::from_utf8(out).unwrap(), rows),
            (ndjson.into(), Ok(2))
        );
        // CSV: the header is not a row; a newline inside a quoted value is not a row end.
        let csv = "\"'email\",\"'name\"\n\"'a@x.io\",\"'two\nlines \"\"quoted\"\"\"\n\"'b@x.io\",";
        let (_, rows) = unpack(&gzip(csv), false, true, 3);
        assert_eq!(rows, Ok(2));
        let (_, rows) = unpack(&gzip(""), false, false, 3);
        assert_eq!(rows, Ok(0));
    }

    #[test]
    fn kept_gzip_is_byte_for_byte() {
        let gz = gzip("{\"a\":1}\n");
        let (out, rows) = unpack(&gz, true, false, 4);
        assert_eq!((out, rows), (gz, Ok(1)));
    }

    #[test]
    fn corrupt_gzip_is_an_error() {
        let (_, rows) = unpack(b"this is not gzip at all", false, false, 64);
        assert!(rows.unwrap_err().starts_with("gzip"));
    }

    #[test]
    fn links_to_our_server_go_where_the_api_calls_go() {
        let aud = "https://127.0.0.1:8080/api/v2/";
        // The default public URL of a loopback `tern serve`: https in the link, http on the wire.
        assert_eq!(
            reachable_location(
                "https://127.0.0.1:8080/jobs-files/job_1/default.csv.gz?token=t",
                "http://127.0.0.1:8080",
                aud
            ),
            "http://127.0.0.1:8080/jobs-files/job_1/default.csv.gz?token=t"
        );
        // A public name the operator reaches through another address.
        assert_eq!(
            reachable_location(
                "https://tern.example.com/jobs-files/j/f?token=t",
                "http://10.0.0.5:8080",
                "https://tern.example.com/api/v2/"
            ),
            "http://10.0.0.5:8080/jobs-files/j/f?token=t"
        );
        // Same host and port, other scheme, whatever the audience.
        assert_eq!(
            reachable_location(
                "https://127.0.0.1:9/jobs-files/j/f",
                "http://127.0.0.1:9",
                "urn:custom"
            ),
            "http://127.0.0.1:9/jobs-files/j/f"
        );
        // Elsewhere (a storage service, another port, a longer host): as is.
        for other in [
            "https://files.example.net/x.gz?sig=1",
            "https://127.0.0.1:80801/jobs-files/j/f",
            "https://tern.example.com.evil/jobs-files/j/f",
        ] {
            assert_eq!(
                reachable_location(
                    other,
                    "http://127.0.0.1:8080",
                    "https://tern.example.com/api/v2/"
                ),
                other
            );
        }
    }

    #[test]
    fn a_file_output_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("users.ndjson");
        let out = Output::open(target.to_str().unwrap()).unwrap();
        out.writer().unwrap().write_all(b"x\n").unwrap();
        assert!(!target.exists());
        out.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"x\n");
        // Dropped before commit: nothing left behind, not even the partial file.
        let out = Output::open(dir.path().join("gone.csv").to_str().unwrap()).unwrap();
        drop(out);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(Output::open(dir.path().to_str().unwrap()).is_err());
        assert!(Output::open("/nonexistent-dir/x.csv").is_err());
    }
}
