//! What an import run has seen so far: counters and findings shared by the
//! reader, the job tasks, the progress display and the final report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::lock;

#[derive(Default)]
pub struct Tally {
    /// Input bytes consumed by the reader.
    pub bytes_read: AtomicU64,
    /// Rows taken from the reader so far, and whether it has reached the end.
    pub rows_read: AtomicU64,
    pub reading_done: AtomicBool,
    /// Rows handed to a job (uploaded or waiting for a slot).
    pub submitted: AtomicU64,
    /// Rows processed by the server (estimate while jobs run) plus rows failed locally.
    pub applied: AtomicU64,
    pub inserted: AtomicU64,
    pub updated: AtomicU64,
    pub failed: AtomicU64,
    pub total: AtomicU64,
    pub jobs_done: AtomicU64,
    /// (original row index, printed line).
    pub errors: Mutex<Vec<(usize, String)>>,
    /// A reason to stop (exit 2).
    pub fatal: Mutex<Option<String>>,
    /// Shared with the API client, so its waits end too.
    pub stop: Arc<AtomicBool>,
    /// Plain progress lines (stderr is not a terminal).
    pub plain: bool,
    /// Rows read per password hash format (see `tern_core::import_file::hash_format`).
    pub formats: Mutex<BTreeMap<String, u64>>,
    /// Second factors carried over, by kind.
    pub factors: Mutex<BTreeMap<String, u64>>,
    /// Second factors an export holds but Tern could not carry, by reason.
    pub factors_left: Mutex<BTreeMap<String, u64>>,
    /// Rows whose roles `--no-roles` left out.
    pub roles_left_out: AtomicU64,
    /// A dry run's roles (the jobs' `summary.tern_roles`), together.
    pub dry_run_roles: Mutex<tern_core::model::DryRunRoles>,
}

impl Tally {
    pub fn set_fatal(&self, msg: String) {
        let mut f = lock(&self.fatal);
        if f.is_none() {
            *f = Some(msg);
        }
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Count what a row holds: its hash format, its second factors carried
    /// (by kind) and left behind (by reason).
    pub fn count(&self, facts: tern_core::import_file::RowFacts) {
        *lock(&self.formats).entry(facts.hash_format).or_default() += 1;
        let mut c = lock(&self.factors);
        for kind in facts.second_factors {
            *c.entry(kind).or_default() += 1;
        }
        drop(c);
        let mut l = lock(&self.factors_left);
        for reason in facts.left_behind {
            *l.entry(reason).or_default() += 1;
        }
    }

    /// Add a job's `summary.tern_roles` (a dry run's roles), if any.
    pub fn count_roles(&self, summary: &serde_json::Value) {
        let found = summary
            .get("tern_roles")
            .and_then(|r| serde_json::from_value(r.clone()).ok());
        if let Some(found) = found {
            lock(&self.dry_run_roles).add(&found);
        }
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub fn error_line(&self, index: usize, code: &str, path: &str, message: &str) {
        let line = if path.is_empty() {
            format!("row {index}: {code}: {message}")
        } else {
            format!("row {index}: {code} {path}: {message}")
        };
        lock(&self.errors).push((index, line));
    }

    /// A row that never reached the server (unparsable line, too large).
    pub fn local_failure(&self, index: usize, code: &str, message: &str) {
        self.error_line(index, code, "", message);
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
        self.applied.fetch_add(1, Ordering::Relaxed);
    }

    pub fn progress_line(&self) -> String {
        format!(
            "{} rows submitted, {} applied ({} inserted, {} updated, {} failed), {} jobs done",
            self.submitted.load(Ordering::Relaxed),
            self.applied.load(Ordering::Relaxed),
            self.inserted.load(Ordering::Relaxed),
            self.updated.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.jobs_done.load(Ordering::Relaxed),
        )
    }
}
