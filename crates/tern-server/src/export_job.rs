//! Running an export job: the connection's users, page by page in creation
//! order (keyset paging: the millionth user costs what the first does),
//! written as gzipped NDJSON or CSV into the job's file chunk by chunk as
//! the gzip output grows, so memory stays bounded by one page and one chunk
//! whatever the number of users. Every chunk is written under the job's
//! claim and renews it; a runner whose claim was taken over stops.
//!
//! A pipeline of two stages: the next page is read and its lines written
//! (another task) while the current page's lines are compressed and
//! stored, so the store's time, the encoding's and the compression's
//! overlap on two cores; memory is then two pages of lines and one chunk.
//! With profile fields (Auth0's default) and metadata paths each row's
//! line is written from the row itself, borrowed (stored metadata decoded
//! only under the keys the fields name; see
//! `UserStore::visit_profiles_after` for how each store reads); other fields
//! (`identities…`, whole metadata objects) need whole users, fetched and
//! encoded on a blocking thread. Measured by
//! `cargo bench -p tern --bench export` (1 000 000 users, README
//! "Benchmarks").

use std::io::Write;
use std::sync::Arc;

use flate2::Compression;
use flate2::write::GzEncoder;
use tern_core::CoreError;
use tern_core::clock::now_epoch;
use tern_core::export::{DEFAULT_FIELDS, check_fields, named};
use tern_core::export::{LineWriter, csv_header};
use tern_core::ids;
use tern_core::model::{ExportField, ExportSpec, Job, JobSpec, JobType};
use tern_core::store::lease_lost;

use axum::http::StatusCode;

use crate::error::ApiError;
use crate::state::AppState;

/// Users read per query when the fields need whole users (identities,
/// whole metadata objects): a page of users held in memory, two while the
/// next is read.
const PAGE: u64 = 2000;

/// Users per window when every field is a profile column (Auth0's default
/// fields) or a metadata path: lines are written from the rows as the
/// store reads them, so the window bounds the lines held (about 2.7 MB of
/// NDJSON, two while the next is read) and sets how often PostgreSQL, which
/// streams a window from one statement, waits for a new one.
const WINDOW: u64 = 10_000;

/// Bytes of lines between two looks at the gzip output (a sync flush,
/// then a chunk stored if one is full): what the compressor holds stays
/// small, and chunks stay near `export.chunk_bytes`.
const FLUSH_BYTES: usize = 64 * 1024;

/// Gzip level 1: profiled on a 1 000 000-user export, level 6 (the
/// default) spent about a fifth of the job's CPU in deflate; level 1 makes
/// a file about a third larger for several times less CPU (the same file
/// as with `gzip -1`, which any gunzip reads).
const LEVEL: Compression = Compression::fast();

/// Write the users of an export job into its chunked file.
pub async fn run(state: &AppState, tenant: &str, job: &Job) -> Result<(), CoreError> {
    let Some(spec) = &job.spec.export else {
        return Ok(());
    };
    let connection =
        (!job.spec.connection_id.is_empty()).then_some(job.spec.connection_id.as_str());
    let limit = spec.limit.unwrap_or(u64::MAX);
    // Lines are written straight from each user (no JSON document per
    // user) on the task that read the page. The first page is read while
    // the users are counted (a count of a million takes a while).
    let lines = Arc::new(LineWriter::new(&spec.format, &spec.fields));
    let per_read = if lines.from_profiles() { WINDOW } else { PAGE };
    let first = per_read.min(limit);
    let mut next = Some((
        read_page(state, tenant, connection, None, first, lines.clone()),
        first,
    ));
    let total = match connection {
        Some(c) => state.store.count_connection_users(tenant, c).await?,
        None => {
            let mut n = 0;
            for c in state.store.list_connections(tenant).await? {
                n += state.store.count_connection_users(tenant, &c.id).await?;
            }
            n
        }
    };
    state
        .store
        .set_job_total(tenant, &job.id, total.min(limit))
        .await?;
    if !state
        .store
        .reset_job_chunks(tenant, &job.id, job.lease_token)
        .await?
    {
        return Err(lease_lost(&job.id));
    }
    let mut file = ChunkedFile {
        state,
        tenant,
        job,
        gz: GzEncoder::new(Vec::new(), LEVEL),
        seq: 0,
    };
    if spec.format == "csv" {
        file.line(&csv_header(&spec.fields))?;
    }
    let mut written = 0u64;
    let mut renewed = now_epoch();
    while let Some((reading, want)) = next.take() {
        let page = reading
            .await
            .map_err(|e| CoreError::Storage(e.to_string()))??;
        written += page.users;
        if page.users == want && written < limit {
            let want = per_read.min(limit - written);
            next = Some((
                read_page(
                    state,
                    tenant,
                    connection,
                    page.last.clone(),
                    want,
                    lines.clone(),
                ),
                want,
            ));
        }
        // While the next page is read and encoded, this one is compressed.
        for part in page.lines.chunks(FLUSH_BYTES) {
            file.write(part)?;
            file.flush_full_chunks().await?;
        }
        drop(page);
        // Pages without a full chunk still keep the claim alive; a third of
        // the lease is soon enough (a renewal per page was a commit each).
        let now = now_epoch();
        if now - renewed >= state.config.import.lease_secs / 3 {
            let until = now + state.config.import.lease_secs;
            if !state
                .store
                .renew_job_lease(tenant, &job.id, job.lease_token, until)
                .await?
            {
                return Err(lease_lost(&job.id));
            }
            renewed = now;
        }
    }
    file.finish().await
}

/// A page of users as export lines.
struct Page {
    /// The page's lines, newlines included.
    lines: Vec<u8>,
    /// Users on the page.
    users: u64,
    /// The last user's keyset position (`created_at`, `user_id`).
    last: Option<(String, String)>,
}

/// Read a page of users after `after` and write their lines, on a task of
/// its own: the export is a pipeline in which one page is compressed and
/// stored while the next is read and encoded, so both cores work. Profile
/// fields and metadata paths are written from the rows as the store reads
/// them; whole users are fetched, then encoded on a blocking thread.
fn read_page(
    state: &AppState,
    tenant: &str,
    connection: Option<&str>,
    after: Option<(String, String)>,
    want: u64,
    lines: Arc<LineWriter>,
) -> tokio::task::JoinHandle<Result<Page, CoreError>> {
    let store = state.store.clone();
    let tenant = tenant.to_string();
    let connection = connection.map(str::to_string);
    tokio::spawn(async move {
        let after = after.as_ref().map(|(c, u)| (c.as_str(), u.as_str()));
        if lines.from_profiles() {
            let mut out = Vec::with_capacity(usize::try_from(want).unwrap_or(0) * 280);
            let metadata = lines.metadata_columns();
            let visited = store
                .visit_profiles_after(
                    &tenant,
                    connection.as_deref(),
                    after,
                    want,
                    metadata,
                    &mut |p| lines.write_profile(&p, &mut out),
                )
                .await?;
            return Ok(Page {
                lines: out,
                users: visited.users,
                last: visited.last,
            });
        }
        let users = store
            .users_after(&tenant, connection.as_deref(), after, want)
            .await?;
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(users.len() * 320);
            for u in &users {
                lines.write(u, &mut out);
            }
            Page {
                lines: out,
                users: users.len() as u64,
                last: users
                    .last()
                    .map(|u| (u.created_at.clone(), u.user_id.clone())),
            }
        })
        .await
        .map_err(|e| CoreError::Storage(e.to_string()))
    })
}

/// The gzip stream of an export and the chunks it has stored so far.
struct ChunkedFile<'a> {
    state: &'a AppState,
    tenant: &'a str,
    job: &'a Job,
    gz: GzEncoder<Vec<u8>>,
    seq: u64,
}

fn io(e: std::io::Error) -> CoreError {
    CoreError::Storage(e.to_string())
}

impl ChunkedFile<'_> {
    fn line(&mut self, line: &str) -> Result<(), CoreError> {
        writeln!(self.gz, "{line}").map_err(io)
    }

    /// Whole lines, newlines included.
    fn write(&mut self, lines: &[u8]) -> Result<(), CoreError> {
        self.gz.write_all(lines).map_err(io)
    }

    /// Store the compressed output once a chunk's worth has accumulated.
    /// Called every `FLUSH_BYTES` of lines: the sync flush makes the compressor hand over
    /// what it holds (a few bytes of overhead each time), so the output, not
    /// the compressor, is what grows and gets stored.
    async fn flush_full_chunks(&mut self) -> Result<(), CoreError> {
        self.gz.flush().map_err(io)?;
        if self.gz.get_ref().len() >= self.state.config.export.chunk_bytes.max(1) {
            let bytes = std::mem::take(self.gz.get_mut());
            self.store(&bytes).await?;
        }
        Ok(())
    }

    async fn store(&mut self, bytes: &[u8]) -> Result<(), CoreError> {
        let until = now_epoch() + self.state.config.import.lease_secs;
        let stored = self
            .state
            .store
            .put_job_chunk(
                self.tenant,
                &self.job.id,
                self.job.lease_token,
                self.seq,
                bytes,
                until,
            )
            .await?;
        if !stored {
            return Err(lease_lost(&self.job.id));
        }
        self.seq += 1;
        Ok(())
    }

    /// The gzip trailer and whatever is left, as the last chunk.
    async fn finish(mut self) -> Result<(), CoreError> {
        let gz = std::mem::replace(&mut self.gz, GzEncoder::new(Vec::new(), LEVEL));
        let rest = gz.finish().map_err(io)?;
        self.store(&rest).await
    }
}

/// Export jobs a tenant may have pending or processing at once: each holds
/// a job runner and keeps a full copy of its users for a day, so without a
/// bound `read:users` could fill the disk and starve imports.
pub const MAX_ACTIVE_EXPORTS: u64 = 10;

/// Queue an export job, with the checks of `POST /jobs/users-exports`
/// (format, limit, fields): the one path behind the Management API and the
/// console's exports page. `connection_id` empty: every connection.
pub async fn queue(
    s: &AppState,
    connection_id: String,
    connection: String,
    format: String,
    fields: Option<Vec<ExportField>>,
    limit: Option<u64>,
) -> Result<Job, ApiError> {
    if format != "json" && format != "csv" {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'format' must be json or csv.",
        ));
    }
    if limit == Some(0) {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'limit' must be at least 1.",
        ));
    }
    let fields: Vec<ExportField> = fields.unwrap_or_else(|| named(DEFAULT_FIELDS));
    check_fields(&format, &fields)
        .map_err(|m| ApiError::invalid_body(format!("Payload validation error: {m}.")))?;
    let now = tern_core::clock::now_iso();
    let job = Job::pending(
        ids::job_id(),
        JobSpec {
            kind: JobType::UsersExport,
            connection_id,
            connection,
            upsert: false,
            upsert_credentials: false,
            assign_roles: false,
            create_roles: false,
            external_id: None,
            send_completion_email: false,
            dry_run: false,
            export: Some(ExportSpec {
                format,
                fields,
                limit,
            }),
        },
        now,
    );
    if !s
        .store
        .insert_export_job(s.tid(), &job, MAX_ACTIVE_EXPORTS)
        .await?
    {
        return Err(ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!(
                "There are {MAX_ACTIVE_EXPORTS} active export users jobs, please wait until some of them are finished and try again"
            ),
            code: None,
        });
    }
    s.jobs_notify.notify_one();
    Ok(job)
}
