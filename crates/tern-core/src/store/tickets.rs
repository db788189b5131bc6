//! Password-change tickets (reset links), stored only as token hashes.

use crate::CoreResult;
use crate::tickets::{PasswordTicket, Redemption};

/// Storing password-change tickets.
#[async_trait::async_trait]
pub trait TicketStore: Send + Sync {
    /// Store a new ticket (its token hash, never the token).
    async fn insert_password_ticket(&self, tenant: &str, ticket: &PasswordTicket)
    -> CoreResult<()>;
    /// A ticket by the SHA-256 of its token, whatever its state.
    async fn get_password_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> CoreResult<Option<PasswordTicket>>;
    /// In one transaction: use the ticket if it is unused and not expired at
    /// epoch second `now`, set its user's credential (and `email_verified`
    /// when the ticket says so), and use up the user's other open tickets.
    /// Of two concurrent redemptions exactly one is `Done`.
    async fn redeem_password_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
        now: i64,
        credential: &str,
    ) -> CoreResult<Redemption>;
    /// Delete tickets of every tenant that expired before epoch second `before`.
    async fn purge_password_tickets(&self, before: i64) -> CoreResult<u64>;
}
