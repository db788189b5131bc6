//! The hosted signup and password-reset pages of Universal Login:
//! `/u/signup`, `/u/reset-password/request` and `/u/reset-password`.
//!
//! Signup and the reset request work inside an `/authorize` transaction
//! (`?state=`, its cookie checked as on `/u/login`, so a form posted from
//! another site is refused) and call the same services as
//! `/dbconnections/signup` and `/dbconnections/change_password`
//! (`crate::signup`, `crate::reset`), legacy `get_user` included. The reset
//! page itself is the ticket page of `/lo/reset` under Auth0's route: the
//! ticket in the mailed link is its secret.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use tern_core::user_profile::{ProfileFields, ProfileRequest, is_valid_email, normalize_email};

use super::authorize::{PageQuery, error_page, see_other};
use super::universal_login::{Screen, posted_screen, screen};
use crate::authorize;
use crate::body::QueryMap;
use crate::client_ip::ClientIp;
use crate::pages::catalogue::Msg;
use crate::pages::{forms, render};
use crate::passwords;
use crate::signup::{self, SignupFailure};
use crate::state::AppState;

/// The connection's password requirements, for the signup form's hint.
fn hint(sc: &Screen) -> Option<String> {
    let rules = tern_core::password_policy::PasswordRules::of(&sc.connection.options);
    crate::pages::catalogue::password_hint(sc.lang, &rules.requirements(false))
}

/// `GET /u/signup?state=…`.
#[utoipa::path(
    get,
    path = "/u/signup",
    operation_id = "signup_page",
    tag = "hosted pages",
    summary = "The hosted signup page",
    params(crate::openapi::StateParam),
    responses(
        (status = 200, description = "The signup form.", content_type = "text/html", body = String),
        (status = 302, description = "No transaction: to the tenant's `default_redirection_uri`, when set.", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "No such transaction, or it expired.", content_type = "text/html", body = String),
        (status = 403, description = "Sign-ups are disabled for the connection, or the browser does not hold the transaction's cookie.", content_type = "text/html", body = String),
    ),
)]
pub async fn signup_page(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    q: PageQuery,
) -> Response {
    let sc = match screen(&s, &headers, q.get("state")).await {
        Ok(sc) => sc,
        Err(page) => return page,
    };
    if !signup::allowed(&sc.connection) {
        return disabled(&sc);
    }
    let email = sc.tx.request.login_hint.clone().unwrap_or_default();
    render(
        &sc.look,
        forms::signup(&sc.context(None), StatusCode::OK, &email, "", hint(&sc)),
    )
}

fn disabled(sc: &Screen) -> Response {
    error_page(
        &sc.look,
        sc.lang,
        StatusCode::FORBIDDEN,
        &sc.say(Msg::SignupDisabled),
    )
}

/// `POST /u/signup?state=…`: create the account (through the signup
/// service), then sign the user in: on to `/authorize/resume`.
#[utoipa::path(
    post,
    path = "/u/signup",
    operation_id = "signup",
    tag = "hosted pages",
    summary = "Sign up on the hosted signup page",
    params(crate::openapi::StateParam),
    request_body(content = crate::openapi::SignupForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed up and in: on to `/authorize/resume?state=…`.", headers(("Location" = String, description = "The resume URL."))),
        (status = 302, description = "No transaction: to the tenant's `default_redirection_uri`, when set (as the form's GET does).", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "A malformed form, an invalid email, a password the connection's policy refuses, or a user who exists (here or in the legacy store): the form again, with the reason; or no such transaction.", content_type = "text/html", body = String),
        (status = 403, description = "Sign-ups are disabled, or the browser does not hold the transaction's cookie (a forged or replayed form).", content_type = "text/html", body = String),
        (status = 429, description = "Suspicious-IP throttling: too many signups from this address; the form again, with the reason.", content_type = "text/html", body = String),
        (status = 503, description = "The legacy user store could not be asked: the form again.", content_type = "text/html", body = String),
    ),
)]
pub async fn signup(
    State(s): State<AppState>,
    crate::client_ip::ClientIp(peer): crate::client_ip::ClientIp,
    q: PageQuery,
    req: Request,
) -> Response {
    let (mut sc, form) = match posted_screen(&s, &q, req).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    if !signup::allowed(&sc.connection) {
        return disabled(&sc);
    }
    let email = normalize_email(form.get("email").unwrap_or_default().trim());
    let username = form.get("username").unwrap_or_default().trim().to_string();
    let password = form.get("password").unwrap_or_default();
    let again = |sc: &Screen, status: StatusCode, msg: Msg| {
        let message = sc.say(msg);
        render(
            &sc.look,
            forms::signup(
                &sc.context(Some(&message)),
                status,
                &email,
                &username,
                hint(sc),
            ),
        )
    };
    if email.is_empty() {
        return again(&sc, StatusCode::BAD_REQUEST, Msg::EnterEmail);
    }
    if !is_valid_email(&email) {
        return again(&sc, StatusCode::BAD_REQUEST, Msg::InvalidEmail);
    }
    if password.is_empty() {
        return again(&sc, StatusCode::BAD_REQUEST, Msg::EnterPassword);
    }
    let mut profile = json!({
        "email": email,
        "password": password,
        "connection": sc.connection.name,
    });
    if !username.is_empty() {
        profile["username"] = json!(username);
    }
    let Ok(fields) = ProfileFields::from_json(&profile, ProfileRequest::Create) else {
        return again(&sc, StatusCode::BAD_REQUEST, Msg::InvalidEmail);
    };
    let user = match signup::sign_up(&s, &sc.client, &sc.connection, fields, &peer.to_string())
        .await
    {
        Ok(user) => user,
        Err(SignupFailure::Disabled) => return disabled(&sc),
        Err(SignupFailure::MissingEmail) => {
            return again(&sc, StatusCode::BAD_REQUEST, Msg::EnterEmail);
        }
        Err(SignupFailure::MissingPassword) => {
            return again(&sc, StatusCode::BAD_REQUEST, Msg::EnterPassword);
        }
        Err(SignupFailure::WeakPassword(r)) => {
            return again(&sc, StatusCode::BAD_REQUEST, passwords::page_message(&r));
        }
        Err(SignupFailure::Exists) => return again(&sc, StatusCode::BAD_REQUEST, Msg::UserExists),
        Err(SignupFailure::BadUsername(_)) if username.is_empty() => {
            return again(&sc, StatusCode::BAD_REQUEST, Msg::EnterUsername);
        }
        Err(SignupFailure::BadUsername(_)) => {
            return again(&sc, StatusCode::BAD_REQUEST, Msg::InvalidUsername);
        }
        Err(SignupFailure::Throttled(_)) => {
            return again(&sc, StatusCode::TOO_MANY_REQUESTS, Msg::TooManySignups);
        }
        Err(SignupFailure::LegacyUnavailable | SignupFailure::Legacy(_) | SignupFailure::Busy) => {
            return again(&sc, StatusCode::SERVICE_UNAVAILABLE, Msg::TryLater);
        }
        Err(SignupFailure::Store(e)) => {
            tracing::error!(error = %e, "u/signup: storage error");
            return again(&sc, StatusCode::INTERNAL_SERVER_ERROR, Msg::SomethingWrong);
        }
    };
    match authorize::password_passed(&s, &mut sc.tx, &user, None).await {
        Ok(next) => see_other(&next, Vec::new()),
        Err(e) => {
            tracing::error!(error = %e, "u/signup: storage error");
            again(&sc, StatusCode::INTERNAL_SERVER_ERROR, Msg::SomethingWrong)
        }
    }
}

/// `GET /u/reset-password/request?state=…`.
#[utoipa::path(
    get,
    path = "/u/reset-password/request",
    operation_id = "reset_request_page",
    tag = "hosted pages",
    summary = "The hosted 'forgot your password' page",
    params(crate::openapi::StateParam),
    responses(
        (status = 200, description = "The form asking for the email address.", content_type = "text/html", body = String),
        (status = 302, description = "No transaction: to the tenant's `default_redirection_uri`, when set.", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "No such transaction, or it expired.", content_type = "text/html", body = String),
        (status = 403, description = "The browser does not hold the transaction's cookie.", content_type = "text/html", body = String),
    ),
)]
pub async fn reset_request_page(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    q: PageQuery,
) -> Response {
    match screen(&s, &headers, q.get("state")).await {
        Ok(sc) => {
            let email = sc.tx.request.login_hint.clone().unwrap_or_default();
            render(
                &sc.look,
                forms::reset_request(&sc.context(None), StatusCode::OK, &email, false),
            )
        }
        Err(page) => page,
    }
}

/// `POST /u/reset-password/request?state=…`: mail a link to
/// `/u/reset-password` (the change-password service, legacy `get_user`
/// and the per-user mail throttle included). The page says the same
/// whether or not the user exists, and does not wait for the lookup.
#[utoipa::path(
    post,
    path = "/u/reset-password/request",
    operation_id = "reset_request",
    tag = "hosted pages",
    summary = "Ask for a password reset link on the hosted page",
    params(crate::openapi::StateParam),
    request_body(content = crate::openapi::ResetRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Accepted: a link is mailed if the user exists (the same page either way).", content_type = "text/html", body = String),
        (status = 302, description = "No transaction: to the tenant's `default_redirection_uri`, when set.", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "A malformed form or an invalid email: the form again, with the reason; or no such transaction.", content_type = "text/html", body = String),
        (status = 403, description = "The browser does not hold the transaction's cookie (a forged form): nothing is mailed.", content_type = "text/html", body = String),
    ),
)]
pub async fn reset_request(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    q: PageQuery,
    req: Request,
) -> Response {
    let (sc, form) = match posted_screen(&s, &q, req).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let email = normalize_email(form.get("email").unwrap_or_default().trim());
    if !is_valid_email(&email) {
        let message = sc.say(if email.is_empty() {
            Msg::EnterEmail
        } else {
            Msg::InvalidEmail
        });
        return render(
            &sc.look,
            forms::reset_request(
                &sc.context(Some(&message)),
                StatusCode::BAD_REQUEST,
                &email,
                false,
            ),
        );
    }
    crate::reset::dispatch_reset_request(
        &s,
        sc.connection.clone(),
        sc.client.clone(),
        email.clone(),
        ip.to_string(),
        // The link opens the reset page in the language this page spoke.
        format!(
            "{}?ui_locales={}",
            crate::reset::HOSTED_RESET_PATH,
            sc.lang.tag()
        ),
    )
    .await;
    render(
        &sc.look,
        forms::reset_request(&sc.context(None), StatusCode::OK, &email, true),
    )
}

/// `GET /u/reset-password?ticket=…`: the page a mailed link opens (the
/// ticket page of `/lo/reset`).
#[utoipa::path(
    get,
    path = "/u/reset-password",
    operation_id = "hosted_reset_password_page",
    tag = "hosted pages",
    summary = "The hosted page a reset link opens",
    description = "Branded through `/api/v2/branding`; its sentences in the first translated language of `ui_locales`, else of `Accept-Language`, else English.",
    params(
        crate::openapi::TicketParam,
        ("ui_locales" = Option<String>, Query, description = "Space-separated BCP 47 tags, e.g. `fr-CA en`."),
    ),
    responses(
        (status = 200, description = "The form to choose a new password (twice).", content_type = "text/html", body = String),
        (status = 302, description = "Never sent by this page; declared as for every `/u/` route.", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "The link has no ticket.", content_type = "text/html", body = String),
        (status = 404, description = "Unknown ticket.", content_type = "text/html", body = String),
        (status = 410, description = "The ticket expired or was used, or its user no longer exists.", content_type = "text/html", body = String),
    ),
)]
pub async fn reset_page(
    state: State<AppState>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    q: Result<QueryMap, crate::error::ApiError>,
) -> Response {
    super::reset_page::show(state, uri, headers, q).await
}

/// `POST /u/reset-password`: set the new password with the ticket.
#[utoipa::path(
    post,
    path = "/u/reset-password",
    operation_id = "hosted_reset_password",
    tag = "hosted pages",
    summary = "Set a new password on the hosted reset page",
    request_body(content = crate::openapi::ResetPasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The password is set.", content_type = "text/html", body = String),
        (status = 302, description = "Never sent by this page; declared as for every `/u/` route.", headers(("Location" = String, description = "Where to go."))),
        (status = 303, description = "The password is set; on to the ticket's `result_url`.", headers(("Location" = String, description = "The `result_url` with the outcome."))),
        (status = 400, description = "A malformed form, passwords that differ, or one the connection's policy refuses: the form again, with the reason.", content_type = "text/html", body = String),
        (status = 404, description = "Unknown ticket.", content_type = "text/html", body = String),
        (status = 410, description = "The ticket expired or was used, or its user no longer exists.", content_type = "text/html", body = String),
        (status = 413, description = "The form is larger than 16 KB.", content_type = "text/html", body = String),
    ),
)]
pub async fn reset(state: State<AppState>, req: Request) -> Response {
    super::reset_page::submit(state, req).await
}
