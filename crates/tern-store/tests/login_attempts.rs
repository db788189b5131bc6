//! A brute-force attempt counted with a password login's reads
//! (`AttemptAhead`), on PostgreSQL, answers what `attempt_login` would have:
//! the same window's hits (one statement or the other counts each attempt
//! once), the user's blocks from the address and from every address; only
//! the user spelled exactly is counted, nothing for an unknown user or a
//! connection that opts out of brute-force protection, and older windows
//! of the bucket go. On SQLite the reads count nothing (`attempt_login`
//! does, later) and write no row.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), in a fresh, uniquely named
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::json;
use sqlx::Row;
use tern_core::model::{Connection, Tenant, User};
use tern_core::store::prelude::*;
use tern_core::store::{
    AttemptAhead, AttemptCounted, FailedLogin, LoginAttempt, LoginName, PasswordLoginQuery,
};
use tern_store::SqlStore;

const TENANT: &str = "ten_attempts";
const CONN: &str = "con_attempts000000";
const OPTED_OUT: &str = "con_attemptsoff000";
const IP: &str = "192.0.2.9";
const NOW: i64 = 1_800_000_000;
const WINDOW: i64 = NOW - NOW % 60;
const BLOCKS_SINCE: i64 = NOW - 86_400;

async fn reads(store: &SqlStore, realm: &str, login: LoginName<'_>) -> Option<AttemptCounted> {
    store
        .password_login_reads(
            TENANT,
            &PasswordLoginQuery {
                client_id: "nobody",
                connection_name: realm,
                login,
                audience: None,
                protections: ["suspicious-ip-throttling", "brute-force-protection"],
                throttle: ("pre-login", IP),
                attempt: Some(AttemptAhead {
                    ip: IP,
                    window_start: WINDOW,
                    blocked_since: BLOCKS_SINCE,
                }),
            },
        )
        .await
        .unwrap()
        .attempt
}

/// What `attempt_login` answers for `user_id` from [`IP`] now: (hits, blocked).
async fn attempt_login(store: &SqlStore, user_id: &str, counting_ip: &str) -> (u64, bool) {
    let bucket = format!("{user_id}|{IP}");
    store
        .attempt_login(
            TENANT,
            &LoginAttempt {
                window: ("login", &bucket, WINDOW),
                user_id,
                also_key: None,
                ip: counting_ip,
                blocked_since: Some(BLOCKS_SINCE),
            },
        )
        .await
        .unwrap()
}

async fn block(store: &SqlStore, user_id: &str, ip: &str) {
    store
        .count_login_failure(
            TENANT,
            &FailedLogin {
                user_id,
                ip,
                connection: "db",
                identifier: "x",
                now: NOW,
                forget_before: BLOCKS_SINCE,
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .block_login(TENANT, user_id, ip, NOW, "h")
            .await
            .unwrap()
    );
}

async fn count(store: &SqlStore, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0)
}

async fn rate_rows(store: &SqlStore) -> i64 {
    count(store, "SELECT COUNT(*) FROM rate_windows").await
}

fn user(id: &str, connection: &str, email: Option<&str>, username: Option<&str>) -> User {
    User {
        email: email.map(str::to_string),
        username: username.map(str::to_string),
        ..common::bare_user(id.into(), connection, "2026-01-01T00:00:00.000Z".into())
    }
}

async fn setup(store: &SqlStore) {
    store
        .insert_tenant(&Tenant {
            id: TENANT.into(),
            name: "attempts".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
        })
        .await
        .unwrap();
    for (id, name, options) in [
        (CONN, "db", json!({})),
        (OPTED_OUT, "open", json!({"brute_force_protection": false})),
    ] {
        store
            .insert_connection(
                TENANT,
                &Connection {
                    id: id.into(),
                    name: name.into(),
                    display_name: None,
                    strategy: "auth0".into(),
                    options: serde_json::from_value(options).unwrap(),
                    enabled_clients: vec![],
                    realms: vec![name.into()],
                    is_domain_connection: false,
                },
            )
            .await
            .unwrap();
    }
    for u in [
        user("auth0|a", CONN, Some("a@example.com"), None),
        user("auth0|b", CONN, Some("b@example.com"), None),
        user("auth0|c", CONN, None, Some("carol")),
        user("auth0|d", OPTED_OUT, Some("d@example.com"), None),
    ] {
        store.insert_user(TENANT, &u).await.unwrap();
    }
}

async fn on_postgres_scenario(store: SqlStore) {
    setup(&store).await;
    let a = LoginName::Email("a@example.com");
    let counted = reads(&store, "db", a).await.expect("counted");
    assert_eq!(
        counted,
        AttemptCounted {
            bucket: format!("auth0|a|{IP}"),
            hits: 1,
            blocked_here: false,
            blocked_everywhere: false,
        }
    );
    // One window for both ways of counting: each attempt once.
    assert_eq!(attempt_login(&store, "auth0|a", IP).await, (2, false));
    assert_eq!(reads(&store, "db", a).await.unwrap().hits, 3);

    // Blocks: from this address, then from every address (per identifier),
    // as `attempt_login` finds them.
    block(&store, "auth0|a", IP).await;
    let here = reads(&store, "db", a).await.unwrap();
    assert!(here.blocked_here && !here.blocked_everywhere, "{here:?}");
    assert_eq!(attempt_login(&store, "auth0|a", IP).await, (5, true));
    assert_eq!(attempt_login(&store, "auth0|a", "").await, (6, false));
    block(&store, "auth0|b", "").await;
    let everywhere = reads(&store, "db", LoginName::Email("b@example.com"))
        .await
        .unwrap();
    assert!(
        !everywhere.blocked_here && everywhere.blocked_everywhere,
        "{everywhere:?}"
    );
    assert_eq!(attempt_login(&store, "auth0|b", "").await, (2, true));

    // A username counts for the user spelled exactly; a spelling found
    // only lower-cased counts nothing here (`attempt_login` counts it).
    let carol = reads(&store, "db", LoginName::Username("carol")).await;
    assert_eq!(carol.map(|c| c.bucket), Some(format!("auth0|c|{IP}")));
    assert_eq!(
        reads(&store, "db", LoginName::Username("Carol")).await,
        None
    );

    // Nothing for an unknown user, an unknown connection, or a connection
    // that opts out.
    let before = rate_rows(&store).await;
    for (realm, login) in [
        ("db", LoginName::Email("nobody@example.com")),
        ("missing", a),
        ("open", LoginName::Email("d@example.com")),
    ] {
        assert_eq!(reads(&store, realm, login).await, None, "{realm}");
    }
    assert_eq!(rate_rows(&store).await, before, "no row written");

    // The bucket's older windows go with the hit, as `hit_rate_window`'s do.
    store
        .hit_rate_window(TENANT, "login", &format!("auth0|b|{IP}"), WINDOW - 60)
        .await
        .unwrap();
    let old = format!("SELECT COUNT(*) FROM rate_windows WHERE window_start < {WINDOW}");
    assert_eq!(count(&store, &old).await, 1);
    reads(&store, "db", LoginName::Email("b@example.com"))
        .await
        .unwrap();
    assert_eq!(count(&store, &old).await, 0);
}

async fn on_sqlite_scenario(store: SqlStore) {
    setup(&store).await;
    let a = LoginName::Email("a@example.com");
    assert_eq!(reads(&store, "db", a).await, None, "left to attempt_login");
    assert_eq!(rate_rows(&store).await, 0, "no row written");
    assert_eq!(attempt_login(&store, "auth0|a", IP).await, (1, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counted_with_the_reads_on_postgres() {
    common::on_postgres("tern_attempts", on_postgres_scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn left_to_attempt_login_on_sqlite() {
    common::on_sqlite("tern_attempts", on_sqlite_scenario).await;
}
