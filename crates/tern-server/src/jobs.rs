//! The background job runner: claims jobs from the store (any Tern instance
//! sharing the database may run one), runs them, and purges old job data.

use std::time::Duration;

use std::io::Write;
use tern_core::clock::{iso, now_epoch};
use tern_core::import_job::{ImportSettings, final_status, run_import};

use base64::Engine;
use tern_core::export::{csv_header, csv_row, json_line};
use tern_core::mail::{MailKind, Mailer, OutboundMail, OutboxMailer};
use tern_core::model::{Job, JobStatus, JobType, LogEvent};
use tern_core::store::UserSearch;
use tern_core::user_profile::user_json;

use crate::state::AppState;

/// Start the runner task: `import.runners` workers claiming jobs side by
/// side (so that one job's database work overlaps another's parsing and
/// validation), the first of which also purges old job data. Aborting the
/// returned task stops them all.
pub fn spawn_runner(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut workers = tokio::task::JoinSet::new();
        for n in 0..state.config.import.runners.max(1) {
            workers.spawn(work(state.clone(), n == 0));
        }
        while workers.join_next().await.is_some() {}
    })
}

/// One worker: claim a job, run it to its end, repeat.
async fn work(state: AppState, purges: bool) {
    let mut last_purge = if purges { 0 } else { i64::MAX };
    loop {
        if now_epoch().saturating_sub(last_purge) > 300 {
            last_purge = now_epoch();
            let before = iso(time::OffsetDateTime::now_utc()
                - time::Duration::seconds(state.config.import.retention_secs));
            if let Err(e) = state.store.purge_jobs(&before).await {
                tracing::warn!(error = %e, "could not purge old jobs");
            }
            // Expired tickets are kept a day, so a late click still reads
            // "expired" rather than "unknown".
            if let Err(e) = state
                .store
                .purge_password_tickets(now_epoch() - 86_400)
                .await
            {
                tracing::warn!(error = %e, "could not purge expired password tickets");
            }
        }
        match state
            .store
            .claim_job(now_epoch(), state.config.import.lease_secs)
            .await
        {
            Ok(Some((tenant, job))) if job.spec.kind == JobType::UsersExport => {
                let outcome = run_export(&state, &tenant, &job).await;
                let (status, details) = match &outcome {
                    Ok(()) => (JobStatus::Completed, None),
                    Err(e) => (JobStatus::Failed, Some(format!("The export failed: {e}"))),
                };
                if let Err(e) = state
                    .store
                    .finish_job(&tenant, &job.id, status, details.as_deref())
                    .await
                {
                    tracing::error!(job = %job.id, error = %e, "could not finish export job");
                }
                state.jobs_ended.notify_waiters();
            }
            Ok(Some((tenant, job))) => {
                let settings = ImportSettings {
                    batch_size: state.config.import.batch_size,
                    lease_secs: state.config.import.lease_secs,
                    hash_limits: *state.policy.limits(),
                };
                tracing::info!(job = %job.id, resume_at = job.processed_rows, "running import job");
                let end =
                    run_import(state.store.as_ref(), &tenant, &job, settings, now_epoch).await;
                match end {
                    Ok(end) => {
                        let (status, details) = final_status(&end);
                        if let Err(e) = state
                            .store
                            .finish_job(&tenant, &job.id, status, details)
                            .await
                        {
                            tracing::error!(job = %job.id, error = %e, "could not finish job");
                            continue;
                        }
                        state.jobs_ended.notify_waiters();
                        announce(&state, &tenant, &job.id).await;
                    }
                    // A storage error: leave the job to be retried when the lease expires.
                    Err(e) => {
                        tracing::error!(job = %job.id, error = %e, "import job interrupted; it resumes after the lease");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            Ok(None) => {
                tokio::select! {
                    _ = state.jobs_notify.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "job runner cannot reach the store");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// Log the outcome; with `send_completion_email`, mail the administrators
/// (`admin_emails`) through the mailer. Without an administrator address the
/// notice is kept in the outbox, addressed to the role, rather than dropped.
async fn announce(state: &AppState, tenant: &str, id: &str) {
    let Ok(Some(job)) = state.store.get_job(tenant, id).await else {
        return;
    };
    let summary = format!(
        "Import job {} {}: {} inserted, {} updated, {} failed of {} rows{}",
        job.id,
        job.status.as_str(),
        job.inserted,
        job.updated,
        job.failed,
        job.total_rows.unwrap_or(0),
        job.status_details
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default()
    );
    let mut ev = LogEvent::new("sapi", summary.clone());
    ev.connection = Some(job.spec.connection.clone());
    ev.connection_id = Some(job.spec.connection_id.clone());
    ev.details = Some(serde_json::json!({"job_id": job.id, "type": "users_import"}));
    state.log(ev).await;
    if !job.spec.send_completion_email {
        return;
    }
    let outbox;
    let (mailer, recipients): (&dyn Mailer, Vec<String>) = if state.config.admin_emails.is_empty() {
        outbox = OutboxMailer::new(state.store.clone());
        (&outbox, vec!["tenant administrators".into()])
    } else {
        (state.mailer.as_ref(), state.config.admin_emails.clone())
    };
    for to in recipients {
        let mail = OutboundMail {
            kind: MailKind::ImportCompletion,
            subject: format!("User import job {} {}", job.id, job.status.as_str()),
            text: format!(
                "{summary}.\n\nConnection: {}\nDetails: GET /api/v2/jobs/{} and /api/v2/jobs/{}/errors\n",
                job.spec.connection, job.id, job.id
            ),
            to,
        };
        if let Err(e) = mailer.send(tenant, &mail).await {
            let mut ev = LogEvent::new(
                "fn",
                format!("Import completion mail to {} not sent: {e}", mail.to),
            );
            ev.details =
                Some(serde_json::json!({"job_id": job.id, "transport": mailer.transport()}));
            state.log(ev).await;
        }
    }
}

/// Write the users of an export job as gzip'd NDJSON or CSV into the job's file.
async fn run_export(state: &AppState, tenant: &str, job: &Job) -> Result<(), tern_core::CoreError> {
    let Some(spec) = &job.spec.export else {
        return Ok(());
    };
    let query = if job.spec.connection.is_empty() {
        None
    } else {
        // The connection name is quoted and escaped for the query language.
        let q = format!(
            "identities.connection:\"{}\"",
            job.spec
                .connection
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        );
        Some(
            tern_core::search::parse_query(&q)
                .map_err(|e| tern_core::CoreError::Storage(e.to_string()))?,
        )
    };
    let limit = spec.limit.unwrap_or(u64::MAX);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let io = |e: std::io::Error| tern_core::CoreError::Storage(e.to_string());
    if spec.format == "csv" {
        writeln!(gz, "{}", csv_header(&spec.fields)).map_err(io)?;
    }
    let mut written = 0u64;
    const PAGE: u64 = 1000;
    while written < limit {
        let page = state
            .store
            .search_users(
                tenant,
                &UserSearch {
                    query: query.clone(),
                    sort: None,
                    offset: written,
                    limit: PAGE.min(limit - written),
                },
            )
            .await?;
        if written == 0 {
            state
                .store
                .set_job_total(tenant, &job.id, page.total.min(limit))
                .await?;
        }
        for u in &page.users {
            let v = user_json(u);
            let line = if spec.format == "csv" {
                csv_row(&v, &spec.fields)
            } else {
                json_line(&v, &spec.fields)
            };
            writeln!(gz, "{line}").map_err(io)?;
        }
        written += page.users.len() as u64;
        if (page.users.len() as u64) < PAGE {
            break;
        }
    }
    let bytes = gz.finish().map_err(io)?;
    state
        .store
        .set_job_file(
            tenant,
            &job.id,
            &base64::engine::general_purpose::STANDARD.encode(bytes),
        )
        .await
}
