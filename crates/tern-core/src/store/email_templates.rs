//! The tenant's email templates (`/api/v2/email-templates`).

use crate::CoreResult;
use crate::email_templates::EmailTemplate;

/// Keeping email templates, one per name and tenant.
#[async_trait::async_trait]
pub trait EmailTemplateStore: Send + Sync {
    /// The template named `name`, if one was stored.
    async fn get_email_template(
        &self,
        tenant: &str,
        name: &str,
    ) -> CoreResult<Option<EmailTemplate>>;
    /// Store a new template; `false` when one of its name exists already.
    async fn insert_email_template(&self, tenant: &str, t: &EmailTemplate) -> CoreResult<bool>;
    /// Replace the stored template of `t`'s name; `false` when there is none.
    async fn update_email_template(&self, tenant: &str, t: &EmailTemplate) -> CoreResult<bool>;
}
