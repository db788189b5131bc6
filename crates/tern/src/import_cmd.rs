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

use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressStyle};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
use serde_json::{Map, Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

/// Where `tern serve` writes the admin credentials by default.
const DEFAULT_BOOTSTRAP: &str = "tern-data/bootstrap.json";

// The top-level fields Auth0's import schema accepts: the server's own list.
use tern_core::import::IMPORT_FIELDS;

const AFTER_HELP: &str = "\
Credentials, first found wins for each: the flags; TERN_URL, TERN_CLIENT_ID,
TERN_CLIENT_SECRET, TERN_AUDIENCE; the bootstrap file (--bootstrap, default
./tern-data/bootstrap.json, whose `domain` is host:port: --url says how to
reach the server while the audience stays as in the file). A bare host:port
means https, or http on a loopback address. Without an audience, it is
<issuer>api/v2/ from /.well-known/openid-configuration. The client needs the
create:users, read:users and read:connections scopes.

Output: progress on stderr; at the end, on stdout, every failed row as
`row <index>: <code> <path>: <message>` (index: 0-based position in the
file; for NDJSON the n-th non-blank line) and a summary.

Exit status: 0 every row imported; 1 some rows failed; 2 usage, credentials,
connection or unreadable input.";

/// `tern import FILE --connection NAME`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct ImportArgs {
    /// The users file: a JSON array of users in Auth0's import schema, or NDJSON
    /// (one user per line); detected from its first character. `-` reads
    /// standard input. Streamed: any size.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Name of the database connection to import into.
    #[arg(long, value_name = "NAME")]
    pub connection: String,
    /// Base URL of Tern, http(s)://host:port.
    #[arg(long, visible_alias = "url", env = "TERN_URL", value_name = "URL")]
    pub domain: Option<String>,
    /// Client id of a machine-to-machine application.
    #[arg(long, env = "TERN_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,
    /// Its client secret.
    #[arg(
        long,
        env = "TERN_CLIENT_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub client_secret: Option<String>,
    /// Management API audience (identifier), e.g. https://tern.example.com/api/v2/.
    #[arg(long, env = "TERN_AUDIENCE", value_name = "AUDIENCE")]
    pub audience: Option<String>,
    /// A bootstrap.json written by `tern serve` (default ./tern-data/bootstrap.json).
    #[arg(long, value_name = "PATH")]
    pub bootstrap: Option<PathBuf>,
    /// Update users that exist (matched on email) instead of failing their rows.
    #[arg(long)]
    pub upsert: bool,
    /// Validate and count only: the server writes nothing. Duplicates across
    /// chunks are not detected in a dry run.
    #[arg(long)]
    pub dry_run: bool,
    /// Read an Auth0 user export (NDJSON): strip `auth0|` from user_id; keep
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

/// Run `tern import`.
pub fn run(args: ImportArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tern import: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(import(args))
}

fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("tern import: {msg}");
    ExitCode::from(2)
}

// ---------------------------------------------------------------- credentials

/// What the command needs to reach the Management API.
#[derive(Debug, Clone)]
struct Credentials {
    base: String,
    client_id: String,
    client_secret: String,
    audience: Option<String>,
}

fn is_loopback(host_port: &str) -> bool {
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// `http(s)://host:port` without a trailing slash; a bare host:port gets
/// https, or http on a loopback address.
fn base_url(domain: &str) -> String {
    let d = domain.trim().trim_end_matches('/');
    if d.contains("://") {
        d.to_string()
    } else if is_loopback(d) {
        format!("http://{d}")
    } else {
        format!("https://{d}")
    }
}

fn resolve_credentials(args: &ImportArgs) -> Result<Credentials, String> {
    let mut domain = args.domain.clone().filter(|s| !s.is_empty());
    let mut client_id = args.client_id.clone().filter(|s| !s.is_empty());
    let mut client_secret = args.client_secret.clone().filter(|s| !s.is_empty());
    let mut audience = args.audience.clone().filter(|s| !s.is_empty());
    let incomplete =
        domain.is_none() || client_id.is_none() || client_secret.is_none() || audience.is_none();
    let mut note = String::new();
    if args.bootstrap.is_some() || incomplete {
        let path = args
            .bootstrap
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_BOOTSTRAP));
        match std::fs::read(&path) {
            Ok(bytes) => {
                let v: Value = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("{}: not a bootstrap file: {e}", path.display()))?;
                let field = |k: &str| {
                    v.get(k)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                };
                domain = domain.or_else(|| field("domain"));
                client_id = client_id.or_else(|| field("client_id"));
                client_secret = client_secret.or_else(|| field("client_secret"));
                audience = audience.or_else(|| field("audience"));
            }
            Err(e) if args.bootstrap.is_some() => {
                return Err(format!("cannot read {}: {e}", path.display()));
            }
            Err(_) => note = format!(" (no {} here)", path.display()),
        }
    }
    let missing: Vec<&str> = [
        ("--domain/TERN_URL", domain.is_none()),
        ("--client-id/TERN_CLIENT_ID", client_id.is_none()),
        (
            "--client-secret/TERN_CLIENT_SECRET",
            client_secret.is_none(),
        ),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(n, _)| *n)
    .collect();
    match (domain, client_id, client_secret) {
        (Some(d), Some(id), Some(secret)) => Ok(Credentials {
            base: base_url(&d),
            client_id: id,
            client_secret: secret,
            audience,
        }),
        _ => Err(format!(
            "missing credentials for the Management API: {}. Pass them as flags or environment variables, or point --bootstrap at the bootstrap.json written by `tern serve`{note}.",
            missing.join(", ")
        )),
    }
}

// ---------------------------------------------------------------- shared state

/// Counters and findings shared by the reader, the job tasks and the progress display.
#[derive(Default)]
struct Shared {
    /// Input bytes consumed by the reader.
    bytes_read: AtomicU64,
    /// Rows taken from the reader so far, and whether it has reached the end.
    rows_read: AtomicU64,
    reading_done: AtomicBool,
    /// Rows handed to a job (uploaded or waiting for a slot).
    submitted: AtomicU64,
    /// Rows processed by the server (estimate while jobs run) plus rows failed locally.
    applied: AtomicU64,
    inserted: AtomicU64,
    updated: AtomicU64,
    failed: AtomicU64,
    total: AtomicU64,
    jobs_done: AtomicU64,
    waits_429: AtomicU64,
    /// (original row index, printed line).
    errors: Mutex<Vec<(usize, String)>>,
    /// A reason to stop (exit 2).
    fatal: Mutex<Option<String>>,
    stopping: AtomicBool,
    /// Plain progress lines (stderr is not a terminal).
    plain: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn set_fatal(&self, msg: String) {
        let mut f = lock(&self.fatal);
        if f.is_none() {
            *f = Some(msg);
        }
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn error_line(&self, index: usize, code: &str, path: &str, message: &str) {
        let line = if path.is_empty() {
            format!("row {index}: {code}: {message}")
        } else {
            format!("row {index}: {code} {path}: {message}")
        };
        lock(&self.errors).push((index, line));
    }

    /// A row that never reached the server (unparsable line, too large).
    fn local_failure(&self, index: usize, code: &str, message: &str) {
        self.error_line(index, code, "", message);
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
        self.applied.fetch_add(1, Ordering::Relaxed);
    }

    fn progress_line(&self) -> String {
        format!(
            "{} rows submitted, {} applied ({} inserted, {} updated, {} failed), {} jobs done",
            self.submitted.load(Ordering::Relaxed),
            self.applied.load(Ordering::Relaxed),
            self.inserted.load(Ordering::Relaxed),
            self.updated.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.jobs_done.load(Ordering::Relaxed),
        )
    }
}

// ---------------------------------------------------------------- HTTP

/// The Management API client: a token (refreshed once on 401) and retries.
struct Api {
    http: reqwest::Client,
    creds: Credentials,
    audience: String,
    token: Mutex<String>,
    refresh: tokio::sync::Mutex<()>,
    shared: Arc<Shared>,
}

/// An error body's message, or the raw text.
fn api_message(status: StatusCode, text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let msg = v
        .get("message")
        .or_else(|| v.get("error_description"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| text.chars().take(300).collect());
    format!("HTTP {}: {msg}", status.as_u16())
}

fn backoff(attempt: u32, base_ms: u64, cap_ms: u64) -> Duration {
    let ms = (base_ms as f64 * 1.6f64.powi(attempt.min(30) as i32)).min(cap_ms as f64);
    Duration::from_millis(ms as u64)
}

/// How long to wait after a 429: until `X-RateLimit-Reset` when the rate
/// limit's bucket is empty, else (the concurrent-job limit) a growing backoff.
fn wait_after_429(headers: &reqwest::header::HeaderMap, attempt: u32) -> Duration {
    let num = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    if num("x-ratelimit-remaining") == Some(0)
        && let Some(reset) = num("x-ratelimit-reset")
    {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let secs = (reset as f64 - now).clamp(0.05, 60.0);
        return Duration::from_secs_f64(secs);
    }
    backoff(attempt, 200, 3000)
}

impl Api {
    async fn connect(creds: Credentials, shared: Arc<Shared>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("tern-import/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let audience = match &creds.audience {
            Some(a) => a.clone(),
            None => discover_audience(&http, &creds.base).await?,
        };
        let api = Self {
            http,
            creds,
            audience,
            token: Mutex::new(String::new()),
            refresh: tokio::sync::Mutex::new(()),
            shared,
        };
        let t = api.fetch_token().await?;
        *lock(&api.token) = t;
        Ok(api)
    }

    async fn fetch_token(&self) -> Result<String, String> {
        let url = format!("{}/oauth/token", self.creds.base);
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": self.creds.client_id,
            "client_secret": self.creds.client_secret,
            "audience": self.audience,
        });
        let mut attempt = 0;
        loop {
            let r = match self.http.post(&url).json(&body).send().await {
                Ok(r) => r,
                Err(e) if attempt < 3 && e.is_connect() => {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt, 300, 3000)).await;
                    continue;
                }
                Err(e) => return Err(format!("cannot reach {}: {e}", self.creds.base)),
            };
            let status = r.status();
            if status == StatusCode::TOO_MANY_REQUESTS && attempt < 10 {
                attempt += 1;
                tokio::time::sleep(wait_after_429(r.headers(), attempt)).await;
                continue;
            }
            let text = r.text().await.unwrap_or_default();
            if !status.is_success() {
                return Err(format!(
                    "cannot get a token from {url} for client {} and audience {}: {}",
                    self.creds.client_id,
                    self.audience,
                    api_message(status, &text)
                ));
            }
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return v
                .get("access_token")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("{url} answered without an access_token"));
        }
    }

    async fn refresh_token(&self, stale: &str) -> Result<(), String> {
        let _guard = self.refresh.lock().await;
        if *lock(&self.token) != stale {
            return Ok(()); // another task refreshed it
        }
        let t = self.fetch_token().await?;
        *lock(&self.token) = t;
        Ok(())
    }

    /// Send with the bearer token. Waits out 429s, refreshes an expired token
    /// once, retries 5xx and refused connections (any transport error when
    /// `idempotent`) a few times. Any other answer is returned as is.
    async fn call(
        &self,
        what: &str,
        idempotent: bool,
        build: &(dyn Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder, String> + Sync),
    ) -> Result<reqwest::Response, String> {
        let (mut attempt, mut waits, mut refreshed) = (0u32, 0u32, false);
        loop {
            let token = lock(&self.token).clone();
            let res = build(&self.http)?.bearer_auth(&token).send().await;
            let retry_after = match res {
                Err(e) => {
                    if attempt >= 5 || !(idempotent || e.is_connect()) {
                        return Err(format!("{what}: cannot reach {}: {e}", self.creds.base));
                    }
                    attempt += 1;
                    backoff(attempt, 300, 5000)
                }
                Ok(r) => match r.status() {
                    StatusCode::UNAUTHORIZED if !refreshed => {
                        refreshed = true;
                        self.refresh_token(&token).await?;
                        continue;
                    }
                    StatusCode::TOO_MANY_REQUESTS => {
                        self.shared.waits_429.fetch_add(1, Ordering::Relaxed);
                        waits += 1;
                        wait_after_429(r.headers(), waits)
                    }
                    s if s.is_server_error() && attempt < 5 => {
                        attempt += 1;
                        backoff(attempt, 300, 5000)
                    }
                    _ => return Ok(r),
                },
            };
            if self.shared.stopping() {
                return Err(format!("{what}: stopped"));
            }
            tokio::time::sleep(retry_after).await;
        }
    }

    /// The id of the connection called `name`.
    async fn connection_id(&self, name: &str) -> Result<String, String> {
        let url = format!("{}/api/v2/connections", self.creds.base);
        let r = self
            .call("list connections", true, &|c| {
                Ok(c.get(&url)
                    .query(&[("name", name), ("fields", "id,name,strategy")]))
            })
            .await?;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!(
                "cannot look up connection {name:?}: {}",
                api_message(status, &text)
            ));
        }
        let list: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let list = list
            .as_array()
            .or_else(|| list.get("connections").and_then(Value::as_array))
            .cloned()
            .unwrap_or_default();
        list.iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|c| c.get("id").and_then(Value::as_str))
            .map(str::to_string)
            .ok_or_else(|| format!("there is no connection named {name:?}"))
    }
}

/// The Management API audience from the discovery document: `<issuer>api/v2/`.
async fn discover_audience(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let url = format!("{base}/.well-known/openid-configuration");
    let r = http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {base}: {e}"))?;
    let v: Value = r
        .json()
        .await
        .map_err(|e| format!("{url}: no discovery document ({e}); pass --audience"))?;
    let issuer = v
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{url}: no issuer; pass --audience"))?;
    Ok(format!("{}/api/v2/", issuer.trim_end_matches('/')))
}

// ---------------------------------------------------------------- reading

/// What the reader thread hands over, in file order.
enum Item {
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
    shared: Arc<Shared>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.shared
            .bytes_read
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

type Input = BufReader<Counting<Box<dyn Read + Send>>>;

/// Open the input; its size when it is a regular file.
fn open_input(file: &str) -> Result<(Box<dyn Read + Send>, Option<u64>), String> {
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

/// An Auth0 export row in the import schema (see `--from-auth0-export`).
fn from_auth0_export(row: Value) -> Value {
    let Value::Object(fields) = row else {
        return row;
    };
    let mut out = Map::new();
    for (k, v) in fields {
        if !IMPORT_FIELDS.contains(&k.as_str()) || v.is_null() {
            continue;
        }
        let v = match (k.as_str(), v) {
            (_, Value::String(s)) if s.is_empty() => continue,
            ("user_id", Value::String(s)) => {
                Value::String(s.strip_prefix("auth0|").unwrap_or(&s).to_string())
            }
            ("picture", Value::String(s))
                if !(s.starts_with("https://") || s.starts_with("http://")) =>
            {
                continue;
            }
            (_, v) => v,
        };
        out.insert(k, v);
    }
    Value::Object(out)
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

/// The reader thread: detect the format, stream the rows out.
fn read_rows(input: Input, export: bool, tx: mpsc::Sender<Item>) {
    let mut input = input;
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

// ---------------------------------------------------------------- jobs

/// Rows cut for one job: the file body and each row's index in the original file.
struct Chunk {
    body: Vec<u8>,
    indexes: Vec<usize>,
}

impl Chunk {
    fn new() -> Self {
        Self {
            body: vec![b'['],
            indexes: Vec::new(),
        }
    }
    fn fits(&self, row_len: usize, max: usize) -> bool {
        self.indexes.is_empty() || self.body.len() + row_len + 2 <= max
    }
    fn push(&mut self, index: usize, row: &[u8]) {
        if !self.indexes.is_empty() {
            self.body.push(b',');
        }
        self.body.extend_from_slice(row);
        self.indexes.push(index);
    }
    fn finish(mut self) -> Self {
        self.body.push(b']');
        self
    }
}

/// What every job is created with.
struct JobOptions {
    connection_id: String,
    upsert: bool,
    dry_run: bool,
}

/// Upload, poll to the end, collect the errors. `Err` is fatal for the run.
async fn run_job(
    api: &Api,
    opts: &JobOptions,
    chunk: Chunk,
    shared: &Shared,
) -> Result<(), String> {
    let Chunk { body, indexes } = chunk;
    let rows = indexes.len() as u64;
    let base = &api.creds.base;
    let url = format!("{base}/api/v2/jobs/users-imports");
    let build = |c: &reqwest::Client| {
        let part = Part::bytes(body.clone())
            .file_name("users.json")
            .mime_str("application/json")
            .map_err(|e| e.to_string())?;
        let mut form = Form::new()
            .part("users", part)
            .text("connection_id", opts.connection_id.clone())
            .text("upsert", opts.upsert.to_string())
            .text("send_completion_email", "false");
        if opts.dry_run {
            form = form.text("dry_run", "true");
        }
        Ok(c.post(&url).multipart(form))
    };
    let r = api.call("upload a job", false, &build).await?;
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    if status != StatusCode::ACCEPTED && status != StatusCode::OK {
        let hint = if status == StatusCode::PAYLOAD_TOO_LARGE {
            " (lower --max-file-bytes to the server's import.max_file_bytes)"
        } else {
            ""
        };
        return Err(format!(
            "the server refused an import job: {}{hint}",
            api_message(status, &text)
        ));
    }
    drop(body);
    let job: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let id = job
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the job answer has no id: {text}"))?
        .to_string();

    // Poll until the job ends, moving the progress estimate along.
    let job_url = format!("{base}/api/v2/jobs/{id}");
    let mut shown = 0u64;
    let mut attempt = 0u32;
    let done = loop {
        tokio::time::sleep(backoff(attempt, 100, 1000)).await;
        attempt += 1;
        let r = api
            .call("poll a job", true, &|c| Ok(c.get(&job_url)))
            .await?;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("job {id}: {}", api_message(status, &text)));
        }
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match v.get("status").and_then(Value::as_str) {
            Some("completed" | "failed" | "expired") => break v,
            _ => {
                let pct = v
                    .get("percentage_done")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let now = (rows * pct.min(100) / 100).max(shown);
                shared.applied.fetch_add(now - shown, Ordering::Relaxed);
                shown = now;
            }
        }
    };
    shared.applied.fetch_add(rows - shown, Ordering::Relaxed);
    let summary = done.get("summary").cloned().unwrap_or(Value::Null);
    let count = |k: &str| summary.get(k).and_then(Value::as_u64).unwrap_or(0);
    let (inserted, updated) = (count("inserted"), count("updated"));
    let failed = rows.saturating_sub(inserted + updated);
    shared.inserted.fetch_add(inserted, Ordering::Relaxed);
    shared.updated.fetch_add(updated, Ordering::Relaxed);
    shared.failed.fetch_add(failed, Ordering::Relaxed);
    shared.total.fetch_add(rows, Ordering::Relaxed);

    if done.get("status").and_then(Value::as_str) == Some("failed") {
        let details = done
            .get("status_details")
            .and_then(Value::as_str)
            .unwrap_or("the job failed");
        let (first, last) = (
            indexes.first().copied().unwrap_or(0),
            indexes.last().copied().unwrap_or(0),
        );
        shared.error_line(
            first,
            "JOB_FAILED",
            "",
            &format!("job {id} (rows {first} to {last}) failed: {details}"),
        );
    }
    if failed > 0 {
        fetch_errors(api, &id, &indexes, shared).await?;
    }
    shared.jobs_done.fetch_add(1, Ordering::Relaxed);
    if shared.plain {
        eprintln!("tern import: {}", shared.progress_line());
    }
    Ok(())
}

/// `GET /jobs/{id}/errors`, each record's `index` mapped back to the file.
async fn fetch_errors(
    api: &Api,
    id: &str,
    indexes: &[usize],
    shared: &Shared,
) -> Result<(), String> {
    let url = format!("{}/api/v2/jobs/{id}/errors", api.creds.base);
    let r = api
        .call("fetch job errors", true, &|c| Ok(c.get(&url)))
        .await?;
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    if status == StatusCode::NO_CONTENT {
        return Ok(());
    }
    if !status.is_success() {
        return Err(format!(
            "errors of job {id}: {}",
            api_message(status, &text)
        ));
    }
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let Some(records) = v.as_array() else {
        return Ok(()); // the generic object of a failed job, already reported
    };
    for rec in records {
        let original = rec
            .get("index")
            .and_then(Value::as_u64)
            .and_then(|i| indexes.get(i as usize).copied());
        let Some(index) = original else {
            let email = rec
                .pointer("/user/email")
                .and_then(Value::as_str)
                .unwrap_or("?");
            shared.error_line(
                indexes.first().copied().unwrap_or(0),
                "UNKNOWN_ROW",
                "",
                &format!("job {id} reported an error without a row index (user {email}): {rec}"),
            );
            continue;
        };
        let errors = rec
            .get("errors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for e in errors {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            shared.error_line(index, &s("code"), &s("path"), &s("message"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- progress

/// A bar of rows applied on a terminal, nothing otherwise
/// (the job tasks print plain lines then).
struct Progress {
    bar: Option<ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    fn start(shared: Arc<Shared>, size: Option<u64>) -> Self {
        if shared.plain {
            return Self {
                bar: None,
                ticker: None,
            };
        }
        // The bar counts rows applied; until the whole file is read, the
        // number of rows is estimated from the bytes read so far.
        let (bar, template) = match size {
            Some(_) => (
                ProgressBar::new(0),
                "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}",
            ),
            None => (
                ProgressBar::new_spinner(),
                "{spinner} [{elapsed_precise}] {msg}",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        let b = bar.clone();
        let ticker = tokio::spawn(async move {
            loop {
                let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
                let (rows, bytes) = (get(&shared.rows_read), get(&shared.bytes_read));
                let estimate = match size {
                    _ if shared.reading_done.load(Ordering::Relaxed) => rows,
                    Some(size) if bytes > 0 => {
                        (rows as f64 * size as f64 / bytes as f64).ceil() as u64
                    }
                    _ => rows,
                };
                b.set_length(estimate.max(rows).max(1));
                b.set_position(get(&shared.applied));
                b.set_message(shared.progress_line());
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        });
        Self {
            bar: Some(bar),
            ticker: Some(ticker),
        }
    }

    fn finish(self) {
        if let Some(t) = self.ticker {
            t.abort();
        }
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

// ---------------------------------------------------------------- the command

async fn import(args: ImportArgs) -> ExitCode {
    let started = Instant::now();
    let creds = match resolve_credentials(&args) {
        Ok(c) => c,
        Err(msg) => return usage_error(msg),
    };
    let (reader, size) = match open_input(&args.file) {
        Ok(x) => x,
        Err(msg) => return usage_error(msg),
    };
    let shared = Arc::new(Shared {
        plain: !io::stderr().is_terminal(),
        ..Shared::default()
    });
    let api = match Api::connect(creds, shared.clone()).await {
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
    let input: Input = BufReader::with_capacity(
        256 * 1024,
        Counting {
            inner: reader,
            shared: shared.clone(),
        },
    );
    let export = args.from_auth0_export;
    let reader = std::thread::spawn(move || read_rows(input, export, tx));
    let progress = Progress::start(shared.clone(), size);

    let slots = Arc::new(Semaphore::new(args.jobs as usize));
    let mut tasks = JoinSet::new();
    let mut input_error = None;
    let mut chunk = Chunk::new();
    let dispatch =
        |chunk: Chunk, tasks: &mut JoinSet<()>, permit: tokio::sync::OwnedSemaphorePermit| {
            let (api, opts, shared) = (api.clone(), opts.clone(), shared.clone());
            shared
                .submitted
                .fetch_add(chunk.indexes.len() as u64, Ordering::Relaxed);
            tasks.spawn(async move {
                let _permit = permit;
                if let Err(msg) = run_job(&api, &opts, chunk, &shared).await {
                    shared.set_fatal(msg);
                }
            });
        };
    while let Some(item) = rx.recv().await {
        if shared.stopping() {
            break;
        }
        if !matches!(item, Item::Fatal(_)) {
            shared.rows_read.fetch_add(1, Ordering::Relaxed);
        }
        match item {
            Item::Row { index, json } => {
                if json.len() + 2 > max {
                    shared.local_failure(
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
                    if shared.stopping() {
                        break;
                    }
                    dispatch(full, &mut tasks, permit);
                }
                chunk.push(index, &json);
            }
            Item::Invalid { index, message } => {
                shared.local_failure(index, "INVALID_JSON", &message);
            }
            Item::Fatal(msg) => {
                input_error = Some(msg);
                break;
            }
        }
        while let Some(done) = tasks.try_join_next() {
            if let Err(e) = done {
                shared.set_fatal(format!("a job task failed: {e}"));
            }
        }
    }
    if !chunk.indexes.is_empty()
        && !shared.stopping()
        && let Ok(permit) = slots.clone().acquire_owned().await
    {
        dispatch(chunk.finish(), &mut tasks, permit);
    }
    shared.reading_done.store(true, Ordering::Relaxed);
    drop(rx); // a reader still sending stops
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done {
            shared.set_fatal(format!("a job task failed: {e}"));
        }
    }
    if reader.join().is_err() {
        shared.set_fatal("the reader thread failed".into());
    }
    progress.finish();
    report(&args, &connection_id, &shared, started, input_error)
}

fn report(
    args: &ImportArgs,
    connection_id: &str,
    shared: &Shared,
    started: Instant,
    input_error: Option<String>,
) -> ExitCode {
    let mut errors = std::mem::take(&mut *lock(&shared.errors));
    errors.sort_by_key(|(i, _)| *i); // stable: a row's errors keep their order
    let mut out = String::new();
    for (_, line) in &errors {
        out.push_str(line);
        out.push('\n');
    }
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let total = get(&shared.total);
    let failed = get(&shared.failed);
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 { total as f64 / secs } else { 0.0 };
    let file = if args.file == "-" {
        "stdin"
    } else {
        &args.file
    };
    out.push_str(&format!(
        "Imported {file} into {} ({connection_id}){}{}\n",
        args.connection,
        if args.upsert { ", upsert" } else { "" },
        if args.dry_run {
            ", DRY RUN: nothing was written"
        } else {
            ""
        },
    ));
    out.push_str(&format!(
        "  total {total}, inserted {}, updated {}, failed {failed}\n",
        get(&shared.inserted),
        get(&shared.updated),
    ));
    out.push_str(&format!(
        "  jobs {}, elapsed {secs:.1} s, {rate:.0} rows/s, waits after HTTP 429: {}\n",
        get(&shared.jobs_done),
        get(&shared.waits_429),
    ));
    print!("{out}");
    let fatal = lock(&shared.fatal).take();
    if let Some(msg) = input_error.or(fatal) {
        eprintln!("tern import: stopped: {msg}");
        return ExitCode::from(2);
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_domains_get_a_scheme() {
        assert_eq!(base_url("127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(base_url("localhost:1/"), "http://localhost:1");
        assert_eq!(base_url("[::1]:8080"), "http://[::1]:8080");
        assert_eq!(base_url("tern.example.com"), "https://tern.example.com");
        assert_eq!(base_url("http://tern.lan:80/"), "http://tern.lan:80");
    }

    #[test]
    fn export_rows_are_reduced_to_the_import_schema() {
        let row = json!({"user_id": "auth0|abc", "email": "a@example.com", "identities": [{"provider": "auth0"}],
                         "created_at": "2020-01-01T00:00:00.000Z", "logins_count": 3, "picture": "data:x",
                         "nickname": "", "name": null, "app_metadata": {"plan": "x"}});
        assert_eq!(
            from_auth0_export(row),
            json!({"user_id": "abc", "email": "a@example.com", "app_metadata": {"plan": "x"}})
        );
        let pic = json!({"email": "b@example.com", "picture": "https://x/y.png"});
        assert_eq!(from_auth0_export(pic.clone()), pic);
    }

    #[test]
    fn chunks_stay_under_the_limit() {
        let mut c = Chunk::new();
        assert!(c.fits(100, 10));
        c.push(0, b"{\"a\":1}");
        assert!(c.fits(1, 12));
        assert!(!c.fits(4, 12));
        c.push(5, b"{}");
        let c = c.finish();
        assert_eq!(c.body, b"[{\"a\":1},{}]");
        assert_eq!(c.indexes, vec![0, 5]);
    }

    fn read_all(text: &str) -> Vec<String> {
        let shared = Arc::new(Shared::default());
        let input: Input = BufReader::with_capacity(
            7,
            Counting {
                inner: Box::new(io::Cursor::new(text.as_bytes().to_vec())),
                shared,
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
