//! `GET /lo/unblock?ticket=…`: the link brute-force protection mails to a
//! blocked user. Following it lifts that block; the ticket is the secret
//! (only its SHA-256 is stored) and works once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::reset_page::{incomplete_link, link_ticket, message_page};
use crate::body::QueryMap;
use crate::brute_force;
use crate::state::AppState;

/// `GET /lo/unblock?ticket=…`.
#[utoipa::path(
    get,
    path = "/lo/unblock",
    operation_id = "unblock_account_page",
    tag = "hosted pages",
    summary = "Lift a brute-force block by the link mailed to the user",
    params(crate::openapi::TicketParam),
    responses(
        (status = 200, description = "Unblocked.", content_type = "text/html", body = String),
        (status = 400, description = "The link has no ticket.", content_type = "text/html", body = String),
        (status = 404, description = "Unknown, used or lapsed ticket.", content_type = "text/html", body = String),
    ),
)]
pub async fn unblock(
    State(s): State<AppState>,
    q: Result<QueryMap, crate::error::ApiError>,
) -> Response {
    let Some(token) = link_ticket(&q) else {
        return incomplete_link();
    };
    match brute_force::unblock_by_link(&s, token).await {
        Ok(Some(_)) => message_page(
            StatusCode::OK,
            "Account unblocked",
            "Your account is unblocked: you can log in again.",
        ),
        Ok(None) => message_page(
            StatusCode::NOT_FOUND,
            "Invalid link",
            "This unblock link is not valid any more: it was used, or the block it was sent for has ended.",
        ),
        Err(e) => {
            tracing::error!(error = %e, "unblock page: storage error");
            message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The account could not be unblocked right now. Try again later.",
            )
        }
    }
}
