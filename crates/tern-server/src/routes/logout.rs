//! `GET /v2/logout` and `GET|POST /oidc/logout` (the rules are in `crate::logout`).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use maud::html;
use tern_core::CoreError;

use super::authorize::{PageQuery, error_page, lang_of, see_other};
use super::universal_login::read_form;
use crate::client_ip::ClientIp;
use crate::logout::{self, Done, OidcLogout, Outcome};
use crate::pages::catalogue::{Msg, text};
use crate::pages::{Look, Page, form_target, render};
use crate::state::AppState;

async fn answer(
    s: &AppState,
    headers: &HeaderMap,
    done: Done,
    form: Option<&[(&str, Option<&str>)]>,
) -> Response {
    let look = Look::load(s).await;
    let lang = lang_of(headers, None);
    let cookies: Vec<_> = done.cookie.into_iter().collect();
    let mut resp = match done.outcome {
        Outcome::Redirect(url) => {
            let mut r = see_other(&url, Vec::new());
            *r.status_mut() = StatusCode::FOUND;
            r
        }
        Outcome::LoggedOut => render(
            &look,
            Page::message(
                StatusCode::OK,
                lang,
                Msg::LoggedOutTitle,
                text(lang, Msg::LoggedOutText),
            ),
        ),
        Outcome::Refused(why) => error_page(&look, lang, StatusCode::BAD_REQUEST, &why),
        Outcome::Confirm { sid, target } => {
            let title = text(lang, Msg::LoggedOutTitle).to_string();
            let content = html! {
                h1 { (text(lang, Msg::LoggedOutTitle)) "?" }
                form method="post" action="/oidc/logout" {
                    input type="hidden" name="logout_hint" value=(sid);
                    @for (k, v) in form.unwrap_or_default() {
                        @if let Some(v) = v { input type="hidden" name=(k) value=(v); }
                    }
                    button.primary type="submit" { (text(lang, Msg::ContinueToApp)) }
                }
            };
            render(
                &look,
                Page {
                    status: StatusCode::OK,
                    lang,
                    title,
                    content,
                    // Browsers hold the redirect answering the post to
                    // `form-action` too: the checked return URL's origin.
                    form_targets: target
                        .as_deref()
                        .and_then(form_target)
                        .into_iter()
                        .collect(),
                    scripts: Vec::new(),
                    frame_ancestor: None,
                },
            )
        }
    };
    for c in cookies {
        resp.headers_mut().append(axum::http::header::SET_COOKIE, c);
    }
    resp
}

/// `GET /v2/logout`.
#[utoipa::path(
    get,
    path = "/v2/logout",
    operation_id = "logout",
    tag = "authentication",
    summary = "Log the browser out (Auth0's logout)",
    description = "Ends the SSO session. `returnTo` must match one of the application's Allowed Logout URLs (with `client_id`) or the tenant's (without); with `client_id` and no `returnTo`, the first of the application's.",
    params(crate::openapi::LogoutParams),
    responses(
        (status = 200, description = "Logged out; nowhere to return to.", content_type = "text/html", body = String),
        (status = 302, description = "Logged out; back to `returnTo`.", headers(("Location" = String, description = "The checked URL."))),
        (status = 400, description = "`returnTo` not allowed, or unknown `client_id`: nothing ended.", content_type = "text/html", body = String),
    ),
)]
pub async fn v2_logout(
    State(s): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    q: PageQuery,
) -> Response {
    match logout::v2(
        &s,
        &headers,
        q.get("returnTo"),
        q.get("client_id"),
        &peer.to_string(),
    )
    .await
    {
        Ok(done) => answer(&s, &headers, done, None).await,
        Err(e) => failed(&s, &headers, "v2/logout", e).await,
    }
}

/// A logout that could not be answered: the caller's input (a NUL in an
/// id, which PostgreSQL cannot compare) is a 400 saying so; anything else
/// is the store's failure, a 500.
async fn failed(s: &AppState, headers: &HeaderMap, what: &str, e: CoreError) -> Response {
    let look = Look::load(s).await;
    let lang = lang_of(headers, None);
    match e {
        CoreError::BadRequest { message, .. } => {
            error_page(&look, lang, StatusCode::BAD_REQUEST, &message)
        }
        e => {
            tracing::error!(error = %e, "{what}: storage error");
            error_page(
                &look,
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                text(lang, Msg::SomethingWrong),
            )
        }
    }
}

/// `GET|POST /oidc/logout`.
#[utoipa::path(
    method(get, post),
    path = "/oidc/logout",
    operation_id = "oidc_logout",
    tag = "authentication",
    summary = "OpenID Connect RP-initiated logout",
    description = "Ends the SSO session the `id_token_hint` (or `logout_hint`, a `sid`) names and returns to `post_logout_redirect_uri` (an exact match of the application's Allowed Logout URLs) with `state`. Without either hint, asks the user first.",
    params(crate::openapi::OidcLogoutParams),
    responses(
        (status = 200, description = "Logged out, or the confirmation form.", content_type = "text/html", body = String),
        (status = 302, description = "Logged out; back to `post_logout_redirect_uri`.", headers(("Location" = String, description = "The checked URL with `state`."))),
        (status = 400, description = "An invalid hint or an unregistered URL: nothing ended.", content_type = "text/html", body = String),
    ),
)]
pub async fn oidc_logout(
    State(s): State<AppState>,
    ClientIp(peer): ClientIp,
    q: PageQuery,
    req: Request,
) -> Response {
    let (headers, fields) = if req.method() == Method::POST {
        match read_form(req).await {
            Ok((h, f)) => {
                let keys = [
                    "id_token_hint",
                    "logout_hint",
                    "post_logout_redirect_uri",
                    "client_id",
                    "state",
                ];
                let pairs: Vec<(String, String)> = keys
                    .iter()
                    .filter_map(|k| {
                        f.get(k)
                            .filter(|v| !v.is_empty())
                            .map(|v| ((*k).to_string(), v.to_string()))
                    })
                    .collect();
                (h, pairs)
            }
            Err(msg) => {
                let look = Look::load(&s).await;
                return error_page(
                    &look,
                    crate::pages::catalogue::Lang::En,
                    StatusCode::BAD_REQUEST,
                    msg,
                );
            }
        }
    } else {
        let h = req.headers().clone();
        let keys = [
            "id_token_hint",
            "logout_hint",
            "post_logout_redirect_uri",
            "client_id",
            "state",
        ];
        let pairs = keys
            .iter()
            .filter_map(|k| q.get(k).map(|v| ((*k).to_string(), v.to_string())))
            .collect();
        (h, pairs)
    };
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let p = OidcLogout {
        id_token_hint: get("id_token_hint"),
        logout_hint: get("logout_hint"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        client_id: get("client_id"),
        state: get("state"),
    };
    let carry: Vec<(&str, Option<&str>)> = vec![
        ("post_logout_redirect_uri", p.post_logout_redirect_uri),
        ("client_id", p.client_id),
        ("state", p.state),
    ];
    match logout::oidc(&s, &headers, p, &peer.to_string()).await {
        Ok(done) => answer(&s, &headers, done, Some(&carry)).await,
        Err(e) => failed(&s, &headers, "oidc/logout", e).await,
    }
}
