//! Client grants: which client may get which scopes of which API.

use crate::CoreResult;
use crate::model::ClientGrant;

/// Storing client grants.
#[async_trait::async_trait]
pub trait ClientGrantStore: Send + Sync {
    /// Insert a grant; `Conflict` when the client already has one for the audience.
    async fn insert_client_grant(&self, tenant: &str, grant: &ClientGrant) -> CoreResult<()>;
    /// Get a grant by id.
    async fn get_client_grant(&self, tenant: &str, id: &str) -> CoreResult<Option<ClientGrant>>;
    /// The grant of a client for an audience.
    async fn find_client_grant(
        &self,
        tenant: &str,
        client_id: &str,
        audience: &str,
    ) -> CoreResult<Option<ClientGrant>>;
    /// All grants.
    async fn list_client_grants(&self, tenant: &str) -> CoreResult<Vec<ClientGrant>>;
    /// Replace a grant; false if it does not exist.
    async fn update_client_grant(&self, tenant: &str, grant: &ClientGrant) -> CoreResult<bool>;
    /// Delete a grant; false if it did not exist.
    async fn delete_client_grant(&self, tenant: &str, id: &str) -> CoreResult<bool>;
}
