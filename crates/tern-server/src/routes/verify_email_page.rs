//! `GET /lo/verify_email?ticket=…`: the link of an email-verification
//! ticket. Following it verifies the user's address once
//! (`verification::redeem`); then the user is sent to the ticket's
//! `result_url` with Auth0's `success`/`code`/`message` query, or shown a
//! page. The ticket is the secret: no referrer, nothing cached.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::reset_page::{incomplete_link, link_ticket, message_page};
use crate::body::QueryMap;
use crate::state::AppState;
use crate::verification::{self, Outcome};
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
    summary = "Verify the user's email by the link of an email-verification ticket",
    params(crate::openapi::TicketParam),
    responses(
        (status = 200, description = "Verified.", content_type = "text/html", body = String),
        (status = 302, description = "To the ticket's `result_url`, with `success`, `code`, `message` (and `email` when the ticket asked for it)."),
        (status = 400, description = "The link has no ticket.", content_type = "text/html", body = String),
        (status = 404, description = "Unknown ticket.", content_type = "text/html", body = String),
        (status = 410, description = "Used or expired ticket, or the user changed (gone, blocked, another address).", content_type = "text/html", body = String),
    ),
)]
pub async fn verify_email(
    State(s): State<AppState>,
    q: Result<QueryMap, crate::error::ApiError>,
) -> Response {
    let Some(token) = link_ticket(&q) else {
        return incomplete_link();
    };
    let (ticket, success, code, message, status) = match verification::redeem(&s, token).await {
        Ok(Outcome::Unknown) => {
            return message_page(
                StatusCode::NOT_FOUND,
                "Invalid link",
                "This verification link is not valid.",
            );
        }
        Ok(Outcome::Verified(t)) => (t, true, "success", VERIFIED, StatusCode::OK),
        Ok(Outcome::Unusable(t, TicketState::Used)) => {
            (t, false, "already-used", USED, StatusCode::GONE)
        }
        Ok(Outcome::Unusable(t, _)) => (t, false, "access-expired", EXPIRED, StatusCode::GONE),
        Ok(Outcome::Failed(t)) => (t, false, "failed", FAILED, StatusCode::GONE),
        Err(e) => {
            tracing::error!(error = %e, "verify email page: storage error");
            return message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The email address could not be verified right now. Try again later.",
            );
        }
    };
    let mut response = match verification::result_redirect(&ticket, success, code, message) {
        Some(to) => match HeaderValue::from_str(&to) {
            Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
            Err(_) => message_page(status, title(success), message),
        },
        None => message_page(status, title(success), message),
    };
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
