//! The outbox (mail kept when no SMTP server is configured).

use sqlx::Row;
use tern_core::CoreResult;
use tern_core::mail::OutboxMessage;
use tern_core::store::OutboxStore;

use super::{SqlStore, as_i64, storage};

#[async_trait::async_trait]
impl OutboxStore for SqlStore {
    async fn insert_outbox(&self, tenant: &str, m: &OutboxMessage) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO outbox (tenant_id, id, created_at, kind, recipient, subject, body, html, sender) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant)
        .bind(&m.id)
        .bind(&m.created_at)
        .bind(&m.kind)
        .bind(&m.to)
        .bind(&m.subject)
        .bind(&m.text)
        .bind(&m.html)
        .bind(&m.from)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn list_outbox(
        &self,
        tenant: &str,
        offset: u64,
        limit: u64,
    ) -> CoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "SELECT id, created_at, kind, recipient, subject, body, html, sender FROM outbox \
             WHERE tenant_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3",
        )
        .bind(tenant)
        .bind(as_i64(limit))
        .bind(as_i64(offset))
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter()
            .map(|r| {
                Ok(OutboxMessage {
                    id: r.try_get("id").map_err(storage)?,
                    created_at: r.try_get("created_at").map_err(storage)?,
                    kind: r.try_get("kind").map_err(storage)?,
                    to: r.try_get("recipient").map_err(storage)?,
                    subject: r.try_get("subject").map_err(storage)?,
                    text: r.try_get("body").map_err(storage)?,
                    html: r.try_get("html").map_err(storage)?,
                    from: r.try_get("sender").map_err(storage)?,
                })
            })
            .collect()
    }

    async fn purge_outbox(&self, tenant: &str, before: &str, limit: u64) -> CoreResult<u64> {
        let r = sqlx::query(
            "DELETE FROM outbox WHERE tenant_id = $1 AND id IN (SELECT id FROM outbox \
             WHERE tenant_id = $1 AND created_at < $2 ORDER BY created_at LIMIT $3)",
        )
        .bind(tenant)
        .bind(before)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected())
    }
}
