//! `GET|POST /authorize` and `GET /authorize/resume`: the start and the end
//! of a browser sign-in (the flow is in `crate::authorize`).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tern_core::login_transaction::ResponseMode;
use tern_core::url_match::{UrlRule, check_stored_url};

use crate::authorize::request::{self, Params, Rejection};
use crate::authorize::response::AuthorizationResponse;
use crate::authorize::{self, Begin, Resume, TransactionProblem};
use crate::body::{parse_urlencoded, read_limited};
use crate::client_ip::ClientIp;
use crate::pages::catalogue::{Lang, Msg, text};
use crate::pages::{Look, Page, forms, render};
use crate::state::AppState;

/// The query of a page: a link a person followed, so a malformed query
/// reads as an empty one (the page then says what is missing) rather than
/// as a JSON error.
pub struct PageQuery(std::collections::HashMap<String, String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PageQuery {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let pairs = parse_urlencoded(parts.uri.query().unwrap_or_default()).unwrap_or_default();
        Ok(Self(pairs.into_iter().collect()))
    }
}

impl PageQuery {
    /// A non-empty parameter.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// The language of a page that has no transaction to ask.
pub fn lang_of(headers: &HeaderMap, ui_locales: Option<&str>) -> Lang {
    let locales: Vec<String> = ui_locales
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Lang::choose(
        &locales,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// An error page (the redirect cannot be trusted, or there is nothing to go back to).
pub fn error_page(look: &Look, lang: Lang, status: StatusCode, message: &str) -> Response {
    render(look, Page::message(status, lang, Msg::ErrorTitle, message))
}

/// Deliver an authorization response as its `response_mode` says, with
/// cookies to set on the way.
pub fn deliver(look: &Look, r: &AuthorizationResponse, cookies: Vec<HeaderValue>) -> Response {
    let mut resp = match r.mode {
        ResponseMode::Query => {
            let mut resp = StatusCode::FOUND.into_response();
            match HeaderValue::from_str(&r.redirect_url()) {
                Ok(v) => {
                    resp.headers_mut().insert(header::LOCATION, v);
                }
                Err(_) => {
                    return error_page(
                        look,
                        Lang::En,
                        StatusCode::BAD_REQUEST,
                        "The callback URL is not valid.",
                    );
                }
            }
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        ResponseMode::FormPost => render(look, forms::form_post(r)),
        ResponseMode::WebMessage => render(look, forms::web_message(r)),
    };
    for c in cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// A redirect to one of Tern's own pages, with cookies.
pub fn see_other(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in cookies {
        h.append(header::SET_COOKIE, c);
    }
    resp
}

async fn params_of(req: Request) -> Result<(HeaderMap, Params, bool), &'static str> {
    let (parts, body) = req.into_parts();
    let post = parts.method == Method::POST;
    let pairs = if post {
        if !crate::body::is_form(&parts.headers) {
            return Err("POST /authorize takes an application/x-www-form-urlencoded body.");
        }
        let req = Request::from_parts(parts.clone(), body);
        let bytes = read_limited(req, 64 * 1024)
            .await
            .map_err(|_| "The request is too large.")?;
        std::str::from_utf8(&bytes).ok().and_then(parse_urlencoded)
    } else {
        parse_urlencoded(parts.uri.query().unwrap_or_default())
    };
    let pairs = pairs.ok_or("The request parameters are not valid URL encoding.")?;
    Ok((parts.headers, Params::new(pairs), post))
}

/// `GET|POST /authorize`.
#[utoipa::path(
    method(get, post),
    path = "/authorize",
    operation_id = "authorize",
    tag = "authentication",
    summary = "Start a browser sign-in (authorization code flow with PKCE)",
    description = "Checks the client and the `redirect_uri` (an exact match of one of its `callbacks`, or Auth0's subdomain wildcard); problems with either are shown on an error page. Then answers the application through `response_mode` (`query`, `form_post`, `web_message`) — a code when the browser's session can serve the request, `login_required` for `prompt=none` without one, any other error as `error`/`error_description` — or sends the browser to the hosted login page with a transaction cookie.",
    params(crate::openapi::AuthorizeParams),
    responses(
        (status = 200, description = "`form_post` or `web_message` answer, as an HTML page.", content_type = "text/html", body = String),
        (status = 302, description = "To the callback with `code` or `error` (`response_mode=query`), or to the hosted login page (`/u/login?state=…`).", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "Unknown client, missing or unregistered `redirect_uri`: an error page, no redirect.", content_type = "text/html", body = String),
    ),
)]
pub async fn authorize(
    State(s): State<AppState>,
    ClientIp(peer): ClientIp,
    req: Request,
) -> Response {
    let look = Look::load(&s).await;
    let (headers, params, post) = match params_of(req).await {
        Ok(v) => v,
        Err(msg) => return error_page(&look, Lang::En, StatusCode::BAD_REQUEST, msg),
    };
    let lang = lang_of(&headers, params.get("ui_locales"));
    let checked = match request::check(&s, &params).await {
        Ok(mut c) => {
            c.request.event_request = params.event_request(post);
            c
        }
        Err(Rejection::Page(msg)) => return error_page(&look, lang, StatusCode::BAD_REQUEST, &msg),
        Err(Rejection::Redirect(r)) => return deliver(&look, &r, Vec::new()),
    };
    match authorize::begin(&s, &headers, checked, &peer.to_string()).await {
        Ok(Begin::Respond(r)) => deliver(&look, &r, Vec::new()),
        Ok(Begin::Login { location, cookie }) => {
            let mut resp = see_other(&location, vec![cookie]);
            *resp.status_mut() = StatusCode::FOUND;
            resp
        }
        Err(Rejection::Page(msg)) => {
            error_page(&look, lang, StatusCode::INTERNAL_SERVER_ERROR, &msg)
        }
        Err(Rejection::Redirect(r)) => deliver(&look, &r, Vec::new()),
    }
}

/// The page for a transaction that cannot go on.
pub async fn transaction_problem(
    s: &AppState,
    headers: &HeaderMap,
    problem: TransactionProblem,
) -> Response {
    let look = Look::load(s).await;
    let lang = lang_of(headers, None);
    if problem == TransactionProblem::Unknown
        && let Ok(settings) = s.store.get_tenant_settings(s.tid()).await
        && let Some(uri) = settings.default_redirection_uri
        // One stored before it had to be https (`javascript:`) is not
        // followed: the page below says what happened instead.
        && check_stored_url(&uri, UrlRule::Https).is_ok()
    {
        // A bookmarked login page: Auth0 sends the browser to the tenant's
        // default login route.
        let mut resp = see_other(&uri, Vec::new());
        *resp.status_mut() = StatusCode::FOUND;
        return resp;
    }
    let message = match problem {
        TransactionProblem::Unknown => text(lang, Msg::NoTransaction),
        TransactionProblem::Expired => text(lang, Msg::SessionExpired),
        TransactionProblem::OtherBrowser => text(lang, Msg::OtherBrowser),
    }
    .replace("{app}", "the application");
    let status = match problem {
        TransactionProblem::OtherBrowser => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    render(
        &look,
        Page::message(status, lang, Msg::ErrorTitle, &message),
    )
}

/// `GET /authorize/resume?state=…`.
#[utoipa::path(
    get,
    path = "/authorize/resume",
    operation_id = "authorize_resume",
    tag = "hosted pages",
    summary = "Finish a browser sign-in",
    description = "After the hosted pages authenticated the user: starts a new SSO session (`tern_session` cookie), issues the code and answers the application as `/authorize` does. Needs the transaction cookie set by `/authorize`.",
    params(crate::openapi::StateParam),
    responses(
        (status = 200, description = "`form_post` or `web_message` answer; or, when a post-login action redirects (`api.redirect.sendUserTo`), a page sending the browser to its site (`Refresh` header and a link).", content_type = "text/html", body = String),
        (status = 302, description = "To the callback with the code, or back to the login page when the user has not signed in yet.", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "No such transaction, or it expired.", content_type = "text/html", body = String),
        (status = 403, description = "The browser does not hold the transaction's cookie.", content_type = "text/html", body = String),
    ),
)]
pub async fn resume(
    State(s): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    q: PageQuery,
) -> Response {
    let answer = authorize::resume(&s, &headers, &peer.to_string(), q.get("state")).await;
    answer_resume(&s, &headers, answer).await
}

/// The response to what `/authorize/resume` or `/continue` decided.
async fn answer_resume(
    s: &AppState,
    headers: &HeaderMap,
    answer: tern_core::CoreResult<Resume>,
) -> Response {
    match answer {
        Ok(Resume::Respond(r, cookies)) => deliver(&Look::load(s).await, &r, cookies),
        Ok(Resume::NotYet(location)) => see_other(&location, Vec::new()),
        Ok(Resume::Redirect(location)) => {
            let mut resp = render(&Look::load(s).await, forms::leave(&location));
            match HeaderValue::from_str(&format!("0; url={location}")) {
                Ok(v) => {
                    resp.headers_mut().insert(header::REFRESH, v);
                }
                Err(_) => tracing::warn!(
                    "an action's redirect is not a header value; the page's link remains"
                ),
            }
            resp
        }
        Ok(Resume::Problem(p)) => transaction_problem(s, headers, p).await,
        Ok(Resume::InvalidState) => error_page(
            &Look::load(s).await,
            lang_of(headers, None),
            StatusCode::BAD_REQUEST,
            "invalid_request: the state parameter is missing, unknown, or was already used. \
             The login it belonged to cannot continue; start again from the application.",
        ),
        Err(e) => {
            tracing::error!(error = %e, "authorize/resume: storage error");
            let look = Look::load(s).await;
            error_page(
                &look,
                lang_of(headers, None),
                StatusCode::INTERNAL_SERVER_ERROR,
                text(Lang::En, Msg::SomethingWrong),
            )
        }
    }
}

/// The field marking a `/continue` POST Tern's own page sent again.
const RESENT: &str = "tern_resent";

/// `GET|POST /continue?state=…`.
#[utoipa::path(
    method(get, post),
    path = "/continue",
    operation_id = "continue_login",
    tag = "hosted pages",
    summary = "Resume a login a post-login action redirected",
    description = "Where the site a post-login action sent the browser to (`api.redirect.sendUserTo`) sends it back, with the `state` it was given (in the query, or a form body). The redirecting action's `onContinuePostLogin` runs with this request in `event.request` (a session token posted here is what `api.redirect.validateToken` reads), then the actions after it, then the login finishes as `/authorize/resume` does. Needs the transaction cookie; a `state` is used once.",
    params(crate::openapi::StateParam),
    responses(
        (status = 200, description = "`form_post` or `web_message` answer; Tern's page posting a cross-site form again; or a page sending the browser to the site the next redirecting action chose (`Refresh` header and a link).", content_type = "text/html", body = String),
        (status = 302, description = "To the callback with the code or `error`.", headers(("Location" = String, description = "Where to go."))),
        (status = 400, description = "A `state` no paused login waits for, or an expired transaction.", content_type = "text/html", body = String),
        (status = 403, description = "The browser does not hold the transaction's cookie.", content_type = "text/html", body = String),
    ),
)]
pub async fn continue_login(
    State(s): State<AppState>,
    ClientIp(peer): ClientIp,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let headers = parts.headers.clone();
    let query = parse_urlencoded(parts.uri.query().unwrap_or_default()).unwrap_or_default();
    let form = if parts.method == Method::POST {
        let bytes = match read_limited(Request::from_parts(parts.clone(), body), 64 * 1024).await {
            Ok(b) => b,
            Err(_) => {
                let look = Look::load(&s).await;
                return error_page(
                    &look,
                    Lang::En,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The request is too large.",
                );
            }
        };
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(parse_urlencoded)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let state = form
        .iter()
        .chain(query.iter())
        .find(|(k, v)| k == "state" && !v.is_empty())
        .map(|(_, v)| v.clone());
    // The continue request is the action's to read, as sent (the site it
    // redirected to answers it); nothing of it is Tern's secret.
    let to_map = |pairs: &[(String, String)]| -> serde_json::Map<String, serde_json::Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect()
    };
    // The transaction cookie is `SameSite=Lax`: a browser leaves it off a
    // POST another site makes, which is how Auth0's documents have the
    // site return (with a `session_token` in the form). Such a POST gets a
    // page of Tern's own that posts the same fields here again — same-site
    // now, so the cookie comes along and still binds the login to this
    // browser. Once only: a re-post without the cookie is refused as
    // another browser's.
    let resent = form.iter().any(|(k, _)| k == RESENT);
    let form: Vec<(String, String)> = form.into_iter().filter(|(k, _)| k != RESENT).collect();
    if parts.method == Method::POST
        && !resent
        && let Some((id, _)) = state.as_deref().and_then(|v| v.split_once('.'))
        && crate::cookies::find(
            &s.public_url,
            &headers,
            &authorize::transaction_cookie_name(id),
        )
        .is_none()
        // Only for a login still waiting: a used or unknown state answers
        // as such at once.
        && let Ok(Some(waiting)) = s.store.get_login_transaction(s.tid(), id).await
    {
        let action = match parts.uri.query() {
            Some(q) => format!("/continue?{q}"),
            None => "/continue".to_string(),
        };
        let callback = &waiting.request.redirect_uri;
        return render(
            &Look::load(&s).await,
            forms::self_post(&action, &form, RESENT, callback),
        );
    }
    let request = tern_core::actions::EventRequest {
        method: parts.method.as_str().to_string(),
        query: to_map(&query),
        body: to_map(&form),
    };
    let answer =
        authorize::continue_login(&s, &headers, &peer.to_string(), state.as_deref(), &request)
            .await;
    answer_resume(&s, &headers, answer).await
}
