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
    /// The brute-force attempt to count in the same statement, when the
    /// store can (see [`AttemptAhead`]); `None`: counted apart, later.
    pub attempt: Option<AttemptAhead<'a>>,
}

/// A login attempt counted beside the reads, before the client has
/// authenticated: a hit on this minute's window of the found user's
/// bucket (`<user_id>|<ip>`, as `LoginFailureStore::attempt_login` counts
/// it) and whether a block of that user holds. Only for an address the
/// requester cannot choose (not `auth0-forwarded-for`, which is trusted
/// only once the client has authenticated), so a request that fails counts
/// against no one but its own address; and only for the user spelled
/// exactly as typed, with the connection's `brute_force_protection` on.
/// PostgreSQL counts it (a statement there costs the database more than
/// its rows); SQLite leaves it to `attempt_login`.
#[derive(Debug, Clone, Copy)]
pub struct AttemptAhead<'a> {
    /// The end user's address (the bucket's and the block's).
    pub ip: &'a str,
    /// This minute's window.
    pub window_start: i64,
    /// Blocks younger than this hold.
    pub blocked_since: i64,
}

/// What the store answered for an [`AttemptAhead`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptCounted {
    /// The bucket hit: `<user_id>|<ip>` of the user spelled exactly.
    pub bucket: String,
    /// The window's hits, this one included.
    pub hits: u64,
    /// A block of the user from this address holds.
    pub blocked_here: bool,
    /// A block of the user from every address (counted per identifier) holds.
    pub blocked_everywhere: bool,
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
    /// The attempt counted, when one was asked for and counted.
    pub attempt: Option<AttemptCounted>,
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
