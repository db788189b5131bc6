//! Reset tickets and first credentials against the real stores: at most
//! `max_open` open tickets per user (the oldest closed), no ticket for a
//! user that is not the ticket's connection's, a user update that closes
//! the user's tickets in its own transaction, concurrent redemptions and
//! closing updates that never deadlock, and a first credential written once
//! however many logins race for it.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), in a fresh, uniquely named
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use tern_core::model::{JsonObject, Tenant, User, UserSource};
use tern_core::store::InsertOutcome;
use tern_core::store::prelude::*;
use tern_core::tickets::{PasswordTicket, Redemption, TicketOptions, TicketState};
use tern_store::SqlStore;

const TENANT: &str = "ten_tickets";
const CONNECTION: &str = "con_tickets0000000";
const T0: &str = "2026-01-01T00:00:00.000Z";
const FAR: i64 = 4_000_000_000;

fn user(id: &str) -> User {
    User {
        email: Some(format!("{id}@example.com")),
        user_metadata: serde_json::from_str(r#"{"lang": "fr"}"#).unwrap(),
        source: UserSource::LazyReset,
        ..common::bare_user(format!("auth0|{id}"), CONNECTION, T0.into())
    }
}

fn ticket(user_id: &str, n: u32) -> PasswordTicket {
    PasswordTicket {
        token_hash: format!("hash-{user_id}-{n}"),
        user_id: user_id.into(),
        connection_id: CONNECTION.into(),
        created_at: format!("2026-01-01T00:00:{n:02}.000Z"),
        expires_at: FAR,
        used_at: None,
        options: TicketOptions::default(),
        pending_profile: None,
    }
}

async fn state(store: &SqlStore, t: &PasswordTicket) -> TicketState {
    store
        .get_password_ticket(TENANT, &t.token_hash)
        .await
        .unwrap()
        .unwrap()
        .state(0)
}

async fn scenario(store: SqlStore) {
    store
        .insert_tenant(&Tenant {
            id: TENANT.into(),
            name: "tickets".into(),
            created_at: T0.into(),
        })
        .await
        .unwrap();
    let ann = user("ann");
    assert_eq!(
        store.insert_user(TENANT, &ann).await.unwrap(),
        InsertOutcome::Inserted
    );

    // Five tickets, at most three open: the newest.
    let five: Vec<_> = (1..=5).map(|n| ticket(&ann.user_id, n)).collect();
    for t in &five {
        assert!(store.insert_password_ticket(TENANT, t, 3).await.unwrap());
    }
    let mut states = Vec::new();
    for t in &five {
        states.push(state(&store, t).await);
    }
    use TicketState::{Usable, Used};
    assert_eq!(states, [Used, Used, Usable, Usable, Usable]);

    // No ticket for a user who is not there, or not in the ticket's connection.
    let ghost = ticket("auth0|ghost", 1);
    assert!(
        !store
            .insert_password_ticket(TENANT, &ghost, 3)
            .await
            .unwrap()
    );
    let mut elsewhere = ticket(&ann.user_id, 9);
    elsewhere.connection_id = "con_other000000000".into();
    assert!(
        !store
            .insert_password_ticket(TENANT, &elsewhere, 3)
            .await
            .unwrap()
    );
    for t in [&ghost, &elsewhere] {
        assert!(
            store
                .get_password_ticket(TENANT, &t.token_hash)
                .await
                .unwrap()
                .is_none()
        );
    }

    // A closing update closes them all; a plain one none.
    let mut renamed = ann.clone();
    renamed.name = Some("Ann".into());
    store.update_user(TENANT, &renamed).await.unwrap();
    assert_eq!(state(&store, &five[4]).await, Usable);
    renamed.email = Some("ann@new.example".into());
    assert_eq!(
        store
            .update_user_closing_tickets(TENANT, &renamed, false)
            .await
            .unwrap(),
        Some(InsertOutcome::Inserted)
    );
    for t in &five[2..] {
        assert_eq!(state(&store, t).await, Used);
    }
    let gone = user("nobody");
    assert_eq!(
        store
            .update_user_closing_tickets(TENANT, &gone, false)
            .await
            .unwrap(),
        None
    );

    // Redemptions racing closing updates: every call succeeds (no
    // deadlock), and each pair ends in one of the two serial orders.
    for round in 0..20 {
        let t = ticket(&ann.user_id, 10 + round);
        assert!(store.insert_password_ticket(TENANT, &t, 3).await.unwrap());
        let mut patched = renamed.clone();
        patched.credential = Some(format!("patched-{round}"));
        let reset = format!("reset-{round}");
        let (redeemed, updated) = tokio::join!(
            store.redeem_password_ticket(TENANT, &t.token_hash, 0, &reset, None),
            store.update_user_closing_tickets(TENANT, &patched, true)
        );
        assert_eq!(updated.unwrap(), Some(InsertOutcome::Inserted));
        let credential = store
            .get_user(TENANT, &ann.user_id)
            .await
            .unwrap()
            .unwrap()
            .credential;
        match redeemed.unwrap() {
            // Redeemed first: the update came after and overrides it.
            Redemption::Done(_) => {}
            // Closed first: the link set nothing.
            Redemption::Refused(Some(TicketState::Used)) => {}
            other => panic!("round {round}: {other:?}"),
        }
        assert_eq!(credential, patched.credential, "round {round}");
        assert_eq!(state(&store, &t).await, Used);
    }

    // A first credential is written once, however many logins race.
    let bob = user("bob");
    store.insert_user(TENANT, &bob).await.unwrap();
    let plan: JsonObject = serde_json::from_str(r#"{"plan": "gold"}"#).unwrap();
    let lang: JsonObject = serde_json::from_str(r#"{"lang": "de"}"#).unwrap();
    let attempts = (0..8).map(|n| {
        let store = store.clone();
        let (plan, lang, id) = (plan.clone(), lang.clone(), bob.user_id.clone());
        async move {
            let credential = format!("credential-{n}");
            let set = store
                .set_first_credential(TENANT, CONNECTION, &id, &credential, &plan, &lang)
                .await
                .unwrap();
            (set, credential)
        }
    });
    let outcomes = futures_join_all(attempts).await;
    let winners: Vec<_> = outcomes.iter().filter(|(set, _)| *set).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let stored = store.get_user(TENANT, &bob.user_id).await.unwrap().unwrap();
    assert_eq!(stored.credential.as_deref(), Some(winners[0].1.as_str()));
    assert_eq!(stored.app_metadata, plan, "empty metadata filled");
    assert_eq!(
        stored.user_metadata, bob.user_metadata,
        "stored metadata kept"
    );
    // Never in another connection.
    let carl = user("carl");
    store.insert_user(TENANT, &carl).await.unwrap();
    let set = store
        .set_first_credential(
            TENANT,
            "con_other000000000",
            &carl.user_id,
            "x",
            &plan,
            &lang,
        )
        .await
        .unwrap();
    assert!(!set);
    let carl = store
        .get_user(TENANT, &carl.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(carl.credential, None);
}

/// Run futures concurrently on the runtime's threads; their outputs in order.
async fn futures_join_all<F>(fs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_lifecycle_on_sqlite() {
    common::on_sqlite("tern_tickets", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_lifecycle_on_postgres() {
    common::on_postgres("tern_tickets", scenario).await;
}
