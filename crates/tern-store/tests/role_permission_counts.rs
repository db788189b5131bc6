//! `count_role_permissions` against the real stores: one statement gives,
//! for a page of role ids, the same count as listing each role's
//! permissions; a role without permissions counts 0; ids of another
//! tenant's roles and ids naming nothing are left out.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL`, in a fresh
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use tern_core::model::Tenant;
use tern_core::roles::{Permission, Role};
use tern_core::store::prelude::*;
use tern_store::SqlStore;

const TENANT: &str = "ten_counts";
const OTHER: &str = "ten_other";

fn perm(api: &str, name: &str) -> Permission {
    Permission {
        resource_server_identifier: api.into(),
        permission_name: name.into(),
    }
}

async fn role(store: &SqlStore, tenant: &str, id: &str, perms: &[Permission]) {
    store
        .insert_role(
            tenant,
            &Role {
                id: id.into(),
                name: format!("name {id}"),
                description: String::new(),
            },
        )
        .await
        .unwrap();
    store.add_role_permissions(tenant, id, perms).await.unwrap();
}

async fn scenario(store: SqlStore) {
    for t in [TENANT, OTHER] {
        store
            .insert_tenant(&Tenant {
                id: t.into(),
                name: t.into(),
                created_at: "2026-01-01T00:00:00.000Z".into(),
            })
            .await
            .unwrap();
    }
    // Roles with 0, 1, 3 and 7 permissions over two APIs.
    role(&store, TENANT, "rol_none", &[]).await;
    role(&store, TENANT, "rol_one", &[perm("https://a", "read")]).await;
    let three = [
        perm("https://a", "read"),
        perm("https://a", "write"),
        perm("https://b", "read"),
    ];
    role(&store, TENANT, "rol_three", &three).await;
    let seven: Vec<Permission> = (0..7)
        .map(|i| perm("https://b", &format!("p{i}")))
        .collect();
    role(&store, TENANT, "rol_seven", &seven).await;
    // Another tenant's role under an id of the same shape, with permissions.
    role(&store, OTHER, "rol_foreign", &three).await;
    // The same id in the other tenant must not add to this tenant's count.
    role(&store, OTHER, "rol_one", &seven).await;

    let page: Vec<String> = ["rol_none", "rol_one", "rol_three", "rol_seven"]
        .map(String::from)
        .to_vec();
    let counts = store.count_role_permissions(TENANT, &page).await.unwrap();

    // The same as one listing per role.
    let mut per_role = HashMap::new();
    for id in &page {
        let n = store.list_role_permissions(TENANT, id).await.unwrap().len() as u64;
        per_role.insert(id.clone(), n);
    }
    assert_eq!(counts, per_role);
    assert_eq!(
        counts,
        HashMap::from([
            ("rol_none".to_string(), 0),
            ("rol_one".to_string(), 1),
            ("rol_three".to_string(), 3),
            ("rol_seven".to_string(), 7),
        ])
    );

    // Another tenant's role and an unknown id are left out.
    let mixed: Vec<String> = ["rol_three", "rol_foreign", "rol_nobody"]
        .map(String::from)
        .to_vec();
    let counts = store.count_role_permissions(TENANT, &mixed).await.unwrap();
    assert_eq!(counts, HashMap::from([("rol_three".to_string(), 3)]));

    // The other tenant sees its own.
    let counts = store
        .count_role_permissions(OTHER, &["rol_one".to_string()])
        .await
        .unwrap();
    assert_eq!(counts, HashMap::from([("rol_one".to_string(), 7)]));

    // No ids, no statement and nothing counted.
    assert!(
        store
            .count_role_permissions(TENANT, &[])
            .await
            .unwrap()
            .is_empty()
    );

    // A removed permission is counted out.
    store
        .remove_role_permissions(TENANT, "rol_three", &three[..1])
        .await
        .unwrap();
    let counts = store
        .count_role_permissions(TENANT, &["rol_three".to_string()])
        .await
        .unwrap();
    assert_eq!(counts.get("rol_three"), Some(&2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_permission_counts_on_sqlite() {
    common::on_sqlite("tern_role_counts", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_permission_counts_on_postgres() {
    common::on_postgres("tern_role_counts", scenario).await;
}
