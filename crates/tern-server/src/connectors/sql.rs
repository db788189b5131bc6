//! The `sql` connector: a stub until the SQL-connector work lands (it
//! replaces this file). Configuring `{"type": "sql"}` is refused with a
//! clear message meanwhile.

use serde_json::Value;
use tern_core::legacy::{LegacyError, LegacyLogin, LegacyProfile, LegacySource};
use tern_core::model::Connection;

const NOT_BUILT: &str = "the sql connector is not built yet";

/// The SQL connector (stub).
pub struct SqlConnector;

impl SqlConnector {
    /// Always fails: not built yet.
    pub async fn new(_config: &Value) -> Result<Self, String> {
        Err(NOT_BUILT.into())
    }
}

/// Always fails: not built yet.
pub fn validate(_config: &Value) -> Result<(), String> {
    Err(NOT_BUILT.into())
}

#[async_trait::async_trait]
impl LegacySource for SqlConnector {
    async fn login(
        &self,
        _tenant: &str,
        _connection: &Connection,
        _username: &str,
        _password: &str,
    ) -> Result<LegacyLogin, LegacyError> {
        Err(LegacyError(NOT_BUILT.into()))
    }

    async fn get_user(
        &self,
        _tenant: &str,
        _connection: &Connection,
        _email: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        Err(LegacyError(NOT_BUILT.into()))
    }
}
