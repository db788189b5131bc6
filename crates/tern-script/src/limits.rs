//! Resource limits of one script call.

use std::time::Duration;

/// Limits applied to every script call. The defaults follow Auth0 (20 s, 100 KB source).
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
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            timeout: Duration::from_secs(20),
            memory_bytes: 64 * 1024 * 1024,
            stack_bytes: 1024 * 1024,
            max_source_bytes: 100 * 1024,
            max_console_bytes: 64 * 1024,
        }
    }
}
