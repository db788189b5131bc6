//! Refresh tokens: issued with a grant when `offline_access` is granted,
//! exchanged at `POST /oauth/token` (`grant_type=refresh_token`), revoked at
//! `POST /oauth/revoke`.
//!
//! A token is issued only when the scope holds `offline_access`, the client
//! lists the `refresh_token` grant type, and the API (if any) allows offline
//! access. The client's `refresh_token` settings decide rotation and expiry.
//! With rotation every exchange retires the token and returns its successor;
//! presenting a retired token again revokes the whole grant (the family and
//! every access token it issued), except once within `leeway` seconds for a
//! token whose successor has not been used yet (a client that lost the
//! answer). Tokens are stored only as SHA-256 digests; the absolute expiry
//! is the family's and never moves, the idle expiry moves at each use.
//! Switching the application's rotation type revokes the user's tokens of
//! the other kind for the same API at their next login. A browser (a token
//! request carrying `Origin`) gets and uses only rotating tokens.

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use tern_core::CoreResult;
use tern_core::device::Seen;
use tern_core::grants::{Grant, RefreshToken, RefreshTokenConfig};
use tern_core::model::{Client, LogEvent, ResourceServer};

use crate::client_secret::hash_secret;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::{entitlement, tokens};

/// Who asks the token endpoint for tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A server-side application (its request carries no `Origin`).
    Server,
    /// A browser: every POST a page sends (`fetch` or a form) carries
    /// `Origin`, which a page cannot remove.
    Browser,
}

impl Caller {
    /// The caller of a token endpoint request with `headers`.
    pub fn of(headers: &HeaderMap) -> Self {
        if headers.contains_key(header::ORIGIN) {
            Self::Browser
        } else {
            Self::Server
        }
    }
}

/// Whether a refresh token may accompany tokens with `scopes` for `api`.
pub fn allowed(client: &Client, api: Option<&ResourceServer>, scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == "offline_access")
        && client.grant_types.iter().any(|g| g == "refresh_token")
        && api.is_none_or(|a| a.allow_offline_access)
}

/// Whether a refresh token is issued to `caller`: as [`allowed`], and to a
/// browser only by an application that rotates them. Whatever a browser
/// holds, a script on the page can read; a rotating token replayed revokes
/// its family, a non-rotating one would work for the thief unnoticed. As
/// Auth0 ("when a browser requests a refresh token from the /token
/// endpoint, Auth0 will only return a refresh token if Refresh Token
/// Rotation is enabled for that client") and RFC 9700 §4.14.2.
pub fn issuable(
    client: &Client,
    api: Option<&ResourceServer>,
    scopes: &[String],
    caller: Caller,
) -> bool {
    allowed(client, api, scopes) && (caller == Caller::Server || issues_rotating(client))
}

/// The scopes to grant once the refresh token question is settled:
/// `offline_access` stays only when a refresh token is issued.
pub fn settle_scopes(
    client: &Client,
    api: Option<&ResourceServer>,
    scopes: &mut Vec<String>,
    caller: Caller,
) {
    if !issuable(client, api, scopes, caller) {
        scopes.retain(|s| s != "offline_access");
    }
}

fn config(client: &Client) -> RefreshTokenConfig {
    client.refresh_token.clone().unwrap_or_default()
}

/// A new token of `grant_id` for the request `seen`: the first of a
/// family, or a rotation's successor of `parent`, which keeps the family's
/// absolute expiry (`family_expiry`, see [`family_expiry`]).
async fn mint(
    s: &AppState,
    client: &Client,
    grant_id: &str,
    parent: Option<(&RefreshToken, Option<i64>)>,
    seen: &Seen,
) -> CoreResult<String> {
    let cfg = config(client);
    let now = s.now();
    let (absolute, idle) = cfg.expiries(now);
    let value = tern_core::ids::ticket_token();
    s.store
        .insert_refresh_token(
            s.tid(),
            &RefreshToken {
                token_hash: hash_secret(&value),
                grant_id: grant_id.to_string(),
                parent_hash: parent.map(|(p, _)| p.token_hash.clone()),
                client_id: client.client_id.clone(),
                created_at: now,
                expires_at: match parent {
                    Some((_, family_expiry)) => family_expiry,
                    None => absolute,
                },
                idle_expires_at: idle,
                used_at: None,
                rotating: issues_rotating(client),
                last_seen: seen.clone(),
            },
        )
        .await?;
    Ok(value)
}

/// The first refresh token of a grant, at a login (to the request that
/// made the grant).
pub async fn issue(s: &AppState, client: &Client, grant: &Grant) -> CoreResult<String> {
    revoke_the_other_kind(s, client, grant).await?;
    mint(s, client, &grant.id, None, &grant.details.made_from).await
}

/// Whether the application issues rotating tokens today.
fn issues_rotating(client: &Client) -> bool {
    config(client).rotation_type == tern_core::grants::RotationType::Rotating
}

/// As Auth0, switching an application between rotating and non-rotating
/// tokens revokes the user's tokens of the kind it no longer issues, for the
/// same API, when a token of the new kind is issued to them: at their next
/// login, or when they exchange a token of the old kind (which itself turns
/// into the new kind, see [`redeem`]). Until then old tokens keep working, so
/// an operator's switch logs no one out; after it, no token of the old kind
/// lives on beside the new one. `grant` (the one being issued to) is kept.
async fn revoke_the_other_kind(s: &AppState, client: &Client, grant: &Grant) -> CoreResult<()> {
    let rotating = issues_rotating(client);
    let held = s
        .store
        .grants_with_unspent_tokens(s.tid(), &grant.user_id, &client.client_id, !rotating)
        .await?;
    let now = s.now();
    for other in held
        .iter()
        .filter(|g| g.id != grant.id && g.details.audience == grant.details.audience)
    {
        s.store
            .revoke_grant(
                s.tid(),
                &other.id,
                now,
                "refresh token rotation type switched",
            )
            .await?;
    }
    Ok(())
}

/// The parameters of a refresh.
pub struct Refresh<'a> {
    /// The authenticated client.
    pub client: &'a Client,
    /// `refresh_token`.
    pub token: &'a str,
    /// `scope`: a subset of the grant's, or the grant's when absent.
    pub scope: Option<&'a str>,
    /// The caller: its address for the log, and both recorded on the
    /// token family as its latest device.
    pub from: Seen,
    /// A browser uses only rotating tokens (see [`issuable`]).
    pub caller: Caller,
    /// The request as post-login actions see it, secrets removed.
    pub event_request: &'a tern_core::actions::EventRequest,
}

fn unknown() -> OAuthError {
    OAuthError::new(
        StatusCode::FORBIDDEN,
        "invalid_grant",
        "Unknown or invalid refresh token.",
    )
}

/// `grant_type=refresh_token`: new tokens, or why not (logged as `sertft`,
/// `fertft`, or `ferrt` when a reuse revoked the family).
pub async fn exchange(s: &AppState, x: Refresh<'_>) -> Result<Value, OAuthError> {
    let mut ev = LogEvent::new("sertft", "Refresh Token for Access Token");
    ev.client_id = Some(x.client.client_id.clone());
    ev.client_name = Some(x.client.name.clone());
    ev.ip = x.from.ip.clone();
    match redeem(s, &x).await {
        Ok((body, user_id)) => {
            ev.user_id = Some(user_id);
            s.log(ev).await;
            Ok(body)
        }
        Err(Failure {
            error,
            reuse,
            user_id,
        }) => {
            ev.kind = if reuse { "ferrt" } else { "fertft" }.into();
            ev.description = Some(if reuse {
                "Reuse of a rotated refresh token: the token family is revoked.".into()
            } else {
                error.description.clone()
            });
            ev.user_id = user_id;
            s.log(ev).await;
            Err(error)
        }
    }
}

struct Failure {
    error: OAuthError,
    reuse: bool,
    user_id: Option<String>,
}

impl From<OAuthError> for Failure {
    fn from(error: OAuthError) -> Self {
        Self {
            error,
            reuse: false,
            user_id: None,
        }
    }
}

impl From<tern_core::CoreError> for Failure {
    fn from(e: tern_core::CoreError) -> Self {
        OAuthError::from(e).into()
    }
}

async fn redeem(s: &AppState, x: &Refresh<'_>) -> Result<(Value, String), Failure> {
    if !x.client.grant_types.iter().any(|g| g == "refresh_token") {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "Grant type 'refresh_token' not allowed for the client.",
        )
        .into());
    }
    // Before the token is read, let alone spent: a browser that holds a
    // non-rotating token (made for a server, or before the application
    // stopped rotating) gets nothing for it, and the server keeps it.
    if x.caller == Caller::Browser && !issues_rotating(x.client) {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Refresh tokens can be used from a browser only with refresh token rotation: turn on rotation for the application (refresh_token.rotation_type: rotating).",
        )
        .into());
    }
    let now = s.now();
    let hash = hash_secret(x.token);
    let token = s
        .store
        .get_refresh_token(s.tid(), &hash)
        .await?
        .filter(|t| t.client_id == x.client.client_id)
        .ok_or_else(unknown)?;
    let grant = s
        .store
        .get_grant(s.tid(), &token.grant_id)
        .await?
        .filter(|g| g.revoked_at.is_none() && g.client_id == x.client.client_id)
        .ok_or_else(unknown)?;
    let cfg = config(x.client);
    let expiry = family_expiry(&cfg, &grant, &token);
    if token.expired(now) || expiry.is_some_and(|t| now >= t) {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Unknown or invalid refresh token: it expired.",
        )
        .into());
    }
    // What the login checked, checked again at each refresh: the user
    // still exists (a user created after the grant reuses a deleted user's
    // id: the grant was never theirs), is not blocked (Auth0: "user is
    // blocked"), and their connection is still enabled for the application.
    let user = entitlement::check(s, &x.client.client_id, &grant.user_id, grant.created_at)
        .await?
        .map_err(|r| r.invalid_grant(StatusCode::FORBIDDEN))?;
    let api = still_granted(s, x.client, &grant).await?;
    let scopes: Vec<String> = match x.scope {
        None => grant.details.scope.clone(),
        Some(req) => {
            let asked: Vec<String> = req.split_whitespace().map(str::to_string).collect();
            if let Some(extra) = asked.iter().find(|a| !grant.details.scope.contains(a)) {
                return Err(OAuthError::new(
                    StatusCode::FORBIDDEN,
                    "invalid_scope",
                    format!(
                        "The scope '{extra}' was not granted; a refresh can only reduce the scopes."
                    ),
                )
                .into());
            }
            asked
        }
    };
    // What the API defines today: a scope it dropped is not given again.
    let mut scopes = tokens::granted_scopes(&scopes, api.as_ref());
    // And what the user holds today, for an API that enforces policies.
    let permissions = crate::rbac::narrow(s, &user.user_id, api.as_ref(), &mut scopes).await?;
    // Auth0 runs the post-login actions at a refresh too (protocol
    // `oauth2-refresh-token`); a deny refuses before the token is spent.
    let amr: Vec<&str> = grant.details.amr.iter().map(String::as_str).collect();
    let claims = crate::actions::post_login(
        s,
        &crate::actions::PostLogin {
            client: x.client,
            user: &user,
            api: api.as_ref(),
            requested_scopes: &scopes,
            protocol: "oauth2-refresh-token",
            ip: x.from.ip.as_deref().unwrap_or_default(),
            user_agent: x.from.user_agent.as_deref(),
            auth_time: grant.details.auth_time,
            amr: &amr,
            request: x.event_request,
            // A back-channel exchange: Auth0's redirect actions fail here.
            redirect: crate::actions::Redirecting::No,
        },
    )
    .await
    .map_err(|r| match r {
        // An action requires a factor the login never passed (it ran with
        // the password alone): the refresh answers as Auth0's does, with
        // an `mfa_token` whose `mfa-otp` grant gives new tokens.
        crate::actions::PostLoginRefusal::NeedsMfa => crate::mfa::required_answer(
            s,
            &x.client.client_id,
            &user,
            api.as_ref().map(|a| a.identifier.clone()),
            scopes.clone(),
            grant.details.auth_time,
            None,
        ),
        r => OAuthError::access_denied(r.description()),
    })?;
    // A token issued before the application turned rotation on rotates
    // from its next use (its successor is a rotating token; the token
    // itself is spent), rather than living on without rotation.
    let rotates = token.rotating || issues_rotating(x.client);
    let successor = if rotates {
        if !s.store.mark_refresh_token_used(s.tid(), &hash, now).await? {
            // Used before: tolerated once within the leeway, as long as its
            // successor has not been used; anything else is a replay.
            let used_at = s
                .store
                .get_refresh_token(s.tid(), &hash)
                .await?
                .and_then(|t| t.used_at)
                .unwrap_or(now);
            let leeway = cfg.leeway;
            let tolerated = leeway > 0
                && now.saturating_sub(used_at) <= leeway
                && !s.store.refresh_token_successor_used(s.tid(), &hash).await?;
            if !tolerated {
                s.store
                    .revoke_grant(s.tid(), &grant.id, now, "refresh token reused")
                    .await?;
                return Err(Failure {
                    error: unknown(),
                    reuse: true,
                    user_id: Some(grant.user_id.clone()),
                });
            }
        }
        Some(mint(s, x.client, &grant.id, Some((&token, expiry)), &x.from).await?)
    } else {
        s.store
            .touch_refresh_token(s.tid(), &hash, now, cfg.idle_expiry(now), &x.from)
            .await?;
        None
    };
    // The token turned into the kind the application issues now.
    if token.rotating != issues_rotating(x.client) {
        revoke_the_other_kind(s, x.client, &grant).await?;
    }
    // The login's methods and time carry over: a refreshed ID token says
    // how the user authenticated, not that they did again (`amr` above).
    let mut body = tokens::user_tokens_amr(
        s,
        &tokens::UserTokens {
            client: x.client,
            user: &user,
            api: api.as_ref(),
            scopes: &scopes,
            permissions: permissions.as_deref(),
            gty: "refresh_token",
            nonce: None,
            auth_time: grant.details.auth_time,
            sid: grant.details.sid.as_deref(),
            grant_id: Some(&grant.id),
            claims: Some(&claims),
        },
        &amr,
    )?;
    if let Some(next) = successor {
        body["refresh_token"] = json!(next);
    }
    Ok((body, user.user_id))
}

/// The absolute expiry of a token's family under the application's
/// settings *now*: the earlier of the one the token was issued with and
/// the current `token_lifetime` counted from the family's start — so
/// making tokens expire (or shorter-lived) applies to those already out.
fn family_expiry(cfg: &RefreshTokenConfig, grant: &Grant, token: &RefreshToken) -> Option<i64> {
    let (current, _) = cfg.expiries(grant.created_at);
    match (token.expires_at, current) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What a login would check of the API, checked again at each refresh (the
/// user's side is `entitlement::check`): the API (if any) still gives user
/// tokens and offline access. The API, when the grant names one.
async fn still_granted(
    s: &AppState,
    client: &Client,
    grant: &Grant,
) -> Result<Option<ResourceServer>, OAuthError> {
    let refused = |why: &str| OAuthError::new(StatusCode::FORBIDDEN, "invalid_grant", why);
    let api = tokens::user_audience(s, grant.details.audience.as_deref()).await?;
    if !allowed(client, api.as_ref(), &grant.details.scope) {
        return Err(refused("The API no longer allows offline access."));
    }
    Ok(api)
}

/// `POST /oauth/revoke` for an authenticated client: the token's grant is
/// revoked (its refresh tokens and, at `/userinfo`, its access tokens).
/// Unknown tokens and tokens of other clients change nothing (RFC 7009
/// §2.2: the answer is the same). Logged as `srrt` when something was revoked.
pub async fn revoke(s: &AppState, client: &Client, token: &str, ip: String) -> CoreResult<()> {
    let Some(t) = s
        .store
        .get_refresh_token(s.tid(), &hash_secret(token))
        .await?
        .filter(|t| t.client_id == client.client_id)
    else {
        return Ok(());
    };
    let grant = s.store.get_grant(s.tid(), &t.grant_id).await?;
    if s.store
        .revoke_grant(s.tid(), &t.grant_id, s.now(), "refresh token revoked")
        .await?
    {
        let mut ev = LogEvent::new("srrt", "Successful Refresh Token Revocation");
        ev.client_id = Some(client.client_id.clone());
        ev.client_name = Some(client.name.clone());
        ev.user_id = grant.map(|g| g.user_id);
        ev.ip = Some(ip);
        s.log(ev).await;
    }
    Ok(())
}
