//! The connection one search (of users, or of the tenant log) runs its
//! statements on, which stops them at the search's deadline, so that a
//! search its caller gave up on stops using the database instead of
//! walking a million users (or events) to its end.
//!
//! - PostgreSQL: the statements run in a transaction that sets
//!   `statement_timeout` (as `SET LOCAL` does) to the time left before each
//!   of them; the server cancels one past it (`57014 query_canceled`). The
//!   transaction is rolled back before the connection goes back to the pool.
//! - SQLite in a file: a connection of the search pool (`SqlStore::
//!   search_sqlite`) with a progress handler that interrupts the statement
//!   once past the deadline (`SQLITE_INTERRUPT`); the pool removes the
//!   handler before the connection serves anyone else.
//! - Without a deadline, or SQLite in memory (one connection, which the
//!   search pool could not share): the store's pool, unbounded.
//!
//! Either interruption is [`CoreError::Timeout`].

use std::time::Instant;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, AssertSqlSafe, ColumnIndex, Decode, Row, Sqlite, Transaction, Type};
use tern_core::model::{LogEvent, User};
use tern_core::{CoreError, CoreResult};

use super::storage;
use super::users::decode_user;
use crate::search_sql::SqlValue;

/// SQLite virtual-machine steps between two looks at the clock: tens of
/// microseconds of work, so the interruption comes right after the
/// deadline and the clock costs nothing measurable.
const STEPS_PER_CHECK: i32 = 1_000;

/// How long after its computation a PostgreSQL bound may still serve a
/// statement: the statement then ends at most this long after the deadline
/// (20 ms past a 2 s limit). Statements that start within it run under the
/// bound already set — for most searches every statement does, so they pay
/// only `BEGIN` and `ROLLBACK` — and a later one gets a fresh bound.
const BOUND_SLACK: std::time::Duration = std::time::Duration::from_millis(20);

/// PostgreSQL's `query_canceled`: a statement stopped by `statement_timeout`.
const PG_QUERY_CANCELED: &str = "57014";

/// SQLite's `SQLITE_INTERRUPT`: a statement stopped by the progress handler.
const SQLITE_INTERRUPT: &str = "9";

/// Run `$body` with `$q`, the query `$sql` with `$binds` bound for the
/// connection's database, and `$ex`, the executor to run it on.
macro_rules! on_search_conn {
    ($conn:expr, $sql:expr, $binds:expr, |$q:ident, $ex:ident| $body:block) => {{
        macro_rules! bound {
            ($db:ty) => {{
                let mut q = sqlx::query::<$db>(AssertSqlSafe($sql));
                for v in $binds {
                    q = match v {
                        SqlValue::Text(s) => q.bind(s.as_str()),
                        SqlValue::Int(i) => q.bind(*i),
                    };
                }
                q
            }};
        }
        $conn.bound_next_statement().await?;
        match $conn {
            SearchConn::Postgres { tx, .. } => {
                let $q = bound!(Any);
                let $ex = &mut **tx;
                $body
            }
            SearchConn::Sqlite(conn) => {
                let $q = bound!(Sqlite);
                let $ex = &mut **conn;
                $body
            }
            SearchConn::Unbounded(pool) => {
                let $q = bound!(Any);
                let $ex = *pool;
                $body
            }
        }
    }};
}

/// A connection a search runs on (see the module docs).
pub(super) enum SearchConn<'p> {
    /// PostgreSQL with a deadline: a transaction whose statements are
    /// bounded by it.
    Postgres {
        tx: Transaction<'static, Any>,
        deadline: Instant,
        /// When the `statement_timeout` in force was computed (first by
        /// `BEGIN`).
        bound_at: Instant,
    },
    /// SQLite in a file with a deadline: the progress handler is set.
    Sqlite(PoolConnection<Sqlite>),
    /// No bound: the store's pool.
    Unbounded(&'p AnyPool),
}

impl<'p> SearchConn<'p> {
    /// A connection for a search ending at `deadline`, from `pool` (the
    /// store's) or, for SQLite in a file, from `sqlite` (the search pool).
    /// Waiting for a connection counts towards the deadline.
    pub(super) async fn open(
        pool: &'p AnyPool,
        sqlite: Option<&sqlx::SqlitePool>,
        postgres: bool,
        deadline: Option<Instant>,
    ) -> CoreResult<Self> {
        let Some(deadline) = deadline else {
            return Ok(Self::Unbounded(pool));
        };
        let until = tokio::time::Instant::from_std(deadline);
        if let Some(sqlite) = sqlite {
            let mut conn = tokio::time::timeout_at(until, sqlite.acquire())
                .await
                .map_err(|_| CoreError::Timeout)?
                .map_err(storage)?;
            conn.lock_handle()
                .await
                .map_err(storage)?
                .set_progress_handler(STEPS_PER_CHECK, move || Instant::now() < deadline);
            Ok(Self::Sqlite(conn))
        } else if postgres {
            // The first statement's bound is set with `BEGIN` (one round
            // trip fewer); the others' before each (see `bound_next_statement`).
            let now = Instant::now();
            let begin = format!(
                "BEGIN; SET LOCAL statement_timeout = {}",
                ms_left(deadline, now)
            );
            let tx = tokio::time::timeout_at(until, pool.begin_with(AssertSqlSafe(begin)))
                .await
                .map_err(|_| CoreError::Timeout)?
                .map_err(storage)?;
            Ok(Self::Postgres {
                tx,
                deadline,
                bound_at: now,
            })
        } else {
            Ok(Self::Unbounded(pool))
        }
    }

    /// The users `sql` selects (its columns `USER_COLUMNS`), `binds` bound
    /// in order.
    pub(super) async fn users(&mut self, sql: String, binds: &[SqlValue]) -> CoreResult<Vec<User>> {
        on_search_conn!(self, sql, binds, |q, ex| {
            let rows = q.fetch_all(ex).await.map_err(search_error)?;
            rows.iter().map(decode_user).collect()
        })
    }

    /// The log events `sql` selects (its column `body`), `binds` bound in
    /// order.
    pub(super) async fn events(
        &mut self,
        sql: String,
        binds: &[SqlValue],
    ) -> CoreResult<Vec<LogEvent>> {
        on_search_conn!(self, sql, binds, |q, ex| {
            let rows = q.fetch_all(ex).await.map_err(search_error)?;
            rows.iter().map(first_document).collect()
        })
    }

    /// The number `sql` (a `SELECT COUNT(*) …`) counts, `binds` bound in order.
    pub(super) async fn count(&mut self, sql: String, binds: &[SqlValue]) -> CoreResult<i64> {
        on_search_conn!(self, sql, binds, |q, ex| {
            first_integer(&q.fetch_one(ex).await.map_err(search_error)?)
        })
    }

    /// Give the connection back: a PostgreSQL transaction is rolled back
    /// (it only read; after a cancel it can only roll back) whatever
    /// `outcome` was; a SQLite connection's progress handler is removed by
    /// the search pool (`SqlStore::open`).
    pub(super) async fn close<T>(self, outcome: CoreResult<T>) -> CoreResult<T> {
        if let Self::Postgres { tx, .. } = self
            && let Err(e) = tx.rollback().await
        {
            // The search's answer stands; a connection whose rollback
            // failed is broken, and the pool's ping as it goes back closes it.
            tracing::warn!(error = %e, "rolling back a user search failed");
        }
        outcome
    }

    /// PostgreSQL: bound the next statement by the time left. The bound in
    /// force serves it while it is younger than [`BOUND_SLACK`].
    async fn bound_next_statement(&mut self) -> CoreResult<()> {
        if let Self::Postgres {
            tx,
            deadline,
            bound_at,
        } = self
        {
            if bound_at.elapsed() < BOUND_SLACK {
                return Ok(());
            }
            let now = Instant::now();
            // `set_config(…, true)` is `SET LOCAL` with a bound value, so
            // one prepared statement serves every search.
            sqlx::query("SELECT set_config('statement_timeout', $1, true)")
                .bind(ms_left(*deadline, now).to_string())
                .execute(&mut **tx)
                .await
                .map_err(storage)?;
            *bound_at = now;
        }
        Ok(())
    }
}

/// Milliseconds from `now` to `deadline`, at least 1 (0 would lift
/// `statement_timeout`).
fn ms_left(deadline: Instant, now: Instant) -> u128 {
    deadline
        .saturating_duration_since(now)
        .as_millis()
        .clamp(1, u128::from(u32::MAX))
}

/// A statement's error: the deadline's interruption on either backend is
/// [`CoreError::Timeout`], anything else a storage failure.
fn search_error(e: sqlx::Error) -> CoreError {
    let code = e.as_database_error().and_then(|d| d.code());
    match code.as_deref() {
        Some(PG_QUERY_CANCELED | SQLITE_INTERRUPT) => CoreError::Timeout,
        _ => storage(e),
    }
}

/// A row's first column, a stored JSON document.
fn first_document<R: Row, T: serde::de::DeserializeOwned>(row: &R) -> CoreResult<T>
where
    usize: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    let body: String = row.try_get(0).map_err(storage)?;
    serde_json::from_str(&body)
        .map_err(|e| CoreError::Storage(format!("corrupt stored document: {e}")))
}

fn first_integer<R: Row>(row: &R) -> CoreResult<i64>
where
    usize: ColumnIndex<R>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(0).map_err(storage)
}
