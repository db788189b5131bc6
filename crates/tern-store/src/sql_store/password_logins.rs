//! A password login's reads in one statement (see
//! `tern_core::store::PasswordLoginStore`): each part is the same point
//! lookup its entity's own method makes, as a scalar subquery, and the user
//! a left join on the connection's unique login-name index.

use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use tern_core::store::{
    AttemptCounted, PasswordLoginQuery, PasswordLoginReads, PasswordLoginStore,
};
use tern_core::{CoreError, CoreResult};

use super::users::{LoginMatch, USER_COLUMNS, decode_user};
use super::{SqlStore, storage};
use crate::search_sql::Dialect;

/// PostgreSQL: the attempt's hit (`$11` the address, `$12` the window,
/// as `rate_windows::hit_sql` counts one, its older windows going with
/// it), on the user spelled exactly as typed (`$4`, unique in the
/// connection), when the connection does not opt out of brute-force
/// protection; committed without waiting for the disk, as every counter is.
fn attempt_ctes(column: &str) -> String {
    format!(
        "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)), \
         hit AS (INSERT INTO rate_windows (tenant_id, scope, bucket, window_start, hits) \
           SELECT $1, 'login', u.user_id || '|' || $11, $12, 1 \
           FROM users u JOIN connections c \
             ON c.tenant_id = $1 AND c.name = $3 AND u.connection_id = c.id \
           WHERE u.tenant_id = $1 AND u.{column} = $4 \
             AND COALESCE(CAST(c.body AS jsonb) -> 'options' ->> 'brute_force_protection', \
               'true') <> 'false' \
           ON CONFLICT (tenant_id, scope, bucket, window_start) \
           DO UPDATE SET hits = rate_windows.hits + 1 RETURNING bucket, hits), \
         older AS (DELETE FROM rate_windows WHERE tenant_id = $1 AND scope = 'login' \
           AND bucket = (SELECT bucket FROM hit) AND window_start < $12) "
    )
}

/// The attempt's answer beside the reads: the bucket hit and its hits, and
/// the blocks of the row's user (from `$11`, or from every address: `''`)
/// younger than `$13`, as `login_failures::BLOCKED` finds them.
const ATTEMPT_COLUMNS: &str = ", (SELECT 1 FROM relaxed) AS relaxed, \
    (SELECT bucket FROM hit) AS attempt_bucket, \
    CAST((SELECT hits FROM hit) AS BIGINT) AS attempt_hits, \
    CAST(CASE WHEN EXISTS (SELECT 1 FROM login_failures \
      WHERE tenant_id = $1 AND user_id = users.user_id AND ip = $11 \
      AND blocked_at IS NOT NULL AND last_failure_at >= $13) THEN 1 ELSE 0 END AS BIGINT) \
      AS blocked_here, \
    CAST(CASE WHEN EXISTS (SELECT 1 FROM login_failures \
      WHERE tenant_id = $1 AND user_id = users.user_id AND ip = '' \
      AND blocked_at IS NOT NULL AND last_failure_at >= $13) THEN 1 ELSE 0 END AS BIGINT) \
      AS blocked_everywhere";

/// The attempt counted, read from the row of the user it was counted for
/// (`<user_id>|<ip>`); `None` when nothing was hit.
fn attempt_counted(rows: &[AnyRow], ip: &str) -> CoreResult<Option<AttemptCounted>> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let bucket: Option<String> = first.try_get("attempt_bucket").map_err(storage)?;
    let Some(bucket) = bucket else {
        return Ok(None);
    };
    let hits: i64 = first.try_get("attempt_hits").map_err(storage)?;
    for row in rows {
        let user_id: Option<String> = row.try_get("user_id").map_err(storage)?;
        let Some(user_id) = user_id else { continue };
        if bucket == format!("{user_id}|{ip}") {
            let here: i64 = row.try_get("blocked_here").map_err(storage)?;
            let everywhere: i64 = row.try_get("blocked_everywhere").map_err(storage)?;
            return Ok(Some(AttemptCounted {
                bucket,
                hits: u64::try_from(hits).unwrap_or(0),
                blocked_here: here != 0,
                blocked_everywhere: everywhere != 0,
            }));
        }
    }
    Ok(None)
}

/// A stored JSON document in column `column`, if the row has one there.
fn document<T: DeserializeOwned>(row: &AnyRow, column: &str) -> CoreResult<Option<T>> {
    let Some(body) = row.try_get::<Option<String>, _>(column).map_err(storage)? else {
        return Ok(None);
    };
    serde_json::from_str(&body)
        .map(Some)
        .map_err(|e| CoreError::Storage(format!("corrupt stored {column}: {e}")))
}

#[async_trait::async_trait]
impl PasswordLoginStore for SqlStore {
    async fn password_login_reads(
        &self,
        tenant: &str,
        q: &PasswordLoginQuery<'_>,
    ) -> CoreResult<PasswordLoginReads> {
        let login = LoginMatch::of(q.login);
        // PostgreSQL counts the attempt in this statement (see
        // `AttemptAhead`); SQLite, where a statement costs little and this
        // one would need the writer, leaves it to `attempt_login`.
        let attempt = q.attempt.filter(|_| self.dialect == Dialect::Postgres);
        let (with, also) = if attempt.is_some() {
            (attempt_ctes(login.column), ATTEMPT_COLUMNS)
        } else {
            (String::new(), "")
        };
        // The user's columns first (`decode_user` reads by position), all
        // NULL when no user matches; two rows when a username matches two
        // users (as typed and lower-cased), of which `pick` keeps one.
        let sql = format!(
            "{with}SELECT {USER_COLUMNS}, \
               (SELECT body FROM clients WHERE tenant_id = $1 AND id = $2) AS client_doc, \
               (SELECT body FROM connections WHERE tenant_id = $1 AND name = $3) AS connection_doc, \
               (SELECT body FROM resource_servers WHERE tenant_id = $1 AND id = $5) AS api_by_id, \
               (SELECT body FROM resource_servers WHERE tenant_id = $1 AND identifier = $5) \
                 AS api_by_identifier, \
               (SELECT body FROM attack_protection WHERE tenant_id = $1 AND kind = $6) AS protection_0, \
               (SELECT body FROM attack_protection WHERE tenant_id = $1 AND kind = $7) AS protection_1, \
               (SELECT body FROM tenant_documents WHERE tenant_id = $1 AND kind = 'guardian') \
                 AS guardian_doc, \
               (SELECT tat_ms FROM ip_throttles WHERE tenant_id = $1 AND stage = $8 AND ip = $9) \
                 AS throttle_tat{also} \
             FROM (SELECT 1 AS one) AS just_one \
             LEFT JOIN users ON users.tenant_id = $1 \
               AND users.connection_id = \
                 (SELECT id FROM connections WHERE tenant_id = $1 AND name = $3) \
               AND users.{} IN ($4, $10)",
            login.column
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(q.client_id)
            .bind(q.connection_name)
            .bind(login.exact)
            .bind(q.audience)
            .bind(q.protections[0])
            .bind(q.protections[1])
            .bind(q.throttle.0)
            .bind(q.throttle.1)
            .bind(login.folded.as_ref());
        if let Some(a) = &attempt {
            query = query.bind(a.ip).bind(a.window_start).bind(a.blocked_since);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(storage)?;
        let row = login
            .pick(&rows)?
            .ok_or_else(|| CoreError::Storage("the login read returned no row".into()))?;
        let found = row.try_get::<Option<String>, _>(0).map_err(storage)?;
        Ok(PasswordLoginReads {
            client: document(row, "client_doc")?,
            connection: document(row, "connection_doc")?,
            api: match document(row, "api_by_id")? {
                Some(api) => Some(api),
                None => document(row, "api_by_identifier")?,
            },
            protections: [
                document(row, "protection_0")?,
                document(row, "protection_1")?,
            ],
            guardian: document(row, "guardian_doc")?.unwrap_or_default(),
            tat: row
                .try_get::<Option<i64>, _>("throttle_tat")
                .map_err(storage)?,
            user: found.map(|_| decode_user(row)).transpose()?,
            attempt: match attempt {
                Some(a) => attempt_counted(&rows, a.ip)?,
                None => None,
            },
        })
    }
}
