//! Several instances on one PostgreSQL database follow each other's keys.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, Harness};
use crate::{clients_with, jwks_at, kid_of, kids};

const PUBLIC_URL: &str = "https://tern.test";
const SECRETS_KEY: &str = "0101010101010101010101010101010101010101010101010101010101010101";

/// Another instance on the harness's PostgreSQL database.
async fn second_instance(
    h: &Harness,
    secrets_key: &str,
    reload_secs: u64,
) -> Result<tern_server::RunningServer, String> {
    let mut config = h.state().config.clone();
    config.listen = "127.0.0.1:0".into();
    config.data_dir = h
        .dir
        .path()
        .join(format!("instance-{}", uuid::Uuid::new_v4().simple()));
    config.secrets_key = Some(secrets_key.into());
    config.keys.reload_secs = reload_secs;
    tern_server::start(config).await.map_err(|e| e.to_string())
}

async fn token_at(h: &Harness, base: &str) -> String {
    let r: Value = h
        .http
        .post(format!("{base}/oauth/token"))
        .json(
            &json!({"grant_type": "client_credentials", "client_id": h.info.client_id,
                      "client_secret": h.info.client_secret, "audience": h.info.audience}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string()
}

/// Several `tern serve` on one PostgreSQL database: a rotation on one is
/// used by the others (at once for a key they do not know, through the
/// periodic reload for the rest), a revocation reaches them within
/// `keys.reload_secs`, and an instance with another secrets key refuses
/// to start rather than sign with keys it cannot open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_a_database_follow_each_other() {
    let h = Harness::start_with(Backend::Postgres, |c| {
        c.public_url = Some(PUBLIC_URL.into());
        c.secrets_key = Some(SECRETS_KEY.into());
        c.keys.reload_secs = 3600;
    })
    .await;
    let slow = second_instance(&h, SECRETS_KEY, 3600).await.unwrap();
    let fast = second_instance(&h, SECRETS_KEY, 1).await.unwrap();
    let (slow_base, fast_base) = (
        format!("http://{}", slow.addr),
        format!("http://{}", fast.addr),
    );
    let other_key = "02".repeat(32);
    let e = second_instance(&h, &other_key, 3600)
        .await
        .err()
        .expect("refuses to start");
    assert!(e.contains("secrets_key"), "{e}");

    let t1 = h.admin_token().await;
    let k1 = kid_of(&t1);
    assert_eq!(kid_of(&token_at(&h, &slow_base).await), k1);
    for _ in 0..2 {
        let (s, b) = h.api(&t1, Method::POST, "/keys/signing/rotate", None).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let t3 = h.admin_token().await;
    let k3 = kid_of(&t3);
    // `slow` has not seen k3 (it was created after `slow` loaded its keys,
    // and `slow` reloads hourly): the unknown kid makes it reload.
    assert_eq!(clients_with(&h, &slow_base, &t3).await.0, StatusCode::OK);
    assert_eq!(
        kid_of(&token_at(&h, &slow_base).await),
        k3,
        "signs with the new key"
    );
    assert!(kids(&jwks_at(&h, &slow_base).await).contains(&k3));

    let (s, b) = h
        .api(
            &t3,
            Method::PUT,
            &format!("/keys/signing/{k1}/revoke"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        clients_with(&h, &h.base, &t1).await.0,
        StatusCode::UNAUTHORIZED
    );
    // `fast` reloads every second: it refuses t1 within that period (the
    // deadline only bounds a broken build).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if clients_with(&h, &fast_base, &t1).await.0 == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the revocation never reached the other instance"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!kids(&jwks_at(&h, &fast_base).await).contains(&k1));
    assert_eq!(kid_of(&token_at(&h, &fast_base).await), k3);
    slow.stop().await;
    fast.stop().await;
    h.stop().await;
}
