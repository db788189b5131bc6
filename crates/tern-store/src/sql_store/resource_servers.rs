//! APIs (resource servers), looked up by id or by identifier.

use tern_core::CoreResult;
use tern_core::model::ResourceServer;
use tern_core::store::ResourceServerStore;

use super::{SqlStore, to_body};

#[async_trait::async_trait]
impl ResourceServerStore for SqlStore {
    async fn insert_resource_server(&self, tenant: &str, rs: &ResourceServer) -> CoreResult<()> {
        let body = to_body(rs);
        let q = sqlx::query("INSERT INTO resource_servers (tenant_id, id, identifier, body) VALUES ($1, $2, $3, $4)")
            .bind(tenant)
            .bind(&rs.id)
            .bind(&rs.identifier)
            .bind(&body);
        self.write_doc(q, "A resource server with the same identifier")
            .await
            .map(drop)
    }

    async fn get_resource_server(
        &self,
        tenant: &str,
        id_or_identifier: &str,
    ) -> CoreResult<Option<ResourceServer>> {
        if let Some(rs) = self
            .get_doc("resource_servers", "id", tenant, id_or_identifier)
            .await?
        {
            return Ok(Some(rs));
        }
        self.get_doc("resource_servers", "identifier", tenant, id_or_identifier)
            .await
    }

    async fn list_resource_servers(&self, tenant: &str) -> CoreResult<Vec<ResourceServer>> {
        self.list_docs("resource_servers", tenant, "identifier")
            .await
    }

    async fn update_resource_server(&self, tenant: &str, rs: &ResourceServer) -> CoreResult<bool> {
        let body = to_body(rs);
        let q = sqlx::query("UPDATE resource_servers SET identifier = $3, body = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(&rs.id)
            .bind(&rs.identifier)
            .bind(&body);
        Ok(self
            .write_doc(q, "A resource server with the same identifier")
            .await?
            > 0)
    }

    async fn delete_resource_server(&self, tenant: &str, id: &str) -> CoreResult<bool> {
        self.delete_doc("resource_servers", tenant, id).await
    }
}
