//! Single sign-on sessions, keyed by the SHA-256 of their cookie.

use sqlx::Row;
use sqlx::any::AnyRow;
use tern_core::access_metadata::Metadata;
use tern_core::device::Seen;
use tern_core::sso::{Session, SessionBody};
use tern_core::store::SessionStore;
use tern_core::{CoreError, CoreResult};

use super::{SqlStore, decode_metadata, metadata_text, storage, to_body};

const COLUMNS: &str = "id_hash, sid, user_id, expires_at, idle_expires_at, body, metadata";

fn decode(row: &AnyRow) -> CoreResult<Session> {
    let body: String = row.try_get("body").map_err(storage)?;
    let body: SessionBody = serde_json::from_str(&body)
        .map_err(|e| CoreError::Storage(format!("corrupt session: {e}")))?;
    Ok(Session {
        id_hash: row.try_get("id_hash").map_err(storage)?,
        sid: row.try_get("sid").map_err(storage)?,
        user_id: row.try_get("user_id").map_err(storage)?,
        connection_id: body.connection_id,
        auth_time: body.auth_time,
        created_at: body.created_at,
        last_interacted_at: body.last_interacted_at.unwrap_or(body.created_at),
        expires_at: row.try_get("expires_at").map_err(storage)?,
        idle_expires_at: row.try_get("idle_expires_at").map_err(storage)?,
        clients: body.clients,
        amr: body.amr,
        device: body.device,
        metadata: decode_metadata(row)?,
    })
}

impl SqlStore {
    async fn session_where(
        &self,
        tenant: &str,
        column: &str,
        value: &str,
    ) -> CoreResult<Option<Session>> {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE tenant_id = $1 AND {column} = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?
            .map(|r| decode(&r))
            .transpose()
    }
}

#[async_trait::async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, tenant: &str, s: &Session) -> CoreResult<()> {
        let body = SessionBody {
            connection_id: s.connection_id.clone(),
            auth_time: s.auth_time,
            created_at: s.created_at,
            last_interacted_at: Some(s.last_interacted_at),
            clients: s.clients.clone(),
            amr: s.amr.clone(),
            device: s.device.clone(),
        };
        sqlx::query(
            "INSERT INTO sessions (tenant_id, id_hash, sid, user_id, expires_at, idle_expires_at, \
             body, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant)
        .bind(&s.id_hash)
        .bind(&s.sid)
        .bind(&s.user_id)
        .bind(s.expires_at)
        .bind(s.idle_expires_at)
        .bind(to_body(&body))
        .bind(metadata_text(&s.metadata))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn get_session(&self, tenant: &str, id_hash: &str) -> CoreResult<Option<Session>> {
        self.session_where(tenant, "id_hash", id_hash).await
    }

    async fn get_session_by_sid(&self, tenant: &str, sid: &str) -> CoreResult<Option<Session>> {
        self.session_where(tenant, "sid", sid).await
    }

    async fn touch_session(
        &self,
        tenant: &str,
        id_hash: &str,
        at: i64,
        idle_expires_at: i64,
        client_id: &str,
        seen: Option<&Seen>,
    ) -> CoreResult<()> {
        let Some(s) = self.get_session(tenant, id_hash).await? else {
            return Ok(());
        };
        let mut clients = s.clients;
        if !clients.iter().any(|c| c == client_id) {
            clients.push(client_id.to_string());
        }
        let mut device = s.device;
        if let Some(seen) = seen {
            device.last = seen.clone();
        }
        let body = SessionBody {
            connection_id: s.connection_id,
            auth_time: s.auth_time,
            created_at: s.created_at,
            last_interacted_at: Some(at),
            clients,
            amr: s.amr,
            device,
        };
        // The idle expiry never passes the absolute one; a concurrent touch
        // may drop the other's client from the list, which only matters for
        // display (nothing is authorised by it).
        sqlx::query(
            "UPDATE sessions SET idle_expires_at = CASE WHEN $3 < expires_at THEN $3 ELSE expires_at END, \
             body = $4 WHERE tenant_id = $1 AND id_hash = $2",
        )
        .bind(tenant)
        .bind(id_hash)
        .bind(idle_expires_at)
        .bind(to_body(&body))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn set_session_metadata(
        &self,
        tenant: &str,
        sid: &str,
        metadata: &Metadata,
    ) -> CoreResult<bool> {
        let r = sqlx::query("UPDATE sessions SET metadata = $3 WHERE tenant_id = $1 AND sid = $2")
            .bind(tenant)
            .bind(sid)
            .bind(metadata_text(metadata))
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn delete_session(&self, tenant: &str, sid: &str) -> CoreResult<bool> {
        let r = sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND sid = $2")
            .bind(tenant)
            .bind(sid)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn list_user_sessions(
        &self,
        tenant: &str,
        user_id: &str,
        now: i64,
        after_sid: Option<&str>,
        limit: u64,
    ) -> CoreResult<Vec<Session>> {
        // `sessions_user` (tenant_id, user_id) finds them; a user has few.
        // An absent cursor is the empty string, before every public id.
        let sql = format!(
            "SELECT {COLUMNS} FROM sessions WHERE tenant_id = $1 AND user_id = $2 \
             AND expires_at > $3 AND idle_expires_at > $3 AND sid > $4 \
             ORDER BY sid LIMIT $5"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(user_id)
            .bind(now)
            .bind(after_sid.unwrap_or(""))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?
            .iter()
            .map(decode)
            .collect()
    }

    async fn delete_user_sessions(&self, tenant: &str, user_id: &str) -> CoreResult<u64> {
        let r = sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected())
    }

    async fn purge_sessions(&self, before: i64) -> CoreResult<u64> {
        let r = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR idle_expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected())
    }
}
