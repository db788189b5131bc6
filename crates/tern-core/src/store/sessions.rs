//! Single sign-on sessions (see `sso`), stored under the SHA-256 of their cookie.

use crate::CoreResult;
use crate::access_metadata::Metadata;
use crate::device::Seen;
use crate::sso::Session;

/// Storing sessions.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
    /// Store a new session.
    async fn insert_session(&self, tenant: &str, s: &Session) -> CoreResult<()>;
    /// A session by the SHA-256 of its cookie value, expired or not.
    async fn get_session(&self, tenant: &str, id_hash: &str) -> CoreResult<Option<Session>>;
    /// A session by its public id.
    async fn get_session_by_sid(&self, tenant: &str, sid: &str) -> CoreResult<Option<Session>>;
    /// Record use at epoch second `at`: the new idle expiry, the
    /// application served and, when given, the request that used it (the
    /// device's `last_*`).
    async fn touch_session(
        &self,
        tenant: &str,
        id_hash: &str,
        at: i64,
        idle_expires_at: i64,
        client_id: &str,
        seen: Option<&Seen>,
    ) -> CoreResult<()>;
    /// Replace a session's metadata (empty: none) by its public id; `true`
    /// if there was such a session.
    async fn set_session_metadata(
        &self,
        tenant: &str,
        sid: &str,
        metadata: &Metadata,
    ) -> CoreResult<bool>;
    /// End a session by its public id; `true` if there was one.
    async fn delete_session(&self, tenant: &str, sid: &str) -> CoreResult<bool>;
    /// Up to `limit` of the user's sessions still active at epoch second
    /// `now`, in public-id order, those after `after_sid` only when given
    /// (the Management API's `from` cursor).
    async fn list_user_sessions(
        &self,
        tenant: &str,
        user_id: &str,
        now: i64,
        after_sid: Option<&str>,
        limit: u64,
    ) -> CoreResult<Vec<Session>>;
    /// End every session of the user; how many there were.
    async fn delete_user_sessions(&self, tenant: &str, user_id: &str) -> CoreResult<u64>;
    /// Delete sessions of every tenant that expired before epoch second `before`.
    async fn purge_sessions(&self, before: i64) -> CoreResult<u64>;
}
