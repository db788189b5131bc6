//! Fixed-window counters (`rate_windows`) and the suspicious-IP throttles
//! (`ip_throttles`).
//!
//! These rows are written on every Management API request and every login
//! attempt, so their commits must not each wait for a disk flush. On
//! PostgreSQL they commit with `synchronous_commit = off`: the count is
//! visible to every instance at once, and an operating-system crash can
//! forget at most the last fraction of a second of hits — a few requests
//! more for a client or an attacker, never a lost user or password, which
//! keep the server's durable default. (SQLite in WAL mode with
//! `synchronous=NORMAL` already commits without a flush.)

use sqlx::{AssertSqlSafe, Row};
use tern_core::store::RateWindowStore;
use tern_core::{CoreError, CoreResult};

use super::{SqlStore, storage};
use crate::search_sql::Dialect;

/// On PostgreSQL, a counter statement's first CTE: its implicit transaction
/// commits without waiting for the disk (`set_config(…, true)` lasts until
/// that transaction ends, so the connection keeps the durable default).
const RELAXED: &str = "relaxed AS (SELECT set_config('synchronous_commit', 'off', true))";

/// The statement of one hit of a window (`$1`–`$4`: tenant, scope, bucket,
/// window start), answering the window's `hits` and the SQL `also` adds
/// (`, <expression> AS <name>`, on the statement's later parameters).
///
/// One round trip either way, so a hit costs a login or a request little:
/// concurrent hits (from any instance) each count because the upsert is one
/// statement. Older windows of the bucket go with it.
pub(super) fn hit_sql(dialect: Dialect, also: &str) -> String {
    match dialect {
        Dialect::Postgres => format!(
            "WITH {RELAXED}, \
             hit AS (INSERT INTO rate_windows (tenant_id, scope, bucket, window_start, hits) \
               VALUES ($1, $2, $3, $4, 1) \
               ON CONFLICT (tenant_id, scope, bucket, window_start) \
               DO UPDATE SET hits = rate_windows.hits + 1 RETURNING hits), \
             older AS (DELETE FROM rate_windows \
               WHERE tenant_id = $1 AND scope = $2 AND bucket = $3 AND window_start < $4) \
             SELECT hits, (SELECT 1 FROM relaxed) AS relaxed{also} FROM hit"
        ),
        // Two statements in one call on the connection's thread, the
        // upsert last so that its row is the one fetched.
        _ => format!(
            "DELETE FROM rate_windows \
             WHERE tenant_id = $1 AND scope = $2 AND bucket = $3 AND window_start < $4; \
             INSERT INTO rate_windows (tenant_id, scope, bucket, window_start, hits) \
             VALUES ($1, $2, $3, $4, 1) \
             ON CONFLICT (tenant_id, scope, bucket, window_start) \
             DO UPDATE SET hits = rate_windows.hits + 1 \
             RETURNING hits{also}"
        ),
    }
}

/// Run a [`hit_sql`] statement; its one row.
pub(super) async fn hit_row<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    pool: &sqlx::AnyPool,
) -> CoreResult<sqlx::any::AnyRow> {
    // `fetch_all`: every statement of the string runs (SQLite's
    // `fetch_one` stops at the first statement's answer).
    let rows = q.fetch_all(pool).await.map_err(storage)?;
    rows.into_iter()
        .next()
        .ok_or_else(|| CoreError::Storage("the rate window upsert returned no count".into()))
}

/// The window's hits a [`hit_row`] says.
pub(super) fn hits_of(row: &sqlx::any::AnyRow) -> CoreResult<u64> {
    let hits: i64 = row.try_get("hits").map_err(storage)?;
    Ok(u64::try_from(hits).unwrap_or(0))
}

#[async_trait::async_trait]
impl RateWindowStore for SqlStore {
    async fn hit_rate_window(
        &self,
        tenant: &str,
        scope: &str,
        bucket: &str,
        window_start: i64,
    ) -> CoreResult<u64> {
        let sql = hit_sql(self.dialect, "");
        let q = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(scope)
            .bind(bucket)
            .bind(window_start);
        let row = hit_row(q, &self.pool).await?;
        hits_of(&row)
    }

    async fn rate_window_hits(
        &self,
        tenant: &str,
        scope: &str,
        bucket: &str,
        window_start: i64,
    ) -> CoreResult<u64> {
        let row = sqlx::query(
            "SELECT hits FROM rate_windows \
             WHERE tenant_id = $1 AND scope = $2 AND bucket = $3 AND window_start = $4",
        )
        .bind(tenant)
        .bind(scope)
        .bind(bucket)
        .bind(window_start)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage)?;
        let hits: i64 = match row {
            Some(r) => r.try_get("hits").map_err(storage)?,
            None => 0,
        };
        Ok(u64::try_from(hits).unwrap_or(0))
    }

    async fn purge_rate_windows(&self, tenant: &str, before: i64) -> CoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM rate_windows WHERE tenant_id = $1 AND window_start < $2")
                .bind(tenant)
                .bind(before)
                .execute(&self.pool)
                .await
                .map_err(storage)?;
        Ok(done.rows_affected())
    }

    async fn take_ip_throttle(
        &self,
        tenant: &str,
        stage: &str,
        ip: &str,
        now_ms: i64,
        rate_ms: i64,
        tolerance_ms: i64,
    ) -> CoreResult<Option<i64>> {
        // The upsert's WHERE is the admission: on a conflict the row is
        // locked and the condition read on its latest version (PostgreSQL;
        // SQLite serialises writers), so racing takes see each other's
        // counts. A fresh bucket is full, and always takes one (max_attempts
        // is at least 1). Refused, the update does not happen and RETURNING
        // gives no row.
        let upsert = "INSERT INTO ip_throttles (tenant_id, stage, ip, tat_ms) \
             VALUES ($1, $2, $3, $4 + $5) \
             ON CONFLICT (tenant_id, stage, ip) DO UPDATE SET tat_ms = \
               CASE WHEN ip_throttles.tat_ms > $4 THEN ip_throttles.tat_ms ELSE $4 END + $5 \
             WHERE ip_throttles.tat_ms - $4 <= $6 \
             RETURNING tat_ms";
        let sql = match self.dialect {
            // One row either way (`tat_ms` NULL when refused), so that the
            // relaxed commit is asked for whatever the upsert did.
            Dialect::Postgres => format!(
                "WITH {RELAXED}, taken AS ({upsert}) \
                 SELECT (SELECT tat_ms FROM taken) AS tat_ms, \
                   (SELECT 1 FROM relaxed) AS relaxed"
            ),
            _ => upsert.to_string(),
        };
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(stage)
            .bind(ip)
            .bind(now_ms)
            .bind(rate_ms)
            .bind(tolerance_ms)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        match row {
            Some(r) => r.try_get::<Option<i64>, _>("tat_ms").map_err(storage),
            None => Ok(None),
        }
    }

    async fn ip_throttle(&self, tenant: &str, stage: &str, ip: &str) -> CoreResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT tat_ms FROM ip_throttles WHERE tenant_id = $1 AND stage = $2 AND ip = $3",
        )
        .bind(tenant)
        .bind(stage)
        .bind(ip)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage)?;
        row.map(|r| r.try_get("tat_ms").map_err(storage))
            .transpose()
    }

    async fn delete_ip_throttles(&self, tenant: &str, ip: &str) -> CoreResult<u64> {
        let done = sqlx::query("DELETE FROM ip_throttles WHERE tenant_id = $1 AND ip = $2")
            .bind(tenant)
            .bind(ip)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(done.rows_affected())
    }

    async fn purge_ip_throttles(&self, tenant: &str, before_ms: i64) -> CoreResult<u64> {
        let done = sqlx::query("DELETE FROM ip_throttles WHERE tenant_id = $1 AND tat_ms < $2")
            .bind(tenant)
            .bind(before_ms)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(done.rows_affected())
    }
}
