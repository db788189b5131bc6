//! Storage stays bounded: the background runner deletes what has outlived
//! its use — tenant log events after `retention.logs_days`, outbox mail
//! after `retention.outbox_days`, password tickets a day after they were
//! used — in batches of `retention.batch` rows, so a purge never holds a
//! long transaction or a lock on a busy table. (Expired tickets, sessions,
//! brute-force blocks, rate windows and IP throttles have purges of their
//! own, called beside this one.) Times come from the injectable clock.

use tern_core::CoreResult;

use crate::state::AppState;

/// Batches one call deletes at most per table: the rest waits for the next
/// round, so a backlog (a first run on a large log) is spread out.
const MAX_BATCHES: u32 = 100;

/// The ISO time `days` before now.
fn days_ago(s: &AppState, days: i64) -> String {
    let at = s.now() - days.max(0).saturating_mul(86_400);
    time::OffsetDateTime::from_unix_timestamp(at)
        .map(tern_core::clock::iso)
        .unwrap_or_default()
}

/// Repeat a batched delete until it deletes less than a batch; how many.
async fn in_batches<F, Fut>(batch: u64, mut delete: F) -> CoreResult<u64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = CoreResult<u64>>,
{
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let n = delete().await?;
        total += n;
        if n < batch {
            break;
        }
    }
    Ok(total)
}

/// One round of the purge; what it deleted (logs, outbox, tickets).
pub async fn purge(s: &AppState) -> (u64, u64, u64) {
    let r = s.config.retention;
    let batch = r.batch.max(1);
    let logs_before = days_ago(s, r.logs_days);
    let logs = in_batches(batch, || s.store.purge_logs(s.tid(), &logs_before, batch)).await;
    let outbox_before = days_ago(s, r.outbox_days);
    let outbox = in_batches(batch, || {
        s.store.purge_outbox(s.tid(), &outbox_before, batch)
    })
    .await;
    // A used link is kept a day, so a second click still reads "used".
    let tickets = s.store.purge_used_tickets(s.tid(), &days_ago(s, 1)).await;
    let mut counts = [0; 3];
    for (i, (what, done)) in [
        ("log events", logs),
        ("outbox mail", outbox),
        ("used tickets", tickets),
    ]
    .into_iter()
    .enumerate()
    {
        match done {
            Ok(n) => counts[i] = n,
            Err(e) => tracing::warn!(error = %e, "could not purge old {what}"),
        }
    }
    (counts[0], counts[1], counts[2])
}
