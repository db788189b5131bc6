//! `/u/mfa-otp-challenge` and `/u/mfa-otp-enrollment-qr` (Auth0's route
//! names): after the password on `/u/login`, a user with a TOTP enrolment
//! enters the code of their authenticator app; a user without one, when
//! the tenant's Guardian policy requires a factor, enrols an app (QR code
//! and key, drawn on the server) and enters its first code. Either way the
//! transaction then goes on to `/authorize/resume` with `amr: ["mfa"]`.
//! Same transaction cookie check as every hosted page.
//!
//! Whether the user must enrol is decided again at every request: a
//! transaction that reached the enrolment step before the user enrolled
//! (in another browser, perhaps not theirs) is sent to the challenge. The
//! seed an enrolment page shows is the transaction's own (kept sealed in
//! its `MfaOtpEnrol` step), so no other transaction shows or confirms it.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use tern_core::login_transaction::{Proven, TransactionStep};
use tern_core::model::User;

use super::authorize::{PageQuery, see_other};
use super::universal_login::{Screen, posted_screen, screen};
use crate::client_ip::ClientIp;
use crate::mfa::{Attempt, OtpOutcome};
use crate::pages::catalogue::Msg;
use crate::pages::forms;
use crate::pages::render;
use crate::state::AppState;

/// Which factor step a page serves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// `/u/mfa-otp-challenge`: the code of an enrolled app.
    Challenge,
    /// `/u/mfa-otp-enrollment-qr`: enrol an app, then its first code.
    Enrol,
}

/// The user waiting at `want`, or where the browser should be instead.
/// A transaction at the enrolment step whose user has a factor by now is
/// moved to the challenge first, as if the password had found the factor.
async fn waiting_user(s: &AppState, sc: &mut Screen, want: Step) -> Result<User, Response> {
    let (user_id, auth_time, mut at) = match &sc.tx.step {
        TransactionStep::MfaOtp {
            user_id, auth_time, ..
        } => (user_id, *auth_time, Step::Challenge),
        TransactionStep::MfaOtpEnrol {
            user_id, auth_time, ..
        } => (user_id, *auth_time, Step::Enrol),
        other => {
            // Not at a factor step: the password first, or already done.
            let next = match other {
                TransactionStep::Login => "/u/login",
                _ => "/authorize/resume",
            };
            return Err(see_other(&format!("{next}?state={}", sc.tx.id), Vec::new()));
        }
    };
    // A user stored after the password was checked is a later user given
    // the same id (the one who logged in was deleted): this login was never
    // theirs, and the transaction ends so no later request resumes it.
    let user = match s.store.get_user(s.tid(), user_id).await {
        Ok(Some(u)) if !u.blocked && !tern_core::users::created_after(&u, auth_time) => u,
        _ => {
            let ended = s.store.delete_login_transaction(s.tid(), &sc.tx.id).await;
            if let Err(e) = ended {
                tracing::error!(error = %e, "hosted MFA: storage error");
            }
            return Err(page(sc, StatusCode::UNAUTHORIZED, Some(Msg::Blocked)));
        }
    };
    // The user's factors may have changed since the password was checked:
    // enrolled since (this transaction does not enrol another app, it asks
    // for the code of the one there is), or their factor deleted by an
    // administrator (there is no code to ask for: they enrol, as a new
    // login would have them do).
    let now_at = if crate::mfa::must_enrol(&user) {
        Step::Enrol
    } else {
        Step::Challenge
    };
    if now_at != at {
        if let Err(e) = move_to(s, sc, now_at).await {
            tracing::error!(error = %e, "hosted MFA: storage error");
            return Err(page(
                sc,
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(Msg::SomethingWrong),
            ));
        }
        at = now_at;
    }
    if at != want {
        let next = match at {
            Step::Challenge => "/u/mfa-otp-challenge",
            Step::Enrol => "/u/mfa-otp-enrollment-qr",
        };
        return Err(see_other(&format!("{next}?state={}", sc.tx.id), Vec::new()));
    }
    Ok(user)
}

/// Move a transaction between the factor steps: to the challenge (an
/// enrolment's seed dropped) or to enrolment (a new seed when its page is
/// shown).
async fn move_to(s: &AppState, sc: &mut Screen, to: Step) -> tern_core::CoreResult<()> {
    let (TransactionStep::MfaOtp {
        user_id,
        connection_id,
        auth_time,
        record,
    }
    | TransactionStep::MfaOtpEnrol {
        user_id,
        connection_id,
        auth_time,
        record,
        ..
    }) = sc.tx.step.clone()
    else {
        return Ok(());
    };
    sc.tx.step = match to {
        Step::Challenge => TransactionStep::MfaOtp {
            user_id,
            connection_id,
            auth_time,
            record,
        },
        Step::Enrol => TransactionStep::MfaOtpEnrol {
            user_id,
            connection_id,
            auth_time,
            seed: None,
            record,
        },
    };
    s.store.update_login_transaction(s.tid(), &sc.tx).await
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
    let mut sc = match screen(&s, &headers, q.get("state")).await {
        Ok(sc) => sc,
        Err(page) => return page,
    };
    match waiting_user(&s, &mut sc, Step::Challenge).await {
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
    ClientIp(peer): ClientIp,
    q: PageQuery,
    req: Request,
) -> Response {
    let ip = peer.to_string();
    let mut p = match posted_code(&s, &q, req, Step::Challenge).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let outcome = crate::mfa::verify(&s, &p.attempt(&ip), &p.code, None).await;
    match finish(&s, &mut p.sc, outcome).await {
        Ok(next) => next,
        Err((status, msg)) => page(&p.sc, status, Some(msg)),
    }
}

/// A code posted at `step`: the screen, the user waiting there, the code.
struct PostedCode {
    sc: Screen,
    user: User,
    code: String,
}

impl PostedCode {
    fn attempt<'a>(&'a self, ip: &'a str) -> Attempt<'a> {
        Attempt {
            client: &self.sc.client,
            user: &self.user,
            ip,
        }
    }
}

/// Read a posted code form: its transaction (as every hosted POST) and the
/// user waiting at `step`, or where the browser should be instead.
async fn posted_code(
    s: &AppState,
    q: &PageQuery,
    req: Request,
    step: Step,
) -> Result<PostedCode, Response> {
    let (mut sc, form) = posted_screen(s, q, req).await?;
    let user = waiting_user(s, &mut sc, step).await?;
    let code = form.get("code").unwrap_or_default().to_string();
    Ok(PostedCode { sc, user, code })
}

/// After a code: the factor passed (on to `/authorize/resume` with
/// `amr: ["mfa"]`), or the status and reason to show the form again with.
async fn finish(
    s: &AppState,
    sc: &mut Screen,
    outcome: tern_core::CoreResult<OtpOutcome>,
) -> Result<Response, (StatusCode, Msg)> {
    match outcome {
        Ok(OtpOutcome::Accepted) => {
            let (TransactionStep::MfaOtp {
                user_id,
                connection_id,
                auth_time,
                record,
            }
            | TransactionStep::MfaOtpEnrol {
                user_id,
                connection_id,
                auth_time,
                record,
                ..
            }) = sc.tx.step.clone()
            else {
                return Err((StatusCode::INTERNAL_SERVER_ERROR, Msg::SomethingWrong));
            };
            sc.tx.step = TransactionStep::Authenticated(Proven {
                user_id,
                connection_id,
                auth_time,
                amr: vec!["mfa".into()],
                record,
            });
            if let Err(e) = s.store.update_login_transaction(s.tid(), &sc.tx).await {
                tracing::error!(error = %e, "hosted MFA: storage error");
                return Err((StatusCode::INTERNAL_SERVER_ERROR, Msg::SomethingWrong));
            }
            Ok(see_other(
                &format!("/authorize/resume?state={}", sc.tx.id),
                Vec::new(),
            ))
        }
        Ok(OtpOutcome::Wrong) => Err((StatusCode::BAD_REQUEST, Msg::WrongCode)),
        Ok(OtpOutcome::TooManyAttempts) => Err((StatusCode::TOO_MANY_REQUESTS, Msg::TooManyCodes)),
        Err(e) => {
            tracing::error!(error = %e, "hosted MFA: storage error");
            Err((StatusCode::INTERNAL_SERVER_ERROR, Msg::SomethingWrong))
        }
    }
}

/// The seed this transaction shows (opened, Base32): the one it holds, or
/// a new one, stored sealed in the transaction first.
async fn transaction_seed(s: &AppState, sc: &mut Screen, user: &User) -> Option<String> {
    let TransactionStep::MfaOtpEnrol { seed, .. } = &mut sc.tx.step else {
        return None;
    };
    if let Some(clear) = seed
        .as_deref()
        .and_then(|sealed| crate::mfa::open_seed(&s.secrets, s.tid(), user, sealed))
    {
        return Some(clear);
    }
    let sealed = crate::mfa::new_sealed_seed(&s.secrets, s.tid(), user).ok()?;
    let clear = crate::mfa::open_seed(&s.secrets, s.tid(), user, &sealed)?;
    *seed = Some(sealed);
    if let Err(e) = s.store.update_login_transaction(s.tid(), &sc.tx).await {
        tracing::error!(error = %e, "hosted MFA: storage error");
        return None;
    }
    Some(clear)
}

/// The enrolment page for `user`: the transaction's seed (started now when
/// it has none), as text and QR code.
async fn enrolment_page(
    s: &AppState,
    sc: &mut Screen,
    user: &User,
    status: StatusCode,
    error: Option<Msg>,
) -> Response {
    let Some(seed) = transaction_seed(s, sc, user).await else {
        return page(
            sc,
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(Msg::SomethingWrong),
        );
    };
    let account = user
        .email
        .as_deref()
        .or(user.username.as_deref())
        .unwrap_or(&user.user_id);
    let uri = crate::mfa::otpauth_uri(&seed, account);
    let qr = crate::pages::qr::svg(&uri).unwrap_or_default();
    let grouped = seed
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let message = error.map(|m| sc.say(m));
    render(
        &sc.look,
        forms::mfa_otp_enrolment(
            &sc.context(message.as_deref()),
            status,
            &forms::Enrolment {
                secret: &grouped,
                uri: &uri,
                qr_svg: &qr,
            },
        ),
    )
}

/// `GET /u/mfa-otp-enrollment-qr?state=…`.
#[utoipa::path(
    get,
    path = "/u/mfa-otp-enrollment-qr",
    operation_id = "mfa_otp_enrollment_page",
    tag = "hosted pages",
    summary = "The hosted page enrolling an authenticator app (QR code and key)",
    params(crate::openapi::StateParam),
    responses(
        (status = 200, description = "The QR code, the key as text and the form for the first code.", content_type = "text/html", body = String),
        (status = 302, description = "No transaction: to the tenant's `default_redirection_uri`, when set.", headers(("Location" = String, description = "Where to go."))),
        (status = 303, description = "The transaction is not at this step: to `/u/login`, `/u/mfa-otp-challenge` or `/authorize/resume`; or the user has an authenticator by now (enrolled elsewhere): the transaction moves to the challenge, to `/u/mfa-otp-challenge`.", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "No such transaction, or it expired.", content_type = "text/html", body = String),
        (status = 403, description = "The browser does not hold the transaction's cookie.", content_type = "text/html", body = String),
    ),
)]
pub async fn enrolment_form(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    q: PageQuery,
) -> Response {
    let mut sc = match screen(&s, &headers, q.get("state")).await {
        Ok(sc) => sc,
        Err(page) => return page,
    };
    match waiting_user(&s, &mut sc, Step::Enrol).await {
        Ok(user) => enrolment_page(&s, &mut sc, &user, StatusCode::OK, None).await,
        Err(r) => r,
    }
}

/// `POST /u/mfa-otp-enrollment-qr?state=…`: the first code of the new
/// app; when right the enrolment is stored (sealed) and the login goes on.
#[utoipa::path(
    post,
    path = "/u/mfa-otp-enrollment-qr",
    operation_id = "mfa_otp_enrollment",
    tag = "hosted pages",
    summary = "Confirm the enrolment of an authenticator app with its first code",
    params(crate::openapi::StateParam),
    request_body(content = crate::openapi::MfaOtpForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 302, description = "No transaction: to the tenant's `default_redirection_uri`, when set.", headers(("Location" = String, description = "Where to go."))),
        (status = 303, description = "Enrolled: on to `/authorize/resume?state=…`. Or the user has an authenticator by now (enrolled elsewhere): nothing is enrolled, on to `/u/mfa-otp-challenge?state=…`.", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "A wrong code: the page again, same key; or no such transaction.", content_type = "text/html", body = String),
        (status = 403, description = "The browser does not hold the transaction's cookie.", content_type = "text/html", body = String),
        (status = 429, description = "Too many wrong codes lately: the page with the reason.", content_type = "text/html", body = String),
    ),
)]
pub async fn enrol(
    State(s): State<AppState>,
    ClientIp(peer): ClientIp,
    q: PageQuery,
    req: Request,
) -> Response {
    let ip = peer.to_string();
    let mut p = match posted_code(&s, &q, req, Step::Enrol).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    // Only the seed this transaction showed can be confirmed here.
    let outcome = match &p.sc.tx.step {
        TransactionStep::MfaOtpEnrol {
            seed: Some(sealed), ..
        } => crate::mfa::confirm_sealed_enrolment(&s, &p.attempt(&ip), sealed, &p.code).await,
        _ => Ok(OtpOutcome::Wrong),
    };
    match finish(&s, &mut p.sc, outcome).await {
        Ok(next) => next,
        // The page again, with the same key (still this transaction's).
        Err((status, msg)) => enrolment_page(&s, &mut p.sc, &p.user, status, Some(msg)).await,
    }
}
