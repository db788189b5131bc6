//! What every handler can reach: the store, the tenant, its keys, the policy.

use std::sync::Arc;

use tern_core::model::Tenant;
use tern_core::store::Store;
use tern_hash::HashPolicy;

use crate::config::Config;
use crate::keys::Keys;
use crate::rate_limit::RateLimiter;

/// Shared, cheaply clonable server state.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

/// The contents of [`AppState`].
pub struct Inner {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// The tenant served (one per instance for now; host-based selection later).
    pub tenant: Tenant,
    /// Signing and verification keys (reloaded from the store).
    pub keys: Arc<Keys>,
    /// The origins CORS allows, in memory (reloaded from the store).
    pub cors_origins: Arc<crate::cors::AllowedOrigins>,
    /// `https://host[:port]` without a trailing slash.
    pub public_url: String,
    /// Configuration in effect.
    pub config: Config,
    /// Whose `X-Forwarded-For` is believed (`http.trusted_proxies`).
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    /// Management API token buckets.
    pub limiter: RateLimiter,
    /// Where password hashes are computed: a bounded pool.
    pub hash_pool: crate::hash_pool::HashPool,
    /// Hashing policy for new passwords.
    pub policy: HashPolicy,
    /// The legacy user stores of custom-database connections (lazy migration).
    pub legacy: Option<Arc<dyn tern_core::legacy::LegacySource>>,
    /// Outgoing mail: the tenant's stored SMTP settings
    /// (`mail_settings::TenantMailer`), else the configuration's SMTP, else
    /// the store's outbox.
    pub mailer: Arc<dyn tern_core::mail::Mailer>,
    /// The network policy every destination a tenant configures obeys
    /// (scripts, connectors, its SMTP server).
    pub network: tern_net::Network,
    /// Change-password requests run after their answer, in this bounded
    /// lane (`reset::dispatch_reset_request`).
    pub reset_lane: crate::background::Lane,
    /// Automatic verification mails (signup, `POST /users`) are sent after
    /// the answer, in this bounded lane (`verification::after_creation`).
    pub mail_lane: crate::background::Lane,
    /// Turns of user searches (`user_search`), so searches cannot take
    /// every store connection from logins.
    pub searches: Arc<tokio::sync::Semaphore>,
    /// Seals and opens connection `configuration` secrets.
    pub secrets: Arc<crate::secrets::SecretKey>,
    /// The script sandbox behind `legacy` (the "try" endpoint runs scripts
    /// through it, under the same limits and concurrency bound).
    pub scripts: Arc<crate::legacy_script::ScriptLegacySource>,
    /// Wakes the job runner when a job is created.
    pub jobs_notify: tokio::sync::Notify,
    /// Wakes every `GET /jobs/{id}?tern_wait_ms=` request when a job ends.
    pub jobs_ended: tokio::sync::Notify,
    /// Prometheus metrics.
    pub metrics: crate::metrics::Metrics,
    /// The time expiries are decided by (tests move it forward).
    pub clock: tern_core::clock::Clock,
    /// Password attempts on one brute-force counter take turns.
    pub login_turns: crate::login_turns::LoginTurns,
    /// Password comparisons reserved per address (suspicious-IP throttling).
    pub ip_attempts: crate::ip_attempts::IpAttempts,
    /// The post-login trigger's bound actions, cached (see `actions`).
    pub actions: crate::actions::BoundActions,
    /// Set when the server is shutting down: `/readyz` answers 503 so load
    /// balancers stop sending traffic while in-flight requests finish.
    pub draining: std::sync::atomic::AtomicBool,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Inner {
    /// The token issuer, `https://host/` (with the trailing slash Auth0 uses).
    pub fn issuer(&self) -> String {
        format!("{}/", self.public_url)
    }
    /// The Management API audience, `https://host/api/v2/`.
    pub fn management_audience(&self) -> String {
        format!("{}/api/v2/", self.public_url)
    }
    /// Epoch seconds, as the expiry decisions see it.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
    /// Whether the server is shutting down.
    pub fn is_draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// The tenant id every store call is scoped by.
    pub fn tid(&self) -> &str {
        &self.tenant.id
    }
    /// Append to the tenant log; a failure is logged, never surfaced (a log
    /// write must not fail the request it describes).
    pub async fn log(&self, event: tern_core::model::LogEvent) {
        if let Err(e) = self.store.append_log(self.tid(), &event).await {
            tracing::error!(error = %e, kind = %event.kind, "could not write tenant log");
        }
    }
}
