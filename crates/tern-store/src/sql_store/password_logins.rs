//! A password login's reads in one statement (see
//! `tern_core::store::PasswordLoginStore`): each part is the same point
//! lookup its entity's own method makes, as a scalar subquery, and the user
//! a left join on the connection's unique login-name index.

use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use tern_core::store::{PasswordLoginQuery, PasswordLoginReads, PasswordLoginStore};
use tern_core::{CoreError, CoreResult};

use super::users::{LoginMatch, USER_COLUMNS, decode_user};
use super::{SqlStore, storage};

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
        // The user's columns first (`decode_user` reads by position), all
        // NULL when no user matches; two rows when a username matches two
        // users (as typed and lower-cased), of which `pick` keeps one.
        let sql = format!(
            "SELECT {USER_COLUMNS}, \
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
                 AS throttle_tat \
             FROM (SELECT 1 AS one) AS just_one \
             LEFT JOIN users ON users.tenant_id = $1 \
               AND users.connection_id = \
                 (SELECT id FROM connections WHERE tenant_id = $1 AND name = $3) \
               AND users.{} IN ($4, $10)",
            login.column
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(q.client_id)
            .bind(q.connection_name)
            .bind(login.exact)
            .bind(q.audience)
            .bind(q.protections[0])
            .bind(q.protections[1])
            .bind(q.throttle.0)
            .bind(q.throttle.1)
            .bind(login.folded.as_ref())
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
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
        })
    }
}
