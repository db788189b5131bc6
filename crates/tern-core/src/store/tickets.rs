//! Password-change tickets (reset links), stored only as token hashes.

use crate::CoreResult;
use crate::model::User;
use crate::store::InsertOutcome;
use crate::tickets::{PasswordTicket, Redemption};
use crate::users::MetadataEdit;

/// What a profile update writes beyond the profile, and what it closes.
/// A profile update never writes the login fields (`last_login`, `last_ip`,
/// `logins_count`): a login recorded while the update was prepared stays.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileWrite {
    /// The request sets the credential (a new password): write it;
    /// otherwise the stored one stays.
    pub credential: bool,
    /// The request sets the MFA enrollments: write them; otherwise the
    /// stored ones stay.
    pub mfa_factors: bool,
    /// Close the user's open tickets (see `tickets::update_closes_tickets`).
    pub close_tickets: bool,
    /// End the user's sessions (see `tickets::update_ends_sessions`).
    pub end_sessions: bool,
    /// `Some`: the metadata changes are applied to the documents stored
    /// when the update is written (compared and swapped, read again if they
    /// moved), not the documents of the profile given. `None`: the profile's
    /// documents are written as they are.
    pub metadata: Option<MetadataEdit>,
}

/// Storing password-change tickets.
#[async_trait::async_trait]
pub trait TicketStore: Send + Sync {
    /// Store a new ticket (its token hash, never the token) and, in the same
    /// transaction, close the user's oldest open tickets so that at most
    /// `max_open` stay open, the new one included. `false`: the ticket's
    /// user does not exist in the ticket's connection (and the ticket has
    /// no `pending_profile` to create them from); nothing stored.
    async fn insert_password_ticket(
        &self,
        tenant: &str,
        ticket: &PasswordTicket,
        max_open: usize,
    ) -> CoreResult<bool>;
    /// A ticket by the SHA-256 of its token, whatever its state.
    async fn get_password_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> CoreResult<Option<PasswordTicket>>;
    /// In one transaction: use the ticket if it is unused and not expired at
    /// epoch second `now`, set its user's credential (and `email_verified`
    /// when the ticket says so), and use up the user's other open tickets.
    /// Of two concurrent redemptions exactly one is `Done`. When the user is
    /// not stored and `create` is the ticket's user (a lazy reset: built
    /// from its `pending_profile`, credential included), it is inserted in
    /// the same transaction; if another user holds its id, email or
    /// username by then, nothing is written (`UserGone`).
    async fn redeem_password_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
        now: i64,
        credential: &str,
        create: Option<&User>,
    ) -> CoreResult<Redemption>;
    /// Replace a user as `UserStore::update_user` does and, in the same
    /// transaction, close every open ticket of theirs: what a new password,
    /// a new email or a block does to the links already sent. Either both
    /// happen or neither, and a ticket redeemed concurrently is either used
    /// before the change (which then overrides it) or refused after it.
    /// With `end_sessions` (a new password, a block: see
    /// `tickets::update_ends_sessions`) the user's browser and console
    /// sessions are deleted in the same transaction.
    async fn update_user_closing_tickets(
        &self,
        tenant: &str,
        user: &User,
        end_sessions: bool,
    ) -> CoreResult<Option<InsertOutcome>>;
    /// `PATCH /users/{id}`'s write: replace the user's profile as
    /// `update_user_closing_tickets` does (tickets closed, sessions ended
    /// as `w` says), but the credential and MFA enrollments only when `w`
    /// says the request sets them — a request that does not set a password must not
    /// write back the credential it read, undoing a reset that landed in
    /// between.
    async fn update_profile(
        &self,
        tenant: &str,
        user: &User,
        w: ProfileWrite,
    ) -> CoreResult<Option<InsertOutcome>>;
    /// Delete tickets (password-change and email-verification) of every
    /// tenant that expired before epoch second `before`.
    async fn purge_password_tickets(&self, before: i64) -> CoreResult<u64>;
    /// Delete the tenant's tickets used before `before` (ISO); how many.
    async fn purge_used_tickets(&self, tenant: &str, before: &str) -> CoreResult<u64>;
}
