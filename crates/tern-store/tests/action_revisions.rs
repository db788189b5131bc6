//! Replacing an action is a compare-and-swap on its revision, on both
//! backends: a write prepared from a read that another write followed is
//! refused (`Moved`) and stores nothing, so a deploy cannot undo a draft
//! saved meanwhile; an action stored before revisions existed (no field in
//! its document) counts as revision 0; a deleted one is `Gone`.
#![allow(clippy::unwrap_used)]

mod common;

use sqlx::AssertSqlSafe;
use tern_core::actions::Action;
use tern_core::model::Tenant;
use tern_core::store::Replaced;
use tern_core::store::prelude::*;
use tern_store::SqlStore;

const TENANT: &str = "ten_actionrev";
const T0: &str = "2026-01-01T00:00:00.000Z";

fn action(id: &str) -> Action {
    Action {
        id: id.into(),
        name: format!("action-{id}"),
        supported_triggers: vec!["post-login".into()],
        code: "exports.onExecutePostLogin = async () => {};".into(),
        runtime: "node22".into(),
        dependencies: vec![],
        secrets: vec![],
        created_at: T0.into(),
        updated_at: T0.into(),
        deployed: None,
        revision: 0,
    }
}

async fn scenario(store: SqlStore) {
    store
        .insert_tenant(&Tenant {
            id: TENANT.into(),
            name: "actions".into(),
            created_at: T0.into(),
        })
        .await
        .unwrap();
    let a = action("a1");
    store.insert_action(TENANT, &a).await.unwrap();

    // Two writers read revision 0; the first stores, the second is refused.
    let read = store.get_action(TENANT, "a1").await.unwrap().unwrap();
    assert_eq!(read.revision, 0);
    let mut saved = read.clone();
    saved.code = "exports.onExecutePostLogin = async () => { /* v2 */ };".into();
    assert_eq!(
        store.update_action(TENANT, &saved).await.unwrap(),
        Replaced::Done
    );
    let mut stale = read.clone();
    stale.runtime = "node18".into();
    assert_eq!(
        store.update_action(TENANT, &stale).await.unwrap(),
        Replaced::Moved
    );
    let now = store.get_action(TENANT, "a1").await.unwrap().unwrap();
    assert_eq!(now.revision, 1);
    assert!(now.code.contains("v2"), "the first write stays");
    assert_eq!(now.runtime, "node22", "the refused write stored nothing");

    // From a fresh read it goes in.
    let mut fresh = now.clone();
    fresh.runtime = "node18".into();
    assert_eq!(
        store.update_action(TENANT, &fresh).await.unwrap(),
        Replaced::Done
    );
    assert_eq!(
        store
            .get_action(TENANT, "a1")
            .await
            .unwrap()
            .unwrap()
            .revision,
        2
    );

    // An action stored before revisions existed: its document has none.
    let old = action("a0");
    let mut body = serde_json::to_value(&old).unwrap();
    body.as_object_mut().unwrap().remove("revision");
    store.insert_action(TENANT, &old).await.unwrap();
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE actions SET body = '{}' WHERE tenant_id = '{TENANT}' AND id = 'a0'",
        body.to_string().replace('\'', "''")
    )))
    .execute(store.pool())
    .await
    .unwrap();
    let read = store.get_action(TENANT, "a0").await.unwrap().unwrap();
    assert_eq!(read.revision, 0);
    assert_eq!(
        store.update_action(TENANT, &read).await.unwrap(),
        Replaced::Done
    );

    // Gone.
    assert!(store.delete_action(TENANT, "a0").await.unwrap());
    assert_eq!(
        store.update_action(TENANT, &read).await.unwrap(),
        Replaced::Gone
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_revisions_on_sqlite() {
    common::on_sqlite("tern_actionrev", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_revisions_on_postgres() {
    common::on_postgres("tern_actionrev", scenario).await;
}
