//! Exports: start a users export (`export_job::queue`, as
//! `POST /jobs/users-exports`), watch it (the page reloads itself while one
//! runs) and download its file — through a fresh signed link the download
//! route redirects to, so no link token is ever written into a page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use tern_core::model::{JobStatus, JobType, LogEvent};

use crate::console::layout::{Section, live_page, problem};
use crate::console::session::{Operator, OperatorForm};
use crate::console::{OPERATORS_CONNECTION, audit, csrf, see_other};
use crate::state::AppState;

const LISTED: u64 = 50;
const REFRESH_SECS: u32 = 2;

fn oops(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console exports failed");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The exports could not be read or started; try again.",
    )
}

/// `GET /console/exports`.
pub async fn list(State(s): State<AppState>, op: Operator) -> Response {
    let loaded = async {
        let c = s.store.list_connections(s.tid()).await?;
        let j = s
            .store
            .list_jobs(s.tid(), JobType::UsersExport, LISTED)
            .await?;
        tern_core::CoreResult::Ok((c, j))
    };
    let (connections, jobs) = match loaded.await {
        Ok(x) => x,
        Err(e) => return oops(&e),
    };
    let moving = jobs
        .iter()
        .any(|j| matches!(j.status, JobStatus::Pending | JobStatus::Processing));
    live_page(
        &op,
        Section::Exports,
        "Exports",
        moving.then_some(REFRESH_SECS),
        html! {
            h1 { "Exports" }
            h2 { "Export users" }
            form method="post" action="/console/exports" {
                input type="hidden" name=(csrf::FIELD) value=(op.csrf);
                div.grid {
                    div { label for="connection" { "Connection" }
                        select #connection name="connection_id" {
                            option value="" { "Every connection" }
                            @for c in connections.iter().filter(|c| c.name != OPERATORS_CONNECTION) { option value=(c.id) { (c.name) } }
                        } }
                    div { label for="format" { "Format" }
                        select #format name="format" { option value="json" { "NDJSON (one user per line)" } option value="csv" { "CSV" } } }
                    div { label for="limit" { "At most (users)" }
                        input #limit type="number" name="limit" min="1" inputmode="numeric" placeholder="all"; }
                }
                p.hint { "Auth0's default fields; the file is gzip-compressed. Password hashes are never exported." }
                button type="submit" { "Start the export" }
            }
            h2 #recent { "Recent exports" }
            @if jobs.is_empty() {
                p.empty { "No export yet." }
            } @else {
                div.table-wrap { table aria-labelledby="recent" {
                    thead { tr { th scope="col" { "Job" } th scope="col" { "Connection" } th scope="col" { "Format" } th scope="col" { "Started" } th scope="col" { "Status" } th.num scope="col" { "Users" } th scope="col" { "File" } } }
                    tbody { @for j in &jobs { tr data-job=(j.id) {
                        td { code { (j.id) } }
                        td { @if j.spec.connection.is_empty() { "every connection" } @else { (j.spec.connection) } }
                        td { (j.spec.export.as_ref().map_or("json", |e| e.format.as_str())) }
                        td { (j.created_at) }
                        td { (j.status.as_str()) @if let Some(d) = &j.status_details { ": " (d) } }
                        td.num { (j.processed_rows) }
                        td { @if j.status == JobStatus::Completed {
                            a href=(format!("/console/exports/{}/download", j.id)) { "Download" }
                        } @else { "—" } }
                    } } }
                } }
            }
        },
    )
}

/// `POST /console/exports`.
pub async fn start(State(s): State<AppState>, OperatorForm { op, form }: OperatorForm) -> Response {
    let (connection_id, connection) = match form.get("connection_id").filter(|c| !c.is_empty()) {
        None => (String::new(), String::new()),
        Some(id) => match s.store.get_connection(s.tid(), id).await {
            Ok(Some(c)) if c.name != OPERATORS_CONNECTION => (c.id, c.name),
            Ok(_) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "No such connection",
                    "Choose a connection from the list.",
                );
            }
            Err(e) => return oops(&e),
        },
    };
    let format = form.get("format").unwrap_or("json").to_string();
    let limit = match form.get("limit").map(str::trim).filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => match l.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "Export not started",
                    "The limit must be a whole number of users.",
                );
            }
        },
    };
    let job =
        match crate::export_job::queue(&s, connection_id, connection, format, None, limit).await {
            Ok(j) => j,
            Err(e) => return problem(e.status, "Export not started", &e.message),
        };
    let mut ev = LogEvent::new("sapi", "Console: users export started");
    ev.details = Some(serde_json::json!({"job_id": job.id}));
    if !job.spec.connection_id.is_empty() {
        ev.connection = Some(job.spec.connection.clone());
        ev.connection_id = Some(job.spec.connection_id.clone());
    }
    audit(&s, &op, ev).await;
    see_other("/console/exports", Vec::new())
}

/// `GET /console/exports/{id}/download`: to a fresh signed link (60 s).
pub async fn download(
    State(s): State<AppState>,
    _op: Operator,
    Path(id): Path<String>,
) -> Response {
    let job = match s.store.get_job(s.tid(), &id).await {
        Ok(Some(j)) if j.spec.kind == JobType::UsersExport && j.status == JobStatus::Completed => j,
        Ok(_) => {
            return problem(
                StatusCode::NOT_FOUND,
                "No such export",
                "The export does not exist or is not finished.",
            );
        }
        Err(e) => return oops(&e),
    };
    let v = crate::routes::exports::export_json(&s, &job);
    match v.get("location").and_then(|l| l.as_str()) {
        Some(url) => see_other(url, Vec::new()),
        None => oops(&"no download link could be signed"),
    }
}
