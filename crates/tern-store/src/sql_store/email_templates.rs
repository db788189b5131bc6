//! Email templates, one JSON document per tenant and name
//! (`email_templates`, migration 0055).

use tern_core::clock::now_iso;
use tern_core::email_templates::EmailTemplate;
use tern_core::store::EmailTemplateStore;
use tern_core::{CoreError, CoreResult};

use super::{SqlStore, storage, to_body};

#[async_trait::async_trait]
impl EmailTemplateStore for SqlStore {
    async fn get_email_template(
        &self,
        tenant: &str,
        name: &str,
    ) -> CoreResult<Option<EmailTemplate>> {
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body FROM email_templates WHERE tenant_id = $1 AND name = $2",
        )
        .bind(tenant)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage)?;
        body.map(|b| {
            serde_json::from_str(&b)
                .map_err(|e| CoreError::Storage(format!("corrupt email template {name}: {e}")))
        })
        .transpose()
    }

    async fn insert_email_template(&self, tenant: &str, t: &EmailTemplate) -> CoreResult<bool> {
        let r = sqlx::query(
            "INSERT INTO email_templates (tenant_id, name, body, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(tenant)
        .bind(&t.template)
        .bind(to_body(t))
        .bind(now_iso())
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() == 1)
    }

    async fn update_email_template(&self, tenant: &str, t: &EmailTemplate) -> CoreResult<bool> {
        let r = sqlx::query(
            "UPDATE email_templates SET body = $3, updated_at = $4 \
             WHERE tenant_id = $1 AND name = $2",
        )
        .bind(tenant)
        .bind(&t.template)
        .bind(to_body(t))
        .bind(now_iso())
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() == 1)
    }
}
