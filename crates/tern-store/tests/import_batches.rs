//! Import batches against the real stores: a batch commits only once the
//! batch before it has (its `BatchGate`), writes nothing when that one
//! failed, and an optimistic batch that meets a stored user writes nothing
//! and says so. On PostgreSQL an optimistic batch goes through COPY on the
//! native pool, every other batch through the `Any` pool; both are run.
//! A batch written under a claim the job no longer has (another runner took
//! it over) writes nothing. On SQLite a batch leaves WAL checkpoints to a
//! background task, and every connection gets its own back.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), in a fresh, uniquely named
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use sqlx::Row;
use tern_core::model::{Job, JobSpec, JobStatus, JobType, Tenant, User};
use tern_core::store::prelude::*;
use tern_core::store::{BatchApplied, BatchGate, ImportBatch, is_lease_lost};
use tern_store::SqlStore;

const TENANT: &str = "ten_batches";
const JOB: &str = "job_batches";
const T0: &str = "2026-01-01T00:00:00.000Z";

fn user(n: u32) -> User {
    User {
        email: Some(format!("b{n}@example.com")),
        name: Some(format!("Batch\t{n}\\")),
        ..common::bare_user(format!("auth0|b{n}"), "con_batches0000000", T0.into())
    }
}

/// Rows `first..first + users.len()` of the job, as a batch.
fn batch(first: u64, users: Vec<User>, optimistic: bool) -> ImportBatch {
    let processed_rows = first + users.len() as u64;
    ImportBatch {
        inserts: users
            .into_iter()
            .enumerate()
            .map(|(k, u)| {
                let record = (!optimistic).then(|| serde_json::json!({"conflict": k}));
                (first + k as u64, u, record)
            })
            .collect(),
        optimistic,
        processed_rows,
        lease_until: 0,
        ..ImportBatch::default()
    }
}

async fn prepare(store: &SqlStore) {
    store
        .insert_tenant(&Tenant {
            id: TENANT.into(),
            name: "batches".into(),
            created_at: T0.into(),
        })
        .await
        .unwrap();
    let spec = JobSpec {
        kind: JobType::UsersImport,
        connection_id: "con_batches0000000".into(),
        connection: "db".into(),
        upsert: false,
        upsert_credentials: false,
        assign_roles: false,
        create_roles: false,
        external_id: None,
        send_completion_email: false,
        dry_run: false,
        export: None,
    };
    let job = Job::pending(JOB.into(), spec, T0.into());
    assert!(
        store
            .insert_import_job(TENANT, &job, "[]", 2)
            .await
            .unwrap()
    );
}

/// (users stored, the job's processed rows), as another connection sees them.
async fn seen(store: &SqlStore) -> (i64, i64) {
    let users: i64 = sqlx::query("SELECT COUNT(*) FROM users WHERE tenant_id = $1")
        .bind(TENANT)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0);
    let job = store.get_job(TENANT, JOB).await.unwrap().unwrap();
    (users, job.processed_rows as i64)
}

async fn scenario(store: SqlStore) {
    prepare(&store).await;
    // (users stored, processed rows) so far.
    let mut now = (0, 0);
    for optimistic in [true, false] {
        let first = now.1 as u64;
        let n = first as u32;
        // A batch whose predecessor has not committed waits, invisible.
        let (key, gate) = BatchGate::new();
        let store2 = store.clone();
        let pending = tokio::spawn(async move {
            let b = batch(first, vec![user(n), user(n + 1)], optimistic);
            store2.apply_import_batch(TENANT, JOB, &b, gate).await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !pending.is_finished(),
            "committed before the batch before it"
        );
        assert_eq!(seen(&store).await, now, "optimistic={optimistic}");
        key.open();
        let applied = tokio::time::timeout(Duration::from_secs(10), pending)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(applied, BatchApplied::Applied);
        now = (now.0 + 2, now.1 + 2);
        assert_eq!(seen(&store).await, now);

        // A batch whose predecessor failed writes nothing.
        let (key, gate) = BatchGate::new();
        drop(key);
        let b = batch(first + 2, vec![user(n + 2)], optimistic);
        assert!(
            store
                .apply_import_batch(TENANT, JOB, &b, gate)
                .await
                .is_err()
        );
        assert_eq!(seen(&store).await, now);

        // Rows first+2..first+10 as one batch: a new user, then one whose
        // email is stored already.
        let mut clash = user(900 + n);
        clash.email = Some(format!("b{n}@example.com"));
        let b = ImportBatch {
            processed_rows: first + 10,
            ..batch(first + 2, vec![user(n + 3), clash], optimistic)
        };
        let applied = store
            .apply_import_batch(TENANT, JOB, &b, BatchGate::opened())
            .await
            .unwrap();
        if optimistic {
            // Nothing written: the batch is to be planned again…
            assert_eq!(applied, BatchApplied::Collided);
            assert_eq!(seen(&store).await, now);
            // …and, planned again, records the clash instead of inserting it.
            let b = ImportBatch {
                processed_rows: first + 10,
                ..batch(first + 2, vec![user(n + 3)], false)
            };
            store
                .apply_import_batch(TENANT, JOB, &b, BatchGate::opened())
                .await
                .unwrap();
        } else {
            // The insert that conflicts becomes its error record.
            assert_eq!(applied, BatchApplied::Applied);
            let errors = store.job_errors(TENANT, JOB).await.unwrap();
            assert_eq!(errors, vec![serde_json::json!({"conflict": 1})]);
        }
        now = (now.0 + 1, now.1 + 8);
        assert_eq!(seen(&store).await, now);
    }
    // Text that COPY's format gives a meaning went in as it was.
    let name: String = sqlx::query("SELECT name FROM users WHERE tenant_id = $1 AND user_id = $2")
        .bind(TENANT)
        .bind("auth0|b0")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "Batch\t0\\");
}

/// A job claimed twice: the first claim's writes — a batch on either path, a
/// renewal, the job's end — are refused and change nothing; the second
/// claim's go through; a released claim is taken again at once.
async fn stale_claims_write_nothing(store: SqlStore) {
    prepare(&store).await;
    let (_, first) = store.claim_job(1_000, 30).await.unwrap().unwrap();
    assert_eq!(first.id, JOB);
    assert!(
        store.claim_job(1_010, 30).await.unwrap().is_none(),
        "leased"
    );
    // The first runner stalls past its lease; another claims the job.
    let (_, second) = store.claim_job(2_000, 30).await.unwrap().unwrap();
    assert!(second.lease_token > first.lease_token);
    for optimistic in [true, false] {
        let mut stale = batch(0, vec![user(0), user(1)], optimistic);
        stale.lease_token = first.lease_token;
        let e = store
            .apply_import_batch(TENANT, JOB, &stale, BatchGate::opened())
            .await
            .unwrap_err();
        assert!(is_lease_lost(&e), "{e}");
        assert_eq!(seen(&store).await, (0, 0), "a stale batch wrote");
    }
    assert!(
        !store
            .renew_job_lease(TENANT, JOB, first.lease_token, 9_999)
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_job(
                TENANT,
                JOB,
                first.lease_token,
                JobStatus::Failed,
                Some("stale")
            )
            .await
            .unwrap()
    );
    let mut current = batch(0, vec![user(0), user(1)], true);
    current.lease_token = second.lease_token;
    let applied = store
        .apply_import_batch(TENANT, JOB, &current, BatchGate::opened())
        .await
        .unwrap();
    assert_eq!(applied, BatchApplied::Applied);
    assert_eq!(seen(&store).await, (2, 2));
    assert!(
        store
            .renew_job_lease(TENANT, JOB, second.lease_token, 2_100)
            .await
            .unwrap()
    );
    // Handed back (a server shutting down): claimable at once, well within the lease.
    store
        .release_job(TENANT, JOB, second.lease_token)
        .await
        .unwrap();
    let (_, third) = store.claim_job(2_001, 30).await.unwrap().unwrap();
    assert!(third.lease_token > second.lease_token);
    assert_eq!(
        third.processed_rows, 2,
        "resumes where the last claim stopped"
    );
    assert!(
        store
            .finish_job(TENANT, JOB, third.lease_token, JobStatus::Completed, None)
            .await
            .unwrap()
    );
    let done = store.get_job(TENANT, JOB).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Completed);
}

/// SQLite: a batch is written with automatic WAL checkpoints off on its
/// connection (the checkpoint runs behind it, on another one); whatever the
/// batch's end — applied, collided, refused for a lost claim — every
/// connection of the pool has them on afterwards, so writes other than
/// imports still keep the log bounded.
async fn checkpoints_come_back(store: SqlStore) {
    prepare(&store).await;
    let (_, claim) = store.claim_job(1_000, 30).await.unwrap().unwrap();
    let mut applied = batch(0, vec![user(0), user(1)], true);
    applied.lease_token = claim.lease_token;
    let mut collided = batch(2, vec![user(0)], true);
    collided.lease_token = claim.lease_token;
    let stale = batch(2, vec![user(5)], true);
    assert_eq!(
        store
            .apply_import_batch(TENANT, JOB, &applied, BatchGate::opened())
            .await
            .unwrap(),
        BatchApplied::Applied
    );
    assert_eq!(
        store
            .apply_import_batch(TENANT, JOB, &collided, BatchGate::opened())
            .await
            .unwrap(),
        BatchApplied::Collided
    );
    let e = store
        .apply_import_batch(TENANT, JOB, &stale, BatchGate::opened())
        .await
        .unwrap_err();
    assert!(is_lease_lost(&e), "{e}");
    assert_eq!(seen(&store).await, (2, 2));
    // Every connection the pool can hand out, at once.
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut conn = store.pool().acquire().await.unwrap();
        let pages: i64 = sqlx::query("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            pages, 1000,
            "a connection came back without its checkpoints"
        );
        held.push(conn);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_batches_leave_checkpoints_on() {
    common::on_sqlite("tern_batches", checkpoints_come_back).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_commit_in_order_on_sqlite() {
    common::on_sqlite("tern_batches", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_commit_in_order_on_postgres() {
    common::on_postgres("tern_batches", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_claims_write_nothing_on_sqlite() {
    common::on_sqlite("tern_batches", stale_claims_write_nothing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_claims_write_nothing_on_postgres() {
    common::on_postgres("tern_batches", stale_claims_write_nothing).await;
}
