//! Resource limits of one script call.

use std::time::Duration;

/// Limits applied to every script call. The defaults follow Auth0 (20 s, 100 KB source).
///
/// Beside the QuickJS heap, the host side of a call is bounded too: what it
/// receives from the network, how many host requests it runs at once, how
/// many rows one query returns. Everything it started is cancelled when the
/// call ends — at its callback, at its deadline, or when the caller stops
/// waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptLimits {
    /// Wall-clock limit from the start of the call to the first callback, enforced inside
    /// busy loops and promise jobs by the QuickJS interrupt handler and on every host
    /// operation (HTTP, database, bcrypt) as a timeout of the remaining time.
    pub timeout: Duration,
    /// QuickJS heap limit in bytes (also caps HTTP response bodies the host will buffer).
    pub memory_bytes: usize,
    /// Maximum JavaScript stack size in bytes; the script thread gets this plus headroom.
    pub stack_bytes: usize,
    /// Maximum script source size in bytes.
    pub max_source_bytes: usize,
    /// Maximum bytes of captured console output; later output is dropped after a marker.
    pub max_console_bytes: usize,
    /// Bytes the call may receive in all: HTTP response bodies and database
    /// row values together. The request or query that would pass it fails
    /// with `code: "ERESPONSETOOLARGE"`.
    pub max_received_bytes: usize,
    /// Host requests (HTTP requests, database commands, bcrypt, synchronous
    /// or not) running at once; more wait for a slot within the deadline,
    /// and past [`MAX_WAITING_PER_SLOT`] waiting per slot a new one fails at
    /// once (`code: "EMFILE"`), as does one that would make the requests
    /// pending hold more than `memory_bytes` (`code: "ENOBUFS"`). None
    /// starts after the deadline; bcrypt abandoned at the deadline keeps its
    /// slot until it returns. Also the number of database connections a call
    /// may open.
    pub max_concurrent_requests: usize,
    /// Rows one query may return; a query returning more fails with
    /// `code: "ETOOMANYROWS"` (reading stops there).
    pub max_rows_per_query: usize,
}

/// Requests that may wait per concurrent slot before new ones are refused.
pub const MAX_WAITING_PER_SLOT: usize = 8;

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            timeout: Duration::from_secs(20),
            memory_bytes: 64 * 1024 * 1024,
            stack_bytes: 1024 * 1024,
            max_source_bytes: 100 * 1024,
            max_console_bytes: 64 * 1024,
            max_received_bytes: 16 * 1024 * 1024,
            max_concurrent_requests: 8,
            max_rows_per_query: 10_000,
        }
    }
}
