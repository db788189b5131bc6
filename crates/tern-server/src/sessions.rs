//! Single sign-on sessions: the `tern_session` cookie and the server-side
//! record it points to (several instances share it through the store).
//!
//! A session starts when `/authorize/resume` finishes an interactive login,
//! always under a new random id (an id planted before the login is never
//! promoted: no session fixation), and lives until the tenant's
//! `session_lifetime` (hours) or `idle_session_lifetime` without use,
//! whichever comes first. The cookie carries 256 random bits; the store
//! keeps only their SHA-256 (on https bound to the `__Host-` name, see
//! `cookies`).

use axum::http::{HeaderMap, HeaderValue};
use tern_core::CoreResult;
use tern_core::device::{Device, Seen};
use tern_core::sso::Session;

use crate::cookies::{self, Found, SameSite};
use crate::state::AppState;

/// The session cookie's name (`__Host-tern_session` on https).
pub const COOKIE: &str = "tern_session";

/// The session a cookie names, active or not.
async fn named(s: &AppState, cookie: Found<'_>) -> CoreResult<Option<Session>> {
    for digest in cookie.digests("") {
        if let Some(session) = s.store.get_session(s.tid(), &digest).await? {
            return Ok(Some(session));
        }
    }
    Ok(None)
}

/// The session the request's cookie names, active or not.
async fn of_request(s: &AppState, headers: &HeaderMap) -> CoreResult<Option<Session>> {
    match cookies::find(&s.public_url, headers, COOKIE) {
        Some(cookie) => named(s, cookie).await,
        None => Ok(None),
    }
}

/// The active session the request's cookie points to, if any.
pub async fn current(s: &AppState, headers: &HeaderMap) -> CoreResult<Option<Session>> {
    let session = of_request(s, headers).await?;
    Ok(session.filter(|x| x.is_active(s.now())))
}

/// For a cookie set under its plain name before the upgrade to `__Host-`
/// names (`value`): how many more seconds its session lives, if it is
/// active — the `Max-Age` of the cookie that moves it (`cookie_moves`).
pub async fn legacy_remaining(s: &AppState, value: &str) -> CoreResult<Option<i64>> {
    let cookie = Found { value, host: false };
    let now = s.now();
    Ok(named(s, cookie)
        .await?
        .filter(|x| x.is_active(now))
        .map(|x| x.expires_at.saturating_sub(now)))
}

/// A new session for a user who just authenticated, replacing the one the
/// browser had (whoever it belonged to), started by the request `seen`.
/// Returns it with its cookie.
pub async fn start(
    s: &AppState,
    headers: &HeaderMap,
    seen: &Seen,
    user_id: &str,
    connection_id: &str,
    auth_time: i64,
    amr: &[String],
) -> CoreResult<(Session, HeaderValue)> {
    if let Some(old) = of_request(s, headers).await? {
        s.store.delete_session(s.tid(), &old.sid).await?;
    }
    let settings = s.store.get_tenant_settings(s.tid()).await?;
    let now = s.now();
    let value = tern_core::ids::ticket_token();
    let session = Session {
        id_hash: cookies::digest(&s.public_url, "", &value),
        sid: tern_core::ids::ticket_token(),
        user_id: user_id.to_string(),
        connection_id: connection_id.to_string(),
        auth_time,
        created_at: now,
        last_interacted_at: now,
        expires_at: now.saturating_add(settings.session_secs()),
        idle_expires_at: now
            .saturating_add(settings.idle_session_secs().min(settings.session_secs())),
        clients: Vec::new(),
        amr: amr.to_vec(),
        device: Device::starting(seen.clone()),
        metadata: Default::default(),
    };
    s.store.insert_session(s.tid(), &session).await?;
    let cookie = cookies::set(
        &s.public_url,
        COOKIE,
        &value,
        Some(settings.session_secs()),
        SameSite::None,
    );
    Ok((session, cookie))
}

/// Record that the session served `client_id` now, to the request `seen`
/// (the device's `last_*`, in the same write): its idle lifetime starts over.
pub async fn record_use(
    s: &AppState,
    session: &Session,
    client_id: &str,
    seen: &Seen,
) -> CoreResult<()> {
    let settings = s.store.get_tenant_settings(s.tid()).await?;
    let now = s.now();
    let idle = now.saturating_add(settings.idle_session_secs());
    s.store
        .touch_session(s.tid(), &session.id_hash, now, idle, client_id, Some(seen))
        .await
}

/// End the browser's session (logout); the `Set-Cookie` that clears the
/// cookie, and the session that ended, if there was one.
pub async fn end(s: &AppState, headers: &HeaderMap) -> CoreResult<(Option<Session>, HeaderValue)> {
    let ended = of_request(s, headers).await?;
    if let Some(x) = &ended {
        s.store.delete_session(s.tid(), &x.sid).await?;
    }
    Ok((ended, cookies::clear(&s.public_url, COOKIE)))
}

/// Delete what the browser flows leave behind once it is dead: expired
/// login transactions, authorization codes and sessions, and refresh
/// tokens and grants a day after they expired or were revoked (so a late
/// replay still reads as revoked rather than unknown).
pub async fn purge_expired(s: &AppState) {
    let now = s.now();
    let results = [
        s.store.purge_login_transactions(now).await,
        s.store.purge_authorization_codes(now).await,
        s.store.purge_sessions(now).await,
        s.store.purge_grants(now - 86_400).await,
    ];
    for r in results {
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not purge expired sign-in state");
        }
    }
}
