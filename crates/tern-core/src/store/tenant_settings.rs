//! Tenant settings, branding (see `tenant_settings`) and SMTP settings (see `mail`).

use crate::CoreResult;
use crate::mail::MailSettings;
use crate::tenant_settings::{Branding, TenantSettings};

/// Storing the tenant's settings and branding.
#[async_trait::async_trait]
pub trait TenantSettingsStore: Send + Sync {
    /// The settings (defaults when never set).
    async fn get_tenant_settings(&self, tenant: &str) -> CoreResult<TenantSettings>;
    /// Replace the settings.
    async fn put_tenant_settings(&self, tenant: &str, settings: &TenantSettings) -> CoreResult<()>;
    /// The branding (empty when never set).
    async fn get_branding(&self, tenant: &str) -> CoreResult<Branding>;
    /// Replace the branding.
    async fn put_branding(&self, tenant: &str, branding: &Branding) -> CoreResult<()>;
    /// The tenant's SMTP settings, when saved (else the configuration's apply).
    async fn get_mail_settings(&self, tenant: &str) -> CoreResult<Option<MailSettings>>;
    /// Replace the tenant's SMTP settings.
    async fn put_mail_settings(&self, tenant: &str, settings: &MailSettings) -> CoreResult<()>;
    /// Store `settings` only if the stored ones are still those read:
    /// `read_at` `None` stores them only where none are stored, `Some(t)`
    /// only over settings saved at `t` (a writer's `updated_at` must differ
    /// from the one it replaces). Whether they were stored.
    async fn replace_mail_settings(
        &self,
        tenant: &str,
        settings: &MailSettings,
        read_at: Option<&str>,
    ) -> CoreResult<bool>;
    /// Remove the tenant's SMTP settings (the configuration's apply again);
    /// whether there were any.
    async fn delete_mail_settings(&self, tenant: &str) -> CoreResult<bool>;
}
