//! A user search's deadline reaches the database: past it the store stops
//! the statement and answers `CoreError::Timeout` (rather than a page, or
//! rather than walking on), the database runs nothing of it any more, and
//! the connection it ran on serves the searches after it. Searches with a
//! deadline answer what searches without one answer.
//!
//! The search is made to outlast its deadline deterministically, not by
//! millions of users: on SQLite the deadline has passed before the
//! statement starts (the progress handler stops it at its first look at the
//! clock); on PostgreSQL another transaction holds a lock on `users`, so
//! the statement waits until `statement_timeout` cancels it.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), in a fresh, uniquely named
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use sqlx::Row;
use tern_core::CoreError;
use tern_core::model::{Tenant, User};
use tern_core::search::parse_query;
use tern_core::store::prelude::*;
use tern_core::store::{UserPage, UserSearch};
use tern_store::{Dialect, SqlStore};

const TENANT: &str = "ten_deadline";
const USERS: usize = 300;
/// Walks every user: a field-less wildcard is a `LIKE` over six columns.
const WALK_ALL: &str = "*izz*";

fn user(i: usize) -> User {
    User {
        email: Some(format!("user{i}@example.com")),
        name: Some(format!("User {i}")),
        nickname: Some(if i.is_multiple_of(3) { "fizz" } else { "plain" }.into()),
        ..common::bare_user(
            format!("auth0|d{i:04}"),
            "con_deadline000000",
            format!("2026-01-01T00:{:02}:{:02}.000Z", i / 60, i % 60),
        )
    }
}

async fn search(
    store: &SqlStore,
    q: &str,
    deadline: Option<Instant>,
) -> Result<UserPage, CoreError> {
    store
        .search_users(
            TENANT,
            &UserSearch {
                query: Some(parse_query(q).unwrap()),
                sort: None,
                offset: 10,
                limit: 50,
                total_up_to: Some(1000),
                deadline,
            },
        )
        .await
}

/// Ids and total of a page.
fn ids(page: &UserPage) -> (Vec<&str>, u64) {
    (
        page.users.iter().map(|u| u.user_id.as_str()).collect(),
        page.total,
    )
}

fn far() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(600))
}

/// Statements of this database's searches PostgreSQL is running now.
async fn searches_running(store: &SqlStore) -> i64 {
    sqlx::query(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND state = 'active' AND query LIKE '%FROM users%' AND pid <> pg_backend_pid()",
    )
    .fetch_one(store.pool())
    .await
    .unwrap()
    .get::<i64, _>(0)
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
    for i in 0..USERS {
        store.insert_user(TENANT, &user(i)).await.unwrap();
    }

    // With a deadline far off, the same answer as without one.
    let unbounded = search(&store, WALK_ALL, None).await.unwrap();
    let bounded = search(&store, WALK_ALL, far()).await.unwrap();
    assert_eq!(ids(&bounded), ids(&unbounded));
    assert_eq!(bounded.total, 100, "every third user is a fizz");

    // A search past its deadline is stopped.
    let stopped = match store.dialect() {
        Dialect::Sqlite => search(&store, WALK_ALL, Some(Instant::now())).await,
        Dialect::Postgres => {
            let mut lock = store.pool().begin().await.unwrap();
            sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
                .execute(&mut *lock)
                .await
                .unwrap();
            let deadline = Instant::now() + Duration::from_millis(300);
            // Without the deadline in the database the search would wait
            // for the lock as long as it is held.
            let stopped = tokio::time::timeout(
                Duration::from_secs(10),
                search(&store, WALK_ALL, Some(deadline)),
            )
            .await
            .expect("the store stops the search at its deadline");
            assert_eq!(
                searches_running(&store).await,
                0,
                "nothing of the search runs once the store has answered"
            );
            lock.rollback().await.unwrap();
            stopped
        }
    };
    assert!(
        matches!(stopped, Err(CoreError::Timeout)),
        "a timeout, not a page: {:?}",
        stopped.as_ref().map(ids)
    );

    // The connections it ran on serve every search after it (more searches
    // than the search pool has connections, so the stopped one is among
    // them): rolled back on PostgreSQL, without its progress handler on
    // SQLite.
    for _ in 0..12 {
        let page = search(&store, WALK_ALL, far()).await.unwrap();
        assert_eq!(ids(&page), ids(&unbounded));
    }
    let exact = search(&store, "email:\"user7@example.com\"", far()).await;
    assert_eq!(exact.unwrap().total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_deadline_on_sqlite() {
    common::on_sqlite("tern_deadline", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_deadline_on_postgres() {
    common::on_postgres("tern_deadline", scenario).await;
}
