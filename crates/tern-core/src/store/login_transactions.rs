//! Login transactions of the hosted pages (see `login_transaction`).

use crate::CoreResult;
use crate::login_transaction::LoginTransaction;

/// Storing login transactions.
#[async_trait::async_trait]
pub trait LoginTransactionStore: Send + Sync {
    /// Store a new transaction.
    async fn insert_login_transaction(&self, tenant: &str, t: &LoginTransaction) -> CoreResult<()>;
    /// A transaction by id, expired or not (the caller decides).
    async fn get_login_transaction(
        &self,
        tenant: &str,
        id: &str,
    ) -> CoreResult<Option<LoginTransaction>>;
    /// Replace its request and step (the cookie binding and id never change).
    async fn update_login_transaction(&self, tenant: &str, t: &LoginTransaction) -> CoreResult<()>;
    /// Delete it; `true` for the one caller that deleted it, so finishing a
    /// transaction happens once even when two requests race.
    async fn delete_login_transaction(&self, tenant: &str, id: &str) -> CoreResult<bool>;
    /// Delete transactions of every tenant that expired before epoch second `before`.
    async fn purge_login_transactions(&self, before: i64) -> CoreResult<u64>;
}
