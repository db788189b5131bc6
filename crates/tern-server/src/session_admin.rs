//! What the Management API's session endpoints do (`routes/sessions.rs`
//! maps them to HTTP): a session in Auth0's shape, a user's sessions page by
//! page, its `session_metadata`, ending sessions and revoking what a
//! session issued.
//!
//! Sessions live in the store, so ending one here ends it for every
//! instance at once: `sessions::current` reads the store on each request
//! and finds nothing. The console's sessions are in the same table (their
//! users are operators), so an operator can be signed out from here too;
//! its one-time setup record belongs to nobody and is never shown.

use serde_json::{Value, json};
use tern_core::CoreResult;
use tern_core::access_metadata;
use tern_core::sso::Session;

use crate::grant_admin;
use crate::state::AppState;

/// Why grants revoked through their session were revoked (kept on the grant).
pub const REVOKED_REASON: &str = "session revoked";

/// A session of a user, as the Management API may show it: the console's
/// setup record (no user) is not one.
fn of_a_user(session: Session) -> Option<Session> {
    (!session.user_id.is_empty()).then_some(session)
}

/// The session with public id `sid`, if it is a user's and still active.
pub async fn find(s: &AppState, sid: &str) -> CoreResult<Option<Session>> {
    let found = s.store.get_session_by_sid(s.tid(), sid).await?;
    let now = s.now();
    Ok(found.and_then(of_a_user).filter(|x| x.is_active(now)))
}

/// A page of the user's active sessions after the cursor `from`; the page
/// and the cursor of the next one (`None`: this was the last).
pub async fn page_of_user(
    s: &AppState,
    user_id: &str,
    from: Option<&str>,
    take: u64,
) -> CoreResult<(Vec<Session>, Option<String>)> {
    // One more than asked says whether another page follows.
    let mut sessions = s
        .store
        .list_user_sessions(s.tid(), user_id, s.now(), from, take.saturating_add(1))
        .await?;
    let more = sessions.len() as u64 > take;
    sessions.truncate(usize::try_from(take).unwrap_or(usize::MAX));
    let next = more
        .then(|| sessions.last().map(|x| x.sid.clone()))
        .flatten();
    Ok((sessions, next))
}

/// Replace the session's `session_metadata` with what the `PATCH` `body`
/// sets; the session as it is now (`None`: it ended meanwhile).
pub async fn update_metadata(
    s: &AppState,
    session: &Session,
    body: &Value,
) -> CoreResult<Option<Session>> {
    let metadata = access_metadata::from_update(body, "session_metadata")?;
    if !s
        .store
        .set_session_metadata(s.tid(), &session.sid, &metadata)
        .await?
    {
        return Ok(None);
    }
    find(s, &session.sid).await
}

/// End the session and revoke the grants issued through it (their refresh
/// tokens, and at `/userinfo` their access tokens, die with them), each
/// logged as any Management API revocation is (`srrt`, `caller`: the
/// machine client asking); how many grants were revoked.
pub async fn revoke(s: &AppState, session: &Session, caller: &str) -> CoreResult<usize> {
    // The session first: a browser must not start new grants through it
    // while its old ones are being revoked.
    s.store.delete_session(s.tid(), &session.sid).await?;
    let mut revoked = 0;
    for grant in s
        .store
        .grants_of_session(s.tid(), &session.user_id, &session.sid)
        .await?
    {
        if grant_admin::revoke_because(s, &grant, caller, REVOKED_REASON).await? {
            revoked += 1;
        }
    }
    Ok(revoked)
}

fn date(secs: i64) -> Value {
    tern_core::clock::iso_of_epoch(secs).map_or(Value::Null, Value::String)
}

/// Auth0's session object. Tern records no cookie mode and no ASN, so
/// those are left out rather than made up; `device` holds what was recorded
/// (nothing for sessions older than the recording); `updated_at` is the
/// last use (a metadata change is not a use).
pub fn view(session: &Session) -> Value {
    let clients: Vec<Value> = session
        .clients
        .iter()
        .map(|c| json!({"client_id": c}))
        .collect();
    // Every Tern session starts with a password; `amr` lists what the
    // login passed beyond it, at the same login.
    let mut methods = vec![json!({"name": "pwd", "timestamp": date(session.auth_time)})];
    methods.extend(
        session
            .amr
            .iter()
            .map(|m| json!({"name": m, "timestamp": date(session.auth_time)})),
    );
    json!({
        "id": session.sid,
        "user_id": session.user_id,
        "created_at": date(session.created_at),
        "updated_at": date(session.last_interacted_at),
        "authenticated_at": date(session.auth_time),
        "idle_expires_at": date(session.idle_expires_at),
        "expires_at": date(session.expires_at),
        "last_interacted_at": date(session.last_interacted_at),
        "device": session.device.to_auth0(),
        "clients": clients,
        "authentication": {"methods": methods},
        "session_metadata": session.metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            id_hash: "hash-of-the-cookie".into(),
            sid: "sid1".into(),
            user_id: "auth0|u1".into(),
            connection_id: "con_1".into(),
            auth_time: 1_700_000_000,
            created_at: 1_700_000_000,
            last_interacted_at: 1_700_000_060,
            expires_at: 1_700_259_200,
            idle_expires_at: 1_700_259_100,
            clients: vec!["app1".into()],
            amr: vec!["mfa".into()],
            device: Default::default(),
            metadata: Default::default(),
        }
    }

    #[test]
    fn auth0_shape_without_the_cookie_hash() {
        let v = view(&session());
        assert_eq!(v["id"], "sid1");
        assert_eq!(v["created_at"], "2023-11-14T22:13:20.000Z");
        assert_eq!(v["last_interacted_at"], "2023-11-14T22:14:20.000Z");
        assert_eq!(v["updated_at"], v["last_interacted_at"]);
        assert_eq!(v["clients"], json!([{"client_id": "app1"}]));
        let methods = &v["authentication"]["methods"];
        assert_eq!(methods[0]["name"], "pwd");
        assert_eq!(methods[1]["name"], "mfa");
        assert_eq!(methods[1]["timestamp"], "2023-11-14T22:13:20.000Z");
        assert!(!v.to_string().contains("hash-of-the-cookie"));
        assert_eq!(v["device"], json!({}), "nothing Tern does not know");
        assert_eq!(v["session_metadata"], json!({}));
    }

    #[test]
    fn the_setup_record_is_nobodys() {
        let mut s = session();
        assert!(of_a_user(s.clone()).is_some());
        s.user_id.clear();
        assert!(of_a_user(s).is_none());
    }
}
