//! One legacy database, whichever its engine: a lazily connected pool,
//! statements run with bound values, rows read into plain cells.
//!
//! Typed pools (not sqlx's `Any`) so that each engine's column types can be
//! read: PostgreSQL `bool`, `jsonb` and `uuid`, MySQL `TINYINT(1)`, SQLite's
//! dynamic values.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgValueFormat};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{
    AssertSqlSafe, Column, ColumnIndex, Decode, Either, Executor, Row as _, SqlSafeStr,
    Statement as _, Type, TypeInfo, ValueRef,
};

use super::config::Backend;
use super::statement::{Param, Statement};

/// Connections kept per legacy database: logins are short and the legacy
/// server is someone else's.
const MAX_CONNECTIONS: u32 = 4;

/// A column value, as far as a profile needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Bytes from a binary column.
    Bytes(Vec<u8>),
}

impl Cell {
    /// The value as text (numbers and booleans printed, binary as UTF-8);
    /// `None` for NULL and for binary data that is not UTF-8.
    pub fn text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Text(s) => Some(s.clone()),
            Cell::Int(n) => Some(n.to_string()),
            Cell::Float(f) => Some(f.to_string()),
            Cell::Bool(b) => Some(b.to_string()),
            Cell::Bytes(b) => String::from_utf8(b.clone()).ok(),
        }
    }
}

/// One result row: column names as the query labelled them, with values.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<(String, Cell)>);

impl Row {
    /// The value of a column, matched case-insensitively (PostgreSQL folds
    /// unquoted names to lower case, MySQL keeps them as written).
    pub fn get(&self, column: &str) -> Option<&Cell> {
        self.0
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(column))
            .map(|(_, c)| c)
    }

    /// The column names, for messages.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(|(n, _)| n.as_str()).collect();
        names.join(", ")
    }
}

/// How PostgreSQL inferred a parameter's type: integers are bound as
/// `bigint` so `WHERE id = :user_id` works on an integer id column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgKind {
    /// `smallint`, `integer`, `bigint`.
    Int,
    /// Anything else.
    Text,
}

/// A pool on one of the three engines.
pub enum Db {
    /// PostgreSQL, with the parameter types inferred per statement.
    Pg {
        /// The pool.
        pool: PgPool,
        /// SQL → parameter kinds.
        kinds: Mutex<HashMap<String, Arc<Vec<PgKind>>>>,
    },
    /// MySQL or MariaDB.
    My(MySqlPool),
    /// SQLite.
    Lite(SqlitePool),
}

impl Db {
    /// A pool that connects on first use. Without `writable` the sessions
    /// are read-only (SQLite opened read-only, PostgreSQL
    /// `default_transaction_read_only`, MySQL `SESSION TRANSACTION READ
    /// ONLY`): the lookup query cannot change the legacy data.
    pub fn open(
        backend: Backend,
        dsn: &str,
        writable: bool,
        timeout: Duration,
    ) -> Result<Db, String> {
        let idle = Some(Duration::from_secs(300));
        match backend {
            Backend::Postgres => {
                let url = url::Url::parse(dsn).map_err(|e| e.to_string())?;
                let mut opts = PgConnectOptions::from_str(dsn)
                    .map_err(|e| e.to_string())?
                    .application_name("tern-sql-connector");
                // Never fall back to the server's own PGPASSWORD.
                if url.password().is_none() {
                    opts = opts.password("");
                }
                if !writable {
                    opts = opts.options([("default_transaction_read_only", "on")]);
                }
                let pool = PgPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .acquire_timeout(timeout)
                    .idle_timeout(idle)
                    .connect_lazy_with(opts);
                Ok(Db::Pg {
                    pool,
                    kinds: Mutex::new(HashMap::new()),
                })
            }
            Backend::MySql => {
                let opts = MySqlConnectOptions::from_str(dsn).map_err(|e| e.to_string())?;
                let mut pool = MySqlPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .acquire_timeout(timeout)
                    .idle_timeout(idle);
                if !writable {
                    pool = pool.after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                            Ok(())
                        })
                    });
                }
                Ok(Db::My(pool.connect_lazy_with(opts)))
            }
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(dsn)
                    .map_err(|e| e.to_string())?
                    // A mistyped path must fail, not create an empty database.
                    .create_if_missing(false)
                    .read_only(!writable);
                Ok(Db::Lite(
                    SqlitePoolOptions::new()
                        .max_connections(MAX_CONNECTIONS)
                        .acquire_timeout(timeout)
                        .idle_timeout(idle)
                        .connect_lazy_with(opts),
                ))
            }
        }
    }

    /// Run a query and return its first two rows: one is a user, two is an
    /// ambiguity the caller refuses, more are never read.
    pub async fn fetch_two(
        &self,
        stmt: &Statement,
        value: &(dyn Fn(Param) -> Option<String> + Sync),
    ) -> Result<Vec<Row>, String> {
        let sql = || AssertSqlSafe(stmt.sql.clone());
        match self {
            Db::Pg { pool, kinds } => {
                let kinds = pg_kinds(pool, kinds, &stmt.sql).await?;
                let mut q = sqlx::query(sql());
                for (i, p) in stmt.binds.iter().enumerate() {
                    let v = value(*p);
                    q = match kinds.get(i) {
                        Some(PgKind::Int) => q.bind(v.and_then(|v| v.trim().parse::<i64>().ok())),
                        _ => q.bind(v),
                    };
                }
                first_two(q.fetch(pool), |r| read(r, pg_special)).await
            }
            Db::My(pool) => {
                let mut q = sqlx::query(sql());
                for p in &stmt.binds {
                    q = q.bind(value(*p));
                }
                first_two(q.fetch(pool), |r| read(r, |_, _| None)).await
            }
            Db::Lite(pool) => {
                let mut q = sqlx::query(sql());
                for p in &stmt.binds {
                    q = q.bind(value(*p));
                }
                first_two(q.fetch(pool), |r| read(r, |_, _| None)).await
            }
        }
    }

    /// Run a statement; the number of rows it changed.
    pub async fn execute(
        &self,
        stmt: &Statement,
        value: &(dyn Fn(Param) -> Option<String> + Sync),
    ) -> Result<u64, String> {
        let sql = || AssertSqlSafe(stmt.sql.clone());
        let e = |e: sqlx::Error| e.to_string();
        match self {
            Db::Pg { pool, kinds } => {
                let kinds = pg_kinds(pool, kinds, &stmt.sql).await?;
                let mut q = sqlx::query(sql());
                for (i, p) in stmt.binds.iter().enumerate() {
                    let v = value(*p);
                    q = match kinds.get(i) {
                        Some(PgKind::Int) => q.bind(v.and_then(|v| v.trim().parse::<i64>().ok())),
                        _ => q.bind(v),
                    };
                }
                q.execute(pool).await.map(|r| r.rows_affected()).map_err(e)
            }
            Db::My(pool) => {
                let mut q = sqlx::query(sql());
                for p in &stmt.binds {
                    q = q.bind(value(*p));
                }
                q.execute(pool).await.map(|r| r.rows_affected()).map_err(e)
            }
            Db::Lite(pool) => {
                let mut q = sqlx::query(sql());
                for p in &stmt.binds {
                    q = q.bind(value(*p));
                }
                q.execute(pool).await.map(|r| r.rows_affected()).map_err(e)
            }
        }
    }
}

/// The parameter types PostgreSQL infers for a statement (asked once per
/// statement and pool).
async fn pg_kinds(
    pool: &PgPool,
    cache: &Mutex<HashMap<String, Arc<Vec<PgKind>>>>,
    sql: &str,
) -> Result<Arc<Vec<PgKind>>, String> {
    if let Some(k) = cache.lock().ok().and_then(|c| c.get(sql).cloned()) {
        return Ok(k);
    }
    let stmt = pool
        .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
        .await
        .map_err(|e| e.to_string())?;
    let kinds: Vec<PgKind> = match stmt.parameters() {
        Some(Either::Left(types)) => types
            .iter()
            .map(|t| match t.name() {
                "INT2" | "INT4" | "INT8" => PgKind::Int,
                _ => PgKind::Text,
            })
            .collect(),
        _ => Vec::new(),
    };
    let kinds = Arc::new(kinds);
    if let Ok(mut c) = cache.lock() {
        c.insert(sql.to_string(), kinds.clone());
    }
    Ok(kinds)
}

async fn first_two<R>(
    mut rows: BoxStream<'_, Result<R, sqlx::Error>>,
    read: impl Fn(&R) -> Result<Row, String>,
) -> Result<Vec<Row>, String> {
    let mut out = Vec::new();
    while out.len() < 2 {
        match rows.try_next().await.map_err(|e| e.to_string())? {
            Some(r) => out.push(read(&r)?),
            None => break,
        }
    }
    Ok(out)
}

/// Read every column of a row; `special` reads engine-specific types the
/// common decoders do not.
fn read<R>(row: &R, special: impl Fn(&R, usize) -> Option<Cell>) -> Result<Row, String>
where
    R: sqlx::Row,
    usize: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database>,
    for<'r> i64: Decode<'r, R::Database>,
    for<'r> i32: Decode<'r, R::Database>,
    for<'r> i16: Decode<'r, R::Database>,
    for<'r> bool: Decode<'r, R::Database>,
    for<'r> f64: Decode<'r, R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database>,
    String: Type<R::Database>,
    i64: Type<R::Database>,
    i32: Type<R::Database>,
    i16: Type<R::Database>,
    bool: Type<R::Database>,
    f64: Type<R::Database>,
    Vec<u8>: Type<R::Database>,
{
    let mut cells = Vec::with_capacity(row.columns().len());
    for (i, col) in row.columns().iter().enumerate() {
        let cell = decode(row, i).or_else(|| special(row, i)).ok_or_else(|| {
            let ty = row
                .try_get_raw(i)
                .map(|v| v.type_info().name().to_string())
                .unwrap_or_default();
            format!(
                "the lookup query returns column '{}' of type {ty}, which the connector cannot read; cast it to text in the query",
                col.name()
            )
        })?;
        cells.push((col.name().to_string(), cell));
    }
    Ok(Row(cells))
}

fn decode<R>(row: &R, i: usize) -> Option<Cell>
where
    R: sqlx::Row,
    usize: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database>,
    for<'r> i64: Decode<'r, R::Database>,
    for<'r> i32: Decode<'r, R::Database>,
    for<'r> i16: Decode<'r, R::Database>,
    for<'r> bool: Decode<'r, R::Database>,
    for<'r> f64: Decode<'r, R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database>,
    String: Type<R::Database>,
    i64: Type<R::Database>,
    i32: Type<R::Database>,
    i16: Type<R::Database>,
    bool: Type<R::Database>,
    f64: Type<R::Database>,
    Vec<u8>: Type<R::Database>,
{
    if row.try_get_raw(i).ok()?.is_null() {
        return Some(Cell::Null);
    }
    row.try_get::<String, _>(i)
        .ok()
        .map(Cell::Text)
        .or_else(|| row.try_get::<i64, _>(i).ok().map(Cell::Int))
        .or_else(|| row.try_get::<i32, _>(i).ok().map(|n| Cell::Int(n.into())))
        .or_else(|| row.try_get::<i16, _>(i).ok().map(|n| Cell::Int(n.into())))
        .or_else(|| row.try_get::<bool, _>(i).ok().map(Cell::Bool))
        .or_else(|| row.try_get::<f64, _>(i).ok().map(Cell::Float))
        .or_else(|| row.try_get::<Vec<u8>, _>(i).ok().map(Cell::Bytes))
}

/// PostgreSQL `json`, `jsonb` and `uuid`, read from their binary form.
fn pg_special(row: &sqlx::postgres::PgRow, i: usize) -> Option<Cell> {
    let v = row.try_get_raw(i).ok()?;
    if v.format() != PgValueFormat::Binary {
        return v.as_str().ok().map(|s| Cell::Text(s.to_string()));
    }
    let name = v.type_info().name().to_string();
    let bytes = v.as_bytes().ok()?;
    match name.as_str() {
        "JSON" => String::from_utf8(bytes.to_vec()).ok().map(Cell::Text),
        // jsonb's binary form is a version byte (1) and the JSON text.
        "JSONB" if bytes.first() == Some(&1) => {
            String::from_utf8(bytes[1..].to_vec()).ok().map(Cell::Text)
        }
        "UUID" if bytes.len() == 16 => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            Some(Cell::Text(format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            )))
        }
        _ => None,
    }
}
