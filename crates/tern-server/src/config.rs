//! Server configuration: defaults ← TOML file ← `TERN_*` environment ← flags.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything `tern serve` can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// The URL clients reach Tern at (the token issuer and the base of the
    /// Management API audience). SDKs insist on https, so this is set
    /// independently of `listen`; when absent it is `https://<bound address>`.
    pub public_url: Option<String>,
    /// `sqlite://PATH` or `postgres://…`; default: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Where the SQLite file and `bootstrap.json` live.
    pub data_dir: PathBuf,
    /// Management API rate limit, per tenant.
    pub rate_limit: RateLimitConfig,
    /// How new passwords are hashed.
    pub password_hash: PasswordHashConfig,
    /// Largest request body accepted on JSON endpoints (Auth0: 1 MB).
    pub max_body_bytes: usize,
    /// How deep a user search may page (Auth0: 1000 results).
    pub search_window: u64,
    /// User searches' time limit.
    pub search: SearchConfig,
    /// Bulk import limits.
    pub import: ImportConfig,
    /// Export jobs.
    pub export: ExportConfig,
    /// Custom-database scripts.
    pub scripts: ScriptsConfig,
    /// Where scripts and connectors may connect, and which SQLite files
    /// connectors may open.
    pub network: NetworkConfig,
    /// Outgoing mail; without `smtp.url`, mail is kept in the store's outbox.
    pub smtp: SmtpConfig,
    /// Addresses of the tenant administrators (import completion mail).
    /// Empty: those messages are kept in the outbox.
    pub admin_emails: Vec<String>,
    /// The key sealing connection `configuration` secrets: 32 bytes in
    /// base64 or hex (`TERN_SECRETS_KEY`). Absent: `secrets.key` in
    /// `data_dir`, created at first start. Instances sharing a database must
    /// share it.
    pub secrets_key: Option<String>,
    /// Signing keys.
    pub keys: KeysConfig,
    /// CORS: the allowed origins, kept in memory.
    pub cors: CorsConfig,
    /// Credentials of the bootstrap admin client, when the operator wants to choose them.
    pub bootstrap_client_id: Option<String>,
    /// Server log lines as `text` (for people) or `json` (one object per
    /// line, for log pipelines).
    pub log_format: String,
    /// On SIGTERM or SIGINT, how long in-flight requests may take to finish
    /// before the process exits anyway.
    pub shutdown_timeout_secs: u64,
    /// Prometheus metrics.
    pub metrics: MetricsConfig,
    /// The HTTP listener: whose addresses to believe, connection limits.
    pub http: HttpConfig,
    /// How long the tenant log and the outbox are kept.
    pub retention: RetentionConfig,
    /// In-process TLS on `listen` (both paths, or neither).
    pub tls: TlsConfig,
    /// See `bootstrap_client_id`.
    pub bootstrap_client_secret: Option<String>,
}

/// Bulk import jobs. Auth0's hard limits are the defaults.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportConfig {
    /// Largest users file (Auth0: 512000 bytes).
    pub max_file_bytes: usize,
    /// Import jobs a tenant may have pending or processing at once (Auth0: 2).
    pub max_active_jobs: u64,
    /// Rows applied per transaction. Each batch costs a transaction, a
    /// commit's WAL flush and a few round trips: on PostgreSQL, 2 000-row
    /// batches imported 100 000 users ~25 % faster than 500-row ones
    /// (`cargo bench -p tern --bench import`), and a crash still redoes
    /// at most one batch, once.
    pub batch_size: usize,
    /// Jobs this server runs at once (each claims its own job from the store).
    pub runners: usize,
    /// A completed job reads as `expired` after this many seconds (Auth0: 2 h).
    pub expire_after_secs: i64,
    /// Job data (status, errors, file) is deleted after this many seconds (Auth0: 24 h).
    pub retention_secs: i64,
    /// A runner that makes no progress for this long loses its job to another
    /// runner (or to the same server after a restart).
    pub lease_secs: i64,
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: 512_000,
            max_active_jobs: 2,
            batch_size: 2000,
            runners: 2,
            expire_after_secs: 7200,
            retention_secs: 86_400,
            lease_secs: 30,
        }
    }
}

/// Signing keys.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct KeysConfig {
    /// Seconds between reloads of the signing keys from the store: the bound
    /// on how long a rotation or revocation made on another instance sharing
    /// the database takes to apply here (this instance applies its own at
    /// once, and a token signed by a key it does not know yet reloads too).
    pub reload_secs: u64,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self { reload_secs: 30 }
    }
}

/// CORS.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct CorsConfig {
    /// Seconds between reloads of the allowed origins from the
    /// applications in the store: the bound on how long an application
    /// created or changed on another instance sharing the database takes to
    /// apply here (this instance applies its own at once).
    pub reload_secs: u64,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self { reload_secs: 30 }
    }
}

/// User searches (`GET /api/v2/users?q=`, the console's search).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchConfig {
    /// A search not answered within this many milliseconds (its wait for a
    /// turn included) is answered 503 `query_timeout`, and the store stops
    /// its statement (Auth0: 2 s).
    pub timeout_ms: u64,
}

impl SearchConfig {
    /// The time limit (at least 1 ms: a search is never refused unstarted).
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.timeout_ms.max(1))
    }
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self { timeout_ms: 2_000 }
    }
}

/// Export jobs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportConfig {
    /// Gzip output stored per chunk of an export's file: what an export or a
    /// download holds in memory, whatever the number of users.
    pub chunk_bytes: usize,
}

impl Default for ExportConfig {
    fn default() -> Self {
        Self {
            chunk_bytes: 1 << 20,
        }
    }
}

/// Custom-database scripts (lazy migration).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ScriptsConfig {
    /// Time limit of one script call (Auth0: about 20 s).
    pub timeout_secs: u64,
    /// Deprecated alias of `network.allow`: its entries are added to it
    /// (with a warning at start).
    pub allowed_hosts: Option<Vec<String>>,
    /// Script calls running at once (each has its own thread and heap);
    /// further calls wait for a slot within their own time limit.
    pub max_concurrent: usize,
    /// Bytes one call may receive: HTTP bodies and database rows together.
    pub max_received_bytes: usize,
    /// Host requests (HTTP, database commands) one call runs at once, and
    /// the database connections it may open.
    pub max_concurrent_requests: usize,
    /// Rows one query of a script may return.
    pub max_rows_per_query: usize,
    /// Legacy calls (script or connector) for identifiers Tern does not know
    /// that one address may cause per minute; past it, its unknown-user
    /// logins are refused with `too_many_attempts` without asking the legacy
    /// store. 0 turns the bound off.
    pub unknown_user_lookups_per_minute: u32,
}

impl Default for ScriptsConfig {
    fn default() -> Self {
        let limits = tern_script::ScriptLimits::default();
        Self {
            timeout_secs: 20,
            allowed_hosts: None,
            max_concurrent: 64,
            max_received_bytes: limits.max_received_bytes,
            max_concurrent_requests: limits.max_concurrent_requests,
            max_rows_per_query: limits.max_rows_per_query,
            unknown_user_lookups_per_minute: 30,
        }
    }
}

/// What the background runner purges, so storage stays bounded.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct RetentionConfig {
    /// Days tenant log events are kept (Auth0 keeps 1 to 30 by plan).
    pub logs_days: i64,
    /// Days mail is kept in the outbox.
    pub outbox_days: i64,
    /// Rows deleted per statement; a purge repeats until less remain.
    pub batch: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            logs_days: 30,
            outbox_days: 30,
            batch: 1000,
        }
    }
}

/// The HTTP listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Proxies (CIDR ranges or addresses) whose `X-Forwarded-For` names the
    /// client; empty: the TCP peer is the client (see `client_ip`).
    pub trusted_proxies: Vec<String>,
    /// A connection must deliver a request's headers within this many
    /// milliseconds of being opened or of its previous answer (an idle
    /// keep-alive connection is closed after it too).
    pub header_read_timeout_ms: u64,
    /// A request's body must have arrived within this many milliseconds of
    /// its headers; a slower one is answered 408.
    pub body_read_timeout_ms: u64,
    /// Connections served at once; further ones wait in the kernel's
    /// backlog until one closes.
    pub max_connections: usize,
    /// Connections one client address (an IPv6 client's /64) may hold at
    /// once; a further one is closed unserved. Trusted proxies are not
    /// counted. 0: no limit.
    pub max_connections_per_address: usize,
    /// Keep HTTP/1.1 connections open between requests.
    pub keep_alive: bool,
    /// Requests served on one HTTP/1.1 connection before it is closed (the
    /// last answer says `Connection: close`).
    pub max_requests_per_connection: u64,
    /// Login transactions one address may start at `/authorize` in a minute
    /// (each is kept for an hour before anyone signs in); past it the
    /// application gets `temporarily_unavailable`. Addresses on the
    /// suspicious-IP allowlist are exempt; 0 lifts the limit.
    pub authorize_per_address_minute: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            header_read_timeout_ms: 30_000,
            body_read_timeout_ms: 60_000,
            max_connections: 1000,
            max_connections_per_address: 256,
            keep_alive: true,
            max_requests_per_connection: 1000,
            authorize_per_address_minute: 300,
        }
    }
}

/// What Tern may reach on a tenant's behalf (scripts, HTTP and SQL
/// connectors); see `tern_net::NetworkPolicy`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Destinations allowed besides public addresses: host names
    /// (`legacy.internal`, `*.corp.example`), addresses and CIDR ranges
    /// (`10.0.0.0/8`), each optionally with one port (`127.0.0.1:4000`).
    /// Loopback, link-local, private, unique-local, CGNAT and other
    /// special ranges, and Tern's own listeners, are refused otherwise.
    pub allow: Vec<String>,
    /// Directories SQL connectors may open SQLite legacy databases from
    /// (canonicalized; never Tern's data directory or database). Empty:
    /// no SQLite legacy database.
    pub sqlite_dirs: Vec<PathBuf>,
}

/// Prometheus metrics.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsConfig {
    /// Address of the listener serving `GET /metrics` (e.g. `127.0.0.1:9464`);
    /// absent: metrics are kept but not served. A listener of its own, so
    /// the public port never exposes them.
    pub listen: Option<String>,
    /// How often the `users` gauge (users per connection and arrival
    /// source, one aggregate query per connection) is refreshed.
    pub users_refresh_secs: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            listen: None,
            users_refresh_secs: 60,
        }
    }
}

/// In-process TLS: PEM files, read at start. Absent: plain HTTP (behind a
/// proxy that terminates TLS, or on a developer's machine).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsConfig {
    /// The certificate chain, leaf first (`--tls-cert`).
    pub cert: Option<PathBuf>,
    /// Its private key: PKCS#8, PKCS#1 or SEC1 (`--tls-key`).
    pub key: Option<PathBuf>,
}

/// Outgoing mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain: a relay on this machine),
    /// `smtp://host:port?tls=required` (STARTTLS), `smtps://host:port` (TLS
    /// from the start); credentials as `smtp://user:password@host`.
    /// Absent: mail goes to the outbox.
    pub url: Option<String>,
    /// The `From` of every message.
    pub from: String,
    /// Give up on an SMTP conversation after this many seconds.
    pub timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            url: None,
            from: "Tern <no-reply@localhost>".into(),
            timeout_secs: 30,
        }
    }
}

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RateLimitConfig {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Bucket size.
    pub burst: u32,
}

/// The hashing policy for new passwords, and the cost limits of stored ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordHashConfig {
    /// `argon2id` (default) or `bcrypt`.
    pub algorithm: String,
    /// argon2id memory in KiB.
    pub argon2_memory_kib: u32,
    /// argon2id passes.
    pub argon2_iterations: u32,
    /// argon2id lanes.
    pub argon2_parallelism: u32,
    /// bcrypt cost.
    pub bcrypt_cost: u32,
    /// Hashes computed at once (0: one per core); more wait in the queue.
    pub workers: usize,
    /// Hashing requests waiting for a worker; beyond them a login is
    /// answered 503 `temporarily_unavailable` at once.
    pub queue: usize,
    /// Bounds on the work verifying one stored or legacy hash may cost
    /// (`[password_hash.limits]`; see `tern_hash::CostLimits`). A hash over
    /// them is refused at import and at login, never computed.
    pub limits: tern_hash::CostLimits,
}

impl Default for PasswordHashConfig {
    fn default() -> Self {
        // OWASP Password Storage Cheat Sheet, argon2id minimum: m=19 MiB, t=2, p=1.
        Self {
            algorithm: "argon2id".into(),
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            bcrypt_cost: 12,
            workers: 0,
            queue: 64,
            limits: tern_hash::CostLimits::default(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            database_url: None,
            data_dir: PathBuf::from("tern-data"),
            // Auth0's paid tier: 15 requests/s, burst 50.
            rate_limit: RateLimitConfig {
                per_second: 15.0,
                burst: 50,
            },
            password_hash: PasswordHashConfig::default(),
            max_body_bytes: 1024 * 1024,
            search_window: 1000,
            search: SearchConfig::default(),
            import: ImportConfig::default(),
            export: ExportConfig::default(),
            scripts: ScriptsConfig::default(),
            network: NetworkConfig::default(),
            smtp: SmtpConfig::default(),
            admin_emails: Vec::new(),
            secrets_key: None,
            keys: KeysConfig::default(),
            cors: CorsConfig::default(),
            bootstrap_client_id: None,
            bootstrap_client_secret: None,
            log_format: "text".into(),
            shutdown_timeout_secs: 30,
            metrics: MetricsConfig::default(),
            http: HttpConfig::default(),
            retention: RetentionConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

impl Config {
    /// Load defaults, then the TOML file (if any), then `TERN_*` variables
    /// (`TERN_RATE_LIMIT__BURST` for nested keys).
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            fig = fig.merge(Toml::file_exact(f));
        }
        fig.merge(Env::prefixed("TERN_").split("__"))
            .extract()
            .map_err(Box::new)
    }

    /// The operator's `network.allow` rules, with the deprecated
    /// `scripts.allowed_hosts` entries added.
    pub fn network_allow(&self) -> Vec<String> {
        let mut allow = self.network.allow.clone();
        allow.extend(self.scripts.allowed_hosts.iter().flatten().cloned());
        allow
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("tern.db").display()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_deprecated_allowed_hosts_join_network_allow() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tern.toml");
        std::fs::write(
            &file,
            "[scripts]\nallowed_hosts = [\"legacy.internal\"]\n[network]\nallow = [\"10.0.0.0/8\"]\nsqlite_dirs = [\"/srv/legacy\"]\n",
        )
        .unwrap();
        let c = Config::load(Some(&file)).unwrap();
        assert_eq!(c.network_allow(), vec!["10.0.0.0/8", "legacy.internal"]);
        assert_eq!(c.network.sqlite_dirs, vec![PathBuf::from("/srv/legacy")]);
        std::fs::write(&file, "[network]\nallowed = [\"x\"]\n").unwrap();
        assert!(
            Config::load(Some(&file)).is_err(),
            "a misspelt key stops the start"
        );
    }
}
