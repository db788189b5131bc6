//! The tenant log.

use sqlx::any::AnyArguments;
use sqlx::query::Query as SqlxQuery;
use sqlx::{Any, AssertSqlSafe, Row};
use tern_core::CoreResult;
use tern_core::model::LogEvent;
use tern_core::store::LogStore;

use super::{SqlStore, decode_body, storage, to_body};

/// Bind an event's `id`, `type`, `date` and `body` columns, in that order
/// (the tenant log's insert, and a login's record which writes one).
pub(super) fn bind_event<'q>(
    q: SqlxQuery<'q, Any, AnyArguments>,
    e: &'q LogEvent,
) -> SqlxQuery<'q, Any, AnyArguments> {
    q.bind(&e.id).bind(&e.kind).bind(&e.date).bind(to_body(e))
}

#[async_trait::async_trait]
impl LogStore for SqlStore {
    async fn append_log(&self, tenant: &str, e: &LogEvent) -> CoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO logs (tenant_id, id, type, date, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant);
        bind_event(q, e)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn list_logs(
        &self,
        tenant: &str,
        kind: Option<&str>,
        offset: u64,
        limit: u64,
        count_up_to: u64,
    ) -> CoreResult<(Vec<LogEvent>, u64)> {
        let filter = if kind.is_some() { "AND type = $2" } else { "" };
        let page_sql = format!(
            "SELECT body FROM logs WHERE tenant_id = $1 {filter} ORDER BY seq DESC LIMIT {limit} OFFSET {offset}"
        );
        let mut page = sqlx::query(AssertSqlSafe(page_sql)).bind(tenant);
        if let Some(k) = kind {
            page = page.bind(k);
        }
        let rows = page.fetch_all(&self.pool).await.map_err(storage)?;
        let events = rows.iter().map(decode_body).collect::<CoreResult<_>>()?;
        if count_up_to == 0 {
            return Ok((events, 0));
        }
        // Counting stops at the bound: a log of millions of events is not
        // read whole for a total nobody pages to.
        let cap = i64::try_from(count_up_to).unwrap_or(i64::MAX);
        let count_sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM logs WHERE tenant_id = $1 {filter} LIMIT {cap}) AS counted"
        );
        let mut count = sqlx::query(AssertSqlSafe(count_sql)).bind(tenant);
        if let Some(k) = kind {
            count = count.bind(k);
        }
        let total: i64 = count
            .fetch_one(&self.pool)
            .await
            .map_err(storage)?
            .try_get(0)
            .map_err(storage)?;
        Ok((events, u64::try_from(total).unwrap_or(0)))
    }

    async fn logs_after(
        &self,
        tenant: &str,
        from: &str,
        limit: u64,
    ) -> CoreResult<Option<Vec<LogEvent>>> {
        // Write order is `seq`, not the id's clock (instances' clocks
        // differ): the checkpoint's `seq` by `logs_tenant_log_id`, then
        // along `logs_tenant` (tenant_id, seq).
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM logs WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(from)
                .fetch_optional(&self.pool)
                .await
                .map_err(storage)?;
        let Some(seq) = seq else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT body FROM logs WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(tenant)
        .bind(seq)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter()
            .map(decode_body)
            .collect::<CoreResult<_>>()
            .map(Some)
    }

    async fn get_log(&self, tenant: &str, id: &str) -> CoreResult<Option<LogEvent>> {
        // Index `logs_tenant_log_id` (migration 0037).
        sqlx::query("SELECT body FROM logs WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?
            .as_ref()
            .map(decode_body)
            .transpose()
    }

    async fn purge_logs(&self, tenant: &str, before: &str, limit: u64) -> CoreResult<u64> {
        // Oldest first along (tenant_id, seq): the scan stops at `limit`
        // matches instead of reading the whole log.
        let r = sqlx::query(
            "DELETE FROM logs WHERE seq IN (SELECT seq FROM logs \
             WHERE tenant_id = $1 AND date < $2 ORDER BY seq LIMIT $3)",
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
