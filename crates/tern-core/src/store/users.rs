//! Users: profiles and credentials, always scoped by tenant and looked up
//! within a connection where a login or an import needs it.

use crate::CoreResult;
use crate::model::{JsonObject, LogEvent, MetadataColumns, ProfileView, ProfilesVisited, User};
use crate::search::{Query, Sort};

/// A successful login, as [`UserStore::record_login`] stores it.
#[derive(Debug, Clone, Copy)]
pub struct LoginRecord<'a> {
    /// Who logged in.
    pub user_id: &'a str,
    /// When (ISO 8601).
    pub at: &'a str,
    /// From where, when known.
    pub ip: Option<&'a str>,
    /// The password hashed under the current policy, when the stored hash
    /// was not.
    pub new_credential: Option<&'a str>,
    /// The credential `new_credential` replaces: written only while the
    /// stored one is still it, so a password changed (reset) between the
    /// login and its record — a hosted login waiting for MFA — keeps its
    /// new credential. `None`: written whatever is stored.
    pub replaces_credential: Option<&'a str>,
    /// Forget the unblocked failures counted for the user under this
    /// address (`""`: per identifier); `None` when brute-force protection
    /// did not count this login.
    pub forget_failures_from: Option<&'a str>,
    /// The tenant log's event for the login.
    pub event: &'a LogEvent,
}

/// How a login names its user within a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginName<'a> {
    /// By email (lower-cased).
    Email(&'a str),
    /// By username as typed: the user whose username is spelled so, else
    /// the one whose username is its lower-cased form
    /// ([`crate::user_profile::normalize_username`]). Usernames are stored
    /// lower-cased; the exact spelling comes first for the few stored before
    /// that whose lower-cased form another user already held (migration
    /// 0039 left them as they were).
    Username(&'a str),
}

/// What to look for in `search_users`.
#[derive(Debug, Clone, Default)]
pub struct UserSearch {
    /// Parsed `q`, or every user.
    pub query: Option<Query>,
    /// Parsed `sort`, or creation order.
    pub sort: Option<Sort>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
    /// Count the matches, up to this many (Auth0 reports at most the search
    /// window); `None`: no count, `UserPage::total` is 0.
    pub total_up_to: Option<u64>,
    /// When the store stops the search's statements and answers
    /// `CoreError::Timeout` (a monotonic instant, since it bounds the
    /// database's own work); `None`: no bound.
    pub deadline: Option<std::time::Instant>,
}

/// One page of a user search and the total it was cut from.
#[derive(Debug, Clone)]
pub struct UserPage {
    /// The users of the page.
    pub users: Vec<User>,
    /// Total matches, up to `UserSearch::total_up_to`.
    pub total: u64,
}

/// Outcome of inserting a user whose email or username may already be taken.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertOutcome {
    /// The user was written.
    Inserted,
    /// A user with the same id, or the same email or username in the
    /// connection, exists; nothing was written.
    Duplicate,
}

/// Storing users.
#[async_trait::async_trait]
pub trait UserStore: Send + Sync {
    /// Insert a user with all its data in one statement.
    async fn insert_user(&self, tenant: &str, user: &User) -> CoreResult<InsertOutcome>;
    /// Get a user by full id.
    async fn get_user(&self, tenant: &str, user_id: &str) -> CoreResult<Option<User>>;
    /// Get a connection's user by (lower-cased) email.
    async fn get_user_by_email(
        &self,
        tenant: &str,
        connection_id: &str,
        email: &str,
    ) -> CoreResult<Option<User>>;
    /// Get a connection's user by username, as [`LoginName::Username`]
    /// finds them.
    async fn get_user_by_username(
        &self,
        tenant: &str,
        connection_id: &str,
        username: &str,
    ) -> CoreResult<Option<User>>;
    /// Users of every connection with exactly this email.
    async fn users_by_email(&self, tenant: &str, email: &str) -> CoreResult<Vec<User>>;
    /// Replace a user's profile and credential; `Duplicate` when the new
    /// email or username is taken in the connection; `Ok(None)` when the
    /// user does not exist.
    async fn update_user(&self, tenant: &str, user: &User) -> CoreResult<Option<InsertOutcome>>;
    /// Give a connection's user who has no credential its first one, in one
    /// conditional statement, filling `app_metadata` and `user_metadata`
    /// where the stored ones are empty: a legacy login proving the password
    /// of a user imported without a hash or created by a lazy reset.
    /// `false`: nothing written — the user has a credential by now (a
    /// concurrent login or reset set it first), is gone, or is not the
    /// connection's.
    async fn set_first_credential(
        &self,
        tenant: &str,
        connection_id: &str,
        user_id: &str,
        credential: &str,
        app_metadata: &JsonObject,
        user_metadata: &JsonObject,
    ) -> CoreResult<bool>;
    /// The user's previous credentials, newest first, at most `limit` (the
    /// store keeps 24, written when a password change replaces one).
    async fn previous_credentials(
        &self,
        tenant: &str,
        user_id: &str,
        limit: usize,
    ) -> CoreResult<Vec<String>>;
    /// Delete a user; false if it did not exist.
    async fn delete_user(&self, tenant: &str, user_id: &str) -> CoreResult<bool>;
    /// Delete a connection's users with this email; how many were deleted.
    async fn delete_users_by_email(
        &self,
        tenant: &str,
        connection_id: &str,
        email: &str,
    ) -> CoreResult<u64>;
    /// Record a successful login in one round trip: the user's
    /// `last_login`, `last_ip`, `logins_count` and, when given, a replacement
    /// credential (rehash on login); the failed logins brute-force protection
    /// counted for the user from an address, unless they blocked it; the
    /// login's tenant log event. A login's latency is mostly round trips to
    /// the store, so its writes travel together. The record may commit
    /// without waiting for the disk (PostgreSQL's asynchronous commit: an
    /// operating-system crash can forget the last fraction of a second of
    /// logins, as of the rate counters); a replacement credential never does.
    async fn record_login(&self, tenant: &str, login: &LoginRecord<'_>) -> CoreResult<()>;
    /// Up to `limit` users in creation order (`created_at`, then `user_id`)
    /// after the user at `after` (`(created_at, user_id)`; from the start
    /// when `None`), of one connection or, with `None`, of every one:
    /// keyset paging, so page n costs what page 1 does (exports).
    async fn users_after(
        &self,
        tenant: &str,
        connection_id: Option<&str>,
        after: Option<(&str, &str)>,
        limit: u64,
    ) -> CoreResult<Vec<User>>;
    /// The profile fields of the users [`users_after`](Self::users_after)
    /// would return, with the metadata objects `metadata` asks for as
    /// stored text, handed to `visit` one by one as the rows arrive,
    /// borrowed from them: an export of profile fields (Auth0's default)
    /// and metadata paths makes its lines while the database still sends
    /// rows, without an owned `User` per row.
    async fn visit_profiles_after(
        &self,
        tenant: &str,
        connection_id: Option<&str>,
        after: Option<(&str, &str)>,
        limit: u64,
        metadata: MetadataColumns,
        visit: &mut (dyn for<'r> FnMut(ProfileView<'r>) + Send),
    ) -> CoreResult<ProfilesVisited>;
    /// Search users; past `search.deadline`, `CoreError::Timeout` once the
    /// store has stopped the search's statement.
    async fn search_users(&self, tenant: &str, search: &UserSearch) -> CoreResult<UserPage>;
}
