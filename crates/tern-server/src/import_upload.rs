//! Importing a users file uploaded in one request (the console's import
//! page), of any size, in Auth0's import schema or another platform's export
//! (`import_file::platforms`, converted row by row as `tern import --from`
//! does): the body is read as it arrives by the reader
//! `tern import` uses (`tern_core::import_file::read_rows`, on a thread of
//! its own behind bounded channels, so memory stays flat), cut into the same
//! job files (`import_file::Chunk`, at most `import.max_file_bytes` each),
//! and each one queued as an ordinary import job — what
//! `POST /api/v2/jobs/users-imports` stores. The upload's document
//! (`ConsoleImport`) records the rows each job holds, so the jobs' errors
//! read in the file's numbering.
//!
//! Every job of an upload is stored as its chunk fills, `waiting`: the
//! upload never waits, and the job runners start waiting jobs (oldest first)
//! only while the tenant has fewer than `import.max_active_jobs` pending or
//! processing (`JobStore::start_waiting_jobs`, in the store, so the limit
//! holds across instances). Management API uploads compete for the same
//! slots and keep Auth0's answer when none is free (429).

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use tern_core::console_import::{ConsoleImport, UploadJob, UploadState};
use tern_core::import_file::{Chunk, Item, Reading, RowFacts, read_rows};
use tern_core::model::{Connection, Job, JobSpec, JobStatus, JobType};
use tern_core::{CoreResult, ids};

use crate::state::AppState;

/// Whether a connection takes import jobs, by the rules of
/// `POST /jobs/users-imports`; the reason when not.
pub fn refusal(connection: &Connection) -> Option<&'static str> {
    if connection.strategy != "auth0" {
        return Some("Connection must be a database connection.");
    }
    if connection.enabled_clients.is_empty() {
        return Some("Connection must be enabled.");
    }
    if connection.custom_database() && !connection.import_mode() {
        return Some("Custom Database Connections without import mode are not allowed.");
    }
    None
}

/// What an upload imports, and how.
pub struct Upload {
    /// The connection imported into (checked with [`refusal`]).
    pub connection: Connection,
    /// The file's name as the browser gave it.
    pub file_name: String,
    /// Who uploads it.
    pub operator: String,
    /// Update users that exist.
    pub upsert: bool,
    /// Validate and count only.
    pub dry_run: bool,
    /// The file's format (`ConsoleImport::source`).
    pub source: String,
    /// How its rows are read and converted.
    pub reading: Reading,
}

/// What the reader learnt of the rows, counted as they pass.
#[derive(Default)]
struct Counts {
    formats: BTreeMap<String, u64>,
    second_factors: BTreeMap<String, u64>,
    left_behind: BTreeMap<String, u64>,
}

impl Counts {
    fn count(&mut self, facts: RowFacts) {
        *self.formats.entry(facts.hash_format).or_default() += 1;
        for kind in facts.second_factors {
            *self.second_factors.entry(kind).or_default() += 1;
        }
        for why in facts.left_behind {
            *self.left_behind.entry(why).or_default() += 1;
        }
    }
}

/// A `Read` over the upload's chunks as they arrive (on the reader thread).
struct Arriving {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
    read: Arc<AtomicU64>,
}

impl Read for Arriving {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Read `body` to its end, queueing a job per chunk; the upload's document
/// as stored at the end. Rows before an unreadable part are still imported
/// (the document's `error` says where reading stopped).
pub async fn run<S, E>(s: &AppState, upload: Upload, body: S) -> CoreResult<ConsoleImport>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: std::fmt::Display,
{
    let mut doc = ConsoleImport {
        id: ids::import_id(),
        created_at: tern_core::clock::now_iso(),
        connection_id: upload.connection.id.clone(),
        connection: upload.connection.name.clone(),
        file_name: upload.file_name,
        operator: upload.operator,
        upsert: upload.upsert,
        dry_run: upload.dry_run,
        state: UploadState::Uploading,
        error: None,
        bytes_read: 0,
        rows_read: 0,
        formats: BTreeMap::new(),
        source: upload.source,
        second_factors: BTreeMap::new(),
        left_behind: BTreeMap::new(),
        refused: 0,
        refused_rows: Vec::new(),
        jobs: Vec::new(),
    };
    s.store.put_console_import(s.tid(), &doc).await?;

    let (bytes_tx, bytes_rx) = tokio::sync::mpsc::channel(8);
    let (items_tx, items_rx) = tokio::sync::mpsc::channel::<Item>(2048);
    let read = Arc::new(AtomicU64::new(0));
    let counts = Arc::new(Mutex::new(Counts::default()));
    let input = io::BufReader::with_capacity(
        256 * 1024,
        Arriving {
            rx: bytes_rx,
            current: Bytes::new(),
            read: read.clone(),
        },
    );
    let counted = counts.clone();
    let reading = upload.reading;
    let reader = std::thread::spawn(move || {
        read_rows(
            input,
            &reading,
            &|facts| lock(&counted).count(facts),
            &mut |item| items_tx.blocking_send(item).is_ok(),
        );
    });
    // The jobs are queued by a task of their own while this one feeds the
    // reader, so neither waits on the other's channel.
    let splitter = tokio::spawn(split(s.clone(), doc.clone(), upload.connection, items_rx));
    let body = std::pin::pin!(body);
    let mut body = body;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| format!("the upload broke off: {e}"));
        let broke = chunk.is_err();
        if bytes_tx.send(chunk).await.is_err() || broke {
            break; // the reader stopped (an unreadable file) or the upload broke
        }
    }
    drop(bytes_tx);
    doc = match splitter.await {
        Ok(d) => d,
        Err(e) => {
            let mut d = doc;
            d.state = UploadState::Stopped;
            d.error = Some(format!("the import task failed: {e}"));
            d
        }
    };
    if reader.join().is_err() {
        doc.state = UploadState::Stopped;
        doc.error.get_or_insert_with(|| "the reader failed".into());
    }
    doc.bytes_read = read.load(Ordering::Relaxed);
    let counts = std::mem::take(&mut *lock(&counts));
    doc.formats = counts.formats;
    doc.second_factors = counts.second_factors;
    doc.left_behind = counts.left_behind;
    s.store.put_console_import(s.tid(), &doc).await?;
    Ok(doc)
}

/// Take the rows off the reader, cut chunks, queue a job per chunk.
async fn split(
    s: AppState,
    mut doc: ConsoleImport,
    connection: Connection,
    mut items: tokio::sync::mpsc::Receiver<Item>,
) -> ConsoleImport {
    let max = s.config.import.max_file_bytes;
    let mut chunk = Chunk::new();
    while let Some(item) = items.recv().await {
        match item {
            Item::Row { index, json } => {
                doc.rows_read += 1;
                if json.len() + 2 > max {
                    doc.refuse(
                        index,
                        "ROW_TOO_LARGE",
                        format!(
                            "the row is {} bytes; a job file holds at most {max} (import.max_file_bytes)",
                            json.len()
                        ),
                    );
                    continue;
                }
                if !chunk.fits(json.len(), max) {
                    let full = std::mem::replace(&mut chunk, Chunk::new()).finish();
                    if let Err(e) = queue(&s, &mut doc, &connection, full).await {
                        doc.error = Some(format!("could not queue a job: {e}"));
                        break;
                    }
                }
                chunk.push(index, &json);
            }
            Item::Invalid {
                index,
                code,
                message,
            } => {
                doc.rows_read += 1;
                doc.refuse(index, code, message);
            }
            Item::Fatal(message) => {
                doc.error = Some(message);
                break;
            }
        }
    }
    drop(items); // a reader still sending stops
    if doc.error.is_none()
        && !chunk.indexes.is_empty()
        && let Err(e) = queue(&s, &mut doc, &connection, chunk.finish()).await
    {
        doc.error = Some(format!("could not queue a job: {e}"));
    }
    doc.state = if doc.error.is_some() {
        UploadState::Stopped
    } else {
        UploadState::Submitted
    };
    doc
}

/// Queue one chunk as an import job and record it in the upload's document.
async fn queue(
    s: &AppState,
    doc: &mut ConsoleImport,
    connection: &Connection,
    chunk: Chunk,
) -> CoreResult<()> {
    let mut job = Job::pending(
        ids::job_id(),
        JobSpec {
            kind: JobType::UsersImport,
            connection_id: connection.id.clone(),
            connection: connection.name.clone(),
            upsert: doc.upsert,
            // An operator's upload: operators may change users.
            upsert_credentials: doc.upsert,
            // An operator may give and create roles too.
            assign_roles: true,
            create_roles: true,
            external_id: Some(doc.id.clone()),
            send_completion_email: false,
            dry_run: doc.dry_run,
            export: None,
        },
        tern_core::clock::now_iso(),
    );
    job.status = JobStatus::Waiting;
    // Rows are serde_json's output: UTF-8.
    let file = String::from_utf8_lossy(&chunk.body);
    // No bound here: a waiting job starts only under the limit (see above).
    s.store
        .insert_import_job(s.tid(), &job, &file, i64::MAX as u64)
        .await?;
    s.jobs_notify.notify_one();
    doc.jobs.push(UploadJob::new(job.id, &chunk.indexes));
    s.store.put_console_import(s.tid(), doc).await
}
