#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Mail settings edited in the console's Settings page, on both backends,
//! against a real SMTP server on 127.0.0.1:0 that asks for a password
//! (AUTH PLAIN): saved per tenant with the password sealed and never shown
//! back ("leave blank to keep"), the test mail sent through the server's
//! mailer with its outcome in words (sent, authentication failed,
//! connection refused, refused by the network policy), the SMTP destination
//! held to the network policy when saved and when sending, every change
//! logged with the operator as actor, the stored settings removable (the
//! configuration file's apply again), and nothing done without the CSRF
//! token.

mod common;

use common::browser::{Answer, Browser, csrf};
use common::smtp::Smtp;
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use tern_core::mail::{MailSettings, SmtpTls};
use tokio::net::TcpListener;

const OPERATOR: &str = "ops@example.com";
const OPERATOR_PASSWORD: &str = "Operator-Pass-42";
const SMTP_USER: &str = "mailer";
const SMTP_PASSWORD: &str = "Sup3r-Secret-Pw";

/// The first operator, signed in through the setup link and Tern's login.
async fn operator(h: &Harness) -> Browser {
    h.console_operator(OPERATOR, OPERATOR_PASSWORD).await
}

async fn save(b: &mut Browser, token: &str, host: &str, port: u16, password: &str) -> Answer {
    let port = port.to_string();
    b.post_form(
        "/console/settings/mail",
        &[
            ("csrf", token),
            ("host", host),
            ("port", &port),
            ("tls", "none"),
            ("user", SMTP_USER),
            ("password", password),
            ("from", "Tern <no-reply@example.com>"),
        ],
    )
    .await
}

async fn test_mail(b: &mut Browser, token: &str) -> Answer {
    b.post_form(
        "/console/settings/mail/test",
        &[("csrf", token), ("to", "someone@example.com")],
    )
    .await
}

/// The mail settings saved for the tenant.
async fn saved(h: &Harness) -> Option<MailSettings> {
    let tid = h.state().tid().to_string();
    h.state().store.get_mail_settings(&tid).await.unwrap()
}

fn outcome(page: &Answer) -> String {
    let at = page.body.find("id=\"mail-outcome\"").expect(&page.body);
    let rest = &page.body[at..];
    rest[..rest.find("</p>").unwrap()].to_string()
}

async fn mail_settings_in_the_console(backend: Backend) {
    let h = Harness::start(backend).await;
    let tid = h.state().tid().to_string();
    let smtp = Smtp::start(SMTP_USER, SMTP_PASSWORD).await;
    let mut b = operator(&h).await;

    // Before anything is saved: the configuration's (no SMTP: the outbox).
    let page = b.get("/console/settings").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("id=\"mail-source\""), "{}", page.body);
    assert!(
        page.body.contains("mail is kept in the outbox"),
        "{}",
        page.body
    );
    let token = csrf(&page.body);
    assert_eq!(h.state().mailer.transport(&tid).await, "outbox");

    // Without a session, or without the token: nothing saved, nothing sent.
    let mut anon = Browser::new(&h.base);
    for action in ["/console/settings/mail", "/console/settings/mail/test"] {
        let a = anon.post_form(action, &[("csrf", "x")]).await;
        assert_eq!(a.location().as_deref(), Some("/console/login"));
    }
    let forged = save(
        &mut b,
        &"0".repeat(64),
        "127.0.0.1",
        smtp.port,
        SMTP_PASSWORD,
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let forged = test_mail(&mut b, &"0".repeat(64)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(saved(&h).await.is_none());

    // Saved: the password sealed, never rendered back.
    let a = save(&mut b, &token, "127.0.0.1", smtp.port, SMTP_PASSWORD).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let page = b.follow(a).await;
    assert!(page.body.contains("Mail settings saved."), "{}", page.body);
    assert!(
        !page.body.contains(SMTP_PASSWORD),
        "no password on the page"
    );
    assert!(
        page.body
            .contains("A password is set. Leave blank to keep it.")
    );
    assert!(
        page.body
            .contains(&format!("Saved for this tenant by {OPERATOR}"))
    );
    let stored = saved(&h).await.unwrap();
    let sealed = stored.password_sealed.clone().unwrap();
    assert!(sealed.starts_with("$tern-sealed$"), "{sealed}");
    assert!(!sealed.contains(SMTP_PASSWORD));
    assert_eq!(stored.updated_by, OPERATOR);
    assert_eq!(
        h.state().mailer.transport(&tid).await,
        "smtp",
        "logs of failed mails name the stored settings' transport"
    );

    // The test mail: sent with the stored credentials.
    let page = test_mail(&mut b, &token).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let said = outcome(&page);
    assert!(said.contains("data-outcome=\"ok\""), "{said}");
    assert!(said.contains("Sent"), "{said}");
    let got = smtp.delivered();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].auth, Some((SMTP_USER.into(), SMTP_PASSWORD.into())));
    assert_eq!(got[0].from, "<no-reply@example.com>");
    assert_eq!(got[0].to, vec!["<someone@example.com>".to_string()]);
    assert!(
        got[0].data.contains("Subject: Tern test mail"),
        "{}",
        got[0].data
    );

    // A blank password keeps the stored one.
    let a = save(&mut b, &token, "127.0.0.1", smtp.port, "").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let page = test_mail(&mut b, &token).await;
    assert!(
        outcome(&page).contains("data-outcome=\"ok\""),
        "{}",
        outcome(&page)
    );
    assert_eq!(smtp.delivered().len(), 2);

    // A wrong password: the server's refusal, in words.
    save(&mut b, &token, "127.0.0.1", smtp.port, "not-the-password").await;
    let page = test_mail(&mut b, &token).await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY);
    let said = outcome(&page);
    assert!(said.contains("data-outcome=\"failed\""), "{said}");
    assert!(said.contains("Authentication failed"), "{said}");
    assert_eq!(smtp.delivered().len(), 2);

    // Nothing listening: connection refused.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    save(&mut b, &token, "127.0.0.1", closed_port, SMTP_PASSWORD).await;
    let said = outcome(&test_mail(&mut b, &token).await);
    assert!(said.contains("Connection refused"), "{said}");

    // The network policy: private, metadata and Tern's own port are refused
    // when saved, and the last good settings stay.
    let own_port = h.base.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    for (host, port) in [
        ("10.1.2.3", 25),
        ("169.254.169.254", 25),
        ("127.0.0.1", own_port),
    ] {
        let a = save(&mut b, &token, host, port, SMTP_PASSWORD).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{host}:{port}");
        assert!(
            outcome(&a).contains("network access to"),
            "{host}:{port}: {}",
            outcome(&a)
        );
        let now = saved(&h).await.unwrap();
        assert_eq!((now.host.as_str(), now.port), ("127.0.0.1", closed_port));
    }
    // And when sending: settings stored before a policy change (or a name
    // that re-resolves) are refused at the connection too.
    let private = MailSettings {
        host: "10.1.2.3".into(),
        port: 25,
        tls: SmtpTls::None,
        ..stored
    };
    h.state()
        .store
        .put_mail_settings(&tid, &private)
        .await
        .unwrap();
    let said = outcome(&test_mail(&mut b, &token).await);
    assert!(said.contains("Refused by Tern's network policy"), "{said}");

    // Removed: the configuration's settings apply again (here the outbox),
    // the sealed password gone with them; without the token, nothing goes.
    let page = b.get("/console/settings").await;
    assert!(page.body.contains("id=\"mail-forget\""), "{}", page.body);
    let forged = b
        .post_form(
            "/console/settings/mail/forget",
            &[("csrf", &"0".repeat(64))],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(saved(&h).await.is_some());
    let a = b
        .post_form("/console/settings/mail/forget", &[("csrf", &token)])
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let page = b.follow(a).await;
    assert!(
        outcome(&page).contains("the configuration file's apply again"),
        "{}",
        outcome(&page)
    );
    assert!(
        page.body.contains("mail is kept in the outbox"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("id=\"mail-forget\""),
        "nothing left to remove"
    );
    assert!(saved(&h).await.is_none());
    assert_eq!(h.state().mailer.transport(&tid).await, "outbox");
    let page = test_mail(&mut b, &token).await;
    assert!(
        outcome(&page).contains("data-outcome=\"ok\""),
        "{}",
        outcome(&page)
    );
    assert_eq!(
        smtp.delivered().len(),
        2,
        "the outbox took it, not the SMTP server"
    );

    // Every change logged with the operator as actor, never the password.
    let t = h.admin_token().await;
    let (_, logs) = h
        .api(&t, Method::GET, "/logs?q=type:sapi&per_page=100", None)
        .await;
    let logs = logs.as_array().unwrap();
    let updates: Vec<_> = logs
        .iter()
        .filter(|l| l["description"] == "Console: mail settings updated")
        .collect();
    assert_eq!(updates.len(), 4, "{logs:?}");
    for u in &updates {
        assert_eq!(u["details"]["actor"]["email"], OPERATOR);
    }
    assert!(
        updates
            .iter()
            .any(|u| u["details"]["password_changed"] == false)
    );
    let tests = logs
        .iter()
        .filter(|l| l["description"] == "Console: test mail sent")
        .count();
    assert_eq!(tests, 6);
    let removed: Vec<_> = logs
        .iter()
        .filter(|l| l["description"] == "Console: mail settings removed")
        .collect();
    assert_eq!(removed.len(), 1, "{logs:?}");
    assert_eq!(removed[0]["details"]["actor"]["email"], OPERATOR);
    let all = serde_json::to_string(logs).unwrap();
    assert!(!all.contains(SMTP_PASSWORD), "no password in the log");
    h.stop().await;
}

both_backends!(mail_settings_in_the_console);
