//! The `sql` connector's configuration (`options.tern_connector`), read and
//! checked once: every mistake is reported with the field that holds it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::hash_format::{self, HashFormat};
use super::presets;
use super::statement::{self, Kind, Param, Rules, Statement};

/// Where the configuration lives on a connection.
pub const FIELD: &str = "options.tern_connector";

const KEYS: &[&str] = &[
    "type",
    "dsn",
    "lookup_query",
    "columns",
    "hash_format",
    "mark_migrated",
    "count_query",
    "timeout_ms",
];

/// Profile fields a column may fill, besides the three required ones.
pub const OPTIONAL_COLUMNS: &[&str] = &[
    "email_verified",
    "username",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "app_metadata",
    "user_metadata",
];

const DEFAULT_TIMEOUT_MS: u64 = 5_000;
const MAX_TIMEOUT_MS: u64 = 60_000;
const MIN_TIMEOUT_MS: u64 = 100;

/// The legacy database's engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `mysql://` or `mariadb://`.
    MySql,
    /// `sqlite:path`.
    Sqlite,
}

impl Backend {
    fn of(dsn: &str) -> Option<Backend> {
        let scheme = dsn.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::MySql),
            "sqlite" => Some(Backend::Sqlite),
            _ => None,
        }
    }
}

/// Result columns the connector reads (names as the lookup query returns them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The stable legacy id (becomes `auth0|<id>`).
    pub user_id: String,
    /// The email.
    pub email: String,
    /// The legacy password hash.
    pub password_hash: String,
    /// Profile field → column, for the optional fields present.
    pub optional: Vec<(&'static str, String)>,
}

/// A parsed, checked configuration.
#[derive(Debug, Clone)]
pub struct SqlConfig {
    /// The engine.
    pub backend: Backend,
    /// The DSN as configured (may hold `${configuration.KEY}` references).
    pub dsn: String,
    /// The lookup query.
    pub lookup: Statement,
    /// The optional statement run after a user migrated.
    pub mark_migrated: Option<Statement>,
    /// The optional query counting the legacy store's users (no parameter;
    /// the first column of its first row).
    pub count: Option<Statement>,
    /// Column map.
    pub columns: Columns,
    /// Password column format.
    pub hash: HashFormat,
    /// Bound on one connector call (connect + query).
    pub timeout: Duration,
}

/// Parse and check `options.tern_connector` of type `sql`.
pub fn parse(config: &Value) -> Result<SqlConfig, String> {
    let obj = config
        .as_object()
        .ok_or_else(|| format!("{FIELD} must be an object."))?;
    if let Some(k) = obj
        .keys()
        .find(|k| !KEYS.contains(&k.as_str()) && !presets::KEYS.contains(&k.as_str()))
    {
        return Err(format!(
            "{FIELD}.{k} is not a setting of the sql connector (settings: {}, {}).",
            KEYS.join(", "),
            presets::KEYS.join(", ")
        ));
    }
    let obj = &presets::apply(obj)?;
    if obj.get("type").and_then(Value::as_str) != Some("sql") {
        return Err(format!("{FIELD}.type must be \"sql\"."));
    }
    let dsn = text(obj, "dsn")?;
    let backend = Backend::of(dsn).ok_or_else(|| {
        format!("{FIELD}.dsn must start with postgres://, mysql://, mariadb:// or sqlite:.")
    })?;
    // A reference must be well formed even before its value is known.
    let probe = substitute(dsn, backend, &|_| Some("x".to_string()))?;
    if backend != Backend::Sqlite {
        let url =
            url::Url::parse(&probe).map_err(|e| format!("{FIELD}.dsn is not a valid URL: {e}."))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{FIELD}.dsn must name the database host."));
        }
        // The drivers let the query string replace the host, address, port
        // or socket named in the URL; where a DSN connects must be what it
        // shows (and what the network policy checks).
        if let Some((key, _)) = url.query_pairs().find(|(k, _)| {
            matches!(
                k.to_ascii_lowercase().as_str(),
                "host" | "hostaddr" | "port" | "socket"
            )
        }) {
            return Err(format!(
                "{FIELD}.dsn sets \"{key}\" in its query string; name the host and port in the URL itself (postgres://user@host:port/db). A connector never connects to a Unix socket."
            ));
        }
        // These name files on Tern's own machine, which a connection's author
        // must not make Tern read (certificates and keys the operator has not
        // chosen for it).
        if let Some((key, _)) = url.query_pairs().find(|(k, _)| {
            matches!(
                k.to_ascii_lowercase().as_str(),
                "sslrootcert"
                    | "sslcert"
                    | "sslkey"
                    | "sslcrl"
                    | "passfile"
                    | "ssl-ca"
                    | "ssl-cert"
                    | "ssl-key"
            )
        }) {
            return Err(format!(
                "{FIELD}.dsn sets \"{key}\", a file on Tern's machine; a connector reads no local files (use sslmode=verify-full with the system's trusted certificates)."
            ));
        }
        let host = url.host_str().unwrap_or_default();
        if urlencoding::decode(host).is_ok_and(|h| h.starts_with('/')) {
            return Err(format!(
                "{FIELD}.dsn names a Unix socket ({host}); a connector only connects over the network."
            ));
        }
    }

    let lookup_sql = text(obj, "lookup_query")?;
    let lookup_field = format!("{FIELD}.lookup_query");
    statement::check_kind(lookup_sql, backend, Kind::Read, &lookup_field)?;
    let lookup = statement::translate(
        lookup_sql,
        backend,
        &Rules {
            field: &lookup_field,
            named: &[Param::Identifier],
            native: Param::Identifier,
        },
    )?;
    let mark_migrated = match obj.get("mark_migrated") {
        None | Some(Value::Null) => None,
        Some(_) => {
            let sql = text(obj, "mark_migrated")?;
            let field = format!("{FIELD}.mark_migrated");
            statement::check_kind(sql, backend, Kind::Write, &field)?;
            Some(statement::translate(
                sql,
                backend,
                &Rules {
                    field: &field,
                    named: &[Param::UserId, Param::Email],
                    native: Param::UserId,
                },
            )?)
        }
    };
    let count = match obj.get("count_query") {
        None | Some(Value::Null) => None,
        Some(_) => {
            let sql = text(obj, "count_query")?;
            let field = format!("{FIELD}.count_query");
            statement::check_kind(sql, backend, Kind::Read, &field)?;
            let stmt = statement::translate(
                sql,
                backend,
                &Rules {
                    field: &field,
                    named: &[],
                    native: Param::Identifier,
                },
            )?;
            if !stmt.binds.is_empty() {
                return Err(format!("{field} takes no parameter."));
            }
            Some(stmt)
        }
    };
    let columns = columns(obj.get("columns"))?;
    let hash = hash_format::parse(obj.get("hash_format"))?;
    let timeout = match obj.get("timeout_ms") {
        None | Some(Value::Null) => DEFAULT_TIMEOUT_MS,
        Some(v) => v
            .as_u64()
            .filter(|ms| (MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(ms))
            .ok_or_else(|| {
                format!(
                    "{FIELD}.timeout_ms must be an integer from {MIN_TIMEOUT_MS} to {MAX_TIMEOUT_MS} (milliseconds)."
                )
            })?,
    };
    Ok(SqlConfig {
        backend,
        dsn: dsn.to_string(),
        lookup,
        mark_migrated,
        count,
        columns,
        hash,
        timeout: Duration::from_millis(timeout),
    })
}

fn text<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| format!("{FIELD}.{key} must be a non-empty string."))
}

fn columns(v: Option<&Value>) -> Result<Columns, String> {
    let field = format!("{FIELD}.columns");
    let obj = v.and_then(Value::as_object).ok_or_else(|| {
        format!("{field} must be an object naming at least the user_id, email and password_hash columns.")
    })?;
    let name = |key: &str| -> Result<Option<String>, String> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
            Some(_) => Err(format!(
                "{field}.{key} must be a column name (a non-empty string)."
            )),
        }
    };
    let required = |key: &str| {
        name(key)?.ok_or_else(|| {
            format!(
                "{field}.{key} is required: the column holding the {}.",
                key.replace('_', " ")
            )
        })
    };
    if let Some(k) = obj.keys().find(|k| {
        !["user_id", "email", "password_hash"].contains(&k.as_str())
            && !OPTIONAL_COLUMNS.contains(&k.as_str())
    }) {
        return Err(format!(
            "{field}.{k} is not a profile field the connector fills (fields: user_id, email, password_hash, {}).",
            OPTIONAL_COLUMNS.join(", ")
        ));
    }
    let mut optional = Vec::new();
    for key in OPTIONAL_COLUMNS {
        if let Some(c) = name(key)? {
            optional.push((*key, c));
        }
    }
    Ok(Columns {
        user_id: required("user_id")?,
        email: required("email")?,
        password_hash: required("password_hash")?,
        optional,
    })
}

/// Replace `${configuration.KEY}` in a DSN with the connection's
/// configuration value (percent-encoded in URLs, so a password may hold any
/// character). `$` not followed by `{` is kept.
pub fn substitute(
    dsn: &str,
    backend: Backend,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(dsn.len());
    let mut rest = dsn;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("{FIELD}.dsn has an unterminated ${{…}} reference."))?;
        let reference = &after[..end];
        let key = reference.strip_prefix("configuration.").ok_or_else(|| {
            format!(
                "{FIELD}.dsn refers to ${{{reference}}}; only ${{configuration.KEY}} is supported."
            )
        })?;
        let value = lookup(key).ok_or_else(|| {
            format!("{FIELD}.dsn refers to ${{configuration.{key}}}, which options.configuration does not define.")
        })?;
        if backend == Backend::Sqlite {
            out.push_str(&value);
        } else {
            out.push_str(&urlencoding::encode(&value));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolve the DSN against a connection's configuration values.
pub fn resolve_dsn(
    config: &SqlConfig,
    values: &BTreeMap<String, String>,
) -> Result<String, String> {
    substitute(&config.dsn, config.backend, &|k| values.get(k).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::sql::hash_format::Single;
    use serde_json::json;

    fn base() -> Value {
        json!({"type": "sql", "dsn": "postgres://ro:${configuration.PW}@db.internal/legacy",
               "lookup_query": "SELECT id, email, pw FROM users WHERE email = :identifier",
               "columns": {"user_id": "id", "email": "email", "password_hash": "pw"}})
    }

    fn with(key: &str, v: Value) -> Value {
        let mut c = base();
        c[key] = v;
        c
    }

    #[test]
    fn a_good_configuration_parses() {
        let c = parse(&base()).unwrap();
        assert_eq!(c.backend, Backend::Postgres);
        assert_eq!(
            c.lookup.sql,
            "SELECT id, email, pw FROM users WHERE email = $1"
        );
        assert!(matches!(c.hash, HashFormat::One(Single::Auto)));
        assert_eq!(c.timeout, Duration::from_secs(5));
        let c = parse(&with("hash_format", json!("phpass"))).unwrap();
        assert!(matches!(
            c.hash,
            HashFormat::One(Single::Scheme(tern_hash::Scheme::Phpass))
        ));
        let t = json!({"algorithm": "sha256", "hash": {"encoding": "hex"}, "salt": {"column": "salt", "position": "suffix"}});
        let c = parse(&with("hash_format", t)).unwrap();
        let HashFormat::One(Single::Custom {
            salt_column,
            object,
        }) = c.hash
        else {
            panic!("template")
        };
        assert_eq!(salt_column.as_deref(), Some("salt"));
        assert!(object["salt"].get("column").is_none());
    }

    #[test]
    fn every_mistake_names_its_field() {
        let cases = [
            (json!("x"), "options.tern_connector must be an object"),
            (with("type", json!("http")), "options.tern_connector.type"),
            (
                with("dns", json!("x")),
                "options.tern_connector.dns is not a setting",
            ),
            (
                with("dsn", json!("oracle://x")),
                "options.tern_connector.dsn must start",
            ),
            (
                with("dsn", json!("postgres:///legacy")),
                "dsn must name the database host",
            ),
            (
                with("dsn", json!("postgres://u@allowed.host/x?host=127.0.0.1")),
                "sets \"host\" in its query string",
            ),
            (
                with(
                    "dsn",
                    json!("postgres://u@h/x?sslmode=disable&HostAddr=127.0.0.1"),
                ),
                "sets \"HostAddr\"",
            ),
            (
                with("dsn", json!("postgres://u@h/x?port=5433")),
                "sets \"port\"",
            ),
            (
                with("dsn", json!("mysql://u@h/x?socket=/run/mysqld/mysqld.sock")),
                "sets \"socket\"",
            ),
            (
                with("dsn", json!("postgres://u@%2Fvar%2Frun%2Fpostgresql/x")),
                "names a Unix socket",
            ),
            (
                with("dsn", json!("mysql://u@h:99999/x")),
                "dsn is not a valid URL",
            ),
            (
                with("dsn", json!("postgres://u:${configuration.PW@h/d")),
                "unterminated",
            ),
            (
                with("dsn", json!("postgres://u:${env.PW}@h/d")),
                "only ${configuration.KEY}",
            ),
            (
                with("lookup_query", json!("DELETE FROM users WHERE email = ?")),
                "lookup_query must be a SELECT",
            ),
            (
                with("lookup_query", json!("SELECT * FROM users")),
                "lookup_query must use the identifier",
            ),
            (
                with("mark_migrated", json!("UPDATE users SET m = 1")),
                "mark_migrated must use the user_id",
            ),
            (
                with("mark_migrated", json!(7)),
                "mark_migrated must be a non-empty string",
            ),
            (
                with("columns", json!({"user_id": "id", "email": "email"})),
                "columns.password_hash is required",
            ),
            (
                with(
                    "columns",
                    json!({"user_id": "id", "email": "email", "password_hash": "pw", "phone": "p"}),
                ),
                "columns.phone is not a profile field",
            ),
            (
                with(
                    "columns",
                    json!({"user_id": "id", "email": 3, "password_hash": "pw"}),
                ),
                "columns.email must be a column name",
            ),
            (
                with("hash_format", json!("bcyrpt")),
                "hash_format \"bcyrpt\" is neither",
            ),
            (with("hash_format", json!(5)), "hash_format must be"),
            (
                with(
                    "hash_format",
                    json!({"algorithm": "sha256", "hash": {"encoding": "hex", "value": "ab"}}),
                ),
                "hash_format.hash.value must be left out",
            ),
            (
                with(
                    "hash_format",
                    json!({"algorithm": "sha265", "hash": {"encoding": "hex"}}),
                ),
                "hash_format.algorithm",
            ),
            (
                with("hash_format", json!({"algorithm": "sha256", "hash": {}})),
                "hash_format.hash",
            ),
            (
                with(
                    "hash_format",
                    json!({"algorithm": "sha256", "hash": {"encoding": "hex"}, "salt": {"position": "prefix"}}),
                ),
                "hash_format.salt needs exactly one",
            ),
            (
                with(
                    "hash_format",
                    json!({"algorithm": "sha256", "hash": {"encoding": "hex"}, "salt": {"column": "s", "position": "middle"}}),
                ),
                "hash_format.salt.position",
            ),
            (
                with(
                    "hash_format",
                    json!({"algorithm": "sha256", "hash": {"encoding": "hex"}, "password": {"encoding": "ebcdic"}}),
                ),
                "hash_format.password.encoding",
            ),
            (
                with("timeout_ms", json!(0)),
                "timeout_ms must be an integer",
            ),
            (
                with("timeout_ms", json!("5000")),
                "timeout_ms must be an integer",
            ),
        ];
        for (config, want) in cases {
            let e = parse(&config).unwrap_err();
            assert!(e.contains(want), "{config}: {e}");
        }
    }

    #[test]
    fn dsn_references_are_filled_and_encoded() {
        let c = parse(&base()).unwrap();
        let values = BTreeMap::from([("PW".to_string(), "p@ss/w:rd".to_string())]);
        assert_eq!(
            resolve_dsn(&c, &values).unwrap(),
            "postgres://ro:p%40ss%2Fw%3Ard@db.internal/legacy"
        );
        let e = resolve_dsn(&c, &BTreeMap::new()).unwrap_err();
        assert!(
            e.contains("${configuration.PW}") && e.contains("does not define"),
            "{e}"
        );
    }
}
