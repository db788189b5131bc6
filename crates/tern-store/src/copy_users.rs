//! Optimistic import batches on PostgreSQL: the batch's users go in with
//! `COPY … FROM STDIN`, PostgreSQL's bulk-load path, in the transaction that
//! also stores the batch's error records and the job's progress.
//!
//! Why a second, native pool: sqlx's `Any` driver has no COPY, and COPY is
//! what makes an import keep pace with a raw load of the same rows (measured
//! by `cargo bench -p tern --bench import`): the set-based
//! `INSERT … SELECT FROM json_populate_recordset` costs about twice as much
//! per row as COPY, and PostgreSQL's share of the work bounds the import.
//!
//! COPY has no `ON CONFLICT`: a user whose id, email or username is already
//! stored aborts it with a unique violation, and the batch then answers
//! [`BatchApplied::Collided`] with nothing written, which is exactly the
//! optimistic contract (see `ImportBatch::optimistic`).

use std::borrow::Cow;

use sqlx::{AssertSqlSafe, PgPool};
use tern_core::store::{BatchApplied, BatchGate, ImportBatch, lease_lost};
use tern_core::{CoreError, CoreResult};

use crate::bulk::{self, BatchOutcome, UserRow};
use crate::search_sql::Dialect;
use crate::sql_store::{USER_COLUMNS, as_i64, storage};

/// PostgreSQL's codes for a unique violation and a lock wait timed out.
const UNIQUE_VIOLATION: &str = "23505";
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// Apply an optimistic batch with no updates (an insert-only job's).
///
/// The batch is encoded here and written by a task of its own: the job's
/// runner plans the next batch while this one is written (`import_job`),
/// and planning is CPU work that would otherwise hold up each round trip of
/// the write behind it on the shared task.
pub(crate) async fn apply_batch(
    pg: &PgPool,
    tenant: &str,
    job_id: &str,
    b: &ImportBatch,
    after: BatchGate,
) -> CoreResult<BatchApplied> {
    debug_assert!(b.optimistic && b.updates.is_empty());
    // Every insert is written, or COPY fails and nothing is.
    let outcome = BatchOutcome::of(b, |_| true);
    let write = BatchWrite {
        pg: pg.clone(),
        tenant: tenant.to_string(),
        job_id: job_id.to_string(),
        users: copy_data(tenant, b),
        // Every user is written with the batch, so are all their roles.
        roles: bulk::role_params(b, |_| true)?,
        records: (!outcome.records.is_empty())
            .then(|| bulk::json_param(&outcome.records))
            .transpose()?,
        progress: [
            as_i64(b.processed_rows),
            as_i64(outcome.inserted),
            as_i64(outcome.updated),
            as_i64(outcome.failed),
            b.lease_until,
            b.lease_token,
        ],
        after,
    };
    tokio::spawn(write.run())
        .await
        .map_err(|e| CoreError::Storage(format!("import batch writer stopped: {e}")))?
}

/// One batch, encoded, to write.
struct BatchWrite {
    pg: PgPool,
    tenant: String,
    job_id: String,
    /// The users in COPY's text format, if any.
    users: Option<Vec<u8>>,
    /// The parameters of `insert_roles_sql` and `grant_roles_sql`, if any.
    roles: Option<(String, String)>,
    /// Error and note records as the JSON parameter of `insert_errors_sql`.
    records: Option<String>,
    /// Processed rows, inserted, updated, failed, lease, lease token: see `PROGRESS_SQL`.
    progress: [i64; 6],
    /// Passes when the batch before this one has committed.
    after: BatchGate,
}

impl BatchWrite {
    async fn run(self) -> CoreResult<BatchApplied> {
        let mut tx = self.pg.begin().await.map_err(storage)?;
        // This batch waits for the one before it to commit while holding its
        // own rows; were that one ever to wait on a lock held here (two
        // jobs writing the same keys in crossed order), PostgreSQL could
        // not see the cycle, so a lock wait ends it and the batch is
        // planned again (as a collision) instead of hanging.
        sqlx::query("SET LOCAL lock_timeout = '10s'")
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        if let Some(users) = self.users {
            let copied = async {
                let mut copy = tx.copy_in_raw(&copy_statement()).await?;
                copy.send(users).await?;
                copy.finish().await
            }
            .await;
            match copied {
                Ok(_) => {}
                // Dropping the transaction rolls it back.
                Err(e) if is_collision(&e) => return Ok(BatchApplied::Collided),
                Err(e) => return Err(storage(e)),
            }
        }
        if let Some(records) = self.records {
            sqlx::query(AssertSqlSafe(bulk::insert_errors_sql(Dialect::Postgres)))
                .bind(&self.tenant)
                .bind(&self.job_id)
                .bind(records)
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        if !self.after.passed().await {
            return Err(bulk::earlier_batch_failed());
        }
        // Roles only once the batch before has committed: a role this batch
        // creates holds its name until the commit, and a batch before it
        // naming the same role would wait on it while this one waits for
        // that batch — a cycle PostgreSQL cannot see. Past the gate nothing
        // is left to wait for but the commit.
        if let Some(roles) = self.roles {
            for (sql, param) in bulk::role_statements(Dialect::Postgres, roles) {
                sqlx::query(AssertSqlSafe(sql))
                    .bind(&self.tenant)
                    .bind(param)
                    .execute(&mut *tx)
                    .await
                    .map_err(storage)?;
            }
        }
        let [processed, inserted, updated, failed, lease, token] = self.progress;
        let progressed = sqlx::query(bulk::PROGRESS_SQL)
            .bind(&self.tenant)
            .bind(&self.job_id)
            .bind(processed)
            .bind(inserted)
            .bind(updated)
            .bind(failed)
            .bind(lease)
            .bind(tern_core::clock::now_iso())
            .bind(token)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        if progressed.rows_affected() == 0 {
            // Dropping the transaction rolls the batch back.
            return Err(lease_lost(&self.job_id));
        }
        tx.commit().await.map_err(storage)?;
        Ok(BatchApplied::Applied)
    }
}

/// A user already stored (or being stored) with one of the batch's keys.
fn is_collision(e: &sqlx::Error) -> bool {
    matches!(
        e.as_database_error().and_then(|d| d.code()).as_deref(),
        Some(UNIQUE_VIOLATION | LOCK_NOT_AVAILABLE)
    )
}

/// `COPY users (tenant_id, <the user columns>) FROM STDIN`.
fn copy_statement() -> String {
    format!("COPY users (tenant_id, {USER_COLUMNS}) FROM STDIN")
}

/// The batch's users in COPY's text format, or `None` when it has none.
fn copy_data(tenant: &str, b: &ImportBatch) -> Option<Vec<u8>> {
    if b.inserts.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(b.inserts.len() * 512);
    for (_, user, _) in &b.inserts {
        write_field(&mut out, Some(tenant));
        for value in UserRow::from(user).copy_values() {
            out.push(b'\t');
            write_field(&mut out, value.as_deref());
        }
        out.push(b'\n');
    }
    Some(out)
}

/// One field in COPY's text format: `\N` for NULL; backslash, tab, newline
/// and carriage return escaped (the only bytes the format gives a meaning).
fn write_field(out: &mut Vec<u8>, value: Option<&str>) {
    let Some(value) = value else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for byte in value.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(byte),
        }
    }
}

impl UserRow<'_> {
    /// Each column's value as text (`None` = NULL), as COPY reads them, in
    /// the order of `USER_COLUMNS` (as the JSON row's fields; a test checks).
    pub(crate) fn copy_values(&self) -> [Option<Cow<'_, str>>; 24] {
        fn text(v: &str) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(v))
        }
        fn opt(v: Option<&str>) -> Option<Cow<'_, str>> {
            v.map(Cow::Borrowed)
        }
        fn int(v: i64) -> Option<Cow<'static, str>> {
            Some(Cow::Owned(v.to_string()))
        }
        [
            text(self.user_id),
            text(self.connection_id),
            text(self.connection_name),
            opt(self.email),
            int(self.email_verified),
            opt(self.username),
            opt(self.phone_number),
            int(self.phone_verified),
            opt(self.name),
            opt(self.given_name),
            opt(self.family_name),
            opt(self.nickname),
            opt(self.picture),
            int(self.blocked),
            text(&self.app_metadata),
            text(&self.user_metadata),
            text(self.created_at),
            text(self.updated_at),
            opt(self.last_login),
            opt(self.last_ip),
            int(self.logins_count),
            opt(self.credential),
            text(self.source),
            opt(self.mfa_factors.as_deref()),
        ]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::Value;

    /// The COPY values agree with the JSON row the `INSERT` path sends,
    /// field by field (whose keys are `USER_COLUMNS`, see `bulk`), so the
    /// two paths store the same user.
    #[test]
    fn copy_values_are_the_json_row_as_text() {
        let user = bulk::tests::sample_user();
        let row = UserRow::from(&user);
        let json = serde_json::to_value(&row).unwrap();
        let json = json.as_object().unwrap();
        let values = row.copy_values();
        assert_eq!(json.len(), values.len());
        for ((column, field), value) in json.iter().zip(values.iter()) {
            let expected = match field {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            };
            assert_eq!(value.as_deref().map(str::to_string), expected, "{column}");
        }
    }

    #[test]
    fn fields_escape_what_copy_reads_as_syntax() {
        let mut out = Vec::new();
        write_field(&mut out, Some("a\\b\tc\nd\re \u{e9}"));
        out.push(b'|');
        write_field(&mut out, None);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\\\b\\tc\\nd\\re \u{e9}|\\N"
        );
    }
}
