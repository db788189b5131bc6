//! The legacy database: one SQLite file with one `users` table, seeded on
//! first start from `seed/users.json` (hashes made by `seed/generate.py`).
//!
//! ```sql
//! users(id INTEGER PRIMARY KEY, email TEXT UNIQUE, username TEXT UNIQUE,
//!       display_name TEXT, email_confirmed INTEGER, plan TEXT,
//!       password_scheme TEXT,  -- bcrypt | sha256_salted | phpass | md5_crypt
//!       password_hash TEXT, password_salt TEXT, migrated_at TEXT)
//! ```

use std::path::Path;
use std::str::FromStr;

use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// The seed shipped with the example.
pub const SEED: &str = include_str!("../seed/users.json");

/// One legacy user row.
#[derive(Debug, Clone, Deserialize)]
pub struct LegacyUser {
    /// Numeric id (the stable id Tern keeps as `auth0|<id>`).
    pub id: i64,
    /// Email, lower case.
    pub email: String,
    /// Username.
    pub username: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Whether the address was confirmed.
    pub email_confirmed: bool,
    /// Subscription plan (becomes `app_metadata.plan`).
    pub plan: Option<String>,
    /// `bcrypt`, `sha256_salted`, `phpass` or `md5_crypt`.
    pub password_scheme: String,
    /// The stored hash.
    pub password_hash: String,
    /// The salt of `sha256_salted`.
    pub password_salt: Option<String>,
    /// When Tern said the user was migrated.
    #[serde(default)]
    pub migrated_at: Option<String>,
}

impl LegacyUser {
    /// The JSON the API answers: deliberately not Auth0's shape (a connector
    /// maps it with JSON pointers).
    pub fn profile(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "username": self.username,
            "display_name": self.display_name,
            "email_confirmed": self.email_confirmed,
            "account": {"plan": self.plan},
            "migrated": self.migrated_at.is_some(),
        })
    }
}

#[derive(Deserialize)]
struct Seed {
    users: Vec<LegacyUser>,
}

/// The database handle.
#[derive(Clone)]
pub struct LegacyDb {
    pool: SqlitePool,
}

/// The column list, as a literal so that every statement stays a static string.
macro_rules! columns {
    () => {
        "id, email, username, display_name, email_confirmed, plan, password_scheme, password_hash, password_salt, migrated_at"
    };
}

impl LegacyDb {
    /// Open (creating) the file, create the table, seed it when empty.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS users (
                id INTEGER PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                username TEXT UNIQUE,
                display_name TEXT,
                email_confirmed INTEGER NOT NULL DEFAULT 0,
                plan TEXT,
                password_scheme TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                password_salt TEXT,
                migrated_at TEXT
            )",
        )
        .execute(&pool)
        .await?;
        let db = Self { pool };
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&db.pool)
            .await?;
        if count == 0 {
            db.seed(SEED).await?;
        }
        Ok(db)
    }

    /// Insert the users of a seed document (the `demo_password`s are ignored).
    async fn seed(&self, doc: &str) -> anyhow::Result<()> {
        let seed: Seed = serde_json::from_str(doc)?;
        let mut tx = self.pool.begin().await?;
        for u in seed.users {
            sqlx::query(concat!(
                "INSERT INTO users (",
                columns!(),
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
            ))
            .bind(u.id)
            .bind(u.email.to_lowercase())
            .bind(u.username)
            .bind(u.display_name)
            .bind(u.email_confirmed)
            .bind(u.plan)
            .bind(u.password_scheme)
            .bind(u.password_hash)
            .bind(u.password_salt)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    fn row(r: &sqlx::sqlite::SqliteRow) -> Result<LegacyUser, sqlx::Error> {
        Ok(LegacyUser {
            id: r.try_get("id")?,
            email: r.try_get("email")?,
            username: r.try_get("username")?,
            display_name: r.try_get("display_name")?,
            email_confirmed: r.try_get("email_confirmed")?,
            plan: r.try_get("plan")?,
            password_scheme: r.try_get("password_scheme")?,
            password_hash: r.try_get("password_hash")?,
            password_salt: r.try_get("password_salt")?,
            migrated_at: r.try_get("migrated_at")?,
        })
    }

    /// The user with this email (case-insensitive) or username.
    pub async fn find_login(&self, login: &str) -> Result<Option<LegacyUser>, sqlx::Error> {
        let login = login.trim();
        sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM users WHERE email = ? OR username = ?"
        ))
        .bind(login.to_lowercase())
        .bind(login)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| Self::row(&r))
        .transpose()
    }

    /// The user with this email (case-insensitive).
    pub async fn find_email(&self, email: &str) -> Result<Option<LegacyUser>, sqlx::Error> {
        sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM users WHERE email = ?"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?
        .map(|r| Self::row(&r))
        .transpose()
    }

    /// Record that Tern migrated the user (first time only); false = no such user.
    pub async fn mark_migrated(&self, id: i64, at: &str) -> Result<bool, sqlx::Error> {
        let found =
            sqlx::query("UPDATE users SET migrated_at = COALESCE(migrated_at, ?) WHERE id = ?")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(found > 0)
    }

    /// Users Tern has not migrated yet (for the bulk export), or all of them.
    pub async fn list(&self, only_unmigrated: bool) -> Result<Vec<LegacyUser>, sqlx::Error> {
        let q = if only_unmigrated {
            concat!(
                "SELECT ",
                columns!(),
                " FROM users WHERE migrated_at IS NULL ORDER BY id"
            )
        } else {
            concat!("SELECT ", columns!(), " FROM users ORDER BY id")
        };
        sqlx::query(q)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(Self::row)
            .collect()
    }

    /// Close the pool (the file can then be reopened by another process).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
