//! The legacy side of the migration tests: `examples/legacy-api` running for
//! real (its own SQLite file, seeded from the Python-made hashes), Tern
//! configured to protect it, and a test-local TCP proxy that can slow it down.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::Harness;

/// The legacy API's identifier in Tern.
pub const AUDIENCE: &str = "https://legacy-api.example/";
/// The connection the legacy users migrate into.
pub const REALM: &str = "legacy-users";
pub const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

/// A seeded legacy user: (id, email, password, plan, scheme).
#[derive(Debug, Clone)]
pub struct SeedUser {
    pub id: i64,
    pub email: String,
    pub password: String,
    pub plan: String,
    pub scheme: String,
}

/// The users of the example's seed, with their demo passwords.
pub fn seed_users() -> Vec<SeedUser> {
    let doc: Value = serde_json::from_str(legacy_api::store::SEED).unwrap();
    doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| SeedUser {
            id: u["id"].as_i64().unwrap(),
            email: u["email"].as_str().unwrap().into(),
            password: u["demo_password"].as_str().unwrap().into(),
            plan: u["plan"].as_str().unwrap().into(),
            scheme: u["password_scheme"].as_str().unwrap().into(),
        })
        .collect()
}

pub fn seed_user(email_prefix: &str) -> SeedUser {
    seed_users()
        .into_iter()
        .find(|u| u.email.starts_with(&format!("{email_prefix}@")))
        .unwrap()
}

/// The running example service.
pub struct LegacyApi {
    pub running: Option<legacy_api::Running>,
    pub addr: SocketAddr,
    pub config: legacy_api::Config,
    pub dir: tempfile::TempDir,
}

impl LegacyApi {
    /// Start it for this Tern (issuer and JWKS from the harness).
    pub async fn start(h: &Harness) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = legacy_api::Config {
            listen: "127.0.0.1:0".into(),
            issuer: h.state().issuer(),
            jwks_url: Some(format!("{}/.well-known/jwks.json", h.base)),
            audience: AUDIENCE.into(),
            db_path: dir.path().join("legacy.db"),
            leeway_secs: 0,
        };
        let running = legacy_api::start(config.clone()).await.unwrap();
        let addr = running.addr;
        Self {
            running: Some(running),
            addr,
            config,
            dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn db_path(&self) -> PathBuf {
        self.config.db_path.clone()
    }

    /// Stop it (its port then refuses connections).
    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    /// Start it again on the same port and database.
    pub async fn restart(&mut self) {
        let mut config = self.config.clone();
        config.listen = self.addr.to_string();
        // The port was just released; binding again may race the OS for a moment.
        for _ in 0..50 {
            match legacy_api::start(config.clone()).await {
                Ok(r) => {
                    self.running = Some(r);
                    return;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        panic!("legacy-api did not restart on {}", self.addr);
    }

    /// When the legacy database says the user was migrated.
    pub async fn migrated_at(&self, email: &str) -> Option<String> {
        let db = legacy_api::store::LegacyDb::open(&self.db_path())
            .await
            .unwrap();
        let at = db.find_email(email).await.unwrap().unwrap().migrated_at;
        db.close().await;
        at
    }

    /// Wait (up to 5 s) for the mark-migrated call to land.
    pub async fn wait_migrated(&self, email: &str) -> String {
        for _ in 0..100 {
            if let Some(at) = self.migrated_at(email).await {
                return at;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{email} was never marked migrated in the legacy database");
    }
}

/// The legacy API as a machine-to-machine-only API in Tern, and a machine
/// client with a grant for it; returns (client_id, client_secret).
pub async fn protect_legacy_api(h: &Harness, t: &str) -> (String, String) {
    let (s, api) = h
        .api(
            t,
            Method::POST,
            "/resource-servers",
            Some(json!({"name": "Legacy API", "identifier": AUDIENCE,
            "tern_machine_to_machine_only": true,
            "scopes": [{"value": "read:users", "description": "log in and look up legacy users"},
                       {"value": "migrate:users", "description": "mark users migrated"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{api}");
    let (s, c) = h
        .api(t, Method::POST, "/clients", Some(json!({"name": "tern-legacy-connector", "app_type": "non_interactive", "grant_types": ["client_credentials"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["client_id"].as_str().unwrap().to_string();
    let (s, g) = h
        .api(t, Method::POST, "/client-grants", Some(json!({"client_id": id, "audience": AUDIENCE, "scope": ["read:users", "migrate:users"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    (id, c["client_secret"].as_str().unwrap().to_string())
}

/// The connector configuration for the example's answers.
pub fn http_connector(base_url: &str, client_id: &str, extra: Value) -> Value {
    let mut c = json!({
        "type": "http",
        "base_url": base_url,
        "login_path": "/login",
        "get_user_path": "/users",
        "migrated_path": "/users/{id}/migrated",
        "profile_map": {
            "user_id": "/id", "email": "/email", "name": "/display_name",
            "email_verified": "/email_confirmed", "app_metadata.plan": "/account/plan"
        },
        "client_id": client_id,
        "audience": AUDIENCE,
        "scope": "read:users migrate:users",
    });
    if let (Value::Object(c), Value::Object(extra)) = (&mut c, extra) {
        c.extend(extra);
    }
    c
}

/// Create the `legacy-users` connection with this connector and a client
/// allowed the password grants on it; returns (connection id, client id, secret).
pub async fn legacy_connection(
    h: &Harness,
    t: &str,
    connector: Value,
    connector_secret: &str,
) -> (String, String, String) {
    legacy_connection_with(
        h,
        t,
        connector,
        json!({"TERN_CONNECTOR_CLIENT_SECRET": connector_secret}),
    )
    .await
}

/// [`legacy_connection`] with these `options.configuration` values (a
/// connector's secret under its own key).
pub async fn legacy_connection_with(
    h: &Harness,
    t: &str,
    connector: Value,
    configuration: Value,
) -> (String, String, String) {
    let (cid, client_secret) = password_client(h, t).await;
    let (s, c) = h
        .api(t, Method::POST, "/connections", Some(json!({"name": REALM, "strategy": "auth0", "enabled_clients": [cid],
            "options": {"enabledDatabaseCustomization": true, "import_mode": true, "passwordPolicy": "none",
                        "tern_connector": connector,
                        "configuration": configuration}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    (c["id"].as_str().unwrap().to_string(), cid, client_secret)
}

/// Try to create a connection with this connector and configuration,
/// which must be refused (400): the refusal's message.
pub async fn refused_connector(
    h: &Harness,
    t: &str,
    connector: &Value,
    configuration: &Value,
) -> String {
    let (s, body) = h
        .api(
            t,
            Method::POST,
            "/connections",
            Some(json!({"name": "checked", "strategy": "auth0",
            "options": {"enabledDatabaseCustomization": true, "import_mode": true,
                "tern_connector": connector, "configuration": configuration}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{connector}: {body}");
    body["message"].as_str().unwrap().to_string()
}

/// A regular web app allowed the password grants; returns (client id, secret).
pub async fn password_client(h: &Harness, t: &str) -> (String, String) {
    let (s, app) = h
        .api(
            t,
            Method::POST,
            "/clients",
            Some(json!({"name": "web-app", "app_type": "regular_web",
            "grant_types": ["password", PASSWORD_REALM]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{app}");
    (
        app["client_id"].as_str().unwrap().to_string(),
        app["client_secret"].as_str().unwrap().to_string(),
    )
}

/// A password-realm login on the legacy connection.
pub async fn login(
    h: &Harness,
    cid: &str,
    secret: &str,
    email: &str,
    password: &str,
) -> (StatusCode, Value) {
    h.token(json!({"grant_type": PASSWORD_REALM, "client_id": cid, "client_secret": secret,
                   "username": email, "password": password, "realm": REALM, "scope": "openid email"}))
        .await
}

/// The stored Tern user with this legacy id, if any.
pub async fn tern_user(h: &Harness, legacy_id: i64) -> Option<tern_core::model::User> {
    h.state()
        .store
        .get_user(h.state().tid(), &format!("auth0|{legacy_id}"))
        .await
        .unwrap()
}

/// Tenant log descriptions of this type.
pub async fn log_descriptions(h: &Harness, t: &str, kind: &str) -> Vec<String> {
    let (_, logs) = h
        .api(
            t,
            Method::GET,
            &format!("/logs?q=type:{kind}&per_page=100"),
            None,
        )
        .await;
    logs.as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["description"].as_str().map(str::to_string))
        .collect()
}

/// A TCP proxy in front of the legacy API that can hold every request for a
/// while: the "slow legacy service" of the resilience tests (a test-local
/// fake of a network problem, which we cannot cause for real).
pub struct SlowProxy {
    pub addr: SocketAddr,
    delay_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl SlowProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let delay_ms = Arc::new(AtomicU64::new(0));
        let delay = delay_ms.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let delay = delay.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return; // upstream down: the caller sees the connection close
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            let d = delay.load(Ordering::SeqCst);
                            if d > 0 {
                                tokio::time::sleep(Duration::from_millis(d)).await;
                            }
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = sw.shutdown().await;
                    };
                    let down = async {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                        let _ = cw.shutdown().await;
                    };
                    tokio::join!(up, down);
                });
            }
        });
        Self {
            addr,
            delay_ms,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Hold each request this long before passing it on (0: no delay).
    pub fn set_delay(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }
}

impl Drop for SlowProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
