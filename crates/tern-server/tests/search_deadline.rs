#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Searches that outlast `search.timeout_ms` are answered 503
//! `query_timeout` once the store has stopped their statements: on
//! PostgreSQL nothing of them runs any more right after the answer, and on
//! both backends the next search gets a turn at once (an abandoned search
//! used to keep its turn until its statement ended) and the store serves
//! searches and logins afterwards.
//!
//! The slow searches: on PostgreSQL another transaction holds a lock on
//! `users`, so their statements wait as long as it is held; on SQLite
//! (where readers never wait for a lock) field-less wildcards with many
//! clauses over 100 000 users, seconds of work each.
mod common;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Connection;

/// Users the SQLite store is given so a field-less wildcard walks long.
const SQLITE_USERS: u32 = 100_000;

/// A search `q` that matches no one, walking every user with many
/// `LIKE`s (field-less wildcards: six columns each).
fn slow_query() -> String {
    (0..12)
        .map(|i| format!("*qq{i}x*"))
        .collect::<Vec<_>>()
        .join("%20OR%20")
}

/// What makes the searches slow, held until `release`.
enum Stall {
    /// A transaction holding `users` locked.
    Postgres(sqlx::PgConnection),
    /// The users are many; nothing to release.
    Sqlite,
}

impl Stall {
    async fn start(h: &Harness) -> Self {
        match h.backend {
            Backend::Postgres => {
                let mut lock = sqlx::PgConnection::connect(&h.pg.as_ref().unwrap().url())
                    .await
                    .unwrap();
                sqlx::raw_sql("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
                    .execute(&mut lock)
                    .await
                    .unwrap();
                Self::Postgres(lock)
            }
            Backend::Sqlite => {
                let path = h.dir.path().join("tern.db");
                let mut db =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap();
                let insert = format!(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {SQLITE_USERS}) \
                     INSERT INTO users (tenant_id, user_id, connection_id, connection_name, email, name, \
                     nickname, created_at, updated_at, source) \
                     SELECT '{}', 'auth0|slow' || i, 'con_slow', 'slow', 'slow' || i || '@example.com', \
                     'Slow ' || i, 'n' || i, printf('2020-01-01T00:00:00.%06dZ', i), \
                     '2020-01-01T00:00:00.000Z', 'api' FROM n",
                    h.state().tid()
                );
                sqlx::raw_sql(sqlx::AssertSqlSafe(insert))
                    .execute(&mut db)
                    .await
                    .unwrap();
                db.close().await.unwrap();
                Self::Sqlite
            }
        }
    }

    /// Statements of the server's searches PostgreSQL is running now (0 on
    /// SQLite, whose statements run in the server's process).
    async fn searches_running(&mut self) -> i64 {
        match self {
            Self::Postgres(conn) => sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND state = 'active' AND query LIKE '%FROM users%' AND pid <> pg_backend_pid()",
            )
            .fetch_one(conn)
            .await
            .unwrap(),
            Self::Sqlite => 0,
        }
    }

    async fn release(self) {
        if let Self::Postgres(mut lock) = self {
            sqlx::raw_sql("ROLLBACK").execute(&mut lock).await.unwrap();
        }
    }
}

fn assert_timed_out((status, body): &(StatusCode, Value)) {
    assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["errorCode"], "query_timeout", "{body}");
}

async fn abandoned_searches_free_the_store(b: Backend) {
    let h = Harness::start_with(b, |c| c.search.timeout_ms = 300).await;
    let t = h.admin_token().await;
    h.create_user(&t, "ada@example.com", "Secret-123!").await;
    let find_ada = || {
        h.api(
            &t,
            Method::GET,
            "/users?q=email:%22ada@example.com%22",
            None,
        )
    };
    let (s, found) = find_ada().await;
    assert_eq!(s, StatusCode::OK, "{found}");

    let mut stall = Stall::start(&h).await;
    let slow = format!("/users?q={}&include_totals=true", slow_query());
    // As many slow searches as there are turns.
    let (first, second) = tokio::join!(
        h.api(&t, Method::GET, &slow, None),
        h.api(&t, Method::GET, &slow, None)
    );
    assert_timed_out(&first);
    assert_timed_out(&second);
    assert_eq!(
        stall.searches_running().await,
        0,
        "the database stopped the searches before they were answered"
    );
    stall.release().await;

    // Both turns are free at once: the search after them answers.
    let (s, found) = find_ada().await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    // The connections the stopped searches ran on serve what follows.
    let (cid, secret) = h.password_client(&t).await;
    for _ in 0..6 {
        let (s, found) = find_ada().await;
        assert_eq!(found.as_array().map(Vec::len), Some(1), "{s} {found}");
        let (s, token) = h
            .password_grant_from(
                (&cid, &secret),
                "ada@example.com",
                "Secret-123!",
                "203.0.113.9",
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{token}");
    }
    h.stop().await;
}

both_backends!(abandoned_searches_free_the_store);
