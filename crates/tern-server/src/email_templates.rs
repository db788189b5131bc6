//! Mail made from the tenant's email templates (`tern_core::email_templates`):
//! an enabled template's subject and body are rendered with the values Auth0
//! gives them; a disabled or missing template, or one that fails to render,
//! leaves Tern's built-in message — a mail is never lost to a template. A
//! render failure is logged (`w` in the tenant log, with the reason).

use std::time::Duration;

use tern_core::email_templates::{EmailTemplate, MailContext, render};
use tern_core::mail::OutboundMail;
use tern_core::model::{LogEvent, User};
use tern_core::user_profile::user_json;

use crate::state::AppState;

/// The longest a render may take before the built-in message is sent
/// instead (a template looping without output).
const RENDER_TIMEOUT: Duration = Duration::from_secs(2);

/// The stored template `name`, if one was saved. A storage failure counts as
/// none (the built-in message goes out) and is logged.
pub async fn stored(s: &AppState, name: &str) -> Option<EmailTemplate> {
    match s.store.get_email_template(s.tid(), name).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, template = name, "email template could not be read");
            None
        }
    }
}

/// What a template for `user` sees: the link `url`, the user's profile, the
/// application `client_id` names (when there is one), the connection, the
/// tenant's names and support address.
pub async fn context(s: &AppState, user: &User, client_id: Option<&str>, url: &str) -> MailContext {
    context_of(
        s,
        user_json(user),
        Some(user.connection_name.clone()),
        client_id,
        url,
    )
    .await
}

/// [`context`] for a profile Tern may not store (a legacy store's user,
/// known by email only): `user` as the template sees it.
pub async fn context_of(
    s: &AppState,
    user: serde_json::Value,
    connection: Option<String>,
    client_id: Option<&str>,
    url: &str,
) -> MailContext {
    let application = match client_id {
        Some(id) => s
            .store
            .get_client(s.tid(), id)
            .await
            .ok()
            .flatten()
            .map(|c| (c.name, c.client_id)),
        None => None,
    };
    let settings = s.store.get_tenant_settings(s.tid()).await.ok();
    MailContext {
        url: url.to_string(),
        user,
        application,
        connection,
        tenant: s.tenant.name.clone(),
        friendly_name: settings.as_ref().and_then(|t| t.friendly_name.clone()),
        support_email: settings.as_ref().and_then(|t| t.support_email.clone()),
        // Tern's tenant settings have no support page.
        support_url: None,
    }
}

/// `built_in`, or the message `template` makes of it when the template is
/// enabled: its subject, HTML body (with a text part) and sender. Rendered
/// on a blocking thread within [`RENDER_TIMEOUT`].
pub async fn compose(
    s: &AppState,
    template: Option<&EmailTemplate>,
    ctx: MailContext,
    built_in: OutboundMail,
) -> OutboundMail {
    let Some(t) = template.filter(|t| t.is_enabled()).cloned() else {
        return built_in;
    };
    let name = t.template.clone();
    let from = t.from.clone();
    let job = tokio::task::spawn_blocking(move || render(&t, &ctx));
    let outcome = match tokio::time::timeout(RENDER_TIMEOUT, job).await {
        Ok(Ok(rendered)) => rendered,
        Ok(Err(e)) => Err(format!("the render stopped: {e}")),
        Err(_) => Err(format!(
            "the render took longer than {} seconds",
            RENDER_TIMEOUT.as_secs()
        )),
    };
    match outcome {
        Ok(r) => OutboundMail {
            subject: r.subject,
            text: r.text,
            html: Some(r.html),
            from,
            ..built_in
        },
        Err(why) => {
            tracing::warn!(template = %name, error = %why, "email template not rendered; built-in mail sent");
            let mut ev = LogEvent::new(
                "w",
                format!(
                    "The email template {name} could not be rendered ({why}); Tern's built-in mail was sent instead"
                ),
            );
            ev.user_name = Some(built_in.to.clone());
            s.log(ev).await;
            built_in
        }
    }
}
