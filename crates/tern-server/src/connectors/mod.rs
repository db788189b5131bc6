//! Zero-code legacy connectors, configured on a connection as
//! `options.tern_connector` instead of custom-database scripts.
//!
//! MINIMAL WIRING (branch `sqlconn`): this file only routes `type: "sql"` to
//! [`sql::SqlConnectors`] and everything else to the scripts, so the SQL
//! connector can be tested end to end. The connector framework (dispatcher,
//! `http` connector) replaces it at merge; keep `sql` routed there.

pub mod sql;

use serde_json::Value;
use tern_core::legacy::{LegacyError, LegacyLogin, LegacyProfile, LegacySource};
use tern_core::model::Connection;

/// The connector settings of a connection, if it has any.
pub fn configured(c: &Connection) -> Option<&Value> {
    c.options.get("tern_connector").filter(|v| !v.is_null())
}

/// Check `options.tern_connector`.
pub fn validate(v: &Value) -> Result<(), String> {
    match v.get("type").and_then(Value::as_str) {
        Some("sql") => sql::validate(v),
        _ => Err("options.tern_connector.type must be \"sql\".".into()),
    }
}

/// Scripts or a connector, per connection.
pub struct Dispatch {
    /// Custom-database scripts.
    pub scripts: crate::legacy_script::ScriptLegacySource,
    /// SQL connectors.
    pub sql: sql::SqlConnectors,
}

impl Dispatch {
    fn source(&self, c: &Connection) -> &dyn LegacySource {
        match configured(c)
            .and_then(|v| v.get("type"))
            .and_then(Value::as_str)
        {
            Some("sql") => &self.sql,
            _ => &self.scripts,
        }
    }
}

#[async_trait::async_trait]
impl LegacySource for Dispatch {
    async fn login(
        &self,
        tenant: &str,
        connection: &Connection,
        username: &str,
        password: &str,
    ) -> Result<LegacyLogin, LegacyError> {
        self.source(connection)
            .login(tenant, connection, username, password)
            .await
    }

    async fn get_user(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        self.source(connection)
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
            .mark_migrated(tenant, connection, profile)
            .await
    }
}
