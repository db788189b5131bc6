//! Tenants: the unit of isolation every other row is scoped by.

use crate::CoreResult;
use crate::model::Tenant;

/// Storing tenants.
#[async_trait::async_trait]
pub trait TenantStore: Send + Sync {
    /// The first tenant created (the default one), if any.
    async fn default_tenant(&self) -> CoreResult<Option<Tenant>>;
    /// Create a tenant.
    async fn insert_tenant(&self, tenant: &Tenant) -> CoreResult<()>;
}
