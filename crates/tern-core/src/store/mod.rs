//! The persistence boundary. `tern-store` implements it for SQLite and
//! PostgreSQL; every method takes the tenant id first and every
//! implementation must scope every statement by it.
//!
//! One trait per entity (as lldap's backend handlers), each in its own
//! module; [`Store`] is their sum, the one object the server holds. Calling
//! a method needs its trait in scope: `use tern_core::store::prelude::*;`.

mod actions;
mod authorization_codes;
mod client_grants;
mod clients;
mod connections;
mod console_imports;
mod email_templates;
mod grants;
mod jobs;
mod login_failures;
mod login_transactions;
mod logs;
mod mfa;
mod outbox;
mod password_logins;
mod rate_windows;
mod resource_servers;
mod roles;
mod sessions;
mod signing_keys;
mod tenant_settings;
mod tenants;
mod tickets;
mod users;
mod verification_tickets;

pub use actions::{ActionStore, Replaced};
pub use authorization_codes::AuthorizationCodeStore;
pub use client_grants::ClientGrantStore;
pub use clients::ClientStore;
pub use connections::ConnectionStore;
pub use console_imports::ConsoleImportStore;
pub use email_templates::EmailTemplateStore;
pub use grants::GrantStore;
pub use jobs::JobStore;
pub use jobs::{BatchApplied, BatchGate, GateKey, ImportBatch, is_lease_lost, lease_lost};
pub use login_failures::{BlocksOf, FailedLogin, LoginAttempt, LoginFailureStore};
pub use login_transactions::LoginTransactionStore;
pub use logs::{LogQuery, LogStore};
pub use mfa::MfaStore;
pub use outbox::OutboxStore;
pub use password_logins::{PasswordLoginQuery, PasswordLoginReads, PasswordLoginStore};
pub use rate_windows::RateWindowStore;
pub use resource_servers::ResourceServerStore;
pub use roles::RoleStore;
pub use sessions::SessionStore;
pub use signing_keys::SigningKeyStore;
pub use tenant_settings::TenantSettingsStore;
pub use tenants::TenantStore;
pub use tickets::{ProfileWrite, TicketStore};
pub use users::UserStore;
pub use users::{InsertOutcome, LoginName, LoginRecord, UserPage, UserSearch};
pub use verification_tickets::VerificationTicketStore;

/// Persistence of everything a tenant owns.
pub trait Store:
    TenantStore
    + SigningKeyStore
    + ClientStore
    + ResourceServerStore
    + RoleStore
    + ClientGrantStore
    + ConnectionStore
    + UserStore
    + JobStore
    + TicketStore
    + VerificationTicketStore
    + OutboxStore
    + EmailTemplateStore
    + LogStore
    + LoginTransactionStore
    + SessionStore
    + AuthorizationCodeStore
    + GrantStore
    + TenantSettingsStore
    + RateWindowStore
    + LoginFailureStore
    + MfaStore
    + ConsoleImportStore
    + PasswordLoginStore
    + ActionStore
    + 'static
{
}

impl<T> Store for T where
    T: TenantStore
        + SigningKeyStore
        + ClientStore
        + ResourceServerStore
        + RoleStore
        + ClientGrantStore
        + ConnectionStore
        + UserStore
        + JobStore
        + TicketStore
        + VerificationTicketStore
        + OutboxStore
        + EmailTemplateStore
        + LogStore
        + LoginTransactionStore
        + SessionStore
        + AuthorizationCodeStore
        + GrantStore
        + TenantSettingsStore
        + RateWindowStore
        + LoginFailureStore
        + MfaStore
        + ConsoleImportStore
        + PasswordLoginStore
        + ActionStore
        + 'static
{
}

/// The entity traits, imported anonymously: `use tern_core::store::prelude::*;`
/// makes every [`Store`] method callable.
pub mod prelude {
    pub use super::ActionStore as _;
    pub use super::AuthorizationCodeStore as _;
    pub use super::ClientGrantStore as _;
    pub use super::ClientStore as _;
    pub use super::ConnectionStore as _;
    pub use super::ConsoleImportStore as _;
    pub use super::EmailTemplateStore as _;
    pub use super::GrantStore as _;
    pub use super::JobStore as _;
    pub use super::LogStore as _;
    pub use super::LoginFailureStore as _;
    pub use super::LoginTransactionStore as _;
    pub use super::MfaStore as _;
    pub use super::OutboxStore as _;
    pub use super::PasswordLoginStore as _;
    pub use super::RateWindowStore as _;
    pub use super::ResourceServerStore as _;
    pub use super::RoleStore as _;
    pub use super::SessionStore as _;
    pub use super::SigningKeyStore as _;
    pub use super::TenantSettingsStore as _;
    pub use super::TenantStore as _;
    pub use super::TicketStore as _;
    pub use super::UserStore as _;
    pub use super::VerificationTicketStore as _;
}
