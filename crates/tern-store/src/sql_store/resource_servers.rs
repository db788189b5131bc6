//! APIs (resource servers), looked up by id or by identifier.

use tern_core::CoreResult;
use tern_core::model::ResourceServer;
use tern_core::store::ResourceServerStore;

use sqlx::AssertSqlSafe;
use tern_core::CoreError;

use super::{SqlStore, is_unique_violation, storage, to_body};

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

    /// The update and, for each scope the API no longer defines, the
    /// removal of the permissions naming it (roles' and users'), in one
    /// transaction: a permission never outlives its scope.
    async fn update_resource_server(&self, tenant: &str, rs: &ResourceServer) -> CoreResult<bool> {
        let body = to_body(rs);
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let updated = sqlx::query("UPDATE resource_servers SET identifier = $3, body = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(&rs.id)
            .bind(&rs.identifier)
            .bind(&body)
            .execute(&mut *tx)
            .await;
        let updated = match updated {
            Ok(r) => r.rows_affected() > 0,
            Err(e) if is_unique_violation(&e) => {
                return Err(CoreError::conflict(
                    "conflict",
                    "A resource server with the same identifier already exists.",
                ));
            }
            Err(e) => return Err(storage(e)),
        };
        let given: Vec<String> = sqlx::query_scalar(
            "SELECT permission_name FROM role_permissions WHERE tenant_id = $1 AND resource_server_identifier = $2 \
             UNION SELECT permission_name FROM user_permissions WHERE tenant_id = $1 AND resource_server_identifier = $2",
        )
        .bind(tenant)
        .bind(&rs.identifier)
        .fetch_all(&mut *tx)
        .await
        .map_err(storage)?;
        let defined: std::collections::HashSet<&str> =
            rs.scopes.iter().map(|sc| sc.value.as_str()).collect();
        for name in given.iter().filter(|n| !defined.contains(n.as_str())) {
            for table in ["role_permissions", "user_permissions"] {
                let sql = format!(
                    "DELETE FROM {table} WHERE tenant_id = $1 AND resource_server_identifier = $2 AND permission_name = $3"
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(tenant)
                    .bind(&rs.identifier)
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(storage)?;
            }
        }
        tx.commit().await.map_err(storage)?;
        Ok(updated)
    }

    async fn delete_resource_server(&self, tenant: &str, id: &str) -> CoreResult<bool> {
        self.delete_doc("resource_servers", tenant, id).await
    }
}
