//! Export pages against the real stores: walking a tenant's users in
//! windows of keyset pages (`visit_profiles_after`, `users_after`) visits
//! each user of the connection once, in creation order then by id — also
//! when several users share a creation time across a window's edge — with
//! the profile fields as stored, the metadata objects asked for as stored
//! text (the others unread), and none of another connection or tenant.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL`, in a fresh
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use tern_core::model::{
    JsonObject, MetadataColumns, MetadataView, ProfileView, Tenant, User, UserSource,
};
use tern_core::store::prelude::*;
use tern_store::SqlStore;

const TENANT: &str = "ten_pages";
const OTHER_TENANT: &str = "ten_other";
const CONNECTION: &str = "con_pages000000000";
const OTHER_CONNECTION: &str = "con_other000000000";

/// User `n`: creation times repeat in threes, so ties straddle windows.
fn user(n: usize, connection: &str) -> User {
    let some = |v: String| n.is_multiple_of(2).then_some(v);
    User {
        user_id: format!("auth0|{connection}-{:02}", (n * 7) % 23),
        connection_id: connection.into(),
        connection_name: "db".into(),
        email: Some(format!("u{n}-{connection}@example.com")),
        email_verified: n.is_multiple_of(3),
        username: some(format!("user{n}")),
        phone_number: (n % 4 == 1).then(|| format!("+1555010{n:02}")),
        phone_verified: n.is_multiple_of(5),
        name: some(format!("User \"{n}\"")),
        given_name: Some("Ann".into()),
        family_name: some("Lee".into()),
        nickname: None,
        picture: (n % 3 == 1).then(|| "https://example.com/p.png".into()),
        blocked: n % 7 == 3,
        app_metadata: object(serde_json::json!({"plan": format!("p{}", n % 3), "n": n})),
        user_metadata: if n.is_multiple_of(2) {
            object(serde_json::json!({"lang": "fr", "tags": ["a", n]}))
        } else {
            JsonObject::new()
        },
        created_at: format!("2026-01-01T00:00:{:02}.000Z", n / 3),
        updated_at: "2026-01-02T00:00:00.000Z".into(),
        last_login: (n % 2 == 1).then(|| "2026-02-01T00:00:00.000Z".into()),
        last_ip: (n % 2 == 1).then(|| "203.0.113.9".into()),
        logins_count: n as i64,
        credential: None,
        source: UserSource::BulkImport,
        mfa_factors: vec![],
    }
}

fn object(v: serde_json::Value) -> JsonObject {
    v.as_object().unwrap().clone()
}

/// The profile as owned values, to compare across windows: its columns,
/// and each metadata object parsed, or `None` when not read.
fn owned(p: &ProfileView<'_>) -> String {
    let parsed = |m: MetadataView<'_>| match m {
        MetadataView::Absent => None,
        MetadataView::Text(t) => Some(serde_json::from_str::<JsonObject>(t).unwrap()),
        MetadataView::Map(m) => Some(m.clone()),
    };
    let (app, user) = (parsed(p.app_metadata), parsed(p.user_metadata));
    let mut columns = *p;
    columns.app_metadata = MetadataView::Absent;
    columns.user_metadata = MetadataView::Absent;
    format!("{columns:?} {app:?} {user:?}")
}

/// What a walk reading `metadata` should hand over for `u`.
fn expected(u: &User, metadata: MetadataColumns) -> String {
    let mut p = u.profile();
    if !metadata.app {
        p.app_metadata = MetadataView::Absent;
    }
    if !metadata.user {
        p.user_metadata = MetadataView::Absent;
    }
    owned(&p)
}

async fn scenario(store: SqlStore) {
    for id in [TENANT, OTHER_TENANT] {
        store
            .insert_tenant(&Tenant {
                id: id.into(),
                name: id.into(),
                created_at: "2026-01-01T00:00:00.000Z".into(),
            })
            .await
            .unwrap();
    }
    let mut mine: Vec<User> = (0..23).map(|n| user(n, CONNECTION)).collect();
    for u in &mine {
        store.insert_user(TENANT, u).await.unwrap();
    }
    for n in 0..5 {
        store
            .insert_user(TENANT, &user(n, OTHER_CONNECTION))
            .await
            .unwrap();
        store
            .insert_user(OTHER_TENANT, &user(n + 100, CONNECTION))
            .await
            .unwrap();
    }
    mine.sort_by(|a, b| (&a.created_at, &a.user_id).cmp(&(&b.created_at, &b.user_id)));
    let metadata = |app, user| MetadataColumns { app, user };
    for (window, metadata) in [
        (1u64, metadata(false, false)),
        (3, metadata(true, false)),
        (4, metadata(false, true)),
        (23, metadata(true, true)),
        (50, metadata(false, false)),
    ] {
        let expected: Vec<String> = mine.iter().map(|u| expected(u, metadata)).collect();
        // Profiles, streamed window by window.
        let mut seen = Vec::new();
        let mut after: Option<(String, String)> = None;
        loop {
            let mut got = Vec::new();
            let visited = store
                .visit_profiles_after(
                    TENANT,
                    Some(CONNECTION),
                    after.as_ref().map(|(c, u)| (c.as_str(), u.as_str())),
                    window,
                    metadata,
                    &mut |p| got.push((owned(&p), p.created_at.to_string(), p.user_id.to_string())),
                )
                .await
                .unwrap();
            assert_eq!(visited.users, got.len() as u64);
            assert!(visited.users <= window);
            assert_eq!(
                visited.last,
                got.last().map(|(_, c, u)| (c.clone(), u.clone())),
                "the last visited user's position"
            );
            seen.extend(got.into_iter().map(|(p, _, _)| p));
            if visited.users < window {
                break;
            }
            after = visited.last;
        }
        assert_eq!(
            seen, expected,
            "profiles in windows of {window}, {metadata:?}"
        );

        // Whole users, page by page: the same users in the same order.
        let mut ids = Vec::new();
        let mut after: Option<(String, String)> = None;
        loop {
            let page = store
                .users_after(
                    TENANT,
                    Some(CONNECTION),
                    after.as_ref().map(|(c, u)| (c.as_str(), u.as_str())),
                    window,
                )
                .await
                .unwrap();
            ids.extend(page.iter().map(|u| u.user_id.clone()));
            if (page.len() as u64) < window {
                break;
            }
            after = page
                .last()
                .map(|u| (u.created_at.clone(), u.user_id.clone()));
        }
        let expected_ids: Vec<String> = mine.iter().map(|u| u.user_id.clone()).collect();
        assert_eq!(ids, expected_ids, "users in pages of {window}");
    }

    // Every connection of the tenant: both, none of the other tenant's.
    let mut all = 0;
    store
        .visit_profiles_after(
            TENANT,
            None,
            None,
            1000,
            MetadataColumns::default(),
            &mut |p| {
                assert!(p.logins_count < 100, "another tenant's user: {p:?}");
                all += 1;
            },
        )
        .await
        .unwrap();
    assert_eq!(all, 28);
}

/// A window larger than the pages a store reads it in (SQLite: 2 000 rows
/// a statement) is visited whole, each user once and in order.
async fn window_over_several_pages(store: SqlStore) {
    const USERS: i64 = 4_003;
    store
        .insert_tenant(&Tenant {
            id: TENANT.into(),
            name: TENANT.into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
        })
        .await
        .unwrap();
    // Creation times repeat in fives, so ties straddle the pages' edges.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $2 - 1) \
         INSERT INTO users (tenant_id, user_id, connection_id, connection_name, email, \
             user_metadata, created_at, updated_at, source) \
         SELECT $1, 'auth0|' || CAST(1000000 - i AS TEXT), $3, 'db', \
             'u' || CAST(i AS TEXT) || '@example.com', \
             '{\"n\":' || CAST(i AS TEXT) || '}', \
             '2026-01-01T00:00:' || CAST(100000 + i / 5 AS TEXT), '2026-01-02', 'api' FROM n",
    )
    .bind(TENANT)
    .bind(USERS)
    .bind(CONNECTION)
    .execute(store.pool())
    .await
    .unwrap();
    let mut seen = Vec::new();
    let visited = store
        .visit_profiles_after(
            TENANT,
            Some(CONNECTION),
            None,
            10_000,
            MetadataColumns {
                app: false,
                user: true,
            },
            &mut |p| {
                let MetadataView::Text(text) = p.user_metadata else {
                    panic!("user_metadata not read: {p:?}");
                };
                seen.push((
                    p.created_at.to_string(),
                    p.user_id.to_string(),
                    text.to_string(),
                ));
            },
        )
        .await
        .unwrap();
    assert_eq!(visited.users, USERS as u64);
    assert_eq!(seen.len(), USERS as usize);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "each user once, in creation order then by id");
    let last = seen.last().unwrap();
    assert_eq!(visited.last, Some((last.0.clone(), last.1.clone())));
    let numbers: std::collections::BTreeSet<String> = seen.iter().map(|s| s.2.clone()).collect();
    assert_eq!(numbers.len(), USERS as usize, "every user's own metadata");

    // A limit that ends inside a page stops there.
    let visited = store
        .visit_profiles_after(
            TENANT,
            Some(CONNECTION),
            None,
            2_345,
            MetadataColumns::default(),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(visited.users, 2_345);
    assert_eq!(
        visited.last,
        Some((seen[2_344].0.clone(), seen[2_344].1.clone()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_over_several_pages_on_sqlite() {
    common::on_sqlite("tern_pages_many", window_over_several_pages).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_over_several_pages_on_postgres() {
    common::on_postgres("tern_pages_many", window_over_several_pages).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_pages_on_sqlite() {
    common::on_sqlite("tern_pages", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_pages_on_postgres() {
    common::on_postgres("tern_pages", scenario).await;
}
