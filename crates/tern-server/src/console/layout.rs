//! The console's one layout: a header with the navigation and the
//! operator's sign-out button, a wide main column, Tern's stylesheet
//! (`pages::BASE_CSS`) with the console's additions, and the security
//! headers of every hosted page (no framing, a CSP that allows only these
//! inline styles and, per page, its own inline script by hash; frames only
//! from the console's origin, for the email preview's sandboxed route).

use axum::http::StatusCode;
use axum::response::Response;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::csrf;
use super::forms::FORMS_CSS;
use super::session::Operator;
use crate::pages::{BASE_CSS, secured_html, sha256_source};

/// The console's additions to Tern's stylesheet: a full-width page instead
/// of the login card, tables, stat tiles; one column on a phone.
const CONSOLE_CSS: &str = "body.console{display:block;padding:0;align-items:stretch}\
.console header{background:#1b1f29;color:#fff;padding:.6rem 1.25rem;display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1.4rem}\
.console header .mark{font-weight:700;letter-spacing:.03em;margin-right:.5rem}\
.console header nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem;flex:1}\
.console header a{color:#fff;text-decoration:none;padding:.3rem .15rem;border-bottom:2px solid transparent}\
.console header a[aria-current=page]{border-bottom-color:#9db2ff}\
.console header a:focus-visible,.console header button:focus-visible{outline:3px solid #9db2ff;outline-offset:2px}\
.console header form{margin:0}\
.console header button{margin:0;width:auto;padding:.35rem .8rem;background:transparent;border:1px solid #9aa3b5;font-weight:500}\
.console main{max-width:72rem;margin:1.5rem auto;border-radius:10px;padding:1.5rem 1.75rem}\
.console main.narrow{max-width:28rem}\
.console h1{text-align:left;margin-bottom:1rem}\
.console h2{font-size:1.2rem;margin:1.75rem 0 .6rem}\
.console table{width:100%;border-collapse:collapse;margin:.5rem 0 1rem;font-size:.95rem}\
.console th,.console td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #dde1e8;vertical-align:top}\
.console th{color:var(--muted);font-weight:600;font-size:.85rem}\
.console td.num,.console th.num{text-align:right;font-variant-numeric:tabular-nums}\
.console .tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.8rem;margin:.5rem 0 1rem}\
.console .tile{border:1px solid #dde1e8;border-radius:10px;padding:.8rem 1rem}\
.console .tile b{display:block;font-size:1.6rem;font-variant-numeric:tabular-nums}\
.console .tile span{color:var(--muted);font-size:.9rem}\
.console .empty{color:var(--muted);border:1px dashed var(--border);border-radius:10px;padding:1rem;text-align:center}\
.console .table-wrap{overflow-x:auto}\
.console pre{background:#f4f6fa;border-radius:8px;padding:.75rem;overflow-x:auto;font-size:.88rem}\
.console form[role=search] button{width:auto;margin-top:.8rem}\
.console button.inline,.console .actions button{width:auto;display:inline-block;margin:.3rem .5rem .3rem 0}\
.console .actions{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin:.5rem 0 1rem}\
.console .actions form{margin:0}\
.console button.secondary{background:#fff;color:var(--primary);border:1px solid var(--primary)}\
.console button.danger{background:#b3261e;border-color:#b3261e}\
.console .notice{background:#e8f3ea;border:1px solid #9cc9a6;border-radius:8px;padding:.6rem .8rem}\
.console input[type=number],.console input[type=date],.console input[type=file],.console select,.console textarea{display:block;width:100%;padding:.6rem .75rem;font:inherit;color:var(--text);background:#fff;border:1px solid var(--border);border-radius:8px}\
.console main:not(.narrow) button{width:auto;padding:.65rem 1.2rem;margin-top:1rem}\
.console legend{font-weight:700;padding:0 .3rem}\
.console details{margin:.4rem 0}.console summary{cursor:pointer;color:var(--link)}\
.console .bar{display:block;width:100%;min-width:6rem;height:.8rem;background:#dde1e8;border-radius:6px;overflow:hidden}\
.console .bar i{display:block;height:100%;background:var(--primary)}\
.console .badge{display:inline-block;font-size:.8rem;padding:.05rem .45rem;border-radius:999px;background:#e4e8f1;color:#1b1f29}\
.console .badge.warn{background:#fff1d6}.console .badge.bad{background:#fbe1df}.console .badge.ok{background:#e0f1e4}\
.console fieldset{border:1px solid #dde1e8;border-radius:10px;padding:.8rem 1rem;margin:0 0 1rem}\
.console .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:.2rem 1rem}\
.console label.check{display:flex;gap:.5rem;align-items:center;font-weight:400}\
.console label.check input{width:auto;margin:0}\
.console a:focus-visible,.console button:focus-visible,.console input:focus-visible,.console select:focus-visible{outline:3px solid #3451b2;outline-offset:2px}\
@media (max-width:40rem){.console main{margin:0;border-radius:0;padding:1.1rem}.console header{justify-content:space-between}.console header nav{order:3;flex-basis:100%}}";

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The migration overview.
    Overview,
    /// Users.
    Users,
    /// Connections.
    Connections,
    /// Applications.
    Applications,
    /// APIs.
    Apis,
    /// Roles and their permissions.
    Roles,
    /// Post-login actions and their flow.
    Actions,
    /// Email templates.
    Emails,
    /// Imports.
    Imports,
    /// Exports.
    Exports,
    /// The tenant log.
    Logs,
    /// Attack protection, signing keys, mail.
    Settings,
    /// Pages without a navigation entry (sign-in, setup, errors).
    None,
}

const NAV: &[(Section, &str, &str)] = &[
    (Section::Overview, "/console", "Migration overview"),
    (Section::Users, "/console/users", "Users"),
    (Section::Connections, "/console/connections", "Connections"),
    (
        Section::Applications,
        "/console/applications",
        "Applications",
    ),
    (Section::Apis, "/console/apis", "APIs"),
    (Section::Roles, "/console/roles", "Roles"),
    (Section::Actions, "/console/actions", "Actions"),
    (Section::Emails, "/console/email-templates", "Emails"),
    (Section::Imports, "/console/imports", "Imports"),
    (Section::Exports, "/console/exports", "Exports"),
    (Section::Logs, "/console/logs", "Logs"),
    (Section::Settings, "/console/settings", "Settings"),
];

/// A console page for a signed-in operator.
pub fn page(op: &Operator, section: Section, title: &str, content: Markup) -> Response {
    render(
        StatusCode::OK,
        Some(op),
        section,
        title,
        false,
        None,
        content,
    )
}

/// A console page that reloads itself every `refresh_secs` while what it
/// shows is moving (progress, a followed log): live without any script.
pub fn live_page(
    op: &Operator,
    section: Section,
    title: &str,
    refresh_secs: Option<u32>,
    content: Markup,
) -> Response {
    render(
        StatusCode::OK,
        Some(op),
        section,
        title,
        false,
        refresh_secs.map(|secs| secs.to_string()),
        content,
    )
}

/// A console page for a signed-in operator answered with `status` (a form
/// shown again with its error).
pub fn page_status(
    status: StatusCode,
    op: &Operator,
    section: Section,
    title: &str,
    content: Markup,
) -> Response {
    render(status, Some(op), section, title, false, None, content)
}

/// A page outside the session (sign-in, setup), in a narrow column.
pub fn public_page(status: StatusCode, title: &str, content: Markup) -> Response {
    render(status, None, Section::None, title, true, None, content)
}

/// A page outside the session that moves on to `to` (one of the console's
/// own paths) at once: a navigation this page starts, so the browser treats
/// it as same-site even when the request that brought the page was not.
pub fn onward_page(title: &str, to: &str, content: Markup) -> Response {
    let refresh = format!("0;url={to}");
    render(
        StatusCode::OK,
        None,
        Section::None,
        title,
        true,
        Some(refresh),
        content,
    )
}

/// A short error page.
pub fn problem(status: StatusCode, title: &str, message: &str) -> Response {
    public_page(
        status,
        title,
        html! { h1 { (title) } p.text { (message) } p { a href="/console" { "Back to the console" } } },
    )
}

fn render(
    status: StatusCode,
    op: Option<&Operator>,
    section: Section,
    title: &str,
    narrow: bool,
    refresh: Option<String>,
    content: Markup,
) -> Response {
    let csp = format!(
        "default-src 'none'; style-src {} {} {}; img-src 'self'; script-src 'none'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        sha256_source(BASE_CSS),
        sha256_source(CONSOLE_CSS),
        sha256_source(FORMS_CSS),
    );
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                meta name="referrer" content="no-referrer";
                @if let Some(r) = refresh { meta http-equiv="refresh" content=(r); }
                title { (title) " · Tern Console" }
                style { (PreEscaped(BASE_CSS)) }
                style { (PreEscaped(CONSOLE_CSS)) }
                style { (PreEscaped(FORMS_CSS)) }
            }
            body.console {
                header {
                    span.mark { "Tern Console" }
                    @if let Some(op) = op {
                        nav aria-label="Console" {
                            @for (s, href, label) in NAV {
                                @if *s == section {
                                    a href=(href) aria-current="page" { (label) }
                                } @else {
                                    a href=(href) { (label) }
                                }
                            }
                        }
                        form method="post" action="/console/logout" {
                            input type="hidden" name=(csrf::FIELD) value=(op.csrf);
                            button type="submit" { "Sign out " span.visually-hidden { (op.name()) } }
                        }
                    }
                }
                main class=[narrow.then_some("narrow")] { (content) }
            }
        }
    };
    secured_html(status, markup.into_string(), &csp, true)
}
