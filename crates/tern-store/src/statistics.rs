//! Planner statistics during bulk imports (PostgreSQL).
//!
//! An import can grow `users` from nothing to a hundred thousand rows in less
//! time than autovacuum takes to notice (its naptime is a minute). Until
//! then the planner believes the table is as small as when it last looked:
//! with no statistics it rates every `(tenant_id, connection_id, …)` index as
//! good as any other and picked one that filters 20 000 rows per lookup, so
//! each batch's duplicate check took linearly longer (measured: 100 ms more
//! per 500 imported rows). Once the statistics describe a non-trivial table,
//! the planner scales them by the table's current size on its own, so a few
//! analyses suffice: one after the first batch, then each time an import has
//! grown the table eightfold since the last one (3 runs over 100 000 users
//! into an empty table). ANALYZE also invalidates the plans cached on every
//! pooled connection, so they are re-planned.
//!
//! Only batches that look users up need the statistics (upserts, dry runs, a
//! batch planned again after a collision); an insert-only import's
//! optimistic batches do no lookups, so an analysis that falls due during
//! one waits, counted, for the next batch that does.
//!
//! SQLite plans `IN (SELECT … FROM json_each(…))` from its indexes without
//! statistics and needs none of this.

use std::sync::Mutex;

/// Rows written before the first analysis (so: after a job's first batch). The wrong plan
/// already cost 100 ms a batch at 1 000 rows; ANALYZE of 500 rows costs ~5 ms.
const FIRST_ANALYZE_AFTER: u64 = 500;

/// Growth since the last analysis that calls for another.
const GROWTH: u64 = 8;

/// How many users were written since the last `ANALYZE users`, and how many
/// that analysis saw.
#[derive(Debug, Default)]
pub(crate) struct ImportStatistics {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    written_since: u64,
    seen_at_last: u64,
}

impl ImportStatistics {
    /// Count `written` new users; true when the table should be analyzed
    /// (and it stays so until [`Self::analyzed`]).
    pub(crate) fn record(&self, written: u64) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        s.written_since += written;
        s.written_since >= FIRST_ANALYZE_AFTER.max(s.seen_at_last.saturating_mul(GROWTH - 1))
    }

    /// After an analysis: the rows it counted.
    pub(crate) fn analyzed(&self, rows: u64) {
        if let Ok(mut s) = self.state.lock() {
            s.seen_at_last = rows;
            s.written_since = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyses_run_after_the_first_batch_then_each_eightfold_growth() {
        let s = ImportStatistics::default();
        let mut total = 0;
        let mut at = Vec::new();
        for _ in 0..200 {
            total += 500;
            if s.record(500) {
                at.push(total);
                s.analyzed(total);
            }
        }
        assert_eq!(at, vec![500, 4_000, 32_000]);
    }

    #[test]
    fn a_large_table_is_analyzed_once_early_then_when_it_grows_eightfold() {
        let s = ImportStatistics::default();
        assert!(!s.record(400));
        assert!(s.record(100), "the first analysis learns the table's size");
        s.analyzed(1_000_000);
        assert!(!s.record(6_900_000));
        assert!(s.record(100_000));
    }

    #[test]
    fn a_due_analysis_stays_due_until_it_runs() {
        let s = ImportStatistics::default();
        assert!(s.record(500));
        assert!(s.record(500), "skipped (an optimistic batch), still due");
        s.analyzed(1_000);
        assert!(!s.record(500));
    }
}
