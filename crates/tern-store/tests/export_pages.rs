//! Export pages against the real stores: walking a tenant's users in
//! windows of keyset pages (`visit_profiles_after`, `users_after`) visits
//! each user of the connection once, in creation order then by id — also
//! when several users share a creation time across a window's edge — with
//! the profile fields as stored, and none of another connection or tenant.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL`, in a fresh
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use tern_core::model::{JsonObject, ProfileView, Tenant, User, UserSource};
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
        app_metadata: JsonObject::new(),
        user_metadata: JsonObject::new(),
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

/// The profile as owned values, to compare across windows.
fn owned(p: &ProfileView<'_>) -> String {
    format!("{p:?}")
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
    let expected: Vec<String> = mine.iter().map(|u| owned(&u.profile())).collect();

    for window in [1u64, 3, 4, 23, 50] {
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
        assert_eq!(seen, expected, "profiles in windows of {window}");

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
        .visit_profiles_after(TENANT, None, None, 1000, &mut |p| {
            assert!(p.logins_count < 100, "another tenant's user: {p:?}");
            all += 1;
        })
        .await
        .unwrap();
    assert_eq!(all, 28);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_pages_on_sqlite() {
    common::on_sqlite("tern_pages", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_pages_on_postgres() {
    common::on_postgres("tern_pages", scenario).await;
}
