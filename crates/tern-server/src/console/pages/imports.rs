//! Imports: upload a users file of any size (streamed into import jobs by
//! `import_upload`, the way `tern import` splits a file), in Auth0's import
//! schema or another platform's export (the "Source format" select: every
//! `tern import --from` platform, with what each carries and leaves
//! behind), or a dry run of it; each upload's page shows a progress bar per job and overall
//! (reloading itself while anything moves — no script needed), the hash
//! formats the file holds, and the failed rows with their index in the file,
//! code and message, downloadable as CSV or JSON.

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tern_core::console_import::{
    AUTH0_SOURCE, ConsoleImport, RowError, UploadState, job_row_errors,
};
use tern_core::import_file::Reading;
use tern_core::import_file::platforms::{self, Options, PasswordHashes, Platform};
use tern_core::model::{Connection, DryRunRoles, Job, JobStatus, LogEvent};

use crate::console::layout::{Section, live_page, page, page_status, problem};
use crate::console::session::Operator;
use crate::console::{OPERATORS_CONNECTION, audit, csrf, see_other};
use crate::import_upload::{self, Upload};
use crate::state::AppState;

/// How many uploads the list shows.
const LISTED: u64 = 50;
/// How many failed rows the page shows (the downloads hold all).
const SHOWN_ERRORS: usize = 200;
/// The longest line read from a password-hash export.
const MAX_HASH_LINE: usize = 64 * 1024;
/// Seconds between reloads while an import moves.
const REFRESH_SECS: u32 = 2;

fn oops(what: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console {what} failed");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The import could not be read or started; try again.",
    )
}

/// The connections an import can go into (`import_upload::refusal`), and
/// the database connections that cannot, with the reason.
async fn targets(
    s: &AppState,
) -> tern_core::CoreResult<(Vec<Connection>, Vec<(Connection, &'static str)>)> {
    let mut ok = Vec::new();
    let mut not = Vec::new();
    for c in s.store.list_connections(s.tid()).await? {
        if c.name == OPERATORS_CONNECTION || c.strategy != "auth0" {
            continue;
        }
        match import_upload::refusal(&c) {
            None => ok.push(c),
            Some(why) => not.push((c, why)),
        }
    }
    Ok((ok, not))
}

fn state_badge(i: &ConsoleImport) -> Markup {
    match i.state {
        UploadState::Uploading => html! { span.badge.warn { "uploading" } },
        UploadState::Submitted => html! { span.badge.ok { "file read" } },
        UploadState::Stopped => html! { span.badge.bad { "stopped" } },
    }
}

fn upload_form(op: &Operator, ok: &[Connection], error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { p.alert role="alert" { (e) } }
        @if ok.is_empty() {
            p.empty { "No connection can take an import yet: it must be a database connection enabled for an application (a custom database one with import mode on)." }
        } @else {
            // The token and the choices come before the file, so they
            // arrive before the file's bytes do.
            form method="post" action="/console/imports" enctype="multipart/form-data" {
                input type="hidden" name=(csrf::FIELD) value=(op.csrf);
                div.grid {
                    div {
                        label for="connection" { "Connection" }
                        select #connection name="connection_id" required {
                            @for c in ok { option value=(c.id) { (c.name) } }
                        }
                    }
                    div {
                        label for="source" { "Source format" }
                        select #source name="source" aria-describedby="source-help" {
                            option value=(AUTH0_SOURCE) selected { "Auth0 import file (JSON array or NDJSON)" }
                            @for p in Platform::ALL { option value=(p.name()) { (p.label()) } }
                        }
                    }
                }
                details #source-help {
                    summary { "What each format carries and leaves behind" }
                    dl.formats {
                        dt { "Auth0 import file" }
                        dd { "Rows in Auth0's import schema, as POST /api/v2/jobs/users-imports takes them; read as they are." }
                        @for p in Platform::ALL { dt data-source=(p.name()) { (p.label()) } dd { (p.summary()) } }
                    }
                }
                fieldset {
                    legend { "Only for some formats" }
                    label for="hash_config" { "Firebase: the project's password hash parameters" }
                    textarea #hash_config name="hash_config" rows="4" aria-describedby="hash-config-hint" {}
                    p.hint #hash-config-hint { "Firebase console → Authentication → Users → ⋮ → Password hash parameters: paste the hash_config { … } block." }
                    label for="password_hashes" { "Auth0: the password-hash export (NDJSON)" }
                    input #password_hashes type="file" name="password_hashes" accept=".json,.ndjson,.jsonl" aria-describedby="hashes-hint";
                    p.hint #hashes-hint { "The file Auth0 support sends on request; joined to the user export by id, then email." }
                }
                div {
                    label for="file" { "Users file" }
                    input #file type="file" name="users" required accept=".json,.ndjson,.jsonl,.csv,application/json,text/csv" aria-describedby="file-hint";
                }
                p.hint #file-hint { "Any size: it is read as it arrives, converted row by row and cut into import jobs." }
                label.check { input type="checkbox" name="upsert" value="true"; "Update users that already exist (upsert)" }
                div.actions {
                    button type="submit" { "Import" }
                    button.secondary type="submit" formaction="/console/imports?dry_run=true" { "Dry run" }
                }
                p.hint { "A dry run checks every row and shows what would be imported and which password hash formats the file holds; nothing is written." }
            }
        }
    }
}

/// `GET /console/imports`.
pub async fn list(State(s): State<AppState>, op: Operator) -> Response {
    let loaded = async {
        let t = targets(&s).await?;
        let l = s.store.list_console_imports(s.tid(), LISTED).await?;
        tern_core::CoreResult::Ok((t, l))
    };
    let ((ok, not), imports) = match loaded.await {
        Ok(x) => x,
        Err(e) => return oops("imports", &e),
    };
    page(
        &op,
        Section::Imports,
        "Imports",
        list_body(&op, &ok, &not, &imports, None),
    )
}

fn list_body(
    op: &Operator,
    ok: &[Connection],
    not: &[(Connection, &'static str)],
    imports: &[ConsoleImport],
    error: Option<&str>,
) -> Markup {
    html! {
        h1 { "Imports" }
        h2 { "Upload a users file" }
        (upload_form(op, ok, error))
        @if !not.is_empty() {
            details {
                summary { "Connections that cannot take an import" }
                ul { @for (c, why) in not { li { (c.name) ": " (why) } } }
            }
        }
        h2 #recent { "Recent imports" }
        @if imports.is_empty() {
            p.empty { "No import yet. Upload a file above; a dry run first is a good idea." }
        } @else {
            div.table-wrap { table aria-labelledby="recent" {
                thead { tr {
                    th scope="col" { "File" } th scope="col" { "Connection" } th scope="col" { "Started" }
                    th.num scope="col" { "Rows" } th.num scope="col" { "Jobs" } th scope="col" { "State" }
                } }
                tbody { @for i in imports { tr {
                    td { a href=(format!("/console/imports/{}", i.id)) { (i.file_name) } @if i.dry_run { " " span.badge { "dry run" } } }
                    td { (i.connection) }
                    td { (i.created_at) }
                    td.num { (i.rows_read) }
                    td.num { (i.jobs.len()) }
                    td { (state_badge(i)) }
                } } }
            } }
        }
    }
}

/// `?dry_run=true` (the dry-run button's `formaction`).
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    dry_run: Option<String>,
}

/// How the upload's rows are read: Auth0's schema as it is, or a platform's
/// export converted; the form's error when the choice cannot be read.
fn reading(
    source: &str,
    hash_config: String,
    hashes: PasswordHashes,
) -> Result<(String, Reading), String> {
    if source.is_empty() || source == AUTH0_SOURCE {
        return Ok((AUTH0_SOURCE.into(), Reading::plain()));
    }
    let platform = Platform::from_name(source).ok_or("Choose a source format from the list.")?;
    let options = Options {
        hash_config: Some(hash_config).filter(|h| !h.trim().is_empty()),
        password_hashes: Some(hashes),
        ..Options::default()
    };
    let reading = platforms::reading(platform, options)?;
    Ok((platform.name().into(), reading))
}

/// The password-hash export, read line by line as it arrives (it can be
/// large; only the hashes are kept).
async fn load_hashes(
    field: &mut axum::extract::multipart::Field<'_>,
) -> Result<PasswordHashes, String> {
    let shown = "the password-hash export";
    let mut hashes = PasswordHashes::default();
    let (mut pending, mut number) = (Vec::<u8>::new(), 0usize);
    let add = |line: &[u8], number: usize, hashes: &mut PasswordHashes| {
        let line =
            std::str::from_utf8(line).map_err(|_| format!("{shown} line {number} is not UTF-8"))?;
        hashes.add_line(line, number, shown)
    };
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|_| format!("{shown} could not be read"))?
    {
        pending.extend_from_slice(&chunk);
        while let Some(at) = pending.iter().position(|&b| b == b'\n') {
            number += 1;
            add(&pending[..at], number, &mut hashes)?;
            pending.drain(..=at);
        }
        // A password-hash line is a few hundred bytes; anything longer is
        // not that export, and is not held in memory.
        if pending.len() > MAX_HASH_LINE {
            return Err(format!(
                "{shown} line {} is longer than {MAX_HASH_LINE} bytes: is it the right file?",
                number + 1
            ));
        }
    }
    add(&pending, number + 1, &mut hashes)?;
    Ok(hashes)
}

/// `POST /console/imports` (multipart: the CSRF token, the connection, the
/// upsert switch, the source format and what it needs, then the file,
/// streamed).
pub async fn upload(
    State(s): State<AppState>,
    op: Operator,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> Response {
    let bad = |m: &str| problem(StatusCode::BAD_REQUEST, "Upload not accepted", m);
    let mut form = match Multipart::from_request(req, &s).await {
        Ok(m) => m,
        Err(_) => return bad("Send the import form (multipart/form-data)."),
    };
    let mut token_ok = false;
    let (mut connection_id, mut upsert) = (String::new(), false);
    let (mut source, mut hash_config) = (String::new(), String::new());
    let mut hashes = PasswordHashes::default();
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return bad("The form carried no users file."),
            Err(_) => return bad("The upload could not be read as a form."),
        };
        let name = field.name().unwrap_or_default().to_string();
        // No file is read before the form has shown its token.
        if (name == "users" || name == "password_hashes") && !token_ok {
            return problem(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form did not carry this session's security token. Reload the page and send it again.",
            );
        }
        if name == "users" {
            let file_name = field.file_name().unwrap_or("users file").to_string();
            let connection = match s.store.get_connection(s.tid(), &connection_id).await {
                Ok(Some(c)) if c.name != OPERATORS_CONNECTION => c,
                Ok(_) => return again(&s, &op, "Choose a connection.").await,
                Err(e) => return oops("import", &e),
            };
            if let Some(why) = import_upload::refusal(&connection) {
                return again(&s, &op, why).await;
            }
            let (source, reading) = match reading(&source, hash_config, hashes) {
                Ok(r) => r,
                Err(why) => return again(&s, &op, &why).await,
            };
            let dry_run = q.dry_run.as_deref() == Some("true");
            let up = Upload {
                connection,
                file_name,
                operator: op.name().to_string(),
                upsert,
                dry_run,
                source,
                reading,
            };
            let doc = match import_upload::run(&s, up, field).await {
                Ok(d) => d,
                Err(e) => return oops("import upload", &e),
            };
            let mut ev = LogEvent::new(
                "sapi",
                if dry_run {
                    "Console: import dry run started"
                } else {
                    "Console: import started"
                },
            );
            ev.connection = Some(doc.connection.clone());
            ev.connection_id = Some(doc.connection_id.clone());
            ev.details = Some(serde_json::json!({
                "import_id": doc.id, "rows": doc.rows_read, "jobs": doc.jobs.len(),
                "upsert": doc.upsert, "dry_run": doc.dry_run, "source": doc.source,
            }));
            audit(&s, &op, ev).await;
            return see_other(&format!("/console/imports/{}", doc.id), Vec::new());
        }
        if name == "password_hashes" {
            match load_hashes(&mut field).await {
                Ok(h) => hashes = h,
                Err(why) => return bad(&why),
            }
            continue;
        }
        // The upload's body has no size limit (the file is streamed), so
        // the form's text fields are read up to a bound, never whole.
        let text = match read_text_field(&mut field).await {
            Ok(t) => t,
            Err(why) => return bad(&why),
        };
        match name.as_str() {
            n if n == csrf::FIELD => token_ok = csrf::matches(&op.csrf, Some(&text)),
            "connection_id" => connection_id = text,
            "upsert" => upsert = text == "true",
            "source" => source = text,
            "hash_config" => hash_config = text,
            _ => {}
        }
    }
}

/// The most a text field of the upload form may hold (the largest,
/// `hash_config`, is a few hundred bytes).
const MAX_TEXT_FIELD_BYTES: usize = 16 * 1024;

/// A text field of the upload form, refused past [`MAX_TEXT_FIELD_BYTES`].
async fn read_text_field(
    field: &mut axum::extract::multipart::Field<'_>,
) -> Result<String, String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|_| "The upload could not be read as a form.".to_string())?
    {
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD_BYTES {
            return Err(format!(
                "A form field of the upload is longer than {MAX_TEXT_FIELD_BYTES} bytes."
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| "A form field of the upload is not UTF-8 text.".to_string())
}

/// The list page again with an error above the form.
async fn again(s: &AppState, op: &Operator, error: &str) -> Response {
    let loaded = async {
        let t = targets(s).await?;
        let l = s.store.list_console_imports(s.tid(), LISTED).await?;
        tern_core::CoreResult::Ok((t, l))
    };
    match loaded.await {
        Ok(((ok, not), l)) => page_status(
            StatusCode::BAD_REQUEST,
            op,
            Section::Imports,
            "Imports",
            list_body(op, &ok, &not, &l, Some(error)),
        ),
        Err(e) => oops("imports", &e),
    }
}

/// An upload with its jobs as they are now and every failed row.
struct Loaded {
    import: ConsoleImport,
    jobs: Vec<Option<Job>>,
    errors: Vec<RowError>,
}

async fn load(s: &AppState, id: &str) -> tern_core::CoreResult<Option<Loaded>> {
    let Some(import) = s.store.get_console_import(s.tid(), id).await? else {
        return Ok(None);
    };
    let mut jobs = Vec::with_capacity(import.jobs.len());
    let mut errors = import.refused_rows.clone();
    for uj in &import.jobs {
        let job = s.store.get_job(s.tid(), &uj.job_id).await?;
        if let Some(j) = &job {
            if j.failed > 0 {
                let records = s.store.job_errors(s.tid(), &j.id).await?;
                errors.extend(job_row_errors(uj, &records));
            }
            if j.status == JobStatus::Failed {
                errors.push(RowError {
                    index: uj.runs.first().map_or(0, |r| r[0]),
                    code: "JOB_FAILED".into(),
                    path: String::new(),
                    message: format!(
                        "job {} ({} rows) failed: {}",
                        j.id,
                        uj.rows,
                        j.status_details.as_deref().unwrap_or("no details")
                    ),
                });
            }
        }
        jobs.push(job);
    }
    errors.sort_by_key(|e| e.index);
    Ok(Some(Loaded {
        import,
        jobs,
        errors,
    }))
}

fn bar(done: u64, total: u64, label: &str) -> Markup {
    let pct = (done.min(total) * 100).checked_div(total).unwrap_or(100);
    html! {
        span.bar role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=(pct) aria-label=(label) {
            i style=(format!("width:{pct}%")) {}
        }
    }
}

fn running(j: &Option<Job>) -> bool {
    j.as_ref().is_some_and(|j| j.status.is_running())
}

/// `GET /console/imports/{id}`.
pub async fn show(State(s): State<AppState>, op: Operator, Path(id): Path<String>) -> Response {
    let l = match load(&s, &id).await {
        Ok(Some(l)) => l,
        Ok(None) => {
            return problem(
                StatusCode::NOT_FOUND,
                "No such import",
                "The import does not exist.",
            );
        }
        Err(e) => return oops("import page", &e),
    };
    let i = &l.import;
    let moving = i.state == UploadState::Uploading || l.jobs.iter().any(running);
    let sum = |f: fn(&Job) -> u64| l.jobs.iter().flatten().map(f).sum::<u64>();
    let (inserted, updated, failed_in_jobs) =
        (sum(|j| j.inserted), sum(|j| j.updated), sum(|j| j.failed));
    let done = sum(|j| j.processed_rows) + i.refused;
    let roles = dry_run_roles(&l.jobs);
    let failed = failed_in_jobs + i.refused;
    let title = format!("Import of {}", i.file_name);
    let verb = if i.dry_run {
        "would be inserted"
    } else {
        "inserted"
    };
    let verb_u = if i.dry_run {
        "would be updated"
    } else {
        "updated"
    };
    live_page(
        &op,
        Section::Imports,
        &title,
        moving.then_some(REFRESH_SECS),
        html! {
            p { a href="/console/imports" { "← Imports" } }
            h1 { (title) }
            p.text {
                "Into " strong { (i.connection) } ", started " (i.created_at) " by " (i.operator) ". "
                (state_badge(i))
                @if i.dry_run { " " span.badge { "dry run: nothing is written" } }
                @if i.upsert { " " span.badge { "upsert" } }
                " " span.badge #source data-source=(i.source) { (source_label(&i.source)) }
            }
            @if let Some(e) = &i.error { p.alert role="alert" { "Reading stopped: " (e) } }
            div.tiles {
                div.tile { b #rows-read { (i.rows_read) } span { "rows read" } }
                div.tile { b #rows-inserted { (inserted) } span { (verb) } }
                div.tile { b #rows-updated { (updated) } span { (verb_u) } }
                div.tile { b #rows-failed { (failed) } span { "failed" } }
            }
            h2 #overall { "Progress" }
            p #overall-progress data-done=(done) data-total=(i.rows_read) {
                (bar(done, i.rows_read, "Overall progress")) " "
                (done) " of " (i.rows_read) " rows accounted for"
                @if moving { " · this page reloads every " (REFRESH_SECS) " s" }
            }
            @if l.jobs.is_empty() {
                p.empty { "No job: the file held no row that could be imported." }
            } @else {
                div.table-wrap { table aria-labelledby="overall" {
                    thead { tr {
                        th scope="col" { "Job" } th scope="col" { "Rows of the file" } th scope="col" { "Status" }
                        th scope="col" { "Progress" } th.num scope="col" { "Inserted" } th.num scope="col" { "Updated" } th.num scope="col" { "Failed" }
                    } }
                    tbody { @for (uj, job) in i.jobs.iter().zip(&l.jobs) { tr data-job=(uj.job_id) {
                        td { code { (uj.job_id) } }
                        td { @if let (Some(f), Some(last)) = (uj.runs.first(), uj.runs.last()) { (f[0]) "–" (last[0] + last[1] - 1) } }
                        @if let Some(j) = job {
                            td { @if j.status == JobStatus::Waiting {
                                span.badge.warn title="Waiting for a free slot: at most import.max_active_jobs run at once" { "waiting" }
                            } @else { (j.status.as_str()) } }
                            td { (bar(j.processed_rows, uj.rows, &format!("Job {}", uj.job_id))) }
                            td.num { (j.inserted) } td.num { (j.updated) } td.num { (j.failed) }
                        } @else {
                            td colspan="5" { "expired (job data purged)" }
                        }
                    } } }
                } }
            }
            h2 #formats { "Password hash formats in the file" }
            @if i.formats.is_empty() {
                p.empty { "No row read yet." }
            } @else {
                div.table-wrap { table aria-labelledby="formats" {
                    thead { tr { th scope="col" { "Format" } th.num scope="col" { "Rows" } } }
                    tbody { @for (f, n) in &i.formats { tr data-format=(f) { td { (f) } td.num { (n) } } } }
                } }
            }
            @if let Some(r) = &roles {
                h2 #roles { "Roles" }
                p.text #roles-would-give data-would-give=(r.would_assign) {
                    "The rows would make " (r.would_assign) " role assignments"
                    @if r.would_create.is_empty() { " (every role they name exists)." } @else { " and create these roles:" }
                }
                @if !r.would_create.is_empty() {
                    ul { @for name in &r.would_create { li data-would-create=(name) { (name) } } }
                }
                @if r.would_create_more {
                    p.text #roles-more { "…and more: the first " (DryRunRoles::NAMES_KEPT) " names are listed." }
                }
            }
            @if !i.second_factors.is_empty() || !i.left_behind.is_empty() {
                h2 #factors { "Second factors" }
                div.table-wrap { table aria-labelledby="factors" {
                    thead { tr { th scope="col" { "Factor" } th scope="col" { "Outcome" } th.num scope="col" { "Rows" } } }
                    tbody {
                        @for (kind, n) in &i.second_factors { tr data-carried=(kind) { td { (kind) } td { "carried" } td.num { (n) } } }
                        @for (why, n) in &i.left_behind { tr data-left-behind=(why) { td { (why) } td { "left behind" } td.num { (n) } } }
                    }
                } }
            }
            h2 #failed { "Failed rows" }
            @if l.errors.is_empty() {
                p.empty { @if moving { "No row has failed so far." } @else { "No row failed." } }
            } @else {
                div.actions {
                    a href=(format!("/console/imports/{}/errors.csv", i.id)) download { "Download CSV" }
                    a href=(format!("/console/imports/{}/errors.json", i.id)) download { "Download JSON" }
                }
                @if l.errors.len() > SHOWN_ERRORS { p.text { "The first " (SHOWN_ERRORS) " of " (l.errors.len()) " errors; the downloads hold all." } }
                div.table-wrap { table aria-labelledby="failed" {
                    thead { tr { th.num scope="col" { "Row" } th scope="col" { "Code" } th scope="col" { "Field" } th scope="col" { "Message" } } }
                    tbody { @for e in l.errors.iter().take(SHOWN_ERRORS) { tr.failed-row data-index=(e.index) {
                        td.num { (e.index) } td { code { (e.code) } } td { (e.path) } td { (e.message) }
                    } } }
                } }
                @if i.refused as usize > i.refused_rows.len() {
                    p.text { (i.refused) " rows were refused while reading; the first " (i.refused_rows.len()) " are listed." }
                }
            }
        },
    )
}

/// What a dry run's jobs found of the roles their rows name, together
/// (`None` when no row names a role, or the import is not a dry run).
fn dry_run_roles(jobs: &[Option<Job>]) -> Option<DryRunRoles> {
    jobs.iter()
        .flatten()
        .filter_map(|j| j.dry_run_roles.as_ref())
        .fold(None, |acc: Option<DryRunRoles>, found| {
            let mut acc = acc.unwrap_or_default();
            acc.add(found);
            Some(acc)
        })
}

/// What the page calls a [`ConsoleImport::source`].
fn source_label(source: &str) -> &'static str {
    match Platform::from_name(source) {
        Some(p) => p.label(),
        None => "Auth0 import file",
    }
}

/// One failed row as a line of `errors.csv`. The field path comes from
/// the uploaded file (a legacy export's key names), so every text cell is
/// escaped against spreadsheet formulas as user exports are.
fn csv_error_line(index: impl std::fmt::Display, code: &str, path: &str, message: &str) -> String {
    use tern_core::export::csv_string;
    format!(
        "{index},{},{},{}\r\n",
        csv_string(code),
        csv_string(path),
        csv_string(message)
    )
}

/// `GET /console/imports/{id}/errors.{csv|json}`: every failed row.
pub async fn errors(
    State(s): State<AppState>,
    _op: Operator,
    Path((id, ext)): Path<(String, String)>,
) -> Response {
    let l = match load(&s, &id).await {
        Ok(Some(l)) => l,
        Ok(None) => {
            return problem(
                StatusCode::NOT_FOUND,
                "No such import",
                "The import does not exist.",
            );
        }
        Err(e) => return oops("import errors", &e),
    };
    let (body, kind) = match ext.as_str() {
        "errors.csv" => {
            let mut out = String::from("index,code,path,message\r\n");
            for e in &l.errors {
                out.push_str(&csv_error_line(e.index, &e.code, &e.path, &e.message));
            }
            (out, "text/csv; charset=utf-8")
        }
        "errors.json" => (
            serde_json::to_string_pretty(&l.errors).unwrap_or_default(),
            "application/json",
        ),
        _ => return problem(StatusCode::NOT_FOUND, "Not found", "No such download."),
    };
    let disposition = format!("attachment; filename=\"{}-{}\"", l.import.id, ext);
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_are_escaped_against_formulas() {
        let line = csv_error_line(
            1,
            "OBJECT_ADDITIONAL_PROPERTIES",
            "=HYPERLINK(\"https://evil.example/\",\"open\")",
            "@SUM(1+9)",
        );
        assert_eq!(
            line,
            "1,\"'OBJECT_ADDITIONAL_PROPERTIES\",\"'=HYPERLINK(\"\"https://evil.example/\"\",\"\"open\"\")\",\"'@SUM(1+9)\"\r\n"
        );
    }
}
