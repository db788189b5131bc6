#![allow(clippy::unwrap_used)] // a benchmark: a panic is the report
//! Login timing over real HTTP with the production hash policy (argon2id,
//! m=19456 KiB, t=2, p=1): a wrong password for an existing user, an unknown
//! user, and a user without a credential should cost the same, so response
//! time does not reveal whether an account exists. The baseline, measured in
//! the same run, is one bare `HashPolicy::hash`-made hash verified in-process.
//!
//! Run: `cargo bench -p tern-server --bench login_timing`

use std::time::{Duration, Instant};

use serde_json::json;
use tern_server::Config;

const RUNS: usize = 25;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().into(),
        ..Config::default()
    };
    let server = tern_server::start(config).await.unwrap();
    let info = server.bootstrap.clone().unwrap();
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let token = |body: serde_json::Value| {
        let http = http.clone();
        let url = format!("{base}/oauth/token");
        async move { http.post(url).json(&body).send().await.unwrap() }
    };
    let admin: serde_json::Value = token(json!({"grant_type": "client_credentials", "client_id": info.client_id, "client_secret": info.client_secret, "audience": info.audience})).await.json().await.unwrap();
    let admin = admin["access_token"].as_str().unwrap().to_string();
    let api = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        http.request(method, format!("{base}/api/v2{path}"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    let client: serde_json::Value = api(
        reqwest::Method::POST,
        "/clients",
        json!({"name": "bench", "grant_types": ["password"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    api(
        reqwest::Method::PATCH,
        &format!("/connections/{}", info.connection_id),
        json!({"enabled_clients": [info.client_id, client["client_id"]]}),
    )
    .await
    .unwrap();
    api(reqwest::Method::POST, "/users", json!({"connection": "Username-Password-Authentication", "email": "known@example.com", "password": "Corr3ct-horse"})).await.unwrap();
    api(reqwest::Method::POST, "/users", json!({"connection": "Username-Password-Authentication", "email": "nocred@example.com", "password": "Corr3ct-horse"})).await.unwrap();
    api(reqwest::Method::POST, "/users", json!({"connection": "Username-Password-Authentication", "email": "md5@example.com", "password": "Corr3ct-horse"})).await.unwrap();
    // Many wrong passwords from one address are the point here, not blocks.
    api(
        reqwest::Method::PATCH,
        "/attack-protection/brute-force-protection",
        json!({"allowlist": ["127.0.0.1"]}),
    )
    .await
    .unwrap();
    // Remove the second user's credential, as a bulk import without a hash leaves it.
    let tid = server.state.tid().to_string();
    let mut u = server
        .state
        .store
        .users_by_email(&tid, "nocred@example.com")
        .await
        .unwrap()
        .remove(0);
    u.credential = None;
    server.state.store.update_user(&tid, &u).await.unwrap();
    // The third user arrived with an unsalted MD5 of the password (Auth0's
    // custom_password_hash), verified in microseconds.
    let mut u = server
        .state
        .store
        .users_by_email(&tid, "md5@example.com")
        .await
        .unwrap()
        .remove(0);
    let md5 = json!({"algorithm": "md5", "hash": {"value": "90c093eb35b2767f0924203d1db1d4f2", "encoding": "hex"}});
    u.credential = Some(
        tern_hash::StoredHash::from_custom(&md5)
            .unwrap()
            .to_storage(),
    );
    server.state.store.update_user(&tid, &u).await.unwrap();

    let measure = |email: &'static str, password: &'static str| {
        let token = &token;
        let client = client.clone();
        async move {
            let mut times = vec![];
            for _ in 0..RUNS {
                let t = Instant::now();
                let r = token(json!({"grant_type": "password", "client_id": client["client_id"], "client_secret": client["client_secret"],
                                     "username": email, "password": password, "realm": "Username-Password-Authentication"})).await;
                let _ = r.bytes().await;
                times.push(t.elapsed());
            }
            median(times)
        }
    };
    let right = measure("known@example.com", "Corr3ct-horse").await;
    let wrong = measure("known@example.com", "wrong-password").await;
    let unknown = measure("nobody@example.com", "wrong-password").await;
    let nocred = measure("nocred@example.com", "wrong-password").await;
    let md5 = measure("md5@example.com", "wrong-password").await;

    let policy = server.state.policy;
    let hash = tern_hash::StoredHash::parse(&policy.hash("Corr3ct-horse")).unwrap();
    let mut bare = vec![];
    for _ in 0..RUNS {
        let t = Instant::now();
        assert_eq!(hash.verify("wrong-password", policy.limits()), Ok(false));
        bare.push(t.elapsed());
    }
    let bare = median(bare);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "login latency over HTTP, median of {RUNS} ({}):",
        policy.describe()
    );
    println!("  bare verify (baseline)        {:8.2} ms", ms(bare));
    for (name, d) in [
        ("right password", right),
        ("wrong password", wrong),
        ("unknown user", unknown),
        ("user without credential", nocred),
        ("unsalted MD5, wrong password", md5),
    ] {
        println!(
            "  {name:<29} {:8.2} ms   {:.2}× baseline   {:.2}× wrong-password",
            ms(d),
            ms(d) / ms(bare),
            ms(d) / ms(wrong)
        );
    }
    // Issue 12's target: what answers without a real verification (unknown
    // user, no credential, a cheap legacy hash) within 10 % of a policy verify.
    let spread = [unknown, nocred, md5]
        .iter()
        .map(|d| (ms(*d) / ms(wrong) - 1.0).abs())
        .fold(0.0, f64::max);
    println!(
        "  largest difference from a wrong password: {:.1} % ({})",
        spread * 100.0,
        if spread <= 0.10 {
            "within 10 %"
        } else {
            "MORE than 10 %"
        }
    );
    server.stop().await;
}
