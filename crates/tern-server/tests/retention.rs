#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Storage stays bounded (issue 12, point 7): the runner's purge deletes
//! tenant log events after `retention.logs_days`, outbox mail after
//! `retention.outbox_days` and used tickets a day after use, in batches,
//! and nothing younger. Time moves by the injectable clock.

#[macro_use]
mod common;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tern_core::clock::now_iso;
use tern_core::tickets::{PasswordTicket, TicketOptions};

async fn old_rows_are_purged_in_batches(b: Backend) {
    let h = Harness::start_with(b, |c| {
        c.retention.logs_days = 30;
        c.retention.outbox_days = 7;
        // Small batches, so the purge has to repeat.
        c.retention.batch = 2;
    })
    .await;
    let t = h.admin_token().await;
    let user = h.create_user(&t, "ann@example.com", "Secret-123").await;
    let (cid, secret) = h.password_client(&t).await;
    // Five wrong passwords: five `fp` events.
    for _ in 0..5 {
        let r = h
            .http
            .post(format!("{}/oauth/token", h.base))
            .json(
                &json!({"grant_type": "password", "username": "ann@example.com",
                "password": "wrong", "client_id": cid, "client_secret": secret}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let st = h.state();
    let log_total = || async {
        st.store
            .list_logs(st.tid(), None, 0, 0, u64::MAX)
            .await
            .unwrap()
            .1
    };
    let logged = log_total().await;
    assert!(logged >= 5, "{logged}");
    // Mail in the outbox, and a ticket used now.
    let (s, e) = h
        .api(
            &t,
            Method::POST,
            "/tickets/password-change",
            Some(json!({"user_id": user["user_id"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    st.store
        .insert_outbox(
            st.tid(),
            &tern_core::mail::OutboxMessage {
                id: "m1".into(),
                created_at: now_iso(),
                kind: "password_reset".into(),
                to: "ann@example.com".into(),
                subject: "s".into(),
                text: "t".into(),
                html: None,
                from: None,
            },
        )
        .await
        .unwrap();
    let ticket = PasswordTicket {
        token_hash: "used-ticket".into(),
        user_id: user["user_id"].as_str().unwrap().into(),
        connection_id: st
            .store
            .get_user(st.tid(), user["user_id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap()
            .connection_id,
        created_at: now_iso(),
        expires_at: st.now() + 365 * 86_400,
        used_at: Some(now_iso()),
        options: TicketOptions::default(),
        pending_profile: None,
    };
    assert!(
        st.store
            .insert_password_ticket(st.tid(), &ticket, 10)
            .await
            .unwrap()
    );
    let outbox = || async { st.store.list_outbox(st.tid(), 0, 1000).await.unwrap().len() };
    let used = || async {
        st.store
            .get_password_ticket(st.tid(), "used-ticket")
            .await
            .unwrap()
            .is_some()
    };

    // Nothing is old yet.
    let logged = log_total().await;
    assert_eq!(tern_server::retention::purge(st).await, (0, 0, 0));
    assert_eq!(log_total().await, logged);

    // Two days on: the used ticket goes, the rest stays.
    st.clock.advance(2 * 86_400);
    let (_, _, tickets) = tern_server::retention::purge(st).await;
    assert_eq!(tickets, 1);
    assert!(!used().await);
    assert!(outbox().await >= 1);

    // Eight days on: the outbox is emptied, the log stays.
    st.clock.advance(6 * 86_400);
    let (logs, mails, _) = tern_server::retention::purge(st).await;
    assert_eq!(logs, 0);
    assert!(mails >= 1);
    assert_eq!(outbox().await, 0);
    assert_eq!(log_total().await, logged);

    // Thirty-one days on: every event written before is gone, by batches of two.
    st.clock.advance(23 * 86_400);
    let (logs, _, _) = tern_server::retention::purge(st).await;
    assert_eq!(logs, logged);
    assert_eq!(log_total().await, 0);
    h.stop().await;
}

both_backends!(old_rows_are_purged_in_batches);
