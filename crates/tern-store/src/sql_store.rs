//! The `Store` implementation over sqlx `AnyPool`.

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::query::Query as SqlxQuery;
// Dynamic SQL here is built only from constants and from `search_sql`, which
// binds every user value as a parameter; that is what `AssertSqlSafe` asserts.
use sqlx::postgres::PgPoolOptions;
use sqlx::{Any, AnyPool, AssertSqlSafe, Executor, PgPool, Row};
use tern_core::mail::OutboxMessage;
use tern_core::migration::{CredentialGroup, MigrationStats, SourceCount};
use tern_core::model::{
    Client, ClientGrant, Connection, Job, JobSpec, JobStatus, JsonObject, LogEvent, ResourceServer,
    SigningKey, Tenant, User, UserSource,
};
use tern_core::store::{
    BatchApplied, BatchGate, ImportBatch, InsertOutcome, Store, UserPage, UserSearch,
};
use tern_core::tickets::{PasswordTicket, Redemption, TicketOptions};
use tern_core::{CoreError, CoreResult};

use crate::bulk;
use crate::copy_users;
use crate::packed;
use crate::search_sql::{self, Dialect, SqlValue};
use crate::statistics::ImportStatistics;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreOpenError {
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// Connecting failed.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Tern's store on SQLite or PostgreSQL.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    /// When bulk imports should refresh PostgreSQL's planner statistics.
    import_statistics: std::sync::Arc<ImportStatistics>,
    /// PostgreSQL only: a small native pool for what `Any` cannot do, COPY
    /// (see `copy_users`). It connects on first use.
    copy_pool: Option<PgPool>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

pub(crate) const USER_COLUMNS: &str = "user_id, connection_id, connection_name, email, email_verified, \
    username, phone_number, phone_verified, name, given_name, family_name, nickname, picture, \
    blocked, app_metadata, user_metadata, created_at, updated_at, last_login, last_ip, \
    logins_count, credential, source, mfa_factors";

impl SqlStore {
    /// Connect to `sqlite://…` (the file is created when missing) or
    /// `postgres://…`, and run that backend's migrations.
    pub async fn open(url: &str) -> Result<Self, StoreOpenError> {
        sqlx::any::install_default_drivers();
        let (dialect, url) = if url.starts_with("sqlite:") {
            let url = if url.contains("mode=") || url.contains(":memory:") {
                url.to_string()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Dialect::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Dialect::Postgres, url.to_string())
        } else {
            return Err(StoreOpenError::UnsupportedUrl(url.to_string()));
        };
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        if dialect == Dialect::Sqlite {
            // One writer at a time is SQLite's nature; WAL lets readers go on
            // while it writes, and busy_timeout makes writers queue instead of fail.
            options = options
                .max_connections(if url.contains(":memory:") { 1 } else { 8 })
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; \
                             PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                        )
                        .await?;
                        Ok(())
                    })
                });
        } else {
            options = options.max_connections(16);
        }
        let pool = options
            .connect(&url)
            .await
            .map_err(StoreOpenError::Connect)?;
        let migrator = match dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(StoreOpenError::Migrate)?;
        let copy_pool = match dialect {
            Dialect::Sqlite => None,
            // One connection per import job runner is plenty.
            Dialect::Postgres => Some(
                PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_lazy(&url)
                    .map_err(StoreOpenError::Connect)?,
            ),
        };
        Ok(Self {
            pool,
            dialect,
            import_statistics: Default::default(),
            copy_pool,
        })
    }

    /// The backend in use.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// One import batch in one transaction: its users, its error records and
    /// the job's progress, committed after `after` passes. Returns what
    /// happened and the users inserted.
    async fn apply_batch(
        &self,
        tenant: &str,
        job_id: &str,
        b: &ImportBatch,
        after: BatchGate,
    ) -> CoreResult<(BatchApplied, u64)> {
        if let Some(pg) = self
            .copy_pool
            .as_ref()
            .filter(|_| b.optimistic && b.updates.is_empty())
        {
            let applied = copy_users::apply_batch(pg, tenant, job_id, b, after).await?;
            let inserted = match applied {
                BatchApplied::Applied => b.inserts.len() as u64,
                BatchApplied::Collided => 0,
            };
            return Ok((applied, inserted));
        }
        // Wait before writing anything: on SQLite a waiting writer would
        // hold the one write lock that the batch before it needs.
        if !after.passed().await {
            return Err(bulk::earlier_batch_failed());
        }
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let mut written: HashSet<String> = HashSet::new();
        if !b.inserts.is_empty() {
            // One statement for the batch's users (see `insert_users_sql`).
            let param = bulk::user_rows_param(b)?;
            written = sqlx::query_scalar(AssertSqlSafe(bulk::insert_users_sql(self.dialect)))
                .bind(tenant)
                .bind(param)
                .fetch_all(&mut *tx)
                .await
                .map_err(storage)?
                .into_iter()
                .collect();
            if b.optimistic && written.len() < b.inserts.len() {
                tx.rollback().await.map_err(storage)?;
                return Ok((BatchApplied::Collided, 0));
            }
        }
        for user in &b.updates {
            bind_user(sqlx::query(UPDATE_USER).bind(tenant), user)
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        let outcome = bulk::BatchOutcome::of(b, |id| written.contains(id));
        if !outcome.records.is_empty() {
            sqlx::query(AssertSqlSafe(bulk::insert_errors_sql(self.dialect)))
                .bind(tenant)
                .bind(job_id)
                .bind(bulk::json_param(&outcome.records)?)
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        sqlx::query(bulk::PROGRESS_SQL)
            .bind(tenant)
            .bind(job_id)
            .bind(as_i64(b.processed_rows))
            .bind(as_i64(outcome.inserted))
            .bind(as_i64(outcome.updated))
            .bind(as_i64(outcome.failed))
            .bind(b.lease_until)
            .bind(tern_core::clock::now_iso())
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok((BatchApplied::Applied, outcome.inserted_now))
    }

    /// Refresh PostgreSQL's statistics of `users` during a bulk import (see
    /// `statistics`). A failure only costs speed: it is logged, not raised.
    async fn analyze_users(&self) {
        let analyzed = async {
            // Only the columns the import lookups filter on: a fraction of the
            // cost of analyzing all 24.
            sqlx::query("ANALYZE users (tenant_id, connection_id, email, user_id, username)")
                .execute(&self.pool)
                .await?;
            sqlx::query_scalar::<_, i64>(
                "SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE oid = 'users'::regclass",
            )
            .fetch_one(&self.pool)
            .await
        }
        .await;
        match analyzed {
            Ok(rows) => self
                .import_statistics
                .analyzed(u64::try_from(rows).unwrap_or(0)),
            Err(e) => tracing::warn!(error = %e, "ANALYZE users failed; imports may slow down"),
        }
    }

    /// The underlying pool (benchmarks and tests compare against raw SQL).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn get_doc<T: DeserializeOwned>(
        &self,
        table: &str,
        key: &str,
        tenant: &str,
        value: &str,
    ) -> CoreResult<Option<T>> {
        let sql = format!("SELECT body FROM {table} WHERE tenant_id = $1 AND {key} = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| decode_body(&r)).transpose()
    }

    async fn list_docs<T: DeserializeOwned>(
        &self,
        table: &str,
        tenant: &str,
        order: &str,
    ) -> CoreResult<Vec<T>> {
        let sql = format!("SELECT body FROM {table} WHERE tenant_id = $1 ORDER BY {order}");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter().map(decode_body).collect()
    }

    async fn delete_doc(&self, table: &str, tenant: &str, id: &str) -> CoreResult<bool> {
        let sql = format!("DELETE FROM {table} WHERE tenant_id = $1 AND id = $2");
        let r = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    /// Run an insert or update of a configuration document; a unique
    /// violation becomes `Conflict` with `what` in the message.
    async fn write_doc(&self, q: SqlxQuery<'_, Any, AnyArguments>, what: &str) -> CoreResult<u64> {
        match q.execute(&self.pool).await {
            Ok(r) => Ok(r.rows_affected()),
            Err(e) if is_unique_violation(&e) => Err(CoreError::conflict(
                "conflict",
                format!("{what} already exists."),
            )),
            Err(e) => Err(storage(e)),
        }
    }
}

pub(crate) fn storage(e: sqlx::Error) -> CoreError {
    // PostgreSQL cannot store U+0000 in text ("invalid byte sequence", 22021);
    // that is the caller's input, not a server failure.
    if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("22021") {
        return CoreError::invalid_body(
            "Text values must not contain the NUL character (\\u0000).",
        );
    }
    tracing::error!(error = %e, "database error");
    CoreError::Storage(e.to_string())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn to_body<T: Serialize>(v: &T) -> String {
    // Serialising our own model types cannot fail (no maps with non-string keys).
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

/// A client's stored body: its API shape plus the secret hash, which the API
/// shape deliberately omits.
fn client_body(c: &Client) -> String {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    v["secret_hash"] = serde_json::Value::String(c.secret_hash.clone());
    v.to_string()
}

fn decode_body<T: DeserializeOwned>(row: &AnyRow) -> CoreResult<T> {
    let body: String = row.try_get("body").map_err(storage)?;
    serde_json::from_str(&body)
        .map_err(|e| CoreError::Storage(format!("corrupt stored document: {e}")))
}

fn decode_object(s: &str) -> JsonObject {
    serde_json::from_str(s).unwrap_or_default()
}

fn decode_user(row: &AnyRow) -> CoreResult<User> {
    let get_s = |c: &str| row.try_get::<String, _>(c).map_err(storage);
    let get_o = |c: &str| row.try_get::<Option<String>, _>(c).map_err(storage);
    let get_b = |c: &str| row.try_get::<i64, _>(c).map(|v| v != 0).map_err(storage);
    let source = get_s("source")?;
    Ok(User {
        user_id: get_s("user_id")?,
        connection_id: get_s("connection_id")?,
        connection_name: get_s("connection_name")?,
        email: get_o("email")?,
        email_verified: get_b("email_verified")?,
        username: get_o("username")?,
        phone_number: get_o("phone_number")?,
        phone_verified: get_b("phone_verified")?,
        name: get_o("name")?,
        given_name: get_o("given_name")?,
        family_name: get_o("family_name")?,
        nickname: get_o("nickname")?,
        picture: get_o("picture")?,
        blocked: get_b("blocked")?,
        app_metadata: decode_object(&get_s("app_metadata")?),
        user_metadata: decode_object(&get_s("user_metadata")?),
        created_at: get_s("created_at")?,
        updated_at: get_s("updated_at")?,
        last_login: get_o("last_login")?,
        last_ip: get_o("last_ip")?,
        logins_count: row.try_get::<i64, _>("logins_count").map_err(storage)?,
        credential: get_o("credential")?,
        source: UserSource::parse(&source).unwrap_or(UserSource::Api),
        mfa_factors: get_o("mfa_factors")?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
    })
}

/// The `mfa_factors` column: JSON text, NULL when there are none.
pub(crate) fn mfa_factors_column(u: &User) -> Option<String> {
    (!u.mfa_factors.is_empty()).then(|| serde_json::Value::from(u.mfa_factors.clone()).to_string())
}

/// Bind the profile columns of a user in `USER_COLUMNS` order after `tenant_id`.
fn bind_user<'q>(
    q: SqlxQuery<'q, Any, AnyArguments>,
    u: &'q User,
) -> SqlxQuery<'q, Any, AnyArguments> {
    q.bind(&u.user_id)
        .bind(&u.connection_id)
        .bind(&u.connection_name)
        .bind(u.email.as_deref())
        .bind(i64::from(u.email_verified))
        .bind(u.username.as_deref())
        .bind(u.phone_number.as_deref())
        .bind(i64::from(u.phone_verified))
        .bind(u.name.as_deref())
        .bind(u.given_name.as_deref())
        .bind(u.family_name.as_deref())
        .bind(u.nickname.as_deref())
        .bind(u.picture.as_deref())
        .bind(i64::from(u.blocked))
        .bind(serde_json::Value::Object(u.app_metadata.clone()).to_string())
        .bind(serde_json::Value::Object(u.user_metadata.clone()).to_string())
        .bind(&u.created_at)
        .bind(&u.updated_at)
        .bind(u.last_login.as_deref())
        .bind(u.last_ip.as_deref())
        .bind(u.logins_count)
        .bind(u.credential.as_deref())
        .bind(u.source.as_str())
        .bind(mfa_factors_column(u))
}

fn bind_values<'q>(
    mut q: SqlxQuery<'q, Any, AnyArguments>,
    values: &'q [SqlValue],
) -> SqlxQuery<'q, Any, AnyArguments> {
    for v in values {
        q = match v {
            SqlValue::Text(s) => q.bind(s.as_str()),
            SqlValue::Int(i) => q.bind(*i),
        };
    }
    q
}

/// Replace a user's profile and credential (parameters in `bind_user` order);
/// id, connection, creation time and source must match and never change.
const UPDATE_USER: &str = "UPDATE users SET email = $5, email_verified = $6, username = $7, phone_number = $8, \
    phone_verified = $9, name = $10, given_name = $11, family_name = $12, nickname = $13, \
    picture = $14, blocked = $15, app_metadata = $16, user_metadata = $17, updated_at = $19, \
    last_login = $20, last_ip = $21, logins_count = $22, credential = $23, mfa_factors = $25 \
    WHERE tenant_id = $1 AND user_id = $2 AND connection_id = $3 AND connection_name = $4 \
    AND created_at = $18 AND source = $24";

const JOB_COLUMNS: &str = "id, status, created_at, updated_at, total_rows, processed_rows, inserted, updated, failed, status_details, body";

fn decode_job(row: &AnyRow) -> CoreResult<Job> {
    let n = |c: &str| {
        row.try_get::<i64, _>(c)
            .map(|v| u64::try_from(v).unwrap_or(0))
            .map_err(storage)
    };
    let body: String = row.try_get("body").map_err(storage)?;
    let spec: JobSpec =
        serde_json::from_str(&body).map_err(|e| CoreError::Storage(format!("corrupt job: {e}")))?;
    let status: String = row.try_get("status").map_err(storage)?;
    Ok(Job {
        id: row.try_get("id").map_err(storage)?,
        spec,
        status: JobStatus::parse(&status).unwrap_or(JobStatus::Failed),
        created_at: row.try_get("created_at").map_err(storage)?,
        updated_at: row.try_get("updated_at").map_err(storage)?,
        total_rows: row
            .try_get::<Option<i64>, _>("total_rows")
            .map_err(storage)?
            .map(|v| u64::try_from(v).unwrap_or(0)),
        processed_rows: n("processed_rows")?,
        inserted: n("inserted")?,
        updated: n("updated")?,
        failed: n("failed")?,
        status_details: row.try_get("status_details").map_err(storage)?,
    })
}

const TICKET_COLUMNS: &str =
    "token_hash, user_id, connection_id, created_at, expires_at, used_at, body";

fn decode_ticket(row: &AnyRow) -> CoreResult<PasswordTicket> {
    let body: String = row.try_get("body").map_err(storage)?;
    let options: TicketOptions = serde_json::from_str(&body)
        .map_err(|e| CoreError::Storage(format!("corrupt ticket: {e}")))?;
    Ok(PasswordTicket {
        token_hash: row.try_get("token_hash").map_err(storage)?,
        user_id: row.try_get("user_id").map_err(storage)?,
        connection_id: row.try_get("connection_id").map_err(storage)?,
        created_at: row.try_get("created_at").map_err(storage)?,
        expires_at: row.try_get("expires_at").map_err(storage)?,
        used_at: row.try_get("used_at").map_err(storage)?,
        options,
    })
}

pub(crate) fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl Store for SqlStore {
    async fn default_tenant(&self) -> CoreResult<Option<Tenant>> {
        let row =
            sqlx::query("SELECT id, name, created_at FROM tenants ORDER BY created_at, id LIMIT 1")
                .fetch_optional(&self.pool)
                .await
                .map_err(storage)?;
        row.map(|r| {
            Ok(Tenant {
                id: r.try_get("id").map_err(storage)?,
                name: r.try_get("name").map_err(storage)?,
                created_at: r.try_get("created_at").map_err(storage)?,
            })
        })
        .transpose()
    }

    async fn insert_tenant(&self, t: &Tenant) -> CoreResult<()> {
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&t.id)
            .bind(&t.name)
            .bind(&t.created_at)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn signing_keys(&self, tenant: &str) -> CoreResult<Vec<SigningKey>> {
        let rows = sqlx::query(
            "SELECT kid, private_pem, created_at FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at DESC, kid",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter()
            .map(|r| {
                Ok(SigningKey {
                    kid: r.try_get("kid").map_err(storage)?,
                    private_pem: r.try_get("private_pem").map_err(storage)?,
                    created_at: r.try_get("created_at").map_err(storage)?,
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, tenant: &str, key: &SigningKey) -> CoreResult<()> {
        sqlx::query("INSERT INTO signing_keys (tenant_id, kid, private_pem, created_at) VALUES ($1, $2, $3, $4)")
            .bind(tenant)
            .bind(&key.kid)
            .bind(&key.private_pem)
            .bind(&key.created_at)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn insert_client(&self, tenant: &str, c: &Client) -> CoreResult<()> {
        let body = client_body(c);
        let q =
            sqlx::query("INSERT INTO clients (tenant_id, id, name, body) VALUES ($1, $2, $3, $4)")
                .bind(tenant)
                .bind(&c.client_id)
                .bind(&c.name)
                .bind(&body);
        self.write_doc(q, "A client with this id").await.map(drop)
    }

    async fn get_client(&self, tenant: &str, client_id: &str) -> CoreResult<Option<Client>> {
        self.get_doc("clients", "id", tenant, client_id).await
    }

    async fn list_clients(&self, tenant: &str) -> CoreResult<Vec<Client>> {
        self.list_docs("clients", tenant, "name, id").await
    }

    async fn update_client(&self, tenant: &str, c: &Client) -> CoreResult<bool> {
        let body = client_body(c);
        let q =
            sqlx::query("UPDATE clients SET name = $3, body = $4 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(&c.client_id)
                .bind(&c.name)
                .bind(&body);
        Ok(self.write_doc(q, "A client").await? > 0)
    }

    async fn delete_client(&self, tenant: &str, client_id: &str) -> CoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        sqlx::query("DELETE FROM client_grants WHERE tenant_id = $1 AND client_id = $2")
            .bind(tenant)
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        let r = sqlx::query("DELETE FROM clients WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn insert_resource_server(&self, tenant: &str, rs: &ResourceServer) -> CoreResult<()> {
        let body = to_body(rs);
        let q = sqlx::query("INSERT INTO resource_servers (tenant_id, id, identifier, body) VALUES ($1, $2, $3, $4)")
            .bind(tenant)
            .bind(&rs.id)
            .bind(&rs.identifier)
            .bind(&body);
        self.write_doc(q, "A resource server with the same identifier")
            .await
            .map(drop)
    }

    async fn get_resource_server(
        &self,
        tenant: &str,
        id_or_identifier: &str,
    ) -> CoreResult<Option<ResourceServer>> {
        if let Some(rs) = self
            .get_doc("resource_servers", "id", tenant, id_or_identifier)
            .await?
        {
            return Ok(Some(rs));
        }
        self.get_doc("resource_servers", "identifier", tenant, id_or_identifier)
            .await
    }

    async fn list_resource_servers(&self, tenant: &str) -> CoreResult<Vec<ResourceServer>> {
        self.list_docs("resource_servers", tenant, "identifier")
            .await
    }

    async fn update_resource_server(&self, tenant: &str, rs: &ResourceServer) -> CoreResult<bool> {
        let body = to_body(rs);
        let q = sqlx::query("UPDATE resource_servers SET identifier = $3, body = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(&rs.id)
            .bind(&rs.identifier)
            .bind(&body);
        Ok(self
            .write_doc(q, "A resource server with the same identifier")
            .await?
            > 0)
    }

    async fn delete_resource_server(&self, tenant: &str, id: &str) -> CoreResult<bool> {
        self.delete_doc("resource_servers", tenant, id).await
    }

    async fn insert_client_grant(&self, tenant: &str, g: &ClientGrant) -> CoreResult<()> {
        let body = to_body(g);
        let q = sqlx::query("INSERT INTO client_grants (tenant_id, id, client_id, audience, body) VALUES ($1, $2, $3, $4, $5)")
            .bind(tenant)
            .bind(&g.id)
            .bind(&g.client_id)
            .bind(&g.audience)
            .bind(&body);
        self.write_doc(q, "A client grant for this client and audience")
            .await
            .map(drop)
    }

    async fn get_client_grant(&self, tenant: &str, id: &str) -> CoreResult<Option<ClientGrant>> {
        self.get_doc("client_grants", "id", tenant, id).await
    }

    async fn find_client_grant(
        &self,
        tenant: &str,
        client_id: &str,
        audience: &str,
    ) -> CoreResult<Option<ClientGrant>> {
        let row = sqlx::query("SELECT body FROM client_grants WHERE tenant_id = $1 AND client_id = $2 AND audience = $3")
            .bind(tenant)
            .bind(client_id)
            .bind(audience)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| decode_body(&r)).transpose()
    }

    async fn list_client_grants(&self, tenant: &str) -> CoreResult<Vec<ClientGrant>> {
        self.list_docs("client_grants", tenant, "client_id, audience")
            .await
    }

    async fn update_client_grant(&self, tenant: &str, g: &ClientGrant) -> CoreResult<bool> {
        let body = to_body(g);
        let q = sqlx::query("UPDATE client_grants SET body = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(&g.id)
            .bind(&body);
        Ok(self.write_doc(q, "A client grant").await? > 0)
    }

    async fn delete_client_grant(&self, tenant: &str, id: &str) -> CoreResult<bool> {
        self.delete_doc("client_grants", tenant, id).await
    }

    async fn insert_connection(&self, tenant: &str, c: &Connection) -> CoreResult<()> {
        let body = to_body(c);
        let q = sqlx::query(
            "INSERT INTO connections (tenant_id, id, name, body) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant)
        .bind(&c.id)
        .bind(&c.name)
        .bind(&body);
        self.write_doc(q, "A connection with the same name")
            .await
            .map(drop)
    }

    async fn get_connection(&self, tenant: &str, id: &str) -> CoreResult<Option<Connection>> {
        self.get_doc("connections", "id", tenant, id).await
    }

    async fn get_connection_by_name(
        &self,
        tenant: &str,
        name: &str,
    ) -> CoreResult<Option<Connection>> {
        self.get_doc("connections", "name", tenant, name).await
    }

    async fn list_connections(&self, tenant: &str) -> CoreResult<Vec<Connection>> {
        self.list_docs("connections", tenant, "name").await
    }

    async fn update_connection(&self, tenant: &str, c: &Connection) -> CoreResult<bool> {
        let body = to_body(c);
        let q = sqlx::query(
            "UPDATE connections SET name = $3, body = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(&c.id)
        .bind(&c.name)
        .bind(&body);
        Ok(self.write_doc(q, "A connection with the same name").await? > 0)
    }

    async fn delete_connection(&self, tenant: &str, id: &str) -> CoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND connection_id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        let r = sqlx::query("DELETE FROM connections WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn count_connection_users(&self, tenant: &str, connection_id: &str) -> CoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND connection_id = $2",
        )
        .bind(tenant)
        .bind(connection_id)
        .fetch_one(&self.pool)
        .await
        .map_err(storage)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn migration_stats(
        &self,
        tenant: &str,
        connection_id: &str,
    ) -> CoreResult<MigrationStats> {
        let rows = sqlx::query(
            "SELECT source, COUNT(*), SUM(CASE WHEN credential IS NULL THEN 1 ELSE 0 END), \
             MIN(created_at), MAX(created_at) FROM users \
             WHERE tenant_id = $1 AND connection_id = $2 GROUP BY source",
        )
        .bind(tenant)
        .bind(connection_id)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        let mut stats = MigrationStats::default();
        for r in rows {
            stats.sources.push(SourceCount {
                source: r.try_get(0).map_err(storage)?,
                users: count(r.try_get(1).map_err(storage)?),
                without_credential: count(
                    r.try_get::<Option<i64>, _>(2)
                        .map_err(storage)?
                        .unwrap_or(0),
                ),
                first_at: r.try_get(3).map_err(storage)?,
                last_at: r.try_get(4).map_err(storage)?,
            });
        }
        // Group credentials by the part of the storage string that names the
        // scheme and never the salt, so a million bcrypt hashes are one
        // group; MIN(credential) is a sample the domain names the scheme by.
        let pos = match self.dialect {
            Dialect::Sqlite => "instr",
            Dialect::Postgres => "strpos",
        };
        let key = format!(
            "CASE \
               WHEN substr(credential, 1, 1) = '$' THEN substr(credential, 1, {pos}(substr(credential, 2), '$') + 1) \
               WHEN substr(credential, 1, 2) = '{{\"' THEN substr(credential, 1, {pos}(credential || ',', ',')) \
               WHEN substr(credential, 1, 1) = '{{' THEN substr(credential, 1, {pos}(credential, '}}')) \
               WHEN {pos}(credential, '$') > 0 THEN substr(credential, 1, {pos}(credential, '$')) \
               ELSE '' END"
        );
        let sql = format!(
            "SELECT COUNT(*), MIN(credential) FROM users \
             WHERE tenant_id = $1 AND connection_id = $2 AND credential IS NOT NULL \
             GROUP BY {key}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(connection_id)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        for r in rows {
            stats.credentials.push(CredentialGroup {
                users: count(r.try_get(0).map_err(storage)?),
                sample: r.try_get(1).map_err(storage)?,
            });
        }
        Ok(stats)
    }

    async fn insert_user(&self, tenant: &str, u: &User) -> CoreResult<InsertOutcome> {
        let sql = format!(
            "INSERT INTO users (tenant_id, {USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
        );
        let q = bind_user(sqlx::query(AssertSqlSafe(sql)).bind(tenant), u);
        match q.execute(&self.pool).await {
            Ok(_) => Ok(InsertOutcome::Inserted),
            Err(e) if is_unique_violation(&e) => Ok(InsertOutcome::Duplicate),
            Err(e) => Err(storage(e)),
        }
    }

    async fn get_user(&self, tenant: &str, user_id: &str) -> CoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND user_id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| decode_user(&r)).transpose()
    }

    async fn get_user_by_email(
        &self,
        tenant: &str,
        connection_id: &str,
        email: &str,
    ) -> CoreResult<Option<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND connection_id = $2 AND email = $3"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(connection_id)
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| decode_user(&r)).transpose()
    }

    async fn get_user_by_username(
        &self,
        tenant: &str,
        connection_id: &str,
        username: &str,
    ) -> CoreResult<Option<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND connection_id = $2 AND username = $3"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(connection_id)
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| decode_user(&r)).transpose()
    }

    async fn users_by_email(&self, tenant: &str, email: &str) -> CoreResult<Vec<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND email = $2 ORDER BY created_at, user_id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(email)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter().map(decode_user).collect()
    }

    async fn update_user(&self, tenant: &str, u: &User) -> CoreResult<Option<InsertOutcome>> {
        // The id and connection never change; every other column is replaced.
        let q = bind_user(sqlx::query(UPDATE_USER).bind(tenant), u);
        match q.execute(&self.pool).await {
            Ok(r) if r.rows_affected() > 0 => Ok(Some(InsertOutcome::Inserted)),
            Ok(_) => Ok(None),
            Err(e) if is_unique_violation(&e) => Ok(Some(InsertOutcome::Duplicate)),
            Err(e) => Err(storage(e)),
        }
    }

    async fn delete_user(&self, tenant: &str, user_id: &str) -> CoreResult<bool> {
        let r = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn delete_users_by_email(
        &self,
        tenant: &str,
        connection_id: &str,
        email: &str,
    ) -> CoreResult<u64> {
        let r = sqlx::query(
            "DELETE FROM users WHERE tenant_id = $1 AND connection_id = $2 AND email = $3",
        )
        .bind(tenant)
        .bind(connection_id)
        .bind(email)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected())
    }

    async fn record_login(
        &self,
        tenant: &str,
        user_id: &str,
        at: &str,
        ip: Option<&str>,
        new_credential: Option<&str>,
    ) -> CoreResult<()> {
        sqlx::query(
            "UPDATE users SET last_login = $3, last_ip = $4, logins_count = logins_count + 1, \
             credential = COALESCE($5, credential) WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(at)
        .bind(ip)
        .bind(new_credential)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn search_users(&self, tenant: &str, s: &UserSearch) -> CoreResult<UserPage> {
        let (filter, values) = match &s.query {
            Some(q) => search_sql::where_clause(q, self.dialect, 2),
            None => ("1=1".to_string(), Vec::new()),
        };
        let order = s
            .sort
            .as_ref()
            .map(|o| search_sql::order_by(o, self.dialect))
            .unwrap_or_else(|| "created_at ASC, user_id ASC".into());
        let count_sql = format!("SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND ({filter})");
        let total: i64 = bind_values(sqlx::query(AssertSqlSafe(count_sql)).bind(tenant), &values)
            .fetch_one(&self.pool)
            .await
            .map_err(storage)?
            .try_get(0)
            .map_err(storage)?;
        let page_sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND ({filter}) ORDER BY {order} LIMIT {} OFFSET {}",
            s.limit, s.offset
        );
        let rows = bind_values(sqlx::query(AssertSqlSafe(page_sql)).bind(tenant), &values)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        Ok(UserPage {
            users: rows.iter().map(decode_user).collect::<CoreResult<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn insert_import_job(
        &self,
        tenant: &str,
        job: &Job,
        file: &str,
        max_active: u64,
    ) -> CoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        // The count and the insert share one statement, so two concurrent
        // uploads on SQLite (one writer at a time) cannot both pass the limit.
        let r = sqlx::query(
            "INSERT INTO jobs (tenant_id, id, type, status, created_at, updated_at, body) \
             SELECT $1, $2, 'users_import', $3, $4, $4, $5 \
             WHERE (SELECT COUNT(*) FROM jobs WHERE tenant_id = $1 AND type = 'users_import' \
                    AND status IN ('pending', 'processing')) < $6",
        )
        .bind(tenant)
        .bind(&job.id)
        .bind(job.status.as_str())
        .bind(&job.created_at)
        .bind(to_body(&job.spec))
        .bind(as_i64(max_active))
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO job_blobs (tenant_id, job_id, lz4) VALUES ($1, $2, $3)")
            .bind(tenant)
            .bind(&job.id)
            .bind(packed::pack(file))
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(true)
    }

    async fn insert_export_job(&self, tenant: &str, job: &Job) -> CoreResult<()> {
        sqlx::query("INSERT INTO jobs (tenant_id, id, type, status, created_at, updated_at, body) VALUES ($1, $2, 'users_export', $3, $4, $4, $5)")
            .bind(tenant)
            .bind(&job.id)
            .bind(job.status.as_str())
            .bind(&job.created_at)
            .bind(to_body(&job.spec))
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn set_job_file(&self, tenant: &str, id: &str, content: &str) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO job_blobs (tenant_id, job_id, lz4) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, job_id) DO UPDATE SET lz4 = excluded.lz4",
        )
        .bind(tenant)
        .bind(id)
        .bind(packed::pack(content))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn get_job(&self, tenant: &str, id: &str) -> CoreResult<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| decode_job(&r)).transpose()
    }

    async fn job_file(&self, tenant: &str, id: &str) -> CoreResult<Option<String>> {
        let stored: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT lz4 FROM job_blobs WHERE tenant_id = $1 AND job_id = $2")
                .bind(tenant)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(storage)?;
        if let Some(stored) = stored {
            return packed::unpack(&stored).map(Some);
        }
        // A file stored before job files were compressed (migration 0006).
        sqlx::query_scalar("SELECT content FROM job_files WHERE tenant_id = $1 AND job_id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)
    }

    async fn claim_job(&self, now: i64, lease_secs: i64) -> CoreResult<Option<(String, Job)>> {
        let candidates = sqlx::query(
            "SELECT tenant_id, id FROM jobs WHERE status = 'pending' \
             OR (status = 'processing' AND lease_until < $1) ORDER BY created_at LIMIT 5",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        for c in candidates {
            let tenant: String = c.try_get("tenant_id").map_err(storage)?;
            let id: String = c.try_get("id").map_err(storage)?;
            // Conditional update: of several runners, exactly one wins the job.
            let r = sqlx::query(
                "UPDATE jobs SET status = 'processing', lease_until = $3, updated_at = $4 \
                 WHERE tenant_id = $1 AND id = $2 \
                 AND (status = 'pending' OR (status = 'processing' AND lease_until < $5))",
            )
            .bind(&tenant)
            .bind(&id)
            .bind(now + lease_secs)
            .bind(tern_core::clock::now_iso())
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
            if r.rows_affected() == 1
                && let Some(job) = self.get_job(&tenant, &id).await?
            {
                return Ok(Some((tenant, job)));
            }
        }
        Ok(None)
    }

    async fn set_job_total(&self, tenant: &str, id: &str, total: u64) -> CoreResult<()> {
        sqlx::query("UPDATE jobs SET total_rows = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .bind(as_i64(total))
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn apply_import_batch(
        &self,
        tenant: &str,
        job_id: &str,
        b: &ImportBatch,
        after: BatchGate,
    ) -> CoreResult<BatchApplied> {
        let (applied, inserted) = self.apply_batch(tenant, job_id, b, after).await?;
        let due = self.import_statistics.record(inserted);
        // Statistics serve the lookups, which optimistic batches skip.
        if self.dialect == Dialect::Postgres && due && !b.optimistic {
            self.analyze_users().await;
        }
        Ok(applied)
    }

    async fn finish_job(
        &self,
        tenant: &str,
        id: &str,
        status: JobStatus,
        details: Option<&str>,
    ) -> CoreResult<()> {
        sqlx::query("UPDATE jobs SET status = $3, status_details = $4, updated_at = $5, lease_until = 0 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .bind(status.as_str())
            .bind(details)
            .bind(tern_core::clock::now_iso())
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn job_errors(&self, tenant: &str, id: &str) -> CoreResult<Vec<serde_json::Value>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM job_errors WHERE tenant_id = $1 AND job_id = $2 ORDER BY row_index",
        )
        .bind(tenant)
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_str(r).ok())
            .collect())
    }

    async fn find_import_matches(
        &self,
        tenant: &str,
        connection_id: &str,
        emails: &[String],
        user_ids: &[String],
        usernames: &[String],
    ) -> CoreResult<Vec<User>> {
        // One indexed lookup per key (an OR of the three made PostgreSQL
        // scan the connection); a user matching twice is listed twice.
        let sql = [("email", 3), ("user_id", 4), ("username", 5)]
            .map(|(col, param)| {
                format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND connection_id = $2 \
                     AND {col} IN ({})",
                    bulk::json_text_list(self.dialect, param)
                )
            })
            .join(" UNION ALL ");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(connection_id)
            .bind(bulk::json_param(emails)?)
            .bind(bulk::json_param(user_ids)?)
            .bind(bulk::json_param(usernames)?)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter().map(decode_user).collect()
    }

    async fn purge_jobs(&self, before: &str) -> CoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        for table in ["job_blobs", "job_files", "job_errors"] {
            let sql = format!(
                "DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = {table}.tenant_id \
                 AND j.id = {table}.job_id AND j.created_at < $1 AND j.status IN ('completed', 'failed'))"
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(before)
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        let r = sqlx::query(
            "DELETE FROM jobs WHERE created_at < $1 AND status IN ('completed', 'failed')",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(r.rows_affected())
    }

    async fn insert_password_ticket(&self, tenant: &str, t: &PasswordTicket) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO password_tickets (tenant_id, token_hash, user_id, connection_id, created_at, \
             expires_at, used_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant)
        .bind(&t.token_hash)
        .bind(&t.user_id)
        .bind(&t.connection_id)
        .bind(&t.created_at)
        .bind(t.expires_at)
        .bind(t.used_at.as_deref())
        .bind(to_body(&t.options))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn get_password_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> CoreResult<Option<PasswordTicket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM password_tickets WHERE tenant_id = $1 AND token_hash = $2"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| decode_ticket(&r)).transpose()
    }

    async fn redeem_password_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
        now: i64,
        credential: &str,
    ) -> CoreResult<Redemption> {
        let at = tern_core::clock::now_iso();
        let mut tx = self.pool.begin().await.map_err(storage)?;
        // The conditional update is the single-use guarantee: of two
        // concurrent redemptions, the second finds used_at set (PostgreSQL
        // re-checks the row after the first commits; SQLite has one writer).
        let claimed = sqlx::query(
            "UPDATE password_tickets SET used_at = $3 WHERE tenant_id = $1 AND token_hash = $2 \
             AND used_at IS NULL AND expires_at > $4",
        )
        .bind(tenant)
        .bind(token_hash)
        .bind(&at)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM password_tickets WHERE tenant_id = $1 AND token_hash = $2"
        );
        let ticket = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(storage)?
            .map(|r| decode_ticket(&r))
            .transpose()?;
        let Some(ticket) = ticket else {
            return Ok(Redemption::Refused(None));
        };
        if claimed.rows_affected() == 0 {
            // Nothing was written: the row says whether it was used or expired.
            return Ok(Redemption::Refused(Some(ticket.state(now))));
        }
        let user = sqlx::query(
            "UPDATE users SET credential = $3, updated_at = $4, \
             email_verified = CASE WHEN $5 = 1 THEN 1 ELSE email_verified END \
             WHERE tenant_id = $1 AND user_id = $2 AND connection_id = $6",
        )
        .bind(tenant)
        .bind(&ticket.user_id)
        .bind(credential)
        .bind(&at)
        .bind(i64::from(ticket.options.mark_email_as_verified))
        .bind(&ticket.connection_id)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        if user.rows_affected() == 0 {
            tx.rollback().await.map_err(storage)?;
            return Ok(Redemption::UserGone);
        }
        // One reset closes every other link the user was sent.
        sqlx::query(
            "UPDATE password_tickets SET used_at = $3 WHERE tenant_id = $1 AND user_id = $2 \
             AND used_at IS NULL",
        )
        .bind(tenant)
        .bind(&ticket.user_id)
        .bind(&at)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(Redemption::Done(ticket))
    }

    async fn purge_password_tickets(&self, before: i64) -> CoreResult<u64> {
        let r = sqlx::query("DELETE FROM password_tickets WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected())
    }

    async fn insert_outbox(&self, tenant: &str, m: &OutboxMessage) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO outbox (tenant_id, id, created_at, kind, recipient, subject, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant)
        .bind(&m.id)
        .bind(&m.created_at)
        .bind(&m.kind)
        .bind(&m.to)
        .bind(&m.subject)
        .bind(&m.text)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn list_outbox(
        &self,
        tenant: &str,
        offset: u64,
        limit: u64,
    ) -> CoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "SELECT id, created_at, kind, recipient, subject, body FROM outbox \
             WHERE tenant_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3",
        )
        .bind(tenant)
        .bind(as_i64(limit))
        .bind(as_i64(offset))
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter()
            .map(|r| {
                Ok(OutboxMessage {
                    id: r.try_get("id").map_err(storage)?,
                    created_at: r.try_get("created_at").map_err(storage)?,
                    kind: r.try_get("kind").map_err(storage)?,
                    to: r.try_get("recipient").map_err(storage)?,
                    subject: r.try_get("subject").map_err(storage)?,
                    text: r.try_get("body").map_err(storage)?,
                })
            })
            .collect()
    }

    async fn append_log(&self, tenant: &str, e: &LogEvent) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO logs (tenant_id, id, type, date, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant)
        .bind(&e.id)
        .bind(&e.kind)
        .bind(&e.date)
        .bind(to_body(e))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn list_logs(
        &self,
        tenant: &str,
        kind: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> CoreResult<(Vec<LogEvent>, u64)> {
        let filter = if kind.is_some() { "AND type = $2" } else { "" };
        let count_sql = format!("SELECT COUNT(*) FROM logs WHERE tenant_id = $1 {filter}");
        let page_sql = format!(
            "SELECT body FROM logs WHERE tenant_id = $1 {filter} ORDER BY seq DESC LIMIT {limit} OFFSET {offset}"
        );
        let mut count = sqlx::query(AssertSqlSafe(count_sql)).bind(tenant);
        let mut page = sqlx::query(AssertSqlSafe(page_sql)).bind(tenant);
        if let Some(k) = kind {
            count = count.bind(k);
            page = page.bind(k);
        }
        let total: i64 = count
            .fetch_one(&self.pool)
            .await
            .map_err(storage)?
            .try_get(0)
            .map_err(storage)?;
        let rows = page.fetch_all(&self.pool).await.map_err(storage)?;
        let events = rows.iter().map(decode_body).collect::<CoreResult<_>>()?;
        Ok((events, u64::try_from(total).unwrap_or(0)))
    }
}
