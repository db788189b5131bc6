//! Assembling the router and running the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use futures_util::future::Either;
use tern_core::store::Store;
use tern_hash::HashPolicy;
use tern_store::SqlStore;
use tokio::net::TcpListener;

use crate::bootstrap::{BootstrapInfo, bootstrap};
use crate::config::Config;
use crate::keys::{Keys, rotation};
use crate::rate_limit::RateLimiter;
use crate::state::{AppState, Inner};
use crate::{auth, ops, rate_limit, routes};

/// A server started by [`start`].
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// The metrics listener's address, when `metrics.listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    /// The public URL in effect.
    pub public_url: String,
    /// The bootstrap record (`None` only if bootstrap.json was removed by hand).
    pub bootstrap: Option<BootstrapInfo>,
    /// The state (tests reach the store through it).
    pub state: AppState,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stop accepting, finish in-flight requests, return.
    pub async fn stop(self) {
        self.state
            .draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
    /// Serve until `signal` fires or the server fails (for `tern serve`). On
    /// the signal the server drains: `/readyz` answers 503, no new
    /// connections are accepted, and the returned future finishes the
    /// requests in flight, then stops the job runner.
    pub async fn wait_or(self, signal: impl Future<Output = ()>) -> Ended {
        let RunningServer {
            state,
            shutdown,
            mut task,
            ..
        } = self;
        tokio::select! {
            served = &mut task => Ended::Failed(match served {
                Ok(Ok(())) => std::io::Error::other("the server stopped"),
                Ok(Err(e)) => e,
                Err(e) => std::io::Error::other(e),
            }),
            () = signal => {
                state.draining.store(true, std::sync::atomic::Ordering::Relaxed);
                let _ = shutdown.send(());
                Ended::Signalled(Box::pin(async move {
                    let _ = task.await;
                }))
            }
        }
    }
}

/// How [`RunningServer::wait_or`] ended.
pub enum Ended {
    /// The server stopped on its own: it could not go on serving.
    Failed(std::io::Error),
    /// The shutdown signal came; await this to let requests in flight finish.
    Signalled(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>),
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// Could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// Store could not open.
    #[error(transparent)]
    Store(#[from] tern_store::StoreOpenError),
    /// Bootstrap failed.
    #[error(transparent)]
    Bootstrap(#[from] crate::bootstrap::BootstrapError),
    /// Keys unusable.
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    /// Store error.
    #[error(transparent)]
    Core(#[from] tern_core::CoreError),
    /// The secrets key is unusable.
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
}

/// Bind, open the store, bootstrap, and serve in the background.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    crate::data_dir::prepare(&config).map_err(|e| {
        StartError::Config(format!(
            "cannot prepare the data dir {} (owner-only): {e}",
            config.data_dir.display()
        ))
    })?;
    let policy = hash_policy(&config)?;
    let tls = match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => {
            Some(crate::tls::server_config(cert, key).map_err(StartError::Config)?)
        }
        (None, None) => None,
        _ => {
            return Err(StartError::Config(
                "tls.cert and tls.key go together: give both or neither".into(),
            ));
        }
    };
    let listener = TcpListener::bind(&config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen.clone(),
        source,
    })?;
    let metrics_listener = match &config.metrics.listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind {
                    addr: addr.clone(),
                    source,
                })?,
        ),
        None => None,
    };
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("https://{addr}"))
        .trim_end_matches('/')
        .to_string();
    let trusted_proxies = crate::client_ip::TrustedProxies::parse(&config.http.trusted_proxies)
        .map_err(StartError::Config)?;
    let store = SqlStore::open(&config.database_url()).await?;
    let store: Arc<dyn Store> = Arc::new(store);
    let (tenant, info) = bootstrap(store.as_ref(), &config, &public_url).await?;
    let settled = store.settle_copied_log(&tenant.id).await?;
    if settled > 0 {
        tracing::info!(
            events = settled,
            "log events copied from another PostgreSQL cluster put before those written here"
        );
    }
    let secrets = Arc::new(crate::secrets::SecretKey::load(&config)?);
    let prepared = rotation::prepare(
        store.as_ref(),
        &secrets,
        &tenant.id,
        rotation::common_name(&public_url),
    )
    .await?;
    if prepared.sealed > 0 {
        tracing::info!(
            keys = prepared.sealed,
            "sealed signing keys stored in clear by an earlier version"
        );
    }
    let keys = Arc::new(Keys::load(store.clone(), &tenant.id, secrets.clone()).await?);
    let reload_keys =
        keys.spawn_periodic_reload(Duration::from_secs(config.keys.reload_secs.max(1)));
    let cors_origins = crate::cors::AllowedOrigins::load(store.clone(), &tenant.id).await?;
    let reload_origins =
        cors_origins.spawn_periodic_reload(Duration::from_secs(config.cors.reload_secs.max(1)));
    let sealed = crate::secrets::seal_stored(store.as_ref(), &tenant.id, &secrets).await?;
    if sealed > 0 {
        tracing::info!(
            connections = sealed,
            "sealed configuration values stored in clear"
        );
    }
    let (network, sqlite_dirs) = network(&config, [Some(addr), metrics_addr])?;
    let seeds = crate::mfa::seal_stored(store.as_ref(), &tenant.id, &secrets).await?;
    if seeds > 0 {
        tracing::info!(users = seeds, "sealed TOTP seeds stored in clear");
    }
    // One pool for every hash the server computes, legacy ones included.
    let metrics = crate::metrics::Metrics::default();
    let hash_pool =
        crate::hash_pool::HashPool::new(config.password_hash.workers, config.password_hash.queue)
            .count_busy_in(metrics.refusal_counter("hash_pool_busy"));
    let scripts = Arc::new(
        crate::legacy_script::ScriptLegacySource::from_config(&config.scripts, network.clone())
            .with_metrics(metrics.scripts())
            .with_tenant_log(store.clone())
            .with_hash_policy(policy)
            .with_hash_pool(hash_pool.clone()),
    );
    let sql = crate::connectors::sql::SqlConnectors::new(
        policy,
        hash_pool.clone(),
        network.clone(),
        sqlite_dirs,
    );
    let mailer: Arc<dyn tern_core::mail::Mailer> =
        Arc::new(crate::mail_settings::TenantMailer::new(
            store.clone(),
            secrets.clone(),
            network.clone(),
            crate::mail::from_config(&config.smtp, store.clone()).map_err(StartError::Config)?,
            std::time::Duration::from_secs(config.smtp.timeout_secs),
        ));
    let tenant_network = network.clone();
    // Cyclic: connectors mint their machine tokens through the state that owns them.
    let state = AppState(Arc::new_cyclic(|weak| Inner {
        mailer,
        network: tenant_network,
        store,
        tenant,
        keys,
        cors_origins,
        public_url: public_url.clone(),
        limiter: RateLimiter::new(config.rate_limit),
        trusted_proxies,
        hash_pool,
        config,
        policy,
        // Sources (scripts, connectors) see configuration in clear; only
        // the Revealing wrapper holds the key.
        legacy: Some(Arc::new(crate::secrets::Revealing::new(
            secrets.clone(),
            Arc::new(
                crate::connectors::Dispatcher::new(scripts.clone(), sql, network, weak.clone())
                    .with_circuit_gauges(metrics.legacy_circuits.clone()),
            ),
        ))),
        reset_lane: crate::background::Lane::new(
            crate::reset::RESET_WORKERS,
            crate::reset::RESET_BACKLOG,
        ),
        mail_lane: crate::background::Lane::new(
            crate::verification::AUTO_MAIL_WORKERS,
            crate::verification::AUTO_MAIL_BACKLOG,
        ),
        searches: Arc::new(tokio::sync::Semaphore::new(
            crate::user_search::SEARCHES_AT_ONCE,
        )),
        secrets,
        scripts,
        jobs_notify: tokio::sync::Notify::new(),
        jobs_ended: tokio::sync::Notify::new(),
        login_turns: Default::default(),
        actions: Default::default(),
        ip_attempts: Default::default(),
        draining: std::sync::atomic::AtomicBool::new(false),
        clock: tern_core::clock::Clock::default(),
        metrics,
    }));
    let runner = crate::jobs::spawn_runner(state.clone());
    let metrics = metrics_listener.map(|l| serve_metrics(l, state.clone()));
    let app = router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let listener = match tls {
        Some(config) => Either::Right(crate::tls::TlsListener::new(listener, config).map_err(
            |source| StartError::Bind {
                addr: addr.to_string(),
                source,
            },
        )?),
        None => Either::Left(listener),
    };
    let limits = state.config.http.clone();
    let per_address = crate::http_server::PerAddress::new(&limits, state.trusted_proxies.clone());
    let task = tokio::spawn(async move {
        let stop = async move {
            let _ = rx.await;
        };
        let limits = crate::http_server::Limits::from_config(&limits);
        let served = match listener {
            Either::Left(plain) => {
                crate::http_server::serve(plain, app, limits, per_address, stop).await
            }
            Either::Right(tls) => {
                crate::http_server::serve(tls, app, limits, per_address, stop).await
            }
        };
        // The runner's progress is committed per batch; stopping it between
        // batches or mid-batch loses nothing, and its jobs are handed back
        // so another instance (or this one, restarted) resumes them at once.
        runner.stop().await;
        for task in metrics.into_iter().flatten() {
            task.abort();
        }
        reload_keys.abort();
        reload_origins.abort();
        served
    });
    Ok(RunningServer {
        addr,
        metrics_addr,
        public_url,
        bootstrap: info,
        state,
        shutdown: tx,
        task,
    })
}

/// Serve `GET /metrics` on its own listener and keep the user counts
/// current; the tasks to abort when the server stops.
fn serve_metrics(listener: TcpListener, state: AppState) -> [tokio::task::JoinHandle<()>; 2] {
    let refresh = tokio::spawn(crate::metrics::refresh_users(state.clone()));
    let app = Router::new()
        .route("/metrics", axum::routing::get(crate::metrics::scrape))
        .with_state(state);
    let serve = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    [serve, refresh]
}

/// The network policy of scripts and connectors: `network.allow` (and the
/// deprecated `scripts.allowed_hosts`), Tern's own listeners refused; and
/// the directories SQLite legacy databases may be opened from, Tern's own
/// data excluded.
fn network(
    config: &Config,
    own: [Option<SocketAddr>; 2],
) -> Result<(tern_net::Network, tern_net::SqliteDirs), StartError> {
    if let Some(hosts) = &config.scripts.allowed_hosts {
        tracing::warn!(
            hosts = ?hosts,
            "scripts.allowed_hosts is deprecated: its entries were added to network.allow, \
             which applies to scripts and connectors alike (public addresses are allowed \
             without a rule); move them there"
        );
    }
    let policy = tern_net::NetworkPolicy::new(&config.network_allow())
        .map_err(StartError::Config)?
        .with_own_addresses(own.into_iter().flatten());
    let mut own_files = vec![config.data_dir.clone()];
    if let Some(path) = config
        .database_url()
        .strip_prefix("sqlite:")
        .map(|p| p.trim_start_matches("//"))
        .map(|p| p.split('?').next().unwrap_or(p))
    {
        own_files.push(std::path::PathBuf::from(path));
    }
    let dirs = tern_net::SqliteDirs::new(&config.network.sqlite_dirs, &own_files)
        .map_err(StartError::Config)?;
    Ok((tern_net::Network::new(policy), dirs))
}

fn hash_policy(config: &Config) -> Result<HashPolicy, StartError> {
    let p = &config.password_hash;
    match p.algorithm.as_str() {
        "argon2id" => HashPolicy::argon2id(
            p.argon2_memory_kib,
            p.argon2_iterations,
            p.argon2_parallelism,
        ),
        "bcrypt" => HashPolicy::bcrypt(p.bcrypt_cost),
        other => {
            return Err(StartError::Config(format!(
                "password_hash.algorithm '{other}': use argon2id or bcrypt"
            )));
        }
    }
    .and_then(|policy| policy.with_limits(p.limits))
    .map_err(|e| StartError::Config(format!("password_hash: {e}")))
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    // Authentication first (the outer layer): a request without a valid
    // token is answered 401 before it can count against anyone's limit.
    let management = routes::management_router()
        .layer(from_fn_with_state(state.clone(), rate_limit::limit))
        .layer(from_fn_with_state(state.clone(), auth::management));
    Router::new()
        // Readable without a token: more specific than the nested router's catch-all.
        .route(
            "/api/v2/openapi.json",
            axum::routing::get(crate::openapi::document),
        )
        .route("/healthz", axum::routing::get(ops::healthz))
        .route("/readyz", axum::routing::get(ops::readyz))
        .nest("/api/v2", management)
        .merge(routes::public_router())
        .merge(crate::console::router())
        .fallback(routes::not_found)
        // Browser calls to the token, revoke and userinfo endpoints.
        .layer(from_fn_with_state(state.clone(), crate::cors::layer))
        // On https, cookies set before the `__Host-` names moved to them.
        .layer(from_fn_with_state(
            state.clone(),
            crate::cookie_moves::layer,
        ))
        // HSTS on every answer of an https public URL.
        .layer(from_fn_with_state(
            state.clone(),
            crate::strict_transport::layer,
        ))
        // Applied per route (after routing), so the log line names the route.
        .layer(from_fn_with_state(state.clone(), ops::request_log))
        // Bodies are read by our own extractors, which enforce the limit
        // with Auth0's 413; this outer cap only stops abuse early.
        .layer(DefaultBodyLimit::max(
            state.config.max_body_bytes.saturating_mul(2),
        ))
        .with_state(state)
}
