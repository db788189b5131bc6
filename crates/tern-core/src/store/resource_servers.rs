//! APIs (Auth0 "resource servers").

use crate::CoreResult;
use crate::model::ResourceServer;

/// Storing APIs.
#[async_trait::async_trait]
pub trait ResourceServerStore: Send + Sync {
    /// Insert an API; `Conflict` when the identifier is taken.
    async fn insert_resource_server(&self, tenant: &str, rs: &ResourceServer) -> CoreResult<()>;
    /// Get an API by id or by identifier (audience).
    async fn get_resource_server(
        &self,
        tenant: &str,
        id_or_identifier: &str,
    ) -> CoreResult<Option<ResourceServer>>;
    /// All APIs.
    async fn list_resource_servers(&self, tenant: &str) -> CoreResult<Vec<ResourceServer>>;
    /// Replace an API; false if it does not exist.
    async fn update_resource_server(&self, tenant: &str, rs: &ResourceServer) -> CoreResult<bool>;
    /// Delete an API; false if it did not exist.
    async fn delete_resource_server(&self, tenant: &str, id: &str) -> CoreResult<bool>;
}
