//! The persistence boundary. `tern-store` implements it for SQLite and
//! PostgreSQL; every method takes the tenant id first and every
//! implementation must scope every statement by it.

use futures_channel::oneshot;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::CoreResult;
use crate::mail::OutboxMessage;
use crate::model::{
    Client, ClientGrant, Connection, Job, JobStatus, LogEvent, ResourceServer, SigningKey, Tenant,
    User,
};
use crate::search::{Query, Sort};
use crate::tickets::{PasswordTicket, Redemption};

/// What to look for in `search_users`.
#[derive(Debug, Clone, Default)]
pub struct UserSearch {
    /// Parsed `q`, or every user.
    pub query: Option<Query>,
    /// Parsed `sort`, or creation order.
    pub sort: Option<Sort>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
}

/// One page of a user search and the total it was cut from.
#[derive(Debug, Clone)]
pub struct UserPage {
    /// The users of the page.
    pub users: Vec<User>,
    /// Total matches.
    pub total: u64,
}

/// Outcome of inserting a user whose email or username may already be taken.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertOutcome {
    /// The user was written.
    Inserted,
    /// A user with the same id, or the same email or username in the
    /// connection, exists; nothing was written.
    Duplicate,
}

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
    /// Error records `{user, errors}` by row index; each counts as a failed row.
    pub errors: Vec<(u64, serde_json::Value)>,
    /// Notes on rows that still succeeded (e.g. a hash not applied on upsert).
    pub notes: Vec<(u64, serde_json::Value)>,
    /// Rows counted as inserted/updated without writing (dry run).
    pub dry_inserted: u64,
    /// See `dry_inserted`.
    pub dry_updated: u64,
    /// The resume point after this batch.
    pub processed_rows: u64,
    /// Renewed lease (epoch seconds).
    pub lease_until: i64,
}

/// What [`Store::apply_import_batch`] did.
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

/// Persistence of everything a tenant owns.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    // --- tenants and keys ---
    /// The first tenant created (the default one), if any.
    async fn default_tenant(&self) -> CoreResult<Option<Tenant>>;
    /// Create a tenant.
    async fn insert_tenant(&self, tenant: &Tenant) -> CoreResult<()>;
    /// Signing keys, newest first.
    async fn signing_keys(&self, tenant: &str) -> CoreResult<Vec<SigningKey>>;
    /// Add a signing key.
    async fn insert_signing_key(&self, tenant: &str, key: &SigningKey) -> CoreResult<()>;

    // --- clients ---
    /// Insert a client.
    async fn insert_client(&self, tenant: &str, client: &Client) -> CoreResult<()>;
    /// Get a client by id.
    async fn get_client(&self, tenant: &str, client_id: &str) -> CoreResult<Option<Client>>;
    /// All clients, by name.
    async fn list_clients(&self, tenant: &str) -> CoreResult<Vec<Client>>;
    /// Replace a client; false if it does not exist.
    async fn update_client(&self, tenant: &str, client: &Client) -> CoreResult<bool>;
    /// Delete a client and its grants; false if it did not exist.
    async fn delete_client(&self, tenant: &str, client_id: &str) -> CoreResult<bool>;

    // --- resource servers ---
    /// Insert an API; `Conflict` when the identifier is taken.
    async fn insert_resource_server(&self, tenant: &str, rs: &ResourceServer) -> CoreResult<()>;
    /// Get an API by id or by identifier (audience).
    async fn get_resource_server(
        &self,
        tenant: &str,
        id_or_identifier: &str,
    ) -> CoreResult<Option<ResourceServer>>;
    /// All APIs.
    async fn list_resource_servers(&self, tenant: &str) -> CoreResult<Vec<ResourceServer>>;
    /// Replace an API; false if it does not exist.
    async fn update_resource_server(&self, tenant: &str, rs: &ResourceServer) -> CoreResult<bool>;
    /// Delete an API; false if it did not exist.
    async fn delete_resource_server(&self, tenant: &str, id: &str) -> CoreResult<bool>;

    // --- client grants ---
    /// Insert a grant; `Conflict` when the client already has one for the audience.
    async fn insert_client_grant(&self, tenant: &str, grant: &ClientGrant) -> CoreResult<()>;
    /// Get a grant by id.
    async fn get_client_grant(&self, tenant: &str, id: &str) -> CoreResult<Option<ClientGrant>>;
    /// The grant of a client for an audience.
    async fn find_client_grant(
        &self,
        tenant: &str,
        client_id: &str,
        audience: &str,
    ) -> CoreResult<Option<ClientGrant>>;
    /// All grants.
    async fn list_client_grants(&self, tenant: &str) -> CoreResult<Vec<ClientGrant>>;
    /// Replace a grant; false if it does not exist.
    async fn update_client_grant(&self, tenant: &str, grant: &ClientGrant) -> CoreResult<bool>;
    /// Delete a grant; false if it did not exist.
    async fn delete_client_grant(&self, tenant: &str, id: &str) -> CoreResult<bool>;

    // --- connections ---
    /// Insert a connection; `Conflict` when the name is taken.
    async fn insert_connection(&self, tenant: &str, connection: &Connection) -> CoreResult<()>;
    /// Get a connection by id.
    async fn get_connection(&self, tenant: &str, id: &str) -> CoreResult<Option<Connection>>;
    /// Get a connection by name.
    async fn get_connection_by_name(
        &self,
        tenant: &str,
        name: &str,
    ) -> CoreResult<Option<Connection>>;
    /// All connections, by name.
    async fn list_connections(&self, tenant: &str) -> CoreResult<Vec<Connection>>;
    /// Replace a connection; false if it does not exist.
    async fn update_connection(&self, tenant: &str, connection: &Connection) -> CoreResult<bool>;
    /// Delete a connection and its users; false if it did not exist.
    async fn delete_connection(&self, tenant: &str, id: &str) -> CoreResult<bool>;
    /// How many users the connection has.
    async fn count_connection_users(&self, tenant: &str, connection_id: &str) -> CoreResult<u64>;
    /// A connection's users counted per arrival source and per credential
    /// scheme prefix, for the migration report.
    async fn migration_stats(
        &self,
        tenant: &str,
        connection_id: &str,
    ) -> CoreResult<crate::migration::MigrationStats>;

    // --- users ---
    /// Insert a user with all its data in one statement.
    async fn insert_user(&self, tenant: &str, user: &User) -> CoreResult<InsertOutcome>;
    /// Get a user by full id.
    async fn get_user(&self, tenant: &str, user_id: &str) -> CoreResult<Option<User>>;
    /// Get a connection's user by (lower-cased) email.
    async fn get_user_by_email(
        &self,
        tenant: &str,
        connection_id: &str,
        email: &str,
    ) -> CoreResult<Option<User>>;
    /// Get a connection's user by username.
    async fn get_user_by_username(
        &self,
        tenant: &str,
        connection_id: &str,
        username: &str,
    ) -> CoreResult<Option<User>>;
    /// Users of every connection with exactly this email.
    async fn users_by_email(&self, tenant: &str, email: &str) -> CoreResult<Vec<User>>;
    /// Replace a user's profile and credential; `Duplicate` when the new
    /// email or username is taken in the connection; `Ok(None)` when the
    /// user does not exist.
    async fn update_user(&self, tenant: &str, user: &User) -> CoreResult<Option<InsertOutcome>>;
    /// Delete a user; false if it did not exist.
    async fn delete_user(&self, tenant: &str, user_id: &str) -> CoreResult<bool>;
    /// Delete a connection's users with this email; how many were deleted.
    async fn delete_users_by_email(
        &self,
        tenant: &str,
        connection_id: &str,
        email: &str,
    ) -> CoreResult<u64>;
    /// Record a successful login: `last_login`, `last_ip`, `logins_count`,
    /// and, when given, a replacement credential (rehash on login), in one statement.
    async fn record_login(
        &self,
        tenant: &str,
        user_id: &str,
        at: &str,
        ip: Option<&str>,
        new_credential: Option<&str>,
    ) -> CoreResult<()>;
    /// Search users.
    async fn search_users(&self, tenant: &str, search: &UserSearch) -> CoreResult<UserPage>;

    // --- jobs ---
    /// Create an import job with its file unless `max_active` import jobs of
    /// the tenant are pending or processing; `false` when the limit is reached.
    async fn insert_import_job(
        &self,
        tenant: &str,
        job: &Job,
        file: &str,
        max_active: u64,
    ) -> CoreResult<bool>;
    /// Create an export job (no concurrency limit).
    async fn insert_export_job(&self, tenant: &str, job: &Job) -> CoreResult<()>;
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
    /// Mark a job completed or failed.
    async fn finish_job(
        &self,
        tenant: &str,
        id: &str,
        status: JobStatus,
        details: Option<&str>,
    ) -> CoreResult<()>;
    /// A job's error records, by row index.
    async fn job_errors(&self, tenant: &str, id: &str) -> CoreResult<Vec<serde_json::Value>>;
    /// Users of a connection matching any of these emails, local ids or usernames.
    async fn find_import_matches(
        &self,
        tenant: &str,
        connection_id: &str,
        emails: &[String],
        user_ids: &[String],
        usernames: &[String],
    ) -> CoreResult<Vec<User>>;
    /// Delete jobs (with files and errors) created before `before`.
    async fn purge_jobs(&self, before: &str) -> CoreResult<u64>;

    // --- password-change tickets ---
    /// Store a new ticket (its token hash, never the token).
    async fn insert_password_ticket(&self, tenant: &str, ticket: &PasswordTicket)
    -> CoreResult<()>;
    /// A ticket by the SHA-256 of its token, whatever its state.
    async fn get_password_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> CoreResult<Option<PasswordTicket>>;
    /// In one transaction: use the ticket if it is unused and not expired at
    /// epoch second `now`, set its user's credential (and `email_verified`
    /// when the ticket says so), and use up the user's other open tickets.
    /// Of two concurrent redemptions exactly one is `Done`.
    async fn redeem_password_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
        now: i64,
        credential: &str,
    ) -> CoreResult<Redemption>;
    /// Delete tickets of every tenant that expired before epoch second `before`.
    async fn purge_password_tickets(&self, before: i64) -> CoreResult<u64>;

    // --- outbox ---
    /// Keep a message in the outbox (the mailer without SMTP).
    async fn insert_outbox(&self, tenant: &str, message: &OutboxMessage) -> CoreResult<()>;
    /// The outbox, oldest first.
    async fn list_outbox(
        &self,
        tenant: &str,
        offset: u64,
        limit: u64,
    ) -> CoreResult<Vec<OutboxMessage>>;

    // --- logs ---
    /// Append to the tenant log.
    async fn append_log(&self, tenant: &str, event: &LogEvent) -> CoreResult<()>;
    /// Tenant log, newest first, optionally one type only.
    async fn list_logs(
        &self,
        tenant: &str,
        kind: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> CoreResult<(Vec<LogEvent>, u64)>;
}
