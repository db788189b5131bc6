//! Running a bulk import job: parse the stored file, account for every row,
//! apply rows in batches whose progress commits with them.
//!
//! Resuming is the normal path, not a special case: a job always starts at
//! its `processed_rows`, which only advances in the transaction that applies
//! those rows. In-file duplicates are decided in file order (`InFileKeys`),
//! and a resumed job first reads the keys of the rows before its resume
//! point, so it reaches the same verdicts as an uninterrupted one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use futures_util::future::Either;

use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::CoreResult;
use crate::import::{self, RowError, ValidRow};
use crate::mfa::{SeedSealer, seal_factors};
use crate::model::{DryRunRoles, Job, JobStatus, User};
use crate::roles::{NamedRole, Role};
use crate::store::{BatchApplied, BatchGate, GateKey, ImportBatch, Store};
use crate::user_profile::{normalize_email, normalize_username};

/// How a job runs.
#[derive(Debug, Clone, Copy)]
pub struct ImportSettings {
    /// Rows per transaction.
    pub batch_size: usize,
    /// Seconds a claim lasts without progress before another runner may take over.
    pub lease_secs: i64,
    /// The server's hash cost limits: a row whose hash is over them fails.
    pub hash_limits: tern_hash::CostLimits,
}

/// What the run ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportEnd {
    /// Every row accounted for.
    Completed,
    /// The file could not be read; the message says why.
    Failed(String),
}

/// A batch being applied.
type InFlight<'a> = Pin<Box<dyn Future<Output = CoreResult<()>> + Send + 'a>>;

/// An entry of `GET /jobs/{id}/errors`: Auth0's `{user, errors}` plus the
/// row's `index` in the uploaded file (a Tern addition).
fn error_record(index: usize, row: &Value, errors: &[RowError]) -> Value {
    json!({"user": import::redact(row), "errors": errors, "index": index})
}

/// Which rows of a file repeat an identity key of an earlier row: the
/// normalised email, the local id (without `auth0|`) or the lower-cased
/// username, each as the row is stored (only
/// string values count, as in validation; with a key given twice in a row,
/// the last one, as everywhere else). Rows are fed in file order, each
/// batch as it is planned, so the verdicts cost no pass over the whole file
/// before the first batch; feeding a row again (a batch planned twice)
/// gives the same verdict, since each key remembers its first row.
#[derive(Default)]
struct InFileKeys {
    first: HashMap<(&'static str, String), usize>,
}

impl InFileKeys {
    /// The first field on which row `index` repeats an earlier row, if any.
    fn verdict(&mut self, index: usize, row: &Value) -> Option<&'static str> {
        let text = |field: &str| row.get(field).and_then(Value::as_str);
        let keys = [
            text("email").map(|e| ("email", normalize_email(e))),
            text("user_id").map(|u| ("user_id", u.trim_start_matches("auth0|").to_string())),
            text("username").map(|u| ("username", normalize_username(u))),
        ];
        let mut repeated = None;
        for key in keys.into_iter().flatten() {
            let field = key.0;
            let first = *self.first.entry(key).or_insert(index);
            if first != index && repeated.is_none() {
                repeated = Some(field);
            }
        }
        repeated
    }
}

/// One row of the file as a JSON value, or why it cannot be one: each was
/// already read as valid JSON, but only skimmed — a value nested deeper than
/// the JSON reader's recursion limit (128 levels) is read as a whole here and
/// fails, and the row gets that error instead of passing for `null`.
fn parse_row(raw: &&RawValue) -> Result<Value, RowError> {
    serde_json::from_str(raw.get()).map_err(|e| RowError {
        code: "INVALID_FORMAT",
        message: if e.to_string().starts_with("recursion limit exceeded") {
            format!("The user cannot be read: it is nested more than 127 levels deep ({e}).")
        } else {
            format!("The user cannot be read: {e}.")
        },
        path: String::new(),
    })
}

/// The rows of an uploaded file, each still unparsed text (so a large file
/// costs its size in memory, not a parsed tree of every row), or why the
/// file cannot be imported.
fn split_rows(file: &str) -> Result<Vec<&RawValue>, String> {
    if let Ok(rows) = serde_json::from_str::<Vec<&RawValue>>(file) {
        return Ok(rows);
    }
    // Not an array of values: say what it is.
    Err(match serde_json::from_str::<Value>(file) {
        Ok(other) => format!(
            "The users file must be a JSON array of user objects; found a JSON {}.",
            match other {
                Value::Object(_) => "object",
                Value::String(_) => "string",
                Value::Number(_) => "number",
                Value::Bool(_) => "boolean",
                Value::Array(_) => "array whose rows cannot be read",
                Value::Null => "null",
            }
        ),
        Err(e) => format!("The users file is not valid JSON: {e}."),
    })
}

/// Whether a row of an uploaded file names roles (`tern_roles`): such a
/// file needs the scope that assigns roles. A quick look for the key comes
/// first, so a file without it costs one scan.
pub fn file_names_roles(file: &str) -> bool {
    file.contains("\"tern_roles\"")
        && split_rows(file).is_ok_and(|rows| {
            rows.iter().any(|row| {
                serde_json::from_str::<HashMap<&str, serde::de::IgnoredAny>>(row.get())
                    .is_ok_and(|keys| keys.contains_key("tern_roles"))
            })
        })
}

/// Seal the TOTP seeds of every user a batch writes: no seed from an
/// import file reaches the store in clear.
fn seal_batch(batch: &mut ImportBatch, sealer: &dyn SeedSealer, tenant: &str) -> CoreResult<()> {
    let users = batch
        .inserts
        .iter_mut()
        .map(|(_, u, _)| u)
        .chain(batch.updates.iter_mut());
    for u in users {
        let mut changed = false;
        if !seal_factors(&mut u.mfa_factors, sealer, tenant, &u.user_id, &mut changed) {
            return Err(crate::CoreError::Storage("cannot seal a TOTP seed".into()));
        }
    }
    Ok(())
}

/// Run (or resume) an import job to its end; TOTP seeds are sealed with
/// `sealer` before they are stored.
pub async fn run_import(
    store: &dyn Store,
    tenant: &str,
    job: &Job,
    settings: ImportSettings,
    sealer: &dyn SeedSealer,
    now: impl Fn() -> i64 + Sync,
) -> CoreResult<ImportEnd> {
    let Some(file) = store.job_file(tenant, &job.id).await? else {
        return Ok(ImportEnd::Failed("The uploaded file is missing.".into()));
    };
    let rows = match split_rows(&file) {
        Ok(rows) => rows,
        Err(why) => return Ok(ImportEnd::Failed(why)),
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
    let start = usize::try_from(job.processed_rows)
        .unwrap_or(usize::MAX)
        .min(rows.len());
    // A resumed job first learns the keys of the rows already applied.
    let mut keys = InFileKeys::default();
    for (i, raw) in rows[..start].iter().enumerate() {
        if let Ok(row) = parse_row(raw) {
            keys.verdict(i, &row);
        }
    }
    let keys = std::sync::Mutex::new(keys);
    // A dry run's role findings so far, from the resume point on top of
    // those stored with the rows before it. Each batch is planned once in
    // a dry run (it never plans optimistically, so never again after a
    // collision), so no batch is counted twice.
    let dry_roles = std::sync::Mutex::new(job.dry_run_roles.clone().unwrap_or_default());
    // Batches overlap: while batch k is written, batch k+1 is planned and
    // then written too, and it commits only after batch k has (its gate,
    // `BatchGate`), so progress still advances row by row in the
    // transactions that apply the rows, and a crash resumes exactly. The
    // overlap changes no verdict: planning only reads existing users, and a
    // row of batch k+1 can only collide with a row of batch k through a key
    // they share, which `InFileKeys` already decided.
    //
    // An insert-only job plans optimistically (see `ImportBatch::optimistic`);
    // upserts must find the users they update, and a dry run writes nothing
    // that could reveal a collision.
    let optimistic = !job.spec.upsert && !job.spec.dry_run;
    let plan = |from: usize, optimistic: bool| {
        let to = (from + settings.batch_size.max(1)).min(rows.len());
        let parsed: Vec<Result<Value, RowError>> = rows[from..to].iter().map(parse_row).collect();
        let duplicates: Vec<Option<&'static str>> = {
            // Only this closure takes the lock, and never across an await.
            let mut keys = keys
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            parsed
                .iter()
                .enumerate()
                .map(|(k, row)| keys.verdict(from + k, row.as_ref().ok()?))
                .collect()
        };
        let (connection, dry_roles) = (&connection, &dry_roles);
        async move {
            let mut batch = plan_batch(
                store,
                tenant,
                job,
                connection,
                &parsed,
                &duplicates,
                from,
                optimistic,
                &settings.hash_limits,
            )
            .await?;
            seal_batch(&mut batch, sealer, tenant)?;
            if let Some(found) = batch.dry_run_roles.take() {
                let mut so_far = dry_roles
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                so_far.add(&found);
                batch.dry_run_roles = Some(so_far.clone());
            }
            CoreResult::Ok((from, to, batch))
        }
    };
    // Progress and lease are stamped when the batch is handed to the store.
    let stamped = |end: usize, batch: ImportBatch| ImportBatch {
        processed_rows: end as u64,
        lease_until: now() + settings.lease_secs,
        lease_token: job.lease_token,
        ..batch
    };
    // Apply rows `from..end` once `after` opens; open `done` when committed.
    let apply = |from: usize, end: usize, batch: ImportBatch, after: BatchGate, done: GateKey| {
        let applied = async move {
            let batch = stamped(end, batch);
            let first = store
                .apply_import_batch(tenant, &job.id, &batch, after.clone())
                .await?;
            if first == BatchApplied::Collided {
                // Planned again with the lookups, the batch records each
                // collision instead of meeting it: it cannot collide twice.
                let (_, _, batch) = plan(from, false).await?;
                store
                    .apply_import_batch(tenant, &job.id, &stamped(end, batch), after)
                    .await?;
            }
            done.open();
            CoreResult::Ok(())
        };
        Box::pin(applied) as InFlight<'_>
    };
    if start >= rows.len() {
        return Ok(ImportEnd::Completed);
    }
    let mut planned = plan(start, optimistic).await?;
    let mut after = BatchGate::opened();
    // The batch before the one being handed out, still being written.
    let mut previous: Option<InFlight<'_>> = None;
    loop {
        let (from, end, batch) = planned;
        let (done, next_after) = BatchGate::new();
        let this = apply(from, end, batch, after, done);
        after = next_after;
        // Until the previous batch is written and the next one planned,
        // this one is written too.
        let before = previous.take();
        let previous_then_plan = Box::pin(async {
            if let Some(before) = before {
                before.await?;
            }
            if end < rows.len() {
                plan(end, optimistic).await.map(Some)
            } else {
                Ok(None)
            }
        });
        let next = match futures_util::future::select(previous_then_plan, this).await {
            Either::Left((next, this)) => {
                previous = Some(this);
                next?
            }
            Either::Right((applied, previous_then_plan)) => {
                // Done (or failed) before the next batch was planned: the
                // previous one has committed, so nothing is left in flight.
                let next = previous_then_plan.await?;
                applied?;
                next
            }
        };
        match next {
            Some(next) => planned = next,
            None => break,
        }
    }
    if let Some(last) = previous {
        last.await?;
    }
    Ok(ImportEnd::Completed)
}

/// Existing users that a batch's rows match, by each key.
struct Matches<'a> {
    by_email: HashMap<&'a str, &'a User>,
    by_id: HashMap<&'a str, &'a User>,
    by_name: HashMap<&'a str, &'a User>,
}

impl<'a> Matches<'a> {
    /// `users` as `find_import_matches` returns them: ids match in every
    /// connection, emails and usernames only in the job's.
    fn new(users: &'a [User], connection_id: &str) -> Self {
        let mut m = Matches {
            by_email: HashMap::new(),
            by_id: HashMap::new(),
            by_name: HashMap::new(),
        };
        for u in users {
            m.by_id.insert(u.local_id(), u);
            if u.connection_id != connection_id {
                continue;
            }
            if let Some(e) = &u.email {
                m.by_email.insert(e, u);
            }
            if let Some(n) = &u.username {
                m.by_name.insert(n, u);
            }
        }
        m
    }
}

/// Decide what each row of one batch does. `rows[k]` is row `first + k` of
/// the file; `duplicates[k]` its in-file verdict. An `optimistic` plan does
/// not look up existing users (see `ImportBatch::optimistic`). A dry run's
/// `dry_run_roles` holds this batch's findings alone (`run_import` adds
/// those of the batches before).
#[allow(clippy::too_many_arguments)]
async fn plan_batch(
    store: &dyn Store,
    tenant: &str,
    job: &Job,
    connection: &crate::model::Connection,
    rows: &[Result<Value, RowError>],
    duplicates: &[Option<&'static str>],
    first: usize,
    optimistic: bool,
    hash_limits: &tern_hash::CostLimits,
) -> CoreResult<ImportBatch> {
    let mut batch = ImportBatch {
        optimistic,
        ..ImportBatch::default()
    };
    let mut valid: Vec<(usize, &Value, ValidRow)> = Vec::new();
    for (k, row) in rows.iter().enumerate() {
        let i = first + k;
        let row = match row {
            Ok(row) => row,
            Err(unreadable) => {
                let record = error_record(i, &Value::Null, std::slice::from_ref(unreadable));
                batch.errors.push((i as u64, record));
                continue;
            }
        };
        if let Some(field) = duplicates[k] {
            batch.errors.push((
                i as u64,
                error_record(i, row, &[RowError::duplicated(field, false)]),
            ));
            continue;
        }
        match import::validate_row(row, hash_limits) {
            Ok(v) => valid.push((i, row, v)),
            Err(errors) => batch.errors.push((i as u64, error_record(i, row, &errors))),
        }
    }
    let existing = if optimistic {
        Vec::new()
    } else {
        let emails: Vec<String> = valid.iter().map(|(_, _, v)| v.email.clone()).collect();
        let ids: Vec<String> = valid
            .iter()
            .filter_map(|(_, _, v)| v.user_id.as_ref().map(|id| format!("auth0|{id}")))
            .collect();
        let names: Vec<String> = valid
            .iter()
            .filter_map(|(_, _, v)| v.username.clone())
            .collect();
        store
            .find_import_matches(tenant, &connection.id, &emails, &ids, &names)
            .await?
    };
    let matches = Matches::new(&existing, &connection.id);
    let role_refusals = RoleRefusals::new(store, tenant, job, &valid, &existing).await?;
    let mut new_roles: BTreeMap<String, Role> = BTreeMap::new();
    for (i, raw, mut row) in valid {
        if let Some(error) = role_refusals.of(&row) {
            batch
                .errors
                .push((i as u64, error_record(i, raw, &[error])));
            continue;
        }
        let roles = std::mem::take(&mut row.roles);
        let by_email = matches.by_email.get(row.email.as_str()).copied();
        let by_id = row
            .user_id
            .as_deref()
            .and_then(|id| matches.by_id.get(id).copied());
        // Another connection's user holds the id: never inserted, never merged.
        if let Some(holder) = by_id.filter(|u| u.connection_id != connection.id) {
            batch.errors.push((
                i as u64,
                error_record(i, raw, &[RowError::user_id_of_another_connection(holder)]),
            ));
            continue;
        }
        let by_name = row
            .username
            .as_deref()
            .and_then(|n| matches.by_name.get(n).copied());
        match (by_email, job.spec.upsert) {
            (Some(user), true)
                if by_id.is_none_or(|u| u.user_id == user.user_id)
                    && by_name.is_none_or(|u| u.user_id == user.user_id) =>
            {
                let (updated, note) = import::upsert(user, row, job.spec.upsert_credentials);
                if let Some(n) = note {
                    batch.notes.push((i as u64, error_record(i, raw, &[n])));
                }
                if job.spec.dry_run {
                    batch.dry_updated += 1;
                    role_refusals.would_grant(&mut batch, &user.user_id, &roles);
                } else {
                    grant(&mut batch, &mut new_roles, job, &updated.user_id, roles);
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
                    role_refusals.would_grant(&mut batch, "", &roles);
                } else {
                    let conflict = (!optimistic).then(|| {
                        error_record(
                            i,
                            raw,
                            &[RowError::duplicated("email, user_id or username", true)],
                        )
                    });
                    let user = import::new_user(row, connection);
                    grant(&mut batch, &mut new_roles, job, &user.user_id, roles);
                    batch.inserts.push((i as u64, user, conflict));
                }
            }
        }
    }
    batch.new_roles = new_roles.into_values().collect();
    Ok(batch)
}

/// Give `user_id` the `roles` its row names; those the job may create are
/// listed once per batch (by name, so the store creates them in one order
/// whichever job runs: two jobs creating the same roles never deadlock).
fn grant(
    batch: &mut ImportBatch,
    new_roles: &mut BTreeMap<String, Role>,
    job: &Job,
    user_id: &str,
    roles: Vec<NamedRole>,
) {
    for role in roles {
        if job.spec.create_roles && !new_roles.contains_key(&role.name) {
            let created = Role {
                id: crate::ids::role_id(),
                name: role.name.clone(),
                description: role.description,
            };
            new_roles.insert(role.name.clone(), created);
        }
        batch.role_grants.push((user_id.to_string(), role.name));
    }
}

/// Why a row's roles cannot be given by this job, if so: the job's creator
/// may not assign roles, or a role the row names does not exist and the
/// creator may not create roles. A scope never reaches more than it names.
/// In a dry run, also what the rows' roles would do.
struct RoleRefusals {
    assign: bool,
    create: bool,
    /// The tenant's role names, when the batch names roles and the job may
    /// not create roles or is a dry run.
    existing: Option<HashSet<String>>,
    /// In a dry run naming roles, the names of the roles each stored user
    /// the batch matched holds already (those grants would change nothing).
    held: HashMap<String, HashSet<String>>,
}

impl RoleRefusals {
    async fn new(
        store: &dyn Store,
        tenant: &str,
        job: &Job,
        valid: &[(usize, &Value, ValidRow)],
        matched: &[User],
    ) -> CoreResult<Self> {
        let names_roles =
            job.spec.assign_roles && valid.iter().any(|(_, _, v)| !v.roles.is_empty());
        let needed = !job.spec.create_roles || job.spec.dry_run;
        let existing = if names_roles && needed {
            let roles = store.list_roles(tenant, None).await?;
            Some(roles.into_iter().map(|r| r.name).collect())
        } else {
            None
        };
        let mut held: HashMap<String, HashSet<String>> = HashMap::new();
        if names_roles && job.spec.dry_run && !matched.is_empty() {
            let ids: Vec<String> = matched.iter().map(|u| u.user_id.clone()).collect();
            for (user, role) in store.held_role_names(tenant, &ids).await? {
                held.entry(user).or_default().insert(role);
            }
        }
        Ok(Self {
            assign: job.spec.assign_roles,
            create: job.spec.create_roles,
            existing,
            held,
        })
    }

    /// Count in a dry-run `batch` what giving `user_id` (empty: a user the
    /// run would insert) a row's `roles` would do: the grants they do not
    /// hold yet, and the roles the tenant lacks (which the job may create,
    /// or the row would have been refused).
    fn would_grant(&self, batch: &mut ImportBatch, user_id: &str, roles: &[NamedRole]) {
        if roles.is_empty() {
            return;
        }
        let found = batch.dry_run_roles.get_or_insert_with(DryRunRoles::default);
        let held = self.held.get(user_id);
        let new = roles
            .iter()
            .filter(|r| held.is_none_or(|h| !h.contains(&r.name)));
        found.would_assign += new.count() as u64;
        let lacking = roles
            .iter()
            .filter(|r| self.existing.as_ref().is_some_and(|e| !e.contains(&r.name)));
        found.lacking(lacking.map(|r| r.name.clone()));
    }

    fn of(&self, row: &ValidRow) -> Option<RowError> {
        if row.roles.is_empty() {
            return None;
        }
        if !self.assign {
            return Some(RowError {
                code: "INSUFFICIENT_SCOPE",
                message: "Error in tern_roles property - giving users roles needs the create:role_members scope, which the job's creator did not have".into(),
                path: "tern_roles".into(),
            });
        }
        if self.create {
            return None;
        }
        let existing = self.existing.as_ref()?;
        let missing = row.roles.iter().find(|r| !existing.contains(&r.name))?;
        Some(RowError {
            code: "INSUFFICIENT_SCOPE",
            message: format!(
                "Error in tern_roles property - the tenant has no role named '{}', and creating one needs the create:roles scope, which the job's creator did not have",
                missing.name
            ),
            path: "tern_roles".into(),
        })
    }
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
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn duplicates_are_decided_by_first_occurrence() {
        let file = r#"[
            {"email": "a@x.co"},
            {"email": "A@x.co"},
            {"email": "b@x.co", "user_id": "1"},
            {"email": "c@x.co", "user_id": "auth0|1"},
            {"email": "d@x.co", "username": "dd"},
            {"email": "e@x.co", "username": "DD"},
            "not an object",
            ["a@x.co"],
            {"email": 5, "user_id": "2"},
            {"email": "x@x.co", "email": "b@x.co"},
            {"email": "f@x.co", "user_id": "2", "name": {"email": "a@x.co"}}
        ]"#;
        let rows = split_rows(file).unwrap();
        let mut keys = InFileKeys::default();
        let verdicts: Vec<_> = rows
            .iter()
            .enumerate()
            .map(|(i, raw)| keys.verdict(i, &parse_row(raw).unwrap()))
            .collect();
        // Fed again (a batch planned twice), a row keeps its verdict.
        assert_eq!(
            keys.verdict(1, &parse_row(&rows[1]).unwrap()),
            Some("email")
        );
        assert_eq!(keys.verdict(0, &parse_row(&rows[0]).unwrap()), None);
        assert_eq!(
            verdicts,
            vec![
                None,
                Some("email"),
                None,
                Some("user_id"),
                None,
                Some("username"),
                None,
                None,
                None,
                Some("email"),
                Some("user_id"),
            ]
        );
    }

    #[test]
    fn a_file_that_is_not_an_array_says_what_it_is() {
        assert_eq!(
            split_rows(r#"{"email": "a@x.co"}"#).unwrap_err(),
            "The users file must be a JSON array of user objects; found a JSON object."
        );
        assert!(
            split_rows("[{\"email\": ")
                .unwrap_err()
                .starts_with("The users file is not valid JSON: EOF while parsing")
        );
        assert_eq!(split_rows(" [ ] ").unwrap().len(), 0);
    }
}
