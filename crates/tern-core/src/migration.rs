//! Migration visibility (a Tern extension): how a connection's users arrived,
//! how many still wait for a credential, and which hash schemes their
//! credentials use — the numbers an operator watches while a legacy store
//! is drained.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::model::UserSource;

/// Users of one arrival source, as counted by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCount {
    /// The stored source name (`UserSource::as_str`).
    pub source: String,
    /// Users.
    pub users: u64,
    /// Of which without a credential.
    pub without_credential: u64,
    /// Earliest `created_at`.
    pub first_at: Option<String>,
    /// Latest `created_at`.
    pub last_at: Option<String>,
}

/// Credentials grouped by a storage-string prefix that never splits one
/// scheme's strings by salt; `sample` is one of them (to name the scheme,
/// never shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialGroup {
    /// Users in the group.
    pub users: u64,
    /// One stored credential of the group.
    pub sample: String,
}

/// What the store counts for a connection's migration report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationStats {
    /// Per source.
    pub sources: Vec<SourceCount>,
    /// Per credential prefix.
    pub credentials: Vec<CredentialGroup>,
}

/// One source's line of the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceLine {
    /// Users who arrived this way.
    pub users: u64,
    /// The first arrival.
    pub first_at: Option<String>,
    /// The latest arrival.
    pub last_at: Option<String>,
}

/// The migration report of one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// Every user of the connection.
    pub total_users: u64,
    /// Users per arrival source: `lazy_login`, `lazy_reset`, `bulk_import`,
    /// `signup`, `api` (always present) and `legacy` (shadow records of a
    /// connection with import mode off, when there are any).
    pub sources: BTreeMap<String, SourceLine>,
    /// Users without a credential: imported without a hash, created by an
    /// unfinished reset, or kept for a legacy store that stays authoritative.
    pub awaiting_credential: u64,
    /// Credentials per hash scheme (`bcrypt`, `argon2id`, `md5-crypt`, …;
    /// `unreadable` for a stored string no scheme recognises).
    pub credentials_by_scheme: BTreeMap<String, u64>,
    /// The first user that migrated (lazy login, lazy reset or bulk import).
    pub first_migration_at: Option<String>,
    /// The latest one.
    pub last_migration_at: Option<String>,
}

const ALWAYS_LISTED: [UserSource; 5] = [
    UserSource::LazyLogin,
    UserSource::LazyReset,
    UserSource::BulkImport,
    UserSource::Signup,
    UserSource::Api,
];

const MIGRATIONS: [UserSource; 3] = [
    UserSource::LazyLogin,
    UserSource::LazyReset,
    UserSource::BulkImport,
];

/// Build the report from the store's counts, naming each credential group's
/// scheme with `tern-hash`.
pub fn report(stats: &MigrationStats) -> MigrationReport {
    let mut r = MigrationReport::default();
    for s in ALWAYS_LISTED {
        r.sources
            .insert(s.as_str().to_string(), SourceLine::default());
    }
    for c in &stats.sources {
        r.total_users += c.users;
        r.awaiting_credential += c.without_credential;
        let line = r.sources.entry(c.source.clone()).or_default();
        line.users += c.users;
        line.first_at = min_opt(line.first_at.take(), c.first_at.clone());
        line.last_at = max_opt(line.last_at.take(), c.last_at.clone());
        if MIGRATIONS.iter().any(|m| m.as_str() == c.source) {
            r.first_migration_at = min_opt(r.first_migration_at.take(), c.first_at.clone());
            r.last_migration_at = max_opt(r.last_migration_at.take(), c.last_at.clone());
        }
    }
    for g in &stats.credentials {
        let scheme = tern_hash::StoredHash::parse(&g.sample)
            .map(|h| h.scheme().name().to_string())
            .unwrap_or_else(|_| "unreadable".into());
        *r.credentials_by_scheme.entry(scheme).or_default() += g.users;
    }
    r
}

/// Why a login through a legacy store failed, as the console groups the
/// tenant log's failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCause {
    /// The legacy store (or Tern's own check) said the password is wrong.
    WrongPassword,
    /// The legacy store could not be reached or did not answer in time.
    LegacyDown,
    /// A custom-database script threw, timed out or reported an error.
    ScriptError,
    /// The legacy store answered, but Tern refused the answer (no stable
    /// id, an id or email that belongs to another user).
    RefusedAnswer,
}

impl FailureCause {
    /// All causes, in the order pages list them.
    pub const ALL: [FailureCause; 4] = [
        Self::LegacyDown,
        Self::WrongPassword,
        Self::RefusedAnswer,
        Self::ScriptError,
    ];
    /// What an operator reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::WrongPassword => "Wrong password",
            Self::LegacyDown => "Legacy store down",
            Self::ScriptError => "Script error",
            Self::RefusedAnswer => "Refused answer",
        }
    }
}

/// The cause of a failed-login log event (`f`, `fp`, `fu`) from its type
/// and the description the login path wrote (`lazy`, `legacy_script`, the
/// connectors); `None` for failures that are not about the legacy store
/// (a blocked user, a busy server).
pub fn failure_cause(kind: &str, description: &str) -> Option<FailureCause> {
    let d = description;
    if matches!(kind, "fp" | "fu") {
        return Some(FailureCause::WrongPassword);
    }
    if kind != "f" {
        return None;
    }
    if d.contains("unusable profile")
        || d.contains("refusing to merge")
        || d.contains("could not be kept")
        || d.contains("not migrated twice")
        || d.contains("belongs to")
    {
        Some(FailureCause::RefusedAnswer)
    } else if d.contains(" script failed") || d.contains(" script reported an error") {
        Some(FailureCause::ScriptError)
    } else if d.starts_with("Legacy login failed") {
        Some(FailureCause::LegacyDown)
    } else {
        None
    }
}

// Times are fixed-width ISO strings: text order is time order.
fn min_opt(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(source: &str, users: u64, without: u64, first: &str, last: &str) -> SourceCount {
        SourceCount {
            source: source.into(),
            users,
            without_credential: without,
            first_at: Some(first.into()),
            last_at: Some(last.into()),
        }
    }

    #[test]
    fn failures_are_grouped_by_cause() {
        use FailureCause::*;
        let cause = failure_cause;
        assert_eq!(
            cause("fp", "Wrong email or password. (legacy store)"),
            Some(WrongPassword)
        );
        assert_eq!(
            cause(
                "f",
                "Legacy login failed; nothing was stored: the login script failed after 5 ms: Error: boom"
            ),
            Some(ScriptError)
        );
        assert_eq!(
            cause(
                "f",
                "Legacy login failed; nothing was stored: SQL connector: cannot connect"
            ),
            Some(LegacyDown)
        );
        assert_eq!(
            cause(
                "f",
                "Legacy login failed; nothing was stored: unusable profile: no user_id"
            ),
            Some(RefusedAnswer)
        );
        assert_eq!(cause("f", "user is blocked"), None);
        assert_eq!(cause("s", "Success Login"), None);
    }

    #[test]
    fn schemes_are_named_and_merged_and_migration_times_span_migrating_sources() {
        let stats = MigrationStats {
            sources: vec![
                count(
                    "lazy_login",
                    3,
                    0,
                    "2024-01-02T00:00:00.000Z",
                    "2024-03-01T00:00:00.000Z",
                ),
                count(
                    "bulk_import",
                    2,
                    1,
                    "2024-01-01T00:00:00.000Z",
                    "2024-01-01T00:00:00.000Z",
                ),
                count(
                    "api",
                    1,
                    0,
                    "2023-01-01T00:00:00.000Z",
                    "2025-01-01T00:00:00.000Z",
                ),
            ],
            credentials: vec![
                // bcrypt of "hello" from Auth0's docs, and the same string under the
                // $2a$ prefix: two groups, one scheme (only identified, never verified).
                CredentialGroup {
                    users: 2,
                    sample: "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K".into(),
                },
                CredentialGroup {
                    users: 1,
                    sample: "$2a$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K".into(),
                },
                CredentialGroup {
                    users: 1,
                    sample: "not a hash".into(),
                },
            ],
        };
        let r = report(&stats);
        assert_eq!(r.total_users, 6);
        assert_eq!(r.awaiting_credential, 1);
        assert_eq!(r.sources["lazy_login"].users, 3);
        assert_eq!(r.sources["signup"].users, 0, "every source is listed");
        assert_eq!(r.credentials_by_scheme.get("bcrypt"), Some(&3));
        assert_eq!(r.credentials_by_scheme.get("unreadable"), Some(&1));
        assert_eq!(
            r.first_migration_at.as_deref(),
            Some("2024-01-01T00:00:00.000Z")
        );
        assert_eq!(
            r.last_migration_at.as_deref(),
            Some("2024-03-01T00:00:00.000Z"),
            "api users are not migrations"
        );
    }
}
