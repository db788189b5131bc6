//! Mail kept in the store when no SMTP server is configured.

use crate::CoreResult;
use crate::mail::OutboxMessage;

/// Keeping mail in the outbox.
#[async_trait::async_trait]
pub trait OutboxStore: Send + Sync {
    /// Keep a message in the outbox (the mailer without SMTP).
    async fn insert_outbox(&self, tenant: &str, message: &OutboxMessage) -> CoreResult<()>;
    /// The outbox, oldest first.
    async fn list_outbox(
        &self,
        tenant: &str,
        offset: u64,
        limit: u64,
    ) -> CoreResult<Vec<OutboxMessage>>;
    /// Delete up to `limit` of the tenant's oldest messages kept before
    /// `before` (ISO); how many.
    async fn purge_outbox(&self, tenant: &str, before: &str, limit: u64) -> CoreResult<u64>;
}
