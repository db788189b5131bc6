//! Import and export jobs: files (LZ4 in `job_blobs`), leases, batches, errors.

use std::collections::HashSet;

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Connection, Row};
use tern_core::model::{Job, JobSpec, JobStatus, User};
use tern_core::store::{BatchApplied, BatchGate, ImportBatch, JobStore, lease_lost};
use tern_core::{CoreError, CoreResult};

use super::users::{UPDATE_USER, bind_user, decode_user, drop_unblock_links_on_new_email};
use super::{SqlStore, USER_COLUMNS, as_i64, storage, to_body};
use crate::search_sql::Dialect;
use crate::wal::Checkpointer;
use crate::{bulk, copy_users, packed};

const JOB_COLUMNS: &str = "id, status, created_at, updated_at, total_rows, processed_rows, inserted, updated, failed, status_details, body, lease_token, dry_run_roles";

fn decode_job(row: &AnyRow) -> CoreResult<Job> {
    let n = |c: &str| {
        row.try_get::<i64, _>(c)
            .map(|v| u64::try_from(v).unwrap_or(0))
            .map_err(storage)
    };
    let body: String = row.try_get("body").map_err(storage)?;
    let spec: JobSpec =
        serde_json::from_str(&body).map_err(|e| CoreError::Storage(format!("corrupt job: {e}")))?;
    let status: String = row.try_get("status").map_err(storage)?;
    let dry_run_roles = row
        .try_get::<Option<String>, _>("dry_run_roles")
        .map_err(storage)?
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|e| CoreError::Storage(format!("corrupt job: {e}")))?;
    Ok(Job {
        id: row.try_get("id").map_err(storage)?,
        spec,
        status: JobStatus::parse(&status).unwrap_or(JobStatus::Failed),
        created_at: row.try_get("created_at").map_err(storage)?,
        updated_at: row.try_get("updated_at").map_err(storage)?,
        total_rows: row
            .try_get::<Option<i64>, _>("total_rows")
            .map_err(storage)?
            .map(|v| u64::try_from(v).unwrap_or(0)),
        processed_rows: n("processed_rows")?,
        inserted: n("inserted")?,
        updated: n("updated")?,
        failed: n("failed")?,
        status_details: row.try_get("status_details").map_err(storage)?,
        lease_token: row.try_get("lease_token").map_err(storage)?,
        dry_run_roles,
    })
}

impl SqlStore {
    /// One import batch in one transaction: its users, its error records and
    /// the job's progress, committed after `after` passes. Returns what
    /// happened and the users inserted.
    async fn apply_batch(
        &self,
        tenant: &str,
        job_id: &str,
        b: &ImportBatch,
        after: BatchGate,
    ) -> CoreResult<(BatchApplied, u64)> {
        if let Some(pg) = self
            .native_pg
            .as_ref()
            // Never a dry run (never optimistic), so no `dry_run_roles`.
            .filter(|_| b.optimistic && b.updates.is_empty())
        {
            let applied = copy_users::apply_batch(pg, tenant, job_id, b, after).await?;
            let inserted = match applied {
                BatchApplied::Applied => b.inserts.len() as u64,
                BatchApplied::Collided => 0,
            };
            return Ok((applied, inserted));
        }
        // Wait before writing anything: on SQLite a waiting writer would
        // hold the one write lock that the batch before it needs.
        if !after.passed().await {
            return Err(bulk::earlier_batch_failed());
        }
        // The batch's turn to write (SQLite; see `import_writer`), taken
        // once the batch before it in its job has committed.
        let _turn = match &self.import_writer {
            Some(writer) => Some(writer.lock().await),
            None => None,
        };
        let mut conn = self.pool.acquire().await.map_err(storage)?;
        let Some(checkpointer) = &self.checkpointer else {
            return self.write_batch(&mut conn, tenant, job_id, b).await;
        };
        // No checkpoint inside this batch's commit (see `wal`).
        let mut held = Checkpointer::hold(conn).await.map_err(storage)?;
        let written = self.write_batch(&mut held, tenant, job_id, b).await;
        checkpointer.release(held, &self.pool).await;
        written
    }

    /// The transaction of [`Self::apply_batch`] on `conn` (the set-based path).
    async fn write_batch(
        &self,
        conn: &mut sqlx::AnyConnection,
        tenant: &str,
        job_id: &str,
        b: &ImportBatch,
    ) -> CoreResult<(BatchApplied, u64)> {
        let mut tx = conn.begin().await.map_err(storage)?;
        let mut written: HashSet<String> = HashSet::new();
        if !b.inserts.is_empty() {
            // One statement for the batch's users (see `insert_users_sql`).
            let param = bulk::user_rows_param(b)?;
            written = sqlx::query_scalar(AssertSqlSafe(bulk::insert_users_sql(self.dialect)))
                .bind(tenant)
                .bind(param)
                .fetch_all(&mut *tx)
                .await
                .map_err(storage)?
                .into_iter()
                .collect();
            if b.optimistic && written.len() < b.inserts.len() {
                tx.rollback().await.map_err(storage)?;
                return Ok((BatchApplied::Collided, 0));
            }
        }
        for user in &b.updates {
            drop_unblock_links_on_new_email(&mut tx, tenant, user).await?;
            bind_user(sqlx::query(UPDATE_USER).bind(tenant), user)
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        let updated: HashSet<&str> = b.updates.iter().map(|u| u.user_id.as_str()).collect();
        let roles = bulk::role_params(b, |id| written.contains(id) || updated.contains(id))?;
        if let Some(roles) = roles {
            for (sql, param) in bulk::role_statements(self.dialect, roles) {
                sqlx::query(AssertSqlSafe(sql))
                    .bind(tenant)
                    .bind(param)
                    .execute(&mut *tx)
                    .await
                    .map_err(storage)?;
            }
        }
        let outcome = bulk::BatchOutcome::of(b, |id| written.contains(id));
        if !outcome.records.is_empty() {
            sqlx::query(AssertSqlSafe(bulk::insert_errors_sql(self.dialect)))
                .bind(tenant)
                .bind(job_id)
                .bind(bulk::json_param(&outcome.records)?)
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        if let Some(found) = &b.dry_run_roles {
            // Before the progress, whose lease check rolls this back too.
            sqlx::query("UPDATE jobs SET dry_run_roles = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(job_id)
                .bind(to_body(found))
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        let progressed = sqlx::query(bulk::PROGRESS_SQL)
            .bind(tenant)
            .bind(job_id)
            .bind(as_i64(b.processed_rows))
            .bind(as_i64(outcome.inserted))
            .bind(as_i64(outcome.updated))
            .bind(as_i64(outcome.failed))
            .bind(b.lease_until)
            .bind(tern_core::clock::now_iso())
            .bind(b.lease_token)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        if progressed.rows_affected() == 0 {
            tx.rollback().await.map_err(storage)?;
            return Err(lease_lost(job_id));
        }
        tx.commit().await.map_err(storage)?;
        Ok((BatchApplied::Applied, outcome.inserted_now))
    }

    /// Start `tenant`'s waiting jobs while fewer than `max_active` are
    /// pending or processing. Each start is one statement that counts and
    /// updates (SQLite runs one writer at a time, so that is atomic there);
    /// on PostgreSQL a transaction-scoped advisory lock per tenant makes the
    /// runners of all instances take turns, so two cannot both see the last
    /// free slot.
    async fn start_waiting(&self, tenant: &str, max_active: u64) -> CoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        self.lock_job_starts(&mut tx, tenant).await?;
        let mut started = 0;
        loop {
            let r = sqlx::query(
                "UPDATE jobs SET status = 'pending', updated_at = $3 \
                 WHERE tenant_id = $1 AND status = 'waiting' AND id = \
                   (SELECT id FROM jobs WHERE tenant_id = $1 AND status = 'waiting' \
                    ORDER BY queued_seq LIMIT 1) \
                 AND (SELECT COUNT(*) FROM jobs WHERE tenant_id = $1 AND type = 'users_import' \
                      AND status IN ('pending', 'processing')) < $2",
            )
            .bind(tenant)
            .bind(as_i64(max_active))
            .bind(tern_core::clock::now_iso())
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
            if r.rows_affected() == 0 {
                break;
            }
            started += 1;
        }
        tx.commit().await.map_err(storage)?;
        Ok(started)
    }

    /// Insert `job` of `kind` unless the tenant has `max_active` of that
    /// kind pending or processing; whether it was inserted. The count and
    /// the insert share one statement, so two concurrent inserts on SQLite
    /// (one writer at a time) cannot both pass the limit; on PostgreSQL
    /// the tenant's lock makes them take turns.
    async fn insert_job_under_limit(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &str,
        job: &Job,
        kind: &str,
        max_active: u64,
    ) -> CoreResult<bool> {
        self.lock_job_starts(tx, tenant).await?;
        let r = sqlx::query(
            "INSERT INTO jobs (tenant_id, id, type, status, created_at, updated_at, body) \
             SELECT $1, $2, $7, $3, $4, $4, $5 \
             WHERE (SELECT COUNT(*) FROM jobs WHERE tenant_id = $1 AND type = $7 \
                    AND status IN ('pending', 'processing')) < $6",
        )
        .bind(tenant)
        .bind(&job.id)
        .bind(job.status.as_str())
        .bind(&job.created_at)
        .bind(to_body(&job.spec))
        .bind(as_i64(max_active))
        .bind(kind)
        .execute(&mut **tx)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() == 1)
    }

    /// On PostgreSQL, wait for `tenant`'s advisory lock over starting
    /// import jobs, held until `tx` ends. Every statement that counts the
    /// tenant's active imports and then adds one (an upload, a waiting job's
    /// start) takes it first: under READ COMMITTED two such transactions
    /// would otherwise both count the last free slot. SQLite needs nothing
    /// (one writer at a time, and the count shares the writing statement).
    async fn lock_job_starts(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &str,
    ) -> CoreResult<()> {
        if self.dialect == Dialect::Postgres {
            sqlx::query(
                "SELECT pg_advisory_xact_lock(hashtextextended('tern.jobs.start:' || $1, 0))",
            )
            .bind(tenant)
            .execute(&mut **tx)
            .await
            .map_err(storage)?;
        }
        Ok(())
    }

    /// Refresh PostgreSQL's statistics of `users` during a bulk import (see
    /// `statistics`). A failure only costs speed: it is logged, not raised.
    async fn analyze_users(&self) {
        let analyzed = async {
            // Only the columns the import lookups filter on: a fraction of the
            // cost of analyzing all 24.
            sqlx::query("ANALYZE users (tenant_id, connection_id, email, user_id, username)")
                .execute(&self.pool)
                .await?;
            sqlx::query_scalar::<_, i64>(
                "SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE oid = 'users'::regclass",
            )
            .fetch_one(&self.pool)
            .await
        }
        .await;
        match analyzed {
            Ok(rows) => self
                .import_statistics
                .analyzed(u64::try_from(rows).unwrap_or(0)),
            Err(e) => tracing::warn!(error = %e, "ANALYZE users failed; imports may slow down"),
        }
    }
}

#[async_trait::async_trait]
impl JobStore for SqlStore {
    async fn insert_import_job(
        &self,
        tenant: &str,
        job: &Job,
        file: &str,
        max_active: u64,
    ) -> CoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        if !self
            .insert_job_under_limit(&mut tx, tenant, job, "users_import", max_active)
            .await?
        {
            return Ok(false);
        }
        sqlx::query("INSERT INTO job_blobs (tenant_id, job_id, lz4) VALUES ($1, $2, $3)")
            .bind(tenant)
            .bind(&job.id)
            .bind(packed::pack(file))
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(true)
    }

    async fn start_waiting_jobs(&self, max_active: u64) -> CoreResult<u64> {
        let tenants: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT tenant_id FROM jobs WHERE status = 'waiting'")
                .fetch_all(&self.pool)
                .await
                .map_err(storage)?;
        let mut started = 0;
        for tenant in tenants {
            started += self.start_waiting(&tenant, max_active).await?;
        }
        Ok(started)
    }

    async fn count_jobs_by_state(&self, tenant: &str) -> CoreResult<Vec<(String, String, u64)>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT type, status, COUNT(*) FROM jobs WHERE tenant_id = $1 GROUP BY type, status",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        Ok(rows
            .into_iter()
            .map(|(t, s, n)| (t, s, u64::try_from(n).unwrap_or(0)))
            .collect())
    }

    async fn insert_export_job(
        &self,
        tenant: &str,
        job: &Job,
        max_active: u64,
    ) -> CoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let inserted = self
            .insert_job_under_limit(&mut tx, tenant, job, "users_export", max_active)
            .await?;
        tx.commit().await.map_err(storage)?;
        Ok(inserted)
    }

    async fn insert_finished_job(&self, tenant: &str, job: &Job) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO jobs (tenant_id, id, type, status, created_at, updated_at, body, \
             status_details) VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
        )
        .bind(tenant)
        .bind(&job.id)
        .bind(job.spec.kind.as_str())
        .bind(job.status.as_str())
        .bind(&job.created_at)
        .bind(to_body(&job.spec))
        .bind(job.status_details.as_deref())
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn set_job_file(&self, tenant: &str, id: &str, content: &str) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO job_blobs (tenant_id, job_id, lz4) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, job_id) DO UPDATE SET lz4 = excluded.lz4",
        )
        .bind(tenant)
        .bind(id)
        .bind(packed::pack(content))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn list_jobs(
        &self,
        tenant: &str,
        kind: tern_core::model::JobType,
        limit: u64,
    ) -> CoreResult<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND type = $2 \
             ORDER BY queued_seq DESC LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(kind.as_str())
            .bind(as_i64(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter().map(decode_job).collect()
    }

    async fn get_job(&self, tenant: &str, id: &str) -> CoreResult<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| decode_job(&r)).transpose()
    }

    async fn job_file(&self, tenant: &str, id: &str) -> CoreResult<Option<String>> {
        let stored: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT lz4 FROM job_blobs WHERE tenant_id = $1 AND job_id = $2")
                .bind(tenant)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(storage)?;
        if let Some(stored) = stored {
            return packed::unpack(&stored).map(Some);
        }
        // A file stored before job files were compressed (migration 0006).
        sqlx::query_scalar("SELECT content FROM job_files WHERE tenant_id = $1 AND job_id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)
    }

    async fn claim_job(&self, now: i64, lease_secs: i64) -> CoreResult<Option<(String, Job)>> {
        let candidates = sqlx::query(
            "SELECT tenant_id, id FROM jobs WHERE status = 'pending' \
             OR (status = 'processing' AND lease_until < $1) ORDER BY queued_seq LIMIT 5",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        for c in candidates {
            let tenant: String = c.try_get("tenant_id").map_err(storage)?;
            let id: String = c.try_get("id").map_err(storage)?;
            // Conditional update: of several runners, exactly one wins the
            // job, and its claim gets a new fencing token.
            let token: Option<i64> = sqlx::query_scalar(
                "UPDATE jobs SET status = 'processing', lease_until = $3, updated_at = $4, \
                 lease_token = lease_token + 1 \
                 WHERE tenant_id = $1 AND id = $2 \
                 AND (status = 'pending' OR (status = 'processing' AND lease_until < $5)) \
                 RETURNING lease_token",
            )
            .bind(&tenant)
            .bind(&id)
            .bind(now + lease_secs)
            .bind(tern_core::clock::now_iso())
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
            if let Some(token) = token
                && let Some(mut job) = self.get_job(&tenant, &id).await?
            {
                job.lease_token = token;
                return Ok(Some((tenant, job)));
            }
        }
        Ok(None)
    }

    async fn set_job_total(&self, tenant: &str, id: &str, total: u64) -> CoreResult<()> {
        sqlx::query("UPDATE jobs SET total_rows = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .bind(as_i64(total))
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn apply_import_batch(
        &self,
        tenant: &str,
        job_id: &str,
        b: &ImportBatch,
        after: BatchGate,
    ) -> CoreResult<BatchApplied> {
        let (applied, inserted) = self.apply_batch(tenant, job_id, b, after).await?;
        let due = self.import_statistics.record(inserted);
        // Statistics serve the lookups, which optimistic batches skip.
        if self.dialect == Dialect::Postgres && due && !b.optimistic {
            self.analyze_users().await;
        }
        Ok(applied)
    }

    async fn finish_job(
        &self,
        tenant: &str,
        id: &str,
        lease_token: i64,
        status: JobStatus,
        details: Option<&str>,
    ) -> CoreResult<bool> {
        let r = sqlx::query(
            "UPDATE jobs SET status = $3, status_details = $4, updated_at = $5, lease_until = 0 \
             WHERE tenant_id = $1 AND id = $2 AND lease_token = $6",
        )
        .bind(tenant)
        .bind(id)
        .bind(status.as_str())
        .bind(details)
        .bind(tern_core::clock::now_iso())
        .bind(lease_token)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() == 1)
    }

    async fn renew_job_lease(
        &self,
        tenant: &str,
        id: &str,
        lease_token: i64,
        until: i64,
    ) -> CoreResult<bool> {
        let r = sqlx::query(
            "UPDATE jobs SET lease_until = $4 WHERE tenant_id = $1 AND id = $2 \
             AND lease_token = $3 AND status = 'processing'",
        )
        .bind(tenant)
        .bind(id)
        .bind(lease_token)
        .bind(until)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() == 1)
    }

    async fn reset_job_chunks(&self, tenant: &str, id: &str, lease_token: i64) -> CoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        if !holds_claim(&mut tx, tenant, id, lease_token, None).await? {
            return Ok(false);
        }
        sqlx::query("DELETE FROM job_file_chunks WHERE tenant_id = $1 AND job_id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(true)
    }

    async fn put_job_chunk(
        &self,
        tenant: &str,
        id: &str,
        lease_token: i64,
        seq: u64,
        data: &[u8],
        lease_until: i64,
    ) -> CoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        if !holds_claim(&mut tx, tenant, id, lease_token, Some(lease_until)).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO job_file_chunks (tenant_id, job_id, seq, data) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant)
        .bind(id)
        .bind(as_i64(seq))
        .bind(data)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(true)
    }

    async fn job_chunk(&self, tenant: &str, id: &str, seq: u64) -> CoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar(
            "SELECT data FROM job_file_chunks WHERE tenant_id = $1 AND job_id = $2 AND seq = $3",
        )
        .bind(tenant)
        .bind(id)
        .bind(as_i64(seq))
        .fetch_optional(&self.pool)
        .await
        .map_err(storage)
    }

    async fn release_job(&self, tenant: &str, id: &str, lease_token: i64) -> CoreResult<()> {
        sqlx::query(
            // The token moves on too: a batch of the released claim still in
            // flight (a COPY writer outlives the runner that spawned it)
            // must not commit, nor take the lease back with its progress.
            "UPDATE jobs SET lease_until = 0, lease_token = lease_token + 1 \
             WHERE tenant_id = $1 AND id = $2 AND lease_token = $3 AND status = 'processing'",
        )
        .bind(tenant)
        .bind(id)
        .bind(lease_token)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn job_errors(&self, tenant: &str, id: &str) -> CoreResult<Vec<serde_json::Value>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM job_errors WHERE tenant_id = $1 AND job_id = $2 ORDER BY row_index",
        )
        .bind(tenant)
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_str(r).ok())
            .collect())
    }

    async fn find_import_matches(
        &self,
        tenant: &str,
        connection_id: &str,
        emails: &[String],
        user_ids: &[String],
        usernames: &[String],
    ) -> CoreResult<Vec<User>> {
        // One indexed lookup per key (an OR of the three made PostgreSQL
        // scan the connection); a user matching twice is listed twice.
        // Emails and usernames are unique per connection, user ids per
        // tenant: an id is looked up in every connection, so a row claiming
        // another connection's id is caught, not silently skipped.
        let sql = [
            ("email", 3, true),
            ("user_id", 4, false),
            ("username", 5, true),
        ]
        .map(|(col, param, in_connection)| {
            let scope = if in_connection {
                "AND connection_id = $2"
            } else {
                ""
            };
            format!(
                "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 {scope} \
                     AND {col} IN ({})",
                bulk::json_text_list(self.dialect, param)
            )
        })
        .join(" UNION ALL ");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(connection_id)
            .bind(bulk::json_param(emails)?)
            .bind(bulk::json_param(user_ids)?)
            .bind(bulk::json_param(usernames)?)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter().map(decode_user).collect()
    }

    async fn purge_jobs(&self, before: &str) -> CoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        for table in ["job_blobs", "job_files", "job_file_chunks", "job_errors"] {
            let sql = format!(
                "DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = {table}.tenant_id \
                 AND j.id = {table}.job_id AND j.created_at < $1 AND j.status IN ('completed', 'failed'))"
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(before)
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        let r = sqlx::query(
            "DELETE FROM jobs WHERE created_at < $1 AND status IN ('completed', 'failed')",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(r.rows_affected())
    }
}

/// Inside a transaction: whether the claim `lease_token` still holds the job
/// (extending its lease to `renew_until` when given). The row lock this
/// update takes keeps a concurrent claim out until the transaction ends.
async fn holds_claim(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: &str,
    id: &str,
    lease_token: i64,
    renew_until: Option<i64>,
) -> CoreResult<bool> {
    let r = sqlx::query(
        "UPDATE jobs SET lease_until = COALESCE($4, lease_until) WHERE tenant_id = $1 \
         AND id = $2 AND lease_token = $3 AND status = 'processing'",
    )
    .bind(tenant)
    .bind(id)
    .bind(lease_token)
    .bind(renew_until)
    .execute(&mut **tx)
    .await
    .map_err(storage)?;
    Ok(r.rows_affected() == 1)
}
