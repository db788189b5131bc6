//! Reading the tenant log on from a checkpoint over a log written before
//! migration 0047 (PostgreSQL: each event's transaction id, by which
//! checkpoints are read in an order no late commit can break): the events
//! stored before it are read in the order they were written, all of them
//! before the events written after it — those of the tenant log's insert and
//! of a login's one-statement record alike — and a checkpoint anywhere among
//! them reads on from there.
#![allow(clippy::unwrap_used)]

mod common;

use common::Before;
use tern_core::model::LogEvent;
use tern_core::store::LoginRecord;
use tern_core::store::prelude::*;
use tern_store::SqlStore;

const TENANT: &str = "ten_log_checkpoints";
/// Events stored before the migration.
const OLD: usize = 30_000;

/// `OLD` events as an earlier version stored them: ids beginning with
/// their time, one microsecond apart, written in id order.
const EARLIER: Before = Before {
    version: 46,
    sql: "INSERT INTO tenants (id, name, created_at) \
            VALUES ('ten_log_checkpoints', 't', '2020-01-01T00:00:00.000Z'); \
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000), \
            ev(i, id) AS (SELECT i, CAST(1765000000000000000 + i * 1000 AS TEXT) || 'oldEvent' FROM n) \
          INSERT INTO logs (tenant_id, id, type, date, body, user_id) \
          SELECT 'ten_log_checkpoints', id, 's', '2025-12-06T05:46:40.000Z', \
            '{\"log_id\":\"' || id || '\",\"date\":\"2025-12-06T05:46:40.000Z\",\"type\":\"s\",\"description\":\"old ' || i || '\"}', \
            NULL FROM ev ORDER BY i;",
};

/// The descriptions of the first `want` events after `from`, read on 100
/// at a time as an exporter does. PostgreSQL holds
/// back events younger than a transaction open anywhere in the cluster (a
/// concurrent test's), so an empty page is asked again.
async fn read_on(store: &SqlStore, from: &str, want: usize) -> Vec<String> {
    let mut from = from.to_string();
    let mut read = Vec::new();
    let mut empty = 0;
    while read.len() < want {
        let page = store.logs_after(TENANT, &from, 100).await.unwrap();
        match page.last() {
            Some(last) => from = last.id.clone(),
            None => {
                empty += 1;
                // Two minutes: the cluster is shared with other work (a
                // migration over a million rows holds a transaction about
                // a minute).
                assert!(empty < 2_400, "never read on past {} events", read.len());
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        read.extend(page.into_iter().map(|e| e.description.unwrap_or_default()));
    }
    read.truncate(want);
    read
}

async fn scenario(store: SqlStore) {
    let old_id = |i: usize| format!("{}oldEvent", 1_765_000_000_000_000_000u64 + i as u64 * 1000);
    // Written after the migration: through the log's insert and through a
    // login's record (one statement with the user's row).
    let mut new = Vec::new();
    for i in 0..3 {
        let ev = LogEvent::new("s", format!("new {i}"));
        store.append_log(TENANT, &ev).await.unwrap();
        new.push(ev);
    }
    let login = LogEvent::new("s", "new login");
    store
        .record_login(
            TENANT,
            &LoginRecord {
                user_id: "auth0|nobody",
                at: &login.date,
                ip: None,
                new_credential: None,
                replaces_credential: None,
                forget_failures_from: None,
                event: &login,
            },
        )
        .await
        .unwrap();

    let expected: Vec<String> = (2..=OLD)
        .map(|i| format!("old {i}"))
        .chain((0..3).map(|i| format!("new {i}")))
        .chain(["new login".to_string()])
        .collect();
    let read = read_on(&store, &old_id(1), expected.len()).await;
    assert_eq!(read.len(), expected.len());
    let first_wrong = read.iter().zip(&expected).position(|(a, b)| a != b);
    assert_eq!(first_wrong, None, "read in the order written");

    // A checkpoint among the old events, and the last of them.
    let read = read_on(&store, &old_id(OLD - 2), 3).await;
    assert_eq!(
        read,
        [
            format!("old {}", OLD - 1),
            format!("old {OLD}"),
            "new 0".into()
        ]
    );
    let read = read_on(&store, &old_id(OLD), 4).await;
    assert_eq!(read, ["new 0", "new 1", "new 2", "new login"]);
    // Nothing after the last one.
    assert!(
        store
            .logs_after(TENANT, &login.id, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checkpoints_read_a_log_written_before() {
    common::on_sqlite_before("log_checkpoints", Some(EARLIER), scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_checkpoints_read_a_log_written_before() {
    common::on_postgres_before("log_checkpoints", Some(EARLIER), scenario).await;
}

/// A log copied from another PostgreSQL cluster (a dump restored, logical
/// replication) carries that cluster's transaction ids, which may be ahead
/// of this one's: its events would sort after every event written here
/// and stay past the horizon until this cluster's ids caught up. The
/// server's start settles them before the events written here.
async fn copied(store: SqlStore) {
    use sqlx::AssertSqlSafe;
    let mut events = Vec::new();
    for i in 0..3 {
        let ev = LogEvent::new("s", format!("event {i}"));
        store.append_log(TENANT, &ev).await.unwrap();
        events.push(ev);
    }
    // The first two as a cluster a million transactions ahead wrote them.
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE logs SET tx = (pg_current_xact_id()::text::bigint + 1000000)::text::xid8 \
         WHERE id IN ('{}', '{}')",
        events[0].id, events[1].id
    )))
    .execute(store.pool())
    .await
    .unwrap();
    assert!(
        store
            .logs_after(TENANT, &events[0].id, 10)
            .await
            .unwrap()
            .is_empty(),
        "unsettled, the copied events are held back and the ones written here skipped"
    );
    assert_eq!(store.settle_copied_log(TENANT).await.unwrap(), 2);
    assert_eq!(store.settle_copied_log(TENANT).await.unwrap(), 0, "once");
    let read = read_on(&store, &events[0].id, 2).await;
    assert_eq!(read, ["event 1", "event 2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_log_copied_from_another_cluster_is_settled() {
    common::on_postgres_before(
        "log_copied",
        Some(Before {
            version: 1,
            sql: "INSERT INTO tenants (id, name, created_at) \
                  VALUES ('ten_log_checkpoints', 't', '2020-01-01T00:00:00.000Z')",
        }),
        copied,
    )
    .await;
}
