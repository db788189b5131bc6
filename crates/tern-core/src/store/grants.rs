//! Grants and their refresh tokens (see `grants`); tokens stored as SHA-256 digests.

use crate::CoreResult;
use crate::access_metadata::Metadata;
use crate::device::Seen;
use crate::grants::{Grant, GrantQuery, ListedGrant, RefreshToken};

/// Storing grants and refresh tokens.
#[async_trait::async_trait]
pub trait GrantStore: Send + Sync {
    /// Store a new grant.
    async fn insert_grant(&self, tenant: &str, grant: &Grant) -> CoreResult<()>;
    /// A grant by id.
    async fn get_grant(&self, tenant: &str, id: &str) -> CoreResult<Option<Grant>>;
    /// Revoke a grant (its refresh tokens and the access tokens it issued
    /// die with it); `true` if it was active.
    async fn revoke_grant(&self, tenant: &str, id: &str, at: i64, reason: &str)
    -> CoreResult<bool>;
    /// The user's active grants for the application that hold an unspent
    /// refresh token of the kind `rotating` says (a non-rotating token, or
    /// the newest of a rotating family): what a switch of the application's
    /// rotation type revokes at the user's next login.
    async fn grants_with_unspent_tokens(
        &self,
        tenant: &str,
        user_id: &str,
        client_id: &str,
        rotating: bool,
    ) -> CoreResult<Vec<Grant>>;
    /// The user's unrevoked grants issued through session `sid` (the code
    /// flow records it in `details.sid`): what revoking the session revokes.
    async fn grants_of_session(
        &self,
        tenant: &str,
        user_id: &str,
        sid: &str,
    ) -> CoreResult<Vec<Grant>>;
    /// Store a new refresh token.
    async fn insert_refresh_token(&self, tenant: &str, token: &RefreshToken) -> CoreResult<()>;
    /// A refresh token by the SHA-256 of its value.
    async fn get_refresh_token(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> CoreResult<Option<RefreshToken>>;
    /// Mark a rotating token used at `at`; `true` only for the one call that
    /// found it unused (the single-use guarantee of rotation).
    async fn mark_refresh_token_used(
        &self,
        tenant: &str,
        token_hash: &str,
        at: i64,
    ) -> CoreResult<bool>;
    /// Whether any token that replaced this one has itself been used.
    async fn refresh_token_successor_used(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> CoreResult<bool>;
    /// Record a use of a non-rotating token at `at` by the request `seen`
    /// and move its idle expiry.
    async fn touch_refresh_token(
        &self,
        tenant: &str,
        token_hash: &str,
        at: i64,
        idle_expires_at: Option<i64>,
        seen: &Seen,
    ) -> CoreResult<()>;
    /// Replace an unrevoked grant's metadata (empty: none); `true` if there
    /// was such a grant.
    async fn set_grant_metadata(
        &self,
        tenant: &str,
        id: &str,
        metadata: &Metadata,
    ) -> CoreResult<bool>;
    /// The unrevoked grants `query` selects, ordered by id.
    async fn list_grants(
        &self,
        tenant: &str,
        query: &GrantQuery<'_>,
    ) -> CoreResult<Vec<ListedGrant>>;
    /// How many unrevoked grants `query` selects (its paging ignored).
    async fn count_grants(&self, tenant: &str, query: &GrantQuery<'_>) -> CoreResult<u64>;
    /// Delete refresh tokens of every tenant that expired before epoch
    /// second `before`, and grants revoked before it.
    async fn purge_grants(&self, before: i64) -> CoreResult<u64>;
}
