//! The `Store` implementation over sqlx `AnyPool`: the pool and the helpers
//! every entity shares here, one module per entity trait beside it.

mod actions;
mod authorization_codes;
mod client_grants;
mod clients;
mod connections;
mod console_imports;
mod email_templates;
mod grants;
mod jobs;
mod login_failures;
mod login_transactions;
mod logs;
mod metadata_edits;
mod mfa;
mod outbox;
mod password_logins;
mod rate_windows;
mod resource_servers;
mod roles;
mod search_conn;
mod sessions;
mod signing_keys;
mod tenant_settings;
mod tenants;
mod tickets;
mod user_search;
mod users;
mod verification_tickets;

pub(crate) use users::{USER_COLUMNS, mfa_factors_column};

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::query::Query as SqlxQuery;
// Dynamic SQL in this store is built only from constants and from
// `search_sql`, which binds every user value as a parameter; that is what
// `AssertSqlSafe` asserts wherever it appears.
use sqlx::postgres::PgPoolOptions;
use sqlx::{Any, AnyPool, AssertSqlSafe, Executor, PgPool, Row};
use tern_core::model::JsonObject;
use tern_core::{CoreError, CoreResult};

use crate::search_sql::Dialect;
use crate::statistics::ImportStatistics;
use crate::wal::Checkpointer;

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

/// How long a pooled PostgreSQL connection may sit idle and still be used
/// without a ping first (see `SqlStore::open`).
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// Tern's store on SQLite or PostgreSQL.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    /// When bulk imports should refresh PostgreSQL's planner statistics.
    import_statistics: std::sync::Arc<ImportStatistics>,
    /// PostgreSQL only: a small native pool for what `Any` cannot do or
    /// does slowly — COPY (see `copy_users`) and export pages read by the
    /// million (`users_after`). It connects on first use.
    native_pg: Option<PgPool>,
    /// SQLite in a file only: a native pool of two readers for export pages
    /// read by the million (`users_after`), as `native_pg` is for PostgreSQL.
    native_sqlite: Option<sqlx::SqlitePool>,
    /// SQLite in a file only: native connections for user searches with a
    /// deadline, whose progress handler can stop a statement (`Any`
    /// connections cannot reach it; see `search_conn`).
    search_sqlite: Option<sqlx::SqlitePool>,
    /// SQLite in a file (WAL) only: checkpoints after import batches (see `wal`).
    checkpointer: Option<std::sync::Arc<Checkpointer>>,
    /// SQLite only: import batches take turns here before they write.
    /// SQLite has one writer at a time, and a writer that finds the lock
    /// taken sleeps in its busy handler in steps of up to 100 ms, so two
    /// jobs' batches contending for it left the database idle between
    /// them; queued here, each starts as soon as the one before commits.
    import_writer: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

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
        // sqlx pings a connection when it goes back to the pool and, by
        // default, again each time it is taken out: a round trip (PostgreSQL)
        // or a hop to the connection's thread (SQLite) before every query,
        // a large share of a password login's own time. A connection that
        // went back less than `IDLE_BEFORE_PING` ago passed the first ping
        // just now; only one idle longer (the server or a proxy may have
        // dropped it) is pinged again before use. SQLite's are in-process.
        let mut options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(false);
        if dialect == Dialect::Postgres {
            options = options.before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_PING {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            });
        }
        if dialect == Dialect::Sqlite {
            // One writer at a time is SQLite's nature; WAL lets readers go on
            // while it writes, and busy_timeout makes writers queue instead of fail.
            options = options
                .max_connections(if url.contains(":memory:") { 1 } else { 8 })
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // A 64 MiB page cache per connection (SQLite's
                        // default is 2 MiB): an import writes into every
                        // index of `users` and `user_metadata_values` at
                        // random places, and past a few hundred thousand
                        // users the default cache made each row a round of
                        // page reads. Pages are allocated as they are used.
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; \
                             PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; \
                             PRAGMA cache_size=-65536;",
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
        let native_pg = match dialect {
            Dialect::Sqlite => None,
            // One connection per job runner is plenty.
            Dialect::Postgres => Some(
                PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_lazy(&url)
                    .map_err(StoreOpenError::Connect)?,
            ),
        };
        let native_sqlite = match dialect {
            // Readers only; WAL lets them read while the writer writes. An
            // export reads the users table once from end to end, which a
            // large page cache does not speed up (the operating system's
            // caches the file; measured the same at 1 000 000 users), so
            // 8 MiB each instead of the 64 MiB of the other connections.
            Dialect::Sqlite if !url.contains(":memory:") => {
                Some(sqlite_readers(2).connect_lazy_with(sqlite_reader(&url, 8192)?))
            }
            _ => None,
        };
        // Searches are few at once (the server gives them two turns) and
        // read what logins read, so they get the main pool's page cache.
        // The progress handler a search set is removed before the
        // connection serves the next one.
        let search_sqlite = match dialect {
            Dialect::Sqlite if !url.contains(":memory:") => Some(
                sqlite_readers(4)
                    .after_release(|conn, _| {
                        Box::pin(async move {
                            conn.lock_handle().await?.remove_progress_handler();
                            Ok(true)
                        })
                    })
                    .connect_lazy_with(sqlite_reader(&url, 65536)?),
            ),
            _ => None,
        };
        let checkpointer =
            (dialect == Dialect::Sqlite && !url.contains(":memory:")).then(std::sync::Arc::default);
        let import_writer = (dialect == Dialect::Sqlite).then(std::sync::Arc::default);
        Ok(Self {
            pool,
            dialect,
            import_statistics: Default::default(),
            native_pg,
            native_sqlite,
            search_sqlite,
            checkpointer,
            import_writer,
        })
    }

    /// The backend in use.
    pub fn dialect(&self) -> Dialect {
        self.dialect
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

/// A native pool of `max` SQLite connections beside the `Any` pool.
fn sqlite_readers(max: u32) -> sqlx::sqlite::SqlitePoolOptions {
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(max)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
}

/// A reading connection to the SQLite database at `url` with a page cache
/// of `cache_kib`; it waits for a writer as the `Any` pool's do.
fn sqlite_reader(
    url: &str,
    cache_kib: u32,
) -> Result<sqlx::sqlite::SqliteConnectOptions, StoreOpenError> {
    Ok(url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .map_err(StoreOpenError::Connect)?
        .busy_timeout(Duration::from_secs(10))
        .pragma("cache_size", format!("-{cache_kib}")))
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

fn decode_body<T: DeserializeOwned>(row: &AnyRow) -> CoreResult<T> {
    let body: String = row.try_get("body").map_err(storage)?;
    serde_json::from_str(&body)
        .map_err(|e| CoreError::Storage(format!("corrupt stored document: {e}")))
}

/// Operator metadata as stored: a JSON object, or NULL for none.
fn metadata_text(m: &tern_core::access_metadata::Metadata) -> Option<String> {
    (!m.is_empty()).then(|| to_body(m))
}

/// The `metadata` column of `row`.
fn decode_metadata(row: &AnyRow) -> CoreResult<tern_core::access_metadata::Metadata> {
    let text: Option<String> = row.try_get("metadata").map_err(storage)?;
    text.map_or(Ok(Default::default()), |t| {
        serde_json::from_str(&t).map_err(|e| CoreError::Storage(format!("corrupt metadata: {e}")))
    })
}

fn decode_object(s: &str) -> JsonObject {
    serde_json::from_str(s).unwrap_or_default()
}

pub(crate) fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
