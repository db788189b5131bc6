//! Running a store scenario on both backends: SQLite in a temporary file;
//! PostgreSQL (`TERN_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`) in a fresh, uniquely named
//! database dropped afterwards (`TERN_TEST_SKIP_PG=1` skips it).
//! A migration is tested on the data it meets with `…_before`: the database
//! migrated only up to a version, rows written there with raw SQL, then
//! the store opened (which runs the later migrations).
#![allow(dead_code, clippy::unwrap_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::AssertSqlSafe;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use tern_core::model::{User, UserSource};
use tern_store::SqlStore;

/// A user with `user_id` in `connection_id` (named `db`), created at
/// `created_at`, every optional field empty; tests set what they need with
/// `User { …, ..bare_user(…) }`.
pub fn bare_user(user_id: String, connection_id: &str, created_at: String) -> User {
    User {
        user_id,
        connection_id: connection_id.into(),
        connection_name: "db".into(),
        email: None,
        email_verified: false,
        username: None,
        phone_number: None,
        phone_verified: false,
        name: None,
        given_name: None,
        family_name: None,
        nickname: None,
        picture: None,
        blocked: false,
        app_metadata: Default::default(),
        user_metadata: Default::default(),
        updated_at: created_at.clone(),
        created_at,
        last_login: None,
        last_ip: None,
        logins_count: 0,
        credential: None,
        source: UserSource::BulkImport,
        mfa_factors: vec![],
    }
}

/// What a database holds before the store first opens it: the migrations
/// up to `version` (included) of `dialect` (`sqlite` | `postgres`), then
/// `sql` run as is.
#[derive(Clone, Copy)]
pub struct Before {
    pub version: i64,
    pub sql: &'static str,
}

/// Open the store at `url`, first bringing the database to `before`.
async fn open(url: &str, dialect: &str, before: Option<Before>) -> SqlStore {
    if let Some(b) = before {
        sqlx::any::install_default_drivers();
        let raw_url = match dialect {
            "sqlite" => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&raw_url)
            .await
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dialect);
        let migrator = Migrator::new(dir).await.unwrap();
        migrator.run_to(b.version, &pool).await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(b.sql))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    SqlStore::open(url).await.unwrap()
}

pub async fn on_sqlite<F: std::future::Future<Output = ()> + Send + 'static>(
    prefix: &str,
    scenario: fn(SqlStore) -> F,
) {
    on_sqlite_before(prefix, None, scenario).await;
}

pub async fn on_sqlite_before<F: std::future::Future<Output = ()> + Send + 'static>(
    prefix: &str,
    before: Option<Before>,
    scenario: fn(SqlStore) -> F,
) {
    let dir = std::env::temp_dir().join(format!("{prefix}_{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("tern.db").display());
    let outcome = tokio::spawn(scenario(open(&url, "sqlite", before).await)).await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

pub async fn on_postgres<F: std::future::Future<Output = ()> + Send + 'static>(
    prefix: &str,
    scenario: fn(SqlStore) -> F,
) {
    on_postgres_before(prefix, None, scenario).await;
}

pub async fn on_postgres_before<F: std::future::Future<Output = ()> + Send + 'static>(
    prefix: &str,
    before: Option<Before>,
    scenario: fn(SqlStore) -> F,
) {
    if std::env::var("TERN_TEST_SKIP_PG").as_deref() == Ok("1") {
        eprintln!("TERN_TEST_SKIP_PG=1: skipped");
        return;
    }
    let admin_url = std::env::var("TERN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    sqlx::any::install_default_drivers();
    let admin = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin_url} ({e})"));
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let db = format!("{prefix}_{}_{nanos}", std::process::id());
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&admin)
        .await
        .unwrap();
    let base = &admin_url[..admin_url.rfind('/').unwrap()];
    let store = open(&format!("{base}/{db}"), "postgres", before).await;
    let outcome = tokio::spawn(scenario(store.clone())).await;
    store.pool().close().await;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
