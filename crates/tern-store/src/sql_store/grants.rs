//! Grants and their refresh tokens (keyed by the tokens' SHA-256).

use sqlx::Row;
use sqlx::any::AnyRow;
use tern_core::grants::{Grant, GrantDetails, RefreshToken};
use tern_core::store::GrantStore;
use tern_core::{CoreError, CoreResult};

use super::{SqlStore, storage, to_body};

const GRANT_COLUMNS: &str = "id, client_id, user_id, created_at, revoked_at, body";
const TOKEN_COLUMNS: &str = "token_hash, grant_id, parent_hash, client_id, created_at, expires_at, \
                             idle_expires_at, used_at, rotating";

fn decode_grant(row: &AnyRow) -> CoreResult<Grant> {
    let body: String = row.try_get("body").map_err(storage)?;
    let details: GrantDetails = serde_json::from_str(&body)
        .map_err(|e| CoreError::Storage(format!("corrupt grant: {e}")))?;
    Ok(Grant {
        id: row.try_get("id").map_err(storage)?,
        client_id: row.try_get("client_id").map_err(storage)?,
        user_id: row.try_get("user_id").map_err(storage)?,
        created_at: row.try_get("created_at").map_err(storage)?,
        revoked_at: row.try_get("revoked_at").map_err(storage)?,
        details,
    })
}

fn decode_token(row: &AnyRow) -> CoreResult<RefreshToken> {
    let rotating: i64 = row.try_get("rotating").map_err(storage)?;
    Ok(RefreshToken {
        token_hash: row.try_get("token_hash").map_err(storage)?,
        grant_id: row.try_get("grant_id").map_err(storage)?,
        parent_hash: row.try_get("parent_hash").map_err(storage)?,
        client_id: row.try_get("client_id").map_err(storage)?,
        created_at: row.try_get("created_at").map_err(storage)?,
        expires_at: row.try_get("expires_at").map_err(storage)?,
        idle_expires_at: row.try_get("idle_expires_at").map_err(storage)?,
        used_at: row.try_get("used_at").map_err(storage)?,
        rotating: rotating != 0,
    })
}

#[async_trait::async_trait]
impl GrantStore for SqlStore {
    async fn insert_grant(&self, tenant: &str, g: &Grant) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO grants (tenant_id, id, client_id, user_id, created_at, revoked_at, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant)
        .bind(&g.id)
        .bind(&g.client_id)
        .bind(&g.user_id)
        .bind(g.created_at)
        .bind(g.revoked_at)
        .bind(to_body(&g.details))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn get_grant(&self, tenant: &str, id: &str) -> CoreResult<Option<Grant>> {
        let sql = format!("SELECT {GRANT_COLUMNS} FROM grants WHERE tenant_id = $1 AND id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?
            .map(|r| decode_grant(&r))
            .transpose()
    }

    async fn revoke_grant(
        &self,
        tenant: &str,
        id: &str,
        at: i64,
        reason: &str,
    ) -> CoreResult<bool> {
        let Some(mut g) = self.get_grant(tenant, id).await? else {
            return Ok(false);
        };
        g.details.revoked_reason = Some(reason.to_string());
        let r = sqlx::query(
            "UPDATE grants SET revoked_at = $3, body = $4 \
             WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
        )
        .bind(tenant)
        .bind(id)
        .bind(at)
        .bind(to_body(&g.details))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn grants_with_unspent_tokens(
        &self,
        tenant: &str,
        user_id: &str,
        client_id: &str,
        rotating: bool,
    ) -> CoreResult<Vec<Grant>> {
        // `grants_user_client` finds the user's grants for the application,
        // `refresh_tokens_grant` their tokens.
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants g \
             WHERE g.tenant_id = $1 AND g.user_id = $2 AND g.client_id = $3 \
             AND g.revoked_at IS NULL AND EXISTS (SELECT 1 FROM refresh_tokens r \
                 WHERE r.tenant_id = g.tenant_id AND r.grant_id = g.id \
                 AND r.rotating = $4 AND r.used_at IS NULL)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(user_id)
            .bind(client_id)
            .bind(i64::from(rotating))
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?
            .iter()
            .map(decode_grant)
            .collect()
    }

    async fn grants_of_session(
        &self,
        tenant: &str,
        user_id: &str,
        sid: &str,
    ) -> CoreResult<Vec<Grant>> {
        // The session is in the grant's JSON body, which neither dialect
        // indexes the same way: `grants_user_client` narrows to the user's
        // grants (a handful), the body decides.
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants \
             WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL"
        );
        let grants = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?
            .iter()
            .map(decode_grant)
            .collect::<CoreResult<Vec<_>>>()?;
        Ok(grants
            .into_iter()
            .filter(|g| g.details.sid.as_deref() == Some(sid))
            .collect())
    }

    async fn insert_refresh_token(&self, tenant: &str, t: &RefreshToken) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (tenant_id, token_hash, grant_id, parent_hash, client_id, \
             created_at, expires_at, idle_expires_at, used_at, rotating) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant)
        .bind(&t.token_hash)
        .bind(&t.grant_id)
        .bind(t.parent_hash.as_deref())
        .bind(&t.client_id)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.idle_expires_at)
        .bind(t.used_at)
        .bind(i64::from(t.rotating))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn get_refresh_token(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> CoreResult<Option<RefreshToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?
            .map(|r| decode_token(&r))
            .transpose()
    }

    async fn mark_refresh_token_used(
        &self,
        tenant: &str,
        token_hash: &str,
        at: i64,
    ) -> CoreResult<bool> {
        let r = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $3 \
             WHERE tenant_id = $1 AND token_hash = $2 AND used_at IS NULL",
        )
        .bind(tenant)
        .bind(token_hash)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() == 1)
    }

    async fn refresh_token_successor_used(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> CoreResult<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM refresh_tokens \
             WHERE tenant_id = $1 AND parent_hash = $2 AND used_at IS NOT NULL",
        )
        .bind(tenant)
        .bind(token_hash)
        .fetch_one(&self.pool)
        .await
        .map_err(storage)?;
        let n: i64 = row.try_get("n").map_err(storage)?;
        Ok(n > 0)
    }

    async fn touch_refresh_token(
        &self,
        tenant: &str,
        token_hash: &str,
        idle_expires_at: Option<i64>,
    ) -> CoreResult<()> {
        sqlx::query(
            "UPDATE refresh_tokens SET idle_expires_at = $3 WHERE tenant_id = $1 AND token_hash = $2",
        )
        .bind(tenant)
        .bind(token_hash)
        .bind(idle_expires_at)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn purge_grants(&self, before: i64) -> CoreResult<u64> {
        let tokens = sqlx::query(
            "DELETE FROM refresh_tokens WHERE expires_at < $1 OR idle_expires_at < $1 \
             OR grant_id IN (SELECT id FROM grants WHERE revoked_at < $1 \
                             AND grants.tenant_id = refresh_tokens.tenant_id)",
        )
        .bind(before)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        let grants = sqlx::query("DELETE FROM grants WHERE revoked_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(tokens.rows_affected() + grants.rows_affected())
    }
}
