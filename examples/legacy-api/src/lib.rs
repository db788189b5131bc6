//! An example legacy user system: the API a customer puts in front of its old
//! user database so that Tern can migrate the users (see the README section
//! "Move a legacy app's users to Tern").
//!
//! - `POST /login` `{"username", "password"}` (email or username) → the
//!   profile, or 401 `{"error": "wrong_credentials"}`; scope `read:users`.
//! - `GET /users?email=` → the profile, or 404; scope `read:users`.
//! - `POST /users/{id}/migrated` → 204, or 404; scope `migrate:users`.
//!
//! Every endpoint takes only Tern-issued machine tokens (see [`tokens`]).
//! Token refusals carry `WWW-Authenticate: Bearer error="invalid_token"` (401)
//! or `error="insufficient_scope"` (403), so a caller can tell a refused token
//! from refused credentials.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

pub mod export;
pub mod passwords;
pub mod store;
pub mod tokens;

use store::LegacyDb;
use tokens::{Refusal, Verifier};

/// Scope of `POST /login` and `GET /users`.
pub const READ_SCOPE: &str = "read:users";
/// Scope of `POST /users/{id}/migrated`.
pub const MIGRATE_SCOPE: &str = "migrate:users";

/// How to run the service.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address (`127.0.0.1:0` picks a port).
    pub listen: String,
    /// Tern's issuer, exactly as in its tokens' `iss` (e.g. `http://127.0.0.1:8080/`).
    pub issuer: String,
    /// Where Tern's keys are; default `<issuer>.well-known/jwks.json`.
    pub jwks_url: Option<String>,
    /// The audience: the identifier of the API registered in Tern.
    pub audience: String,
    /// The SQLite file (created and seeded when absent).
    pub db_path: PathBuf,
    /// Clock skew tolerated on `exp`, seconds.
    pub leeway_secs: u64,
}

struct App {
    db: LegacyDb,
    verifier: Verifier,
}

/// A running service.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    db: LegacyDb,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stop: no new connections, idle keep-alive connections closed,
    /// in-flight requests get two seconds; then the database is closed.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(());
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
        self.db.close().await;
    }
    /// Wait until the server ends.
    pub async fn wait(self) -> std::io::Result<()> {
        let _keep = self.shutdown;
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Open the database (seeding it on first start), bind, serve in the background.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let db = LegacyDb::open(&config.db_path).await?;
    let jwks_url = config
        .jwks_url
        .clone()
        .unwrap_or_else(|| format!("{}.well-known/jwks.json", with_slash(&config.issuer)));
    let app = Arc::new(App {
        db: db.clone(),
        verifier: Verifier::new(
            config.issuer.clone(),
            config.audience.clone(),
            jwks_url,
            config.leeway_secs,
        ),
    });
    let listener = tokio::net::TcpListener::bind(&config.listen).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let router = router(app);
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    Ok(Running {
        addr,
        db,
        shutdown: tx,
        task,
    })
}

fn with_slash(s: &str) -> String {
    if s.ends_with('/') {
        s.to_string()
    } else {
        format!("{s}/")
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/users", axum::routing::get(get_user))
        .route("/users/{id}/migrated", post(migrated))
        .with_state(app)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": code, "message": message}))).into_response()
}

fn refusal(r: Refusal) -> Response {
    let (status, challenge, msg) = match &r {
        Refusal::Invalid(m) => (StatusCode::UNAUTHORIZED, "invalid_token", m),
        Refusal::Scope(m) => (StatusCode::FORBIDDEN, "insufficient_scope", m),
        Refusal::KeysUnavailable(m) => {
            tracing::error!("cannot verify tokens: {m}");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "keys_unavailable",
                "Tern's signing keys cannot be fetched; try again later.",
            );
        }
    };
    tracing::info!("token refused: {msg}");
    let mut resp = error(status, challenge, msg);
    let value = format!("Bearer error=\"{challenge}\", error_description=\"{msg}\"");
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

async fn authorize(app: &App, headers: &HeaderMap, scope: &str) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .ok_or_else(|| refusal(Refusal::Invalid("a bearer token is required".into())))?;
    app.verifier
        .verify(token, scope)
        .await
        .map(|_| ())
        .map_err(refusal)
}

fn db_error(e: sqlx::Error) -> Response {
    tracing::error!("database: {e}");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "database_error",
        "The user database failed.",
    )
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

async fn login(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = authorize(&app, &headers, READ_SCOPE).await {
        return r;
    }
    let Ok(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Send JSON {\"username\": \"…\", \"password\": \"…\"}.",
        );
    };
    let user = match app.db.find_login(&body.username).await {
        Ok(u) => u,
        Err(e) => return db_error(e),
    };
    let checked = tokio::task::spawn_blocking(move || match user {
        Some(u) => passwords::verify(&u, &body.password).then_some(u),
        None => {
            passwords::burn();
            None
        }
    })
    .await;
    match checked {
        Ok(Some(u)) => Json(u.profile()).into_response(),
        Ok(None) => error(
            StatusCode::UNAUTHORIZED,
            "wrong_credentials",
            "Wrong email or password.",
        ),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Verification failed.",
        ),
    }
}

#[derive(Deserialize)]
struct EmailQuery {
    email: Option<String>,
}

async fn get_user(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    q: Result<Query<EmailQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = authorize(&app, &headers, READ_SCOPE).await {
        return r;
    }
    let Some(email) = q
        .ok()
        .and_then(|Query(q)| q.email)
        .filter(|e| !e.is_empty())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "The email query parameter is required.",
        );
    };
    match app.db.find_email(&email).await {
        Ok(Some(u)) => Json(u.profile()).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "not_found", "No such user."),
        Err(e) => db_error(e),
    }
}

async fn migrated(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&app, &headers, MIGRATE_SCOPE).await {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return error(StatusCode::NOT_FOUND, "not_found", "No such user.");
    };
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    match app.db.mark_migrated(id, &now).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "not_found", "No such user."),
        Err(e) => db_error(e),
    }
}
