//! Usernames compared as Auth0 compares them (lower-cased), on SQLite and
//! PostgreSQL, starting from a database written before migration 0039:
//! users whose usernames differ only by case in one connection do not make
//! the migration fail; a username alone in its case-folded group is
//! lower-cased and found in any case; of a group, the user already holding
//! the lower-cased form (else the earliest) answers to every case, and the
//! others to their exact spelling; a new user cannot take a group's name in
//! any case.
#![allow(clippy::unwrap_used)]

mod common;

use common::Before;
use tern_core::model::{Connection, User};
use tern_core::store::prelude::*;
use tern_core::store::{InsertOutcome, LoginName, PasswordLoginQuery};
use tern_store::SqlStore;

const TENANT: &str = "ten_usernames";
const CONN_A: &str = "con_usernamesAAAAA";
const CONN_B: &str = "con_usernamesBBBBB";

/// The users as an earlier version stored them (usernames as given).
const EARLIER: Before = Before {
    version: 38,
    sql: "INSERT INTO tenants (id, name, created_at) \
            VALUES ('ten_usernames', 't', '2020-01-01T00:00:00.000Z'); \
          INSERT INTO users (tenant_id, user_id, connection_id, connection_name, username, \
                             created_at, updated_at, source) VALUES \
            ('ten_usernames', 'auth0|u1', 'con_usernamesAAAAA', 'a', 'Alice', \
             '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', 'api'), \
            ('ten_usernames', 'auth0|u2', 'con_usernamesAAAAA', 'a', 'alice', \
             '2020-01-02T00:00:00.000Z', '2020-01-02T00:00:00.000Z', 'api'), \
            ('ten_usernames', 'auth0|u3', 'con_usernamesAAAAA', 'a', 'Bob', \
             '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', 'api'), \
            ('ten_usernames', 'auth0|u4', 'con_usernamesAAAAA', 'a', 'BOB', \
             '2020-01-02T00:00:00.000Z', '2020-01-02T00:00:00.000Z', 'api'), \
            ('ten_usernames', 'auth0|u5', 'con_usernamesAAAAA', 'a', 'Carol', \
             '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', 'api'), \
            ('ten_usernames', 'auth0|u6', 'con_usernamesAAAAA', 'a', NULL, \
             '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', 'api'), \
            ('ten_usernames', 'auth0|u7', 'con_usernamesBBBBB', 'b', 'Alice', \
             '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', 'api');",
};

async fn scenario(store: SqlStore) {
    // What 0039 left stored.
    let mut stored = Vec::new();
    for i in 1..=7 {
        let u = store
            .get_user(TENANT, &format!("auth0|u{i}"))
            .await
            .unwrap()
            .unwrap();
        stored.push(u.username);
    }
    // New users are made from one stored before (u6: connection A, no username).
    let template = store.get_user(TENANT, "auth0|u6").await.unwrap().unwrap();
    let new_user = |id: &str, username: &str| User {
        user_id: format!("auth0|{id}"),
        username: Some(username.into()),
        ..template.clone()
    };
    let names: Vec<Option<&str>> = stored.iter().map(Option::as_deref).collect();
    assert_eq!(
        names,
        vec![
            Some("Alice"), // `alice` was taken: kept
            Some("alice"),
            Some("bob"), // the earlier of Bob and BOB
            Some("BOB"),
            Some("carol"),
            None,
            Some("alice"), // another connection: no conflict
        ]
    );

    // Every path's lookup: the exact spelling first, then lower-cased.
    let by_name = |connection: &'static str, typed: &'static str| {
        let store = store.clone();
        async move {
            store
                .get_user_by_username(TENANT, connection, typed)
                .await
                .unwrap()
                .map(|u| u.user_id)
        }
    };
    for (connection, typed, found) in [
        (CONN_A, "Alice", Some("auth0|u1")),
        (CONN_A, "alice", Some("auth0|u2")),
        (CONN_A, "ALICE", Some("auth0|u2")),
        (CONN_A, "Bob", Some("auth0|u3")),
        (CONN_A, "bob", Some("auth0|u3")),
        (CONN_A, "BOB", Some("auth0|u4")),
        (CONN_A, "CAROL", Some("auth0|u5")),
        (CONN_A, "Carol", Some("auth0|u5")),
        (CONN_B, "ALICE", Some("auth0|u7")),
        (CONN_B, "dave", None),
    ] {
        assert_eq!(
            by_name(connection, typed).await.as_deref(),
            found,
            "{connection} {typed}"
        );
    }

    // A password login's one-statement read picks the same user.
    store
        .insert_connection(
            TENANT,
            &Connection {
                id: CONN_A.into(),
                name: "a".into(),
                display_name: None,
                strategy: "auth0".into(),
                options: Default::default(),
                enabled_clients: vec![],
                realms: vec!["a".into()],
                is_domain_connection: false,
            },
        )
        .await
        .unwrap();
    for (typed, found) in [
        ("Alice", "auth0|u1"),
        ("aLiCe", "auth0|u2"),
        ("CAROL", "auth0|u5"),
    ] {
        let read = store
            .password_login_reads(
                TENANT,
                &PasswordLoginQuery {
                    client_id: "nobody",
                    connection_name: "a",
                    login: LoginName::Username(typed),
                    audience: None,
                    protections: ["brute-force-protection", "suspicious-ip-throttling"],
                    throttle: ("pre-login", "192.0.2.1"),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            read.user.map(|u| u.user_id).as_deref(),
            Some(found),
            "{typed}"
        );
    }

    // New users are stored lower-cased (by the domain), so a group's
    // lower-cased form, held by its folded user, is taken in every case.
    for (id, taken) in [("n1", "bob"), ("n2", "carol"), ("n3", "alice")] {
        assert_eq!(
            store
                .insert_user(TENANT, &new_user(id, taken))
                .await
                .unwrap(),
            InsertOutcome::Duplicate,
            "{taken}"
        );
    }
    assert_eq!(
        store
            .insert_user(TENANT, &new_user("n4", "dave"))
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_usernames_fold_over_earlier_data() {
    common::on_sqlite_before("usernames", Some(EARLIER), scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_usernames_fold_over_earlier_data() {
    common::on_postgres_before("usernames", Some(EARLIER), scenario).await;
}
