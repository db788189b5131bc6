//! `tern import`: bulk-load a users file of any size through Tern's public
//! Management API — a client like any other, never the database.
//!
//! The file (a JSON array or NDJSON) is read as a stream on a thread of its
//! own; rows are cut into chunks that each serialise to a JSON array just
//! under the server's file limit, each chunk becomes one
//! `POST /api/v2/jobs/users-imports` job, at most `--jobs` of them run at once
//! (429s — the rate limit or the concurrent-job limit — are waited out), each
//! job is polled to its end and its errors fetched. Every chunk keeps the
//! original row numbers of its rows, so a job error's `index` maps back to
//! the row's index in the original file.

mod job;
mod pg_source;
mod report;
mod roles;
mod stream;
mod tally;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::client::{ApiArgs, Client};
use crate::importers::{self, Platform, PlatformArgs};
use crate::progress::{self, Progress};
use job::{JobOptions, run_job};
use stream::Item;
use tally::Tally;
use tern_core::import_file::Chunk;

const AFTER_HELP: &str = concat!(
    crate::credentials_help!(),
    " The client needs the
create:users, read:users and read:connections scopes; a file whose rows
name roles (tern_roles, or --from keycloak with realm roles) also
create:role_members, and create:roles for roles the tenant lacks; or leave
the roles out with --no-roles.

Output: progress on stderr; at the end, on stdout, every failed row as
`row <index>: <code> <path>: <message>` (index: 0-based position in the
file; for NDJSON the n-th non-blank line) and a summary.

Exit status: 0 every row imported; 1 some rows failed; 2 usage, credentials,
connection or unreadable input."
);

/// `tern import FILE --connection NAME`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct ImportArgs {
    /// The users file: a JSON array of users in Auth0's import schema, or NDJSON
    /// (one user per line); detected from its first character. `-` reads
    /// standard input. Streamed: any size. With `--from supabase`, also a
    /// `postgres://` URL of the project's database (auth.users is read).
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Name of the database connection to import into.
    #[arg(long, value_name = "NAME")]
    pub connection: String,
    #[command(flatten)]
    pub api: ApiArgs,
    /// Update users that exist (matched on email) instead of failing their rows.
    #[arg(long)]
    pub upsert: bool,
    /// Validate and count only: the server writes nothing. Duplicates across
    /// chunks are not detected in a dry run.
    #[arg(long)]
    pub dry_run: bool,
    /// Leave out the roles rows name (tern_roles, or --from keycloak's realm
    /// roles) and import the users alone: for a client granted create:users
    /// but not create:role_members. Says on stderr how many rows had roles.
    #[arg(long)]
    pub no_roles: bool,
    /// Read another platform's own export and convert each row (see
    /// "Coming from …" in the README): firebase (with its hash parameters),
    /// auth0-export (with --password-hashes), keycloak, kratos, supabase.
    #[arg(long, value_name = "PLATFORM", conflicts_with = "from_auth0_export")]
    pub from: Option<Platform>,
    #[command(flatten)]
    pub platform: PlatformArgs,
    /// Same as `--from auth0-export`. Read an Auth0 user export (NDJSON): strip `auth0|` from user_id; keep
    /// only fields the import schema accepts (email, email_verified,
    /// phone_number, phone_verified, user_id, username, given_name,
    /// family_name, name, nickname, picture, blocked, app_metadata,
    /// user_metadata, password_hash, custom_password_hash, mfa_factors) and
    /// drop the rest (identities, created_at, updated_at, last_login,
    /// last_ip, logins_count, multifactor, …); drop null and empty-string
    /// values, and a picture that is not an http(s) URL.
    #[arg(long)]
    pub from_auth0_export: bool,
    /// Import jobs kept running at once (the server allows 2 per tenant by
    /// default; more are retried after its 429).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
    /// Largest file per job, in bytes: the server's import.max_file_bytes.
    #[arg(long, default_value_t = 512_000, value_parser = clap::value_parser!(u64).range(1024..=1 << 34))]
    pub max_file_bytes: u64,
}

fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("tern import: {msg}");
    ExitCode::from(2)
}

/// Run `tern import`.
pub async fn run(args: ImportArgs) -> ExitCode {
    let started = Instant::now();
    let creds = match args.api.resolve() {
        Ok(c) => c,
        Err(msg) => return usage_error(msg),
    };
    let platform = match (args.from, args.from_auth0_export) {
        (Some(p), _) => Some(p),
        (None, true) => Some(Platform::Auth0Export),
        (None, false) => None,
    };
    if let Some((flag, owner)) = args.platform.stray(platform) {
        return usage_error(format!("{flag} goes with --from {owner}"));
    }
    let reading = match platform {
        Some(p) => match importers::reading(p, &args.platform) {
            Ok(r) => r,
            Err(msg) => return usage_error(msg),
        },
        None => importers::Reading::plain(),
    };
    let from_db = pg_source::is_dsn(&args.file);
    if from_db && platform != Some(Platform::Supabase) {
        return usage_error("a database URL is read only with --from supabase");
    }
    let input = if from_db {
        None
    } else {
        match stream::open_input(&args.file) {
            Ok(x) => Some(x),
            Err(msg) => return usage_error(msg),
        }
    };
    let size = input.as_ref().and_then(|(_, size)| *size);
    let tally = Arc::new(Tally {
        plain: !progress::drawn(),
        ..Tally::default()
    });
    let reading = if args.no_roles {
        roles::leave_out(reading, tally.clone())
    } else {
        reading
    };
    let api = match Client::connect(creds, "tern-import", tally.stop.clone()).await {
        Ok(a) => Arc::new(a),
        Err(msg) => return usage_error(msg),
    };
    let connection_id = match api.connection_id(&args.connection).await {
        Ok(id) => id,
        Err(msg) => return usage_error(msg),
    };
    let opts = Arc::new(JobOptions {
        connection_id: connection_id.clone(),
        upsert: args.upsert,
        dry_run: args.dry_run,
    });
    let max = usize::try_from(args.max_file_bytes).unwrap_or(usize::MAX);

    // The reader runs on its own thread; the bounded channel keeps memory flat.
    let (tx, mut rx) = mpsc::channel::<Item>(2048);
    let reader = match input {
        Some((input, _)) => Some(stream::spawn_reader(input, tally.clone(), reading, tx)),
        None => {
            tokio::spawn(pg_source::read_auth_users(
                args.file.clone(),
                reading,
                tally.clone(),
                tx,
            ));
            None
        }
    };
    let progress = show_progress(tally.clone(), size);

    let slots = Arc::new(Semaphore::new(args.jobs as usize));
    let mut tasks = JoinSet::new();
    let mut input_error = None;
    let mut chunk = Chunk::new();
    let dispatch =
        |chunk: Chunk, tasks: &mut JoinSet<()>, permit: tokio::sync::OwnedSemaphorePermit| {
            let (api, opts, tally) = (api.clone(), opts.clone(), tally.clone());
            tally
                .submitted
                .fetch_add(chunk.indexes.len() as u64, Ordering::Relaxed);
            tasks.spawn(async move {
                let _permit = permit;
                if let Err(msg) = run_job(&api, &opts, chunk, &tally).await {
                    tally.set_fatal(msg);
                }
            });
        };
    while let Some(item) = rx.recv().await {
        if tally.stopping() {
            break;
        }
        if !matches!(item, Item::Fatal(_)) {
            tally.rows_read.fetch_add(1, Ordering::Relaxed);
        }
        match item {
            Item::Row { index, json } => {
                if json.len() + 2 > max {
                    tally.local_failure(
                        index,
                        "ROW_TOO_LARGE",
                        &format!(
                            "the row is {} bytes; a job file holds at most {max} (--max-file-bytes)",
                            json.len()
                        ),
                    );
                    continue;
                }
                if !chunk.fits(json.len(), max) {
                    let full = std::mem::replace(&mut chunk, Chunk::new()).finish();
                    let Ok(permit) = slots.clone().acquire_owned().await else {
                        break;
                    };
                    if tally.stopping() {
                        break;
                    }
                    dispatch(full, &mut tasks, permit);
                }
                chunk.push(index, &json);
            }
            Item::Invalid {
                index,
                code,
                message,
            } => {
                tally.local_failure(index, code, &message);
            }
            Item::Fatal(msg) => {
                input_error = Some(msg);
                break;
            }
        }
        while let Some(done) = tasks.try_join_next() {
            if let Err(e) = done {
                tally.set_fatal(format!("a job task failed: {e}"));
            }
        }
    }
    if !chunk.indexes.is_empty()
        && !tally.stopping()
        && let Ok(permit) = slots.clone().acquire_owned().await
    {
        dispatch(chunk.finish(), &mut tasks, permit);
    }
    tally.reading_done.store(true, Ordering::Relaxed);
    drop(rx); // a reader still sending stops
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done {
            tally.set_fatal(format!("a job task failed: {e}"));
        }
    }
    if reader.is_some_and(|r| r.join().is_err()) {
        tally.set_fatal("the reader thread failed".into());
    }
    progress.finish();
    report::report(
        &args,
        &connection_id,
        &tally,
        started,
        api.waits_429(),
        input_error,
    )
}

/// A bar of rows applied on a terminal, nothing otherwise (the job tasks
/// print plain lines then). Until the whole file is read, the number of rows
/// is estimated from the bytes read so far.
fn show_progress(tally: Arc<Tally>, size: Option<u64>) -> Progress {
    if tally.plain {
        return Progress::hidden();
    }
    let template = match size {
        Some(_) => "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}",
        None => "{spinner} [{elapsed_precise}] {msg}",
    };
    Progress::new(template, size.map(|_| 0)).tick_with(move |bar| {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (rows, bytes) = (get(&tally.rows_read), get(&tally.bytes_read));
        let estimate = match size {
            _ if tally.reading_done.load(Ordering::Relaxed) => rows,
            Some(size) if bytes > 0 => (rows as f64 * size as f64 / bytes as f64).ceil() as u64,
            _ => rows,
        };
        bar.set_length(estimate.max(rows).max(1));
        bar.set_position(get(&tally.applied));
        bar.set_message(tally.progress_line());
    })
}
