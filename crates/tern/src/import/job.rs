//! One import job: upload a chunk as `POST /api/v2/jobs/users-imports` (on
//! Tern, held until the job ends: one request for most jobs), poll it to its
//! end otherwise while moving the progress estimate, and collect its errors
//! with each row's index mapped back to the original file.

use std::sync::atomic::Ordering;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use super::tally::Tally;
use crate::client::{Client, api_message, backoff};
use tern_core::import_file::Chunk;

/// How long an upload may be held until its job ends (`tern_wait_ms`).
const UPLOAD_WAIT_MS: u64 = 10_000;

/// Whether a job, as the API answered it, has ended.
fn has_ended(job: &Value) -> bool {
    matches!(
        job.get("status").and_then(Value::as_str),
        Some("completed" | "failed" | "expired")
    )
}

/// What every job is created with.
pub struct JobOptions {
    pub connection_id: String,
    pub upsert: bool,
    pub dry_run: bool,
}

/// Upload, poll to the end, collect the errors. `Err` is fatal for the run.
pub async fn run_job(
    api: &Client,
    opts: &JobOptions,
    chunk: Chunk,
    tally: &Tally,
) -> Result<(), String> {
    let Chunk { body, indexes } = chunk;
    let rows = indexes.len() as u64;
    let url = format!("{}/api/v2/jobs/users-imports", api.base());
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
        if api.holds_polls() {
            // Tern answers once the job has ended: no poll for most jobs,
            // half the requests against the rate limit. Auth0 ignores it.
            form = form.text("tern_wait_ms", UPLOAD_WAIT_MS.to_string());
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
            super::roles::refusal_hint(status, &text).unwrap_or("")
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

    // Poll until the job ends (unless the upload answered when it had),
    // moving the progress estimate along.
    let mut shown = 0u64;
    let mut attempt = 0u32;
    let mut done = job;
    while !has_ended(&done) {
        if !api.holds_polls() {
            tokio::time::sleep(backoff(attempt, 100, 1000)).await;
        }
        attempt += 1;
        done = api.job(&id).await?;
        let pct = done
            .get("percentage_done")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let now = (rows * pct.min(100) / 100).max(shown);
        tally.applied.fetch_add(now - shown, Ordering::Relaxed);
        shown = now;
    }
    tally.applied.fetch_add(rows - shown, Ordering::Relaxed);
    let summary = done.get("summary").cloned().unwrap_or(Value::Null);
    let count = |k: &str| summary.get(k).and_then(Value::as_u64).unwrap_or(0);
    let (inserted, updated) = (count("inserted"), count("updated"));
    let failed = rows.saturating_sub(inserted + updated);
    tally.inserted.fetch_add(inserted, Ordering::Relaxed);
    tally.updated.fetch_add(updated, Ordering::Relaxed);
    tally.failed.fetch_add(failed, Ordering::Relaxed);
    tally.total.fetch_add(rows, Ordering::Relaxed);
    tally.count_roles(&summary);

    if done.get("status").and_then(Value::as_str) == Some("failed") {
        let details = done
            .get("status_details")
            .and_then(Value::as_str)
            .unwrap_or("the job failed");
        let (first, last) = (
            indexes.first().copied().unwrap_or(0),
            indexes.last().copied().unwrap_or(0),
        );
        tally.error_line(
            first,
            "JOB_FAILED",
            "",
            &format!("job {id} (rows {first} to {last}) failed: {details}"),
        );
    }
    if failed > 0 {
        fetch_errors(api, &id, &indexes, tally).await?;
    }
    tally.jobs_done.fetch_add(1, Ordering::Relaxed);
    if tally.plain {
        eprintln!("tern import: {}", tally.progress_line());
    }
    Ok(())
}

/// `GET /jobs/{id}/errors`, each record's `index` mapped back to the file.
async fn fetch_errors(
    api: &Client,
    id: &str,
    indexes: &[usize],
    tally: &Tally,
) -> Result<(), String> {
    let url = format!("{}/api/v2/jobs/{id}/errors", api.base());
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
            tally.error_line(
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
            tally.error_line(index, &s("code"), &s("path"), &s("message"));
        }
    }
    Ok(())
}
