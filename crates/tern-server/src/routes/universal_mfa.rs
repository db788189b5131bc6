//! `/u/mfa-otp-challenge` (Auth0's route name): after the password on
//! `/u/login`, a user with a TOTP enrolment enters the code of their
//! authenticator app; the transaction then goes on to `/authorize/resume`
//! with `amr: ["mfa"]`. Same transaction cookie check as every hosted page.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use tern_core::login_transaction::TransactionStep;
use tern_core::model::User;

use super::authorize::{PageQuery, error_page, see_other};
use super::universal_login::{Screen, read_form, screen};
use crate::mfa::{Attempt, OtpOutcome};
use crate::pages::catalogue::{Lang, Msg};
use crate::pages::forms;
use crate::pages::{Look, render};
use crate::state::AppState;

/// The user waiting for their code, or where the browser should be instead.
async fn waiting_user(s: &AppState, sc: &Screen) -> Result<User, Response> {
    let TransactionStep::MfaOtp { user_id, .. } = &sc.tx.step else {
        // Not at this step: the password first, or already done.
        let next = match sc.tx.step {
            TransactionStep::Login => "/u/login",
            _ => "/authorize/resume",
        };
        return Err(see_other(&format!("{next}?state={}", sc.tx.id), Vec::new()));
    };
    match s.store.get_user(s.tid(), user_id).await {
        Ok(Some(u)) if !u.blocked => Ok(u),
        _ => Err(page(sc, StatusCode::UNAUTHORIZED, Some(Msg::Blocked))),
    }
}

fn page(sc: &Screen, status: StatusCode, error: Option<Msg>) -> Response {
    let message = error.map(|m| sc.say(m));
    render(
        &sc.look,
        forms::mfa_otp(&sc.context(message.as_deref()), status),
    )
}

/// `GET /u/mfa-otp-challenge?state=…`.
#[utoipa::path(
    get,
    path = "/u/mfa-otp-challenge",
    operation_id = "mfa_otp_challenge_page",
    tag = "hosted pages",
    summary = "The hosted page asking for the authenticator app's code",
    params(crate::openapi::StateParam),
    responses(
        (status = 200, description = "The code form.", content_type = "text/html", body = String),
        (status = 302, description = "No transaction: to the tenant's `default_redirection_uri`, when set.", headers(("Location" = String, description = "Where to go."))),
        (status = 303, description = "The transaction is not at this step: to `/u/login` or `/authorize/resume`.", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "No such transaction, or it expired.", content_type = "text/html", body = String),
        (status = 403, description = "The browser does not hold the transaction's cookie.", content_type = "text/html", body = String),
    ),
)]
pub async fn challenge_page(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    q: PageQuery,
) -> Response {
    let sc = match screen(&s, &headers, q.get("state")).await {
        Ok(sc) => sc,
        Err(page) => return page,
    };
    match waiting_user(&s, &sc).await {
        Ok(_) => page(&sc, StatusCode::OK, None),
        Err(r) => r,
    }
}

/// `POST /u/mfa-otp-challenge?state=…`: check the code (once, counted
/// against brute force by `mfa`), then on to `/authorize/resume`.
#[utoipa::path(
    post,
    path = "/u/mfa-otp-challenge",
    operation_id = "mfa_otp_challenge",
    tag = "hosted pages",
    summary = "Enter the authenticator app's code on the hosted page",
    params(crate::openapi::StateParam),
    request_body(content = crate::openapi::MfaOtpForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 302, description = "No transaction: to the tenant's `default_redirection_uri`, when set.", headers(("Location" = String, description = "Where to go."))),
        (status = 303, description = "Code accepted: on to `/authorize/resume?state=…`.", headers(("Location" = String, description = "The resume URL."))),
        (status = 400, description = "A wrong or used code: the form again; or no such transaction.", content_type = "text/html", body = String),
        (status = 403, description = "The browser does not hold the transaction's cookie.", content_type = "text/html", body = String),
        (status = 429, description = "Too many wrong codes lately: the form with the reason.", content_type = "text/html", body = String),
    ),
)]
pub async fn challenge(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    q: PageQuery,
    req: Request,
) -> Response {
    let query_state = q.get("state").map(str::to_string);
    let (headers, form) = match read_form(req).await {
        Ok(v) => v,
        Err(msg) => {
            let look = Look::load(&s).await;
            return error_page(&look, Lang::En, StatusCode::BAD_REQUEST, msg);
        }
    };
    let state = form.get("state").map(str::to_string).or(query_state);
    let mut sc = match screen(&s, &headers, state.as_deref()).await {
        Ok(sc) => sc,
        Err(page) => return page,
    };
    let user = match waiting_user(&s, &sc).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let ip = peer.ip().to_string();
    let attempt = Attempt {
        client: &sc.client,
        user: &user,
        ip: &ip,
    };
    let code = form.get("code").unwrap_or_default();
    match crate::mfa::verify(&s, &attempt, code, None).await {
        Ok(OtpOutcome::Accepted) => {
            let TransactionStep::MfaOtp {
                user_id,
                connection_id,
                auth_time,
            } = sc.tx.step.clone()
            else {
                return page(
                    &sc,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Some(Msg::SomethingWrong),
                );
            };
            sc.tx.step = TransactionStep::Authenticated {
                user_id,
                connection_id,
                auth_time,
                amr: vec!["mfa".into()],
            };
            if let Err(e) = s.store.update_login_transaction(s.tid(), &sc.tx).await {
                tracing::error!(error = %e, "u/mfa-otp-challenge: storage error");
                return page(
                    &sc,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Some(Msg::SomethingWrong),
                );
            }
            see_other(&format!("/authorize/resume?state={}", sc.tx.id), Vec::new())
        }
        Ok(OtpOutcome::Wrong) => page(&sc, StatusCode::BAD_REQUEST, Some(Msg::WrongCode)),
        Ok(OtpOutcome::TooManyAttempts) => {
            page(&sc, StatusCode::TOO_MANY_REQUESTS, Some(Msg::TooManyCodes))
        }
        Err(e) => {
            tracing::error!(error = %e, "u/mfa-otp-challenge: storage error");
            page(
                &sc,
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(Msg::SomethingWrong),
            )
        }
    }
}
