//! Login transactions of the hosted pages.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use tern_core::login_transaction::{AuthorizationRequest, LoginTransaction, TransactionStep};
use tern_core::store::LoginTransactionStore;
use tern_core::{CoreError, CoreResult};

use super::{SqlStore, storage, to_body};

/// The stored body: the request and the step.
#[derive(Serialize, Deserialize)]
struct Body {
    request: AuthorizationRequest,
    step: TransactionStep,
}

fn decode(row: &AnyRow) -> CoreResult<LoginTransaction> {
    let body: String = row.try_get("body").map_err(storage)?;
    let body: Body = serde_json::from_str(&body)
        .map_err(|e| CoreError::Storage(format!("corrupt login transaction: {e}")))?;
    Ok(LoginTransaction {
        id: row.try_get("id").map_err(storage)?,
        cookie_hash: row.try_get("cookie_hash").map_err(storage)?,
        request: body.request,
        step: body.step,
        expires_at: row.try_get("expires_at").map_err(storage)?,
    })
}

fn body_of(t: &LoginTransaction) -> String {
    to_body(&Body {
        request: t.request.clone(),
        step: t.step.clone(),
    })
}

#[async_trait::async_trait]
impl LoginTransactionStore for SqlStore {
    async fn insert_login_transaction(&self, tenant: &str, t: &LoginTransaction) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO login_transactions (tenant_id, id, cookie_hash, expires_at, body) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant)
        .bind(&t.id)
        .bind(&t.cookie_hash)
        .bind(t.expires_at)
        .bind(body_of(t))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn get_login_transaction(
        &self,
        tenant: &str,
        id: &str,
    ) -> CoreResult<Option<LoginTransaction>> {
        sqlx::query(
            "SELECT id, cookie_hash, expires_at, body FROM login_transactions \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage)?
        .map(|r| decode(&r))
        .transpose()
    }

    async fn update_login_transaction(&self, tenant: &str, t: &LoginTransaction) -> CoreResult<()> {
        sqlx::query("UPDATE login_transactions SET body = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(&t.id)
            .bind(body_of(t))
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn delete_login_transaction(&self, tenant: &str, id: &str) -> CoreResult<bool> {
        let r = sqlx::query("DELETE FROM login_transactions WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn purge_login_transactions(&self, before: i64) -> CoreResult<u64> {
        let r = sqlx::query("DELETE FROM login_transactions WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected())
    }
}
