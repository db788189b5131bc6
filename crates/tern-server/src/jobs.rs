//! The background job runner: claims jobs from the store (any Tern instance
//! sharing the database may run one), runs them, and purges old job data.

use std::time::Duration;

use tern_core::clock::{iso, now_epoch};
use tern_core::import_job::{ImportSettings, final_status, run_import};
use tern_core::model::LogEvent;

use crate::state::AppState;

/// Start the runner task.
pub fn spawn_runner(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_purge = 0;
        loop {
            if now_epoch() - last_purge > 300 {
                last_purge = now_epoch();
                let before = iso(time::OffsetDateTime::now_utc()
                    - time::Duration::seconds(state.config.import.retention_secs));
                if let Err(e) = state.store.purge_jobs(&before).await {
                    tracing::warn!(error = %e, "could not purge old jobs");
                }
            }
            match state
                .store
                .claim_job(now_epoch(), state.config.import.lease_secs)
                .await
            {
                Ok(Some((tenant, job))) => {
                    let settings = ImportSettings {
                        batch_size: state.config.import.batch_size,
                        lease_secs: state.config.import.lease_secs,
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
    })
}

/// Log the outcome; with `send_completion_email`, the mail goes to the
/// tenant log's outbox (no SMTP is configured yet) rather than being dropped.
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
    if job.spec.send_completion_email {
        let mut mail = LogEvent::new(
            "tern_outbox",
            format!("Mail to the tenant administrators: {summary}"),
        );
        mail.details = Some(
            serde_json::json!({"job_id": job.id, "subject": format!("User import job {}", job.status.as_str())}),
        );
        state.log(mail).await;
    }
}
