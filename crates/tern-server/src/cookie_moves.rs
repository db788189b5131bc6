//! Moving the long-lived cookies to their `__Host-` names (see `cookies`)
//! without signing anyone out: on an https public URL, an answer to a
//! request that carries the SSO session cookie or the console's cookie
//! under its plain name — set before the upgrade — sets it under its
//! `__Host-` name (when it still names an active session, for the time that
//! session has left) and expires the plain one. Once moved, the browser
//! sends the `__Host-` cookie, which names the same session.
//!
//! A middleware rather than each handler: the console's cookie is read by
//! an extractor that has no answer to add to, and every page the cookie
//! reaches should move it. It costs a store read only for a request that
//! still carries a plain-named cookie, and nothing on http.
//!
//! The login transaction cookies are not moved: they live an hour, and the
//! transaction's end expires both names (`authorize::resume`).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tern_core::CoreResult;

use crate::cookies::{self, SameSite};
use crate::state::AppState;
use crate::{console, sessions};

/// A cookie that moves: its plain name, the path it had under that name,
/// how it is set.
#[derive(Clone, Copy)]
enum Moving {
    /// The SSO session (`tern_session`).
    Sso,
    /// The console's session (`tern_console`).
    Console,
}

impl Moving {
    const ALL: [Self; 2] = [Self::Sso, Self::Console];

    fn base(self) -> &'static str {
        match self {
            Self::Sso => sessions::COOKIE,
            Self::Console => console::session::COOKIE,
        }
    }

    fn legacy_path(self) -> &'static str {
        match self {
            Self::Sso => "/",
            Self::Console => console::session::PATH,
        }
    }

    /// How long the session a plain-named `value` names has left, if active.
    async fn remaining(self, s: &AppState, value: &str) -> CoreResult<Option<i64>> {
        match self {
            Self::Sso => sessions::legacy_remaining(s, value).await,
            Self::Console => console::session::legacy_remaining(s, value).await,
        }
    }

    /// The cookie under its `__Host-` name, as its service sets it.
    fn set(self, public_url: &str, value: &str, max_age: i64) -> HeaderValue {
        match self {
            Self::Sso => cookies::set(
                public_url,
                self.base(),
                value,
                Some(max_age),
                SameSite::None,
            ),
            Self::Console => {
                cookies::set_strict(public_url, self.base(), value, self.legacy_path(), max_age)
            }
        }
    }
}

/// The middleware (on the whole router).
pub async fn layer(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if !cookies::prefixed(&s.public_url) {
        return next.run(req).await;
    }
    // The plain-named cookies of the request, and whether the `__Host-`
    // one came along (then it is the one in use; the plain one only goes).
    let carried: Vec<(Moving, String, bool)> = Moving::ALL
        .into_iter()
        .filter_map(|m| {
            let plain = cookies::get(req.headers(), m.base())?.to_string();
            let host = cookies::get(req.headers(), &cookies::name(&s.public_url, m.base()));
            Some((m, plain, host.is_some()))
        })
        .collect();
    let mut resp = next.run(req).await;
    for (m, value, has_host) in carried {
        let moves = moves(&s, resp.headers(), m, &value, has_host).await;
        for c in moves {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    resp
}

/// The `Set-Cookie` values that move plain-named cookie `m` (`value`),
/// unless the answer already sets it (a new session, a logout).
async fn moves(
    s: &AppState,
    answer: &HeaderMap,
    m: Moving,
    value: &str,
    has_host: bool,
) -> Vec<HeaderValue> {
    let host_name = cookies::name(&s.public_url, m.base());
    let sets = |name: &str| {
        answer
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| cookies::set_name(c) == Some(name))
    };
    let mut out = Vec::new();
    if !has_host && !sets(&host_name) {
        match m.remaining(s, value).await {
            Ok(Some(left)) if left > 0 => out.push(m.set(&s.public_url, value, left)),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not move a session cookie"),
        }
    }
    if !sets(m.base()) {
        out.extend(cookies::clear_legacy(
            &s.public_url,
            m.base(),
            m.legacy_path(),
        ));
    }
    out
}
