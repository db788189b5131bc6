//! `/lo/reset` and `/u/reset-password`: the page a reset link opens, where a
//! ticket sets a new password (Auth0's classic path and its Universal Login
//! route: the same flow, its form posting back to the path it came from).
//! `/u/reset-password` is dressed as the other hosted pages ([`Skin`]): the
//! tenant's branding, the catalogue's sentences in the language of
//! `ui_locales` or `Accept-Language`.
//!
//! No cookie and no script: the ticket in the link is the secret, and the
//! form posts it back, so a page elsewhere cannot forge a reset (it does not
//! know the ticket). Every answer is `no-store` (the page holds the ticket),
//! sends no `Referer` (the URL holds the ticket), cannot be framed, and runs
//! under a CSP that allows only its own stylesheet.

use std::sync::LazyLock;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tern_core::clock::now_epoch;
use tern_core::model::{Connection, LogEvent, User};
use tern_core::password_policy::{self, PersonalInfo};
use tern_core::tickets::{PasswordTicket, Redemption, TicketState};

use crate::body::{QueryMap, parse_urlencoded, read_limited};
use crate::pages::catalogue::{Lang, Msg, password_hint, text};
use crate::pages::{self, Look, Page};
use crate::passwords::{self, NewPasswordError, Owner};
use crate::reset::token_hash;
use crate::state::AppState;

/// Auth0's message after a successful reset (also sent to `result_url`).
const SUCCESS_MESSAGE: &str = "You can now login to the application with the new password.";

/// How the page is dressed. `/lo/reset` keeps the classic page (its own
/// stylesheet, English); `/u/reset-password` is a hosted page like
/// `/u/login`: the tenant's branding, every sentence from the catalogue.
/// Both are script-free, `no-store`, `no-referrer` and refuse framing; the
/// ticket in the form is what protects the post (no cookie is needed).
pub(crate) enum Skin {
    /// `/lo/reset`.
    Classic,
    /// `/u/reset-password`.
    Hosted {
        /// The tenant's branding and name.
        look: Box<Look>,
        /// From `ui_locales`, then `Accept-Language`.
        lang: Lang,
    },
}

impl Skin {
    async fn of(s: &AppState, path: &str, headers: &HeaderMap, ui_locales: Option<&str>) -> Self {
        if path != crate::reset::HOSTED_RESET_PATH {
            return Self::Classic;
        }
        let locales: Vec<String> = ui_locales
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Self::Hosted {
            look: Box::new(Look::load(s).await),
            lang: Lang::choose(&locales, accept),
        }
    }

    /// A page that says `what`.
    fn say(&self, status: StatusCode, what: Said) -> Response {
        match self {
            Self::Classic => {
                let (title, message) = what.classic();
                message_page(status, title, message)
            }
            Self::Hosted { look, lang } => {
                let (title, message) = what.msgs();
                pages::render(
                    look,
                    Page::message(status, *lang, title, text(*lang, message)),
                )
            }
        }
    }

    /// A malformed form: the classic page says what was wrong in English.
    fn bad_form(&self, classic: &str) -> Response {
        match self {
            Self::Classic => message_page(StatusCode::BAD_REQUEST, "Invalid request", classic),
            Self::Hosted { .. } => self.say(StatusCode::BAD_REQUEST, Said::BadForm),
        }
    }
}

/// What a message page says.
#[derive(Debug, Clone, Copy)]
enum Said {
    NoTicket,
    InvalidLink,
    Used,
    Expired,
    AccountGone,
    Failed,
    Busy,
    Done,
    BadForm,
}

impl Said {
    fn classic(self) -> (&'static str, &'static str) {
        match self {
            Self::NoTicket => (
                "Invalid link",
                "This link is incomplete: it carries no ticket. Open the whole link from the message.",
            ),
            Self::InvalidLink => (
                "Invalid link",
                "This password reset link is not valid. Check that you opened the whole link from the message, or ask for a new one.",
            ),
            Self::Used => (
                "Link no longer valid",
                "This password reset link has already been used, or was replaced: a newer link, a change of the account's password or email, or a block closes earlier links. If you need to change your password, ask for a new link.",
            ),
            Self::Expired => (
                "Link no longer valid",
                "This password reset link has expired. Ask for a new one.",
            ),
            Self::AccountGone => (
                "Link no longer valid",
                "The account this link was made for no longer exists.",
            ),
            Self::Failed => (
                "Something went wrong",
                "The password could not be changed right now. Try again later.",
            ),
            Self::Busy => (
                "Busy",
                "The server is busy right now. Go back and try again in a moment.",
            ),
            Self::Done => (
                "Password changed",
                "Your password has been changed. You can now login to the application with the new password.",
            ),
            Self::BadForm => ("Invalid request", "The form could not be read."),
        }
    }

    fn msgs(self) -> (Msg, Msg) {
        match self {
            Self::NoTicket => (Msg::InvalidLinkTitle, Msg::NoTicketText),
            Self::InvalidLink => (Msg::InvalidLinkTitle, Msg::InvalidLinkText),
            Self::Used => (Msg::LinkExpiredTitle, Msg::LinkUsedText),
            Self::Expired => (Msg::LinkExpiredTitle, Msg::LinkExpiredText),
            Self::AccountGone => (Msg::LinkExpiredTitle, Msg::AccountGoneText),
            Self::Failed => (Msg::ErrorTitle, Msg::SomethingWrong),
            Self::Busy => (Msg::ErrorTitle, Msg::BusyText),
            Self::Done => (Msg::PasswordChangedTitle, Msg::ResetDone),
            Self::BadForm => (Msg::ErrorTitle, Msg::BadFormText),
        }
    }
}

/// Why the form is shown again: a catalogue message on the hosted page,
/// the classic page's English (a policy's own explanation included).
struct Retry<'a> {
    msg: Msg,
    classic: &'a str,
}

/// Longest password accepted (as `POST /api/v2/users`).
const MAX_PASSWORD_CHARS: usize = 1024;

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2430;margin:0}\
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}\
h1{font-size:1.4rem;margin-top:0}label{display:block;margin-top:1rem;font-weight:600}\
input{box-sizing:border-box;width:100%;padding:.6rem;margin-top:.3rem;font-size:1rem}\
button{margin-top:1.5rem;width:100%;padding:.7rem;font-size:1rem;background:#1f5fbf;color:#fff;border:0;border-radius:4px}\
.error{color:#a11;font-weight:600}.hint{color:#555;font-size:.9rem}";

/// The CSP hash of [`STYLE`]: the one stylesheet the pages may use.
static STYLE_HASH: LazyLock<String> = LazyLock::new(|| {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, STYLE.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(d.as_ref())
    )
});

/// Escape text for HTML element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page: `title` is text, `content` is HTML the caller escaped.
/// `form_target` is an extra origin the form may lead to (the ticket's
/// `result_url`, reached by redirect after the post).
pub(crate) fn page(
    status: StatusCode,
    title: &str,
    content: &str,
    form_target: Option<&str>,
) -> Response {
    let title = escape(title);
    let body = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n{content}\n</main>\n</body>\n</html>\n"
    );
    let form_action = match form_target {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".into(),
    };
    let csp = format!(
        "default-src 'none'; style-src {}; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
        *STYLE_HASH
    );
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    for (name, value) in security_headers() {
        h.insert(name, value);
    }
    // Never without a policy (X-Frame-Options is among the headers above).
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        crate::pages::csp_header(&csp).0,
    );
    resp
}

fn security_headers() -> [(HeaderName, HeaderValue); 4] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ]
}

pub(crate) fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(status, title, &format!("<p>{}</p>", escape(message)), None)
}

/// The ticket a mailed link carries (`?ticket=`), if any: the unblock and
/// email-verification links' first step ([`incomplete_link`] otherwise).
pub(crate) fn link_ticket(q: &Result<QueryMap, crate::error::ApiError>) -> Option<&str> {
    q.as_ref()
        .ok()
        .and_then(|q| q.str("ticket"))
        .filter(|t| !t.is_empty())
}

/// The largest confirmation form a mailed link's page posts (it holds a
/// ticket).
const CONFIRM_FORM_LIMIT: usize = 4 * 1024;

/// A mailed link's confirmation: `prompt` (HTML the caller escaped) and a
/// button that posts the ticket to `path`. Opening a link changes nothing:
/// mail scanners and link previews open links before their recipient does,
/// and would otherwise spend them.
pub(crate) fn confirm_form(path: &str, token: &str, prompt: &str, button: &str) -> String {
    format!(
        "<p>{prompt}</p>\n<form method=\"post\" action=\"{path}\">\n\
         <input type=\"hidden\" name=\"ticket\" value=\"{token}\">\n\
         <button type=\"submit\">{button}</button>\n</form>",
        token = escape(token),
        button = escape(button),
    )
}

/// The ticket a link's confirmation form posts back, or the 400 page.
pub(crate) async fn posted_ticket(req: Request) -> Result<String, Response> {
    let bad = |message: &str| message_page(StatusCode::BAD_REQUEST, "Invalid request", message);
    let fields = match super::universal_login::read_form_up_to(req, CONFIRM_FORM_LIMIT).await {
        Ok((_, fields)) => fields,
        Err(why) => return Err(bad(why)),
    };
    match fields.get("ticket").filter(|t| !t.is_empty()) {
        Some(token) => Ok(token.to_owned()),
        None => Err(bad(
            "The form carries no ticket. Open the whole link from the message again.",
        )),
    }
}

/// The page for a link that carries no ticket.
pub(crate) fn incomplete_link() -> Response {
    message_page(
        StatusCode::BAD_REQUEST,
        "Invalid link",
        "This link is incomplete: it carries no ticket. Open the whole link from the message.",
    )
}

fn unusable(skin: &Skin, state: TicketState) -> Response {
    match state {
        TicketState::Used => skin.say(StatusCode::GONE, Said::Used),
        _ => skin.say(StatusCode::GONE, Said::Expired),
    }
}

/// The origin of the ticket's `result_url`, for the CSP's `form-action`.
fn result_origin(ticket: &PasswordTicket) -> Option<String> {
    let u = url::Url::parse(ticket.options.result_url.as_deref()?).ok()?;
    Some(u.origin().ascii_serialization()).filter(|o| o != "null")
}

/// The form, with an error from the previous attempt if any.
struct FormPage<'a> {
    action: &'a str,
    token: &'a str,
    ticket: &'a PasswordTicket,
    user: &'a User,
    connection: &'a Connection,
}

fn form(skin: &Skin, status: StatusCode, f: &FormPage<'_>, error: Option<Retry<'_>>) -> Response {
    let Skin::Hosted { look, lang } = skin else {
        return classic_form(status, f, error.map(|e| e.classic));
    };
    let l = *lang;
    let email = f.user.email.as_deref().unwrap_or(&f.user.user_id);
    let hint = hint_of(l, f.connection);
    let invalid = error.is_some();
    let content = maud::html! {
        h1 { (text(l, Msg::ResetTitle)) }
        p.sub { (text(l, Msg::ResetText).replace("{email}", email)) }
        @if let Some(e) = &error {
            div.alert id="form-error" role="alert" { (text(l, e.msg)) }
        }
        form method="post" action=(form_action(f.action)) {
            input type="hidden" name="ticket" value=(f.token);
            input type="hidden" name="ui_locales" value=(l.tag());
            input type="text" name="email" value=(email) autocomplete="username" readonly hidden;
            label for="newPassword" { (text(l, Msg::NewPasswordLabel)) }
            input #newPassword name="newPassword" type="password" autocomplete="new-password" required
                maxlength=(MAX_PASSWORD_CHARS) autofocus
                aria-invalid=(if invalid { "true" } else { "false" })
                aria-describedby=[invalid.then_some("form-error")];
            label for="confirmNewPassword" { (text(l, Msg::ConfirmPasswordLabel)) }
            input #confirmNewPassword name="confirmNewPassword" type="password" autocomplete="new-password"
                required maxlength=(MAX_PASSWORD_CHARS);
            @if let Some(h) = hint {
                p.hint { (text(l, Msg::PasswordHint)) " " (h) }
            }
            button.primary type="submit" { (text(l, Msg::ResetButton)) }
        }
    };
    pages::render(
        look,
        Page {
            status,
            lang: l,
            title: text(l, Msg::ResetTitle).to_string(),
            content,
            form_targets: result_origin(f.ticket).into_iter().collect(),
            scripts: Vec::new(),
            frame_ancestor: None,
        },
    )
}

/// `/lo/reset`'s form.
fn classic_form(status: StatusCode, f: &FormPage<'_>, error: Option<&str>) -> Response {
    let email = escape(f.user.email.as_deref().unwrap_or(&f.user.user_id));
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    let hint = hint_of(Lang::En, f.connection)
        .map(|h| format!("<p class=\"hint\">{}</p>\n", escape(&h)))
        .unwrap_or_default();
    let content = format!(
        "<p>Choose a new password for <strong>{email}</strong>.</p>\n{error}\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"ticket\" value=\"{token}\">\n\
         <input type=\"text\" name=\"email\" value=\"{email}\" autocomplete=\"username\" readonly hidden>\n\
         <label for=\"newPassword\">New password</label>\n\
         <input id=\"newPassword\" name=\"newPassword\" type=\"password\" autocomplete=\"new-password\" required maxlength=\"{MAX_PASSWORD_CHARS}\">\n\
         <label for=\"confirmNewPassword\">Confirm the new password</label>\n\
         <input id=\"confirmNewPassword\" name=\"confirmNewPassword\" type=\"password\" autocomplete=\"new-password\" required maxlength=\"{MAX_PASSWORD_CHARS}\">\n\
         {hint}<button type=\"submit\">Set the new password</button>\n</form>",
        token = escape(f.token),
        action = form_action(f.action),
    );
    page(
        status,
        "Change your password",
        &content,
        result_origin(f.ticket).as_deref(),
    )
}

/// Where the form posts: back to the page's own path (one of the two).
fn form_action(path: &str) -> &'static str {
    if path == crate::reset::HOSTED_RESET_PATH {
        crate::reset::HOSTED_RESET_PATH
    } else {
        crate::reset::RESET_PATH
    }
}

/// The connection's password requirements for a user choosing a new one.
fn hint_of(lang: Lang, connection: &Connection) -> Option<String> {
    let rules = password_policy::PasswordRules::of(&connection.options);
    password_hint(lang, &rules.requirements(true))
}

/// A usable ticket with its user and connection, or the page to answer.
struct Context {
    ticket: PasswordTicket,
    user: User,
    connection: Connection,
}

async fn load(s: &AppState, skin: &Skin, token: &str) -> Result<Context, Response> {
    let storage = |e: tern_core::CoreError| {
        tracing::error!(error = %e, "reset page: storage error");
        skin.say(StatusCode::INTERNAL_SERVER_ERROR, Said::Failed)
    };
    let ticket = s
        .store
        .get_password_ticket(s.tid(), &token_hash(token))
        .await
        .map_err(storage)?
        .ok_or_else(|| skin.say(StatusCode::NOT_FOUND, Said::InvalidLink))?;
    match ticket.state(now_epoch()) {
        TicketState::Usable => {}
        other => {
            log(
                s,
                "fcp",
                &ticket,
                None,
                match other {
                    TicketState::Used => "Change password refused: the link was already used",
                    _ => "Change password refused: the link expired",
                },
            )
            .await;
            return Err(unusable(skin, other));
        }
    }
    let connection = s
        .store
        .get_connection(s.tid(), &ticket.connection_id)
        .await
        .map_err(storage)?;
    // A lazy reset's user is not stored until the link is used: the page
    // shows the user the ticket will create.
    let user = match s
        .store
        .get_user(s.tid(), &ticket.user_id)
        .await
        .map_err(storage)?
    {
        Some(u) => Some(u),
        None => ticket
            .pending_profile
            .as_ref()
            .zip(connection.as_ref())
            .map(|(p, c)| crate::lazy::pending_reset_user(p, c)),
    };
    match (user, connection) {
        (Some(user), Some(connection)) if user.connection_id == connection.id => Ok(Context {
            ticket,
            user,
            connection,
        }),
        _ => Err(skin.say(StatusCode::GONE, Said::AccountGone)),
    }
}

async fn log(s: &AppState, kind: &str, ticket: &PasswordTicket, user: Option<&User>, what: &str) {
    let mut ev = LogEvent::new(kind, what);
    ev.user_id = Some(ticket.user_id.clone());
    ev.user_name = user.and_then(|u| u.email.clone());
    ev.client_id = ticket.options.client_id.clone();
    ev.connection_id = Some(ticket.connection_id.clone());
    ev.connection = user.map(|u| u.connection_name.clone());
    s.log(ev).await;
}

/// `GET /lo/reset?ticket=…`: the form.
#[utoipa::path(
    get,
    path = "/lo/reset",
    operation_id = "reset_password_page",
    tag = "hosted pages",
    summary = "The password reset page a ticket opens",
    params(crate::openapi::TicketParam),
    responses(
        (status = 200, description = "The form to choose a new password.", content_type = "text/html", body = String),
        (status = 400, description = "The link has no ticket.", content_type = "text/html", body = String),
        (status = 404, description = "Unknown ticket.", content_type = "text/html", body = String),
        (status = 410, description = "The ticket expired or was used, or its user no longer exists.", content_type = "text/html", body = String),
    ),
)]
pub async fn show(
    State(s): State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    q: Result<QueryMap, crate::error::ApiError>,
) -> Response {
    let q = q.ok();
    let skin = Skin::of(
        &s,
        uri.path(),
        &headers,
        q.as_ref().and_then(|q| q.str("ui_locales")),
    )
    .await;
    let Some(token) = q
        .as_ref()
        .and_then(|q| q.str("ticket"))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
    else {
        return skin.say(StatusCode::BAD_REQUEST, Said::NoTicket);
    };
    match load(&s, &skin, &token).await {
        Ok(c) => form(
            &skin,
            StatusCode::OK,
            &FormPage {
                action: uri.path(),
                token: &token,
                ticket: &c.ticket,
                user: &c.user,
                connection: &c.connection,
            },
            None,
        ),
        Err(page) => page,
    }
}

/// `POST /lo/reset`: set the password the form was sent with.
#[utoipa::path(
    post,
    path = "/lo/reset",
    operation_id = "reset_password",
    tag = "hosted pages",
    summary = "Set a new password with a ticket",
    request_body(content = crate::openapi::ResetPasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The password is set.", content_type = "text/html", body = String),
        (status = 303, description = "The password is set; on to the ticket's `result_url` with `success=true&message=…` (and `email=…` when the ticket says so).", headers(("Location" = String, description = "The `result_url` with the outcome."))),
        (status = 400, description = "A malformed form, passwords that differ, or one the connection's policy refuses: the form again, with the reason.", content_type = "text/html", body = String),
        (status = 404, description = "Unknown ticket.", content_type = "text/html", body = String),
        (status = 410, description = "The ticket expired or was used, or its user no longer exists.", content_type = "text/html", body = String),
        (status = 413, description = "The form is larger than 16 KB.", content_type = "text/html", body = String),
        (status = 503, description = "The password hashing pool is full: try again in a moment.", content_type = "text/html", body = String),
    ),
)]
pub async fn submit(State(s): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    if !crate::body::is_form(req.headers()) {
        let skin = Skin::of(&s, &path, &headers, None).await;
        return skin.bad_form("Send the form of the password reset page.");
    }
    let Ok(bytes) = read_limited(req, 16 * 1024).await else {
        let skin = Skin::of(&s, &path, &headers, None).await;
        return match skin {
            Skin::Classic => message_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Invalid request",
                "The form is too large.",
            ),
            Skin::Hosted { .. } => skin.say(StatusCode::PAYLOAD_TOO_LARGE, Said::BadForm),
        };
    };
    let Some(fields) = std::str::from_utf8(&bytes).ok().and_then(parse_urlencoded) else {
        let skin = Skin::of(&s, &path, &headers, None).await;
        return skin.bad_form("The form is not valid URL-encoded text.");
    };
    let get = |k: &str| {
        fields
            .iter()
            .rev()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.as_str())
    };
    let skin = Skin::of(&s, &path, &headers, get("ui_locales")).await;
    let Some(token) = get("ticket").filter(|t| !t.is_empty()) else {
        return skin
            .bad_form("The form carries no ticket. Open the whole link from the message again.");
    };
    let c = match load(&s, &skin, token).await {
        Ok(c) => c,
        Err(page) => return page,
    };
    let shown = FormPage {
        action: &path,
        token,
        ticket: &c.ticket,
        user: &c.user,
        connection: &c.connection,
    };
    let again = |msg: Msg, classic: &str| {
        form(
            &skin,
            StatusCode::BAD_REQUEST,
            &shown,
            Some(Retry { msg, classic }),
        )
    };
    let password = get("newPassword").unwrap_or_default();
    if password.is_empty() {
        return again(Msg::EnterPassword, "Enter a new password.");
    }
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return again(
            Msg::PasswordTooLong,
            "The password is too long: at most 1024 characters.",
        );
    }
    if get("confirmNewPassword") != Some(password) {
        return again(
            Msg::PasswordsDiffer,
            "The two passwords differ. Type the same password twice.",
        );
    }
    let owner = Owner::Existing(&c.user);
    match passwords::check_new_password(&s, &c.connection, password, owner).await {
        Ok(()) => {}
        Err(NewPasswordError::Refused(why)) => {
            let why_text = why.to_string();
            log(
                &s,
                "fcp",
                &c.ticket,
                Some(&c.user),
                &format!("Change password refused: {why_text}"),
            )
            .await;
            return again(passwords::page_message(&why), &why_text);
        }
        Err(NewPasswordError::Busy) => {
            return skin.say(StatusCode::SERVICE_UNAVAILABLE, Said::Busy);
        }
        Err(NewPasswordError::Failed) => {
            return skin.say(StatusCode::INTERNAL_SERVER_ERROR, Said::Failed);
        }
        Err(NewPasswordError::Store(e)) => {
            tracing::error!(error = %e, "reset page: storage error");
            return skin.say(StatusCode::INTERNAL_SERVER_ERROR, Said::Failed);
        }
    }
    let who = PersonalInfo::of_user(&c.user);
    // Import mode off: the legacy store owns the password, so its
    // `change_password` must accept the new one before the link is used up.
    if crate::legacy_ops::authoritative(&s, &c.connection)
        && let Some(email) = c.user.email.as_deref()
        && let Err(e) =
            crate::legacy_ops::legacy_change_password(&s, &c.connection, email, password, &who)
                .await
    {
        log(
            &s,
            "fcp",
            &c.ticket,
            Some(&c.user),
            &format!("Change password refused by the legacy store: {e}"),
        )
        .await;
        return again(
            Msg::SomethingWrong,
            "The password could not be changed in the user store. Try again later.",
        );
    }
    let state = s.clone();
    let pw = password.to_string();
    // On the bounded hashing pool, as logins; a full pool answers at once.
    let credential = match s.hash_pool.run(move || state.policy.hash(&pw)).await {
        Ok(credential) => credential,
        Err(crate::hash_pool::PoolError::Busy) => {
            return skin.say(StatusCode::SERVICE_UNAVAILABLE, Said::Busy);
        }
        Err(crate::hash_pool::PoolError::Failed) => {
            return skin.say(StatusCode::INTERNAL_SERVER_ERROR, Said::Failed);
        }
    };
    let redeemed = crate::reset::redeem(&s, &c.ticket, token, &c.connection, &credential).await;
    match redeemed {
        Ok(Redemption::Done(ticket)) => {
            log(&s, "scp", &ticket, Some(&c.user), "Success Change Password").await;
            crate::brute_force::password_changed(&s, &c.user).await;
            succeeded(&skin, &ticket, &c.user)
        }
        // Another submission of the same link won, or it expired meanwhile.
        Ok(Redemption::Refused(state)) => {
            log(
                &s,
                "fcp",
                &c.ticket,
                Some(&c.user),
                "Change password refused: the link was used or expired meanwhile",
            )
            .await;
            state.map_or_else(
                || skin.say(StatusCode::NOT_FOUND, Said::InvalidLink),
                |st| unusable(&skin, st),
            )
        }
        Ok(Redemption::UserGone) => skin.say(StatusCode::GONE, Said::AccountGone),
        Err(e) => {
            tracing::error!(error = %e, "reset page: storage error");
            skin.say(StatusCode::INTERNAL_SERVER_ERROR, Said::Failed)
        }
    }
}

/// After the reset: on to `result_url` (as Auth0: `success`, `message`, and
/// `email` when asked), or a page saying it worked.
fn succeeded(skin: &Skin, ticket: &PasswordTicket, user: &User) -> Response {
    let target = ticket
        .options
        .result_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok());
    let Some(mut target) = target else {
        return skin.say(StatusCode::OK, Said::Done);
    };
    {
        let mut q = target.query_pairs_mut();
        q.append_pair("success", "true");
        q.append_pair("message", SUCCESS_MESSAGE);
        if ticket.options.include_email_in_redirect
            && let Some(e) = &user.email
        {
            q.append_pair("email", e);
        }
    }
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(target.as_str()) {
        h.insert(header::LOCATION, v);
    }
    for (name, value) in security_headers() {
        h.insert(name, value);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_style_hash_is_a_csp_source() {
        assert!(STYLE_HASH.starts_with("'sha256-") && STYLE_HASH.ends_with("='"));
    }

    #[test]
    fn result_url_origin() {
        let mut t = PasswordTicket {
            token_hash: String::new(),
            user_id: String::new(),
            connection_id: String::new(),
            created_at: String::new(),
            expires_at: 0,
            used_at: None,
            options: Default::default(),
            pending_profile: None,
        };
        assert_eq!(result_origin(&t), None);
        t.options.result_url = Some("https://app.example:8443/done?x=1".into());
        assert_eq!(
            result_origin(&t).as_deref(),
            Some("https://app.example:8443")
        );
    }
}
