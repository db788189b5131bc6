//! Email-verification tickets, stored as the SHA-256 of their token.
//!
//! Redeeming locks the user's row first, then the ticket, the order
//! `tickets` keeps too, so the two never wait on each other in a cycle.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use tern_core::email_verification::{
    VerificationOptions, VerificationRedemption, VerificationTicket,
};
use tern_core::store::VerificationTicketStore;
use tern_core::{CoreError, CoreResult};

use super::tickets::claim_ticket;
use super::{SqlStore, storage};

const COLUMNS: &str =
    "token_hash, user_id, connection_id, email, created_at, expires_at, used_at, body";

fn decode(row: &AnyRow) -> CoreResult<VerificationTicket> {
    let body: String = row.try_get("body").map_err(storage)?;
    let options: VerificationOptions = serde_json::from_str(&body)
        .map_err(|e| CoreError::Storage(format!("corrupt verification ticket: {e}")))?;
    Ok(VerificationTicket {
        token_hash: row.try_get("token_hash").map_err(storage)?,
        user_id: row.try_get("user_id").map_err(storage)?,
        connection_id: row.try_get("connection_id").map_err(storage)?,
        email: row.try_get("email").map_err(storage)?,
        created_at: row.try_get("created_at").map_err(storage)?,
        expires_at: row.try_get("expires_at").map_err(storage)?,
        used_at: row.try_get("used_at").map_err(storage)?,
        options,
    })
}

#[async_trait::async_trait]
impl VerificationTicketStore for SqlStore {
    async fn insert_verification_ticket(
        &self,
        tenant: &str,
        t: &VerificationTicket,
    ) -> CoreResult<bool> {
        // Stored only while the user is: a deletion racing the insert either
        // runs first (nothing inserted) or deletes the ticket (trigger).
        let r = sqlx::query(
            "INSERT INTO email_verification_tickets (tenant_id, token_hash, user_id, \
             connection_id, email, created_at, expires_at, used_at, body) \
             SELECT $1, $2, $3, $4, $5, $6, $7, NULL, $8 FROM users \
             WHERE tenant_id = $1 AND user_id = $3 AND connection_id = $4",
        )
        .bind(tenant)
        .bind(&t.token_hash)
        .bind(&t.user_id)
        .bind(&t.connection_id)
        .bind(&t.email)
        .bind(&t.created_at)
        .bind(t.expires_at)
        .bind(serde_json::to_string(&t.options).unwrap_or_else(|_| "{}".into()))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn get_verification_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> CoreResult<Option<VerificationTicket>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM email_verification_tickets \
             WHERE tenant_id = $1 AND token_hash = $2"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| decode(&r)).transpose()
    }

    async fn redeem_verification_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
        now: i64,
    ) -> CoreResult<VerificationRedemption> {
        let at = tern_core::clock::now_iso();
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let (claimed, row) = claim_ticket(
            &mut tx,
            ("email_verification_tickets", COLUMNS),
            tenant,
            token_hash,
            (&at, now),
        )
        .await?;
        let ticket = row.map(|r| decode(&r)).transpose()?;
        let Some(ticket) = ticket else {
            return Ok(VerificationRedemption::Refused(None));
        };
        if !claimed {
            return Ok(VerificationRedemption::Refused(Some(ticket.state(now))));
        }
        // Only the user the ticket was issued to, with the address it was
        // sent to: not one stored after it under a reused id, not after an
        // email change, not while blocked.
        let user = sqlx::query(
            "UPDATE users SET email_verified = 1, updated_at = $3 \
             WHERE tenant_id = $1 AND user_id = $2 AND connection_id = $4 \
             AND email = $5 AND blocked = 0 AND created_at <= $6",
        )
        .bind(tenant)
        .bind(&ticket.user_id)
        .bind(&at)
        .bind(&ticket.connection_id)
        .bind(&ticket.email)
        .bind(&ticket.created_at)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        if user.rows_affected() == 0 {
            tx.rollback().await.map_err(storage)?;
            return Ok(VerificationRedemption::UserChanged(Box::new(ticket)));
        }
        tx.commit().await.map_err(storage)?;
        Ok(VerificationRedemption::Done(Box::new(ticket)))
    }
}
