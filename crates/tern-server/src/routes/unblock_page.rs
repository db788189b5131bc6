//! `/lo/unblock`: the link brute-force protection mails to a blocked user.
//!
//! Opening the link (`GET`) changes nothing: a page asks the user to
//! confirm with a button, which posts the ticket back (`POST`) and lifts
//! that block. Mail scanners and link previews open links before their
//! recipient does; a link that acted on opening would be spent by them
//! (Auth0's acts on opening). The ticket is the secret (only its SHA-256 is
//! stored) and works once; every page is `no-store`, `no-referrer`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::reset_page::{
    confirm_form, incomplete_link, link_ticket, message_page, page, posted_ticket,
};
use crate::body::QueryMap;
use crate::brute_force::{self, UNBLOCK_PATH};
use crate::state::AppState;

/// `GET /lo/unblock?ticket=…`.
#[utoipa::path(
    get,
    path = "/lo/unblock",
    operation_id = "unblock_account_page",
    tag = "hosted pages",
    summary = "The page a brute-force unblock link opens",
    params(crate::openapi::TicketParam),
    responses(
        (status = 200, description = "A usable link: a button that lifts the block (the link lifts nothing until then).", content_type = "text/html", body = String),
        (status = 400, description = "The link has no ticket.", content_type = "text/html", body = String),
        (status = 404, description = "Unknown, used or lapsed ticket.", content_type = "text/html", body = String),
    ),
)]
pub async fn unblock_page(
    State(s): State<AppState>,
    q: Result<QueryMap, crate::error::ApiError>,
) -> Response {
    let Some(token) = link_ticket(&q) else {
        return incomplete_link();
    };
    match brute_force::peek_unblock_link(&s, token).await {
        Ok(Some(_)) => page(
            StatusCode::OK,
            "Unblock your account",
            &confirm_form(
                UNBLOCK_PATH,
                token,
                "Your account was blocked after repeated failed logins from one address. \
                 Unblock it to log in from there again.",
                "Unblock my account",
            ),
            None,
        ),
        Ok(None) => invalid_link(),
        Err(e) => storage_error(&e),
    }
}

/// `POST /lo/unblock`: the confirmation.
#[utoipa::path(
    post,
    path = "/lo/unblock",
    operation_id = "unblock_account",
    tag = "hosted pages",
    summary = "Lift a brute-force block with the ticket of the mailed link",
    request_body(content = crate::openapi::TicketForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Unblocked.", content_type = "text/html", body = String),
        (status = 400, description = "Not the confirmation form (an urlencoded body of at most 4 KB), or it carries no ticket.", content_type = "text/html", body = String),
        (status = 404, description = "Unknown, used or lapsed ticket.", content_type = "text/html", body = String),
    ),
)]
pub async fn unblock(State(s): State<AppState>, req: Request) -> Response {
    let token = match posted_ticket(req).await {
        Ok(token) => token,
        Err(page) => return page,
    };
    match brute_force::unblock_by_link(&s, &token).await {
        Ok(Some(_)) => message_page(
            StatusCode::OK,
            "Account unblocked",
            "Your account is unblocked: you can log in again.",
        ),
        Ok(None) => invalid_link(),
        Err(e) => storage_error(&e),
    }
}

fn invalid_link() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "Invalid link",
        "This unblock link is not valid any more: it was used, or the block it was sent for has ended.",
    )
}

fn storage_error(e: &tern_core::CoreError) -> Response {
    tracing::error!(error = %e, "unblock page: storage error");
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The account could not be unblocked right now. Try again later.",
    )
}
