//! Console sessions: the `tern_console` cookie and its record in the SSO
//! session store.
//!
//! The cookie is `HttpOnly`, `SameSite=Strict` and on an https public URL
//! `__Host-tern_console` (`Secure`, `Path=/`, as the prefix requires, so
//! no sibling subdomain can plant one); on http (local development)
//! `tern_console` with `Path=/console`. A session lasts [`IDLE_SECS`] without use and
//! [`ABSOLUTE_SECS`] at most, decided by the server's injectable clock.
//!
//! The store keeps the SHA-256 of `console:` + the cookie value (bound to
//! the `__Host-` name on https, see `cookies`), so a console cookie never
//! names an SSO session (`tern_session`) and an SSO cookie never names a
//! console session. A session is honoured only while
//! its user is an unblocked member of the operators' connection.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use std::net::IpAddr;

use tern_core::CoreResult;
use tern_core::device::{Device, Seen};
use tern_core::model::User;
use tern_core::sso::Session;

use super::{csrf, operators_connection, see_other};
use crate::client_ip::{self, ClientIp};
use crate::cookies::{self, Found};
use crate::routes::universal_login::{FormFields, read_form_up_to};
use crate::state::AppState;

/// The cookie's name (`__Host-tern_console` on https).
pub const COOKIE: &str = "tern_console";
/// The cookie's path on http, and the one it had on https before the
/// `__Host-` prefix (which requires `Path=/`).
pub const PATH: &str = "/console";
/// Idle lifetime: 30 minutes.
pub const IDLE_SECS: i64 = 30 * 60;
/// Absolute lifetime: 12 hours.
pub const ABSOLUTE_SECS: i64 = 12 * 3600;
/// What the session records as the "application" it served.
pub const CLIENT_ID: &str = crate::console_app::CLIENT_ID;

/// What console records mix into their digests, apart from SSO sessions.
const SALT: &str = "console:";

/// The session a cookie names, active or not.
async fn named(s: &AppState, cookie: Found<'_>) -> CoreResult<Option<Session>> {
    for digest in cookie.digests(SALT) {
        if let Some(session) = s.store.get_session(s.tid(), &digest).await? {
            return Ok(Some(session));
        }
    }
    Ok(None)
}

/// For a cookie set under its plain name before the upgrade to `__Host-`
/// names (`value`): how many more seconds its session lives, if it is
/// active — the `Max-Age` of the cookie that moves it (`cookie_moves`).
pub async fn legacy_remaining(s: &AppState, value: &str) -> CoreResult<Option<i64>> {
    let now = s.now();
    Ok(named(s, Found { value, host: false })
        .await?
        .filter(|x| x.is_active(now))
        .map(|x| x.expires_at.saturating_sub(now)))
}

/// A signed-in operator.
#[derive(Debug, Clone)]
pub struct Operator {
    /// The operator (a user of the operators' connection).
    pub user: User,
    /// Their console session.
    pub session: Session,
    /// The CSRF token every form of theirs carries.
    pub csrf: String,
}

impl Operator {
    /// How the operator is named on pages and in the tenant log.
    pub fn name(&self) -> &str {
        self.user.email.as_deref().unwrap_or(&self.user.user_id)
    }
}

/// The operator the request's console cookie signs in, if any; a valid
/// request (from client address `ip`) restarts the idle lifetime and is the
/// session's latest use (its `device.last`, as an SSO session's).
pub async fn current(
    s: &AppState,
    headers: &HeaderMap,
    ip: IpAddr,
) -> CoreResult<Option<Operator>> {
    let Some(cookie) = cookies::find(&s.public_url, headers, COOKIE) else {
        return Ok(None);
    };
    let Some(session) = named(s, cookie).await? else {
        return Ok(None);
    };
    let now = s.now();
    if !session.is_active(now) {
        return Ok(None);
    }
    let Some(operators) = operators_connection(s).await? else {
        return Ok(None);
    };
    if session.connection_id != operators.id {
        return Ok(None);
    }
    let user = s.store.get_user(s.tid(), &session.user_id).await?;
    // A user created after the session began reuses a deleted operator's id:
    // the session was never theirs.
    let Some(user) = user.filter(|u| {
        u.connection_id == operators.id
            && !u.blocked
            && !tern_core::users::created_after(u, session.created_at)
    }) else {
        return Ok(None);
    };
    s.store
        .touch_session(
            s.tid(),
            &session.id_hash,
            now,
            now.saturating_add(IDLE_SECS),
            CLIENT_ID,
            Some(&client_ip::seen(ip.to_string(), headers)),
        )
        .await?;
    Ok(Some(Operator {
        user,
        session,
        csrf: csrf::token(cookie.value),
    }))
}

/// A new console session for `user` (who just signed in through the
/// hosted login), started by the request `seen`; the `Set-Cookie` to send.
pub async fn start(s: &AppState, user: &User, seen: Seen) -> CoreResult<HeaderValue> {
    let now = s.now();
    let value = tern_core::ids::ticket_token();
    let session = Session {
        id_hash: cookies::digest(&s.public_url, SALT, &value),
        sid: tern_core::ids::ticket_token(),
        user_id: user.user_id.clone(),
        connection_id: user.connection_id.clone(),
        auth_time: now,
        created_at: now,
        last_interacted_at: now,
        expires_at: now.saturating_add(ABSOLUTE_SECS),
        idle_expires_at: now.saturating_add(IDLE_SECS),
        clients: vec![CLIENT_ID.to_string()],
        amr: Vec::new(),
        device: Device::starting(seen),
        metadata: Default::default(),
    };
    s.store.insert_session(s.tid(), &session).await?;
    Ok(cookies::set_strict(
        &s.public_url,
        COOKIE,
        &value,
        PATH,
        ABSOLUTE_SECS,
    ))
}

/// End the operator's session; the `Set-Cookie` that clears the cookie.
pub async fn end(s: &AppState, op: &Operator) -> CoreResult<HeaderValue> {
    s.store.delete_session(s.tid(), &op.session.sid).await?;
    Ok(clear(s))
}

/// The `Set-Cookie` that deletes the console cookie.
pub fn clear(s: &AppState) -> HeaderValue {
    cookies::set_strict(&s.public_url, COOKIE, "", PATH, 0)
}

/// No session: to the sign-in page (dropping a stale cookie).
fn to_login(s: &AppState) -> Response {
    see_other("/console/login", vec![clear(s)])
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, s).await;
        match current(s, &parts.headers, ip).await {
            Ok(Some(op)) => Ok(op),
            Ok(None) => Err(to_login(s)),
            Err(e) => {
                tracing::error!(error = %e, "console session lookup failed");
                Err(super::layout::problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The console could not read its session; try again.",
                ))
            }
        }
    }
}

/// The largest console form: the script editor posts a script of up to
/// 100 KB, percent-encoded (read only once the session is checked).
const FORM_LIMIT: usize = 320 * 1024;

/// A form posted by a signed-in operator, its CSRF token checked: without
/// a session the answer is the sign-in page, without the token 403.
pub struct OperatorForm {
    /// Who posted it.
    pub op: Operator,
    /// Its fields.
    pub form: FormFields,
}

impl FromRequest<AppState> for OperatorForm {
    type Rejection = Response;
    async fn from_request(req: Request, s: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let op = Operator::from_request_parts(&mut parts, s).await?;
        let (_, form) = read_form_up_to(Request::from_parts(parts, body), FORM_LIMIT)
            .await
            .map_err(|m| super::layout::problem(StatusCode::BAD_REQUEST, "Bad request", m))?;
        if !csrf::matches(&op.csrf, form.get(csrf::FIELD)) {
            return Err(super::layout::problem(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form did not carry this session's security token. Reload the page and send it again.",
            ));
        }
        Ok(Self { op, form })
    }
}
