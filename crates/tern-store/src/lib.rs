//! [`tern_core::store::Store`] on SQLite and on PostgreSQL.
//!
//! One implementation, [`SqlStore`], runs on sqlx's `Any` driver: the SQL is
//! written once with `$n` placeholders and portable types (TEXT, BIGINT), and
//! the few places where the backends differ (JSON paths in search, upsert
//! syntax) branch on [`Dialect`]. Each backend has its own migrations folder.
//!
//! Architecture invariant: every statement carries `tenant_id = $1`, but
//! for the one maintenance statement, `ANALYZE users` (see `statistics`).

mod bulk;
mod copy_users;
mod log_search_sql;
mod metadata_index;
mod packed;
pub mod search_sql;
mod sql_store;
mod statistics;
mod wal;

pub use search_sql::Dialect;
pub use sql_store::{SqlStore, StoreOpenError};
