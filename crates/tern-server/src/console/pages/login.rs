//! Signing in and out of the console. The form runs the same password
//! login as every other front end (`login::password_login`): the operators'
//! connection's brute-force protection and the tenant log apply.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use maud::html;
use tern_core::model::{Client, LogEvent};

use crate::client_ip::ClientIp;
use crate::console::csrf;
use crate::console::layout::{problem, public_page};
use crate::console::session::{self, OperatorForm};
use crate::console::{audit, operators_connection, see_other};
use crate::cookies;
use crate::login::{self, LoginFailure, PasswordLogin};
use crate::routes::universal_login::read_form;
use crate::state::AppState;

/// The console as the "application" of its logins (in the tenant log and
/// brute-force mail). It is not stored: no token is ever issued to it, and
/// no stored application has the operators' connection enabled.
fn console_client() -> Client {
    Client {
        client_id: session::CLIENT_ID.into(),
        name: "Tern Console".into(),
        description: None,
        app_type: Some("regular_web".into()),
        is_first_party: true,
        callbacks: Vec::new(),
        allowed_origins: Vec::new(),
        web_origins: Vec::new(),
        allowed_logout_urls: Vec::new(),
        grant_types: Vec::new(),
        token_endpoint_auth_method: "none".into(),
        client_metadata: Default::default(),
        global: false,
        refresh_token: None,
        initiate_login_uri: None,
        secret_hash: String::new(),
    }
}

/// The sign-in form with a fresh pre-session cookie and its token.
fn form(s: &AppState, status: StatusCode, email: &str, error: Option<&str>) -> Response {
    let value = tern_core::ids::ticket_token();
    let token = csrf::login_token(&value);
    let mut resp = public_page(
        status,
        "Sign in",
        html! {
            h1 { "Sign in to the console" }
            @if let Some(e) = error { p.alert role="alert" { (e) } }
            form method="post" action="/console/login" {
                input type="hidden" name=(csrf::FIELD) value=(token);
                label for="email" { "Email" }
                input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
        },
    );
    let cookie = cookies::set_strict(
        &s.public_url,
        csrf::LOGIN_COOKIE,
        &value,
        "/console/login",
        LOGIN_FORM_SECS,
    );
    resp.headers_mut().append(header::SET_COOKIE, cookie);
    resp
}

/// How long a sign-in form stays usable.
const LOGIN_FORM_SECS: i64 = 3600;

/// `GET /console/login` (a signed-in operator goes to the overview).
pub async fn show(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match session::current(&s, &headers).await {
        Ok(Some(_)) => see_other("/console", Vec::new()),
        _ => form(&s, StatusCode::OK, "", None),
    }
}

/// `POST /console/login`.
pub async fn submit(State(s): State<AppState>, ClientIp(ip): ClientIp, req: Request) -> Response {
    let (headers, f) = match read_form(req).await {
        Ok(x) => x,
        Err(m) => return problem(StatusCode::BAD_REQUEST, "Bad request", m),
    };
    let email = f.get("email").unwrap_or_default().trim().to_string();
    // Login CSRF: only the browser holding the form's cookie can post it.
    let expected = cookies::get(&headers, csrf::LOGIN_COOKIE).map(csrf::login_token);
    if !expected.is_some_and(|t| csrf::matches(&t, f.get(csrf::FIELD))) {
        return form(
            &s,
            StatusCode::FORBIDDEN,
            &email,
            Some("This sign-in form expired or came from another site. Enter your password again."),
        );
    }
    let password = f.get("password").unwrap_or_default();
    let connection = match operators_connection(&s).await {
        Ok(Some(c)) => c,
        _ => {
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "Console unavailable",
                "The operators' connection is missing; restart Tern to recreate it.",
            );
        }
    };
    let client = console_client();
    let ip = ip.to_string();
    let outcome = login::password_login(
        &s,
        PasswordLogin {
            client: &client,
            connection: &connection,
            username: &email,
            password,
            ip: &ip,
        },
    )
    .await;
    let message = match outcome {
        Ok(user) => {
            return match session::start(&s, &user).await {
                Ok(cookie) => see_other("/console", vec![cookie]),
                Err(e) => {
                    tracing::error!(error = %e, "could not start a console session");
                    form(
                        &s,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &email,
                        Some("Could not sign you in; try again."),
                    )
                }
            };
        }
        Err(LoginFailure::WrongCredentials) => {
            (StatusCode::UNAUTHORIZED, "Wrong email or password.")
        }
        Err(LoginFailure::Blocked) => (StatusCode::UNAUTHORIZED, "This operator is blocked."),
        Err(LoginFailure::TooManyAttempts) => {
            (StatusCode::TOO_MANY_REQUESTS, login::TOO_MANY_ATTEMPTS)
        }
        Err(LoginFailure::TooManyRequests) => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts from this address; try again in a minute.",
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server could not check the password right now; try again.",
        ),
    };
    form(&s, message.0, &email, Some(message.1))
}

/// `POST /console/logout`.
pub async fn logout(State(s): State<AppState>, OperatorForm { op, .. }: OperatorForm) -> Response {
    let cookie = match session::end(&s, &op).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "could not end a console session");
            session::clear(&s)
        }
    };
    let mut ev = LogEvent::new("slo", "Console: operator signed out");
    ev.user_id = Some(op.user.user_id.clone());
    ev.user_name = op.user.email.clone();
    audit(&s, &op, ev).await;
    see_other("/console/login", vec![cookie])
}
