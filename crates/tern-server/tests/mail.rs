#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Mail: over SMTP when `smtp.url` is set, kept in the outbox otherwise;
//! reset links and import completion notices both go through the mailer, and
//! a delivery failure is logged (`fn`), never silent.
//!
//! The SMTP server here is a fake — a few lines of SMTP written in this test,
//! standing in for the mail relay, a system outside Tern. Tern's side (lettre
//! over a real TCP connection) is the real one.

mod common;
mod reset_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use common::{Backend, Harness};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use reset_support::*;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message the sink accepted.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: Vec<String>,
    headers: String,
    body: String,
}

/// A minimal SMTP sink on 127.0.0.1: accepts every message, keeps it.
struct SmtpSink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, store.clone()));
            }
        });
        Self {
            port,
            received,
            task,
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Wait (bounded) until `n` messages arrived.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.received.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the SMTP sink received fewer than {n} messages");
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn reply(w: &mut tokio::net::tcp::OwnedWriteHalf, line: &str) -> bool {
    w.write_all(format!("{line}\r\n").as_bytes()).await.is_ok()
}

async fn session(socket: tokio::net::TcpStream, store: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    if !reply(&mut write, "220 sink.test ESMTP").await {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            "250 sink.test"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_string();
            "250 OK"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().to_string());
            "250 OK"
        } else if upper == "DATA" {
            if !reply(&mut write, "354 end with <CRLF>.<CRLF>").await {
                return;
            }
            let mut data = Vec::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                data.push(l.strip_prefix('.').map(str::to_string).unwrap_or(l));
            }
            let text = data.join("\r\n");
            let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
            store.lock().unwrap().push(Received {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                headers: headers.to_string(),
                body: decode(headers, body),
            });
            "250 OK queued"
        } else if upper == "QUIT" {
            let _ = reply(&mut write, "221 bye").await;
            return;
        } else if upper == "RSET" || upper == "NOOP" {
            "250 OK"
        } else {
            "502 not implemented"
        };
        if !reply(&mut write, answer).await {
            return;
        }
    }
}

/// The body as text, whatever transfer encoding the client chose.
fn decode(headers: &str, body: &str) -> String {
    let h = headers.to_ascii_lowercase();
    if h.contains("content-transfer-encoding: base64") {
        let raw: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap();
        return String::from_utf8(bytes).unwrap();
    }
    if h.contains("content-transfer-encoding: quoted-printable") {
        let joined = body.replace("=\r\n", "");
        let mut out = Vec::new();
        let b = joined.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'=' && i + 2 < b.len() {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        return String::from_utf8(out).unwrap();
    }
    body.to_string()
}

async fn upload_import(h: &Harness, token: &str, users: serde_json::Value) -> String {
    let form = Form::new()
        .part(
            "users",
            Part::bytes(serde_json::to_vec(&users).unwrap())
                .file_name("users.json")
                .mime_str("application/json")
                .unwrap(),
        )
        .text("connection_id", h.info.connection_id.clone())
        .text("send_completion_email", "true");
    let r = h
        .http
        .post(format!("{}/api/v2/jobs/users-imports", h.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let job: serde_json::Value = r.json().await.unwrap();
    job["id"].as_str().unwrap().to_string()
}

/// With SMTP configured, reset links and import notices go out over SMTP
/// (and the outbox stays empty); the mailed link works.
async fn smtp_delivery(b: Backend) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let h = Harness::start_with(b, |c| {
        c.smtp.url = Some(url);
        c.smtp.from = "Tern <tern@example.com>".into();
        c.admin_emails = vec!["ops@example.com".into()];
    })
    .await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    h.create_user(&t, "jane@example.com", "Old-pa55word").await;
    let db = "Username-Password-Authentication";
    let (s, _, _) = change_password(&h, &cid, db, "jane@example.com").await;
    assert_eq!(s, StatusCode::OK);

    let got = sink.wait_for(1).await;
    assert_eq!(got[0].from, "<tern@example.com>");
    assert_eq!(got[0].to, ["<jane@example.com>"]);
    assert!(
        got[0].headers.contains("Subject: Reset your password"),
        "{}",
        got[0].headers
    );
    assert!(
        got[0].headers.contains("From: Tern <tern@example.com>"),
        "{}",
        got[0].headers
    );
    let link = link_in(&h, &got[0].body);
    let ticket = ticket_of(&link);
    assert_eq!(open_link(&link).await.0, StatusCode::OK);
    assert_eq!(
        submit(&h, &ticket, "N3w-password", "N3w-password").await.0,
        StatusCode::OK
    );
    let app = LegacyApp {
        token: t.clone(),
        client_id: cid,
        client_secret: secret,
        connection_id: h.info.connection_id.clone(),
    };
    assert_eq!(
        login(&h, &app, db, "jane@example.com", "N3w-password").await,
        StatusCode::OK
    );

    // The import job's completion notice goes to the administrators.
    let job = upload_import(&h, &t, json!([{"email": "imported@example.com"}])).await;
    let got = sink.wait_for(2).await;
    assert_eq!(got[1].to, ["<ops@example.com>"]);
    assert!(
        got[1]
            .headers
            .contains(&format!("Subject: User import job {job} completed")),
        "{}",
        got[1].headers
    );
    assert!(got[1].body.contains("1 inserted"), "{}", got[1].body);
    assert!(
        outbox(&h).await.is_empty(),
        "SMTP mode keeps no copy of reset links"
    );
    h.stop().await;
}

/// Without SMTP the outbox keeps everything; with an unreachable SMTP server
/// the failure is an `fn` event while the caller's answer stays the same.
async fn outbox_and_failures(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let job = upload_import(&h, &t, json!([{"email": "imported@example.com"}])).await;
    let mut mails = Vec::new();
    for _ in 0..200 {
        mails = outbox(&h).await;
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].kind, "import_completion");
    assert_eq!(mails[0].to, "tenant administrators");
    assert!(mails[0].subject.contains(&job), "{mails:?}");
    let h = h.restart(|_| {}).await;
    assert_eq!(outbox(&h).await.len(), 1, "the outbox is stored");

    // An SMTP server that is not there.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let h = h
        .restart(|c| c.smtp.url = Some(format!("smtp://127.0.0.1:{port}")))
        .await;
    let t = h.admin_token().await;
    let (cid, _) = h.password_client(&t).await;
    h.create_user(&t, "jane@example.com", "Old-pa55word").await;
    let (s, _, text) = request_reset(
        &h,
        &cid,
        "Username-Password-Authentication",
        "jane@example.com",
    )
    .await;
    assert_eq!(
        (s, text.as_str()),
        (
            StatusCode::OK,
            "We've just sent you an email to reset your password."
        )
    );
    let failed = logs(&h, &t, "fn").await;
    assert!(
        any_describes(&failed, &["Reset mail not sent (smtp)"]),
        "{failed:?}"
    );
    assert_eq!(failed[0]["user_name"], "jane@example.com");
    assert_eq!(
        outbox(&h).await.len(),
        1,
        "no reset link was written anywhere"
    );
    let (_, none) = h.api(&t, Method::GET, "/logs?q=type:scpr", None).await;
    assert_eq!(none, json!([]));
    h.stop().await;
}

/// A mail relay that accepts connections and never answers: every reset's
/// SMTP conversation hangs (until lettre's time-out). Once every worker
/// is held by one, later requests still answer at once — they wait their
/// turn in the background — so how long an answer takes never tells
/// whether the email has a user (inline, a request for an existing user
/// would wait for a worker; for an unknown one it would not).
async fn answers_do_not_wait_for_busy_workers(b: Backend) {
    const USERS: usize = 40; // more than the 32 workers
    let relay = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://127.0.0.1:{}", relay.local_addr().unwrap().port());
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = relay.accept().await {
            sockets.push(socket);
        }
    });
    let h = Harness::start_with(b, |c| {
        c.smtp.url = Some(url);
        // Longer than the test waits: a request held inline never answers.
        c.smtp.timeout_secs = 600;
    })
    .await;
    let t = h.admin_token().await;
    // One address asks for them all: exempt it from the hourly limit.
    h.set_attack_protection(
        &t,
        "suspicious-ip-throttling",
        json!({"allowlist": ["127.0.0.1"]}),
    )
    .await;
    let (cid, _) = h.password_client(&t).await;
    for i in 0..USERS {
        h.create_user(&t, &format!("busy{i}@example.com"), "Old-pa55word")
            .await;
    }
    let db = "Username-Password-Authentication";
    let emails: Vec<String> = (0..USERS).map(|i| format!("busy{i}@example.com")).collect();
    let answers = tokio::time::timeout(
        Duration::from_secs(30),
        futures_util::future::join_all(emails.iter().map(|e| change_password(&h, &cid, db, e))),
    )
    .await
    .expect("every request answered while the relay holds the workers");
    assert!(answers.iter().all(|(s, _, _)| *s == StatusCode::OK));
    held.abort();
    h.stop().await;
}

both_backends!(
    smtp_delivery,
    outbox_and_failures,
    answers_do_not_wait_for_busy_workers
);
