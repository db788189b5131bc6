#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The HTTP server's limits (issue 12, point 6) against the real server,
//! over raw sockets: a client that sends half a header, nothing, or half a
//! body is disconnected; connections beyond the cap wait; keep-alive ends.
//! The timeouts are configured small; the outer bounds only keep a broken
//! server from hanging the test.

mod common;

use std::time::Duration;

use common::{Backend, Harness};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far above every configured limit here: reaching it means the server
/// kept the socket open.
const BOUND: Duration = Duration::from_secs(10);

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: tern\r\n\r\n";

async fn connect(h: &Harness) -> TcpStream {
    TcpStream::connect(h.server.as_ref().unwrap().addr)
        .await
        .unwrap()
}

/// A connection that has been answered once (`GET /healthz`), left open.
async fn served(h: &Harness) -> TcpStream {
    let mut s = connect(h).await;
    s.write_all(HEALTHZ).await.unwrap();
    let answer = read_answer(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    s
}

/// Everything the server sends until it closes the socket.
async fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(BOUND, s.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// One answer's head and body (the body of /healthz is small and sized).
async fn read_answer(s: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let mut got = String::new();
    loop {
        let n = tokio::time::timeout(BOUND, s.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed before answering: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(head_end) = got.find("\r\n\r\n") {
            let len: usize = got[..head_end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if got.len() >= head_end + 4 + len {
                return got;
            }
        }
    }
}

async fn start(tweak: impl FnOnce(&mut tern_server::config::Config)) -> Harness {
    Harness::start_with(Backend::Sqlite, tweak).await
}

#[tokio::test]
async fn half_a_header_silence_and_idle_keep_alive_are_disconnected() {
    let h = start(|c| c.http.header_read_timeout_ms = 300).await;

    // Half a header.
    let mut s = connect(&h).await;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: te")
        .await
        .unwrap();
    let got = read_to_close(&mut s).await;
    assert!(
        !got.contains("200 OK"),
        "no answer to half a request: {got}"
    );

    // Nothing at all (the protocol is not even known yet).
    let mut s = connect(&h).await;
    read_to_close(&mut s).await;

    // A whole request is answered, and the connection then idles out.
    let mut s = connect(&h).await;
    s.write_all(HEALTHZ).await.unwrap();
    let answer = read_answer(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(read_to_close(&mut s).await, "", "closed without more");
    h.stop().await;
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_fails_the_request() {
    let h = start(|c| c.http.body_read_timeout_ms = 300).await;
    let mut s = connect(&h).await;
    s.write_all(
        b"POST /oauth/token HTTP/1.1\r\nHost: tern\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"grant_type\":",
    )
    .await
    .unwrap();
    let got = read_to_close(&mut s).await;
    assert!(got.starts_with("HTTP/1.1 4"), "refused: {got}");
    h.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let h = start(|c| c.http.max_connections = 2).await;
    let first = served(&h).await;
    let _second = served(&h).await;

    // The kernel accepts the third connection, Tern does not serve it...
    let mut third = connect(&h).await;
    third.write_all(HEALTHZ).await.unwrap();
    let mut byte = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), third.read(&mut byte))
            .await
            .is_err(),
        "not served while two connections are open"
    );
    // ...until one of the two closes.
    drop(first);
    let answer = read_answer(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    h.stop().await;
}

#[tokio::test]
async fn one_address_holds_at_most_its_share_of_connections() {
    let h = start(|c| {
        c.http.max_connections = 10;
        c.http.max_connections_per_address = 2;
    })
    .await;
    let first = served(&h).await;
    let _second = served(&h).await;
    // A third from the same address is closed unserved (not left waiting:
    // slots are free, the address has had its share)...
    let mut third = connect(&h).await;
    let _ = third.write_all(HEALTHZ).await;
    let mut got = Vec::new();
    // Closed (EOF, or a reset since the request was never read).
    let _ = tokio::time::timeout(BOUND, third.read_to_end(&mut got))
        .await
        .expect("the server closes the connection");
    let got = String::from_utf8_lossy(&got);
    assert!(!got.contains("200 OK"), "not served: {got}");
    // ...and once one of the two closes, the address may open another.
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        let mut s = connect(&h).await;
        if s.write_all(HEALTHZ).await.is_ok() {
            let mut buf = [0u8; 12];
            if tokio::time::timeout(BOUND, s.read_exact(&mut buf))
                .await
                .is_ok_and(|r| r.is_ok())
            {
                again = Some(String::from_utf8_lossy(&buf).into_owned());
                break;
            }
        }
        // The server may not have seen the close yet.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(again.as_deref(), Some("HTTP/1.1 200"));
    h.stop().await;

    // A trusted proxy carries many clients: it is not counted.
    let h = start(|c| {
        c.http.max_connections_per_address = 1;
        c.http.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(served(&h).await);
    }
    h.stop().await;
}

#[tokio::test]
async fn keep_alive_ends_after_the_configured_number_of_requests() {
    let h = start(|c| c.http.max_requests_per_connection = 2).await;
    let mut s = connect(&h).await;
    s.write_all(HEALTHZ).await.unwrap();
    let one = read_answer(&mut s).await;
    assert!(
        !one.to_ascii_lowercase().contains("connection: close"),
        "{one}"
    );
    s.write_all(HEALTHZ).await.unwrap();
    let two = read_answer(&mut s).await;
    assert!(
        two.to_ascii_lowercase().contains("connection: close"),
        "{two}"
    );
    assert_eq!(read_to_close(&mut s).await, "", "closed after the second");

    // Without keep-alive, every answer closes its connection.
    let h2 = start(|c| c.http.keep_alive = false).await;
    let mut s = connect(&h2).await;
    s.write_all(HEALTHZ).await.unwrap();
    read_answer(&mut s).await;
    assert_eq!(read_to_close(&mut s).await, "");
    h.stop().await;
    h2.stop().await;
}

/// An HTTP/2 client answers the server's pings, so hyper's keep-alive never
/// ends an idle HTTP/2 connection: the server tells it to go away once it
/// has had no request in flight for the header-read timeout. With one
/// connection slot, an idle HTTP/2 client (kept alive, pool open) must not
/// keep the next client out.
#[tokio::test]
async fn an_idle_http2_connection_gives_its_slot_back() {
    let h = start(|c| {
        c.http.header_read_timeout_ms = 300;
        c.http.max_connections = 1;
    })
    .await;
    let http2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .pool_idle_timeout(None)
        .build()
        .unwrap();
    let url = format!("http://{}/healthz", h.server.as_ref().unwrap().addr);
    let r = http2.get(&url).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 200);

    // Another client, while the HTTP/2 one stays alive and idle.
    let mut s = connect(&h).await;
    s.write_all(HEALTHZ).await.unwrap();
    let answer = read_answer(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(http2);
    h.stop().await;
}
