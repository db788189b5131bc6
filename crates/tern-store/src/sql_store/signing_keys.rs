//! A tenant's signing keys.

use sqlx::Row;
use tern_core::CoreResult;
use tern_core::model::SigningKey;
use tern_core::store::SigningKeyStore;

use super::{SqlStore, storage};

#[async_trait::async_trait]
impl SigningKeyStore for SqlStore {
    async fn signing_keys(&self, tenant: &str) -> CoreResult<Vec<SigningKey>> {
        let rows = sqlx::query(
            "SELECT kid, private_pem, created_at FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at DESC, kid",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter()
            .map(|r| {
                Ok(SigningKey {
                    kid: r.try_get("kid").map_err(storage)?,
                    private_pem: r.try_get("private_pem").map_err(storage)?,
                    created_at: r.try_get("created_at").map_err(storage)?,
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, tenant: &str, key: &SigningKey) -> CoreResult<()> {
        sqlx::query("INSERT INTO signing_keys (tenant_id, kid, private_pem, created_at) VALUES ($1, $2, $3, $4)")
            .bind(tenant)
            .bind(&key.kid)
            .bind(&key.private_pem)
            .bind(&key.created_at)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }
}
