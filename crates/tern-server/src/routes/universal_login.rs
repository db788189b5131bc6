//! The hosted pages at Auth0's Universal Login routes: `/u/login` (and, in
//! `universal_signup`, the signup and password reset screens). Each works
//! on a login transaction (`?state=`) that this browser started; the
//! transaction cookie is checked on every request, so a form posted from
//! another site or another browser is refused (login CSRF).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use tern_core::login_transaction::LoginTransaction;
use tern_core::model::{Client, Connection};

use super::authorize::{PageQuery, error_page, see_other, transaction_problem};
use crate::authorize::{self, request::enabled_connection};
use crate::body::{parse_urlencoded, read_limited};
use crate::client_ip::ClientIp;
use crate::login::{self, LoginFailure};
use crate::pages::catalogue::{Lang, Msg, text};
use crate::pages::forms::{self, ScreenContext};
use crate::pages::{Look, render};
use crate::state::AppState;

/// A posted form's fields; the last value of a repeated field wins.
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// A field's value.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    /// Every value of a repeated field (checkboxes of one name), in order.
    pub fn all(&self, k: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Read an urlencoded form of at most 16 KB.
pub async fn read_form(req: Request) -> Result<(HeaderMap, FormFields), &'static str> {
    read_form_up_to(req, 16 * 1024).await
}

/// Read an urlencoded form of at most `limit` bytes.
pub async fn read_form_up_to(
    req: Request,
    limit: usize,
) -> Result<(HeaderMap, FormFields), &'static str> {
    let headers = req.headers().clone();
    if !crate::body::is_form(&headers) {
        return Err("Send the form of the page.");
    }
    let bytes = read_limited(req, limit)
        .await
        .map_err(|_| "The form is too large.")?;
    let fields = std::str::from_utf8(&bytes)
        .ok()
        .and_then(parse_urlencoded)
        .ok_or("The form is not valid URL-encoded text.")?;
    Ok((headers, FormFields(fields)))
}

/// What a hosted page needs about its transaction.
pub struct Screen {
    /// The transaction.
    pub tx: LoginTransaction,
    /// Its application.
    pub client: Client,
    /// The database connection the page works on.
    pub connection: Connection,
    /// Page language.
    pub lang: Lang,
    /// Branding.
    pub look: Look,
}

impl Screen {
    /// The context of the screen's forms.
    pub fn context<'a>(&'a self, error: Option<&'a str>) -> ScreenContext<'a> {
        ScreenContext {
            lang: self.lang,
            state: &self.tx.id,
            app: &self.client.name,
            error,
            signup_allowed: crate::signup::allowed(&self.connection),
            usernames: self
                .connection
                .options
                .get("requires_username")
                .and_then(serde_json::Value::as_bool)
                == Some(true),
            redirect_uri: &self.tx.request.redirect_uri,
        }
    }

    /// A catalogue message with the application's name.
    pub fn say(&self, msg: Msg) -> String {
        text(self.lang, msg).replace("{app}", &self.client.name)
    }
}

/// A hosted page's posted form and the transaction it belongs to (the
/// form's `state`, else the query's), or the page to answer instead: an
/// unreadable form, or no transaction this browser holds.
pub async fn posted_screen(
    s: &AppState,
    q: &PageQuery,
    req: Request,
) -> Result<(Screen, FormFields), Response> {
    let query_state = q.get("state").map(str::to_string);
    let (headers, form) = match read_form(req).await {
        Ok(v) => v,
        Err(msg) => {
            let look = Look::load(s).await;
            return Err(error_page(&look, Lang::En, StatusCode::BAD_REQUEST, msg));
        }
    };
    let state = form.get("state").map(str::to_string).or(query_state);
    let sc = screen(s, &headers, state.as_deref()).await?;
    Ok((sc, form))
}

/// The transaction `state` names with its client and connection, or the
/// page to answer instead.
pub async fn screen(
    s: &AppState,
    headers: &HeaderMap,
    state: Option<&str>,
) -> Result<Screen, Response> {
    let tx = match authorize::transaction(s, headers, state).await {
        Ok(tx) => tx,
        Err(p) => return Err(transaction_problem(s, headers, p).await),
    };
    let look = Look::load(s).await;
    let lang = Lang::choose(
        &tx.request.ui_locales,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let gone = |look: &Look| {
        error_page(
            look,
            lang,
            StatusCode::BAD_REQUEST,
            text(lang, Msg::NoTransaction),
        )
    };
    let client = match s.store.get_client(s.tid(), &tx.request.client_id).await {
        Ok(Some(c)) => c,
        _ => return Err(gone(&look)),
    };
    let connection = match enabled_connection(s, &client, tx.request.connection.as_deref()).await {
        Ok(Some(c)) => c,
        _ => return Err(gone(&look)),
    };
    Ok(Screen {
        tx,
        client,
        connection,
        lang,
        look,
    })
}

/// `GET /u/login?state=…`.
#[utoipa::path(
    get,
    path = "/u/login",
    operation_id = "login_page",
    tag = "hosted pages",
    summary = "The hosted login page",
    params(crate::openapi::StateParam),
    responses(
        (status = 200, description = "The login form.", content_type = "text/html", body = String),
        (status = 302, description = "No transaction: to the tenant's `default_redirection_uri`, when set.", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "No such transaction, or it expired.", content_type = "text/html", body = String),
        (status = 403, description = "The browser does not hold the transaction's cookie.", content_type = "text/html", body = String),
    ),
)]
pub async fn login_page(State(s): State<AppState>, headers: HeaderMap, q: PageQuery) -> Response {
    match screen(&s, &headers, q.get("state")).await {
        Ok(sc) => {
            let hint = sc.tx.request.login_hint.clone().unwrap_or_default();
            render(
                &sc.look,
                forms::login(&sc.context(None), StatusCode::OK, &hint),
            )
        }
        Err(page) => page,
    }
}

/// `POST /u/login?state=…`: check the password (lazy migration included,
/// through the one password-login service), then on to `/authorize/resume`.
#[utoipa::path(
    post,
    path = "/u/login",
    operation_id = "login",
    tag = "hosted pages",
    summary = "Sign in with a password on the hosted login page",
    params(crate::openapi::StateParam),
    request_body(content = crate::openapi::LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: on to `/authorize/resume?state=…`.", headers(("Location" = String, description = "The resume URL."))),
        (status = 302, description = "No transaction: to the tenant's `default_redirection_uri`, when set (as the form's GET does).", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "Wrong credentials or a malformed form: the form again, with the reason; or no such transaction.", content_type = "text/html", body = String),
        (status = 403, description = "The browser does not hold the transaction's cookie (a forged or replayed form).", content_type = "text/html", body = String),
        (status = 429, description = "Brute-force protection blocks this user from this address, or more than 20 attempts this minute: the form again, with the reason.", content_type = "text/html", body = String),
        (status = 503, description = "The legacy user store could not be asked: the form again.", content_type = "text/html", body = String),
    ),
)]
pub async fn login(
    State(s): State<AppState>,
    ClientIp(peer): ClientIp,
    q: PageQuery,
    req: Request,
) -> Response {
    let (mut sc, form) = match posted_screen(&s, &q, req).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let username = form.get("username").unwrap_or_default().trim().to_string();
    let password = form.get("password").unwrap_or_default();
    let again = |sc: &Screen, status: StatusCode, msg: Msg| {
        let message = sc.say(msg);
        render(
            &sc.look,
            forms::login(&sc.context(Some(&message)), status, &username),
        )
    };
    if username.is_empty() || password.is_empty() {
        return again(&sc, StatusCode::BAD_REQUEST, Msg::WrongCredentials);
    }
    let ip = peer.to_string();
    let attempt = login::PasswordLogin {
        client: &sc.client,
        connection: &sc.connection,
        username: &username,
        password,
        ip: &ip,
        read_ahead: None,
    };
    let verified = match login::password_login(&s, attempt).await {
        // The login's record waits in the transaction: written when the
        // login finishes (`authorize::resume`), after the second factor
        // and the post-login actions, or never when they refuse it.
        Ok(login::Verified { user, recording }) => Ok((user, recording.deferred())),
        Err(e) => Err(e),
    };
    match verified {
        Ok((user, record)) => {
            match authorize::password_passed(&s, &mut sc.tx, &user, Some(record)).await {
                Ok(next) => see_other(&next, Vec::new()),
                Err(e) => {
                    tracing::error!(error = %e, "u/login: storage error");
                    again(&sc, StatusCode::INTERNAL_SERVER_ERROR, Msg::SomethingWrong)
                }
            }
        }
        Err(LoginFailure::WrongCredentials) => {
            again(&sc, StatusCode::BAD_REQUEST, Msg::WrongCredentials)
        }
        Err(LoginFailure::Blocked) => again(&sc, StatusCode::UNAUTHORIZED, Msg::Blocked),
        Err(
            LoginFailure::TooManyAttempts
            | LoginFailure::TooManyRequests
            | LoginFailure::SuspiciousIp
            | LoginFailure::LegacyBudget,
        ) => again(&sc, StatusCode::TOO_MANY_REQUESTS, Msg::TooManyAttempts),
        Err(LoginFailure::LegacyUnavailable | LoginFailure::Busy) => {
            again(&sc, StatusCode::SERVICE_UNAVAILABLE, Msg::TryLater)
        }
        Err(LoginFailure::Internal) => {
            again(&sc, StatusCode::INTERNAL_SERVER_ERROR, Msg::SomethingWrong)
        }
    }
}
