#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The integration harness: a real Tern on 127.0.0.1:0 over real HTTP, on
//! SQLite (a temp file) or PostgreSQL (a fresh database per test, dropped
//! afterwards — CI shares the server).

#![allow(dead_code)]

pub mod browser;
pub mod legacy;
pub mod smtp;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tern_server::bootstrap::BootstrapInfo;
use tern_server::{Config, RunningServer};

/// Which store backs the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Base URL of the PostgreSQL server tests use (no database name).
pub fn pg_base() -> String {
    std::env::var("TERN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A throw-away PostgreSQL database, dropped on `Drop` (even when the test panics).
pub struct PgDatabase {
    pub name: String,
}

impl PgDatabase {
    pub fn create() -> Self {
        let name = format!("tern_test_{}", uuid::Uuid::new_v4().simple());
        psql(&format!("CREATE DATABASE {name}"));
        Self { name }
    }
    pub fn url(&self) -> String {
        format!("{}/{}", pg_base(), self.name)
    }
    /// Run `sql` on this database.
    pub fn run(&self, sql: &str) {
        psql_at(&self.url(), sql);
    }
}

/// The value of the first sample line of an OpenMetrics `text` starting
/// with `series` (name and labels, e.g. `tern_refusals_total{kind="x"}`).
pub fn metric_sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A port free on 127.0.0.1 now (for a server whose public URL must name
/// its port before it starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn psql(sql: &str) {
    psql_at(&format!("{}/postgres", pg_base()), sql);
}

/// Run `sql` on the database at `url` (a legacy store a test sets up).
pub fn psql_at(url: &str, sql: &str) {
    let out = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql must be installed for the PostgreSQL tests");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running server plus what a client needs to talk to it.
pub struct Harness {
    pub server: Option<RunningServer>,
    pub http: reqwest::Client,
    pub base: String,
    pub info: BootstrapInfo,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
}

impl Harness {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Start with a configuration tweak.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = (backend == Backend::Postgres).then(PgDatabase::create);
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.database_url = pg.as_ref().map(PgDatabase::url);
        // Tests make many calls in a burst; the rate-limit test sets its own tier.
        config.rate_limit.burst = 10_000;
        config.rate_limit.per_second = 10_000.0;
        // Cheap argon2 parameters keep the suite fast; production defaults are tested in tern-hash.
        config.password_hash.argon2_memory_kib = 1024;
        config.password_hash.argon2_iterations = 1;
        // The legacy systems tests run (APIs, PostgreSQL, MariaDB, SQLite
        // files) live on this machine: allowed explicitly, as an operator
        // allows a legacy system on a private network. Tern's own port stays
        // refused (it needs a rule naming it exactly); security tests clear
        // these to test the defaults.
        config.network.allow = vec!["127.0.0.1".into(), "::1".into()];
        config.network.sqlite_dirs = vec![std::env::temp_dir()];
        tweak(&mut config);
        let server = tern_server::start(config).await.expect("server starts");
        let info = server.bootstrap.clone().expect("bootstrap info");
        let base = format!("http://{}", server.addr);
        Self {
            server: Some(server),
            http: reqwest::Client::new(),
            base,
            info,
            backend,
            dir,
            pg,
        }
    }

    /// Restart on the same data (and database); returns the new harness.
    pub async fn restart(mut self, tweak: impl FnOnce(&mut Config)) -> Self {
        let server = self.server.take().expect("running");
        let mut config = server.state.config.clone();
        server.stop().await;
        config.listen = "127.0.0.1:0".into();
        tweak(&mut config);
        let server = tern_server::start(config).await.expect("server restarts");
        self.info = server.bootstrap.clone().expect("bootstrap info");
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
        self
    }

    pub fn state(&self) -> &tern_server::state::AppState {
        &self.server.as_ref().expect("running").state
    }

    /// A sample of this server's metrics, read in process (the metrics
    /// listener serves the same registry; see [`metric_sample`]).
    pub fn metric(&self, series: &str) -> Option<f64> {
        metric_sample(&self.state().metrics.encode(), series)
    }

    /// [`Harness::metric`] once it reads `want`, polled for up to 10 s (for
    /// work the server finishes after answering); the last value read.
    pub async fn metric_reaching(&self, series: &str, want: f64) -> Option<f64> {
        let mut last = None;
        for _ in 0..200 {
            last = self.metric(series);
            if last == Some(want) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        last
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }

    /// A connection to the server's own database, as an operator's SQL
    /// client (or another instance) sees it.
    pub async fn database(&self) -> sqlx::AnyConnection {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let url = match self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.dir.path().join("tern.db").display()),
            Backend::Postgres => self.pg.as_ref().unwrap().url(),
        };
        sqlx::AnyConnection::connect(&url).await.unwrap()
    }

    /// A client-credentials token for the Management API (all scopes).
    pub async fn admin_token(&self) -> String {
        self.m2m_token(
            &self.info.client_id.clone(),
            &self.info.client_secret.clone(),
            &self.info.audience.clone(),
            None,
        )
        .await
    }

    /// A client-credentials token of the bootstrap client narrowed to
    /// `scopes`: a caller holding those Management API scopes and no other.
    pub async fn scoped_token(&self, scopes: &[&str]) -> String {
        self.m2m_token(
            &self.info.client_id.clone(),
            &self.info.client_secret.clone(),
            &self.info.audience.clone(),
            Some(&scopes.join(" ")),
        )
        .await
    }

    pub async fn m2m_token(
        &self,
        id: &str,
        secret: &str,
        audience: &str,
        scope: Option<&str>,
    ) -> String {
        let (status, body) = self
            .token(json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "audience": audience, "scope": scope}))
            .await;
        assert_eq!(status, StatusCode::OK, "token: {body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// POST /oauth/token with a JSON body.
    pub async fn token(&self, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .json(&body)
            .send()
            .await
            .expect("send");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A Management API call with a bearer token.
    pub async fn api(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v2{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("send");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A Management API call with an `application/x-www-form-urlencoded`
    /// body, written as the client would send it.
    pub async fn api_form(
        &self,
        token: &str,
        method: Method,
        path: &str,
        form: &str,
    ) -> (StatusCode, Value) {
        let r = self
            .http
            .request(method, format!("{}/api/v2{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_string())
            .send()
            .await
            .expect("send");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The console's first operator: created through the one-time setup
    /// link, then signed in through Tern's login as a browser does; the
    /// browser holding the console session.
    pub async fn console_operator(&self, email: &str, password: &str) -> browser::Browser {
        let url = self.info.console_setup_url.clone().expect("a setup link");
        let token = url.split_once("token=").unwrap().1.to_string();
        let mut b = browser::Browser::new(&self.base);
        let a = b
            .post_form(
                "/console/setup",
                &[
                    ("token", token.as_str()),
                    ("email", email),
                    ("password", password),
                    ("confirm", password),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let signed = b.console_sign_in(email, password).await;
        assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
        assert!(
            b.jar.contains_key(&self.cookie("tern_console")),
            "{}",
            signed.body
        );
        b
    }

    /// The name of Tern's cookie `base` on this server: `__Host-` + `base`
    /// on an https public URL (the harness's default), `base` on http.
    pub fn cookie(&self, base: &str) -> String {
        if self.state().public_url.starts_with("https://") {
            format!("__Host-{base}")
        } else {
            base.to_string()
        }
    }

    /// The console's operators' connection.
    pub async fn operators_connection(&self) -> tern_core::model::Connection {
        let s = self.state();
        s.store
            .get_connection_by_name(s.tid(), "tern-operators")
            .await
            .unwrap()
            .expect("the operators' connection")
    }

    /// The tenant log's `kind` event described as `description`, written
    /// by the console with `actor` as the operator.
    pub async fn console_log(
        &self,
        token: &str,
        kind: &str,
        description: &str,
        actor: &str,
    ) -> Value {
        let (_, logs) = self
            .api(token, Method::GET, &format!("/logs?q=type:{kind}"), None)
            .await;
        let entry = logs
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["description"] == description)
            .unwrap_or_else(|| panic!("{description}: {logs}"))
            .clone();
        assert_eq!(entry["details"]["actor"]["email"], actor, "{entry}");
        entry
    }

    /// Exempt the tests' own address (127.0.0.1) from suspicious-IP
    /// throttling: a test that makes hundreds of failed logins on purpose
    /// would otherwise meet Auth0's 100-a-day pre-login limit.
    pub async fn exempt_loopback_from_ip_throttling(&self, token: &str) {
        self.set_attack_protection(
            token,
            "suspicious-ip-throttling",
            json!({"allowlist": ["127.0.0.1"]}),
        )
        .await;
    }

    /// `PATCH /attack-protection/{kind}` with `body` (`brute-force-protection`,
    /// `suspicious-ip-throttling`), which must be accepted; the settings.
    pub async fn set_attack_protection(&self, token: &str, kind: &str, body: Value) -> Value {
        let (s, e) = self
            .api(
                token,
                Method::PATCH,
                &format!("/attack-protection/{kind}"),
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{e}");
        e
    }

    /// Set `changes`' keys in a connection's `options` (read, merged,
    /// `PATCH`ed); the connection as answered.
    pub async fn merge_connection_options(
        &self,
        token: &str,
        connection_id: &str,
        changes: Value,
    ) -> Value {
        let path = format!("/connections/{connection_id}");
        let (_, conn) = self.api(token, Method::GET, &path, None).await;
        let mut options = conn["options"].clone();
        if let (Value::Object(o), Value::Object(c)) = (&mut options, changes) {
            o.extend(c);
        }
        let (s, conn) = self
            .api(
                token,
                Method::PATCH,
                &path,
                Some(json!({"options": options})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{conn}");
        conn
    }

    /// The first mail in the outbox to `to`, waiting (at most 20 s) for the
    /// background lane that writes mail after a signup.
    pub async fn mail_to(&self, to: &str) -> tern_core::mail::OutboxMessage {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let s = self.state();
            let outbox = s.store.list_outbox(s.tid(), 0, 1000).await.unwrap();
            if let Some(m) = outbox.into_iter().find(|m| m.to == to) {
                return m;
            }
            assert!(std::time::Instant::now() < deadline, "no mail to {to}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Create a database user through the API; returns its JSON.
    /// No automatic verification mail (`verify_email: false`): tests that
    /// count mail are about other mail; `tests/email_templates.rs` covers it.
    pub async fn create_user(&self, token: &str, email: &str, password: &str) -> Value {
        let (s, b) = self
            .api(token, Method::POST, "/users", Some(json!({"connection": "Username-Password-Authentication", "email": email, "password": password, "verify_email": false})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "create user: {b}");
        b
    }

    /// A password grant for `client` (id, secret) as if from address `ip`
    /// (`X-Forwarded-For`, which the test server trusts): status and body.
    pub async fn password_grant_from(
        &self,
        (client_id, secret): (&str, &str),
        user: &str,
        password: &str,
        ip: &str,
    ) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .header("x-forwarded-for", ip)
            .json(
                &json!({"grant_type": "password", "username": user, "password": password,
                "client_id": client_id, "client_secret": secret}),
            )
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `POST /dbconnections/signup` of `email` to the default connection
    /// for `client_id`, as if from address `ip` (`X-Forwarded-For`, which
    /// the test server trusts): status and body.
    pub async fn signup_from(
        &self,
        client_id: &str,
        email: &str,
        password: &str,
        ip: &str,
    ) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/dbconnections/signup", self.base))
            .header("x-forwarded-for", ip)
            .json(
                &json!({"client_id": client_id, "connection": "Username-Password-Authentication",
                "email": email, "password": password}),
            )
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A password login of `user` for `client` (id, secret) asking for
    /// `offline_access`, with `extra` fields (e.g. `audience`); the token
    /// response, which must carry a refresh token.
    pub async fn offline_login(
        &self,
        (client_id, secret): (&str, &str),
        user: &str,
        password: &str,
        extra: Value,
    ) -> Value {
        let mut body = json!({"grant_type": "password", "client_id": client_id,
            "client_secret": secret, "username": user, "password": password,
            "scope": "openid offline_access"});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let (s, tokens) = self.token(body).await;
        assert_eq!(s, StatusCode::OK, "{tokens}");
        assert!(tokens["refresh_token"].is_string(), "{tokens}");
        tokens
    }

    /// Exchange refresh token `token` for `client` (id, secret): status and body.
    pub async fn refresh_grant(
        &self,
        (client_id, secret): (&str, &str),
        token: &str,
    ) -> (StatusCode, Value) {
        self.token(
            json!({"grant_type": "refresh_token", "client_id": client_id,
            "client_secret": secret, "refresh_token": token}),
        )
        .await
    }

    /// Import `rows` into the default connection and wait for the job to
    /// end (the upload is held with `tern_wait_ms`, then the job polled);
    /// the finished job, which must have completed.
    pub async fn import_rows(&self, token: &str, rows: &Value) -> Value {
        self.import_rows_into(token, &self.info.connection_id, rows)
            .await
    }

    /// [`Self::import_rows`] into another connection.
    pub async fn import_rows_into(&self, token: &str, connection_id: &str, rows: &Value) -> Value {
        let form = reqwest::multipart::Form::new()
            .part(
                "users",
                reqwest::multipart::Part::bytes(rows.to_string().into_bytes())
                    .file_name("users.json"),
            )
            .text("connection_id", connection_id.to_string())
            .text("tern_wait_ms", "10000");
        let r = self
            .http
            .post(format!("{}/api/v2/jobs/users-imports", self.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let mut job: Value = r.json().await.unwrap();
        let path = format!("/jobs/{}", job["id"].as_str().expect("job id"));
        // A loaded machine may need longer than the held upload.
        for _ in 0..1200 {
            if job["status"] == "completed" || job["status"] == "failed" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            job = self.api(token, Method::GET, &path, None).await.1;
        }
        assert_eq!(job["status"], "completed", "{job}");
        job
    }

    /// The failed rows of import job `id` (`[]` when Auth0's 204 says none).
    pub async fn job_errors(&self, token: &str, id: &str) -> Value {
        let (s, errors) = self
            .api(token, Method::GET, &format!("/jobs/{id}/errors"), None)
            .await;
        if s == StatusCode::NO_CONTENT {
            return json!([]);
        }
        assert_eq!(s, StatusCode::OK, "{errors}");
        errors
    }

    /// Create an application allowed to use the password grants, with the
    /// default connection enabled; returns (client_id, client_secret).
    pub async fn password_client(&self, token: &str) -> (String, String) {
        let c = self
            .client_on(
                token,
                &self.info.connection_id,
                json!({"name": "app", "app_type": "regular_web", "grant_types": ["password", "http://auth0.com/oauth/grant-type/password-realm"]}),
            )
            .await;
        let secret = c["client_secret"].as_str().expect("secret").to_string();
        (
            c["client_id"].as_str().expect("client_id").to_string(),
            secret,
        )
    }

    /// Create the application `body` describes and enable it on connection
    /// `connection_id` (beside the applications already enabled there);
    /// returns the created application as the API answered.
    pub async fn client_on(&self, token: &str, connection_id: &str, body: Value) -> Value {
        let (s, c) = self.api(token, Method::POST, "/clients", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let id = c["client_id"].as_str().expect("client_id").to_string();
        let path = format!("/connections/{connection_id}");
        let (_, conn) = self.api(token, Method::GET, &path, None).await;
        let mut enabled: Vec<Value> = conn["enabled_clients"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        enabled.push(json!(id));
        let (s, b) = self
            .api(
                token,
                Method::PATCH,
                &path,
                Some(json!({"enabled_clients": enabled})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        c
    }
}

/// Run an async scenario once per backend as two `#[tokio::test]`s.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::common::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::common::Backend::Postgres).await } )*
        }
    };
}

/// RFC 4648 Base32 to bytes (the tests' own, for the seeds Tern shows).
pub fn base32(text: &str) -> Vec<u8> {
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let bits: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| format!("{:05b}", alphabet.find(c).expect("a Base32 letter")))
        .collect();
    bits.as_bytes()
        .chunks_exact(8)
        .map(|b| u8::from_str_radix(std::str::from_utf8(b).unwrap(), 2).unwrap())
        .collect()
}

/// RFC 6238 TOTP (HMAC-SHA1, `digits` digits, 30 s steps) at Unix time `t`,
/// written from the RFC, independent of Tern.
pub fn totp(seed: &[u8], t: i64, digits: u32) -> String {
    use aws_lc_rs::hmac;
    let counter = (t / 30) as u64;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let h = mac.as_ref();
    let o = (h[19] & 0xf) as usize;
    let bin = (u32::from(h[o]) & 0x7f) << 24
        | u32::from(h[o + 1]) << 16
        | u32::from(h[o + 2]) << 8
        | u32::from(h[o + 3]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(digits),
        width = digits as usize
    )
}

/// Fields `a` and `b` (as text, "" when absent) of each object of a JSON
/// array answer (roles as name and description, say), sorted.
pub fn pairs(list: &Value, a: &str, b: &str) -> Vec<(String, String)> {
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let mut found: Vec<(String, String)> = list
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|v| (text(v, a), text(v, b)))
        .collect();
    found.sort();
    found
}
