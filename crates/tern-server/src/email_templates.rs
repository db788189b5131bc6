//! Mail made from the tenant's email templates (`tern_core::email_templates`):
//! an enabled template's subject and body are rendered with the values Auth0
//! gives them; a disabled or missing template, or one that fails to render,
//! leaves Tern's built-in message — a link is never lost to a template (the
//! welcome mail, which has no built-in message, is then not sent). A render
//! failure is logged (`w` in the tenant log, with the reason). A template
//! whose render exceeds the budget (`tern_core::liquid_budget`, the output
//! cap, [`RENDER_TIMEOUT`]) with sample data is refused when saved.

use std::time::Duration;

use axum::http::StatusCode;
use lettre::message::Mailbox;
use serde_json::Value;
use tern_core::email_templates::{
    self, EmailTemplate, MailContext, RenderError, Rendered, TemplateWrite, render,
};
use tern_core::mail::{MailKind, OutboundMail};
use tern_core::model::{LogEvent, User};
use tern_core::user_profile::user_json;

use crate::error::ApiError;
use crate::state::AppState;

/// The longest a render may take before the built-in message is sent
/// instead (a template looping without output).
const RENDER_TIMEOUT: Duration = Duration::from_secs(2);

/// Auth0's answer for a template never set.
pub fn not_found() -> ApiError {
    ApiError::not_found("inexistent_email_template", "The template does not exist.")
}

/// The template a request body makes, its `from` checked as an address
/// and its render with sample data within the budget: a template that does
/// too much work for a made-up user would for every user, and sending it
/// would cost a thread each time before falling back.
async fn parse(
    s: &AppState,
    body: &Value,
    write: TemplateWrite,
    path: Option<&str>,
    current: Option<&EmailTemplate>,
) -> Result<EmailTemplate, ApiError> {
    let t = email_templates::from_request(body, write, path, current)?;
    if let Some(from) = &t.from
        && from.parse::<Mailbox>().is_err()
    {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: 'from '{from}' is not an email address (e.g. Support <support@example.com>)'."
        )));
    }
    if t.subject.is_some() && t.body.is_some() {
        let ctx = sample_context(s).await;
        if let Err(e) = render_bounded(t.clone(), ctx).await
            && e.over_budget
        {
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: 'the template cannot be rendered within Tern's limits ({}): loop over fewer items and write less'.",
                e.reason
            )));
        }
    }
    Ok(t)
}

/// `POST /email-templates`: a new template, 409 when one of its name exists.
pub async fn create(s: &AppState, body: &Value) -> Result<EmailTemplate, ApiError> {
    let t = parse(s, body, TemplateWrite::Create, None, None).await?;
    if !s.store.insert_email_template(s.tid(), &t).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "email_template_conflict",
            format!("Template ({}) already exists.", t.template),
        ));
    }
    Ok(t)
}

/// `PATCH` (`Update`) and `PUT` (`Replace`) of the stored template `name`,
/// 404 when there is none.
pub async fn write(
    s: &AppState,
    name: &str,
    body: &Value,
    how: TemplateWrite,
) -> Result<EmailTemplate, ApiError> {
    email_templates::check_name(name)?;
    let current = s
        .store
        .get_email_template(s.tid(), name)
        .await?
        .ok_or_else(not_found)?;
    let t = parse(s, body, how, Some(name), Some(&current)).await?;
    if !s.store.update_email_template(s.tid(), &t).await? {
        return Err(not_found());
    }
    Ok(t)
}

/// The console's save: `body` (every field the console edits) changes the
/// stored template `name`, or creates it when it was never set. Checked as
/// the API checks either request; nothing is stored when a check fails.
pub async fn create_or_update(
    s: &AppState,
    name: &str,
    body: &Value,
) -> Result<EmailTemplate, ApiError> {
    email_templates::check_name(name)?;
    if s.store.get_email_template(s.tid(), name).await?.is_some() {
        return write(s, name, body, TemplateWrite::Update).await;
    }
    let mut body = body.clone();
    body["template"] = Value::from(name);
    create(s, &body).await
}

/// The template the console's `body` would make of `name` — checked as
/// [`create_or_update`] checks it, over the stored template's other fields
/// when there is one — stored nowhere: what a preview of unsaved edits
/// renders.
pub async fn draft(s: &AppState, name: &str, body: &Value) -> Result<EmailTemplate, ApiError> {
    email_templates::check_name(name)?;
    match s.store.get_email_template(s.tid(), name).await? {
        Some(current) => parse(s, body, TemplateWrite::Update, Some(name), Some(&current)).await,
        None => {
            let mut body = body.clone();
            body["template"] = Value::from(name);
            parse(s, &body, TemplateWrite::Create, None, None).await
        }
    }
}

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
        support_url: settings.as_ref().and_then(|t| t.support_url.clone()),
    }
}

/// `t` rendered with `ctx` on a blocking thread within [`RENDER_TIMEOUT`]
/// (the budget ends a runaway render well before; the timeout is the
/// last guard); an error says why, in words for a log or an operator.
async fn render_bounded(t: EmailTemplate, ctx: MailContext) -> Result<Rendered, RenderError> {
    let job = tokio::task::spawn_blocking(move || render(&t, &ctx));
    match tokio::time::timeout(RENDER_TIMEOUT, job).await {
        Ok(Ok(rendered)) => rendered,
        Ok(Err(e)) => Err(RenderError {
            over_budget: false,
            reason: format!("the render stopped: {e}"),
        }),
        Err(_) => Err(RenderError {
            over_budget: true,
            reason: format!(
                "the render took longer than {} seconds",
                RENDER_TIMEOUT.as_secs()
            ),
        }),
    }
}

/// What a template sees for a made-up user (the console's preview, the
/// check of a save): the values a real mail would carry, with a sample
/// link, so no stored user's data is shown and no ticket is issued.
async fn sample_context(s: &AppState) -> MailContext {
    let user = serde_json::json!({
        "email": "jane.doe@example.com",
        "name": "Jane Doe",
        "nickname": "jane.doe",
        "given_name": "Jane",
        "family_name": "Doe",
        "email_verified": false,
        "user_id": "auth0|preview",
        "user_metadata": {},
        "app_metadata": {},
    });
    let url = format!(
        "{}/preview-link#not-a-real-ticket",
        s.public_url.trim_end_matches('/')
    );
    context_of(
        s,
        user,
        Some("Username-Password-Authentication".into()),
        None,
        &url,
    )
    .await
}

/// `t` rendered for a made-up user (the console's preview).
pub async fn preview(s: &AppState, t: &EmailTemplate) -> Result<Rendered, String> {
    let ctx = sample_context(s).await;
    render_bounded(t.clone(), ctx).await.map_err(|e| e.reason)
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
    match render_bounded(t, ctx).await {
        Ok(r) => OutboundMail {
            subject: r.subject,
            text: r.text,
            html: Some(r.html),
            from,
            ..built_in
        },
        Err(why) => {
            let why = why.reason;
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

/// The mail to `to` that the enabled `template` makes, for a mail Tern has
/// no built-in message for (the welcome mail): `None` when the template is
/// missing or disabled, or fails to render (logged as [`compose`] does).
pub async fn compose_only(
    s: &AppState,
    template: Option<&EmailTemplate>,
    ctx: MailContext,
    kind: MailKind,
    to: &str,
) -> Option<OutboundMail> {
    let t = template.filter(|t| t.is_enabled()).cloned()?;
    let name = t.template.clone();
    let from = t.from.clone();
    match render_bounded(t, ctx).await {
        Ok(r) => Some(OutboundMail {
            kind,
            to: to.to_string(),
            subject: r.subject,
            text: r.text,
            html: Some(r.html),
            from,
        }),
        Err(why) => {
            let why = why.reason;
            tracing::warn!(template = %name, error = %why, "email template not rendered; no mail sent");
            let mut ev = LogEvent::new(
                "w",
                format!(
                    "The email template {name} could not be rendered ({why}); no mail was sent"
                ),
            );
            ev.user_name = Some(to.to_string());
            s.log(ev).await;
            None
        }
    }
}
