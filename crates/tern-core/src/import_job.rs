//! Running a bulk import job: parse the stored file, account for every row,
//! apply rows in batches whose progress commits with them.
//!
//! Resuming is the normal path, not a special case: a job always starts at
//! its `processed_rows`, which only advances in the transaction that applies
//! those rows. In-file duplicates are decided from the whole file up front,
//! so a resumed job reaches the same verdicts as an uninterrupted one.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::CoreResult;
use crate::import::{self, RowError, ValidRow};
use crate::model::{Job, JobStatus, User};
use crate::store::{ImportBatch, Store};

/// How a job runs.
#[derive(Debug, Clone, Copy)]
pub struct ImportSettings {
    /// Rows per transaction.
    pub batch_size: usize,
    /// Seconds a claim lasts without progress before another runner may take over.
    pub lease_secs: i64,
}

/// What the run ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportEnd {
    /// Every row accounted for.
    Completed,
    /// The file could not be read; the message says why.
    Failed(String),
}

/// An entry of `GET /jobs/{id}/errors`: Auth0's `{user, errors}` plus the
/// row's `index` in the uploaded file (a Tern addition).
fn error_record(index: usize, row: &Value, errors: &[RowError]) -> Value {
    json!({"user": import::redact(row), "errors": errors, "index": index})
}

/// For each row, the identity keys it claims (lower-cased email, local id, username).
fn keys_of(row: &Value) -> [Option<(&'static str, String)>; 3] {
    let s = |k: &str| row.get(k).and_then(Value::as_str);
    [
        s("email").map(|e| ("email", e.to_lowercase())),
        s("user_id").map(|u| ("user_id", u.trim_start_matches("auth0|").to_string())),
        s("username").map(|u| ("username", u.to_string())),
    ]
}

/// The first field on which each row repeats an earlier row, if any.
fn in_file_duplicates(rows: &[Value]) -> Vec<Option<&'static str>> {
    let mut seen: HashMap<(&'static str, String), usize> = HashMap::new();
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let mut dup = None;
            for (field, value) in keys_of(row).into_iter().flatten() {
                let first = *seen.entry((field, value)).or_insert(i);
                if first != i && dup.is_none() {
                    dup = Some(field);
                }
            }
            dup
        })
        .collect()
}

/// Run (or resume) an import job to its end.
pub async fn run_import(
    store: &dyn Store,
    tenant: &str,
    job: &Job,
    settings: ImportSettings,
    now: impl Fn() -> i64,
) -> CoreResult<ImportEnd> {
    let Some(file) = store.job_file(tenant, &job.id).await? else {
        return Ok(ImportEnd::Failed("The uploaded file is missing.".into()));
    };
    let rows: Vec<Value> = match serde_json::from_str::<Value>(&file) {
        Ok(Value::Array(rows)) => rows,
        Ok(other) => {
            return Ok(ImportEnd::Failed(format!(
                "The users file must be a JSON array of user objects; found a JSON {}.",
                match other {
                    Value::Object(_) => "object",
                    Value::String(_) => "string",
                    Value::Number(_) => "number",
                    Value::Bool(_) => "boolean",
                    _ => "null",
                }
            )));
        }
        Err(e) => {
            return Ok(ImportEnd::Failed(format!(
                "The users file is not valid JSON: {e}."
            )));
        }
    };
    let Some(connection) = store
        .get_connection(tenant, &job.spec.connection_id)
        .await?
    else {
        return Ok(ImportEnd::Failed(
            "The connection was deleted while the job was waiting.".into(),
        ));
    };
    store
        .set_job_total(tenant, &job.id, rows.len() as u64)
        .await?;
    let duplicates = in_file_duplicates(&rows);
    let start = usize::try_from(job.processed_rows)
        .unwrap_or(usize::MAX)
        .min(rows.len());
    let mut index = start;
    while index < rows.len() {
        let end = (index + settings.batch_size.max(1)).min(rows.len());
        let batch = plan_batch(
            store,
            tenant,
            job,
            &connection,
            &rows,
            &duplicates,
            index,
            end,
        )
        .await?;
        let batch = ImportBatch {
            processed_rows: end as u64,
            lease_until: now() + settings.lease_secs,
            ..batch
        };
        store.apply_import_batch(tenant, &job.id, &batch).await?;
        index = end;
    }
    Ok(ImportEnd::Completed)
}

#[allow(clippy::too_many_arguments)]
async fn plan_batch(
    store: &dyn Store,
    tenant: &str,
    job: &Job,
    connection: &crate::model::Connection,
    rows: &[Value],
    duplicates: &[Option<&'static str>],
    from: usize,
    to: usize,
) -> CoreResult<ImportBatch> {
    let mut batch = ImportBatch::default();
    let mut valid: Vec<(usize, ValidRow)> = Vec::new();
    for (i, row) in rows.iter().enumerate().take(to).skip(from) {
        if let Some(field) = duplicates[i] {
            batch.errors.push((
                i as u64,
                error_record(i, row, &[RowError::duplicated(field, false)]),
            ));
            continue;
        }
        match import::validate_row(row) {
            Ok(v) => valid.push((i, v)),
            Err(errors) => batch.errors.push((i as u64, error_record(i, row, &errors))),
        }
    }
    let emails: Vec<String> = valid.iter().map(|(_, v)| v.email.clone()).collect();
    let ids: Vec<String> = valid
        .iter()
        .filter_map(|(_, v)| v.user_id.as_ref().map(|id| format!("auth0|{id}")))
        .collect();
    let names: Vec<String> = valid
        .iter()
        .filter_map(|(_, v)| v.username.clone())
        .collect();
    let existing = store
        .find_import_matches(tenant, &connection.id, &emails, &ids, &names)
        .await?;
    let find = |pred: &dyn Fn(&User) -> bool| existing.iter().find(|u| pred(u));
    for (i, row) in valid {
        let raw = &rows[i];
        let by_email = find(&|u: &User| u.email.as_deref() == Some(row.email.as_str()));
        let by_id = row
            .user_id
            .as_ref()
            .and_then(|id| find(&|u: &User| u.local_id() == id));
        let by_name = row
            .username
            .as_ref()
            .and_then(|n| find(&|u: &User| u.username.as_deref() == Some(n.as_str())));
        match (by_email, job.spec.upsert) {
            (Some(user), true)
                if by_id.is_none_or(|u| u.user_id == user.user_id)
                    && by_name.is_none_or(|u| u.user_id == user.user_id) =>
            {
                let (updated, note) = import::upsert(user, row);
                if let Some(n) = note {
                    batch.notes.push((i as u64, error_record(i, raw, &[n])));
                }
                if job.spec.dry_run {
                    batch.dry_updated += 1;
                } else {
                    batch.updates.push(updated);
                }
            }
            _ => {
                let clash = if by_email.is_some() {
                    Some("email")
                } else if by_id.is_some() {
                    Some("user_id")
                } else if by_name.is_some() {
                    Some("username")
                } else {
                    None
                };
                if let Some(field) = clash {
                    batch.errors.push((
                        i as u64,
                        error_record(i, raw, &[RowError::duplicated(field, true)]),
                    ));
                } else if job.spec.dry_run {
                    batch.dry_inserted += 1;
                } else {
                    let conflict = error_record(
                        i,
                        raw,
                        &[RowError::duplicated("email, user_id or username", true)],
                    );
                    batch
                        .inserts
                        .push((i as u64, import::new_user(row, connection), conflict));
                }
            }
        }
    }
    Ok(batch)
}

/// The final status of a run, for the store.
pub fn final_status(end: &ImportEnd) -> (JobStatus, Option<&str>) {
    match end {
        ImportEnd::Completed => (JobStatus::Completed, None),
        ImportEnd::Failed(why) => (JobStatus::Failed, Some(why.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_decided_by_first_occurrence() {
        let rows = vec![
            json!({"email": "a@x.co"}),
            json!({"email": "A@x.co"}),
            json!({"email": "b@x.co", "user_id": "1"}),
            json!({"email": "c@x.co", "user_id": "auth0|1"}),
            json!({"email": "d@x.co", "username": "dd"}),
            json!({"email": "e@x.co", "username": "dd"}),
            json!("not an object"),
        ];
        assert_eq!(
            in_file_duplicates(&rows),
            vec![
                None,
                Some("email"),
                None,
                Some("user_id"),
                None,
                Some("username"),
                None
            ]
        );
    }
}
