//! `tern export`: users out through `POST /api/v2/jobs/users-exports`, the
//! same public API (and credentials) as `tern import`. The job is created,
//! polled to its end, and its signed `location` downloaded, un-gzipped and
//! written to a file or standard output.

mod download;
mod fields;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde_json::{Value, json};

use crate::client::{ApiArgs, Client, api_message, backoff};
use crate::progress::Progress;
use download::{FetchError, Output, reachable_location};

const AFTER_HELP: &str = concat!(
    crate::credentials_help!(),
    " The client needs the
read:users scope, and read:connections for --connection.

Output: the file on stdout (or -o FILE, written whole or not at all):
NDJSON, one user per line, or CSV with a header (strings escaped against
formula injection). Progress on stderr; at the end, on stderr, the number
of users written.

Exit status: 0 the file was written; 1 the job failed or expired, or the
download or the write failed; 2 usage, credentials, connection, or the
server refused the job (its message is shown).

A signed link to a file served by the same Tern (the audience's origin, or
the API's host and port) is fetched through the address the API is reached
at, e.g. a loopback `tern serve` whose public URL says https."
);

/// NDJSON or CSV.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (Auth0's "json").
    Json,
    /// A header line, then one row per user.
    Csv,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }
}

/// `tern export [--connection NAME | --connection-id ID] --format json|csv`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct ExportArgs {
    /// Name of the connection whose users are exported (default: every connection).
    #[arg(long, value_name = "NAME", conflicts_with = "connection_id")]
    pub connection: Option<String>,
    /// Id of the connection (con_…), instead of its name.
    #[arg(long, value_name = "ID")]
    pub connection_id: Option<String>,
    #[command(flatten)]
    pub api: ApiArgs,
    /// json: NDJSON, one user per line; csv: a header, then a row per user.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Fields to export, comma-separated profile paths (e.g.
    /// email,user_id,user_metadata.plan,identities[0].connection). Default:
    /// the server's set (user_id, email, email_verified, username, name, …).
    #[arg(long, value_delimiter = ',', value_name = "PATHS")]
    pub fields: Vec<String>,
    /// A field under another name (CSV column title, NDJSON key):
    /// NAME=EXPORT_AS. Renames a --fields entry, or adds the field after
    /// them. Repeatable.
    #[arg(long = "field", value_name = "NAME=AS", value_parser = fields::parse_rename)]
    pub renames: Vec<(String, String)>,
    /// Export at most this many users.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Where to write the file; `-` is standard output.
    #[arg(short = 'o', long, value_name = "FILE", default_value = "-")]
    pub output: String,
    /// Keep the file gzip-compressed, as the server made it.
    #[arg(long)]
    pub gzip: bool,
}

fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("tern export: {msg}");
    ExitCode::from(2)
}

fn failure(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("tern export: {msg}");
    ExitCode::from(1)
}

/// Run `tern export`.
pub async fn run(args: ExportArgs) -> ExitCode {
    let started = Instant::now();
    let creds = match args.api.resolve() {
        Ok(c) => c,
        Err(msg) => return usage_error(msg),
    };
    let fields = match fields::field_list(&args.fields, &args.renames) {
        Ok(f) => f,
        Err(msg) => return usage_error(msg),
    };
    let output = match Output::open(&args.output) {
        Ok(o) => o,
        Err(msg) => return usage_error(msg),
    };
    let api = match Client::connect(creds, "tern-export", Arc::new(AtomicBool::new(false))).await {
        Ok(a) => a,
        Err(msg) => return usage_error(msg),
    };
    let connection_id = match (&args.connection, &args.connection_id) {
        (Some(name), _) => match api.connection_id(name).await {
            Ok(id) => Some(id),
            Err(msg) => return usage_error(msg),
        },
        (None, id) => id.clone(),
    };

    let mut body = json!({"format": args.format.as_str()});
    if !fields.is_empty() {
        body["fields"] = json!(fields);
    }
    if let Some(limit) = args.limit {
        body["limit"] = json!(limit);
    }
    if let Some(id) = &connection_id {
        body["connection_id"] = json!(id);
    }
    let url = format!("{}/api/v2/jobs/users-exports", api.base());
    let created = api
        .call_text("create an export job", false, &|c| {
            Ok(c.post(&url).json(&body))
        })
        .await;
    let id = match created {
        Ok((status, text)) if status.is_success() => {
            let job: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            match job.get("id").and_then(Value::as_str) {
                Some(id) => id.to_string(),
                None => return failure(format!("the job answer has no id: {text}")),
            }
        }
        Ok((status, text)) => {
            return usage_error(format!(
                "the server refused the export: {}",
                api_message(status, &text)
            ));
        }
        Err(msg) => return usage_error(msg),
    };

    let progress = Progress::new("{spinner} [{elapsed_precise}] {msg}", None);
    let outcome = fetch_export(&api, &id, &output, &args, &progress).await;
    progress.finish();
    let fetched = match outcome {
        Ok(f) => f,
        Err(msg) => return failure(msg),
    };
    let target = output.describe();
    if let Err(msg) = output.commit() {
        return failure(msg);
    }
    eprintln!(
        "tern export: {} users ({}{}) from job {id} written to {target}; {} bytes downloaded in {:.1} s",
        fetched.rows,
        args.format.as_str(),
        if args.gzip { ", gzip" } else { "" },
        fetched.bytes,
        started.elapsed().as_secs_f64(),
    );
    ExitCode::SUCCESS
}

/// Poll the job to its end, then download its file. A link refused (it
/// lives 60 s) is renewed by reading the job again, a few times.
async fn fetch_export(
    api: &Client,
    id: &str,
    output: &Output,
    args: &ExportArgs,
    progress: &Progress,
) -> Result<download::Fetched, String> {
    let mut renewals = 0;
    loop {
        let location = wait_for_location(api, id, progress).await?;
        let url = reachable_location(&location, api.base(), api.audience());
        let csv = args.format == Format::Csv;
        match download::fetch(api.http(), &url, output, args.gzip, csv, progress).await {
            Ok(f) => return Ok(f),
            Err(FetchError::LinkRefused(msg)) if renewals < 3 => {
                renewals += 1;
                progress
                    .bar()
                    .set_message(format!("{msg}; renewing the link"));
            }
            Err(FetchError::LinkRefused(msg) | FetchError::Failed(msg)) => return Err(msg),
        }
    }
}

/// Poll `GET /jobs/{id}` until the job ends; its `location` once completed.
async fn wait_for_location(api: &Client, id: &str, progress: &Progress) -> Result<String, String> {
    let mut attempt = 0u32;
    loop {
        let job = api.job(id).await?;
        let status = job.get("status").and_then(Value::as_str).unwrap_or("");
        match status {
            "completed" => {
                return job
                    .get("location")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| format!("job {id} completed without a download location"));
            }
            "failed" => {
                let details = job
                    .get("status_details")
                    .and_then(Value::as_str)
                    .unwrap_or("no details given");
                return Err(format!("the export job {id} failed: {details}"));
            }
            "expired" => {
                return Err(format!(
                    "the export job {id} expired: its file is no longer kept; run the export again"
                ));
            }
            "pending" | "processing" => {
                let pct = job
                    .get("percentage_done")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                progress
                    .bar()
                    .set_message(format!("job {id} {status}, {pct}% done"));
            }
            other => return Err(format!("job {id} has an unknown status {other:?}: {job}")),
        }
        if !api.holds_polls() {
            tokio::time::sleep(backoff(attempt, 200, 2000)).await;
        }
        attempt += 1;
    }
}
