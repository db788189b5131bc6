//! Password login: the one path every front end that takes a password uses
//! (the password and password-realm grants of `POST /oauth/token`, the hosted
//! login page). It finds the connection's user, verifies the password — or,
//! for a user Tern cannot verify yet, asks the legacy store and migrates the
//! user (`lazy`) — refuses blocked users, records the login and writes the
//! tenant log. Token issuance is the caller's next step (`tokens`), taken
//! while the login's record is being written ([`Recording`]).

use axum::http::StatusCode;
use tern_core::CoreError;
use tern_core::attack_protection::BruteForceProtection;
use tern_core::clock::now_iso;
use tern_core::ip_throttling::{SuspiciousIpThrottling, ThrottleStage};
use tern_core::login::{Verdict, verify_password};
use tern_core::login_transaction::DeferredLoginRecord;
use tern_core::model::{Client, Connection, LogEvent, User};
use tern_core::store::LoginName;
use tern_hash::StoredHash;

use crate::brute_force;
use crate::error::OAuthError;
use crate::hash_pool::{Lane, PoolError};
use crate::ip_attempts::Presence as IpPresence;
use crate::ip_throttling;
use crate::legacy_budget;
use crate::metrics::{LoginLabels, SchemeLabels};
use crate::state::AppState;

/// One password login attempt.
pub struct PasswordLogin<'a> {
    /// The application the user signs in to.
    pub client: &'a Client,
    /// The database connection the credentials belong to.
    pub connection: &'a Connection,
    /// What the user typed as their identifier (email or username).
    pub username: &'a str,
    /// What the user typed as their password.
    pub password: &'a str,
    /// The end user's address, as far as Tern can tell.
    pub ip: &'a str,
    /// What the login reads before the password, when the caller has read
    /// it already ([`BeforePassword::new`]); `None`: the login reads it.
    pub read_ahead: Option<BeforePassword>,
}

/// What a login reads before it looks at the password: both protections'
/// settings, the address's throttle and the user. Only the user depends on
/// the connection, and it can be found by the connection's name, so a caller
/// that knows only the name reads all of it with the connection (the token
/// endpoint's `password_grant::read_ahead`).
pub struct BeforePassword {
    /// The address the throttle was read for.
    ip: String,
    throttling: SuspiciousIpThrottling,
    brute_force: BruteForceProtection,
    /// The address's throttle (`ip_throttle` at the pre-login stage).
    tat: Option<i64>,
    user: Option<User>,
    /// This login on its address's bucket since before `tat` was read
    /// ([`ip_throttling::before_read`]).
    presence: IpPresence,
}

impl BeforePassword {
    /// What a caller read ahead for a login from `ip` (the user by the
    /// connection's name, as `find_user` finds it by the connection's id);
    /// `presence` taken before the read.
    pub fn new(
        ip: &str,
        throttling: SuspiciousIpThrottling,
        brute_force: BruteForceProtection,
        tat: Option<i64>,
        user: Option<User>,
        presence: IpPresence,
    ) -> Self {
        BeforePassword {
            ip: ip.to_string(),
            throttling,
            brute_force,
            tat,
            user,
            presence,
        }
    }
}

/// Why a password login did not produce a user. Every variant is already in
/// the tenant log when it is returned.
#[derive(Debug)]
pub enum LoginFailure {
    /// Unknown user, wrong password, or a user without a usable credential:
    /// one answer for all, so the response does not reveal which.
    WrongCredentials,
    /// The user exists and the password is right, but the user is blocked.
    Blocked,
    /// Brute-force protection blocks this user from this address (Auth0's
    /// `too_many_attempts`); the password was not looked at.
    TooManyAttempts,
    /// Suspicious-IP throttling refuses this address (too many failed
    /// logins across users; Auth0's `too_many_attempts`, `limit_mu`).
    SuspiciousIp,
    /// More than Auth0's 20 attempts a minute for this user from this
    /// address; the password was not looked at.
    TooManyRequests,
    /// The address spent its budget of failed legacy lookups for unknown
    /// users this minute (`legacy_budget`); nothing was asked.
    LegacyBudget,
    /// The hashing pool and its queue are full: nothing was checked.
    Busy,
    /// The legacy store could not answer; nothing was stored.
    LegacyUnavailable,
    /// A server-side failure (storage, a task that died); details are in the
    /// server log.
    Internal,
}

impl LoginFailure {
    /// The `outcome` label of the logins metric.
    fn as_label(&self) -> &'static str {
        match self {
            Self::WrongCredentials => "wrong_credentials",
            Self::Blocked => "blocked",
            Self::TooManyAttempts => "too_many_attempts",
            Self::SuspiciousIp => "suspicious_ip",
            Self::TooManyRequests => "too_many_requests",
            Self::LegacyBudget => "legacy_budget",
            Self::Busy => "busy",
            Self::LegacyUnavailable => "legacy_unavailable",
            Self::Internal => "error",
        }
    }
}

impl From<CoreError> for LoginFailure {
    fn from(e: CoreError) -> Self {
        tracing::error!(error = %e, "login failed on a store error");
        Self::Internal
    }
}

/// Auth0's answer to an attempt brute-force protection refuses.
pub const TOO_MANY_ATTEMPTS: &str = "Your account has been blocked after multiple consecutive login attempts. We've sent you an email with instructions on how to unblock it.";

impl From<PoolError> for LoginFailure {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Busy => Self::Busy,
            PoolError::Failed => Self::Internal,
        }
    }
}

impl From<brute_force::Refusal> for LoginFailure {
    fn from(r: brute_force::Refusal) -> Self {
        match r {
            brute_force::Refusal::Blocked => Self::TooManyAttempts,
            brute_force::Refusal::TooFast => Self::TooManyRequests,
        }
    }
}

impl From<LoginFailure> for OAuthError {
    fn from(f: LoginFailure) -> Self {
        match f {
            LoginFailure::WrongCredentials => OAuthError::new(
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "Wrong email or password.",
            ),
            LoginFailure::Blocked => {
                OAuthError::new(StatusCode::UNAUTHORIZED, "unauthorized", "user is blocked")
            }
            LoginFailure::TooManyAttempts => OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                TOO_MANY_ATTEMPTS,
            ),
            LoginFailure::SuspiciousIp => crate::ip_throttling::Throttled.into(),
            LoginFailure::TooManyRequests => OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Too many login attempts for this user from this address; try again in a minute.",
            ),
            LoginFailure::LegacyBudget => OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                crate::legacy_budget::MESSAGE,
            ),
            LoginFailure::Busy => OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The server is busy; try again in a moment.",
            ),
            LoginFailure::LegacyUnavailable => OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The legacy user store could not verify the credentials; try again later.",
            ),
            LoginFailure::Internal => OAuthError::server_error(),
        }
    }
}

/// The connection a password login authenticates against: the named realm if
/// it is enabled for the client, else the client's only enabled connection.
pub async fn connection_for(
    s: &AppState,
    client: &Client,
    realm: Option<&str>,
) -> Result<Connection, OAuthError> {
    let enabled = |c: &Connection| enabled_for(client, c);
    match realm {
        Some(name) => {
            let c = s.store.get_connection_by_name(s.tid(), name).await?;
            realm_for(client, name, c)
        }
        None => {
            let mut all: Vec<Connection> = s
                .store
                .list_connections(s.tid())
                .await?
                .into_iter()
                .filter(enabled)
                .collect();
            if all.len() == 1 {
                Ok(all.remove(0))
            } else {
                // Auth0 answers 500 here; a missing realm is the caller's to fix, so Tern says 400.
                Err(OAuthError::invalid_request(
                    "Authorization server not configured with default connection: pass 'realm' (the connection name).",
                ))
            }
        }
    }
}

/// The connection called `name` (as read by its name), if the client may
/// log users in to it; else Auth0's answer for a realm it may not use.
pub fn realm_for(
    client: &Client,
    name: &str,
    connection: Option<Connection>,
) -> Result<Connection, OAuthError> {
    connection
        .filter(|c| enabled_for(client, c))
        .ok_or_else(|| {
            OAuthError::invalid_request(format!(
                "The connection '{name}' does not exist or is not enabled for this client."
            ))
        })
}

fn enabled_for(client: &Client, connection: &Connection) -> bool {
    connection
        .enabled_clients
        .iter()
        .any(|id| id == &client.client_id)
}

/// Authenticate a user by password on a connection; the user and the
/// login's record (`last_login`, `logins_count`, a credential upgraded to the
/// current policy, the log event) for the caller to await, or why not.
pub async fn password_login(s: &AppState, a: PasswordLogin<'_>) -> Result<Verified, LoginFailure> {
    let outcome = authenticate(s, a).await;
    let labels = match &outcome {
        Ok(v) => LoginLabels {
            outcome: "success",
            arrived: v.user.source.as_str(),
        },
        Err(f) => LoginLabels {
            outcome: f.as_label(),
            arrived: "-",
        },
    };
    s.metrics.logins.get_or_create(&labels).inc();
    outcome
}

/// A login whose password was right: the user as read before the login,
/// and the login's record, still being written.
#[derive(Debug)]
pub struct Verified {
    /// The user that logged in.
    pub user: User,
    /// Await before answering.
    pub recording: Recording,
}

/// A verified login's writes (`UserStore::record_login`: the user's last
/// login, a rehashed password, forgotten failures, the tenant log's event),
/// not yet sent. The caller polls [`Recording::finished`] first and signs
/// its tokens — an RSA signature, about a quarter of a millisecond — in
/// the same `join!`, so the signature is made during the store's round trip
/// instead of after it; it answers once both are done, so an answered login
/// is a recorded one. (Not `tokio::spawn`: a task spawned from a worker
/// waits in that worker's next-task slot, which no other worker takes,
/// until the spawning task yields — after the signature.)
///
/// The hosted pages instead keep it in the login transaction
/// ([`Recording::deferred`]) until the login finishes.
#[must_use = "a login's record is awaited before the answer"]
pub struct Recording {
    state: AppState,
    user_id: String,
    record: DeferredLoginRecord,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recording")
    }
}

impl Recording {
    /// Once the login's writes are in.
    pub async fn finished(self) -> Result<(), LoginFailure> {
        self.state
            .store
            .record_login(self.state.tid(), &self.record.for_user(&self.user_id))
            .await
            .map_err(LoginFailure::from)
    }

    /// The writes, unsent, for a login transaction (or an `mfa_token`) to
    /// hold until the login finishes (`/authorize/resume`, the `mfa-otp`
    /// grant).
    pub fn deferred(self) -> DeferredLoginRecord {
        self.record
    }

    /// The record an `mfa_token` held, for the `mfa-otp` grant that
    /// finishes its login. Its event gets a new id and date: one token may
    /// finish more than one login within its lifetime, each a login of its
    /// own in the log.
    pub fn resumed(state: &AppState, user_id: &str, mut record: DeferredLoginRecord) -> Self {
        record.event.stamp_now();
        Recording {
            state: state.clone(),
            user_id: user_id.to_string(),
            record,
        }
    }
}

async fn authenticate(s: &AppState, mut a: PasswordLogin<'_>) -> Result<Verified, LoginFailure> {
    let read = match a.read_ahead.take() {
        // Read by the connection's name beside the connection itself: kept
        // unless the name passed to another connection between the reads
        // (or the caller read for another address).
        Some(read)
            if read.ip == a.ip
                && read
                    .user
                    .as_ref()
                    .is_none_or(|u| u.connection_id == a.connection.id) =>
        {
            read
        }
        _ => before_password(s, a.ip, find_user(s, &a)).await?,
    };
    let BeforePassword {
        ip: _,
        throttling,
        brute_force,
        tat,
        user,
        presence,
    } = read;
    let stage = ThrottleStage::PreLogin;
    // Suspicious-IP throttling first: an address that failed too many logins
    // across users costs no hash (and no legacy lookup).
    let lane = ip_throttling::judge(s, &throttling, stage, a.ip, tat)
        .map_err(|_| LoginFailure::SuspiciousIp)?;
    // Counted first: comparisons racing from one address are reserved in
    // the bucket before any is made (see `ip_attempts`).
    let reserved = ip_throttling::reserve(s, &throttling, a.ip, tat, &presence)
        .await
        .map_err(|_| LoginFailure::SuspiciousIp)?;
    let ip = a.ip;
    let outcome = authenticate_user(s, &throttling, brute_force, lane, user, a).await;
    if matches!(outcome, Err(LoginFailure::WrongCredentials)) {
        ip_throttling::count_failure(s, &throttling, ip, reserved).await?;
    }
    outcome
}

/// The connection's user the typed identifier names (see [`login_name`]).
async fn find_user(s: &AppState, a: &PasswordLogin<'_>) -> tern_core::CoreResult<Option<User>> {
    // Emails are stored composed and lower-cased; a username is looked up
    // as typed, then lower-cased (the store folds it, see `LoginName`).
    let lowered = tern_core::user_profile::normalize_email(a.username.trim());
    let id = &a.connection.id;
    match login_name(a.username, &lowered) {
        LoginName::Email(email) => s.store.get_user_by_email(s.tid(), id, email).await,
        LoginName::Username(name) => s.store.get_user_by_username(s.tid(), id, name).await,
    }
}

/// How a typed identifier names its user: by email, compared lower-cased
/// (`lowered`), when it has an `@`; else by username as typed, trimmed
/// (found as spelled, else lower-cased, see [`LoginName::Username`]). The
/// one rule for both ways a login finds its user.
pub fn login_name<'a>(typed: &'a str, lowered: &'a str) -> LoginName<'a> {
    if lowered.contains('@') {
        LoginName::Email(lowered)
    } else {
        LoginName::Username(typed.trim())
    }
}

/// Everything the checks before the password need, read at once (a
/// login's latency is mostly round trips), with `user` the read of the user.
async fn before_password(
    s: &AppState,
    ip: &str,
    user: impl Future<Output = tern_core::CoreResult<Option<User>>>,
) -> tern_core::CoreResult<BeforePassword> {
    let throttle_bucket = tern_core::ip_throttling::bucket(ip);
    let presence = ip_throttling::before_read(s, ip);
    let (throttling, brute_force, tat, user) = tokio::try_join!(
        ip_throttling::settings(s),
        brute_force::settings(s),
        s.store
            .ip_throttle(s.tid(), ThrottleStage::PreLogin.as_str(), &throttle_bucket),
        user
    )?;
    Ok(BeforePassword::new(
        ip,
        throttling,
        brute_force,
        tat,
        user,
        presence,
    ))
}

async fn authenticate_user(
    s: &AppState,
    throttling: &SuspiciousIpThrottling,
    brute_force: BruteForceProtection,
    lane: Lane,
    user: Option<User>,
    a: PasswordLogin<'_>,
) -> Result<Verified, LoginFailure> {
    // An address that spent its legacy lookups is refused before the
    // legacy store is asked, whoever it names (see `legacy_budget`).
    if legacy_budget::exhausted(s, throttling, a.connection, a.ip).await? {
        return Err(LoginFailure::LegacyBudget);
    }
    let mut ev = LogEvent::new("f", "");
    ev.client_id = Some(a.client.client_id.clone());
    ev.client_name = Some(a.client.name.clone());
    ev.ip = Some(a.ip.to_string());
    ev.user_name = Some(a.username.to_string());
    ev.connection = Some(a.connection.name.clone());
    ev.connection_id = Some(a.connection.id.clone());
    ev.user_id = user.as_ref().map(|u| u.user_id.clone());
    // Lazy migration: a user Tern does not know (or knows without a password)
    // is checked against the legacy store, and stored on success; with
    // import mode off the legacy store checks every login.
    let consults = crate::lazy::consults_legacy(s, a.connection, user.as_ref());
    // Brute-force protection: only users that exist are counted and blocked
    // (one the legacy store has but Tern not yet, under its identifier).
    let known = user.clone();
    // Attempts on one counter take turns (check, compare, count), so wrong
    // passwords racing for one user cannot all pass the check before the
    // first failure is counted. Held until this attempt is judged.
    let _turn = brute_force::take_turn(
        s,
        &brute_force,
        a.connection,
        known.as_ref(),
        consults,
        a.username,
        a.ip,
    )
    .await?;
    let attempt = async {
        match &known {
            Some(u) => {
                brute_force::before_attempt(s, brute_force, a.connection, u, a.username, a.ip)
                    .await?
                    .map_err(LoginFailure::from)
            }
            None if consults => {
                brute_force::before_legacy_attempt(s, brute_force, a.connection, a.username, a.ip)
                    .await?
                    .map_err(LoginFailure::from)
            }
            None => Ok(None),
        }
    };
    let (guard, verified) = if consults {
        let guard = attempt.await?;
        let started = std::time::Instant::now();
        let migrates = !crate::legacy_ops::authoritative(s, a.connection);
        let unknown = user.is_none();
        let user = crate::lazy::login(s, a.connection, user, a.username, a.password, &mut ev).await;
        if unknown
            && matches!(
                user,
                Err(LoginFailure::WrongCredentials | LoginFailure::LegacyUnavailable)
            )
        {
            legacy_budget::spend(s, throttling, a.connection, a.ip).await?;
        }
        if migrates && user.is_ok() {
            s.metrics
                .first_login_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        (guard, user.map(|u| (u, None)))
    } else {
        let verdict = hash_verdict(s, lane, user.as_ref(), a.password);
        // The attempt's round trip and the verification overlap when a
        // hashing thread is idle and the address clean, so the speculative
        // hash delays no other login and serves no address with recent
        // failures. A refused attempt drops the verification unread (a
        // job not yet started is skipped): the answer, the logs and the
        // counts are those of a refusal before any hash.
        let (guard, verdict) =
            if known.is_some() && lane == Lane::Clean && s.hash_pool.has_idle_thread() {
                tokio::try_join!(attempt, verdict)?
            } else {
                let guard = attempt.await?;
                (guard, verdict.await?)
            };
        (guard, judge_verdict(s, verdict, user, &mut ev).await)
    };
    let (user, rehash) = match (verified, &guard, &known) {
        (Ok(v), _, _) => v,
        (Err(LoginFailure::WrongCredentials), Some(guard), Some(known)) => {
            brute_force::failed(s, guard, a.client, a.connection, Some(known)).await?;
            return Err(LoginFailure::WrongCredentials);
        }
        // A legacy user not stored yet counts only when the legacy store
        // said the password was wrong for a user it has (`fp`, see
        // `lazy::login`); an unknown identifier (`fu`) counts nothing.
        (Err(LoginFailure::WrongCredentials), Some(guard), None) if ev.kind == "fp" => {
            brute_force::failed(s, guard, a.client, a.connection, None).await?;
            return Err(LoginFailure::WrongCredentials);
        }
        (Err(e), _, _) => return Err(e),
    };
    if let Some(guard) = guard.as_ref().filter(|g| g.is_legacy()) {
        brute_force::legacy_succeeded(s, guard).await?;
    }
    // A user the legacy store just gave Tern was unknown when the event
    // began: it names them now, so their first login is in their history.
    ev.user_id = Some(user.user_id.clone());
    if user.blocked {
        ev.description = Some("user is blocked".into());
        s.log(ev).await;
        return Err(LoginFailure::Blocked);
    }
    ev.kind = "s".into();
    ev.description = Some(
        if rehash.is_some() {
            "Success Login (password upgraded to the current hash policy)"
        } else {
            "Success Login"
        }
        .into(),
    );
    // One round trip for the login's writes (see `UserStore::record_login`).
    let recording = Recording {
        state: s.clone(),
        user_id: user.user_id.clone(),
        record: DeferredLoginRecord {
            at: now_iso(),
            ip: Some(a.ip.to_string()),
            replaces_credential: rehash.as_ref().and_then(|_| user.credential.clone()),
            new_credential: rehash,
            forget_failures_from: guard.as_ref().map(|g| g.counting_ip().to_string()),
            event: ev,
        },
    };
    Ok(Verified { user, recording })
}

/// Verify the password against the stored credential, off the async
/// runtime (hashing is CPU-bound). Nothing is written or logged here: the
/// verdict may be discarded (see `authenticate_user`).
async fn hash_verdict(
    s: &AppState,
    lane: Lane,
    user: Option<&User>,
    password: &str,
) -> Result<Verdict, LoginFailure> {
    let state = s.clone();
    let check = user.cloned();
    let password = password.to_string();
    s.hash_pool
        .run_in(lane, move || {
            let started = std::time::Instant::now();
            let verdict = verify_password(check.as_ref(), &password, &state.policy);
            let scheme = check
                .as_ref()
                .and_then(|u| u.credential.as_deref())
                .and_then(|c| StoredHash::parse(c).ok())
                .map_or("none", |h| h.scheme().name());
            state
                .metrics
                .verify_seconds
                .get_or_create(&SchemeLabels { scheme })
                .observe(started.elapsed().as_secs_f64());
            verdict
        })
        .await
        .map_err(LoginFailure::from)
}

/// What a verdict means for the login: the user and, when the stored hash
/// is not under the current policy, its replacement; or the failure,
/// logged.
async fn judge_verdict(
    s: &AppState,
    verdict: Verdict,
    user: Option<User>,
    ev: &mut LogEvent,
) -> Result<(User, Option<String>), LoginFailure> {
    let (kind, description) = match verdict {
        Verdict::Valid { rehash } => return Ok((user.ok_or(LoginFailure::Internal)?, rehash)),
        Verdict::UnknownUser => ("fu", "Wrong email or password.".to_string()),
        Verdict::NoCredential => (
            "fp",
            "Password change required: the user has no password yet".to_string(),
        ),
        Verdict::WrongPassword => ("fp", "Wrong email or password.".to_string()),
        Verdict::OverCostLimit(over) => {
            tracing::warn!(user_id = ?ev.user_id, %over, "stored password hash over the cost limits");
            (
                "f",
                format!(
                    "Password not verified: {over}; raise that setting to let this user log in, or have the user reset the password"
                ),
            )
        }
        Verdict::UnreadableCredential(why) => {
            tracing::error!(user_id = ?ev.user_id, %why, "stored credential cannot be parsed");
            ("f", format!("Stored credential cannot be read: {why}"))
        }
    };
    ev.kind = kind.into();
    ev.description = Some(description);
    s.log(ev.clone()).await;
    Err(LoginFailure::WrongCredentials)
}
