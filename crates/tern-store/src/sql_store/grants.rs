//! Grants and their refresh tokens (keyed by the tokens' SHA-256).

use sqlx::Row;
use sqlx::any::AnyRow;
use tern_core::access_metadata::Metadata;
use tern_core::device::Seen;
use tern_core::grants::{
    Grant, GrantDetails, GrantQuery, ListedGrant, RefreshToken, device_credential_id,
};
use tern_core::store::GrantStore;
use tern_core::{CoreError, CoreResult};

use super::{SqlStore, decode_metadata, metadata_text, storage, to_body};

const GRANT_COLUMNS: &str = "id, client_id, user_id, created_at, revoked_at, body, metadata";
const TOKEN_COLUMNS: &str = "token_hash, grant_id, parent_hash, client_id, created_at, expires_at, \
                             idle_expires_at, used_at, rotating, ip, user_agent";

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
        metadata: decode_metadata(row)?,
    })
}

/// The request a token row records, from the columns `ip` and `user_agent`
/// were selected as.
fn decode_seen(row: &AnyRow, ip: &str, user_agent: &str) -> CoreResult<Seen> {
    Ok(Seen {
        ip: row.try_get(ip).map_err(storage)?,
        user_agent: row.try_get(user_agent).map_err(storage)?,
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
        last_seen: decode_seen(row, "ip", "user_agent")?,
    })
}

#[async_trait::async_trait]
impl GrantStore for SqlStore {
    async fn insert_grant(&self, tenant: &str, g: &Grant) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO grants (tenant_id, id, client_id, user_id, created_at, revoked_at, body, \
             audience, device_credential_id, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant)
        .bind(&g.id)
        .bind(&g.client_id)
        .bind(&g.user_id)
        .bind(g.created_at)
        .bind(g.revoked_at)
        .bind(to_body(&g.details))
        .bind(g.details.audience.as_deref())
        .bind(device_credential_id(&g.id))
        .bind(metadata_text(&g.metadata))
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
             created_at, expires_at, idle_expires_at, used_at, rotating, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
        .bind(t.last_seen.ip.as_deref())
        .bind(t.last_seen.user_agent.as_deref())
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
        at: i64,
        idle_expires_at: Option<i64>,
        seen: &Seen,
    ) -> CoreResult<()> {
        sqlx::query(
            "UPDATE refresh_tokens SET idle_expires_at = $3, last_used_at = $4, ip = $5, \
             user_agent = $6 WHERE tenant_id = $1 AND token_hash = $2",
        )
        .bind(tenant)
        .bind(token_hash)
        .bind(idle_expires_at)
        .bind(at)
        .bind(seen.ip.as_deref())
        .bind(seen.user_agent.as_deref())
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn set_grant_metadata(
        &self,
        tenant: &str,
        id: &str,
        metadata: &Metadata,
    ) -> CoreResult<bool> {
        let r = sqlx::query(
            "UPDATE grants SET metadata = $3 \
             WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
        )
        .bind(tenant)
        .bind(id)
        .bind(metadata_text(metadata))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn list_grants(
        &self,
        tenant: &str,
        query: &GrantQuery<'_>,
    ) -> CoreResult<Vec<ListedGrant>> {
        let (select, binds) = listing_sql(tenant, query);
        let sql = format!(
            "{select} ORDER BY g.id LIMIT {} OFFSET {}",
            query.limit.min(i64::MAX as u64),
            query.offset.min(i64::MAX as u64)
        );
        let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter()
            .map(|r| decode_listed(r, query.live_token_at.is_some()))
            .collect()
    }

    async fn count_grants(&self, tenant: &str, query: &GrantQuery<'_>) -> CoreResult<u64> {
        let (select, binds) = listing_sql(tenant, query);
        let sql = format!("SELECT COUNT(*) AS n FROM ({select}) c");
        let row = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds)
            .fetch_one(&self.pool)
            .await
            .map_err(storage)?;
        let n: i64 = row.try_get("n").map_err(storage)?;
        Ok(u64::try_from(n).unwrap_or(0))
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

/// A value bound to a listing's placeholder.
enum Bind {
    Text(String),
    Int(i64),
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    binds: Vec<Bind>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(t),
            Bind::Int(i) => q.bind(i),
        };
    }
    q
}

/// The `SELECT` of a grant listing (no order, no paging) and its values.
/// Every value is bound; the text is built from fixed fragments only.
fn listing_sql(tenant: &str, q: &GrantQuery<'_>) -> (String, Vec<Bind>) {
    let mut binds = vec![Bind::Text(tenant.to_string())];
    let mut param = |b: Bind| {
        binds.push(b);
        format!("${}", binds.len())
    };
    let mut conditions = vec![
        "g.tenant_id = $1".to_string(),
        "g.revoked_at IS NULL".into(),
    ];
    if let Some(id) = q.id {
        conditions.push(format!("g.id = {}", param(Bind::Text(id.into()))));
    }
    if let Some(credential) = q.device_credential_id {
        // `grants_device_credential` (migration 0042) finds it.
        conditions.push(format!(
            "g.device_credential_id = {}",
            param(Bind::Text(credential.into()))
        ));
    }
    if let Some(user) = q.user_id {
        conditions.push(format!("g.user_id = {}", param(Bind::Text(user.into()))));
    }
    if let Some(client) = q.client_id {
        conditions.push(format!(
            "g.client_id = {}",
            param(Bind::Text(client.into()))
        ));
    }
    if let Some(audience) = q.audience {
        conditions.push(format!(
            "g.audience = {}",
            param(Bind::Text(audience.into()))
        ));
    }
    if let Some(after) = q.after_id {
        conditions.push(format!("g.id > {}", param(Bind::Text(after.into()))));
    }
    let mut columns = String::from(
        "g.id, g.client_id, g.user_id, g.created_at, g.revoked_at, g.body, g.metadata, \
         (SELECT MAX(COALESCE(x.used_at, x.last_used_at)) FROM refresh_tokens x \
          WHERE x.tenant_id = g.tenant_id AND x.grant_id = g.id) AS last_exchanged_at",
    );
    let mut join = String::new();
    if let Some(now) = q.live_token_at {
        let now = param(Bind::Int(now));
        // The family's newest live token: unspent (a rotated token is
        // spent) and within both expiries. A leeway re-exchange can leave
        // two unspent tokens in a family; the newest stands for it.
        join = format!(
            " JOIN refresh_tokens t ON t.tenant_id = g.tenant_id AND t.grant_id = g.id \
             AND t.token_hash = (SELECT r.token_hash FROM refresh_tokens r \
                 WHERE r.tenant_id = g.tenant_id AND r.grant_id = g.id AND r.used_at IS NULL \
                 AND (r.expires_at IS NULL OR r.expires_at > {now}) \
                 AND (r.idle_expires_at IS NULL OR r.idle_expires_at > {now}) \
                 ORDER BY r.created_at DESC, r.token_hash DESC LIMIT 1)"
        );
        columns.push_str(
            ", t.token_hash AS t_hash, t.parent_hash AS t_parent, t.created_at AS t_created, \
             t.expires_at AS t_expires, t.idle_expires_at AS t_idle, t.rotating AS t_rotating, \
             t.ip AS t_ip, t.user_agent AS t_user_agent",
        );
        if let Some(rotating) = q.rotating {
            conditions.push(format!(
                "t.rotating = {}",
                param(Bind::Int(i64::from(rotating)))
            ));
        }
    }
    let sql = format!(
        "SELECT {columns} FROM grants g{join} WHERE {}",
        conditions.join(" AND ")
    );
    (sql, binds)
}

fn decode_listed(row: &AnyRow, with_token: bool) -> CoreResult<ListedGrant> {
    let grant = decode_grant(row)?;
    let token = if with_token {
        let rotating: i64 = row.try_get("t_rotating").map_err(storage)?;
        Some(RefreshToken {
            token_hash: row.try_get("t_hash").map_err(storage)?,
            grant_id: grant.id.clone(),
            parent_hash: row.try_get("t_parent").map_err(storage)?,
            client_id: grant.client_id.clone(),
            created_at: row.try_get("t_created").map_err(storage)?,
            expires_at: row.try_get("t_expires").map_err(storage)?,
            idle_expires_at: row.try_get("t_idle").map_err(storage)?,
            used_at: None,
            rotating: rotating != 0,
            last_seen: decode_seen(row, "t_ip", "t_user_agent")?,
        })
    } else {
        None
    };
    Ok(ListedGrant {
        grant,
        token,
        last_exchanged_at: row.try_get("last_exchanged_at").map_err(storage)?,
    })
}
