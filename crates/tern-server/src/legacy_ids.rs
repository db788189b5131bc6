//! Where a legacy answer's id meets the users Tern stores.
//!
//! A user id is unique in the tenant (`auth0|42` is one user, whatever its
//! connection), so the lookup of the user a legacy `login` or `get_user`
//! answer names is tenant-wide. But two legacy systems usually number their
//! users alike: connection B's user 42 is not connection A's `auth0|42`, and
//! merging them would hand A's account to whoever holds B's password. Every
//! path that turns a legacy answer into a stored user (lazy login, lazy
//! reset, import mode off) finds the holder of the id through [`holder`],
//! which refuses a user of another connection and logs it (`w`).

use serde_json::{Value, json};
use tern_core::CoreResult;
use tern_core::legacy::connection_conflict;
use tern_core::model::{Connection, LogEvent, User};

use crate::state::AppState;

/// Who holds the user id a legacy answer names.
#[derive(Debug)]
pub enum Holder {
    /// Nobody: the id is free.
    Free,
    /// A user of the same connection.
    Same(Box<User>),
    /// A user of another connection: a conflict, already logged as `w`;
    /// the text says what and which ids.
    Other(String),
}

/// The stored user with id `auth0|<legacy_id>`, judged against `connection`.
/// `what` names the legacy operation (`login`, `get_user`) for the log;
/// `user_name` is the email or name the request was about.
pub async fn holder(
    s: &AppState,
    connection: &Connection,
    what: &str,
    legacy_id: &str,
    user_name: &str,
) -> CoreResult<Holder> {
    let Some(user) = s
        .store
        .get_user(s.tid(), &format!("auth0|{legacy_id}"))
        .await?
    else {
        return Ok(Holder::Free);
    };
    let Some(why) = connection_conflict(connection, what, legacy_id, &user) else {
        return Ok(Holder::Same(Box::new(user)));
    };
    let details = json!({
        "legacy_user_id": legacy_id,
        "stored_user_id": user.user_id,
        "stored_connection": user.connection_name,
        "stored_connection_id": user.connection_id,
    });
    warn(s, connection, user_name, &why, details).await;
    Ok(Holder::Other(why))
}

/// A `w` (warning) event: what the legacy store said that Tern refused.
pub async fn warn(
    s: &AppState,
    connection: &Connection,
    user_name: &str,
    why: &str,
    details: Value,
) {
    let mut ev = LogEvent::new("w", why);
    ev.user_name = Some(user_name.to_string());
    ev.connection = Some(connection.name.clone());
    ev.connection_id = Some(connection.id.clone());
    ev.details = Some(details);
    s.log(ev).await;
}
