//! `tern-net`: the one network policy for everything Tern reaches on a
//! tenant's behalf — custom-database scripts (`request`, `fetch`, `axios`,
//! `mysql`, `pg`), the HTTP connector and the SQL connector — and the
//! directories SQLite legacy databases may be opened from.
//!
//! [`NetworkPolicy`] decides on resolved addresses: public addresses are
//! allowed, loopback, link-local, private, unique-local, CGNAT, unspecified,
//! multicast and reserved ones (and Tern's own listeners) are refused unless
//! the operator allows them in `network.allow`. [`Network`] bundles the
//! policy with [`HttpClients`], whose requests connect only to checked
//! addresses, redirects included. [`SqliteDirs`] says which SQLite files a
//! connector may open.

#![warn(missing_docs)]

mod files;
mod http;
mod policy;

use std::sync::Arc;

pub use files::SqliteDirs;
pub use http::{HttpClients, Request, SendError};
pub use policy::{NetworkPolicy, Refusal, ResolveError, Rule, SETTING, Special, special_range};

/// A policy and the HTTP clients that obey it; cheap to clone, shared by
/// every script call and connector of a server.
#[derive(Debug, Clone, Default)]
pub struct Network {
    policy: Arc<NetworkPolicy>,
    http: Arc<HttpClients>,
}

impl Network {
    /// Everything under `policy`.
    pub fn new(policy: NetworkPolicy) -> Self {
        let policy = Arc::new(policy);
        Network {
            http: Arc::new(HttpClients::new(policy.clone())),
            policy,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &NetworkPolicy {
        &self.policy
    }

    /// HTTP under the policy.
    pub fn http(&self) -> &HttpClients {
        &self.http
    }

    /// Resolve and check `host:port`: connect only to the addresses returned.
    pub async fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Vec<std::net::SocketAddr>, ResolveError> {
        self.policy.resolve(host, port).await
    }
}
