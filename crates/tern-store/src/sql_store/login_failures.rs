//! Brute-force counters and blocks (`login_failures`) and the
//! attack-protection settings (`attack_protection`).

use serde_json::Value;
use sqlx::{AssertSqlSafe, Row};
use tern_core::attack_protection::LoginBlock;
use tern_core::store::{BlocksOf, FailedLogin, LoginAttempt, LoginFailureStore};
use tern_core::{CoreError, CoreResult};

use super::rate_windows::{hit_row, hit_sql, hits_of};
use super::{SqlStore, storage};

/// The column and value a [`BlocksOf`] selects by.
fn selector<'a>(of: BlocksOf<'a>) -> (&'static str, &'a str) {
    match of {
        BlocksOf::User(id) => ("user_id", id),
        BlocksOf::Identifier(identifier) => ("identifier", identifier),
    }
}

/// The `blocked` column of a login attempt: a block of the user (`$5`) or
/// of the typed identifier's legacy key (`$8`, NULL for none) from this
/// address (`$6`) or from every address (`''`, per identifier), younger
/// than `$7` (NULL: blocks are off, none is found).
const BLOCKED: &str = "CAST(CASE WHEN EXISTS (SELECT 1 FROM login_failures \
    WHERE tenant_id = $1 AND user_id IN ($5, $8) AND (ip = $6 OR ip = '') \
    AND blocked_at IS NOT NULL AND last_failure_at >= $7) THEN 1 ELSE 0 END AS BIGINT) AS blocked";

/// A login attempt's statement (`attempt_login`, `peek_login`) with its
/// parameters: `$1` tenant, `$2`–`$4` the window, `$5` the key, `$6` the
/// address, `$7` blocks since, `$8` the other key.
fn bind_attempt<'q>(
    sql: &'q str,
    tenant: &'q str,
    a: &'q LoginAttempt<'q>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let (scope, bucket, window_start) = a.window;
    sqlx::query(AssertSqlSafe(sql))
        .bind(tenant)
        .bind(scope)
        .bind(bucket)
        .bind(window_start)
        .bind(a.user_id)
        .bind(a.ip)
        .bind(a.blocked_since)
        .bind(a.also_key)
}

/// The window's hits and whether a block holds, from an attempt's row.
fn attempt_answer(row: &sqlx::any::AnyRow) -> CoreResult<(u64, bool)> {
    let blocked: i64 = row.try_get("blocked").map_err(storage)?;
    Ok((hits_of(row)?, blocked != 0))
}

#[async_trait::async_trait]
impl LoginFailureStore for SqlStore {
    async fn get_attack_protection(&self, tenant: &str, kind: &str) -> CoreResult<Option<Value>> {
        let row =
            sqlx::query("SELECT body FROM attack_protection WHERE tenant_id = $1 AND kind = $2")
                .bind(tenant)
                .bind(kind)
                .fetch_optional(&self.pool)
                .await
                .map_err(storage)?;
        row.map(|r| {
            let body: String = r.try_get("body").map_err(storage)?;
            serde_json::from_str(&body)
                .map_err(|e| CoreError::Storage(format!("corrupt stored document: {e}")))
        })
        .transpose()
    }

    async fn put_attack_protection(
        &self,
        tenant: &str,
        kind: &str,
        body: &Value,
    ) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO attack_protection (tenant_id, kind, body) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, kind) DO UPDATE SET body = $3",
        )
        .bind(tenant)
        .bind(kind)
        .bind(body.to_string())
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn count_login_failure(&self, tenant: &str, f: &FailedLogin<'_>) -> CoreResult<u64> {
        // One statement: concurrent failures (from any instance) each count.
        // A row whose last failure is older than `forget_before` starts over,
        // its block (if any) lifted.
        let row = sqlx::query(
            "INSERT INTO login_failures \
             (tenant_id, user_id, ip, connection, identifier, failures, last_failure_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6) \
             ON CONFLICT (tenant_id, user_id, ip) DO UPDATE SET \
             failures = CASE WHEN login_failures.last_failure_at < $7 THEN 1 \
                        ELSE login_failures.failures + 1 END, \
             blocked_at = CASE WHEN login_failures.last_failure_at < $7 THEN NULL \
                          ELSE login_failures.blocked_at END, \
             unblock_hash = CASE WHEN login_failures.last_failure_at < $7 THEN NULL \
                            ELSE login_failures.unblock_hash END, \
             connection = $4, identifier = $5, last_failure_at = $6 \
             RETURNING failures",
        )
        .bind(tenant)
        .bind(f.user_id)
        .bind(f.ip)
        .bind(f.connection)
        .bind(f.identifier)
        .bind(f.now)
        .bind(f.forget_before)
        .fetch_one(&self.pool)
        .await
        .map_err(storage)?;
        let n: i64 = row.try_get("failures").map_err(storage)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn block_login(
        &self,
        tenant: &str,
        user_id: &str,
        ip: &str,
        now: i64,
        unblock_hash: &str,
    ) -> CoreResult<bool> {
        let done = sqlx::query(
            "UPDATE login_failures SET blocked_at = $4, unblock_hash = $5 \
             WHERE tenant_id = $1 AND user_id = $2 AND ip = $3 AND blocked_at IS NULL",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(ip)
        .bind(now)
        .bind(unblock_hash)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(done.rows_affected() == 1)
    }

    async fn attempt_login(&self, tenant: &str, a: &LoginAttempt<'_>) -> CoreResult<(u64, bool)> {
        // The block beside the hit (a block per identifier, '', holds from
        // every address); no `blocked_since` (NULL) finds none.
        let sql = hit_sql(self.dialect, &format!(", {BLOCKED}"));
        let row = hit_row(bind_attempt(&sql, tenant, a), &self.pool).await?;
        attempt_answer(&row)
    }

    async fn peek_login(&self, tenant: &str, a: &LoginAttempt<'_>) -> CoreResult<(u64, bool)> {
        // One read, nothing written: the window's hits and the block, as
        // `attempt_login` answers them.
        let sql = format!(
            "SELECT CAST(COALESCE((SELECT hits FROM rate_windows \
               WHERE tenant_id = $1 AND scope = $2 AND bucket = $3 AND window_start = $4), 0) \
               AS BIGINT) AS hits, {BLOCKED}"
        );
        let row = bind_attempt(&sql, tenant, a)
            .fetch_one(&self.pool)
            .await
            .map_err(storage)?;
        attempt_answer(&row)
    }

    async fn forget_login_failures(&self, tenant: &str, user_id: &str, ip: &str) -> CoreResult<()> {
        sqlx::query(
            "DELETE FROM login_failures \
             WHERE tenant_id = $1 AND user_id = $2 AND ip = $3 AND blocked_at IS NULL",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(ip)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn list_login_blocks(
        &self,
        tenant: &str,
        of: BlocksOf<'_>,
        since: i64,
    ) -> CoreResult<Vec<LoginBlock>> {
        let (column, value) = selector(of);
        let sql = format!(
            "SELECT identifier, ip, connection FROM login_failures \
             WHERE tenant_id = $1 AND {column} = $2 AND blocked_at IS NOT NULL \
             AND last_failure_at >= $3 ORDER BY blocked_at, ip"
        );
        // `column` is one of two constants (`selector`); values are bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(value)
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter()
            .map(|r| {
                let ip: String = r.try_get("ip").map_err(storage)?;
                Ok(LoginBlock {
                    identifier: r.try_get("identifier").map_err(storage)?,
                    ip: (!ip.is_empty()).then_some(ip),
                    connection: r.try_get("connection").map_err(storage)?,
                })
            })
            .collect()
    }

    async fn delete_login_blocks(&self, tenant: &str, of: BlocksOf<'_>) -> CoreResult<u64> {
        let (column, value) = selector(of);
        let sql = format!("DELETE FROM login_failures WHERE tenant_id = $1 AND {column} = $2");
        // `column` is one of two constants (`selector`); values are bound.
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(done.rows_affected())
    }

    async fn peek_unblock(
        &self,
        tenant: &str,
        unblock_hash: &str,
        since: i64,
    ) -> CoreResult<Option<String>> {
        let row = sqlx::query(
            "SELECT user_id FROM login_failures \
             WHERE tenant_id = $1 AND unblock_hash = $2 AND last_failure_at >= $3",
        )
        .bind(tenant)
        .bind(unblock_hash)
        .bind(since)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage)?;
        row.map(|r| r.try_get("user_id").map_err(storage))
            .transpose()
    }

    async fn unblock_login(
        &self,
        tenant: &str,
        unblock_hash: &str,
        since: i64,
    ) -> CoreResult<Option<String>> {
        let row = sqlx::query(
            "DELETE FROM login_failures \
             WHERE tenant_id = $1 AND unblock_hash = $2 AND last_failure_at >= $3 \
             RETURNING user_id",
        )
        .bind(tenant)
        .bind(unblock_hash)
        .bind(since)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage)?;
        row.map(|r| r.try_get("user_id").map_err(storage))
            .transpose()
    }

    async fn purge_login_failures(&self, tenant: &str, before: i64) -> CoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM login_failures WHERE tenant_id = $1 AND last_failure_at < $2")
                .bind(tenant)
                .bind(before)
                .execute(&self.pool)
                .await
                .map_err(storage)?;
        Ok(done.rows_affected())
    }
}
