//! Jobs start in the order they were queued, against the real stores, even
//! when they were queued in the same millisecond (a console upload queues
//! all of a file's jobs at once) and their ids sort the other way: waiting
//! jobs become pending in that order, runners claim pending jobs in that
//! order, and the jobs list shows the newest first. A later job of a file
//! may update users an earlier one inserts, so the order is the result's.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL`, in a fresh
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use tern_core::model::{Job, JobSpec, JobStatus, JobType, Tenant};
use tern_core::store::prelude::*;
use tern_store::SqlStore;

const TENANT: &str = "ten_queue";
/// One millisecond for every job.
const AT: &str = "2026-01-01T00:00:00.000Z";
const NOW: i64 = 1_767_225_600;

fn job(id: &str, kind: JobType, status: JobStatus) -> Job {
    let mut j = Job::pending(
        id.into(),
        JobSpec {
            kind,
            connection_id: "con_queue000000000".into(),
            connection: "db".into(),
            upsert: true,
            upsert_credentials: false,
            assign_roles: false,
            create_roles: false,
            external_id: None,
            send_completion_email: false,
            dry_run: false,
            export: None,
        },
        AT.into(),
    );
    j.status = status;
    j
}

async fn status(store: &SqlStore, id: &str) -> JobStatus {
    store.get_job(TENANT, id).await.unwrap().unwrap().status
}

async fn scenario(store: SqlStore) {
    store
        .insert_tenant(&Tenant {
            id: TENANT.into(),
            name: "queue".into(),
            created_at: AT.into(),
        })
        .await
        .unwrap();
    // Queued in this order; by id they sort the other way.
    let queued = ["job_c", "job_b", "job_a"];
    for id in queued {
        let j = job(id, JobType::UsersImport, JobStatus::Waiting);
        assert!(
            store
                .insert_import_job(TENANT, &j, "[]", u64::MAX)
                .await
                .unwrap()
        );
    }
    let listed: Vec<String> = store
        .list_jobs(TENANT, JobType::UsersImport, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(listed, ["job_a", "job_b", "job_c"], "newest first");

    // One slot: the jobs start one at a time, first queued first.
    for (n, id) in queued.iter().enumerate() {
        assert_eq!(store.start_waiting_jobs(1).await.unwrap(), 1, "{id}");
        assert_eq!(status(&store, id).await, JobStatus::Pending, "{id}");
        for later in &queued[n + 1..] {
            assert_eq!(status(&store, later).await, JobStatus::Waiting, "{later}");
        }
        let (tenant, claimed) = store.claim_job(NOW, 60).await.unwrap().unwrap();
        assert_eq!((tenant.as_str(), claimed.id.as_str()), (TENANT, *id));
        assert!(
            store
                .finish_job(TENANT, id, claimed.lease_token, JobStatus::Completed, None)
                .await
                .unwrap()
        );
    }
    assert_eq!(store.start_waiting_jobs(1).await.unwrap(), 0);

    // Pending jobs of the same millisecond: claimed in queue order too.
    for id in ["job_z", "job_y", "job_x"] {
        let j = job(id, JobType::UsersExport, JobStatus::Pending);
        assert!(store.insert_export_job(TENANT, &j, 100).await.unwrap());
    }
    // Exports are bounded like imports: three pending, a limit of three.
    let fourth = job("job_w", JobType::UsersExport, JobStatus::Pending);
    assert!(!store.insert_export_job(TENANT, &fourth, 3).await.unwrap());
    for id in ["job_z", "job_y", "job_x"] {
        let (_, claimed) = store.claim_job(NOW, 60).await.unwrap().unwrap();
        assert_eq!(claimed.id, id);
    }
    assert!(store.claim_job(NOW, 60).await.unwrap().is_none());
    assert!(
        !store.insert_export_job(TENANT, &fourth, 3).await.unwrap(),
        "processing ones count too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_queue_order_on_sqlite() {
    common::on_sqlite("tern_queue", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_queue_order_on_postgres() {
    common::on_postgres("tern_queue", scenario).await;
}
