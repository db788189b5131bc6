//! Email templates: the mails Tern sends (`verify_email`, `reset_email`,
//! `blocked_account`, `welcome_email`) — enabled, sender, subject, Liquid
//! body, and for a mail with a link where the link's page sends the user
//! and the link's lifetime (the welcome has no link). A save
//! is `crate::email_templates::create_or_update`, which checks as the
//! Management API does (a `from` that is no address, Liquid that does not
//! parse: the message on the page, nothing stored).
//!
//! The preview renders the saved template for a made-up user; the form's
//! Preview button posts what is being edited to the same route (CSRF
//! checked, checked as a save) into the preview's frame, storing nothing.
//! Its HTML is the operator's and may hold anything, so it never runs in
//! the console's origin: the page frames it from its own route, answered with
//! `Content-Security-Policy: sandbox` (an opaque origin, no scripts, no
//! forms) and no script source, inside an `<iframe sandbox>`; the subject
//! is shown as escaped text.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::html;
use serde_json::{Value, json};
use tern_core::email_templates::{
    BLOCKED_ACCOUNT, EmailTemplate, RESET_EMAIL, VERIFY_EMAIL, WELCOME_EMAIL,
};
use tern_core::model::LogEvent;

use super::connections::oops;
use crate::console::forms::{self, Done, alert, check, csrf_field, note};
use crate::console::layout::{Section, page, page_status, problem};
use crate::console::session::{Operator, OperatorForm};
use crate::console::{audit, see_other};
use crate::email_templates::{create_or_update, draft, preview as render_preview};
use crate::pages::secured_html;
use crate::routes::universal_login::FormFields;
use crate::state::AppState;

/// The templates Tern sends, with what each is for.
const SENT: &[(&str, &str, &str)] = &[
    (
        VERIFY_EMAIL,
        "Verification email",
        "Sent after signup and when a user is created with verify_email: its link verifies the address.",
    ),
    (
        RESET_EMAIL,
        "Change password",
        "Sent for a change-password request: its link opens the page that sets a new password.",
    ),
    (
        BLOCKED_ACCOUNT,
        "Blocked account",
        "Sent when brute-force protection blocks a user: its link lifts the block.",
    ),
    (
        WELCOME_EMAIL,
        "Welcome email",
        "Sent after a signup once the user verifies their address, or at the signup itself when the verification email is off. No link.",
    ),
];

/// Whether the mail `name` carries a link (so a redirect and a lifetime).
fn has_link(name: &str) -> bool {
    name != WELCOME_EMAIL
}

/// The policy of the preview: an opaque-origin sandbox without scripts,
/// forms or plugins; the mail's own styles and https/data images only;
/// framed by the console alone.
const PREVIEW_CSP: &str = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'";

/// The routes of the template pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/email-templates", get(list))
        .route("/console/email-templates/{name}", get(show).post(save))
        .route(
            "/console/email-templates/{name}/preview",
            get(preview).post(preview_draft),
        )
}

fn href(name: &str) -> String {
    format!("/console/email-templates/{name}")
}

/// One of [`SENT`], by name.
fn sent(name: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    SENT.iter().find(|(n, _, _)| *n == name)
}

fn unknown() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "No such template",
        "Tern sends the verification, change-password, blocked-account and welcome mails only.",
    )
}

async fn stored(s: &AppState, name: &str) -> Result<Option<EmailTemplate>, Response> {
    s.store
        .get_email_template(s.tid(), name)
        .await
        .map_err(|e| oops("email template", &e))
}

/// `GET /console/email-templates`.
pub async fn list(State(s): State<AppState>, op: Operator) -> Response {
    let mut rows = Vec::new();
    for (name, label, what) in SENT {
        let t = match stored(&s, name).await {
            Ok(t) => t,
            Err(r) => return r,
        };
        rows.push(html! { tr {
            td { a href=(href(name)) { (label) } br; code { (name) } }
            td { (what) }
            td { @match &t {
                Some(t) if t.is_enabled() => span.badge.on { "enabled" },
                Some(_) => span.badge { "disabled" },
                None if !has_link(name) => span.badge { "not sent" },
                None => span.badge { "Tern's built-in mail" },
            } }
        } });
    }
    page(
        &op,
        Section::Emails,
        "Email templates",
        html! {
            h1 { "Email templates" }
            p.text { "Auth0's templates in Liquid. An enabled template replaces Tern's built-in message; one that fails to render sends the built-in message instead, and says why in the logs. The welcome mail has no built-in message: it is sent only from its enabled template." }
            div.table-wrap { table {
                thead { tr { th scope="col" { "Template" } th scope="col" { "Sent" } th scope="col" { "Status" } } }
                tbody { @for r in &rows { (r) } }
            } }
        },
    )
}

/// What the form shows and posts.
struct Fields {
    enabled: bool,
    from: String,
    subject: String,
    body: String,
    result_url: String,
    lifetime: String,
}

impl Fields {
    fn of(t: Option<&EmailTemplate>) -> Self {
        Fields {
            enabled: t.is_some_and(EmailTemplate::is_enabled),
            from: t.and_then(|t| t.from.clone()).unwrap_or_default(),
            subject: t.and_then(|t| t.subject.clone()).unwrap_or_default(),
            body: t.and_then(|t| t.body.clone()).unwrap_or_default(),
            result_url: t.and_then(|t| t.result_url.clone()).unwrap_or_default(),
            lifetime: t
                .and_then(|t| t.url_lifetime_in_seconds)
                .map(|n| n.to_string())
                .unwrap_or_default(),
        }
    }

    fn read(f: &FormFields) -> Self {
        let text = |k: &str| f.get(k).unwrap_or_default().trim().to_string();
        Fields {
            enabled: f.get("enabled") == Some("on"),
            from: text("from"),
            subject: text("subject"),
            body: f.get("body").unwrap_or_default().replace("\r\n", "\n"),
            result_url: text("resultUrl"),
            lifetime: text("urlLifetimeInSeconds"),
        }
    }

    /// The Management API's body: every field the page edits (the link's
    /// fields only for a mail with a link).
    fn body(&self, links: bool) -> Result<Value, String> {
        if !links {
            return Ok(json!({
                "enabled": self.enabled,
                "from": self.from,
                "subject": self.subject,
                "body": self.body,
                "syntax": "liquid",
            }));
        }
        let lifetime = if self.lifetime.is_empty() {
            Value::Null
        } else {
            let n: i64 = self
                .lifetime
                .parse()
                .map_err(|_| "The link lifetime must be a whole number of seconds.".to_string())?;
            json!(n)
        };
        Ok(json!({
            "enabled": self.enabled,
            "from": self.from,
            "subject": self.subject,
            "body": self.body,
            "syntax": "liquid",
            "resultUrl": self.result_url,
            "urlLifetimeInSeconds": lifetime,
        }))
    }
}

/// `GET /console/email-templates/{name}`.
pub async fn show(
    State(s): State<AppState>,
    op: Operator,
    Path(name): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let Some(entry) = sent(&name) else {
        return unknown();
    };
    let t = match stored(&s, &name).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let shown = match &t {
        Some(t) => Some(preview_of(&s, t).await),
        None => None,
    };
    render(
        &op,
        entry,
        &Fields::of(t.as_ref()),
        shown,
        done.message(),
        None,
        StatusCode::OK,
    )
}

/// The preview's subject (escaped where shown) or why it does not render.
async fn preview_of(s: &AppState, t: &EmailTemplate) -> Result<String, String> {
    render_preview(s, t).await.map(|r| r.subject)
}

fn render(
    op: &Operator,
    (name, label, what): &(&str, &str, &str),
    v: &Fields,
    shown: Option<Result<String, String>>,
    saved: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    page_status(
        status,
        op,
        Section::Emails,
        label,
        html! {
            p.crumbs { a href="/console/email-templates" { "← Email templates" } }
            h1 { (label) }
            p.text { (what) }
            (note(saved))
            (alert(error))
            form method="post" action=(href(name)) {
                (csrf_field(op))
                (check("enabled", "on", "Enabled", v.enabled,
                    Some(match *name {
                        VERIFY_EMAIL => "Off: Tern sends no verification mail on its own (Auth0's switch), and the welcome mail follows the signup.",
                        WELCOME_EMAIL => "Off: no welcome mail (Tern has no built-in one).",
                        _ => "Off: Tern sends its built-in message.",
                    }), false))
                (forms::text("from", "From", &v.from, Some("e.g. Support <support@example.com>. Blank: the mail settings' sender.")))
                (forms::text("subject", "Subject", &v.subject, Some("Liquid, e.g. Verify your email for {{ application.name }}.")))
                (forms::area("body", "Body (HTML, Liquid)", &v.body, true,
                    Some(if has_link(name) {
                        "Values are inserted as they are, as Auth0 does: write {{ user.name | escape }} for text a user typed. Available: url, user, application, connection, tenant, friendly_name, support_email, support_url."
                    } else {
                        "Values are inserted as they are, as Auth0 does: write {{ user.name | escape }} for text a user typed. Available: user, application, connection, tenant, friendly_name, support_email, support_url."
                    })))
                @if has_link(name) {
                    div.grid2 {
                        div { (forms::text("resultUrl", "Redirect to (resultUrl)", &v.result_url, Some("Where the link's page sends the user afterwards; blank: Tern's own page."))) }
                        div { (forms::text("urlLifetimeInSeconds", "Link lifetime (seconds)", &v.lifetime, Some("Blank: Tern's default."))) }
                    }
                }
                div.actions {
                    button type="submit" { "Save the template" }
                    // Posts the same fields into the preview's frame: no
                    // script, nothing stored.
                    button.secondary type="submit" formaction=(format!("{}/preview", href(name)))
                        formtarget=(PREVIEW_FRAME) { "Preview" }
                }
            }
            h2 { "Preview" }
            p.hint { "Rendered for a made-up user (Jane Doe) with a sample link. "
                "Preview shows the body as it is in the form, unsaved; otherwise the saved template is shown." }
            @match shown {
                Some(Ok(subject)) => {
                    p { strong { "Saved subject: " } span #preview-subject { (subject) } }
                    (preview_frame(Some(&format!("{}/preview", href(name)))))
                }
                Some(Err(why)) => {
                    p.alert role="alert" { (if has_link(name) { "The saved template does not render, so Tern would send its built-in message: " } else { "The saved template does not render, so Tern would send no mail: " }) (why) }
                    (preview_frame(None))
                }
                None => (preview_frame(None)),
            }
        },
    )
}

/// `POST /console/email-templates/{name}`: created or updated.
pub async fn save(
    State(s): State<AppState>,
    Path(name): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let Some(entry) = sent(&name) else {
        return unknown();
    };
    let v = Fields::read(&form);
    let refused = |m: &str, status| render(&op, entry, &v, None, None, Some(m), status);
    let body = match v.body(has_link(&name)) {
        Ok(b) => b,
        Err(m) => return refused(&m, StatusCode::BAD_REQUEST),
    };
    match create_or_update(&s, &name, &body).await {
        Ok(t) => {
            let mut ev = LogEvent::new("sapi", "Console: email template saved");
            ev.details = Some(json!({"template": t.template, "enabled": t.is_enabled()}));
            audit(&s, &op, ev).await;
            see_other(&format!("{}?done=saved", href(&name)), Vec::new())
        }
        Err(e) => refused(&forms::api_message(&e), e.status),
    }
}

/// The name of the preview's frame, the Preview button's target.
const PREVIEW_FRAME: &str = "preview-frame";

/// The sandboxed frame showing a preview: the saved one at `src`, or empty
/// until the Preview button posts into it.
fn preview_frame(src: Option<&str>) -> maud::Markup {
    html! {
        iframe #preview.preview name=(PREVIEW_FRAME) title="Preview of the mail's body" sandbox="" src=[src] {}
    }
}

/// A preview's answer: `t`'s body rendered, or why it does not render,
/// under [`PREVIEW_CSP`].
async fn sandboxed(s: &AppState, t: Result<EmailTemplate, String>) -> Response {
    let rendered = match t {
        Ok(t) => render_preview(s, &t).await,
        Err(why) => Err(why),
    };
    let (status, body) = match rendered {
        Ok(r) => (StatusCode::OK, r.html),
        Err(why) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            html! { p { "The template does not render: " (why) } }.into_string(),
        ),
    };
    secured_html(status, body, PREVIEW_CSP, false)
}

/// `POST /console/email-templates/{name}/preview`: the form's fields as a
/// save would take them, rendered under the same sandbox and stored
/// nowhere; a check that fails is the preview's text.
pub async fn preview_draft(
    State(s): State<AppState>,
    Path(name): Path<String>,
    OperatorForm { form, .. }: OperatorForm,
) -> Response {
    if sent(&name).is_none() {
        return unknown();
    }
    let t = match Fields::read(&form).body(has_link(&name)) {
        Ok(body) => draft(&s, &name, &body)
            .await
            .map_err(|e| forms::api_message(&e)),
        Err(m) => Err(m),
    };
    sandboxed(&s, t).await
}

/// `GET /console/email-templates/{name}/preview`: the saved body rendered,
/// sandboxed (see the module's comment).
pub async fn preview(
    State(s): State<AppState>,
    _op: Operator,
    Path(name): Path<String>,
) -> Response {
    if sent(&name).is_none() {
        return unknown();
    }
    let t = match stored(&s, &name).await {
        Ok(Some(t)) => t,
        Ok(None) => return unknown(),
        Err(r) => return r,
    };
    sandboxed(&s, Ok(t)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_mails_tern_sends_have_pages() {
        for name in [VERIFY_EMAIL, RESET_EMAIL, BLOCKED_ACCOUNT, WELCOME_EMAIL] {
            assert!(sent(name).is_some(), "{name}");
        }
        assert!(sent("stolen_credentials").is_none());
        assert!(sent("../x").is_none());
    }
}
