//! Client grants.

use tern_core::CoreResult;
use tern_core::model::ClientGrant;
use tern_core::store::ClientGrantStore;

use super::{SqlStore, decode_body, storage, to_body};

#[async_trait::async_trait]
impl ClientGrantStore for SqlStore {
    async fn insert_client_grant(&self, tenant: &str, g: &ClientGrant) -> CoreResult<()> {
        let body = to_body(g);
        let q = sqlx::query("INSERT INTO client_grants (tenant_id, id, client_id, audience, body) VALUES ($1, $2, $3, $4, $5)")
            .bind(tenant)
            .bind(&g.id)
            .bind(&g.client_id)
            .bind(&g.audience)
            .bind(&body);
        self.write_doc(q, "A client grant for this client and audience")
            .await
            .map(drop)
    }

    async fn get_client_grant(&self, tenant: &str, id: &str) -> CoreResult<Option<ClientGrant>> {
        self.get_doc("client_grants", "id", tenant, id).await
    }

    async fn find_client_grant(
        &self,
        tenant: &str,
        client_id: &str,
        audience: &str,
    ) -> CoreResult<Option<ClientGrant>> {
        let row = sqlx::query("SELECT body FROM client_grants WHERE tenant_id = $1 AND client_id = $2 AND audience = $3")
            .bind(tenant)
            .bind(client_id)
            .bind(audience)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| decode_body(&r)).transpose()
    }

    async fn list_client_grants(&self, tenant: &str) -> CoreResult<Vec<ClientGrant>> {
        self.list_docs("client_grants", tenant, "client_id, audience")
            .await
    }

    async fn update_client_grant(&self, tenant: &str, g: &ClientGrant) -> CoreResult<bool> {
        let body = to_body(g);
        let q = sqlx::query("UPDATE client_grants SET body = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(&g.id)
            .bind(&body);
        Ok(self.write_doc(q, "A client grant").await? > 0)
    }

    async fn delete_client_grant(&self, tenant: &str, id: &str) -> CoreResult<bool> {
        self.delete_doc("client_grants", tenant, id).await
    }
}
