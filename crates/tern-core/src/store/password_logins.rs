//! What a password login through the token endpoint reads before it looks
//! at the password, in one statement. Each of these reads is a point lookup
//! of its own entity (and each entity's trait can read it alone), but a
//! login's cost on PostgreSQL is mostly per statement — protocol messages,
//! a backend woken, executor start-up — not per row: seven statements
//! spent about seven times the database's CPU of one statement reading the
//! same rows (see the README's logins benchmark), and on SQLite each is a
//! hop to a connection's thread.

use crate::CoreResult;
use crate::mfa::GuardianSettings;
use crate::model::{Client, Connection, ResourceServer, User};
use crate::store::LoginName;

/// What to read: the request's own words, before anything is checked.
#[derive(Debug, Clone, Copy)]
pub struct PasswordLoginQuery<'a> {
    /// The client the request claims to be (it is authenticated from
    /// [`PasswordLoginReads::client`]).
    pub client_id: &'a str,
    /// The realm: the connection's name.
    pub connection_name: &'a str,
    /// The user as the identifier typed names them in that connection.
    pub login: LoginName<'a>,
    /// The API asked for (`audience`): an id or an identifier.
    pub audience: Option<&'a str>,
    /// The attack-protection documents' kinds: brute force, suspicious IP.
    pub protections: [&'a str; 2],
    /// The throttle to read: its stage and the end user's address.
    pub throttle: (&'a str, &'a str),
}

/// What was read; every part as its own entity's lookup would give it.
#[derive(Debug, Clone, Default)]
pub struct PasswordLoginReads {
    pub client: Option<Client>,
    pub connection: Option<Connection>,
    /// By id if one has it, else by identifier.
    pub api: Option<ResourceServer>,
    /// The stored attack-protection documents, in the query's order.
    pub protections: [Option<serde_json::Value>; 2],
    pub guardian: GuardianSettings,
    /// The address's throttle (`ip_throttle`).
    pub tat: Option<i64>,
    pub user: Option<User>,
}

/// The one-statement read of a password login.
#[async_trait::async_trait]
pub trait PasswordLoginStore: Send + Sync {
    async fn password_login_reads(
        &self,
        tenant: &str,
        q: &PasswordLoginQuery<'_>,
    ) -> CoreResult<PasswordLoginReads>;
}
