//! One legacy database, whichever its engine: a few kept connections,
//! statements run with bound values, rows read into plain cells.
//!
//! Typed connections (not sqlx's `Any`) so that each engine's column types
//! can be read: PostgreSQL `bool`, `jsonb` and `uuid`, MySQL `TINYINT(1)`,
//! SQLite's dynamic values.
//!
//! Connections are kept by [`Conns`] rather than a sqlx pool: a sqlx pool
//! retries a refused connection until its acquire timeout and then reports
//! only "pool timed out", while a login must fail at once and the tenant log
//! must say why (connection refused, authentication failed, unknown database).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode, PgValueFormat};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{
    AssertSqlSafe, Column, ColumnIndex, Connection, Decode, Either, Executor, Row as _, SqlSafeStr,
    Statement as _, Type, TypeInfo, ValueRef,
};
use tokio::sync::Semaphore;

use super::config::Backend;
use super::statement::{Param, Statement};

/// Connections open at once per legacy database: logins are short and the
/// legacy server is someone else's.
const MAX_CONNECTIONS: usize = 4;
/// A kept connection older than this is closed rather than reused (servers
/// and firewalls drop idle connections).
const MAX_IDLE: Duration = Duration::from_secs(120);

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

/// Where a network database is: every new connection resolves `host`
/// through the network policy and connects to a checked address.
pub struct Target<O> {
    network: tern_net::Network,
    host: String,
    port: u16,
    /// The options with the host replaced by a checked address (or kept,
    /// when TLS verifies the host name: the certificate then binds the
    /// connection to the name that was checked).
    pin: fn(&O, &str) -> O,
}

/// Up to [`MAX_CONNECTIONS`] connections to one database, opened on demand
/// and kept while fresh.
pub struct Conns<C: Connection> {
    options: C::Options,
    /// `None` for SQLite (a file checked once, when the connector is built).
    target: Option<Target<C::Options>>,
    /// Run on every new connection (MySQL's read-only session).
    init: Option<&'static str>,
    idle: Mutex<Vec<(C, Instant)>>,
    permits: Semaphore,
}

/// Whether an error means the connection itself is gone (worth one retry
/// on a fresh connection when it was a kept one).
fn broken(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
    )
}

impl<C> Conns<C>
where
    C: Connection,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    fn new(
        options: C::Options,
        target: Option<Target<C::Options>>,
        init: Option<&'static str>,
    ) -> Self {
        Self {
            options,
            target,
            init,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(MAX_CONNECTIONS),
        }
    }

    async fn connect(&self) -> Result<C, sqlx::Error> {
        let mut c = match &self.target {
            None => C::connect_with(&self.options).await?,
            Some(t) => {
                let addrs = t
                    .network
                    .resolve(&t.host, t.port)
                    .await
                    .map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
                let mut last = None;
                let mut opened = None;
                for addr in addrs {
                    match C::connect_with(&(t.pin)(&self.options, &addr.ip().to_string())).await {
                        Ok(c) => {
                            opened = Some(c);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                match (opened, last) {
                    (Some(c), _) => c,
                    (None, Some(e)) => return Err(e),
                    (None, None) => {
                        return Err(sqlx::Error::Configuration(
                            format!("{} has no address", t.host).into(),
                        ));
                    }
                }
            }
        };
        if let Some(init) = self.init {
            (&mut c).execute(init).await?;
        }
        Ok(c)
    }

    /// A kept connection (`true`) or a new one (`false`).
    async fn take(&self) -> Result<(C, bool), sqlx::Error> {
        let kept = self.idle.lock().ok().and_then(|mut idle| {
            idle.retain(|(_, since)| since.elapsed() < MAX_IDLE);
            idle.pop()
        });
        match kept {
            Some((c, _)) => Ok((c, true)),
            None => Ok((self.connect().await?, false)),
        }
    }

    fn put(&self, c: C) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push((c, Instant::now()));
        }
    }
}

/// Run `$body` (a future using `$conn: &mut C`) on a connection of `$conns`;
/// a kept connection found broken is replaced once by a new one.
macro_rules! on_connection {
    ($conns:expr, |$conn:ident| $body:expr) => {{
        let conns = $conns;
        let _permit = conns.permits.acquire().await.map_err(|e| e.to_string())?;
        let (mut c, mut kept) = conns.take().await.map_err(|e| e.to_string())?;
        loop {
            let $conn = &mut c;
            match $body.await {
                Ok(v) => {
                    conns.put(c);
                    break Ok(v);
                }
                Err(e) if kept && broken(&e) => {
                    c = conns.connect().await.map_err(|e| e.to_string())?;
                    kept = false;
                }
                Err(e) => break Err(e.to_string()),
            }
        }
    }};
}

/// A legacy database on one of the three engines.
pub enum Db {
    /// PostgreSQL, with the parameter types inferred per statement.
    Pg {
        /// Connections.
        conns: Conns<PgConnection>,
        /// SQL → parameter kinds.
        kinds: Mutex<HashMap<String, Arc<Vec<PgKind>>>>,
    },
    /// MySQL or MariaDB.
    My(Conns<MySqlConnection>),
    /// SQLite.
    Lite(Conns<SqliteConnection>),
}

impl Db {
    /// A database connected on first use. Without `writable` the sessions
    /// are read-only (SQLite opened read-only, PostgreSQL
    /// `default_transaction_read_only`, MySQL `SESSION TRANSACTION READ
    /// ONLY`): the lookup query cannot change the legacy data.
    ///
    /// PostgreSQL and MySQL connect only to addresses `network` allows,
    /// resolved at each connect; SQLite opens only a file `sqlite_dirs`
    /// allows (checked here, opened by its canonical path).
    pub fn open(
        backend: Backend,
        dsn: &str,
        writable: bool,
        network: &tern_net::Network,
        sqlite_dirs: &tern_net::SqliteDirs,
    ) -> Result<Db, String> {
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
                if opts.get_socket().is_some() {
                    return Err("a Unix socket is not reachable by a connector".into());
                }
                let pin: fn(&PgConnectOptions, &str) -> PgConnectOptions =
                    if matches!(opts.get_ssl_mode(), PgSslMode::VerifyFull) {
                        |o, _| o.clone()
                    } else {
                        |o, ip| o.clone().host(ip)
                    };
                let target = Target {
                    network: network.clone(),
                    host: opts.get_host().to_string(),
                    port: opts.get_port(),
                    pin,
                };
                Ok(Db::Pg {
                    conns: Conns::new(opts, Some(target), None),
                    kinds: Mutex::new(HashMap::new()),
                })
            }
            Backend::MySql => {
                let opts = MySqlConnectOptions::from_str(dsn).map_err(|e| e.to_string())?;
                if opts.get_socket().is_some() {
                    return Err("a Unix socket is not reachable by a connector".into());
                }
                let pin: fn(&MySqlConnectOptions, &str) -> MySqlConnectOptions =
                    if matches!(opts.get_ssl_mode(), MySqlSslMode::VerifyIdentity) {
                        |o, _| o.clone()
                    } else {
                        |o, ip| o.clone().host(ip)
                    };
                let target = Target {
                    network: network.clone(),
                    host: opts.get_host().to_string(),
                    port: opts.get_port(),
                    pin,
                };
                let init = (!writable).then_some("SET SESSION TRANSACTION READ ONLY");
                Ok(Db::My(Conns::new(opts, Some(target), init)))
            }
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(dsn).map_err(|e| e.to_string())?;
                let path = sqlite_dirs.check(opts.get_filename())?;
                let opts = opts
                    .filename(path)
                    // A mistyped path must fail, not create an empty database.
                    .create_if_missing(false)
                    .read_only(!writable);
                Ok(Db::Lite(Conns::new(opts, None, None)))
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
            Db::Pg { conns, kinds } => {
                let kinds = pg_kinds(conns, kinds, &stmt.sql).await?;
                let rows = on_connection!(conns, |conn| {
                    let mut q = sqlx::query(sql());
                    for (i, p) in stmt.binds.iter().enumerate() {
                        q = bind_pg(q, kinds.get(i), value(*p));
                    }
                    first_two(q.fetch(conn))
                })?;
                rows.iter()
                    .map(|r| read(r, |_, _| None, pg_special))
                    .collect()
            }
            Db::My(conns) => {
                let rows = on_connection!(conns, |conn| {
                    let mut q = sqlx::query(sql());
                    for p in &stmt.binds {
                        q = q.bind(value(*p));
                    }
                    first_two(q.fetch(conn))
                })?;
                rows.iter()
                    .map(|r| read(r, my_special, |_, _| None))
                    .collect()
            }
            Db::Lite(conns) => {
                let rows = on_connection!(conns, |conn| {
                    let mut q = sqlx::query(sql());
                    for p in &stmt.binds {
                        q = q.bind(value(*p));
                    }
                    first_two(q.fetch(conn))
                })?;
                rows.iter()
                    .map(|r| read(r, |_, _| None, |_, _| None))
                    .collect()
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
        match self {
            Db::Pg { conns, kinds } => {
                let kinds = pg_kinds(conns, kinds, &stmt.sql).await?;
                on_connection!(conns, |conn| {
                    let mut q = sqlx::query(sql());
                    for (i, p) in stmt.binds.iter().enumerate() {
                        q = bind_pg(q, kinds.get(i), value(*p));
                    }
                    async { q.execute(conn).await.map(|r| r.rows_affected()) }
                })
            }
            Db::My(conns) => on_connection!(conns, |conn| {
                let mut q = sqlx::query(sql());
                for p in &stmt.binds {
                    q = q.bind(value(*p));
                }
                async { q.execute(conn).await.map(|r| r.rows_affected()) }
            }),
            Db::Lite(conns) => on_connection!(conns, |conn| {
                let mut q = sqlx::query(sql());
                for p in &stmt.binds {
                    q = q.bind(value(*p));
                }
                async { q.execute(conn).await.map(|r| r.rows_affected()) }
            }),
        }
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Bind a value as the type PostgreSQL inferred: an integer parameter gets
/// the value as a number (NULL when it is not one, which matches nothing).
/// Statements are not kept prepared, so each run is parsed with the types
/// bound here, never with a cached statement's inferred ones (`$1::uuid`
/// then receives text and casts it).
fn bind_pg<'q>(q: PgQuery<'q>, kind: Option<&PgKind>, v: Option<String>) -> PgQuery<'q> {
    let q = q.persistent(false);
    match kind {
        Some(PgKind::Int) => q.bind(v.and_then(|v| v.trim().parse::<i64>().ok())),
        _ => q.bind(v),
    }
}

/// The parameter types PostgreSQL infers for a statement (asked once per
/// statement and database).
async fn pg_kinds(
    conns: &Conns<PgConnection>,
    cache: &Mutex<HashMap<String, Arc<Vec<PgKind>>>>,
    sql: &str,
) -> Result<Arc<Vec<PgKind>>, String> {
    if let Some(k) = cache.lock().ok().and_then(|c| c.get(sql).cloned()) {
        return Ok(k);
    }
    let types: Vec<String> = on_connection!(conns, |conn| {
        async {
            let stmt = conn
                .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
                .await?;
            let types = match stmt.parameters() {
                Some(Either::Left(types)) => types.iter().map(|t| t.name().to_string()).collect(),
                _ => Vec::new(),
            };
            // sqlx would run later queries of this SQL on the statement just
            // prepared, with its inferred types; ours bind their own.
            conn.clear_cached_statements().await?;
            Ok::<_, sqlx::Error>(types)
        }
    })?;
    let kinds: Vec<PgKind> = types
        .iter()
        .map(|t| match t.as_str() {
            "INT2" | "INT4" | "INT8" => PgKind::Int,
            _ => PgKind::Text,
        })
        .collect();
    let kinds = Arc::new(kinds);
    if let Ok(mut c) = cache.lock() {
        c.insert(sql.to_string(), kinds.clone());
    }
    Ok(kinds)
}

async fn first_two<R>(
    mut rows: BoxStream<'_, Result<R, sqlx::Error>>,
) -> Result<Vec<R>, sqlx::Error> {
    let mut out = Vec::new();
    while out.len() < 2 {
        match rows.try_next().await? {
            Some(r) => out.push(r),
            None => break,
        }
    }
    Ok(out)
}

/// Read every column of a row: engine-specific types the common decoders
/// would misread are read `before` them, types they cannot read `after`.
fn read<R>(
    row: &R,
    before: impl Fn(&R, usize) -> Option<Cell>,
    after: impl Fn(&R, usize) -> Option<Cell>,
) -> Result<Row, String>
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
    let mut read_bytes = 0usize;
    for (i, col) in row.columns().iter().enumerate() {
        let cell = before(row, i)
            .or_else(|| decode(row, i))
            .or_else(|| after(row, i))
            .ok_or_else(|| {
            let ty = row
                .try_get_raw(i)
                .map(|v| v.type_info().name().to_string())
                .unwrap_or_default();
            format!(
                "the lookup query returns column '{}' of type {ty}, which the connector cannot read; cast it to text in the query",
                col.name()
            )
        })?;
        read_bytes += match &cell {
            Cell::Text(t) => t.len(),
            Cell::Bytes(b) => b.len(),
            _ => 8,
        };
        if read_bytes > MAX_ROW_BYTES {
            return Err(format!(
                "the lookup query returns a row of more than {MAX_ROW_BYTES} bytes (column '{}' passes it); select only the columns the connector maps",
                col.name()
            ));
        }
        cells.push((col.name().to_string(), cell));
    }
    Ok(Row(cells))
}

/// The most a legacy row may hold, as the HTTP connector's answers: what
/// Tern keeps of it is bounded further (`legacy::MAX_KEPT_PROFILE_BYTES`),
/// and a larger row is refused rather than carried through a login.
const MAX_ROW_BYTES: usize = 1024 * 1024;

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

/// MySQL's unsigned integers (`BIGINT UNSIGNED` ids: WordPress, Drupal,
/// Magento…), which the signed decoders refuse and the bytes decoder would
/// read as raw little-endian bytes.
fn my_special(row: &sqlx::mysql::MySqlRow, i: usize) -> Option<Cell> {
    let v = row.try_get_raw(i).ok()?;
    if v.is_null() || !v.type_info().name().ends_with("UNSIGNED") {
        return None;
    }
    let n = row.try_get::<u64, _>(i).ok()?;
    Some(i64::try_from(n).map_or_else(|_| Cell::Text(n.to_string()), Cell::Int))
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
