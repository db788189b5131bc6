//! Tern's domain: the things an identity server is made of (tenants, applications,
//! APIs, connections, users, tenant logs), the rules they obey, and the `Store`
//! trait that persists them.
//!
//! Architecture invariant: no HTTP and no SQL in this crate. Handlers in
//! `tern-server` parse requests and call into here; `tern-store` implements
//! [`store::Store`].

pub mod access_metadata;
pub mod actions;
pub mod attack_protection;
pub mod clock;
pub mod common_passwords;
pub mod console_import;
pub mod device;
pub mod email_templates;
pub mod email_verification;
pub mod error;
pub mod export;
pub mod grants;
pub mod ids;
pub mod import;
pub mod import_file;
pub mod import_job;
pub mod ip_throttling;
pub mod legacy;
pub mod liquid_budget;
pub mod log_filter;
pub mod log_search;
pub mod login;
pub mod login_transaction;
pub mod mail;
pub mod mfa;
pub mod migration;
pub mod model;
pub mod password_policy;
pub mod retry;
pub mod roles;
pub mod search;
pub mod sso;
pub mod store;
pub mod tenant_settings;
pub mod tickets;
pub mod url_match;
pub mod user_profile;
pub mod users;

pub use error::{CoreError, CoreResult};
