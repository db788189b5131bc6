//! Applications: JSON documents plus the columns they are looked up by.

use tern_core::CoreResult;
use tern_core::model::Client;
use tern_core::store::ClientStore;

use super::{SqlStore, storage};

/// A client's stored body: its API shape plus the secret hash, which the API
/// shape deliberately omits.
fn client_body(c: &Client) -> String {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    v["secret_hash"] = serde_json::Value::String(c.secret_hash.clone());
    v.to_string()
}

#[async_trait::async_trait]
impl ClientStore for SqlStore {
    async fn insert_client(&self, tenant: &str, c: &Client) -> CoreResult<()> {
        let body = client_body(c);
        let q =
            sqlx::query("INSERT INTO clients (tenant_id, id, name, body) VALUES ($1, $2, $3, $4)")
                .bind(tenant)
                .bind(&c.client_id)
                .bind(&c.name)
                .bind(&body);
        self.write_doc(q, "A client with this id").await.map(drop)
    }

    async fn get_client(&self, tenant: &str, client_id: &str) -> CoreResult<Option<Client>> {
        self.get_doc("clients", "id", tenant, client_id).await
    }

    async fn list_clients(&self, tenant: &str) -> CoreResult<Vec<Client>> {
        self.list_docs("clients", tenant, "name, id").await
    }

    async fn update_client(&self, tenant: &str, c: &Client) -> CoreResult<bool> {
        let body = client_body(c);
        let q =
            sqlx::query("UPDATE clients SET name = $3, body = $4 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(&c.client_id)
                .bind(&c.name)
                .bind(&body);
        Ok(self.write_doc(q, "A client").await? > 0)
    }

    async fn delete_client(&self, tenant: &str, client_id: &str) -> CoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        sqlx::query("DELETE FROM client_grants WHERE tenant_id = $1 AND client_id = $2")
            .bind(tenant)
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        let r = sqlx::query("DELETE FROM clients WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }
}
