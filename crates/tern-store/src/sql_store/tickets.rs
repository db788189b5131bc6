//! Password-change tickets, stored as the SHA-256 of their token.
//!
//! Every transaction here that touches a user and their tickets locks the
//! user's row first (a write, so SQLite takes its write lock at once too),
//! then the tickets: one order for all of them, so two never wait on each
//! other in a cycle (PostgreSQL would abort one as a deadlock).

use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};
use tern_core::model::User;
use tern_core::store::{InsertOutcome, ProfileWrite, TicketStore};
use tern_core::tickets::{PasswordTicket, Redemption, TicketOptions};
use tern_core::{CoreError, CoreResult};

use super::metadata_edits::{self, StoredMetadata};
use super::users::{UPDATE_PROFILE, USER_COLUMNS, bind_user, drop_unblock_links_on_new_email};
use super::{SqlStore, as_i64, is_unique_violation, storage};

const TICKET_COLUMNS: &str =
    "token_hash, user_id, connection_id, created_at, expires_at, used_at, body";

impl SqlStore {
    /// The stored metadata documents of the user `u` names — the same row
    /// the profile update's identity conditions match — or `None`.
    async fn stored_metadata(&self, tenant: &str, u: &User) -> CoreResult<Option<StoredMetadata>> {
        let row = sqlx::query(
            "SELECT app_metadata, user_metadata FROM users WHERE tenant_id = $1 AND user_id = $2 \
             AND connection_id = $3 AND connection_name = $4 AND created_at = $5 AND source = $6",
        )
        .bind(tenant)
        .bind(&u.user_id)
        .bind(&u.connection_id)
        .bind(&u.connection_name)
        .bind(&u.created_at)
        .bind(u.source.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(storage)?;
        row.map(|r| {
            Ok(StoredMetadata {
                app: r.try_get(0).map_err(storage)?,
                user: r.try_get(1).map_err(storage)?,
            })
        })
        .transpose()
    }
}

/// The key of the pending profile in a ticket's `body` (beside the options).
const PENDING_PROFILE: &str = "tern_pending_profile";

/// A ticket's redemption, first steps, in `tx`: the ticket's user's row
/// locked first (see the module comment), then the ticket claimed — the
/// conditional update is the single-use guarantee: of two concurrent
/// redemptions, the second finds `used_at` set (PostgreSQL re-checks the
/// row after the first commits; SQLite has one writer) — and read back.
/// `table` and `columns` are the ticket kind's (constants); `(at, now)` the
/// time of use and the epoch second it must not have expired by. Whether
/// this call claimed it, and its row if it exists.
pub(super) async fn claim_ticket(
    tx: &mut Transaction<'_, Any>,
    (table, columns): (&'static str, &'static str),
    tenant: &str,
    token_hash: &str,
    (at, now): (&str, i64),
) -> CoreResult<(bool, Option<AnyRow>)> {
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE users SET updated_at = updated_at WHERE tenant_id = $1 AND user_id = \
         (SELECT user_id FROM {table} WHERE tenant_id = $1 AND token_hash = $2)"
    )))
    .bind(tenant)
    .bind(token_hash)
    .execute(&mut **tx)
    .await
    .map_err(storage)?;
    let claimed = sqlx::query(AssertSqlSafe(format!(
        "UPDATE {table} SET used_at = $3 WHERE tenant_id = $1 AND token_hash = $2 \
         AND used_at IS NULL AND expires_at > $4"
    )))
    .bind(tenant)
    .bind(token_hash)
    .bind(at)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(storage)?;
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {columns} FROM {table} WHERE tenant_id = $1 AND token_hash = $2"
    )))
    .bind(tenant)
    .bind(token_hash)
    .fetch_optional(&mut **tx)
    .await
    .map_err(storage)?;
    Ok((claimed.rows_affected() > 0, row))
}

/// A ticket's `body`: its options and, for a user not stored yet, the
/// profile to create them from.
fn ticket_body(t: &PasswordTicket) -> String {
    let mut body = serde_json::to_value(&t.options).unwrap_or_default();
    if let (Some(p), Some(obj)) = (&t.pending_profile, body.as_object_mut()) {
        obj.insert(
            PENDING_PROFILE.into(),
            serde_json::to_value(p).unwrap_or_default(),
        );
    }
    body.to_string()
}

fn decode_ticket(row: &AnyRow) -> CoreResult<PasswordTicket> {
    let body: String = row.try_get("body").map_err(storage)?;
    let corrupt = |e: serde_json::Error| CoreError::Storage(format!("corrupt ticket: {e}"));
    let mut body: serde_json::Value = serde_json::from_str(&body).map_err(corrupt)?;
    let pending_profile = match body.as_object_mut().and_then(|o| o.remove(PENDING_PROFILE)) {
        Some(p) => Some(serde_json::from_value(p).map_err(corrupt)?),
        None => None,
    };
    let options: TicketOptions = serde_json::from_value(body).map_err(corrupt)?;
    Ok(PasswordTicket {
        token_hash: row.try_get("token_hash").map_err(storage)?,
        user_id: row.try_get("user_id").map_err(storage)?,
        connection_id: row.try_get("connection_id").map_err(storage)?,
        created_at: row.try_get("created_at").map_err(storage)?,
        expires_at: row.try_get("expires_at").map_err(storage)?,
        used_at: row.try_get("used_at").map_err(storage)?,
        options,
        pending_profile,
    })
}

#[async_trait::async_trait]
impl TicketStore for SqlStore {
    async fn insert_password_ticket(
        &self,
        tenant: &str,
        t: &PasswordTicket,
        max_open: usize,
    ) -> CoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let user = sqlx::query(
            "UPDATE users SET updated_at = updated_at WHERE tenant_id = $1 AND user_id = $2 \
             AND connection_id = $3",
        )
        .bind(tenant)
        .bind(&t.user_id)
        .bind(&t.connection_id)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        if user.rows_affected() == 0 && t.pending_profile.is_none() {
            tx.rollback().await.map_err(storage)?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO password_tickets (tenant_id, token_hash, user_id, connection_id, created_at, \
             expires_at, used_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant)
        .bind(&t.token_hash)
        .bind(&t.user_id)
        .bind(&t.connection_id)
        .bind(&t.created_at)
        .bind(t.expires_at)
        .bind(t.used_at.as_deref())
        .bind(ticket_body(t))
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        // The new ticket and the newest `max_open - 1` others stay open.
        sqlx::query(
            "UPDATE password_tickets SET used_at = $3 WHERE tenant_id = $1 AND user_id = $2 \
             AND used_at IS NULL AND token_hash <> $4 AND token_hash NOT IN (\
               SELECT token_hash FROM password_tickets WHERE tenant_id = $1 AND user_id = $2 \
               AND used_at IS NULL AND token_hash <> $4 \
               ORDER BY created_at DESC, token_hash DESC LIMIT $5)",
        )
        .bind(tenant)
        .bind(&t.user_id)
        .bind(&t.created_at)
        .bind(&t.token_hash)
        .bind(as_i64(max_open.max(1) as u64 - 1))
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(true)
    }

    async fn get_password_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> CoreResult<Option<PasswordTicket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM password_tickets WHERE tenant_id = $1 AND token_hash = $2"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| decode_ticket(&r)).transpose()
    }

    async fn redeem_password_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
        now: i64,
        credential: &str,
        create: Option<&User>,
    ) -> CoreResult<Redemption> {
        let at = tern_core::clock::now_iso();
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let (claimed, row) = claim_ticket(
            &mut tx,
            ("password_tickets", TICKET_COLUMNS),
            tenant,
            token_hash,
            (&at, now),
        )
        .await?;
        let ticket = row.map(|r| decode_ticket(&r)).transpose()?;
        let Some(ticket) = ticket else {
            return Ok(Redemption::Refused(None));
        };
        if !claimed {
            // Nothing was written: the row says whether it was used or expired.
            return Ok(Redemption::Refused(Some(ticket.state(now))));
        }
        // A ticket issued to a stored user never reaches a user stored after
        // it: that user reuses the id of one deleted since (deleting a user
        // deletes their tickets; this holds even where rows remain). It finds
        // no row to update and, carrying no profile, answers `UserGone`. A
        // lazy-reset ticket was issued before its user was stored, and the
        // login that migrates them may store them before the link is used:
        // it sets their password; were they deleted since, the deletion took
        // the ticket with them.
        let user = sqlx::query(
            "UPDATE users SET credential = $3, updated_at = $4, \
             email_verified = CASE WHEN $5 = 1 THEN 1 ELSE email_verified END \
             WHERE tenant_id = $1 AND user_id = $2 AND connection_id = $6 \
             AND (created_at <= $7 OR $8 = 1)",
        )
        .bind(tenant)
        .bind(&ticket.user_id)
        .bind(credential)
        .bind(&at)
        .bind(i64::from(ticket.options.mark_email_as_verified))
        .bind(&ticket.connection_id)
        .bind(&ticket.created_at)
        .bind(i64::from(ticket.pending_profile.is_some()))
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        if user.rows_affected() == 0 {
            // Not stored: a lazy reset creates the user now, profile and
            // credential in one insert, in the ticket's transaction.
            let creatable = create.filter(|u| {
                ticket.pending_profile.is_some()
                    && u.user_id == ticket.user_id
                    && u.connection_id == ticket.connection_id
                    && u.credential.as_deref() == Some(credential)
            });
            let Some(u) = creatable else {
                tx.rollback().await.map_err(storage)?;
                return Ok(Redemption::UserGone);
            };
            let sql = format!(
                "INSERT INTO users (tenant_id, {USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
            );
            match bind_user(sqlx::query(AssertSqlSafe(sql)).bind(tenant), u)
                .execute(&mut *tx)
                .await
            {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    tx.rollback().await.map_err(storage)?;
                    return Ok(Redemption::UserGone);
                }
                Err(e) => return Err(storage(e)),
            }
        }
        // One reset closes every other link the user was sent, and ends the
        // sessions opened with the old password.
        close_open_tickets(&mut tx, tenant, &ticket.user_id, &at).await?;
        end_user_sessions(&mut tx, tenant, &ticket.user_id).await?;
        tx.commit().await.map_err(storage)?;
        Ok(Redemption::Done(Box::new(ticket)))
    }

    async fn update_user_closing_tickets(
        &self,
        tenant: &str,
        u: &User,
        end_sessions: bool,
    ) -> CoreResult<Option<InsertOutcome>> {
        let w = ProfileWrite {
            credential: true,
            mfa_factors: true,
            close_tickets: true,
            end_sessions,
            metadata: None,
        };
        self.update_profile(tenant, u, w).await
    }

    async fn update_profile(
        &self,
        tenant: &str,
        u: &User,
        w: ProfileWrite,
    ) -> CoreResult<Option<InsertOutcome>> {
        for attempt in 0..metadata_edits::ATTEMPTS {
            // The metadata edit applied to the documents stored now, which
            // the update then requires unchanged (compare and swap).
            let (edited, expect) = match &w.metadata {
                None => (None, None),
                Some(edit) => match self.stored_metadata(tenant, u).await? {
                    None => return Ok(None),
                    Some(stored) => {
                        let mut edited = u.clone();
                        (edited.app_metadata, edited.user_metadata) =
                            stored.edited(edit, &u.user_id)?;
                        (Some(edited), Some(stored))
                    }
                },
            };
            let written = edited.as_ref().unwrap_or(u);
            let mut tx = self.pool.begin().await.map_err(storage)?;
            drop_unblock_links_on_new_email(&mut tx, tenant, written).await?;
            let updated = bind_user(sqlx::query(UPDATE_PROFILE).bind(tenant), written)
                .bind(i64::from(w.credential))
                .bind(i64::from(w.mfa_factors))
                .bind(expect.as_ref().map(|m| m.app.as_str()))
                .bind(expect.as_ref().map(|m| m.user.as_str()))
                .execute(&mut *tx)
                .await;
            match updated {
                Ok(r) if r.rows_affected() > 0 => {}
                Ok(_) => {
                    tx.rollback().await.map_err(storage)?;
                    if expect.is_none() {
                        return Ok(None);
                    }
                    // Gone, or its metadata moved since the read: the next
                    // read tells which.
                    metadata_edits::pause(attempt).await;
                    continue;
                }
                Err(e) if is_unique_violation(&e) => {
                    tx.rollback().await.map_err(storage)?;
                    return Ok(Some(InsertOutcome::Duplicate));
                }
                Err(e) => return Err(storage(e)),
            }
            if w.close_tickets {
                close_open_tickets(&mut tx, tenant, &u.user_id, &tern_core::clock::now_iso())
                    .await?;
            }
            if w.end_sessions {
                end_user_sessions(&mut tx, tenant, &u.user_id).await?;
            }
            tx.commit().await.map_err(storage)?;
            return Ok(Some(InsertOutcome::Inserted));
        }
        Err(metadata_edits::kept_moving(&u.user_id))
    }

    async fn purge_used_tickets(&self, tenant: &str, before: &str) -> CoreResult<u64> {
        let r = sqlx::query(
            "DELETE FROM password_tickets \
             WHERE tenant_id = $1 AND used_at IS NOT NULL AND used_at < $2",
        )
        .bind(tenant)
        .bind(before)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        let v = sqlx::query(
            "DELETE FROM email_verification_tickets \
             WHERE tenant_id = $1 AND used_at IS NOT NULL AND used_at < $2",
        )
        .bind(tenant)
        .bind(before)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() + v.rows_affected())
    }

    async fn purge_password_tickets(&self, before: i64) -> CoreResult<u64> {
        let r = sqlx::query("DELETE FROM password_tickets WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        // Email-verification links lapse the same way (`verification_tickets`).
        let v = sqlx::query("DELETE FROM email_verification_tickets WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected() + v.rows_affected())
    }
}

/// Close (mark used) every open ticket of a user, inside a transaction that
/// already holds the user's row.
async fn close_open_tickets(
    tx: &mut Transaction<'static, Any>,
    tenant: &str,
    user_id: &str,
    at: &str,
) -> CoreResult<u64> {
    let r = sqlx::query(
        "UPDATE password_tickets SET used_at = $3 WHERE tenant_id = $1 AND user_id = $2 \
         AND used_at IS NULL",
    )
    .bind(tenant)
    .bind(user_id)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(storage)?;
    Ok(r.rows_affected())
}

/// Delete every browser (SSO) and console session of a user, inside a
/// transaction that already holds the user's row: their password changed or
/// they were blocked, so nothing opened before may go on.
async fn end_user_sessions(
    tx: &mut Transaction<'static, Any>,
    tenant: &str,
    user_id: &str,
) -> CoreResult<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant)
        .bind(user_id)
        .execute(&mut **tx)
        .await
        .map_err(storage)?;
    Ok(r.rows_affected())
}
