//! Set-based statements over many rows at once, for bulk imports.
//!
//! A batch of rows travels as ONE bind parameter, a JSON array, that the
//! database reads back as a table (`jsonb_each` on SQLite,
//! `json_populate_recordset` / `json_array_elements_text` on PostgreSQL).
//! Why not the alternatives:
//! - one statement per row costs a round trip per row (on PostgreSQL, the
//!   network; on SQLite, a hand-off to sqlx's worker thread), which bounded
//!   imports to a few hundred (PostgreSQL) or thousand (SQLite) users/s;
//! - a multi-row `VALUES` list with a placeholder per field is quadratic on
//!   SQLite (sqlx resolves each `$n` through `sqlite3_bind_parameter_name`,
//!   a linear scan) and measured slower than one row at a time;
//! - sqlx `Any` cannot bind arrays, so PostgreSQL's `UNNEST($1::text[])` is
//!   out of reach without a second, native pool.
//!
//! Values stay bound parameters: nothing here interpolates data into SQL.

use serde::Serialize;
use tern_core::model::User;
use tern_core::store::ImportBatch;
use tern_core::{CoreError, CoreResult};

use crate::search_sql::Dialect;
use crate::sql_store::{USER_COLUMNS, as_i64};

/// Insert a batch's users from JSON parameter `$2` (tenant `$1`). A row that
/// conflicts (a user with the same id, email or username appeared since the
/// batch was planned) is skipped and missing from `RETURNING`.
pub(crate) fn insert_users_sql(dialect: Dialect) -> String {
    format!(
        "INSERT INTO users (tenant_id, {USER_COLUMNS}) {} ON CONFLICT DO NOTHING RETURNING user_id",
        select_json_rows(dialect, "users", "$1", 2, USER_COLUMNS)
    )
}

/// Insert a batch's error records from JSON parameter `$3` (tenant `$1`, job `$2`).
pub(crate) fn insert_errors_sql(dialect: Dialect) -> String {
    format!(
        "INSERT INTO job_errors (tenant_id, job_id, row_index, body) {} ON CONFLICT DO NOTHING",
        select_json_rows(dialect, "job_errors", "$1, $2", 3, "row_index, body")
    )
}

/// Create the roles of JSON parameter `$2` (tenant `$1`) whose names the
/// tenant does not hold yet. On PostgreSQL a concurrent batch creating the
/// same name makes this one wait for it, then skip the name: one role.
pub(crate) fn insert_roles_sql(dialect: Dialect) -> String {
    format!(
        "INSERT INTO roles (tenant_id, id, name, description) {} ON CONFLICT DO NOTHING",
        select_json_rows(dialect, "roles", "$1", 2, "id, name, description")
    )
}

/// Give users the tenant's roles by name, from JSON parameter `$2`
/// (`[{"user_id", "role"}]`, tenant `$1`); a role held already is kept once.
pub(crate) fn grant_roles_sql(dialect: Dialect) -> String {
    let grants = match dialect {
        Dialect::Sqlite => {
            "SELECT g.value ->> 'user_id' AS user_id, g.value ->> 'role' AS role FROM jsonb_each($2) AS g"
        }
        Dialect::Postgres => {
            "SELECT g.user_id, g.role FROM json_to_recordset($2::json) AS g(user_id text, role text)"
        }
    };
    format!(
        "INSERT INTO user_roles (tenant_id, user_id, role_id) SELECT $1, g.user_id, r.id \
         FROM ({grants}) AS g JOIN roles r ON r.tenant_id = $1 AND r.name = g.role \
         WHERE true ON CONFLICT DO NOTHING"
    )
}

/// The two statements that create a batch's roles and give them, with
/// their JSON parameters ([`role_params`]); each binds the tenant as `$1`.
pub(crate) fn role_statements(
    dialect: Dialect,
    (new_roles, grants): (String, String),
) -> [(String, String); 2] {
    [
        (insert_roles_sql(dialect), new_roles),
        (grant_roles_sql(dialect), grants),
    ]
}

/// A grant of [`grant_roles_sql`].
#[derive(Serialize)]
struct Grant<'a> {
    user_id: &'a str,
    role: &'a str,
}

/// A role of [`insert_roles_sql`].
#[derive(Serialize)]
struct NewRole<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
}

/// The parameters of [`insert_roles_sql`] and [`grant_roles_sql`] for the
/// grants of a batch's users that were `written`, and the roles they name;
/// `None` when there are none.
pub(crate) fn role_params(
    b: &ImportBatch,
    written: impl Fn(&str) -> bool,
) -> CoreResult<Option<(String, String)>> {
    let grants: Vec<Grant> = b
        .role_grants
        .iter()
        .filter(|(user, _)| written(user))
        .map(|(user_id, role)| Grant { user_id, role })
        .collect();
    if grants.is_empty() {
        return Ok(None);
    }
    let roles: Vec<NewRole> = b
        .new_roles
        .iter()
        .filter(|r| grants.iter().any(|g| g.role == r.name))
        .map(|r| NewRole {
            id: &r.id,
            name: &r.name,
            description: &r.description,
        })
        .collect();
    Ok(Some((json_param(&roles)?, json_param(&grants)?)))
}

/// A batch's progress, committed with its rows: `$3` processed rows, `$4`
/// inserted, `$5` updated, `$6` failed, `$7` lease, `$8` now, `$9` the
/// claim's lease token: no row is updated when the job was claimed again
/// since, and the batch's transaction must then roll back.
pub(crate) const PROGRESS_SQL: &str = "UPDATE jobs SET processed_rows = $3, inserted = inserted + $4, \
    updated = updated + $5, failed = failed + $6, lease_until = $7, updated_at = $8 \
    WHERE tenant_id = $1 AND id = $2 AND lease_token = $9";

/// The batch's users as the JSON parameter of [`insert_users_sql`].
pub(crate) fn user_rows_param(b: &ImportBatch) -> CoreResult<String> {
    let rows: Vec<UserRow> = b.inserts.iter().map(|(_, u, _)| UserRow::from(u)).collect();
    json_param(&rows)
}

/// A batch's answer when the batch before it failed (that batch's error is
/// the one the job reports).
pub(crate) fn earlier_batch_failed() -> CoreError {
    CoreError::Storage("an earlier batch of the import failed".into())
}

/// What a batch did, once the database said which of its users it wrote.
pub(crate) struct BatchOutcome {
    /// Users this batch wrote.
    pub(crate) inserted_now: u64,
    /// For the job's summary: plus the rows a dry run counted.
    pub(crate) inserted: u64,
    pub(crate) updated: u64,
    pub(crate) failed: u64,
    /// Error and note records to store, conflicts included.
    pub(crate) records: Vec<ErrorRow>,
}

impl BatchOutcome {
    pub(crate) fn of(b: &ImportBatch, written: impl Fn(&str) -> bool) -> Self {
        let mut conflicts = Vec::new();
        let mut inserted_now = 0;
        let mut unwritten = 0;
        for (index, user, conflict) in &b.inserts {
            if written(&user.user_id) {
                inserted_now += 1;
            } else {
                unwritten += 1;
                // An optimistic batch has no record, and is never applied
                // with an unwritten user.
                conflicts.extend(conflict.as_ref().map(|c| (*index, c)));
            }
        }
        let records = b
            .errors
            .iter()
            .chain(b.notes.iter())
            .map(|(i, r)| (*i, r))
            .chain(conflicts.iter().copied())
            .map(|(index, record)| ErrorRow {
                row_index: as_i64(index),
                body: record.to_string(),
            })
            .collect();
        Self {
            inserted_now,
            inserted: b.dry_inserted + inserted_now,
            updated: b.updates.len() as u64 + b.dry_updated,
            failed: b.errors.len() as u64 + unwritten,
            records,
        }
    }
}

/// `SELECT <leading>, <columns…> FROM <the rows of JSON parameter $param>`:
/// the source of an `INSERT … SELECT`. `param` holds an array of objects
/// keyed by column name; on PostgreSQL the object fields are typed by the
/// row type of `table`, on SQLite they keep their JSON types (text, integer,
/// NULL). Ends with `WHERE true`, which SQLite needs before an upsert clause.
pub(crate) fn select_json_rows(
    dialect: Dialect,
    table: &str,
    leading: &str,
    param: usize,
    columns: &str,
) -> String {
    let columns = columns.split(',').map(str::trim);
    let (fields, source): (Vec<String>, String) = match dialect {
        // `jsonb_each`, not `json_each`: its `value` for an object row is
        // the parsed binary form, which each `->>` reads directly, where
        // `json_each` renders every row back to JSON text for each of the
        // row's columns, to be parsed again (measured: two thirds of the
        // statement's JSON work, about 15 µs a user).
        Dialect::Sqlite => (
            columns.map(|c| format!("r.value ->> '{c}'")).collect(),
            format!("jsonb_each(${param}) AS r"),
        ),
        Dialect::Postgres => (
            columns.map(|c| format!("r.{c}")).collect(),
            format!("json_populate_recordset(NULL::{table}, ${param}::json) AS r"),
        ),
    };
    format!(
        "SELECT {leading}, {} FROM {source} WHERE true",
        fields.join(", ")
    )
}

/// A subquery of the strings in JSON array parameter `$param`, for `x IN (…)`.
pub(crate) fn json_text_list(dialect: Dialect, param: usize) -> String {
    match dialect {
        Dialect::Sqlite => format!("SELECT value FROM json_each(${param})"),
        Dialect::Postgres => format!("SELECT json_array_elements_text(${param}::json)"),
    }
}

/// A user as one JSON row for [`select_json_rows`]: the columns of
/// `USER_COLUMNS` (a test keeps the two lists equal), booleans as 0/1 and
/// metadata as JSON text, like the columns themselves.
#[derive(Serialize)]
pub(crate) struct UserRow<'a> {
    pub(crate) user_id: &'a str,
    pub(crate) connection_id: &'a str,
    pub(crate) connection_name: &'a str,
    pub(crate) email: Option<&'a str>,
    pub(crate) email_verified: i64,
    pub(crate) username: Option<&'a str>,
    pub(crate) phone_number: Option<&'a str>,
    pub(crate) phone_verified: i64,
    pub(crate) name: Option<&'a str>,
    pub(crate) given_name: Option<&'a str>,
    pub(crate) family_name: Option<&'a str>,
    pub(crate) nickname: Option<&'a str>,
    pub(crate) picture: Option<&'a str>,
    pub(crate) blocked: i64,
    pub(crate) app_metadata: String,
    pub(crate) user_metadata: String,
    pub(crate) created_at: &'a str,
    pub(crate) updated_at: &'a str,
    pub(crate) last_login: Option<&'a str>,
    pub(crate) last_ip: Option<&'a str>,
    pub(crate) logins_count: i64,
    pub(crate) credential: Option<&'a str>,
    pub(crate) source: &'static str,
    pub(crate) mfa_factors: Option<String>,
}

impl<'a> From<&'a User> for UserRow<'a> {
    fn from(u: &'a User) -> Self {
        let json = |m: &tern_core::model::JsonObject| {
            // A map of JSON values always serialises.
            serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
        };
        Self {
            user_id: &u.user_id,
            connection_id: &u.connection_id,
            connection_name: &u.connection_name,
            email: u.email.as_deref(),
            email_verified: i64::from(u.email_verified),
            username: u.username.as_deref(),
            phone_number: u.phone_number.as_deref(),
            phone_verified: i64::from(u.phone_verified),
            name: u.name.as_deref(),
            given_name: u.given_name.as_deref(),
            family_name: u.family_name.as_deref(),
            nickname: u.nickname.as_deref(),
            picture: u.picture.as_deref(),
            blocked: i64::from(u.blocked),
            app_metadata: json(&u.app_metadata),
            user_metadata: json(&u.user_metadata),
            created_at: &u.created_at,
            updated_at: &u.updated_at,
            last_login: u.last_login.as_deref(),
            last_ip: u.last_ip.as_deref(),
            logins_count: u.logins_count,
            credential: u.credential.as_deref(),
            source: u.source.as_str(),
            mfa_factors: crate::sql_store::mfa_factors_column(u),
        }
    }
}

/// One `job_errors` row for [`select_json_rows`].
#[derive(Serialize)]
pub(crate) struct ErrorRow {
    pub(crate) row_index: i64,
    pub(crate) body: String,
}

/// Serialise rows into the JSON array parameter.
pub(crate) fn json_param<T: Serialize>(rows: &[T]) -> CoreResult<String> {
    serde_json::to_string(rows).map_err(|e| CoreError::Storage(format!("cannot encode rows: {e}")))
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A user with every kind of column: text, NULL, 0/1, counts, JSON.
    pub(crate) fn sample_user() -> User {
        User {
            user_id: "auth0|1".into(),
            connection_id: "con_1".into(),
            connection_name: "c".into(),
            email: Some("a@example.com".into()),
            email_verified: true,
            username: None,
            phone_number: None,
            phone_verified: false,
            name: Some("Tab\tand \"quotes\"".into()),
            given_name: None,
            family_name: None,
            nickname: None,
            picture: None,
            blocked: false,
            app_metadata: serde_json::from_str(r#"{"plan": "pro"}"#).unwrap(),
            user_metadata: Default::default(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
            last_login: None,
            last_ip: None,
            logins_count: 3,
            credential: Some("$2b$10$abc".into()),
            source: tern_core::model::UserSource::BulkImport,
            mfa_factors: vec![serde_json::json!({"totp": {"secret": "S"}})],
        }
    }

    #[test]
    fn a_user_row_has_exactly_the_user_columns_in_order() {
        let user = sample_user();
        let row = serde_json::to_value(UserRow::from(&user)).unwrap();
        let keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let columns: Vec<&str> = crate::sql_store::USER_COLUMNS
            .split(',')
            .map(str::trim)
            .collect();
        assert_eq!(keys, columns);
    }
}
