//! Connections, and the per-connection counts of the migration report.

use sqlx::{AssertSqlSafe, Row};
use tern_core::CoreResult;
use tern_core::migration::{CredentialGroup, MigrationStats, SourceCount};
use tern_core::model::Connection;
use tern_core::store::ConnectionStore;

use super::{SqlStore, storage, to_body};
use crate::search_sql::Dialect;

#[async_trait::async_trait]
impl ConnectionStore for SqlStore {
    async fn insert_connection(&self, tenant: &str, c: &Connection) -> CoreResult<()> {
        let body = to_body(c);
        let q = sqlx::query(
            "INSERT INTO connections (tenant_id, id, name, body) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant)
        .bind(&c.id)
        .bind(&c.name)
        .bind(&body);
        self.write_doc(q, "A connection with the same name")
            .await
            .map(drop)
    }

    async fn get_connection(&self, tenant: &str, id: &str) -> CoreResult<Option<Connection>> {
        self.get_doc("connections", "id", tenant, id).await
    }

    async fn get_connection_by_name(
        &self,
        tenant: &str,
        name: &str,
    ) -> CoreResult<Option<Connection>> {
        self.get_doc("connections", "name", tenant, name).await
    }

    async fn list_connections(&self, tenant: &str) -> CoreResult<Vec<Connection>> {
        self.list_docs("connections", tenant, "name").await
    }

    async fn update_connection(&self, tenant: &str, c: &Connection) -> CoreResult<bool> {
        let body = to_body(c);
        let q = sqlx::query(
            "UPDATE connections SET name = $3, body = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(&c.id)
        .bind(&c.name)
        .bind(&body);
        Ok(self.write_doc(q, "A connection with the same name").await? > 0)
    }

    async fn delete_connection(&self, tenant: &str, id: &str) -> CoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND connection_id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        let r = sqlx::query("DELETE FROM connections WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn count_connection_users(&self, tenant: &str, connection_id: &str) -> CoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND connection_id = $2",
        )
        .bind(tenant)
        .bind(connection_id)
        .fetch_one(&self.pool)
        .await
        .map_err(storage)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn migration_stats(
        &self,
        tenant: &str,
        connection_id: &str,
    ) -> CoreResult<MigrationStats> {
        let rows = sqlx::query(
            "SELECT source, COUNT(*), SUM(CASE WHEN credential IS NULL THEN 1 ELSE 0 END), \
             MIN(created_at), MAX(created_at) FROM users \
             WHERE tenant_id = $1 AND connection_id = $2 GROUP BY source",
        )
        .bind(tenant)
        .bind(connection_id)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        let mut stats = MigrationStats::default();
        for r in rows {
            stats.sources.push(SourceCount {
                source: r.try_get(0).map_err(storage)?,
                users: count(r.try_get(1).map_err(storage)?),
                without_credential: count(
                    r.try_get::<Option<i64>, _>(2)
                        .map_err(storage)?
                        .unwrap_or(0),
                ),
                first_at: r.try_get(3).map_err(storage)?,
                last_at: r.try_get(4).map_err(storage)?,
            });
        }
        // Group credentials by the part of the storage string that names the
        // scheme and never the salt, so a million bcrypt hashes are one
        // group; MIN(credential) is a sample the domain names the scheme by.
        let pos = match self.dialect {
            Dialect::Sqlite => "instr",
            Dialect::Postgres => "strpos",
        };
        let key = format!(
            "CASE \
               WHEN substr(credential, 1, 1) = '$' THEN substr(credential, 1, {pos}(substr(credential, 2), '$') + 1) \
               WHEN substr(credential, 1, 2) = '{{\"' THEN substr(credential, 1, {pos}(credential || ',', ',')) \
               WHEN substr(credential, 1, 1) = '{{' THEN substr(credential, 1, {pos}(credential, '}}')) \
               WHEN {pos}(credential, '$') > 0 THEN substr(credential, 1, {pos}(credential, '$')) \
               ELSE '' END"
        );
        let sql = format!(
            "SELECT COUNT(*), MIN(credential) FROM users \
             WHERE tenant_id = $1 AND connection_id = $2 AND credential IS NOT NULL \
             GROUP BY {key}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(connection_id)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        for r in rows {
            stats.credentials.push(CredentialGroup {
                users: count(r.try_get(0).map_err(storage)?),
                sample: r.try_get(1).map_err(storage)?,
            });
        }
        Ok(stats)
    }
}
