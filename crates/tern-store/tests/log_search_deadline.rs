//! A log search's deadline reaches the database, as a user search's does
//! (`search_deadline.rs`): past it the store stops the statement and
//! answers `CoreError::Timeout`; with a deadline far off the answer is the
//! one without a deadline; the connection it ran on serves the searches
//! after it. The search compares a field of each event's body (`ip`), which
//! no index holds: the walk a deadline exists for.
//!
//! Made to outlast its deadline deterministically: on SQLite the deadline
//! has passed before the statement starts; on PostgreSQL another
//! transaction holds a lock on `logs`, so the statement waits until
//! `statement_timeout` cancels it.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use tern_core::CoreError;
use tern_core::log_search::parse_log_query;
use tern_core::model::{LogEvent, Tenant};
use tern_core::store::LogQuery;
use tern_core::store::prelude::*;
use tern_store::{Dialect, SqlStore};

const TENANT: &str = "ten_log_deadline";
const EVENTS: usize = 300;

async fn search(
    store: &SqlStore,
    deadline: Option<Instant>,
) -> Result<(Vec<String>, u64), CoreError> {
    let q = parse_log_query("ip:203.0.113.* AND NOT type:s").unwrap();
    let query = LogQuery {
        search: q.as_ref(),
        deadline,
        ..LogQuery::default()
    };
    let (events, total) = store.search_logs(TENANT, &query, 5, 20, 1000).await?;
    Ok((events.into_iter().map(|e| e.id).collect(), total))
}

fn far() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(600))
}

async fn scenario(store: SqlStore) {
    store
        .insert_tenant(&Tenant {
            id: TENANT.into(),
            name: "deadline".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
        })
        .await
        .unwrap();
    for i in 0..EVENTS {
        let mut ev = LogEvent::new(if i % 2 == 0 { "s" } else { "fp" }, "event");
        ev.ip = Some(
            if i % 3 == 0 {
                "203.0.113.9"
            } else {
                "198.51.100.1"
            }
            .into(),
        );
        store.append_log(TENANT, &ev).await.unwrap();
    }

    let unbounded = search(&store, None).await.unwrap();
    let bounded = search(&store, far()).await.unwrap();
    assert_eq!(bounded, unbounded);
    assert_eq!(bounded.1, 50, "odd multiples of 3");
    assert_eq!(bounded.0.len(), 20);

    let stopped = match store.dialect() {
        Dialect::Sqlite => search(&store, Some(Instant::now())).await,
        Dialect::Postgres => {
            let mut lock = store.pool().begin().await.unwrap();
            sqlx::query("LOCK TABLE logs IN ACCESS EXCLUSIVE MODE")
                .execute(&mut *lock)
                .await
                .unwrap();
            let deadline = Instant::now() + Duration::from_millis(300);
            let stopped =
                tokio::time::timeout(Duration::from_secs(10), search(&store, Some(deadline)))
                    .await
                    .expect("the store stops the search at its deadline");
            lock.rollback().await.unwrap();
            stopped
        }
    };
    assert!(
        matches!(stopped, Err(CoreError::Timeout)),
        "a timeout, not a page: {stopped:?}"
    );
    for _ in 0..12 {
        assert_eq!(search(&store, far()).await.unwrap(), unbounded);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_search_deadline_on_sqlite() {
    common::on_sqlite("tern_log_deadline", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_search_deadline_on_postgres() {
    common::on_postgres("tern_log_deadline", scenario).await;
}
