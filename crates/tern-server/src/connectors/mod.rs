//! Zero-code connectors (a Tern extension): a connection's legacy store
//! described by `options.tern_connector` instead of custom-database scripts,
//! serving the same migration engine (login, get_user, mark migrated).
//!
//! [`Dispatcher`] is the server's one [`LegacySource`]: per connection it
//! uses the configured connector, else the connection's scripts. Connectors
//! are built once per connection and configuration (their token cache,
//! circuit state and pools survive between logins) and rebuilt when the
//! configuration changes.

pub mod auth0;
pub mod cognito;
pub mod http;
pub mod resilience;
pub mod sql;

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use serde_json::Value;
use tern_core::legacy::{LegacyCreate, LegacyError, LegacyLogin, LegacyProfile, LegacySource};
use tern_core::model::{Connection, JsonObject};

use crate::metrics::ConnectionLabels;
use crate::state::{AppState, Inner};

/// The connection option holding a connector's configuration.
pub const OPTION: &str = "tern_connector";
/// The `options.configuration` key of the HTTP connector's client secret
/// (kept with the other connection secrets, not in `tern_connector`).
pub const SECRET_KEY: &str = "TERN_CONNECTOR_CLIENT_SECRET";

/// The connector configuration of a connection, if any.
pub fn configured(c: &Connection) -> Option<&Value> {
    c.options.get(OPTION).filter(|v| !v.is_null())
}

/// Check `options.tern_connector` (with the secret it needs); the message
/// says what to fix.
pub fn validate(options: &JsonObject) -> Result<(), String> {
    let Some(cfg) = options.get(OPTION).filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let field = format!("'options.{OPTION}'");
    let Some(kind) = cfg.get("type").and_then(Value::as_str) else {
        return Err(format!(
            "{field} must be an object with a \"type\": \"http\", \"sql\", \"cognito\" or \"auth0\"."
        ));
    };
    match kind {
        "http" => {
            http::parse(cfg).map_err(|e| format!("{field} (http): {e}."))?;
            if secret(options, SECRET_KEY).is_none() {
                return Err(format!(
                    "the http connector needs its client secret in 'options.configuration.{SECRET_KEY}'."
                ));
            }
            Ok(())
        }
        "sql" => sql::validate(cfg).map_err(|e| format!("{field} (sql): {e}.")),
        "cognito" => {
            cognito::validate(cfg, options).map_err(|e| format!("{field} (cognito): {e}."))
        }
        "auth0" => {
            auth0::parse(cfg).map_err(|e| format!("{field} (auth0): {e}."))?;
            if secret(options, auth0::SECRET_KEY).is_none() {
                return Err(format!(
                    "the auth0 connector needs the source tenant client's secret in 'options.configuration.{}'.",
                    auth0::SECRET_KEY
                ));
            }
            Ok(())
        }
        other => Err(format!(
            "'options.{OPTION}.type': unknown connector type '{other}' (use \"http\", \"sql\", \"cognito\" or \"auth0\")."
        )),
    }
}

/// Deserialize a connector's settings; the message names the field at fault.
pub fn settings<T: serde::de::DeserializeOwned>(config: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(config.clone()).map_err(|e| {
        match e.path().to_string().as_str() {
            "." => e.inner().to_string(),
            path => format!("{path}: {}", e.inner()),
        }
    })
}

fn secret<'a>(options: &'a JsonObject, key: &str) -> Option<&'a str> {
    options
        .get("configuration")
        .and_then(|c| c.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// How a connector gets the machine token it presents to a legacy API.
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync {
    /// A client-credentials token and its lifetime in seconds, or why not.
    async fn client_token(
        &self,
        client_id: &str,
        client_secret: &str,
        audience: &str,
        scope: Option<&str>,
    ) -> Result<(String, i64), String>;
}

/// Tokens minted by this server through the `/oauth/token` code path.
struct OwnTokens(Weak<Inner>);

#[async_trait::async_trait]
impl TokenSource for OwnTokens {
    async fn client_token(
        &self,
        client_id: &str,
        client_secret: &str,
        audience: &str,
        scope: Option<&str>,
    ) -> Result<(String, i64), String> {
        let inner = self.0.upgrade().ok_or("the server is shutting down")?;
        crate::tokens::internal_client_token(
            &AppState(inner),
            client_id,
            client_secret,
            audience,
            scope,
        )
        .await
    }
}

/// A built connector and the configuration it was built from.
type Cached<T> = (String, Arc<T>);

/// The connector cached for connection `id` if it was built from `key`
/// (its configuration and secrets), else a new one, cached.
fn reuse_or_build<T>(
    cache: &std::sync::Mutex<HashMap<String, Cached<T>>>,
    id: &str,
    key: String,
    build: impl FnOnce() -> Result<T, LegacyError>,
) -> Result<Arc<T>, LegacyError> {
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((k, conn)) = cache.get(id)
        && *k == key
    {
        return Ok(conn.clone());
    }
    let conn = Arc::new(build()?);
    cache.insert(id.to_string(), (key, conn.clone()));
    Ok(conn)
}

/// The server's legacy source: connectors where configured, scripts elsewhere.
pub struct Dispatcher {
    scripts: Arc<dyn LegacySource>,
    tokens: Arc<dyn TokenSource>,
    network: tern_net::Network,
    http: std::sync::Mutex<HashMap<String, Cached<http::HttpConnector>>>,
    cognito: std::sync::Mutex<HashMap<String, Cached<cognito::CognitoConnector>>>,
    auth0: std::sync::Mutex<HashMap<String, Cached<auth0::Auth0Connector>>>,
    sql: Arc<sql::SqlConnectors>,
    /// The HTTP, Cognito and Auth0 connectors' circuit state by connection name (metrics).
    circuits: Family<ConnectionLabels, Gauge>,
}

impl Dispatcher {
    /// `state` is the server's own state (weak: the state owns the dispatcher).
    pub fn new(
        scripts: Arc<dyn LegacySource>,
        sql: sql::SqlConnectors,
        network: tern_net::Network,
        state: Weak<Inner>,
    ) -> Self {
        Self::with_tokens(scripts, sql, network, Arc::new(OwnTokens(state)))
    }

    /// With another token source.
    pub fn with_tokens(
        scripts: Arc<dyn LegacySource>,
        sql: sql::SqlConnectors,
        network: tern_net::Network,
        tokens: Arc<dyn TokenSource>,
    ) -> Self {
        Self {
            scripts,
            tokens,
            // The HTTP connector connects only where the network policy allows.
            network,
            http: std::sync::Mutex::new(HashMap::new()),
            cognito: std::sync::Mutex::new(HashMap::new()),
            auth0: std::sync::Mutex::new(HashMap::new()),
            sql: Arc::new(sql),
            circuits: Family::default(),
        }
    }

    /// Report each HTTP connector's circuit in `circuits` (the metrics'
    /// `legacy_circuit_open`).
    #[must_use]
    pub fn with_circuit_gauges(mut self, circuits: Family<ConnectionLabels, Gauge>) -> Self {
        self.circuits = circuits;
        self
    }

    /// The circuit gauge of a connection's connector.
    fn circuit(&self, c: &Connection) -> Gauge {
        self.circuits
            .get_or_create(&ConnectionLabels {
                connection: c.name.clone(),
            })
            .clone()
    }

    fn http(&self, c: &Connection, cfg: &Value) -> Result<Arc<http::HttpConnector>, LegacyError> {
        let secret = secret(&c.options, SECRET_KEY)
            .unwrap_or_default()
            .to_string();
        // The secret is part of the key so that a rotated secret takes effect.
        let key = format!("{cfg}\u{0}{secret}");
        reuse_or_build(&self.http, &c.id, key, || {
            let config = http::parse(cfg)
                .map_err(|e| LegacyError(format!("the http connector is misconfigured: {e}")))?;
            Ok(
                http::HttpConnector::new(config, secret, self.network.clone(), self.tokens.clone())
                    .reporting_circuit_in(self.circuit(c)),
            )
        })
    }

    fn cognito(
        &self,
        c: &Connection,
        cfg: &Value,
    ) -> Result<Arc<cognito::CognitoConnector>, LegacyError> {
        let misconfigured =
            |e: String| LegacyError(format!("the cognito connector is misconfigured: {e}"));
        let secrets = cognito::Secrets::from_options(&c.options).map_err(misconfigured)?;
        // The secrets are part of the key so that rotated keys take effect.
        let key = format!("{cfg}\u{0}{}", secrets.fingerprint());
        reuse_or_build(&self.cognito, &c.id, key, || {
            let config = cognito::parse(cfg).map_err(misconfigured)?;
            Ok(
                cognito::CognitoConnector::new(config, secrets, self.network.clone())
                    .map_err(misconfigured)?
                    .reporting_circuit_in(self.circuit(c)),
            )
        })
    }

    fn auth0(
        &self,
        c: &Connection,
        cfg: &Value,
    ) -> Result<Arc<auth0::Auth0Connector>, LegacyError> {
        let secret = secret(&c.options, auth0::SECRET_KEY)
            .unwrap_or_default()
            .to_string();
        // The secret is part of the key so that a rotated secret takes effect.
        let key = format!("{cfg}\u{0}{secret}");
        reuse_or_build(&self.auth0, &c.id, key, || {
            let config = auth0::parse(cfg)
                .map_err(|e| LegacyError(format!("the auth0 connector is misconfigured: {e}")))?;
            Ok(
                auth0::Auth0Connector::new(config, secret, self.network.clone())
                    .reporting_circuit_in(self.circuit(c)),
            )
        })
    }

    /// The source serving this connection. SQL connectors keep their own
    /// per-connection cache (it also tracks the `configuration` values a DSN uses).
    async fn source(&self, c: &Connection) -> Result<Arc<dyn LegacySource>, LegacyError> {
        let Some(cfg) = configured(c) else {
            return Ok(self.scripts.clone());
        };
        match cfg.get("type").and_then(Value::as_str) {
            Some("http") => Ok(self.http(c, cfg)?),
            Some("sql") => Ok(self.sql.clone()),
            Some("cognito") => Ok(self.cognito(c, cfg)?),
            Some("auth0") => Ok(self.auth0(c, cfg)?),
            other => Err(LegacyError(format!(
                "unknown connector type {other:?} in options.{OPTION}"
            ))),
        }
    }
}

#[async_trait::async_trait]
impl LegacySource for Dispatcher {
    async fn count(
        &self,
        tenant: &str,
        connection: &Connection,
    ) -> Result<Option<u64>, LegacyError> {
        self.source(connection)
            .await?
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
        self.source(connection)
            .await?
            .login(tenant, connection, username, password)
            .await
    }

    async fn login_from(
        &self,
        tenant: &str,
        connection: &Connection,
        username: &str,
        password: &str,
        ip: Option<&str>,
    ) -> Result<LegacyLogin, LegacyError> {
        self.source(connection)
            .await?
            .login_from(tenant, connection, username, password, ip)
            .await
    }

    async fn get_user(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        self.source(connection)
            .await?
            .get_user(tenant, connection, email)
            .await
    }

    async fn mark_migrated(
        &self,
        tenant: &str,
        connection: &Connection,
        profile: &LegacyProfile,
    ) -> Result<(), LegacyError> {
        self.source(connection)
            .await?
            .mark_migrated(tenant, connection, profile)
            .await
    }

    // Import mode off (`legacy_ops`): scripts serve these; connectors answer
    // the trait's "not supported".

    async fn create(
        &self,
        tenant: &str,
        connection: &Connection,
        user: &Value,
    ) -> Result<LegacyCreate, LegacyError> {
        self.source(connection)
            .await?
            .create(tenant, connection, user)
            .await
    }

    async fn verify(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
    ) -> Result<(), LegacyError> {
        self.source(connection)
            .await?
            .verify(tenant, connection, email)
            .await
    }

    async fn change_password(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
        new_password: &str,
    ) -> Result<bool, LegacyError> {
        self.source(connection)
            .await?
            .change_password(tenant, connection, email, new_password)
            .await
    }

    async fn delete(
        &self,
        tenant: &str,
        connection: &Connection,
        id: &str,
    ) -> Result<(), LegacyError> {
        self.source(connection)
            .await?
            .delete(tenant, connection, id)
            .await
    }

    async fn change_email(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
        new_email: &str,
        verified: bool,
    ) -> Result<bool, LegacyError> {
        self.source(connection)
            .await?
            .change_email(tenant, connection, email, new_email, verified)
            .await
    }
}
