//! Connections and the per-connection counts of the migration report.

use crate::CoreResult;
use crate::model::Connection;

/// Storing connections; counting their users.
#[async_trait::async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Insert a connection; `Conflict` when the name is taken.
    async fn insert_connection(&self, tenant: &str, connection: &Connection) -> CoreResult<()>;
    /// Get a connection by id.
    async fn get_connection(&self, tenant: &str, id: &str) -> CoreResult<Option<Connection>>;
    /// Get a connection by name.
    async fn get_connection_by_name(
        &self,
        tenant: &str,
        name: &str,
    ) -> CoreResult<Option<Connection>>;
    /// All connections, by name.
    async fn list_connections(&self, tenant: &str) -> CoreResult<Vec<Connection>>;
    /// Replace a connection; false if it does not exist.
    async fn update_connection(&self, tenant: &str, connection: &Connection) -> CoreResult<bool>;
    /// Delete a connection and its users; false if it did not exist.
    async fn delete_connection(&self, tenant: &str, id: &str) -> CoreResult<bool>;
    /// How many users the connection has.
    async fn count_connection_users(&self, tenant: &str, connection_id: &str) -> CoreResult<u64>;
    /// A connection's users counted per arrival source and per credential
    /// scheme prefix, for the migration report.
    async fn migration_stats(
        &self,
        tenant: &str,
        connection_id: &str,
    ) -> CoreResult<crate::migration::MigrationStats>;
}
