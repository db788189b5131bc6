//! Email-verification tickets, stored only as token hashes.

use crate::CoreResult;
use crate::email_verification::{VerificationRedemption, VerificationTicket};

/// Storing email-verification tickets.
#[async_trait::async_trait]
pub trait VerificationTicketStore: Send + Sync {
    /// Store a new ticket (its token hash, never the token). `false`: the
    /// ticket's user does not exist in the ticket's connection; nothing stored.
    async fn insert_verification_ticket(
        &self,
        tenant: &str,
        ticket: &VerificationTicket,
    ) -> CoreResult<bool>;
    /// A ticket by the SHA-256 of its token, whatever its state.
    async fn get_verification_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> CoreResult<Option<VerificationTicket>>;
    /// In one transaction: use the ticket if it is unused and not expired at
    /// epoch second `now`, and set its user's `email_verified` — only while
    /// the user is stored in the ticket's connection, created no later than
    /// the ticket, not blocked, and still has the ticket's address; otherwise
    /// nothing is written (`UserChanged`). Of two concurrent redemptions
    /// exactly one is `Done`.
    async fn redeem_verification_ticket(
        &self,
        tenant: &str,
        token_hash: &str,
        now: i64,
    ) -> CoreResult<VerificationRedemption>;
}
