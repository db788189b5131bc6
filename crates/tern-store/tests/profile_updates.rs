//! A profile update (`PATCH /users/{id}`'s write) against the real stores,
//! prepared from a user read before other writes landed: the login fields
//! a login recorded meanwhile stay, the metadata changes apply to the
//! documents as stored when the update writes (an edit of another key made
//! meanwhile survives), and a user gone meanwhile is reported, not revived.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), in a fresh, uniquely named
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::json;
use tern_core::model::{LogEvent, Tenant, User};
use tern_core::store::prelude::*;
use tern_core::store::{InsertOutcome, LoginRecord, ProfileWrite};
use tern_core::users::MetadataEdit;
use tern_store::SqlStore;

const TENANT: &str = "ten_profiles";
const CONNECTION: &str = "con_profiles000000";
const T0: &str = "2026-01-01T00:00:00.000Z";

fn user(id: &str) -> User {
    User {
        email: Some(format!("{id}@example.com")),
        app_metadata: json!({"plan": "free", "stale": true})
            .as_object()
            .unwrap()
            .clone(),
        ..common::bare_user(format!("auth0|{id}"), CONNECTION, T0.into())
    }
}

fn edit(app: serde_json::Value, user: serde_json::Value) -> ProfileWrite {
    ProfileWrite {
        metadata: Some(MetadataEdit::from_patch(app.as_object(), user.as_object())),
        ..ProfileWrite::default()
    }
}

async fn scenario(store: SqlStore) {
    store
        .insert_tenant(&Tenant {
            id: TENANT.into(),
            name: "profiles".into(),
            created_at: T0.into(),
        })
        .await
        .unwrap();
    let ann = user("ann");
    assert_eq!(
        store.insert_user(TENANT, &ann).await.unwrap(),
        InsertOutcome::Inserted
    );
    // What a PATCH read before the writes below landed.
    let mut read = store.get_user(TENANT, &ann.user_id).await.unwrap().unwrap();

    // Meanwhile: a login is recorded and another edit sets another key.
    let login = LogEvent::new("s", "Success Login");
    store
        .record_login(
            TENANT,
            &LoginRecord {
                user_id: &ann.user_id,
                at: "2026-01-02T00:00:00.000Z",
                ip: Some("192.0.2.7"),
                new_credential: None,
                replaces_credential: None,
                forget_failures_from: None,
                event: &login,
            },
        )
        .await
        .unwrap();
    let other = store.get_user(TENANT, &ann.user_id).await.unwrap().unwrap();
    let written = store
        .update_profile(
            TENANT,
            &other,
            edit(json!({"region": "eu"}), json!({"theme": "dark"})),
        )
        .await
        .unwrap();
    assert_eq!(written, Some(InsertOutcome::Inserted));

    // The first PATCH writes now, from what it read.
    read.name = Some("Ann Example".into());
    read.app_metadata.insert("plan".into(), json!("pro"));
    read.app_metadata.remove("stale");
    let written = store
        .update_profile(
            TENANT,
            &read,
            edit(json!({"plan": "pro", "stale": null}), json!({})),
        )
        .await
        .unwrap();
    assert_eq!(written, Some(InsertOutcome::Inserted));
    let now = store.get_user(TENANT, &ann.user_id).await.unwrap().unwrap();
    assert_eq!(now.name.as_deref(), Some("Ann Example"));
    assert_eq!(
        serde_json::Value::Object(now.app_metadata.clone()),
        json!({"plan": "pro", "region": "eu"}),
        "the other edit's key kept, this edit's set and removed"
    );
    assert_eq!(
        serde_json::Value::Object(now.user_metadata.clone()),
        json!({"theme": "dark"})
    );
    assert_eq!(now.logins_count, 1, "the login recorded meanwhile is kept");
    assert_eq!(now.last_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(now.last_login.as_deref(), Some("2026-01-02T00:00:00.000Z"));

    // Without an edit the profile's documents are written as given (the
    // legacy store's refresh) — still never the login fields.
    let mut given = read.clone();
    given.app_metadata = json!({"from": "legacy"}).as_object().unwrap().clone();
    let written = store
        .update_profile(TENANT, &given, ProfileWrite::default())
        .await
        .unwrap();
    assert_eq!(written, Some(InsertOutcome::Inserted));
    let now = store.get_user(TENANT, &ann.user_id).await.unwrap().unwrap();
    assert_eq!(
        serde_json::Value::Object(now.app_metadata.clone()),
        json!({"from": "legacy"})
    );
    assert_eq!(now.logins_count, 1);

    // A user deleted meanwhile is reported gone, with or without an edit.
    assert!(store.delete_user(TENANT, &ann.user_id).await.unwrap());
    for w in [
        edit(json!({"plan": "team"}), json!({})),
        ProfileWrite::default(),
    ] {
        assert_eq!(store.update_profile(TENANT, &read, w).await.unwrap(), None);
    }
    assert!(
        store
            .get_user(TENANT, &ann.user_id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_updates_on_sqlite() {
    common::on_sqlite("tern_profiles", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_updates_on_postgres() {
    common::on_postgres("tern_profiles", scenario).await;
}
