//! Suspicious-IP throttles against the real stores: `take_ip_throttle`
//! admits and counts an attempt in one statement, so attempts racing for
//! one address are admitted up to the bucket's size and no further; a
//! refused attempt leaves the bucket as it was (its refill is not delayed);
//! the bucket grants one attempt back per rate as time (the `now_ms` the
//! caller's clock gives) passes, never more than it holds; addresses,
//! stages and tenants are counted apart.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL`, in a fresh
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use futures_util::future::join_all;
use tern_core::model::Tenant;
use tern_core::store::prelude::*;
use tern_store::SqlStore;

const TENANT: &str = "ten_throttle";
const OTHER_TENANT: &str = "ten_throttle_other";
const STAGE: &str = "pre-user-registration";
const IP: &str = "203.0.113.5";
const NOW: i64 = 1_767_225_600_000;
const RATE: i64 = 1_000;
/// A bucket of 5: it may lie up to 4 rates ahead and still take one.
const MAX_ATTEMPTS: i64 = 5;
const TOLERANCE: i64 = (MAX_ATTEMPTS - 1) * RATE;
const RACERS: usize = 30;

async fn take_in(store: &SqlStore, tenant: &str, stage: &str, ip: &str, now: i64) -> Option<i64> {
    store
        .take_ip_throttle(tenant, stage, ip, now, RATE, TOLERANCE)
        .await
        .unwrap()
}

async fn take(store: &SqlStore, now: i64) -> Option<i64> {
    take_in(store, TENANT, STAGE, IP, now).await
}

async fn bucket(store: &SqlStore) -> Option<i64> {
    store.ip_throttle(TENANT, STAGE, IP).await.unwrap()
}

async fn scenario(store: SqlStore) {
    for id in [TENANT, OTHER_TENANT] {
        store
            .insert_tenant(&Tenant {
                id: id.into(),
                name: id.into(),
                created_at: "2026-01-01T00:00:00.000Z".into(),
            })
            .await
            .unwrap();
    }

    // Racing attempts, each on its own task: exactly the bucket's size is
    // admitted, each moving the bucket one rate on.
    let racers = (0..RACERS).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { take(&store, NOW).await })
    });
    let answers: Vec<Option<i64>> = join_all(racers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let mut taken: Vec<i64> = answers.iter().flatten().copied().collect();
    taken.sort_unstable();
    assert_eq!(
        taken,
        (1..=MAX_ATTEMPTS)
            .map(|n| NOW + n * RATE)
            .collect::<Vec<_>>(),
        "{answers:?}"
    );
    // The refused ones did not move it.
    assert_eq!(bucket(&store).await, Some(NOW + MAX_ATTEMPTS * RATE));
    assert_eq!(take(&store, NOW).await, None);
    assert_eq!(bucket(&store).await, Some(NOW + MAX_ATTEMPTS * RATE));

    // Another address, stage or tenant has its own bucket.
    let fresh = Some(NOW + RATE);
    assert_eq!(
        take_in(&store, TENANT, STAGE, "203.0.113.6", NOW).await,
        fresh
    );
    assert_eq!(take_in(&store, TENANT, "pre-login", IP, NOW).await, fresh);
    assert_eq!(take_in(&store, OTHER_TENANT, STAGE, IP, NOW).await, fresh);
    assert_eq!(bucket(&store).await, Some(NOW + MAX_ATTEMPTS * RATE));

    // One rate grants one attempt back: not a millisecond before.
    assert_eq!(take(&store, NOW + RATE - 1).await, None);
    assert_eq!(
        take(&store, NOW + RATE).await,
        Some(NOW + (MAX_ATTEMPTS + 1) * RATE)
    );
    assert_eq!(take(&store, NOW + RATE).await, None);

    // Idle long enough, the bucket is full again and holds no more than
    // its size: a burst then gets exactly `MAX_ATTEMPTS`.
    let later = NOW + 100 * RATE;
    for n in 1..=MAX_ATTEMPTS {
        assert_eq!(take(&store, later).await, Some(later + n * RATE));
    }
    assert_eq!(take(&store, later).await, None);

    // A bucket of one (no tolerance) takes one attempt per rate.
    let single = |now| store.take_ip_throttle(TENANT, STAGE, "192.0.2.1", now, RATE, 0);
    assert_eq!(single(NOW).await.unwrap(), Some(NOW + RATE));
    assert_eq!(single(NOW + RATE - 1).await.unwrap(), None);
    assert_eq!(single(NOW + RATE).await.unwrap(), Some(NOW + 2 * RATE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_throttles_on_sqlite() {
    common::on_sqlite("tern_ipthrottle", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_throttles_on_postgres() {
    common::on_postgres("tern_ipthrottle", scenario).await;
}
