//! The tenant log.

use sqlx::any::AnyArguments;
use sqlx::query::Query as SqlxQuery;
use sqlx::{Any, AssertSqlSafe, Row};
use tern_core::CoreResult;
use tern_core::model::LogEvent;
use tern_core::store::{LogQuery, LogStore};

use super::{SqlStore, decode_body, storage, to_body};

/// Bind an event's `id`, `type`, `date`, `body` and `user_id` columns, in
/// that order (the tenant log's insert, and a login's record which writes
/// one).
pub(super) fn bind_event<'q>(
    q: SqlxQuery<'q, Any, AnyArguments>,
    e: &'q LogEvent,
) -> SqlxQuery<'q, Any, AnyArguments> {
    q.bind(&e.id)
        .bind(&e.kind)
        .bind(&e.date)
        .bind(to_body(e))
        .bind(e.user_id.as_deref())
}

/// The `WHERE` conditions after the tenant's (`$1`) for `query`, its values
/// bound from `$2` on in the order [`bind_query`] binds them.
fn conditions(query: &LogQuery<'_>) -> String {
    let mut out = String::new();
    let mut n = 1;
    for (given, column) in [
        (query.kind.is_some(), "type"),
        (query.user_id.is_some(), "user_id"),
    ] {
        if given {
            n += 1;
            out.push_str(&format!(" AND {column} = ${n}"));
        }
    }
    out
}

fn bind_query<'q>(
    mut q: SqlxQuery<'q, Any, AnyArguments>,
    query: &LogQuery<'q>,
) -> SqlxQuery<'q, Any, AnyArguments> {
    for value in [query.kind, query.user_id].into_iter().flatten() {
        q = q.bind(value);
    }
    q
}

#[async_trait::async_trait]
impl LogStore for SqlStore {
    async fn append_log(&self, tenant: &str, e: &LogEvent) -> CoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO logs (tenant_id, id, type, date, body, user_id) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant);
        bind_event(q, e)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn search_logs(
        &self,
        tenant: &str,
        query: &LogQuery<'_>,
        offset: u64,
        limit: u64,
        count_up_to: u64,
    ) -> CoreResult<(Vec<LogEvent>, u64)> {
        // Indexes `logs_tenant` (tenant_id, seq), `logs_tenant_type` (… type,
        // seq) and `logs_tenant_user` (… user_id, seq; migration 0046) give
        // each filter its order without a sort.
        let filter = conditions(query);
        let order = if query.oldest_first { "ASC" } else { "DESC" };
        let page_sql = format!(
            "SELECT body FROM logs WHERE tenant_id = $1{filter} \
             ORDER BY seq {order} LIMIT {limit} OFFSET {offset}"
        );
        let page = bind_query(sqlx::query(AssertSqlSafe(page_sql)).bind(tenant), query);
        let rows = page.fetch_all(&self.pool).await.map_err(storage)?;
        let events = rows.iter().map(decode_body).collect::<CoreResult<_>>()?;
        if count_up_to == 0 {
            return Ok((events, 0));
        }
        // Counting stops at the bound: a log of millions of events is not
        // read whole for a total nobody pages to.
        let cap = i64::try_from(count_up_to).unwrap_or(i64::MAX);
        let count_sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM logs WHERE tenant_id = $1{filter} LIMIT {cap}) AS counted"
        );
        let count = bind_query(sqlx::query(AssertSqlSafe(count_sql)).bind(tenant), query);
        let total: i64 = count
            .fetch_one(&self.pool)
            .await
            .map_err(storage)?
            .try_get(0)
            .map_err(storage)?;
        Ok((events, u64::try_from(total).unwrap_or(0)))
    }

    async fn logs_after(&self, tenant: &str, from: &str, take: u64) -> CoreResult<Vec<LogEvent>> {
        // The checkpoint's own position when it is stored (index
        // `logs_tenant_log_id`), else that of the first id after it; then
        // along (tenant_id, seq).
        let rows = sqlx::query(
            "SELECT body FROM logs WHERE tenant_id = $1 AND seq > COALESCE( \
               (SELECT seq FROM logs WHERE tenant_id = $1 AND id = $2), \
               (SELECT seq - 1 FROM logs WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT 1), \
               (SELECT MAX(seq) FROM logs)) \
             ORDER BY seq LIMIT $3",
        )
        .bind(tenant)
        .bind(from)
        .bind(i64::try_from(take).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter().map(decode_body).collect()
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
