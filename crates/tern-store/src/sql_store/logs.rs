//! The tenant log.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query as SqlxQuery;
use tern_core::CoreResult;
use tern_core::model::LogEvent;
use tern_core::store::{LogQuery, LogStore};

use super::search_conn::SearchConn;
use super::{SqlStore, decode_body, storage, to_body};
use crate::log_search_sql;
use crate::search_sql::{Dialect, SqlValue};

/// A checkpoint's next events on SQLite: one writer at a time, so `seq`
/// order is commit order. The checkpoint's own position when it is stored
/// (index `logs_tenant_log_id`), else that of the first id after it; then
/// along (tenant_id, seq). A checkpoint after every stored event reads on
/// after the tenant's last: later events can only have a higher `seq`.
const SQLITE_AFTER: &str = "SELECT body FROM logs WHERE tenant_id = $1 AND seq > COALESCE( \
       (SELECT seq FROM logs WHERE tenant_id = $1 AND id = $2), \
       (SELECT seq - 1 FROM logs WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT 1), \
       (SELECT MAX(seq) FROM logs WHERE tenant_id = $1)) \
     ORDER BY seq LIMIT $3";

/// A checkpoint's next events on PostgreSQL, where transactions commit in
/// any order: `seq` 61 may be visible while 60 is not yet, and a reader
/// that read on from 61 would never see 60. So the log is read in
/// (tx, seq) order — `tx`, the writing transaction's id (migration 0047) —
/// and only as far as the snapshot's horizon (`pg_snapshot_xmin`): every
/// transaction below it has ended, so no event can appear there any more,
/// and everything a reader is given stays behind every event it has not
/// been given. A transaction open anywhere in the cluster holds the
/// horizon, so events written after it began wait until it ends (delayed,
/// never lost). The checkpoint's position is its own (tx, seq), or for a
/// checkpoint no longer stored that of the first id after it (ids begin
/// with their time), included; none at all: nothing after it yet. Index
/// `logs_tenant_tx` (tenant_id, tx, seq) serves the walk.
const POSTGRES_AFTER: &str = "WITH mark AS ( \
       SELECT tx, seq FROM ( \
         (SELECT tx, seq, 0 AS pick FROM logs WHERE tenant_id = $1 AND id = $2 ORDER BY seq LIMIT 1) \
         UNION ALL \
         (SELECT tx, seq - 1, 1 FROM logs WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT 1) \
       ) AS found ORDER BY pick LIMIT 1) \
     SELECT body FROM logs WHERE tenant_id = $1 \
       AND (tx, seq) > ((SELECT tx FROM mark), (SELECT seq FROM mark)) \
       AND tx < pg_snapshot_xmin(pg_current_snapshot()) \
     ORDER BY tx, seq LIMIT $3";

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

/// The `WHERE` conditions after the tenant's (`$1`) for `query`, and their
/// values, bound from `$2` on.
fn conditions(query: &LogQuery<'_>, dialect: Dialect) -> (String, Vec<SqlValue>) {
    let mut out = String::new();
    let mut binds = Vec::new();
    for (value, column) in [(query.kind, "type"), (query.user_id, "user_id")] {
        if let Some(v) = value {
            binds.push(SqlValue::Text(v.to_string()));
            out.push_str(&format!(" AND {column} = ${}", binds.len() + 1));
        }
    }
    if let Some(search) = query.search {
        let (sql, values) = log_search_sql::where_clause(search, dialect, binds.len() + 2);
        out.push_str(&format!(" AND {sql}"));
        binds.extend(values);
    }
    (out, binds)
}

impl SqlStore {
    async fn search_logs_on(
        &self,
        conn: &mut SearchConn<'_>,
        tenant: &str,
        query: &LogQuery<'_>,
        offset: u64,
        limit: u64,
        count_up_to: u64,
    ) -> CoreResult<(Vec<LogEvent>, u64)> {
        // Indexes `logs_tenant` (tenant_id, seq), `logs_tenant_type` (… type,
        // seq) and `logs_tenant_user` (… user_id, seq; migration 0046) give
        // each filter its order without a sort. A search within a date range
        // walks `logs_tenant_log_id` (tenant_id, id) inside it instead, in
        // id order — the date's, as ids begin with their time.
        let (filter, mut binds) = conditions(query, self.dialect);
        binds.insert(0, SqlValue::Text(tenant.to_string()));
        let key = if query.search.is_some_and(log_search_sql::bounded_by_date) {
            "id"
        } else {
            "seq"
        };
        let order = if query.oldest_first { "ASC" } else { "DESC" };
        let page_sql = format!(
            "SELECT body FROM logs WHERE tenant_id = $1{filter} \
             ORDER BY {key} {order} LIMIT {limit} OFFSET {offset}"
        );
        let events = conn.events(page_sql, &binds).await?;
        if count_up_to == 0 {
            return Ok((events, 0));
        }
        // Counting stops at the bound: a log of millions of events is not
        // read whole for a total nobody pages to. On PostgreSQL in the
        // page's order, so the count walks what the page walks.
        let cap = i64::try_from(count_up_to).unwrap_or(i64::MAX);
        let walk = match self.dialect {
            Dialect::Postgres => format!(" ORDER BY {key} {order}"),
            Dialect::Sqlite => String::new(),
        };
        let count_sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM logs WHERE tenant_id = $1{filter}{walk} LIMIT {cap}) AS counted"
        );
        let total = conn.count(count_sql, &binds).await?;
        Ok((events, u64::try_from(total).unwrap_or(0)))
    }
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
        // On a connection that stops the statements at the deadline (none:
        // the pool, unbounded), given back whatever the outcome.
        let mut conn = SearchConn::open(
            &self.pool,
            self.search_sqlite.as_ref(),
            self.dialect == Dialect::Postgres,
            query.deadline,
        )
        .await?;
        let page = self
            .search_logs_on(&mut conn, tenant, query, offset, limit, count_up_to)
            .await;
        conn.close(page).await
    }

    async fn logs_after(&self, tenant: &str, from: &str, take: u64) -> CoreResult<Vec<LogEvent>> {
        let sql = match self.dialect {
            Dialect::Sqlite => SQLITE_AFTER,
            Dialect::Postgres => POSTGRES_AFTER,
        };
        let rows = sqlx::query(sql)
            .bind(tenant)
            .bind(from)
            .bind(i64::try_from(take).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter().map(decode_body).collect()
    }

    async fn settle_copied_log(&self, tenant: &str) -> CoreResult<u64> {
        if self.dialect != Dialect::Postgres {
            return Ok(0);
        }
        // Every transaction of this cluster that wrote an event committed
        // before this statement's own id was assigned, or is running and
        // invisible to it: a visible event at or above it was not written
        // here. Index `logs_tenant_tx`: nothing to read when none is.
        let r = sqlx::query(
            "UPDATE logs SET tx = '0'::xid8 WHERE tenant_id = $1 AND tx >= pg_current_xact_id()",
        )
        .bind(tenant)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected())
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
