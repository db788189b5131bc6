//! Tenant settings and branding, as documents of `tenant_documents`; SMTP
//! settings in `tenant_mail_settings` (migration 0033).

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use tern_core::mail::MailSettings;
use tern_core::store::TenantSettingsStore;
use tern_core::tenant_settings::{Branding, TenantSettings};
use tern_core::{CoreError, CoreResult};

use super::{SqlStore, storage, to_body};

impl SqlStore {
    pub(super) async fn tenant_document<T: DeserializeOwned + Default>(
        &self,
        tenant: &str,
        kind: &str,
    ) -> CoreResult<T> {
        let row =
            sqlx::query("SELECT body FROM tenant_documents WHERE tenant_id = $1 AND kind = $2")
                .bind(tenant)
                .bind(kind)
                .fetch_optional(&self.pool)
                .await
                .map_err(storage)?;
        match row {
            None => Ok(T::default()),
            Some(r) => {
                let body: String = r.try_get("body").map_err(storage)?;
                serde_json::from_str(&body)
                    .map_err(|e| CoreError::Storage(format!("corrupt tenant {kind}: {e}")))
            }
        }
    }

    pub(super) async fn put_tenant_document<T: Serialize + Sync>(
        &self,
        tenant: &str,
        kind: &str,
        v: &T,
    ) -> CoreResult<()> {
        // An upsert both backends speak.
        sqlx::query(
            "INSERT INTO tenant_documents (tenant_id, kind, body) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, kind) DO UPDATE SET body = excluded.body",
        )
        .bind(tenant)
        .bind(kind)
        .bind(to_body(v))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl TenantSettingsStore for SqlStore {
    async fn get_tenant_settings(&self, tenant: &str) -> CoreResult<TenantSettings> {
        self.tenant_document(tenant, "settings").await
    }

    async fn put_tenant_settings(&self, tenant: &str, settings: &TenantSettings) -> CoreResult<()> {
        self.put_tenant_document(tenant, "settings", settings).await
    }

    async fn get_branding(&self, tenant: &str) -> CoreResult<Branding> {
        self.tenant_document(tenant, "branding").await
    }

    async fn put_branding(&self, tenant: &str, branding: &Branding) -> CoreResult<()> {
        self.put_tenant_document(tenant, "branding", branding).await
    }

    async fn get_mail_settings(&self, tenant: &str) -> CoreResult<Option<MailSettings>> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM tenant_mail_settings WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_optional(&self.pool)
                .await
                .map_err(storage)?;
        body.map(|b| {
            serde_json::from_str(&b)
                .map_err(|e| CoreError::Storage(format!("corrupt tenant mail settings: {e}")))
        })
        .transpose()
    }

    async fn put_mail_settings(&self, tenant: &str, settings: &MailSettings) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO tenant_mail_settings (tenant_id, body, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(tenant)
        .bind(to_body(settings))
        .bind(&settings.updated_at)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn replace_mail_settings(
        &self,
        tenant: &str,
        settings: &MailSettings,
        read_at: Option<&str>,
    ) -> CoreResult<bool> {
        let body = to_body(settings);
        let r = match read_at {
            None => {
                sqlx::query(
                    "INSERT INTO tenant_mail_settings (tenant_id, body, updated_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO NOTHING",
                )
                .bind(tenant)
                .bind(&body)
                .bind(&settings.updated_at)
                .execute(&self.pool)
                .await
            }
            Some(at) => {
                sqlx::query(
                    "UPDATE tenant_mail_settings SET body = $2, updated_at = $3 \
                     WHERE tenant_id = $1 AND updated_at = $4",
                )
                .bind(tenant)
                .bind(&body)
                .bind(&settings.updated_at)
                .bind(at)
                .execute(&self.pool)
                .await
            }
        }
        .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn delete_mail_settings(&self, tenant: &str) -> CoreResult<bool> {
        let r = sqlx::query("DELETE FROM tenant_mail_settings WHERE tenant_id = $1")
            .bind(tenant)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }
}
