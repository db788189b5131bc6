//! The background job runner: claims jobs from the store (any Tern instance
//! sharing the database may run one), runs them, and purges old job data.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tern_core::clock::{iso, now_epoch};
use tern_core::import_job::{ImportSettings, final_status, run_import};

use tern_core::mail::{MailKind, Mailer, OutboundMail, OutboxMailer};
use tern_core::model::{Job, JobStatus, JobType, LogEvent};
use tern_core::store::is_lease_lost;

use crate::metrics::{JobLabels, JobTypeLabels, RowLabels};
use crate::state::AppState;

/// The running job workers and the claims they hold.
pub struct JobRunner {
    task: tokio::task::JoinHandle<()>,
    claims: Claims,
    state: AppState,
}

/// The jobs this server's workers run now: (tenant, job id) → lease token.
type Claims = Arc<Mutex<HashMap<(String, String), i64>>>;

impl JobRunner {
    /// Stop the workers (a batch being written rolls back, or commits and
    /// is counted), then hand their jobs back: another instance resumes
    /// them at once instead of after the lease.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        let held: Vec<_> = lock(&self.claims).drain().collect();
        for ((tenant, id), token) in held {
            hand_back(&self.state, &tenant, &id, token).await;
        }
    }
}

/// Hand one job back, trying again a few times: a batch of the stopped
/// worker still committing, or a WAL checkpoint, can hold SQLite's write
/// lock past the busy timeout, and a job not handed back waits out its
/// whole lease before any runner resumes it.
async fn hand_back(state: &AppState, tenant: &str, id: &str, token: i64) {
    let mut wait = Duration::from_millis(200);
    for attempt in 1..=HAND_BACK_ATTEMPTS {
        match state.store.release_job(tenant, id, token).await {
            Ok(()) => {
                tracing::info!(job = %id, "job handed back for another runner");
                return;
            }
            Err(e) if attempt == HAND_BACK_ATTEMPTS => {
                tracing::warn!(job = %id, error = %e, "could not hand the job back; it resumes after its lease");
            }
            Err(e) => {
                tracing::info!(job = %id, error = %e, attempt, "handing the job back failed; trying again");
                tokio::time::sleep(tern_core::retry::jittered(wait)).await;
                wait *= 2;
            }
        }
    }
}

/// Tries at handing a job back when the server stops (waits of 0.1–0.2,
/// 0.2–0.4, 0.4–0.8 and 0.8–1.6 s between them).
const HAND_BACK_ATTEMPTS: u32 = 5;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Start `import.runners` workers claiming jobs side by side (so that one
/// job's database work overlaps another's parsing and validation), the
/// first of which also purges old job data.
pub fn spawn_runner(state: AppState) -> JobRunner {
    let claims = Claims::default();
    let workers_state = state.clone();
    let workers_claims = claims.clone();
    let task = tokio::spawn(async move {
        let mut workers = tokio::task::JoinSet::new();
        for n in 0..workers_state.config.import.runners.max(1) {
            workers.spawn(work(workers_state.clone(), workers_claims.clone(), n == 0));
        }
        while workers.join_next().await.is_some() {}
    });
    JobRunner {
        task,
        claims,
        state,
    }
}

/// One worker: claim a job, run it to its end, repeat.
async fn work(state: AppState, claims: Claims, purges: bool) {
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
            crate::sessions::purge_expired(&state).await;
            crate::brute_force::purge(&state).await;
            crate::ip_throttling::purge(&state).await;
            crate::retention::purge(&state).await;
        }
        // A console upload's jobs wait for a free slot under the tenant's
        // limit; start those that now have one, then claim as usual.
        if let Err(e) = state
            .store
            .start_waiting_jobs(state.config.import.max_active_jobs)
            .await
        {
            tracing::warn!(error = %e, "could not start waiting import jobs");
        }
        let claimed = state
            .store
            .claim_job(now_epoch(), state.config.import.lease_secs)
            .await;
        let held = match &claimed {
            Ok(Some((tenant, job))) => {
                let labels = JobTypeLabels {
                    r#type: job.spec.kind.as_str(),
                };
                state.metrics.job_claims.get_or_create(&labels).inc();
                let key = (tenant.clone(), job.id.clone());
                lock(&claims).insert(key.clone(), job.lease_token);
                Some(key)
            }
            _ => None,
        };
        run_claimed(&state, claimed).await;
        if let Some(key) = held {
            lock(&claims).remove(&key);
        }
    }
}

/// Run what `claim_job` answered to its end (or wait when there was nothing).
async fn run_claimed(
    state: &AppState,
    claimed: Result<Option<(String, Job)>, tern_core::CoreError>,
) {
    match claimed {
        Ok(Some((tenant, job))) if job.spec.kind == JobType::UsersExport => {
            let outcome = crate::export_job::run(state, &tenant, &job).await;
            let (status, details) = match &outcome {
                Err(e) if is_lease_lost(e) => {
                    tracing::info!(job = %job.id, "export taken over by another runner");
                    return;
                }
                Ok(()) => (JobStatus::Completed, None),
                Err(e) => (JobStatus::Failed, Some(format!("The export failed: {e}"))),
            };
            finish(state, &tenant, &job, status, details.as_deref()).await;
            state.jobs_ended.notify_waiters();
        }
        Ok(Some((tenant, job))) => {
            let settings = ImportSettings {
                batch_size: state.config.import.batch_size,
                lease_secs: state.config.import.lease_secs,
                hash_limits: *state.policy.limits(),
            };
            tracing::info!(job = %job.id, resume_at = job.processed_rows, "running import job");
            let end = run_import(
                state.store.as_ref(),
                &tenant,
                &job,
                settings,
                state.secrets.as_ref(),
                now_epoch,
            )
            .await;
            match end {
                Ok(end) => {
                    let (status, details) = final_status(&end);
                    if !finish(state, &tenant, &job, status, details).await {
                        return;
                    }
                    count_rows(state, &tenant, &job).await;
                    state.jobs_ended.notify_waiters();
                    announce(state, &tenant, &job.id).await;
                }
                Err(e) if is_lease_lost(&e) => {
                    tracing::info!(job = %job.id, "import taken over by another runner; this one stops");
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

/// Add the rows this runner applied (the job's counts now, less those at
/// its claim: a resumed job was partly applied by another runner).
async fn count_rows(state: &AppState, tenant: &str, claimed: &Job) {
    let Ok(Some(now)) = state.store.get_job(tenant, &claimed.id).await else {
        return;
    };
    for (outcome, after, before) in [
        ("inserted", now.inserted, claimed.inserted),
        ("updated", now.updated, claimed.updated),
        ("failed", now.failed, claimed.failed),
    ] {
        state
            .metrics
            .import_rows
            .get_or_create(&RowLabels { outcome })
            .inc_by(after.saturating_sub(before));
    }
}

/// Record a job's end under its claim; `false` when another runner has
/// taken the job over meanwhile (then that runner reports it).
async fn finish(
    state: &AppState,
    tenant: &str,
    job: &Job,
    status: JobStatus,
    details: Option<&str>,
) -> bool {
    match state
        .store
        .finish_job(tenant, &job.id, job.lease_token, status, details)
        .await
    {
        Ok(true) => {
            let labels = JobLabels {
                r#type: job.spec.kind.as_str(),
                status: status.as_str(),
            };
            state.metrics.jobs.get_or_create(&labels).inc();
            true
        }
        Ok(false) => {
            tracing::info!(job = %job.id, "job taken over by another runner before it ended here");
            false
        }
        Err(e) => {
            tracing::error!(job = %job.id, error = %e, "could not record the job's end");
            false
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
            html: None,
            from: None,
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
            let transport = mailer.transport(tenant).await;
            ev.details = Some(serde_json::json!({"job_id": job.id, "transport": transport}));
            state.log(ev).await;
        }
    }
}
