//! `tern import postgres://… --from supabase`: Supabase's `auth.users`
//! read straight from its PostgreSQL, row by row (a cursor, so memory stays
//! flat), each row as `row_to_json` gives it, into the same path as a file.

use std::sync::Arc;

use futures_util::TryStreamExt;
use sqlx::Connection;
use tokio::sync::mpsc;

use super::stream::{Item, item};
use super::tally::Tally;
use crate::importers::Reading;

/// Is `file` a PostgreSQL DSN rather than a path?
pub fn is_dsn(file: &str) -> bool {
    file.starts_with("postgres://") || file.starts_with("postgresql://")
}

/// Stream `auth.users` from `dsn` into `tx`; a connection or query error
/// ends the run as unreadable input.
pub async fn read_auth_users(
    dsn: String,
    reading: Reading,
    tally: Arc<Tally>,
    tx: mpsc::Sender<Item>,
) {
    let mut conn = match sqlx::PgConnection::connect(&dsn).await {
        Ok(c) => c,
        Err(e) => {
            let _ = tx
                .send(Item::Fatal(format!("cannot connect to the database: {e}")))
                .await;
            return;
        }
    };
    // Oldest first, so the indexes printed with errors follow sign-up order.
    let mut rows = sqlx::query_scalar::<_, String>(
        "SELECT row_to_json(u)::text FROM auth.users u ORDER BY u.created_at, u.id",
    )
    .fetch(&mut conn);
    let mut index = 0usize;
    loop {
        let next = match rows.try_next().await {
            Ok(Some(text)) => match serde_json::from_str(&text) {
                Ok(v) => item(&reading, &tally, index, v),
                Err(e) => Item::Invalid {
                    index,
                    code: "INVALID_JSON",
                    message: e.to_string(),
                },
            },
            Ok(None) => return,
            Err(e) => Item::Fatal(format!("cannot read auth.users: {e}")),
        };
        let fatal = matches!(next, Item::Fatal(_));
        if tx.send(next).await.is_err() || fatal {
            return;
        }
        index += 1;
    }
}
