//! `/lo/verify_email`: the link of an email-verification ticket.
//!
//! Opening the link (`GET`) changes nothing: it asks the user to confirm
//! with a button, which posts the ticket back (`POST`) and verifies the
//! address once (`verification::redeem`). Mail scanners and link previews
//! open links before their recipient does; a link that verified on opening
//! would be spent by them, and the user would read "This URL can be used
//! only once". Then the user is sent to the ticket's `result_url` with
//! Auth0's `success`/`code`/`message` query, or shown a page. The ticket
//! is the secret: no referrer, nothing cached.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::reset_page::{
    confirm_form, escape, incomplete_link, link_ticket, message_page, page, posted_ticket,
};
use crate::body::QueryMap;
use crate::state::AppState;
use crate::verification::{self, Outcome, Peek, VERIFY_PATH};
use tern_core::email_verification::VerificationTicket;
use tern_core::tickets::TicketState;

const VERIFIED: &str = "Your email was verified. You can continue using the application.";
const USED: &str = "This URL can be used only once.";
const EXPIRED: &str = "Access expired.";
const FAILED: &str = "The email address could not be verified.";

/// `GET /lo/verify_email?ticket=…`.
#[utoipa::path(
    get,
    path = "/lo/verify_email",
    operation_id = "verify_email_page",
    tag = "hosted pages",
    summary = "The page an email-verification link opens",
    params(crate::openapi::TicketParam),
    responses(
        (status = 200, description = "A usable link: the address and a button that confirms it (the link verifies nothing until then).", content_type = "text/html", body = String),
        (status = 302, description = "A used or expired link whose ticket names a `result_url`: there, with `success=false`, `code` and `message`."),
        (status = 400, description = "The link has no ticket.", content_type = "text/html", body = String),
        (status = 404, description = "Unknown ticket.", content_type = "text/html", body = String),
        (status = 410, description = "Used or expired ticket.", content_type = "text/html", body = String),
    ),
)]
pub async fn verify_email(
    State(s): State<AppState>,
    q: Result<QueryMap, crate::error::ApiError>,
) -> Response {
    let Some(token) = link_ticket(&q) else {
        return incomplete_link();
    };
    match verification::peek(&s, token).await {
        Ok(Peek::Usable(ticket)) => confirm_page(token, &ticket),
        Ok(Peek::Settled(outcome)) => answer(outcome),
        Err(e) => storage_error(&e),
    }
}

/// `POST /lo/verify_email`: the confirmation.
#[utoipa::path(
    post,
    path = "/lo/verify_email",
    operation_id = "verify_email",
    tag = "hosted pages",
    summary = "Verify an email address with a ticket",
    request_body(content = crate::openapi::TicketForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Verified.", content_type = "text/html", body = String),
        (status = 302, description = "To the ticket's `result_url`, with `success`, `code`, `message` (and `email` when the ticket asked for it)."),
        (status = 400, description = "Not the confirmation form (an urlencoded body of at most 4 KB), or it carries no ticket.", content_type = "text/html", body = String),
        (status = 404, description = "Unknown ticket.", content_type = "text/html", body = String),
        (status = 410, description = "Used or expired ticket, or the user changed (gone, blocked, another address).", content_type = "text/html", body = String),
    ),
)]
pub async fn confirm(State(s): State<AppState>, req: Request) -> Response {
    let token = match posted_ticket(req).await {
        Ok(token) => token,
        Err(page) => return page,
    };
    match verification::redeem(&s, &token).await {
        Ok(outcome) => answer(outcome),
        Err(e) => storage_error(&e),
    }
}

fn storage_error(e: &tern_core::CoreError) -> Response {
    tracing::error!(error = %e, "verify email page: storage error");
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The email address could not be verified right now. Try again later.",
    )
}

/// The page a usable link opens: the address, and the button that posts
/// the ticket. The form may lead to the ticket's `result_url` (the answer
/// redirects there), so the page's CSP allows that origin.
fn confirm_page(token: &str, ticket: &VerificationTicket) -> Response {
    let prompt = format!(
        "Confirm that <strong>{}</strong> is your email address.",
        escape(&ticket.email)
    );
    let content = confirm_form(VERIFY_PATH, token, &prompt, "Verify my email");
    let target = result_origin(ticket);
    page(
        StatusCode::OK,
        "Verify your email",
        &content,
        target.as_deref(),
    )
}

/// The origin of the ticket's `result_url`, for the CSP's `form-action`.
fn result_origin(ticket: &VerificationTicket) -> Option<String> {
    let u = url::Url::parse(ticket.options.result_url.as_deref()?).ok()?;
    Some(u.origin().ascii_serialization()).filter(|o| o != "null")
}

/// What the link came to: the ticket's `result_url` with Auth0's query,
/// or a page.
fn answer(outcome: Outcome) -> Response {
    let (ticket, success, code, message, status) = match outcome {
        Outcome::Unknown => {
            return message_page(
                StatusCode::NOT_FOUND,
                "Invalid link",
                "This verification link is not valid.",
            );
        }
        Outcome::Verified(t) => (t, true, "success", VERIFIED, StatusCode::OK),
        Outcome::Unusable(t, TicketState::Used) => {
            (t, false, "already-used", USED, StatusCode::GONE)
        }
        Outcome::Unusable(t, _) => (t, false, "access-expired", EXPIRED, StatusCode::GONE),
        Outcome::Failed(t) => (t, false, "failed", FAILED, StatusCode::GONE),
    };
    let response = match verification::result_redirect(&ticket, success, code, message) {
        Some(to) => match HeaderValue::from_str(&to) {
            Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
            Err(_) => message_page(status, title(success), message),
        },
        None => message_page(status, title(success), message),
    };
    no_referrer(response)
}

/// The ticket is in the page's address: not cached, not sent on.
fn no_referrer(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn title(success: bool) -> &'static str {
    if success {
        "Email verified"
    } else {
        "Invalid link"
    }
}
