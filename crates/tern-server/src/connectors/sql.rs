//! The `sql` connector: a connection's legacy users read straight from the
//! legacy database — no legacy API, no script. Tern runs the configured
//! lookup query with the login identifier bound as a parameter, verifies the
//! legacy password hash itself with `tern-hash` (on the blocking pool), and
//! builds the profile from a column map.
//!
//! Configured on a database connection (with `enabledDatabaseCustomization`
//! and `import_mode` on) as `options.tern_connector`:
//!
//! ```json
//! {
//!   "type": "sql",
//!   "dsn": "postgres://legacy_ro:${configuration.DB_PASSWORD}@db.internal:5432/shop",
//!   "lookup_query": "SELECT id, email, pw, verified, full_name, meta FROM users WHERE lower(email) = lower(:identifier)",
//!   "columns": {"user_id": "id", "email": "email", "password_hash": "pw",
//!               "email_verified": "verified", "name": "full_name", "app_metadata": "meta"},
//!   "hash_format": "auto",
//!   "mark_migrated": "UPDATE users SET migrated_at = now() WHERE id = :user_id",
//!   "count_query": "SELECT count(*) FROM users",
//!   "timeout_ms": 5000
//! }
//! ```
//!
//! - `dsn`: `postgres://` (or `postgresql://`), `mysql://` (or `mariadb://`)
//!   or `sqlite:<path>`. `${configuration.KEY}` is replaced by the
//!   connection's `options.configuration.KEY` (percent-encoded in URLs), so
//!   the password need not be written in the connector settings. **Use a
//!   read-only database account.** Without `mark_migrated` the connector's
//!   sessions are read-only as well (SQLite opened read-only, PostgreSQL
//!   `default_transaction_read_only`, MySQL `SET SESSION TRANSACTION READ
//!   ONLY`); with it, grant that account UPDATE on the one column it sets.
//!   The database is reached only where the network policy allows
//!   (`network.allow`; the address is checked at every connect), a SQLite
//!   file only under `network.sqlite_dirs` and never Tern's own data; a
//!   query-string `host`, `hostaddr`, `port` or `socket` is refused.
//! - `lookup_query`: one `SELECT`, run as written with the login identifier
//!   (email or username, trimmed) bound as `:identifier` — or the engine's
//!   own placeholder: `?` (MySQL, SQLite) or `$1` (PostgreSQL). `:identifier`
//!   may appear several times. Zero rows = unknown user; two or more = an
//!   error ("two legacy users share this identifier"), never a guess.
//! - `columns`: result column names (case-insensitive) for `user_id`,
//!   `email`, `password_hash` (required) and optionally `email_verified`
//!   (boolean, 0/1 or "true"), `username`, `name`, `given_name`,
//!   `family_name`, `nickname`, `picture`, `app_metadata`, `user_metadata`
//!   (JSON objects as text, `json` or `jsonb`). Types the connector does not
//!   read (dates, decimals, MySQL `JSON`) must be cast to text in the query.
//! - `hash_format`: `"auto"` (default; any self-describing hash: bcrypt,
//!   argon2, phpass, md5-crypt, sha512-crypt, Django, LDAP, ASP.NET
//!   Identity…), a scheme name that every hash must have (`"phpass"`), an
//!   Auth0 `custom_password_hash` object without `hash.value` (the password
//!   column), whose `salt` is `{"column": "salt_col", "position": "prefix"|"suffix",
//!   "encoding": …}` or a fixed `{"value": …}`, or a `tern_password_hash`
//!   object (`magento2`, `keycloak`, `vbulletin`, `smf`, `discourse`…)
//!   whose main field is the password column and in which any
//!   `{"column": c}` is read from that column (salt, iterations, username).
//!   Or per row: `{"column": "scheme_col", "map": {"legacy name": format…},
//!   "default": format}` — each row's scheme column, matched without regard
//!   to case, picks one of those formats (see `sql/hash_format.rs`).
//!   Binary columns (`bytea`, `BLOB`, `VARBINARY`) are taken as raw bytes.
//! - `preset`: a platform (`wordpress`, `drupal7`, `phpbb`, `django`,
//!   `magento2`, `joomla`, `nextcloud`, `keycloak`, `vbulletin`, `smf`) whose
//!   `lookup_query`, `columns` and `hash_format` are filled in (those given
//!   win), with `table_prefix` and, for Keycloak, `realm` (see `sql/presets.rs`).
//! - `mark_migrated`: optional statement run after a user migrated, with
//!   `:user_id` (or `?` / `$1`) and `:email` (lower-cased) bound. A failure
//!   is logged; the login still succeeds.
//! - `count_query`: optional `SELECT` without parameters whose first
//!   column of the first row is the number of users in the legacy store
//!   (`SELECT count(*) FROM users`); the console's overview then shows
//!   "N of M legacy users migrated".
//! - `timeout_ms`: bound on one connector call, connecting included
//!   (default 5000, 100–60000). Unreachable, slow or failing databases are
//!   a `LegacyError`: the login answers 503 and the tenant log says why,
//!   with the DSN password masked.
//!
//! PostgreSQL infers the type of each parameter: integer parameters (e.g.
//! `WHERE id = :user_id` on an integer id) are bound as integers, others as
//! text (cast where needed: `:user_id::uuid`).

mod config;
mod db;
mod hash_format;
mod presets;
mod statement;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tern_core::legacy::{LegacyError, LegacyLogin, LegacyProfile, LegacySource, normalize_profile};
use tern_core::model::Connection;
use tern_hash::{HashPolicy, StoredHash};

use crate::hash_pool::HashPool;

use self::config::{Backend, FIELD, SqlConfig};
use self::db::{Cell, Db, Row};
use self::hash_format::Problem;
use self::statement::Param;

/// Check an `options.tern_connector` of type `sql`; the message names the
/// offending field. A password written in clear in the DSN is refused: it
/// would be stored unsealed and answered by `GET /connections`.
pub fn validate(config: &Value) -> Result<(), String> {
    let parsed = config::parse(config)?;
    if dsn_password(&parsed.dsn).is_some_and(|p| !is_reference(p)) {
        return Err(format!(
            "{FIELD}.dsn holds a password in clear; put it in options.configuration (sealed at rest, answered masked) and write ${{configuration.KEY}} in its place, e.g. postgres://user:${{configuration.DB_PASSWORD}}@host/db"
        ));
    }
    Ok(())
}

/// The password part of a URL DSN, as written.
fn dsn_password(dsn: &str) -> Option<&str> {
    let (_, rest) = dsn.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    Some(password).filter(|p| !p.is_empty())
}

fn is_reference(text: &str) -> bool {
    text.strip_prefix("${configuration.")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|key| !key.is_empty() && !key.contains(['$', '{', '}']))
}

/// A connector's settings as answered: a DSN password written in clear
/// (stored before such DSNs were refused) replaced by `mask`.
pub fn mask_settings(settings: &mut Value, mask: &str) {
    if settings.get("type").and_then(Value::as_str) != Some("sql") {
        return;
    }
    let Some(Value::String(dsn)) = settings.get_mut("dsn") else {
        return;
    };
    if let Some(pw) = dsn_password(dsn).filter(|p| !is_reference(p)) {
        let (scheme, rest) = dsn.split_once("://").unwrap_or_default();
        let at = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(at);
        let masked = authority.replacen(&format!(":{pw}@"), &format!(":{mask}@"), 1);
        *dsn = format!("{scheme}://{masked}{tail}");
    }
}

/// One configured legacy database.
pub struct SqlConnector {
    config: SqlConfig,
    db: Db,
    /// The DSN with its password masked, for messages.
    shown: String,
    /// Never shown: the DSN password, as given and as it appears in the URL.
    hidden: Vec<String>,
    /// Times logins of unknown users like a real verification, and holds
    /// the cost limits legacy hashes are verified within.
    dummy: HashPolicy,
    /// Where hashes are verified: the server's bounded pool.
    pool: HashPool,
}

impl SqlConnector {
    /// A connector for this configuration; `configuration` is the
    /// connection's `options.configuration` (for `${configuration.KEY}` in
    /// the DSN). Nothing is connected until the first login.
    pub fn new(
        config: &Value,
        configuration: &BTreeMap<String, String>,
        network: &tern_net::Network,
        sqlite_dirs: &tern_net::SqliteDirs,
    ) -> Result<Self, String> {
        let config = config::parse(config)?;
        let dsn = config::resolve_dsn(&config, configuration)?;
        let (shown, hidden) = mask(&dsn, config.backend);
        let db = Db::open(
            config.backend,
            &dsn,
            config.mark_migrated.is_some(),
            network,
            sqlite_dirs,
        )
        .map_err(|e| {
            format!(
                "{FIELD}.dsn cannot be used ({shown}): {}",
                scrub(&e, &hidden)
            )
        })?;
        Ok(Self {
            config,
            db,
            shown,
            hidden,
            dummy: HashPolicy::default(),
            pool: HashPool::new(0, 64),
        })
    }

    /// Spend on unknown users the time of verifying a hash of `policy`
    /// (the server's), as local logins do.
    pub fn with_dummy_policy(mut self, policy: HashPolicy) -> Self {
        self.dummy = policy;
        self
    }

    /// Verify on `pool` (the server's), as local logins do.
    pub fn with_hash_pool(mut self, pool: HashPool) -> Self {
        self.pool = pool;
        self
    }

    fn fail(&self, what: &str, e: &str) -> LegacyError {
        LegacyError(format!(
            "SQL connector: the {what} failed on {}: {}",
            self.shown,
            scrub(e, &self.hidden)
        ))
    }

    /// Bound a database call by `timeout_ms`.
    async fn bounded<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, String>>,
    ) -> Result<T, LegacyError> {
        match tokio::time::timeout(self.config.timeout, call).await {
            Ok(r) => r.map_err(|e| self.fail(what, &e)),
            Err(_) => Err(LegacyError(format!(
                "SQL connector: {} did not answer the {what} within {} ms (timeout_ms)",
                self.shown,
                self.config.timeout.as_millis()
            ))),
        }
    }

    /// The legacy user this identifier names, if exactly one.
    async fn find(&self, identifier: &str) -> Result<Option<Row>, LegacyError> {
        let value = |_: Param| Some(identifier.to_string());
        let mut rows = self
            .bounded(
                "lookup query",
                self.db.fetch_two(&self.config.lookup, &value),
            )
            .await?;
        if rows.len() > 1 {
            return Err(LegacyError(format!(
                "SQL connector: two legacy users share this identifier ('{identifier}'): the lookup query returned more than one row; nothing was migrated"
            )));
        }
        Ok(rows.pop())
    }

    /// A configured column of a row; its absence is a configuration error.
    fn column<'r>(
        &self,
        row: &'r Row,
        column: &str,
        setting: &str,
    ) -> Result<&'r Cell, LegacyError> {
        row.get(column).ok_or_else(|| {
            LegacyError(format!(
                "SQL connector: the lookup query returns no column '{column}' ({FIELD}.{setting}); it returns: {}",
                row.names()
            ))
        })
    }

    fn user_id(&self, row: &Row) -> Result<String, LegacyError> {
        self.column(row, &self.config.columns.user_id, "columns.user_id")?
            .text()
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                LegacyError("SQL connector: a legacy user has no user_id (the column is empty): a stable id is required".into())
            })
    }

    /// The stored password hash; `None` when the user has none.
    fn stored_hash(&self, row: &Row, user_id: &str) -> Result<Option<StoredHash>, LegacyError> {
        let cell = self.column(
            row,
            &self.config.columns.password_hash,
            "columns.password_hash",
        )?;
        self.config.hash.read(row, cell).map_err(|p| match p {
            Problem::Column(m) => LegacyError(format!("SQL connector: {m}")),
            Problem::Hash(m) => LegacyError(format!(
                "SQL connector: the password hash of legacy user {user_id} cannot be read ({FIELD}.{m})"
            )),
        })
    }

    /// The profile a row describes.
    fn profile(&self, row: &Row) -> Result<LegacyProfile, LegacyError> {
        let cols = &self.config.columns;
        let mut p = Map::new();
        p.insert(
            "user_id".into(),
            match self.column(row, &cols.user_id, "columns.user_id")? {
                Cell::Int(n) => Value::from(*n),
                c => c.text().map(Value::String).unwrap_or(Value::Null),
            },
        );
        if let Some(e) = self.column(row, &cols.email, "columns.email")?.text() {
            p.insert("email".into(), Value::String(e.trim().to_string()));
        }
        for (field, column) in &cols.optional {
            let cell = self.column(row, column, &format!("columns.{field}"))?;
            let value = match *field {
                "email_verified" => Value::Bool(truthy(cell)),
                "app_metadata" | "user_metadata" => match cell.text() {
                    None => continue,
                    Some(t) if t.trim().is_empty() => continue,
                    Some(t) => match serde_json::from_str::<Value>(&t) {
                        Ok(v @ Value::Object(_)) => v,
                        Ok(Value::Null) => continue,
                        _ => {
                            return Err(LegacyError(format!(
                                "SQL connector: column '{column}' ({FIELD}.columns.{field}) does not hold a JSON object"
                            )));
                        }
                    },
                },
                _ => match cell.text() {
                    Some(t) => Value::String(t),
                    None => continue,
                },
            };
            p.insert((*field).to_string(), value);
        }
        normalize_profile(&Value::Object(p)).map_err(|e| {
            LegacyError(format!(
                "SQL connector: a legacy user's row is not a usable profile: {e}"
            ))
        })
    }

    /// Verify on the server's hashing pool (bounded: a flood of logins
    /// waits there or is answered 503, as local logins are); without a
    /// hash, spend the same time and fail. A hash over the server's cost
    /// limits is an error naming the setting, never computed.
    async fn verify(&self, password: &str, hash: Option<StoredHash>) -> Result<bool, LegacyError> {
        let pw = password.to_string();
        let dummy = self.dummy;
        self.pool
            .run(move || match hash {
                Some(h) => h.verify(&pw, dummy.limits()).map_err(|over| {
                    dummy.dummy_verify(&pw);
                    LegacyError(format!(
                        "SQL connector: the legacy password hash was not verified: {over}"
                    ))
                }),
                None => Ok(dummy.dummy_verify(&pw)),
            })
            .await
            .map_err(|e| {
                let LegacyError(why) = crate::profile_hash::pool_error(e);
                LegacyError(format!("SQL connector: {why}"))
            })?
    }
}

#[async_trait::async_trait]
impl LegacySource for SqlConnector {
    async fn login(
        &self,
        _tenant: &str,
        _connection: &Connection,
        username: &str,
        password: &str,
    ) -> Result<LegacyLogin, LegacyError> {
        let Some(row) = self.find(username.trim()).await? else {
            self.verify(password, None).await?;
            return Ok(LegacyLogin::WrongCredentials { user: None });
        };
        let user_id = self.user_id(&row)?;
        let hash = self.stored_hash(&row, &user_id)?;
        if !self.verify(password, hash).await? {
            return Ok(LegacyLogin::WrongCredentials {
                user: Some(user_id),
            });
        }
        Ok(LegacyLogin::Profile(Box::new(self.profile(&row)?)))
    }

    async fn get_user(
        &self,
        _tenant: &str,
        _connection: &Connection,
        email: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        match self.find(email.trim()).await? {
            Some(row) => self.profile(&row).map(Some),
            None => Ok(None),
        }
    }

    async fn count(
        &self,
        _tenant: &str,
        _connection: &Connection,
    ) -> Result<Option<u64>, LegacyError> {
        let Some(stmt) = &self.config.count else {
            return Ok(None);
        };
        let rows = self
            .bounded("count_query", self.db.fetch_two(stmt, &|_| None))
            .await?;
        let first = rows.first().and_then(|r| r.0.first()).map(|(_, c)| c);
        match first {
            Some(Cell::Int(n)) if *n >= 0 => Ok(Some(*n as u64)),
            Some(c) => c
                .text()
                .and_then(|t| t.trim().parse::<u64>().ok())
                .map(Some)
                .ok_or_else(|| {
                    LegacyError(
                        "count_query did not answer a whole number in its first column".into(),
                    )
                }),
            None => Err(LegacyError("count_query answered no row".into())),
        }
    }

    async fn mark_migrated(
        &self,
        _tenant: &str,
        _connection: &Connection,
        profile: &LegacyProfile,
    ) -> Result<(), LegacyError> {
        let Some(stmt) = &self.config.mark_migrated else {
            return Ok(());
        };
        let value = |p: Param| match p {
            Param::UserId => Some(profile.user_id.clone()),
            Param::Email => profile.email.clone(),
            Param::Identifier => None,
        };
        self.bounded("mark_migrated statement", self.db.execute(stmt, &value))
            .await
            .map(|_| ())
    }
}

fn truthy(cell: &Cell) -> bool {
    match cell {
        Cell::Bool(b) => *b,
        Cell::Int(n) => *n != 0,
        Cell::Float(f) => *f != 0.0,
        c => c.text().is_some_and(|t| {
            matches!(
                t.trim().to_ascii_lowercase().as_str(),
                "true" | "t" | "1" | "yes" | "y"
            )
        }),
    }
}

/// The DSN with its password masked, and the password's spellings to scrub
/// from driver messages.
fn mask(dsn: &str, backend: Backend) -> (String, Vec<String>) {
    if backend == Backend::Sqlite {
        return (dsn.to_string(), Vec::new());
    }
    let Ok(mut url) = url::Url::parse(dsn) else {
        return (
            "the configured DSN (not a valid URL)".into(),
            vec![dsn.to_string()],
        );
    };
    let Some(pw) = url.password().map(str::to_string) else {
        return (url.to_string(), Vec::new());
    };
    let mut hidden = vec![pw.clone()];
    if let Ok(decoded) = urlencoding::decode(&pw) {
        hidden.push(decoded.into_owned());
    }
    // Setting a password only fails for URLs that cannot have one.
    let _ = url.set_password(Some("***"));
    (url.to_string(), hidden)
}

fn scrub(message: &str, hidden: &[String]) -> String {
    hidden
        .iter()
        .filter(|h| !h.is_empty())
        .fold(message.to_string(), |m, h| m.replace(h.as_str(), "***"))
}

/// The connection's `options.configuration` values.
pub fn configuration(connection: &Connection) -> BTreeMap<String, String> {
    connection
        .options
        .get("configuration")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Key of a cached connector: tenant and connection id.
type ConnectionKey = (String, String);

/// The connectors of every `sql` connection, each with its pool, kept while
/// its settings stay the same and rebuilt (new pool) when they change.
pub struct SqlConnectors {
    policy: HashPolicy,
    pool: HashPool,
    network: tern_net::Network,
    sqlite_dirs: tern_net::SqliteDirs,
    /// Connection → (settings it was built from, connector).
    cache: Mutex<HashMap<ConnectionKey, (String, Arc<SqlConnector>)>>,
}

impl SqlConnectors {
    /// `policy` times unknown users and bounds legacy hash costs;
    /// `network` and `sqlite_dirs` bound what a DSN may reach.
    pub fn new(
        policy: HashPolicy,
        pool: HashPool,
        network: tern_net::Network,
        sqlite_dirs: tern_net::SqliteDirs,
    ) -> Self {
        Self {
            policy,
            pool,
            network,
            sqlite_dirs,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The connector of this connection, built on first use or when its
    /// settings (or the configuration values they refer to) changed.
    pub fn connector(
        &self,
        tenant: &str,
        connection: &Connection,
    ) -> Result<Arc<SqlConnector>, LegacyError> {
        let settings = connection
            .options
            .get("tern_connector")
            .ok_or_else(|| LegacyError(format!("the connection has no {FIELD}")))?;
        let values = configuration(connection);
        let fingerprint = format!("{settings}\u{0}{values:?}");
        let key = (tenant.to_string(), connection.id.clone());
        if let Some((fp, c)) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned())
            && fp == fingerprint
        {
            return Ok(c);
        }
        let connector = SqlConnector::new(settings, &values, &self.network, &self.sqlite_dirs)
            .map_err(|e| LegacyError(format!("SQL connector: {e}")))?
            .with_dummy_policy(self.policy)
            .with_hash_pool(self.pool.clone());
        let connector = Arc::new(connector);
        if let Ok(mut cache) = self.cache.lock() {
            // The replaced connector's pool closes when its last call ends.
            cache.insert(key, (fingerprint, connector.clone()));
        }
        Ok(connector)
    }
}

#[async_trait::async_trait]
impl LegacySource for SqlConnectors {
    async fn count(
        &self,
        tenant: &str,
        connection: &Connection,
    ) -> Result<Option<u64>, LegacyError> {
        self.connector(tenant, connection)?
            .count(tenant, connection)
            .await
    }

    async fn login(
        &self,
        tenant: &str,
        connection: &Connection,
        username: &str,
        password: &str,
    ) -> Result<LegacyLogin, LegacyError> {
        self.connector(tenant, connection)?
            .login(tenant, connection, username, password)
            .await
    }

    async fn get_user(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        self.connector(tenant, connection)?
            .get_user(tenant, connection, email)
            .await
    }

    async fn mark_migrated(
        &self,
        tenant: &str,
        connection: &Connection,
        profile: &LegacyProfile,
    ) -> Result<(), LegacyError> {
        self.connector(tenant, connection)?
            .mark_migrated(tenant, connection, profile)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dsn_password_is_masked_and_scrubbed() {
        let (shown, hidden) = mask("postgres://ro:s%40cret@db:5432/x", Backend::Postgres);
        assert_eq!(shown, "postgres://ro:***@db:5432/x");
        assert_eq!(
            scrub("auth failed for s@cret and s%40cret", &hidden),
            "auth failed for *** and ***"
        );
        let (shown, hidden) = mask("mysql://root@127.0.0.1:3306/test", Backend::MySql);
        assert_eq!(
            (shown.as_str(), hidden.len()),
            ("mysql://root@127.0.0.1:3306/test", 0)
        );
    }

    #[test]
    fn clear_dsn_passwords_are_refused_and_masked() {
        let cfg = |dsn: &str| {
            serde_json::json!({"type": "sql", "dsn": dsn,
                "lookup_query": "SELECT id, email, pw FROM users WHERE email = :identifier",
                "columns": {"user_id": "id", "email": "email", "password_hash": "pw"}})
        };
        let e = validate(&cfg("postgres://ro:s3cret@db.example/x")).unwrap_err();
        assert!(e.contains("${configuration.KEY}"), "{e}");
        assert!(validate(&cfg("postgres://ro:${configuration.PW}@db.example/x")).is_ok());
        assert!(validate(&cfg("postgres://ro@db.example/x")).is_ok());
        assert!(validate(&cfg("mysql://ro:a${configuration.PW}@db.example/x")).is_err());
        let mut stored = cfg("postgres://ro:s3cret@db.example:5432/x?sslmode=require");
        mask_settings(&mut stored, "********");
        assert_eq!(
            stored["dsn"],
            "postgres://ro:********@db.example:5432/x?sslmode=require"
        );
        let mut reference = cfg("postgres://ro:${configuration.PW}@db.example/x");
        mask_settings(&mut reference, "********");
        assert_eq!(
            reference["dsn"],
            "postgres://ro:${configuration.PW}@db.example/x"
        );
    }

    #[test]
    fn flags_and_binary_values() {
        for (cell, want) in [
            (Cell::Bool(true), true),
            (Cell::Int(1), true),
            (Cell::Int(0), false),
            (Cell::Text("TRUE".into()), true),
            (Cell::Text("no".into()), false),
            (Cell::Null, false),
        ] {
            assert_eq!(truthy(&cell), want, "{cell:?}");
        }
        use hash_format::{Filled, filled};
        assert_eq!(
            filled(&Cell::Bytes(vec![0, 255]), false),
            Some(Filled::Base64("AP8=".into()))
        );
        assert_eq!(
            filled(&Cell::Bytes(b"$2b$".to_vec()), true),
            Some(Filled::Text("$2b$".into()))
        );
        assert_eq!(filled(&Cell::Text("  ".into()), false), None);
    }
}
