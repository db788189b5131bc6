#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! A script call whose caller stops waiting (a client that hung up, the
//! caller's own timeout) ends for the host too: a request it has in flight
//! is cancelled, not left running until the call's own deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tern_script::{Network, NetworkPolicy, ScriptEnv, ScriptLimits, ScriptName};
use tokio::io::AsyncReadExt;
use tokio::sync::Notify;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_call_cancels_its_requests() {
    // A legacy service that reads the request and never answers, counting
    // the connections it sees closed.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let accepted = Arc::new(Notify::new());
    let closed = Arc::new(AtomicUsize::new(0));
    let (a, c) = (accepted.clone(), closed.clone());
    tokio::spawn(async move {
        let (mut sock, _) = silent.accept().await.unwrap();
        a.notify_one();
        let mut buf = [0u8; 1024];
        while matches!(sock.read(&mut buf).await, Ok(n) if n > 0) {}
        c.fetch_add(1, Ordering::SeqCst);
    });
    let mut configuration = std::collections::BTreeMap::new();
    configuration.insert("URL".to_owned(), format!("http://127.0.0.1:{port}/"));
    let env = ScriptEnv {
        configuration,
        network: Network::new(NetworkPolicy::new(&[format!("127.0.0.1:{port}")]).unwrap()),
        limits: ScriptLimits {
            // Far away: only the caller going away can end this call.
            timeout: Duration::from_secs(120),
            ..ScriptLimits::default()
        },
        ..ScriptEnv::default()
    };
    let script = r#"function login(email, password, callback) {
      request.get(configuration.URL, function (err) { callback(err); });
    }"#;
    let call = tern_script::run(
        script,
        ScriptName::Login,
        vec!["a@example.com".into(), "pw".into()],
        &env,
    );
    // The caller gives up once the request is at the legacy service.
    tokio::select! {
        _ = call => panic!("the call cannot finish: nothing answers"),
        () = accepted.notified() => {}
    }
    let mut waited = 0;
    while closed.load(Ordering::SeqCst) == 0 {
        assert!(waited < 200, "the request outlived its call");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
}
