//! Prometheus metrics: what an operator watches during a migration and in
//! production — requests, logins by outcome and by how the user arrived,
//! first-login latency, password verification time by hash scheme, jobs and
//! import rows, and users by arrival source. Served as OpenMetrics text on a
//! listener of its own (`metrics.listen`), never on the public one: label
//! values name connections and schemes, which the internet need not see.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::AppState;

/// `method`, `route` (the route template, never values), `status`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// Route template, e.g. `/api/v2/users/{id}`.
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// `route`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// Route template.
    pub route: String,
}

/// `outcome` of a password login, and how the user `arrived` in Tern
/// (`lazy_login`, `bulk_import`, … for successes; `-` when no user was
/// authenticated).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoginLabels {
    /// `success`, `wrong_credentials`, `blocked`, `legacy_unavailable`, `error`.
    pub outcome: &'static str,
    /// The user's arrival source.
    pub arrived: &'static str,
}

/// `scheme` of a stored password hash (`none` without one).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SchemeLabels {
    /// Hash scheme name, e.g. `bcrypt`, `argon2id`, `phpass`.
    pub scheme: &'static str,
}

/// `type` and final `status` of a job.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// `users_import` or `users_export`.
    pub r#type: &'static str,
    /// `completed` or `failed`.
    pub status: &'static str,
}

/// `type` of a job.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobTypeLabels {
    /// `users_import` or `users_export`.
    pub r#type: &'static str,
}

/// `outcome` of an import row.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RowLabels {
    /// `inserted`, `updated`, `failed`.
    pub outcome: &'static str,
}

/// `connection` and arrival `source`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UserLabels {
    /// Connection name.
    pub connection: String,
    /// Arrival source.
    pub source: String,
}

/// `kind` of a refusal by a rate limit or an attack protection.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// `api_rate_limit`, `brute_force_block`, `suspicious_ip`,
    /// `legacy_lookup_budget`, `reset_requests`, `hash_pool_busy`.
    pub kind: &'static str,
}

/// `type` and current `status` of jobs.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobStateLabels {
    /// `users_import` or `users_export`.
    pub r#type: String,
    /// `waiting`, `pending`, `processing`, `completed`, `failed`.
    pub status: String,
}

/// `connection` (its name).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionLabels {
    /// Connection name.
    pub connection: String,
}

/// `connection` (its name) and `script` of a custom-database script call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScriptLabels {
    /// Connection name.
    pub connection: String,
    /// `login`, `get_user`, `create`, `verify`, `change_password`, `delete`, …
    pub script: &'static str,
}

/// A script call's labels and `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScriptCallLabels {
    /// Connection name.
    pub connection: String,
    /// Script name.
    pub script: &'static str,
    /// `ok`, `error` or `timeout`.
    pub outcome: &'static str,
}

/// The script metrics, handed to the script host (which has no `AppState`).
#[derive(Clone)]
pub struct ScriptMetrics {
    /// Calls by connection, script and outcome.
    pub calls: Family<ScriptCallLabels, Counter>,
    /// Call duration by connection and script, seconds.
    pub seconds: Family<ScriptLabels, Histogram>,
}

impl Default for ScriptMetrics {
    fn default() -> Self {
        Self {
            calls: Family::default(),
            seconds: Family::new_with_constructor(seconds_histogram as fn() -> _),
        }
    }
}

/// Every metric Tern keeps, registered once.
pub struct Metrics {
    registry: Registry,
    /// Requests by method, route and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Request latency by route, seconds.
    pub request_seconds: Family<RouteLabels, Histogram>,
    /// Password logins by outcome and arrival source.
    pub logins: Family<LoginLabels, Counter>,
    /// A user's first login through the legacy store (the migration itself),
    /// seconds.
    pub first_login_seconds: Histogram,
    /// Password verification by stored scheme, seconds.
    pub verify_seconds: Family<SchemeLabels, Histogram>,
    /// Jobs that ended, by type and status.
    pub jobs: Family<JobLabels, Counter>,
    /// Claims of jobs by this instance's runners (more claims than jobs:
    /// jobs taken over after a runner died or stalled).
    pub job_claims: Family<JobTypeLabels, Counter>,
    /// Import rows applied by this instance, by outcome.
    pub import_rows: Family<RowLabels, Counter>,
    /// Users by connection and arrival source (refreshed periodically).
    pub users: Family<UserLabels, Gauge>,
    /// Requests refused by a rate limit or an attack protection, by kind.
    pub refusals: Family<RefusalLabels, Counter>,
    /// Jobs of the tenant by type and current status (read from the store
    /// at each scrape: every instance reports the same shared numbers).
    pub jobs_by_state: Family<JobStateLabels, Gauge>,
    /// 1 while an HTTP connector's circuit to its legacy API is open (or
    /// half-open: cooled down, waiting for a call to succeed), else 0; by
    /// connection, this instance's view.
    pub legacy_circuits: Family<ConnectionLabels, Gauge>,
    /// Custom-database script calls and their duration.
    scripts: ScriptMetrics,
}

fn seconds_histogram() -> Histogram {
    // 1 ms … ~33 s: a cached lookup up to a legacy store at its timeout.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tern");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds =
            Family::<RouteLabels, Histogram>::new_with_constructor(seconds_histogram as fn() -> _);
        let logins = Family::<LoginLabels, Counter>::default();
        let first_login_seconds = seconds_histogram();
        let verify_seconds =
            Family::<SchemeLabels, Histogram>::new_with_constructor(seconds_histogram as fn() -> _);
        let jobs = Family::<JobLabels, Counter>::default();
        let job_claims = Family::<JobTypeLabels, Counter>::default();
        let import_rows = Family::<RowLabels, Counter>::default();
        let users = Family::<UserLabels, Gauge>::default();
        let refusals = Family::<RefusalLabels, Counter>::default();
        let jobs_by_state = Family::<JobStateLabels, Gauge>::default();
        let legacy_circuits = Family::<ConnectionLabels, Gauge>::default();
        let scripts = ScriptMetrics::default();
        registry.register(
            "script_calls",
            "Custom-database script calls by connection, script and outcome",
            scripts.calls.clone(),
        );
        registry.register(
            "script_call_duration_seconds",
            "Custom-database script call duration by connection and script",
            scripts.seconds.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            request_seconds.clone(),
        );
        registry.register(
            "logins",
            "Password logins by outcome and by how the user arrived in Tern",
            logins.clone(),
        );
        registry.register(
            "first_login_duration_seconds",
            "Lazy migrations: a user's first login through the legacy store, stored in Tern",
            first_login_seconds.clone(),
        );
        registry.register(
            "password_verify_duration_seconds",
            "Password verification by stored hash scheme",
            verify_seconds.clone(),
        );
        registry.register("jobs", "Jobs that ended, by type and status", jobs.clone());
        registry.register(
            "job_claims",
            "Jobs claimed by this instance's runners, by type",
            job_claims.clone(),
        );
        registry.register(
            "import_rows",
            "Import rows applied by this instance, by outcome",
            import_rows.clone(),
        );
        registry.register(
            "users",
            "Users by connection and by how they arrived (refreshed every metrics.users_refresh_secs)",
            users.clone(),
        );
        registry.register(
            "refusals",
            "Requests refused by a rate limit or an attack protection, by kind",
            refusals.clone(),
        );
        registry.register(
            "jobs_by_state",
            "Jobs by type and current status, read from the store at each scrape",
            jobs_by_state.clone(),
        );
        registry.register(
            "legacy_circuit_open",
            "1 while a connection's HTTP connector circuit is open or half-open (this instance)",
            legacy_circuits.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            logins,
            first_login_seconds,
            verify_seconds,
            jobs,
            job_claims,
            import_rows,
            users,
            refusals,
            jobs_by_state,
            legacy_circuits,
            scripts,
        }
    }
}

impl Metrics {
    /// The script metrics, for the script host.
    pub fn scripts(&self) -> ScriptMetrics {
        self.scripts.clone()
    }

    /// Count one refusal of `kind` (a fixed name, never user data).
    pub fn refused(&self, kind: &'static str) {
        self.refusals.get_or_create(&RefusalLabels { kind }).inc();
    }

    /// The counter of refusals of `kind`, for a part that counts its own
    /// (the hash pool).
    pub fn refusal_counter(&self, kind: &'static str) -> Counter {
        self.refusals.get_or_create(&RefusalLabels { kind }).clone()
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// `GET /metrics` on the metrics listener.
pub async fn scrape(State(s): State<AppState>) -> Response {
    refresh_job_states(&s).await;
    let mut resp = s.metrics.encode().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

/// Set the `jobs_by_state` gauge from the store. A status no job has any
/// more reads 0 rather than keeping its last count.
async fn refresh_job_states(s: &AppState) {
    let counts = match s.store.count_jobs_by_state(s.tid()).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "job counts for metrics");
            return;
        }
    };
    for kind in ["users_import", "users_export"] {
        for status in ["waiting", "pending", "processing", "completed", "failed"] {
            let n = counts
                .iter()
                .find(|(t, st, _)| t == kind && st == status)
                .map_or(0, |c| c.2);
            let labels = JobStateLabels {
                r#type: kind.to_string(),
                status: status.to_string(),
            };
            s.metrics
                .jobs_by_state
                .get_or_create(&labels)
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
}

/// Keep the `users` gauge current: every `metrics.users_refresh_secs`, the
/// store's per-connection counts by arrival source (the migration report's
/// query). Runs only when metrics are served.
pub async fn refresh_users(s: AppState) {
    let period = Duration::from_secs(s.config.metrics.users_refresh_secs.max(1));
    let mut every = tokio::time::interval(period);
    loop {
        every.tick().await;
        let Ok(connections) = s.store.list_connections(s.tid()).await else {
            continue;
        };
        for c in connections {
            match s.store.migration_stats(s.tid(), &c.id).await {
                Ok(stats) => {
                    for src in stats.sources {
                        let labels = UserLabels {
                            connection: c.name.clone(),
                            source: src.source,
                        };
                        s.metrics
                            .users
                            .get_or_create(&labels)
                            .set(i64::try_from(src.users).unwrap_or(i64::MAX));
                    }
                }
                Err(e) => {
                    tracing::warn!(connection = %c.name, error = %e, "user counts for metrics")
                }
            }
        }
    }
}
