//! Actions (documents looked up by id, unique by name) and each trigger's
//! ordered bindings (one JSON list per trigger), migration 0054.

use sqlx::{AssertSqlSafe, Row};
use tern_core::actions::{Action, ActionBinding};
use tern_core::store::{ActionStore, Replaced};
use tern_core::users::MetadataEdit;
use tern_core::{CoreError, CoreResult};

use super::metadata_edits::{self, StoredMetadata};
use super::{SqlStore, storage, to_body};
use crate::Dialect;

const NAME_TAKEN: &str = "An action with the same name";

fn decode_bindings(body: &str) -> CoreResult<Vec<ActionBinding>> {
    serde_json::from_str(body)
        .map_err(|e| CoreError::Storage(format!("corrupt action bindings: {e}")))
}

#[async_trait::async_trait]
impl ActionStore for SqlStore {
    async fn insert_action(&self, tenant: &str, action: &Action) -> CoreResult<()> {
        let q =
            sqlx::query("INSERT INTO actions (tenant_id, id, name, body) VALUES ($1, $2, $3, $4)")
                .bind(tenant)
                .bind(&action.id)
                .bind(&action.name)
                .bind(to_body(action));
        self.write_doc(q, NAME_TAKEN).await.map(drop)
    }

    async fn get_action(&self, tenant: &str, id: &str) -> CoreResult<Option<Action>> {
        self.get_doc("actions", "id", tenant, id).await
    }

    async fn list_actions(&self, tenant: &str) -> CoreResult<Vec<Action>> {
        self.list_docs("actions", tenant, "name").await
    }

    async fn update_action(&self, tenant: &str, action: &Action) -> CoreResult<Replaced> {
        // The revision lives in the document (actions stored before it have
        // none: 0).
        let stored_revision = match self.dialect {
            Dialect::Sqlite => "COALESCE(json_extract(body, '$.revision'), 0)",
            Dialect::Postgres => "COALESCE((body::jsonb ->> 'revision')::bigint, 0)",
        };
        let sql = format!(
            "UPDATE actions SET name = $3, body = $4 \
             WHERE tenant_id = $1 AND id = $2 AND {stored_revision} = $5"
        );
        let next = Action {
            revision: action.revision + 1,
            ..action.clone()
        };
        let read = i64::try_from(action.revision)
            .map_err(|_| CoreError::Storage("action revision out of range".into()))?;
        let q = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(&action.id)
            .bind(&action.name)
            .bind(to_body(&next))
            .bind(read);
        if self.write_doc(q, NAME_TAKEN).await? > 0 {
            return Ok(Replaced::Done);
        }
        Ok(match self.get_action(tenant, &action.id).await? {
            Some(_) => Replaced::Moved,
            None => Replaced::Gone,
        })
    }

    async fn delete_action(&self, tenant: &str, id: &str) -> CoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        // The bindings rows are locked on PostgreSQL so a concurrent
        // replacement cannot bring the deleted action back.
        let lock = if self.dialect == Dialect::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT trigger_id, body FROM action_bindings WHERE tenant_id = $1 ORDER BY trigger_id{lock}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .fetch_all(&mut *tx)
            .await
            .map_err(storage)?;
        for row in rows {
            let trigger: String = row.try_get("trigger_id").map_err(storage)?;
            let body: String = row.try_get("body").map_err(storage)?;
            let bindings = decode_bindings(&body)?;
            let kept: Vec<&ActionBinding> = bindings.iter().filter(|b| b.action_id != id).collect();
            if kept.len() != bindings.len() {
                sqlx::query(
                    "UPDATE action_bindings SET body = $3 WHERE tenant_id = $1 AND trigger_id = $2",
                )
                .bind(tenant)
                .bind(&trigger)
                .bind(to_body(&kept))
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
            }
        }
        let deleted = sqlx::query("DELETE FROM actions WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(storage)?
            .rows_affected();
        tx.commit().await.map_err(storage)?;
        Ok(deleted > 0)
    }

    async fn get_action_bindings(
        &self,
        tenant: &str,
        trigger: &str,
    ) -> CoreResult<Vec<ActionBinding>> {
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body FROM action_bindings WHERE tenant_id = $1 AND trigger_id = $2",
        )
        .bind(tenant)
        .bind(trigger)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage)?;
        body.map_or(Ok(Vec::new()), |b| decode_bindings(&b))
    }

    async fn put_action_bindings(
        &self,
        tenant: &str,
        trigger: &str,
        bindings: &[ActionBinding],
    ) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO action_bindings (tenant_id, trigger_id, body) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, trigger_id) DO UPDATE SET body = excluded.body",
        )
        .bind(tenant)
        .bind(trigger)
        .bind(to_body(&bindings))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn change_user_metadata_from_actions(
        &self,
        tenant: &str,
        user_id: &str,
        edit: &MetadataEdit,
        updated_at: &str,
    ) -> CoreResult<bool> {
        for attempt in 0..metadata_edits::ATTEMPTS {
            let row = sqlx::query(
                "SELECT app_metadata, user_metadata FROM users \
                 WHERE tenant_id = $1 AND user_id = $2",
            )
            .bind(tenant)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
            let Some(row) = row else { return Ok(false) };
            let stored = StoredMetadata {
                app: row.try_get(0).map_err(storage)?,
                user: row.try_get(1).map_err(storage)?,
            };
            let (app, user) = stored.edited(edit, user_id)?;
            let r = sqlx::query(
                "UPDATE users SET app_metadata = $3, user_metadata = $4, updated_at = $5 \
                 WHERE tenant_id = $1 AND user_id = $2 \
                 AND app_metadata = $6 AND user_metadata = $7",
            )
            .bind(tenant)
            .bind(user_id)
            .bind(serde_json::Value::Object(app).to_string())
            .bind(serde_json::Value::Object(user).to_string())
            .bind(updated_at)
            .bind(&stored.app)
            .bind(&stored.user)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
            if r.rows_affected() > 0 {
                return Ok(true);
            }
            metadata_edits::pause(attempt).await;
        }
        Err(metadata_edits::kept_moving(user_id))
    }
}
