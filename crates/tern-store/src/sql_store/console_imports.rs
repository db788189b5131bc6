//! The console's imports, one JSON document per upload.

use sqlx::Row;
use tern_core::console_import::ConsoleImport;
use tern_core::store::ConsoleImportStore;
use tern_core::{CoreError, CoreResult};

use super::{SqlStore, as_i64, storage, to_body};

fn parse(body: &str) -> CoreResult<ConsoleImport> {
    serde_json::from_str(body)
        .map_err(|e| CoreError::Storage(format!("corrupt console import: {e}")))
}

#[async_trait::async_trait]
impl ConsoleImportStore for SqlStore {
    async fn put_console_import(&self, tenant: &str, import: &ConsoleImport) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO console_imports (tenant_id, id, created_at, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, id) DO UPDATE SET body = excluded.body",
        )
        .bind(tenant)
        .bind(&import.id)
        .bind(&import.created_at)
        .bind(to_body(import))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn get_console_import(
        &self,
        tenant: &str,
        id: &str,
    ) -> CoreResult<Option<ConsoleImport>> {
        let row = sqlx::query("SELECT body FROM console_imports WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        match row {
            None => Ok(None),
            Some(r) => parse(&r.try_get::<String, _>("body").map_err(storage)?).map(Some),
        }
    }

    async fn list_console_imports(
        &self,
        tenant: &str,
        limit: u64,
    ) -> CoreResult<Vec<ConsoleImport>> {
        let rows = sqlx::query(
            "SELECT body FROM console_imports WHERE tenant_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(tenant)
        .bind(as_i64(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter()
            .map(|r| parse(&r.try_get::<String, _>("body").map_err(storage)?))
            .collect()
    }
}
