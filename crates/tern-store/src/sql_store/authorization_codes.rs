//! Authorization codes, keyed by their SHA-256.

use sqlx::Row;
use sqlx::any::AnyRow;
use tern_core::grants::{AuthorizationCode, CodeDetails, CodeRedemption};
use tern_core::store::AuthorizationCodeStore;
use tern_core::{CoreError, CoreResult};

use super::{SqlStore, storage, to_body};

fn decode(row: &AnyRow) -> CoreResult<AuthorizationCode> {
    let body: String = row.try_get("body").map_err(storage)?;
    let details: CodeDetails = serde_json::from_str(&body)
        .map_err(|e| CoreError::Storage(format!("corrupt authorization code: {e}")))?;
    Ok(AuthorizationCode {
        code_hash: row.try_get("code_hash").map_err(storage)?,
        client_id: row.try_get("client_id").map_err(storage)?,
        expires_at: row.try_get("expires_at").map_err(storage)?,
        used_at: row.try_get("used_at").map_err(storage)?,
        grant_id: row.try_get("grant_id").map_err(storage)?,
        details,
    })
}

#[async_trait::async_trait]
impl AuthorizationCodeStore for SqlStore {
    async fn insert_authorization_code(
        &self,
        tenant: &str,
        c: &AuthorizationCode,
    ) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO authorization_codes (tenant_id, code_hash, client_id, expires_at, used_at, grant_id, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant)
        .bind(&c.code_hash)
        .bind(&c.client_id)
        .bind(c.expires_at)
        .bind(c.used_at)
        .bind(c.grant_id.as_deref())
        .bind(to_body(&c.details))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn redeem_authorization_code(
        &self,
        tenant: &str,
        code_hash: &str,
        client_id: &str,
        now: i64,
        grant_id: &str,
    ) -> CoreResult<CodeRedemption> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        // The conditional update is the single-use guarantee (PostgreSQL
        // re-checks the row after a concurrent writer commits; SQLite has
        // one writer). Only the code's own client claims it: another
        // client's attempt must not burn it.
        let claimed = sqlx::query(
            "UPDATE authorization_codes SET used_at = $3, grant_id = $4 \
             WHERE tenant_id = $1 AND code_hash = $2 AND client_id = $5 AND used_at IS NULL",
        )
        .bind(tenant)
        .bind(code_hash)
        .bind(now)
        .bind(grant_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        let outcome = if claimed.rows_affected() == 1 {
            CodeRedemption::Redeemed
        } else {
            // Used before: a replay by its own client is recorded, so the
            // redeemer sees it even if its grant is not written yet.
            sqlx::query(
                "UPDATE authorization_codes SET reused_at = $3 \
                 WHERE tenant_id = $1 AND code_hash = $2 AND client_id = $4 AND used_at IS NOT NULL",
            )
            .bind(tenant)
            .bind(code_hash)
            .bind(now)
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
            CodeRedemption::Reused
        };
        let code = sqlx::query(
            "SELECT code_hash, client_id, expires_at, used_at, grant_id, body FROM authorization_codes \
             WHERE tenant_id = $1 AND code_hash = $2 AND client_id = $3",
        )
        .bind(tenant)
        .bind(code_hash)
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage)?
        .map(|r| decode(&r))
        .transpose()?;
        tx.commit().await.map_err(storage)?;
        Ok(code.map_or(CodeRedemption::Unknown, outcome))
    }

    async fn authorization_code_reused(&self, tenant: &str, code_hash: &str) -> CoreResult<bool> {
        let row = sqlx::query(
            "SELECT reused_at FROM authorization_codes WHERE tenant_id = $1 AND code_hash = $2",
        )
        .bind(tenant)
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage)?;
        let reused_at: Option<i64> = match row {
            Some(r) => r.try_get("reused_at").map_err(storage)?,
            None => None,
        };
        Ok(reused_at.is_some())
    }

    async fn purge_authorization_codes(&self, before: i64) -> CoreResult<u64> {
        let r = sqlx::query("DELETE FROM authorization_codes WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected())
    }
}
