//! A tenant's token signing keys.

use crate::CoreResult;
use crate::model::SigningKey;

/// Storing a tenant's signing keys.
#[async_trait::async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Signing keys, newest first.
    async fn signing_keys(&self, tenant: &str) -> CoreResult<Vec<SigningKey>>;
    /// Add a signing key.
    async fn insert_signing_key(&self, tenant: &str, key: &SigningKey) -> CoreResult<()>;
}
