//! Import and export jobs: their files, progress, leases and error records.

use futures_channel::oneshot;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::model::{Job, JobStatus, User};
use crate::{CoreError, CoreResult};

/// One batch of an import job, applied in one transaction together with the
/// job's progress, so a crash never applies a row twice or loses one.
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    /// Users to create: (row index, user, the error record to store instead
    /// if a user with the same id, email or username appeared meanwhile;
    /// `None` in an optimistic batch, which never stores one).
    pub inserts: Vec<(u64, User, Option<serde_json::Value>)>,
    /// Planned without looking up existing users (an insert-only job): if
    /// any insert collides with a stored user, the store applies nothing and
    /// answers [`BatchApplied::Collided`], and the batch is planned again
    /// with the lookups, which name the field each collision is on. Fresh
    /// imports, the common case, so skip a lookup per key of every row.
    pub optimistic: bool,
    /// Users to replace (upsert).
    pub updates: Vec<User>,
    /// Roles given to the batch's users (an import row's `tern_roles`):
    /// `(user id, role name)`, written only for users the batch writes
    /// (inserted or updated), in its transaction; one held already is kept
    /// once, so a batch applied again adds nothing.
    pub role_grants: Vec<(String, String)>,
    /// The roles `role_grants` name that the job may create, by name: each
    /// is created (with this id and description) in the batch's
    /// transaction unless the tenant has a role of that name by then.
    pub new_roles: Vec<crate::roles::Role>,
    /// Error records `{user, errors}` by row index; each counts as a failed row.
    pub errors: Vec<(u64, serde_json::Value)>,
    /// Notes on rows that still succeeded (e.g. a hash not applied on upsert).
    pub notes: Vec<(u64, serde_json::Value)>,
    /// Rows counted as inserted/updated without writing (dry run).
    pub dry_inserted: u64,
    /// See `dry_inserted`.
    pub dry_updated: u64,
    /// A dry run's role findings through this batch (the job's whole run so
    /// far, not this batch alone), stored with its progress.
    pub dry_run_roles: Option<crate::model::DryRunRoles>,
    /// The resume point after this batch.
    pub processed_rows: u64,
    /// Renewed lease (epoch seconds).
    pub lease_until: i64,
    /// The claim the batch is written under ([`Job::lease_token`]): if the
    /// job was claimed again since, the store writes nothing and fails with
    /// [`lease_lost`].
    pub lease_token: i64,
}

/// What [`JobStore::apply_import_batch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchApplied {
    /// Rows, error records and progress committed.
    Applied,
    /// An optimistic batch met a stored user with one of its keys: nothing
    /// was written.
    Collided,
}

/// When an import batch may commit: once the batch before it has. Batches
/// of one job are written side by side but commit in order, so a job's
/// progress only ever advances over rows that are all applied.
#[derive(Clone)]
pub struct BatchGate(Shared<BoxFuture<'static, bool>>);

/// Opens the [`BatchGate`] made with it; dropped unopened, it fails the gate.
pub struct GateKey(oneshot::Sender<()>);

impl BatchGate {
    /// A gate and the key that opens it.
    pub fn new() -> (GateKey, Self) {
        let (key, lock) = oneshot::channel();
        (GateKey(key), Self(lock.map(|r| r.is_ok()).boxed().shared()))
    }

    /// The gate of a job's first batch (or of one with nothing before it).
    pub fn opened() -> Self {
        Self(futures_util::future::ready(true).boxed().shared())
    }

    /// Wait for the gate: `true` once the batch before has committed,
    /// `false` if it failed (then this batch must write nothing).
    pub async fn passed(self) -> bool {
        self.0.await
    }
}

impl GateKey {
    /// The batch committed: the next one may.
    pub fn open(self) {
        // The next batch may already be gone (its job failed): nobody to tell.
        let _ = self.0.send(());
    }
}

impl std::fmt::Debug for BatchGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BatchGate")
    }
}

/// The error a runner's write gets once its job was claimed by another
/// runner: it must stop, the other one goes on.
pub fn lease_lost(job_id: &str) -> CoreError {
    CoreError::conflict(
        "lease_lost",
        format!("Job {job_id} was taken over by another runner; this one stops writing to it."),
    )
}

/// Whether an error is [`lease_lost`].
pub fn is_lease_lost(e: &CoreError) -> bool {
    matches!(e, CoreError::Conflict { code, .. } if *code == "lease_lost")
}

/// Storing jobs, their files, progress and error records.
#[async_trait::async_trait]
pub trait JobStore: Send + Sync {
    /// Create an import job with its file unless `max_active` import jobs of
    /// the tenant are pending or processing; `false` when the limit is reached.
    /// A job created `Waiting` passes with `max_active = u64::MAX` and starts
    /// through [`start_waiting_jobs`](Self::start_waiting_jobs).
    async fn insert_import_job(
        &self,
        tenant: &str,
        job: &Job,
        file: &str,
        max_active: u64,
    ) -> CoreResult<bool>;
    /// Start waiting import jobs (`JobStatus::Waiting`, a console upload's),
    /// oldest first, while the tenant has fewer than `max_active` import
    /// jobs pending or processing; how many were started. Safe to call from
    /// every runner of every instance at once: the count and the start are
    /// serialised per tenant, so the limit holds.
    async fn start_waiting_jobs(&self, max_active: u64) -> CoreResult<u64>;
    /// Create an export job unless the tenant has `max_active` pending or
    /// processing exports already (`false`): each keeps a full copy of the
    /// users for a day and holds a job runner.
    async fn insert_export_job(&self, tenant: &str, job: &Job, max_active: u64)
    -> CoreResult<bool>;
    /// Store a job that already ran in its request (a verification mail),
    /// as it ended: it is not pending, so no runner ever claims it.
    async fn insert_finished_job(&self, tenant: &str, job: &Job) -> CoreResult<()>;
    /// Store (or replace) a job's file: an export's result.
    async fn set_job_file(&self, tenant: &str, id: &str, content: &str) -> CoreResult<()>;
    /// Get a job.
    async fn get_job(&self, tenant: &str, id: &str) -> CoreResult<Option<Job>>;
    /// The uploaded file of a job.
    async fn job_file(&self, tenant: &str, id: &str) -> CoreResult<Option<String>>;
    /// Take the oldest pending job, or a processing one whose lease expired
    /// (its runner died), for `lease_secs`. The one store call not scoped by a
    /// tenant: the runner discovers work for all tenants, then every further
    /// call is scoped by the tenant returned here.
    async fn claim_job(&self, now: i64, lease_secs: i64) -> CoreResult<Option<(String, Job)>>;
    /// Record the number of rows once the file is parsed.
    async fn set_job_total(&self, tenant: &str, id: &str, total: u64) -> CoreResult<()>;
    /// Apply one import batch and the job's progress in one transaction,
    /// committed only once `after` passes (the batch before it committed);
    /// if `after` fails, nothing is written and the call fails.
    async fn apply_import_batch(
        &self,
        tenant: &str,
        job_id: &str,
        batch: &ImportBatch,
        after: BatchGate,
    ) -> CoreResult<BatchApplied>;
    /// Mark a job completed or failed, under the claim `lease_token`;
    /// `false` (nothing written) when the job was claimed again since.
    async fn finish_job(
        &self,
        tenant: &str,
        id: &str,
        lease_token: i64,
        status: JobStatus,
        details: Option<&str>,
    ) -> CoreResult<bool>;
    /// Extend the claim `lease_token` on a job to `until` (epoch seconds);
    /// `false` when the job was claimed again since (the caller must stop).
    async fn renew_job_lease(
        &self,
        tenant: &str,
        id: &str,
        lease_token: i64,
        until: i64,
    ) -> CoreResult<bool>;
    /// Start a job's chunked file afresh under the claim `lease_token`: a
    /// claim that took the job over drops what an earlier one wrote.
    /// `false` (nothing done) when the job was claimed again since.
    async fn reset_job_chunks(&self, tenant: &str, id: &str, lease_token: i64) -> CoreResult<bool>;
    /// Append chunk `seq` of a job's file and extend the claim `lease_token`
    /// to `lease_until`, in one transaction; `false` (nothing written) when
    /// the job was claimed again since.
    async fn put_job_chunk(
        &self,
        tenant: &str,
        id: &str,
        lease_token: i64,
        seq: u64,
        data: &[u8],
        lease_until: i64,
    ) -> CoreResult<bool>;
    /// Chunk `seq` of a job's file, if there is one.
    async fn job_chunk(&self, tenant: &str, id: &str, seq: u64) -> CoreResult<Option<Vec<u8>>>;
    /// Give up the claim `lease_token` so another runner may take the job at
    /// once (a server shutting down): writes still in flight under it are
    /// refused from then on. Nothing happens when it was claimed again.
    async fn release_job(&self, tenant: &str, id: &str, lease_token: i64) -> CoreResult<()>;
    /// A job's error records, by row index.
    async fn job_errors(&self, tenant: &str, id: &str) -> CoreResult<Vec<serde_json::Value>>;
    /// Users of a connection matching any of these emails or usernames, and
    /// users of any connection with one of these user ids (ids are unique in
    /// the tenant; the caller refuses a row naming another connection's user).
    async fn find_import_matches(
        &self,
        tenant: &str,
        connection_id: &str,
        emails: &[String],
        user_ids: &[String],
        usernames: &[String],
    ) -> CoreResult<Vec<User>>;
    /// The tenant's jobs counted by type and status (`users_import`,
    /// `processing`, 2), for the metrics' gauge; jobs are purged after
    /// `import.retention_secs`, so this counts the recent ones.
    async fn count_jobs_by_state(&self, tenant: &str) -> CoreResult<Vec<(String, String, u64)>>;
    /// Delete jobs (with files and errors) created before `before`.
    async fn purge_jobs(&self, before: &str) -> CoreResult<u64>;
    /// The tenant's newest jobs of one type, newest first (the console's
    /// exports page).
    async fn list_jobs(
        &self,
        tenant: &str,
        kind: crate::model::JobType,
        limit: u64,
    ) -> CoreResult<Vec<Job>>;
}
