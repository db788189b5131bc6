//! A tenant's token signing keys and their rotation.

use crate::CoreResult;
use crate::model::SigningKey;

/// Storing a tenant's signing keys. The store keeps at most one current and
/// one next key per tenant (a second one is a `Conflict`), so instances
/// sharing a database cannot rotate into two signing keys.
#[async_trait::async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every signing key, revoked ones included, newest first.
    async fn signing_keys(&self, tenant: &str) -> CoreResult<Vec<SigningKey>>;
    /// Add a signing key; a second current or next key is a `Conflict`.
    async fn insert_signing_key(&self, tenant: &str, key: &SigningKey) -> CoreResult<()>;
    /// Store the sealed form (and certificate) of keys read as
    /// `LegacyClear`, erase their clear text, and leave none of it in the
    /// database's free space where the backend allows (SQLite).
    async fn seal_legacy_signing_keys(&self, tenant: &str, sealed: &[SigningKey])
    -> CoreResult<()>;
    /// Rotate in one transaction: `current` becomes previous (until `at`),
    /// `next` becomes current (since `at`), `new_next` is added as the next
    /// key. `false` (and nothing changed) when `current`/`next` no longer
    /// hold those roles, e.g. another instance rotated first.
    async fn rotate_signing_keys(
        &self,
        tenant: &str,
        current: &str,
        next: &str,
        new_next: &SigningKey,
        at: &str,
    ) -> CoreResult<bool>;
    /// Revoke a previous key at `at` and erase its private half; `false`
    /// when `kid` is not a previous key.
    async fn revoke_signing_key(&self, tenant: &str, kid: &str, at: &str) -> CoreResult<bool>;
}
