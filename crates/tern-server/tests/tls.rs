#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! In-process TLS: a self-signed certificate made here, a real HTTPS client
//! that trusts it (and one that does not), the Management API over TLS, the
//! bound on connections still handshaking, and the configuration refusing
//! half a pair.

use std::path::Path;

use base64::Engine;
use serde_json::{Value, json};
use tern_server::Config;
use tern_server::config::TlsConfig;

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A self-signed certificate for `localhost` and its key, as PEM files in
/// `dir`; returns (cert path, key path, cert DER).
fn self_signed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let der = made.cert.der().to_vec();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, pem("CERTIFICATE", &der)).unwrap();
    std::fs::write(&key, pem("PRIVATE KEY", &made.signing_key.serialize_der())).unwrap();
    (cert, key, der)
}

fn config(dir: &Path, tls: TlsConfig) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.join("data"),
        tls,
        ..Config::default()
    }
}

/// A server on TLS with a self-signed certificate made in `dir`, and a
/// client trusting that certificate (reaching the server as `localhost`).
async fn serve_tls(dir: &Path) -> (tern_server::RunningServer, reqwest::Client) {
    let (cert, key, der) = self_signed(dir);
    let server = tern_server::start(config(
        dir,
        TlsConfig {
            cert: Some(cert),
            key: Some(key),
        },
    ))
    .await
    .unwrap();
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_der(&der).unwrap())
        .resolve("localhost", server.addr)
        .build()
        .unwrap();
    (server, trusting)
}

#[tokio::test]
async fn serves_https_to_a_client_that_trusts_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (server, trusting) = serve_tls(dir.path()).await;
    let info = server.bootstrap.clone().unwrap();
    let base = format!("https://localhost:{}", server.addr.port());

    // Discovery, a token and a Management API call, all over TLS.
    let res = trusting
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.json::<Value>().await.unwrap()["issuer"].is_string());
    let token: Value = trusting
        .post(format!("{base}/oauth/token"))
        .json(
            &json!({"grant_type": "client_credentials", "client_id": info.client_id,
            "client_secret": info.client_secret, "audience": info.audience}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    let res = trusting
        .get(format!("{base}/api/v2/users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A handler that reads the peer address (ConnectInfo) works over TLS:
    // an unknown client is a 400 page, not a 500.
    let res = trusting
        .get(format!(
            "{base}/authorize?response_type=code&client_id=nobody&redirect_uri=https://x.example/cb"
        ))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());

    // A client without the certificate in its roots refuses the server.
    let wary = reqwest::Client::builder()
        .resolve("localhost", server.addr)
        .build()
        .unwrap();
    let err = wary
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!(
            "http://{}/.well-known/openid-configuration",
            server.addr
        ))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");

    // A client that stalls mid-handshake delays nobody else.
    let _silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let res = trusting
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    server.stop().await;
}

/// At most `tls::BACKLOG` connections are between the TCP accept and axum:
/// past that, a new client waits in the kernel's backlog (the server holds
/// no more descriptors however many connect) and is served as soon as a
/// place frees.
#[tokio::test]
async fn connections_still_handshaking_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (server, trusting) = serve_tls(dir.path()).await;
    let jwks = format!(
        "https://localhost:{}/.well-known/jwks.json",
        server.addr.port()
    );
    // Every place taken by a client that never says hello.
    let mut silent = Vec::new();
    for _ in 0..tern_server::tls::BACKLOG {
        silent.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    let mut waiting = tokio::spawn(trusting.get(&jwks).send());
    // Not served while every place is held. (A slower machine can only make
    // this wait longer, never end it early.)
    let early = tokio::time::timeout(std::time::Duration::from_millis(500), &mut waiting).await;
    assert!(early.is_err(), "served past the bound: {early:?}");
    // One silent client leaves: its handshake fails at once, and its place
    // goes to the waiting client, next in the kernel's backlog.
    drop(silent.pop());
    let res = waiting.await.unwrap().unwrap();
    assert_eq!(res.status(), 200);
    drop(silent);
    server.stop().await;
}

#[tokio::test]
async fn half_a_pair_or_a_bad_file_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = self_signed(dir.path());
    let only_cert = tern_server::start(config(
        dir.path(),
        TlsConfig {
            cert: Some(cert.clone()),
            key: None,
        },
    ))
    .await;
    let err = only_cert.err().unwrap().to_string();
    assert!(err.contains("tls.cert and tls.key"), "{err}");

    // The key file swapped for the certificate: no private key in it.
    let swapped = tern_server::start(config(
        dir.path(),
        TlsConfig {
            cert: Some(cert.clone()),
            key: Some(cert.clone()),
        },
    ))
    .await;
    let err = swapped.err().unwrap().to_string();
    assert!(err.contains("tls.key"), "{err}");

    // A key that is not the certificate's.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let (_, other_key, _) = self_signed(&other);
    let mismatched = tern_server::start(config(
        dir.path(),
        TlsConfig {
            cert: Some(cert),
            key: Some(other_key),
        },
    ))
    .await;
    let err = mismatched.err().unwrap().to_string();
    assert!(err.contains("does not fit"), "{err}");
    drop(key);
}
