//! MFA state: factors in `users.mfa_factors`, one-time-code state in
//! `mfa_otp_state`, Guardian settings as a tenant document.

use serde_json::Value;
use sqlx::Row;
use tern_core::CoreResult;
use tern_core::mfa::GuardianSettings;
use tern_core::store::MfaStore;

use super::{SqlStore, storage};

fn factors_text(factors: &[Value]) -> Option<String> {
    (!factors.is_empty()).then(|| Value::from(factors.to_vec()).to_string())
}

#[async_trait::async_trait]
impl MfaStore for SqlStore {
    async fn users_with_mfa_factors(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: u32,
    ) -> CoreResult<Vec<(String, Vec<Value>)>> {
        let rows = sqlx::query(
            "SELECT user_id, mfa_factors FROM users \
             WHERE tenant_id = $1 AND mfa_factors IS NOT NULL AND user_id > $2 \
             ORDER BY user_id LIMIT $3",
        )
        .bind(tenant)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("user_id").map_err(storage)?;
                let text: String = r.try_get("mfa_factors").map_err(storage)?;
                Ok((id, serde_json::from_str(&text).unwrap_or_default()))
            })
            .collect()
    }

    async fn replace_mfa_factors(
        &self,
        tenant: &str,
        user_id: &str,
        expected: &[Value],
        factors: &[Value],
    ) -> CoreResult<bool> {
        // NULL never equals anything, hence the two spellings of "expected".
        let r = match factors_text(expected) {
            Some(old) => sqlx::query(
                "UPDATE users SET mfa_factors = $3 \
                 WHERE tenant_id = $1 AND user_id = $2 AND mfa_factors = $4",
            )
            .bind(tenant)
            .bind(user_id)
            .bind(factors_text(factors))
            .bind(old),
            None => sqlx::query(
                "UPDATE users SET mfa_factors = $3 \
                 WHERE tenant_id = $1 AND user_id = $2 AND mfa_factors IS NULL",
            )
            .bind(tenant)
            .bind(user_id)
            .bind(factors_text(factors)),
        }
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() == 1)
    }

    async fn use_otp_step(&self, tenant: &str, user_id: &str, step: i64) -> CoreResult<bool> {
        // The upsert writes only when the step is later than the stored
        // one: zero rows affected means the code (or a later one) was used.
        let r = sqlx::query(
            "INSERT INTO mfa_otp_state (tenant_id, user_id, last_step, failures, failures_since) \
             VALUES ($1, $2, $3, 0, 0) \
             ON CONFLICT (tenant_id, user_id) DO UPDATE \
             SET last_step = excluded.last_step, failures = 0 \
             WHERE mfa_otp_state.last_step < excluded.last_step",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(step)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() == 1)
    }

    async fn take_otp_attempt(
        &self,
        tenant: &str,
        user_id: &str,
        now: i64,
        window_start: i64,
    ) -> CoreResult<i64> {
        // One upsert that counts and answers: concurrent attempts (from any
        // instance) each get their own count, so no more than the limit of
        // them are compared (the count is taken before the code is looked
        // at, not after a wrong one).
        let row = sqlx::query(
            "INSERT INTO mfa_otp_state (tenant_id, user_id, last_step, failures, failures_since) \
             VALUES ($1, $2, -1, 1, $3) \
             ON CONFLICT (tenant_id, user_id) DO UPDATE SET \
             failures = CASE WHEN mfa_otp_state.failures_since < $4 THEN 1 \
                             ELSE mfa_otp_state.failures + 1 END, \
             failures_since = CASE WHEN mfa_otp_state.failures_since < $4 THEN $3 \
                                   ELSE mfa_otp_state.failures_since END \
             RETURNING failures",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(now)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await
        .map_err(storage)?;
        row.try_get::<i64, _>("failures").map_err(storage)
    }

    async fn get_guardian(&self, tenant: &str) -> CoreResult<GuardianSettings> {
        self.tenant_document(tenant, "guardian").await
    }

    async fn put_guardian(&self, tenant: &str, settings: &GuardianSettings) -> CoreResult<()> {
        self.put_tenant_document(tenant, "guardian", settings).await
    }
}
