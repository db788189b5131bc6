//! Applications (Auth0 "clients").

use crate::CoreResult;
use crate::model::Client;

/// Storing applications.
#[async_trait::async_trait]
pub trait ClientStore: Send + Sync {
    /// Insert a client.
    async fn insert_client(&self, tenant: &str, client: &Client) -> CoreResult<()>;
    /// Get a client by id.
    async fn get_client(&self, tenant: &str, client_id: &str) -> CoreResult<Option<Client>>;
    /// All clients, by name.
    async fn list_clients(&self, tenant: &str) -> CoreResult<Vec<Client>>;
    /// Replace a client; false if it does not exist.
    async fn update_client(&self, tenant: &str, client: &Client) -> CoreResult<bool>;
    /// Delete a client and its grants; false if it did not exist.
    async fn delete_client(&self, tenant: &str, client_id: &str) -> CoreResult<bool>;
}
