//! User lookups through the store, on SQLite and PostgreSQL: an email
//! prefix that selects few users (gathered from the `lower(email)` index
//! first) and one that selects more than the candidate bound (the sorted
//! walk instead) give the same pages as the rule says; totals stop at the
//! cap asked for; an exact email matches in any case; `users_by_email`
//! compares exactly and sorts by creation; a login's user read by its
//! connection's name is that connection's only; a password login's reads
//! in one statement are what each entity's own lookup gives.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), in a fresh, uniquely named
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::json;
use tern_core::model::{Client, Connection, ResourceServer, Tenant, User};
use tern_core::search::{parse_query, parse_sort};
use tern_core::store::prelude::*;
use tern_core::store::{LoginName, PasswordLoginQuery, UserSearch};
use tern_store::SqlStore;

const TENANT: &str = "ten_lookups";
const N: usize = 2_500;

/// Creation times scrambled against email order: user i was created at
/// second (i · 7919) mod N.
fn created(i: usize) -> String {
    let s = (i * 7919) % N;
    format!(
        "2026-01-01T{:02}:{:02}:{:02}.000Z",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

fn user(i: usize) -> User {
    User {
        email: Some(format!("user{i}@example.com")),
        blocked: i.is_multiple_of(5),
        ..common::bare_user(format!("auth0|u{i}"), "con_lookups0000000", created(i))
    }
}

/// Ids of a search's page and its total.
async fn search(
    store: &SqlStore,
    q: &str,
    sort: Option<&str>,
    offset: u64,
    cap: Option<u64>,
) -> (Vec<String>, u64) {
    let page = store
        .search_users(
            TENANT,
            &UserSearch {
                query: Some(parse_query(q).unwrap()),
                sort: sort.map(|s| parse_sort(s).unwrap()),
                offset,
                limit: 50,
                total_up_to: cap,
                // Far off: every search here runs on the bounded
                // connection (a PostgreSQL transaction, SQLite's search
                // pool) and must answer as an unbounded one.
                deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(600)),
            },
        )
        .await
        .unwrap();
    (
        page.users.into_iter().map(|u| u.user_id).collect(),
        page.total,
    )
}

/// What the rule says: users matching `keep`, in creation order (or
/// reversed), then the page.
fn expected(keep: impl Fn(usize) -> bool, desc: bool, offset: usize) -> (Vec<String>, usize) {
    let mut all: Vec<(String, String)> = (0..N)
        .filter(|&i| keep(i))
        .map(|i| (created(i), format!("auth0|u{i}")))
        .collect();
    all.sort();
    if desc {
        all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    }
    let total = all.len();
    (
        all.into_iter()
            .skip(offset)
            .take(50)
            .map(|(_, id)| id)
            .collect(),
        total,
    )
}

async fn scenario(store: SqlStore) {
    store
        .insert_tenant(&Tenant {
            id: TENANT.into(),
            name: "lookups".into(),
            created_at: created(0),
        })
        .await
        .unwrap();
    for i in 0..N {
        store.insert_user(TENANT, &user(i)).await.unwrap();
    }
    let mut odd = user(N);
    odd.email = Some("Mixed.Case@Example.com".into());
    odd.connection_id = "con_other000000000".into();
    store.insert_user(TENANT, &odd).await.unwrap();

    // Few candidates (1 + 10 + 100 + 1000 = 1111 under the bound of 2000):
    // gathered first, then filtered and sorted.
    let starts = |p: &'static str| move |i: usize| format!("user{i}@").starts_with(p);
    let (got, total) = search(&store, "email:USER1*", None, 100, Some(1000)).await;
    let (want, all) = expected(starts("user1"), false, 100);
    assert_eq!(all, 1111);
    assert_eq!((got, total), (want, 1000), "capped at 1000");
    let (got, total) = search(
        &store,
        "email:user2* AND NOT blocked:true",
        Some("created_at:-1"),
        50,
        Some(1000),
    )
    .await;
    let (want, all) = expected(|i| starts("user2")(i) && !i.is_multiple_of(5), true, 50);
    assert_eq!((got, total), (want, all as u64));
    // More candidates than the bound (all 2500): the sorted walk, same rule.
    let (got, total) = search(&store, "email:user*", Some("created_at:1"), 200, Some(3000)).await;
    let (want, all) = expected(|_| true, false, 200);
    assert_eq!((got, total), (want, all as u64));
    assert_eq!(all, N);
    // No count unless asked.
    let (_, total) = search(&store, "email:user*", None, 0, None).await;
    assert_eq!(total, 0);

    // Exact email, any case in the query; an id; a created_at range.
    let (got, total) = search(&store, "email:\"User42@EXAMPLE.com\"", None, 0, Some(1000)).await;
    assert_eq!((got, total), (vec!["auth0|u42".to_string()], 1));
    let (got, _) = search(&store, "email:\"mixed.case@example.com\"", None, 0, None).await;
    assert_eq!(
        got,
        vec![format!("auth0|u{N}")],
        "stored case does not matter"
    );
    let (got, _) = search(
        &store,
        "user_id:\"auth0|u7\" AND email:user7*",
        None,
        0,
        None,
    )
    .await;
    assert_eq!(got, vec!["auth0|u7".to_string()]);
    let (got, total) = search(
        &store,
        "created_at:[2026-01-01T00:10:00Z TO 2026-01-01T00:19:59.999Z]",
        Some("created_at:-1"),
        0,
        Some(1000),
    )
    .await;
    let in_range = |i: usize| (600..1200).contains(&((i * 7919) % N));
    let (want, all) = expected(in_range, true, 0);
    assert_eq!((got, total), (want, all as u64));
    assert_eq!(all, 600);

    // users_by_email: exact, so the stored case must be asked for.
    let by = |e: &'static str| {
        let store = store.clone();
        async move { store.users_by_email(TENANT, e).await.unwrap() }
    };
    assert_eq!(by("Mixed.Case@Example.com").await.len(), 1);
    assert!(by("mixed.case@example.com").await.is_empty());
    // One email in two connections: both, oldest first.
    let mut twin = user(N + 1);
    twin.email = Some("user3@example.com".into());
    twin.connection_id = "con_other000000000".into();
    twin.created_at = "2025-12-31T00:00:00.000Z".into();
    store.insert_user(TENANT, &twin).await.unwrap();
    let ids: Vec<String> = by("user3@example.com")
        .await
        .into_iter()
        .map(|u| u.user_id)
        .collect();
    assert_eq!(
        ids,
        vec![format!("auth0|u{}", N + 1), "auth0|u3".to_string()]
    );

    // A login's user read by the connection's name: only that connection's.
    for (id, name) in [
        ("con_lookups0000000", "db"),
        ("con_other000000000", "other"),
    ] {
        store
            .insert_connection(
                TENANT,
                &Connection {
                    id: id.into(),
                    name: name.into(),
                    display_name: None,
                    strategy: "auth0".into(),
                    options: Default::default(),
                    enabled_clients: vec![],
                    realms: vec![name.into()],
                    is_domain_connection: false,
                },
            )
            .await
            .unwrap();
    }
    let mut named = user(N + 2);
    named.email = None;
    named.username = Some("alice".into());
    store.insert_user(TENANT, &named).await.unwrap();
    let kinds = ["brute-force-protection", "suspicious-ip-throttling"];
    let reads = |client_id: &'static str,
                 connection: &'static str,
                 login: LoginName<'static>,
                 audience: Option<&'static str>,
                 ip: &'static str| {
        let store = store.clone();
        async move {
            store
                .password_login_reads(
                    TENANT,
                    &PasswordLoginQuery {
                        client_id,
                        connection_name: connection,
                        login,
                        audience,
                        protections: kinds,
                        throttle: ("pre-login", ip),
                    },
                )
                .await
                .unwrap()
        }
    };
    // The user a login name finds on a named connection (no client, no API).
    let in_named = |connection: &'static str, login: LoginName<'static>| {
        let reads = &reads;
        async move {
            reads("nobody", connection, login, None, "192.0.2.1")
                .await
                .user
                .map(|u| u.user_id)
        }
    };
    let email = LoginName::Email("user3@example.com");
    assert_eq!(in_named("db", email).await.as_deref(), Some("auth0|u3"));
    assert_eq!(
        in_named("other", email).await,
        Some(format!("auth0|u{}", N + 1))
    );
    assert_eq!(in_named("missing", email).await, None);
    let alice = LoginName::Username("alice");
    assert_eq!(
        in_named("db", alice).await,
        Some(format!("auth0|u{}", N + 2))
    );
    assert_eq!(in_named("other", alice).await, None);
    assert_eq!(
        in_named("db", LoginName::Email("alice")).await,
        None,
        "a username is not an email"
    );

    // A password login's reads in one statement: each part what its own
    // lookup gives.
    let client: Client = serde_json::from_value(
        json!({"client_id": "cl_lookups", "name": "app", "grant_types": ["password"]}),
    )
    .unwrap();
    store.insert_client(TENANT, &client).await.unwrap();
    let api: ResourceServer = serde_json::from_value(
        json!({"id": "rs_lookups", "name": "api", "identifier": "https://api.example/"}),
    )
    .unwrap();
    store.insert_resource_server(TENANT, &api).await.unwrap();
    store
        .put_attack_protection(TENANT, kinds[1], &json!({"enabled": false}))
        .await
        .unwrap();
    store
        .hit_ip_throttle(TENANT, "pre-login", "192.0.2.7", 5_000, 1_000)
        .await
        .unwrap();
    let all = reads(
        "cl_lookups",
        "db",
        email,
        Some("https://api.example/"),
        "192.0.2.7",
    )
    .await;
    assert_eq!(all.client, Some(client));
    assert_eq!(
        all.connection,
        store.get_connection_by_name(TENANT, "db").await.unwrap()
    );
    assert_eq!(all.api.as_ref(), Some(&api), "by identifier");
    assert_eq!(
        all.protections,
        [None, Some(json!({"enabled": false}))],
        "in the query's order"
    );
    assert_eq!(all.guardian, store.get_guardian(TENANT).await.unwrap());
    assert_eq!(all.tat, Some(6_000));
    assert_eq!(
        all.user,
        store.get_user(TENANT, "auth0|u3").await.unwrap(),
        "the whole user"
    );
    let by_id = reads(
        "cl_lookups",
        "other",
        email,
        Some("rs_lookups"),
        "192.0.2.8",
    )
    .await;
    assert_eq!(by_id.api, Some(api), "by id");
    assert_eq!(by_id.tat, None, "another address");
    assert_eq!(
        by_id.user.map(|u| u.user_id),
        Some(format!("auth0|u{}", N + 1)),
        "the realm's user"
    );
    for (connection, login, want) in [
        ("db", alice, Some(format!("auth0|u{}", N + 2))),
        ("other", alice, None),
        ("db", LoginName::Email("alice"), None),
        ("missing", email, None),
    ] {
        let got = reads("nobody", connection, login, None, "192.0.2.7").await;
        assert_eq!(got.user.map(|u| u.user_id), want, "{connection} {login:?}");
        assert!(
            got.client.is_none() && got.api.is_none(),
            "no such client, no audience"
        );
        assert_eq!(got.connection.is_some(), connection != "missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_on_sqlite() {
    common::on_sqlite("tern_lookups", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_on_postgres() {
    common::on_postgres("tern_lookups", scenario).await;
}
