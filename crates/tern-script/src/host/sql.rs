//! Database connections shared by `mysql` and `pg`: parameter values, connection
//! settings, and the per-connection worker task that runs commands in order.

use std::sync::{Arc, mpsc};

use base64::Engine;
use serde_json::Value;
use tokio::sync::mpsc as tmpsc;

use super::budget::{Admitted, Budget};
use super::io::{Completion, OpError};
use super::{mysql, pg};
use crate::Network;

/// Which client library the script uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Driver {
    MySql,
    Pg,
}

/// A query parameter as sent by the prelude (tagged JSON: `["s", "text"]`, `["n", 1]`,
/// `["b", true]`, `["z"]`, `["d", epochMs]`, `["x", base64]`, `["a", [...]]`,
/// `["o", [[key, param]...]]`). Values are always bound, never spliced into SQL.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Null,
    Str(String),
    Num(f64),
    Bool(bool),
    /// A JavaScript `Date`, in milliseconds since the epoch.
    Date(f64),
    Bytes(Vec<u8>),
    List(Vec<Param>),
    Obj(Vec<(String, Param)>),
}

impl Param {
    /// Parses the tagged form.
    pub fn from_json(v: &Value) -> Result<Param, String> {
        let arr = v.as_array().ok_or("invalid query parameter")?;
        let tag = arr.first().and_then(Value::as_str).unwrap_or("");
        let val = arr.get(1).unwrap_or(&Value::Null);
        Ok(match tag {
            "z" => Param::Null,
            "s" => Param::Str(val.as_str().unwrap_or_default().to_owned()),
            "n" => Param::Num(val.as_f64().unwrap_or(f64::NAN)),
            "b" => Param::Bool(val.as_bool().unwrap_or(false)),
            "d" => Param::Date(val.as_f64().unwrap_or(f64::NAN)),
            "x" => Param::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(val.as_str().unwrap_or_default())
                    .map_err(|e| format!("invalid binary parameter: {e}"))?,
            ),
            "a" => Param::List(Self::list_from_json(val)?),
            "o" => {
                let mut fields = Vec::new();
                for pair in val.as_array().ok_or("invalid object parameter")? {
                    let key = pair
                        .get(0)
                        .and_then(Value::as_str)
                        .ok_or("invalid object parameter key")?;
                    let value = Param::from_json(pair.get(1).unwrap_or(&Value::Null))?;
                    fields.push((key.to_owned(), value));
                }
                Param::Obj(fields)
            }
            other => return Err(format!("invalid query parameter tag {other:?}")),
        })
    }

    /// Parses a list of tagged parameters (`null` is an empty list).
    pub fn list_from_json(v: &Value) -> Result<Vec<Param>, String> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => items.iter().map(Param::from_json).collect(),
            _ => Err("query parameters must be an array".into()),
        }
    }

    /// The value as text, the way the JavaScript drivers stringify it.
    pub fn as_text(&self) -> Option<String> {
        Some(match self {
            Param::Null => return None,
            Param::Str(s) => s.clone(),
            Param::Num(n) => js_number(*n),
            Param::Bool(b) => b.to_string(),
            Param::Date(ms) => iso_date(*ms)?,
            Param::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Param::List(_) | Param::Obj(_) => self.to_json().to_string(),
        })
    }

    /// The value as JSON (objects and arrays bound to json columns).
    pub fn to_json(&self) -> Value {
        match self {
            Param::Null => Value::Null,
            Param::Str(s) => Value::String(s.clone()),
            Param::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Param::Bool(b) => Value::Bool(*b),
            Param::Date(ms) => iso_date(*ms).map_or(Value::Null, Value::String),
            Param::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
            Param::List(items) => Value::Array(items.iter().map(Param::to_json).collect()),
            Param::Obj(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Formats a number like JavaScript's `String(n)` for the common cases.
pub(crate) fn js_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

/// `Date.prototype.toISOString` for epoch milliseconds.
pub(crate) fn iso_date(ms: f64) -> Option<String> {
    let dt = date_from_ms(ms)?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    ))
}

/// Epoch milliseconds to a UTC date-time.
pub(crate) fn date_from_ms(ms: f64) -> Option<time::OffsetDateTime> {
    if !ms.is_finite() {
        return None;
    }
    time::OffsetDateTime::from_unix_timestamp_nanos((ms as i128) * 1_000_000).ok()
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub(crate) struct DbConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub database: Option<String>,
    pub ssl: bool,
}

impl DbConfig {
    /// Reads the settings the prelude forwards: `{url}` or
    /// `{host, port, user, password, database, ssl}` (`connectionString` for pg).
    pub fn from_json(driver: Driver, v: &Value) -> Result<DbConfig, OpError> {
        let default_port = match driver {
            Driver::MySql => 3306,
            Driver::Pg => 5432,
        };
        let text = |k: &str| -> Option<String> {
            match v.get(k)? {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        if text("socketPath").is_some() {
            return Err(OpError::new(
                "socketPath is not available in the script sandbox",
            ));
        }
        let mut cfg = DbConfig {
            host: "localhost".into(),
            port: default_port,
            user: match driver {
                Driver::MySql => "root".into(),
                Driver::Pg => "postgres".into(),
            },
            password: None,
            database: None,
            ssl: false,
        };
        if let Some(url) = text("url").or_else(|| text("connectionString")) {
            let u = url::Url::parse(&url)
                .map_err(|e| OpError::new(format!("invalid connection string: {e}")))?;
            let decode = |s: &str| {
                urlencoding::decode(s)
                    .map(|c| c.into_owned())
                    .unwrap_or_else(|_| s.to_owned())
            };
            if let Some(h) = u.host_str() {
                cfg.host = h.trim_start_matches('[').trim_end_matches(']').to_owned();
            }
            if let Some(p) = u.port() {
                cfg.port = p;
            }
            if !u.username().is_empty() {
                cfg.user = decode(u.username());
            }
            cfg.password = u.password().map(decode);
            let db = u.path().trim_start_matches('/');
            if !db.is_empty() {
                cfg.database = Some(decode(db));
            }
            for (k, val) in u.query_pairs() {
                match (k.as_ref(), val.as_ref()) {
                    ("ssl", "true" | "1") => cfg.ssl = true,
                    ("sslmode", "require" | "verify-ca" | "verify-full") => cfg.ssl = true,
                    _ => {}
                }
            }
        }
        if let Some(h) = text("host") {
            cfg.host = h;
        }
        if let Some(p) = text("port") {
            cfg.port = p
                .parse()
                .map_err(|_| OpError::new(format!("invalid port {p}")))?;
        }
        if let Some(u) = text("user") {
            cfg.user = u;
        }
        if let Some(p) = text("password") {
            cfg.password = Some(p);
        }
        if let Some(d) = text("database") {
            cfg.database = Some(d);
        }
        if matches!(v.get("ssl"), Some(Value::Bool(true) | Value::Object(_))) {
            cfg.ssl = true;
        }
        Ok(cfg)
    }
}

/// A command for a connection's worker; each carries the operation id to complete.
pub(crate) enum DbCmd {
    Connect(u64),
    Query {
        id: u64,
        sql: String,
        params: Vec<Param>,
    },
    End(u64),
}

/// The script thread's handle on a connection worker. Each queued command
/// holds its admission (`Budget::admit`), which bounds the queue.
pub(crate) struct DbHandle {
    tx: tmpsc::UnboundedSender<(DbCmd, Admitted)>,
}

enum Conn {
    My(sqlx::MySqlConnection),
    Pg(sqlx::PgConnection),
}

impl DbHandle {
    /// Creates the handle and the worker future (to be spawned on tokio).
    pub fn new(
        driver: Driver,
        config: Value,
        network: Network,
        done: mpsc::Sender<Completion>,
        deadline: tokio::time::Instant,
        budget: Arc<Budget>,
    ) -> (
        DbHandle,
        impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let (tx, rx) = tmpsc::unbounded_channel();
        let worker = run_worker(driver, config, network, rx, done, deadline, budget);
        (DbHandle { tx }, worker)
    }

    /// Queues a command; false if the worker is gone.
    pub fn send(&self, cmd: DbCmd, admitted: Admitted) -> bool {
        self.tx.send((cmd, admitted)).is_ok()
    }
}

async fn run_worker(
    driver: Driver,
    config: Value,
    network: Network,
    mut rx: tmpsc::UnboundedReceiver<(DbCmd, Admitted)>,
    done: mpsc::Sender<Completion>,
    deadline: tokio::time::Instant,
    budget: Arc<Budget>,
) {
    let mut conn: Option<Conn> = None;
    let mut failed: Option<OpError> = None;
    let mut ended = false;
    while let Some((cmd, _admitted)) = rx.recv().await {
        // A command runs in one of the call's request slots, like an HTTP
        // request; waiting for it counts against the deadline.
        let slot = match tokio::time::timeout_at(deadline, budget.slot()).await {
            Ok(Ok(slot)) => Some(slot),
            Ok(Err(_)) | Err(_) => None,
        };
        let (id, result) = match (cmd, slot) {
            (DbCmd::Connect(id) | DbCmd::End(id) | DbCmd::Query { id, .. }, None) => {
                (id, Err(timeout_error()))
            }
            (cmd, Some(_slot)) => match cmd {
                DbCmd::Connect(id) => {
                    let r = ensure(
                        &mut conn,
                        &mut failed,
                        ended,
                        driver,
                        &config,
                        &network,
                        deadline,
                    )
                    .await
                    .map(|_| Value::Null);
                    (id, r)
                }
                DbCmd::Query { id, sql, params } => {
                    let r = match ensure(
                        &mut conn,
                        &mut failed,
                        ended,
                        driver,
                        &config,
                        &network,
                        deadline,
                    )
                    .await
                    {
                        Ok(c) => {
                            let fut = async {
                                match c {
                                    Conn::My(c) => mysql::query(c, &sql, params, &budget).await,
                                    Conn::Pg(c) => pg::query(c, &sql, params, &budget).await,
                                }
                            };
                            match tokio::time::timeout_at(deadline, fut).await {
                                Ok(r) => r,
                                Err(_) => Err(timeout_error()),
                            }
                        }
                        Err(e) => Err(e),
                    };
                    (id, r)
                }
                DbCmd::End(id) => {
                    ended = true;
                    conn = None;
                    (id, Ok(Value::Null))
                }
            },
        };
        let sent = done.send(Completion {
            id,
            result: result.map(|v| v.to_string()).map_err(|e| error_json(&e)),
        });
        if sent.is_err() {
            return;
        }
    }
}

fn timeout_error() -> OpError {
    OpError::new("database operation timed out (script time limit)").with("code", "ETIMEDOUT")
}

fn error_json(e: &OpError) -> String {
    let mut map = e.props.clone();
    map.insert("message".into(), Value::String(e.message.clone()));
    Value::Object(map).to_string()
}

#[allow(clippy::too_many_arguments)]
async fn ensure<'c>(
    conn: &'c mut Option<Conn>,
    failed: &mut Option<OpError>,
    ended: bool,
    driver: Driver,
    config: &Value,
    network: &Network,
    deadline: tokio::time::Instant,
) -> Result<&'c mut Conn, OpError> {
    if ended {
        return Err(OpError::new("Cannot enqueue Query after invoking quit.")
            .with("code", "PROTOCOL_ENQUEUE_AFTER_QUIT"));
    }
    if let Some(e) = failed {
        return Err(e.clone());
    }
    if conn.is_none() {
        let opened = async {
            let cfg = DbConfig::from_json(driver, config)?;
            // Resolved and checked here; the driver connects to a checked
            // address, never resolving the name again (no DNS rebinding).
            // TLS (`ssl`) is `require`, which checks no host name.
            let addrs = network
                .resolve(&cfg.host, cfg.port)
                .await
                .map_err(|e| match e {
                    tern_net::ResolveError::Refused(r) => OpError::refused(&r),
                    tern_net::ResolveError::Lookup(m) => OpError::new(m)
                        .with("code", "ENOTFOUND")
                        .with("hostname", cfg.host.clone()),
                })?;
            let mut last = None;
            for addr in addrs {
                let pinned = DbConfig {
                    host: addr.ip().to_string(),
                    ..cfg.clone()
                };
                let opened = match driver {
                    Driver::MySql => mysql::connect(&pinned).await.map(Conn::My),
                    Driver::Pg => pg::connect(&pinned).await.map(Conn::Pg),
                };
                match opened {
                    Ok(c) => return Ok(c),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| OpError::new("no address to connect to")))
        };
        let result = match tokio::time::timeout_at(deadline, opened).await {
            Ok(r) => r,
            Err(_) => Err(timeout_error()),
        };
        match result {
            Ok(c) => *conn = Some(c),
            Err(e) => {
                *failed = Some(e.clone());
                return Err(e);
            }
        }
    }
    conn.as_mut()
        .ok_or_else(|| OpError::new("connection unavailable"))
}

/// The error of a query that returned more rows than the call allows.
pub(crate) fn too_many_rows(max: usize) -> OpError {
    OpError::new(format!(
        "the query returned more than {max} rows, the script's limit per query"
    ))
    .with("code", "ETOOMANYROWS")
}

/// Describes a sqlx error as a driver-style error (message, code, …).
pub(crate) fn sqlx_error(e: sqlx::Error, driver: Driver) -> OpError {
    if let Some(db) = e.as_database_error() {
        let message = db.message().to_owned();
        return match driver {
            Driver::MySql => mysql::database_error(db, message),
            Driver::Pg => pg::database_error(db, message),
        };
    }
    let code = match &e {
        sqlx::Error::Io(_) => "ECONNREFUSED",
        sqlx::Error::Tls(_) => "EPROTO",
        sqlx::Error::PoolTimedOut => "ETIMEDOUT",
        _ => "EDB",
    };
    OpError::new(e.to_string()).with("code", code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn params_and_config() {
        let p = Param::list_from_json(&json!([
            ["s", "a"],
            ["n", 2],
            ["z"],
            ["o", [["k", ["b", true]]]]
        ]))
        .unwrap();
        assert_eq!(p[0], Param::Str("a".into()));
        assert_eq!(p[3], Param::Obj(vec![("k".into(), Param::Bool(true))]));
        assert_eq!(js_number(2.0), "2");
        assert_eq!(iso_date(0.0).unwrap(), "1970-01-01T00:00:00.000Z");
        let c = DbConfig::from_json(
            Driver::Pg,
            &json!({"url": "postgres://u:p%40ss@127.0.0.1:5433/db?sslmode=require"}),
        )
        .unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.user.as_str()),
            ("127.0.0.1", 5433, "u")
        );
        assert_eq!(c.password.as_deref(), Some("p@ss"));
        assert!(c.ssl);
        assert!(DbConfig::from_json(Driver::MySql, &json!({"socketPath": "/tmp/x"})).is_err());
    }
}
