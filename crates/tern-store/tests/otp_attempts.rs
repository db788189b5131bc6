//! One-time-code attempts against the real stores: `take_otp_attempt`
//! counts an attempt and answers the count in one statement, so attempts
//! racing for one user each get their own count (1, 2, … N, none twice: a
//! caller refusing counts past its limit compares no more than the limit);
//! a right code (`use_otp_step`) clears the count; a count older than the
//! window starts over; users are counted apart.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL`, in a fresh
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use futures_util::future::join_all;
use tern_core::model::Tenant;
use tern_core::store::prelude::*;
use tern_store::SqlStore;

const TENANT: &str = "ten_otp";
const USER: &str = "auth0|otp";
const OTHER: &str = "auth0|other";
const NOW: i64 = 1_767_225_600;
const WINDOW: i64 = 900;
const RACERS: i64 = 40;

async fn take(store: &SqlStore, user: &str, now: i64) -> i64 {
    store
        .take_otp_attempt(TENANT, user, now, now - WINDOW)
        .await
        .unwrap()
}

async fn scenario(store: SqlStore) {
    store
        .insert_tenant(&Tenant {
            id: TENANT.into(),
            name: "otp".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
        })
        .await
        .unwrap();

    // Racing attempts, each on its own task: every count once.
    let racers = (0..RACERS).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { take(&store, USER, NOW).await })
    });
    let mut counts: Vec<i64> = join_all(racers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=RACERS).collect::<Vec<_>>());

    // Another user is counted apart.
    assert_eq!(take(&store, OTHER, NOW).await, 1);

    // A right code clears the count (and is used once).
    assert!(store.use_otp_step(TENANT, USER, NOW / 30).await.unwrap());
    assert_eq!(take(&store, USER, NOW + 1).await, 1);
    assert!(!store.use_otp_step(TENANT, USER, NOW / 30).await.unwrap());
    assert_eq!(take(&store, USER, NOW + 2).await, 2);

    // Within the window the count goes on; past it, it starts over, and
    // the new window starts at that attempt.
    assert_eq!(take(&store, USER, NOW + WINDOW).await, 3);
    assert_eq!(take(&store, USER, NOW + WINDOW + 1).await, 1);
    assert_eq!(take(&store, USER, NOW + 2 * WINDOW + 1).await, 2);
    assert_eq!(take(&store, USER, NOW + 2 * WINDOW + 2).await, 1);
    assert_eq!(take(&store, OTHER, NOW + 1).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_attempts_on_sqlite() {
    common::on_sqlite("tern_otp", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_attempts_on_postgres() {
    common::on_postgres("tern_otp", scenario).await;
}
