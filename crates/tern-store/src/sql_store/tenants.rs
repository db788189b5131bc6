//! Tenants.

use sqlx::Row;
use tern_core::CoreResult;
use tern_core::model::Tenant;
use tern_core::store::TenantStore;

use super::{SqlStore, storage};

#[async_trait::async_trait]
impl TenantStore for SqlStore {
    async fn default_tenant(&self) -> CoreResult<Option<Tenant>> {
        let row =
            sqlx::query("SELECT id, name, created_at FROM tenants ORDER BY created_at, id LIMIT 1")
                .fetch_optional(&self.pool)
                .await
                .map_err(storage)?;
        row.map(|r| {
            Ok(Tenant {
                id: r.try_get("id").map_err(storage)?,
                name: r.try_get("name").map_err(storage)?,
                created_at: r.try_get("created_at").map_err(storage)?,
            })
        })
        .transpose()
    }

    async fn insert_tenant(&self, t: &Tenant) -> CoreResult<()> {
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&t.id)
            .bind(&t.name)
            .bind(&t.created_at)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }
}
