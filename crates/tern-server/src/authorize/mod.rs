//! The browser sign-in flow behind `/authorize`, the hosted pages and
//! `/authorize/resume`:
//!
//! ```text
//! /authorize ──(session good for this request)──────────────► code to the app
//!     │ (else) login transaction + its cookie
//!     ▼
//! /u/login?state=T ──(password, via login::password_login)──► step Authenticated
//!     ▼
//! /authorize/resume?state=T ──► new session + cookie, code ──► the app
//! ```
//!
//! `request` checks the parameters, `response` is what goes back. The
//! transaction cookie binds a transaction to the browser that started it:
//! every hosted-page POST and the resume check it, so a form submitted from
//! another site (login CSRF) or a `state` copied to another browser gets
//! nowhere. A step between the password and `Authenticated` (MFA) only has to
//! add a `TransactionStep`.

pub mod request;
pub mod response;

use axum::http::{HeaderMap, HeaderValue};
use tern_core::CoreResult;
use tern_core::login_transaction::{
    DeferredLoginRecord, LoginTransaction, Proven, TRANSACTION_LIFETIME_SECS, TransactionStep,
};
use tern_core::model::{Client, LogEvent, User};
use tern_core::sso::Session;

use self::request::{Checked, Rejection};
use self::response::AuthorizationResponse;
use crate::actions::{EventRequest, PausedActions, PostLoginRefusal, Redirecting};
use crate::cookies::{self, SameSite};
use crate::state::AppState;
use crate::{code_grant, entitlement, sessions};

/// What `/authorize` does next.
#[derive(Debug)]
pub enum Begin {
    /// Answer the application now (a session served the request, or
    /// `prompt=none` could not be satisfied).
    Respond(AuthorizationResponse),
    /// Show a hosted page: `location` with the transaction's cookie.
    Login {
        /// `/u/login?state=…` or `/u/signup?state=…`.
        location: String,
        /// The transaction cookie.
        cookie: HeaderValue,
    },
}

/// The cookie binding transaction `id` to one browser, by its plain name
/// (`cookies` adds `__Host-` on https).
pub fn transaction_cookie_name(id: &str) -> String {
    format!("tern_tx_{}", id.get(..16).unwrap_or(id))
}

/// Serve a checked `/authorize` request.
pub async fn begin(
    s: &AppState,
    headers: &HeaderMap,
    checked: Checked,
    ip: &str,
) -> Result<Begin, Rejection> {
    let Checked {
        client,
        request,
        prompt_none,
    } = checked;
    if !client.is_first_party {
        // A third-party application must be shown what it asks for; Tern
        // has no consent screen yet, so it does not sign users in to them.
        let error = if prompt_none {
            "consent_required"
        } else {
            "access_denied"
        };
        return Ok(Begin::Respond(AuthorizationResponse::error_for(
            &request,
            error,
            "Third-party applications need a consent screen, which Tern does not have.",
        )));
    }
    let session = sessions::current(s, headers).await?;
    let served = match &session {
        Some(sess) if !request.prompt_login => session_user(s, &client, &request, sess).await?,
        _ => None,
    };
    let mut step_up = None;
    if let (Some(sess), Some(user)) = (&session, served) {
        let mut next = if sess.amr.iter().any(|m| m == "mfa") {
            None
        } else {
            second_factor(s, &user).await?
        };
        if next.is_none() {
            let from = Requester { headers, ip };
            match serve_from_session(s, &client, &request, sess, &user, prompt_none, from).await? {
                Some(answer) => return Ok(answer),
                // A post-login action asked for a factor the session never
                // passed: the same step-up as the policy's.
                None => next = Some(factor_step(s, &user, None)),
            }
        }
        if let Some(next) = next {
            // Step-up: the session was opened with the password alone and a
            // second factor is now required (the user enrolled, the Guardian
            // policy turned on, or an action asks for it). The session
            // proves the password; the factor is still asked for before any
            // code is issued.
            if prompt_none {
                log(
                    s,
                    "fsa",
                    "Multifactor authentication required",
                    &client,
                    Some(&user),
                    ip,
                )
                .await;
                return Ok(Begin::Respond(AuthorizationResponse::error_for(
                    &request,
                    "interaction_required",
                    "Multifactor authentication required",
                )));
            }
            step_up = Some(next);
        }
    }
    if prompt_none {
        log(s, "fsa", "Login required", &client, None, ip).await;
        return Ok(Begin::Respond(AuthorizationResponse::error_for(
            &request,
            "login_required",
            "Login required",
        )));
    }
    if transactions_over_limit(s, ip).await? {
        return Ok(Begin::Respond(AuthorizationResponse::error_for(
            &request,
            "temporarily_unavailable",
            "Too many sign-ins were started from this address; try again in a minute.",
        )));
    }
    let id = tern_core::ids::ticket_token();
    let (step, location) = match step_up {
        Some((step, page)) => (step, format!("{page}?state={id}")),
        None if request.signup_first => (TransactionStep::Login, format!("/u/signup?state={id}")),
        None => (TransactionStep::Login, format!("/u/login?state={id}")),
    };
    let cookie = new_transaction(s, id, request, step).await?;
    Ok(Begin::Login { location, cookie })
}

/// Store a new transaction `id` at `step`: the cookie that binds it to
/// this browser.
async fn new_transaction(
    s: &AppState,
    id: String,
    request: tern_core::login_transaction::AuthorizationRequest,
    step: TransactionStep,
) -> CoreResult<HeaderValue> {
    let secret = tern_core::ids::ticket_token();
    let cookie = cookies::set(
        &s.public_url,
        &transaction_cookie_name(&id),
        &secret,
        Some(TRANSACTION_LIFETIME_SECS),
        SameSite::Lax,
    );
    let tx = LoginTransaction {
        id,
        cookie_hash: cookies::digest(&s.public_url, "", &secret),
        request,
        step,
        expires_at: s.now().saturating_add(TRANSACTION_LIFETIME_SECS),
    };
    s.store.insert_login_transaction(s.tid(), &tx).await?;
    Ok(cookie)
}

/// The `state` a post-login redirect of transaction `id` carries: the id
/// and a new nonce, so each redirect's `state` (and a session token bound
/// to it) continues that redirect only.
fn redirect_state(id: &str) -> String {
    format!("{id}.{}", tern_core::ids::ticket_token())
}

/// Count a new login transaction of `ip` in the current minute; whether it
/// is past `http.authorize_per_address_minute` (an IPv6 address counts in
/// its /64, as for suspicious-IP throttling). Each transaction is a row
/// kept for an hour before anyone signs in, so one address may not fill the
/// store. The first refusal of a minute is logged (`limit_mu`); the
/// suspicious-IP allowlist exempts an address (a known proxy or office).
async fn transactions_over_limit(s: &AppState, ip: &str) -> CoreResult<bool> {
    let limit = s.config.http.authorize_per_address_minute;
    if limit == 0 || crate::ip_throttling::settings(s).await?.allows(ip) {
        return Ok(false);
    }
    let now = s.now();
    let hits = s
        .store
        .hit_rate_window(
            s.tid(),
            "authorize_ip",
            &tern_core::ip_throttling::bucket(ip),
            now - now.rem_euclid(60),
        )
        .await?;
    if hits == limit + 1 {
        let mut ev = LogEvent::new(
            "limit_mu",
            format!(
                "{ip} started more than {limit} sign-ins at /authorize in a minute; further ones are refused until the minute ends"
            ),
        );
        ev.ip = Some(ip.to_string());
        ev.details = Some(serde_json::json!({"stage": "authorize"}));
        s.log(ev).await;
    }
    Ok(hits > limit)
}

/// Who sent an `/authorize` request: its headers and the client's address.
struct Requester<'a> {
    headers: &'a HeaderMap,
    ip: &'a str,
}

/// A code for the application straight from the SSO session, or `None`
/// when a post-login action requires a second factor the session has not
/// passed (the caller steps up).
async fn serve_from_session(
    s: &AppState,
    client: &Client,
    request: &tern_core::login_transaction::AuthorizationRequest,
    sess: &Session,
    user: &User,
    prompt_none: bool,
    Requester { headers, ip }: Requester<'_>,
) -> Result<Option<Begin>, Rejection> {
    // A redirecting action gets a transaction (none exists yet) to pause in.
    let id = tern_core::ids::ticket_token();
    let state = redirect_state(&id);
    let redirect = if prompt_none {
        Redirecting::Silent
    } else {
        Redirecting::Yes {
            state: &state,
            resume: None,
        }
    };
    let claims = match crate::actions::for_code(
        s,
        request,
        &user.user_id,
        (ip, headers),
        sess.auth_time,
        &sess.amr,
        redirect,
    )
    .await?
    {
        Ok(c) => c,
        Err(PostLoginRefusal::NeedsMfa) => return Ok(None),
        Err(PostLoginRefusal::Redirect(pause)) => {
            let step = TransactionStep::ActionRedirect {
                who: Proven {
                    user_id: user.user_id.clone(),
                    connection_id: user.connection_id.clone(),
                    auth_time: sess.auth_time,
                    amr: sess.amr.clone(),
                    record: None,
                },
                paused: Box::new(pause.paused),
            };
            let cookie = new_transaction(s, id, request.clone(), step).await?;
            return Ok(Some(Begin::Login {
                location: pause.location,
                cookie,
            }));
        }
        Err(PostLoginRefusal::InteractionRequired) => {
            return Ok(Some(Begin::Respond(AuthorizationResponse::error_for(
                request,
                "interaction_required",
                "Interaction required",
            ))));
        }
        Err(refusal) => {
            return Ok(Some(Begin::Respond(AuthorizationResponse::error_for(
                request,
                "access_denied",
                &refusal.description(),
            ))));
        }
    };
    // The session's methods (`mfa`) carry over to the ID token.
    let code = code_grant::issue_amr(
        s,
        request,
        &user.user_id,
        &sess.sid,
        sess.auth_time,
        &sess.amr,
        claims,
    )
    .await?;
    let seen = crate::client_ip::seen(ip, headers);
    sessions::record_use(s, sess, &client.client_id, &seen).await?;
    if prompt_none {
        log(s, "ssa", "Success Silent Auth", client, Some(user), ip).await;
    }
    Ok(Some(Begin::Respond(AuthorizationResponse::code(
        request, code,
    ))))
}

/// The session's user, when the session may answer this request: the user
/// still exists and is not blocked, belongs to a connection enabled for the
/// client (the requested one, if any), and authenticated recently enough
/// for `max_age`; a user created after the session began is a later user
/// with a reused id, never the session's.
async fn session_user(
    s: &AppState,
    client: &Client,
    request: &tern_core::login_transaction::AuthorizationRequest,
    session: &Session,
) -> CoreResult<Option<User>> {
    if let Some(max_age) = request.max_age
        && s.now().saturating_sub(session.auth_time) > max_age
    {
        return Ok(None);
    }
    // What a login for this client would check (`entitlement`), and that
    // the session's user is the one it was started for.
    let Ok(user) =
        entitlement::check(s, &client.client_id, &session.user_id, session.created_at).await?
    else {
        return Ok(None);
    };
    let allowed = user.connection_id == session.connection_id
        && request
            .connection
            .as_deref()
            .is_none_or(|n| n == user.connection_name);
    Ok(allowed.then_some(user))
}

/// Why a hosted page cannot go on with a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionProblem {
    /// No `state`, or no such transaction (finished, purged, or a bookmark).
    Unknown,
    /// It expired.
    Expired,
    /// The browser does not hold its cookie: another browser started it,
    /// or the request was forged by another site.
    OtherBrowser,
}

/// The transaction `state` names, if this browser started it and it is
/// still open.
pub async fn transaction(
    s: &AppState,
    headers: &HeaderMap,
    state: Option<&str>,
) -> Result<LoginTransaction, TransactionProblem> {
    let state = state
        .filter(|v| !v.is_empty())
        .ok_or(TransactionProblem::Unknown)?;
    let tx = s
        .store
        .get_login_transaction(s.tid(), state)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "login transaction: storage error");
            TransactionProblem::Unknown
        })?
        .ok_or(TransactionProblem::Unknown)?;
    if s.now() >= tx.expires_at {
        return Err(TransactionProblem::Expired);
    }
    // On https the `__Host-` cookie; the plain one only binds a
    // transaction begun before the upgrade (a digest bound to the prefix
    // is never one of a plain cookie's), so a sibling subdomain cannot
    // plant the cookie of a transaction of its own.
    let presented = cookies::find(&s.public_url, headers, &transaction_cookie_name(&tx.id))
        .map(|c| c.digests(""))
        .unwrap_or_default();
    let bound = presented.iter().any(|h| {
        aws_lc_rs::constant_time::verify_slices_are_equal(h.as_bytes(), tx.cookie_hash.as_bytes())
            .is_ok()
    });
    if !bound {
        return Err(TransactionProblem::OtherBrowser);
    }
    Ok(tx)
}

/// Record that the transaction's user proved who they are (the last
/// factor passed): `/authorize/resume` may now finish it.
async fn authenticated(
    s: &AppState,
    tx: &mut LoginTransaction,
    user: &User,
    record: Option<Box<DeferredLoginRecord>>,
) -> CoreResult<()> {
    tx.step = TransactionStep::Authenticated(Proven {
        user_id: user.user_id.clone(),
        connection_id: user.connection_id.clone(),
        auth_time: s.now(),
        amr: Vec::new(),
        record,
    });
    s.store.update_login_transaction(s.tid(), tx).await
}

/// After the password: the next step of the transaction, and the page it
/// continues on — the code of the authenticator app when the user has
/// one (or must have one), else `/authorize/resume`. The password login's
/// `record` (none after a signup) goes along, written when the login
/// finishes.
pub async fn password_passed(
    s: &AppState,
    tx: &mut LoginTransaction,
    user: &User,
    record: Option<DeferredLoginRecord>,
) -> CoreResult<String> {
    let record = record.map(Box::new);
    if crate::mfa::required_for(s, user).await? {
        let (step, page) = factor_step(s, user, record);
        tx.step = step;
        s.store.update_login_transaction(s.tid(), tx).await?;
        return Ok(format!("{page}?state={}", tx.id));
    }
    authenticated(s, tx, user, record).await?;
    Ok(format!("/authorize/resume?state={}", tx.id))
}

/// The second-factor step `user` must pass now, with its page — the code
/// of the authenticator app when the user has one, enrolment when the
/// Guardian policy requires a factor they lack — or `None`.
async fn second_factor(
    s: &AppState,
    user: &User,
) -> CoreResult<Option<(TransactionStep, &'static str)>> {
    if !crate::mfa::required_for(s, user).await? {
        return Ok(None);
    }
    Ok(Some(factor_step(s, user, None)))
}

/// The second-factor step of `user`, with its page: the code of their
/// authenticator app, or its enrolment when they have none.
fn factor_step(
    s: &AppState,
    user: &User,
    record: Option<Box<DeferredLoginRecord>>,
) -> (TransactionStep, &'static str) {
    let (user_id, connection_id, auth_time) =
        (user.user_id.clone(), user.connection_id.clone(), s.now());
    if crate::mfa::must_enrol(user) {
        (
            TransactionStep::MfaOtpEnrol {
                user_id,
                connection_id,
                auth_time,
                seed: None,
                record,
            },
            "/u/mfa-otp-enrollment-qr",
        )
    } else {
        (
            TransactionStep::MfaOtp {
                user_id,
                connection_id,
                auth_time,
                record,
            },
            "/u/mfa-otp-challenge",
        )
    }
}

/// What `/authorize/resume` and `/continue` do.
#[derive(Debug)]
pub enum Resume {
    /// Answer the application, setting these cookies (the new session, the
    /// transaction cookie cleared).
    Respond(AuthorizationResponse, Vec<HeaderValue>),
    /// The user has not finished signing in: back to the login page.
    NotYet(String),
    /// A post-login action sends the browser to this URL (302); the
    /// transaction waits for `/continue`.
    Redirect(String),
    /// The transaction cannot be finished here.
    Problem(TransactionProblem),
    /// `/continue` with a `state` no paused login of this browser waits
    /// for: wrong, used already, or never issued.
    InvalidState,
}

/// An authenticated login's facts, as its transaction step holds them.
/// Finish an authenticated transaction: a new session, a code, the answer
/// (`ip`: the browser's address, recorded on the session).
pub async fn resume(
    s: &AppState,
    headers: &HeaderMap,
    ip: &str,
    state: Option<&str>,
) -> CoreResult<Resume> {
    let tx = match transaction(s, headers, state).await {
        Ok(tx) => tx,
        Err(p) => return Ok(Resume::Problem(p)),
    };
    let who = match &tx.step {
        TransactionStep::Authenticated(who) => who,
        TransactionStep::MfaOtp { .. } => {
            return Ok(Resume::NotYet(format!(
                "/u/mfa-otp-challenge?state={}",
                tx.id
            )));
        }
        TransactionStep::MfaOtpEnrol { .. } => {
            return Ok(Resume::NotYet(format!(
                "/u/mfa-otp-enrollment-qr?state={}",
                tx.id
            )));
        }
        // Waiting for `/continue`: resuming here would skip the action.
        TransactionStep::ActionRedirect { .. } => return Ok(Resume::InvalidState),
        TransactionStep::Login => {
            return Ok(Resume::NotYet(format!("/u/login?state={}", tx.id)));
        }
    };
    run_actions_and_finish(s, headers, ip, &tx, who, None).await
}

/// `/continue?state=…` (or its form): resume the post-login actions paused
/// by a redirect — the redirecting action's `onContinuePostLogin` with
/// `request` (the continue request) in `event.request`, then the actions
/// after it — and finish as `/authorize/resume`. The `state` must be the
/// one the redirect carried, of a transaction this browser holds the
/// cookie of; it is used once.
pub async fn continue_login(
    s: &AppState,
    headers: &HeaderMap,
    ip: &str,
    state: Option<&str>,
    request: &EventRequest,
) -> CoreResult<Resume> {
    let Some((id, nonce)) = state.and_then(|v| v.split_once('.')) else {
        return Ok(Resume::InvalidState);
    };
    let tx = match transaction(s, headers, Some(id)).await {
        Ok(tx) => tx,
        Err(TransactionProblem::Unknown) => return Ok(Resume::InvalidState),
        Err(p) => return Ok(Resume::Problem(p)),
    };
    let TransactionStep::ActionRedirect { who, paused } = &tx.step else {
        return Ok(Resume::InvalidState);
    };
    if aws_lc_rs::constant_time::verify_slices_are_equal(nonce.as_bytes(), paused.nonce.as_bytes())
        .is_err()
    {
        return Ok(Resume::InvalidState);
    }
    run_actions_and_finish(s, headers, ip, &tx, who, Some((&**paused, request))).await
}

/// Claim the transaction (single use), run the post-login actions — from
/// the start, or resuming `resume` — and finish: a session and a code, or
/// the step the actions ask for (a factor, a redirect), or `access_denied`.
async fn run_actions_and_finish(
    s: &AppState,
    headers: &HeaderMap,
    ip: &str,
    tx: &LoginTransaction,
    who: &Proven,
    resume: Option<(&PausedActions, &EventRequest)>,
) -> CoreResult<Resume> {
    // Finishing is single-use: of two resumes racing, one gets the code.
    if !s.store.delete_login_transaction(s.tid(), &tx.id).await? {
        return Ok(match resume {
            Some(_) => Resume::InvalidState,
            None => Resume::Problem(TransactionProblem::Unknown),
        });
    }
    let name = transaction_cookie_name(&tx.id);
    let mut set = vec![cookies::clear(&s.public_url, &name)];
    // A transaction begun before the upgrade to `__Host-` names ends on
    // its plain cookie: that one goes too.
    set.extend(cookies::clear_legacy(&s.public_url, &name, "/"));
    let Proven {
        user_id,
        connection_id,
        auth_time,
        amr,
        record,
    } = who;
    let auth_time = *auth_time;
    // The user may have been blocked, or their connection taken from the
    // application, while they were on the hosted pages: no session, no code.
    if let Err(refusal) = entitlement::check(s, &tx.request.client_id, user_id, auth_time).await? {
        return Ok(Resume::Respond(
            AuthorizationResponse::error_for(&tx.request, "access_denied", refusal.description()),
            set,
        ));
    }
    // The post-login actions run before the session starts: a deny leaves
    // neither a session nor a code.
    let state = redirect_state(&tx.id);
    let redirect = Redirecting::Yes {
        state: &state,
        resume,
    };
    let claims = match crate::actions::for_code(
        s,
        &tx.request,
        user_id,
        (ip, headers),
        auth_time,
        amr,
        redirect,
    )
    .await?
    {
        Ok(c) => c,
        Err(PostLoginRefusal::NeedsMfa) => {
            return mfa_after_actions(s, tx.clone(), user_id, record.clone()).await;
        }
        Err(PostLoginRefusal::Redirect(pause)) => {
            // The transaction — deleted as it was claimed — waits again,
            // under its id and cookie, for `/continue`.
            let mut tx = tx.clone();
            tx.step = TransactionStep::ActionRedirect {
                who: who.clone(),
                paused: Box::new(pause.paused),
            };
            s.store.insert_login_transaction(s.tid(), &tx).await?;
            return Ok(Resume::Redirect(pause.location));
        }
        Err(refusal) => {
            return Ok(Resume::Respond(
                AuthorizationResponse::error_for(
                    &tx.request,
                    "access_denied",
                    &refusal.description(),
                ),
                set,
            ));
        }
    };
    // Only now is the password login a successful one: its record, kept
    // since the password step, is written (a refused login never was).
    if let Some(r) = record {
        s.store.record_login(s.tid(), &r.for_user(user_id)).await?;
    }
    let seen = crate::client_ip::seen(ip, headers);
    let (session, session_cookie) =
        sessions::start(s, headers, &seen, user_id, connection_id, auth_time, amr).await?;
    let code = code_grant::issue_amr(
        s,
        &tx.request,
        user_id,
        &session.sid,
        auth_time,
        amr,
        claims,
    )
    .await?;
    sessions::record_use(s, &session, &tx.request.client_id, &seen).await?;
    set.insert(0, session_cookie);
    Ok(Resume::Respond(
        AuthorizationResponse::code(&tx.request, code),
        set,
    ))
}

/// A post-login action asked for a second factor at the resume of a
/// transaction authenticated with the password alone: the transaction —
/// deleted as the resume claimed it — is stored again under its id and
/// cookie at the factor's step, and the browser goes there. Once passed,
/// the resume runs the actions again with `mfa` in the methods.
async fn mfa_after_actions(
    s: &AppState,
    mut tx: LoginTransaction,
    user_id: &str,
    record: Option<Box<DeferredLoginRecord>>,
) -> CoreResult<Resume> {
    let Some(user) = s.store.get_user(s.tid(), user_id).await? else {
        return Ok(Resume::Problem(TransactionProblem::Unknown));
    };
    let (step, page) = factor_step(s, &user, record);
    tx.step = step;
    s.store.insert_login_transaction(s.tid(), &tx).await?;
    Ok(Resume::NotYet(format!("{page}?state={}", tx.id)))
}

async fn log(
    s: &AppState,
    kind: &str,
    description: &str,
    client: &Client,
    user: Option<&User>,
    ip: &str,
) {
    let mut ev = LogEvent::new(kind, description);
    ev.client_id = Some(client.client_id.clone());
    ev.client_name = Some(client.name.clone());
    ev.ip = Some(ip.to_string());
    if let Some(u) = user {
        ev.user_id = Some(u.user_id.clone());
        ev.user_name = u.email.clone().or_else(|| u.username.clone());
        ev.connection = Some(u.connection_name.clone());
        ev.connection_id = Some(u.connection_id.clone());
    }
    s.log(ev).await;
}
