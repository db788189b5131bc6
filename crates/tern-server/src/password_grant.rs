//! The password grants of `POST /oauth/token` (`password` and Auth0's
//! `password-realm`) and the `mfa-otp` grant that finishes one with a
//! second factor. The token endpoint parses the request and calls these;
//! the login itself is `login::password_login`, the tokens `tokens`.

use crate::actions::EventRequest;
use axum::http::StatusCode;
use serde_json::Value;
use tern_core::attack_protection::BRUTE_FORCE;
use tern_core::device::Seen;
use tern_core::grants::{Grant, GrantDetails};
use tern_core::ip_throttling::{SUSPICIOUS_IP, ThrottleStage};
use tern_core::mfa::GuardianSettings;
use tern_core::model::{Client, Connection, ResourceServer, User};
use tern_core::store::PasswordLoginQuery;

use crate::error::OAuthError;
use crate::state::AppState;
use crate::{brute_force, ip_throttling, login, mfa, rbac, refresh, tokens};

/// Auth0's password grant naming the connection (`realm`).
pub const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
/// Auth0's grant finishing a login with a one-time code (see `mfa`).
pub const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";

/// A password grant as the client sent it.
pub struct PasswordGrant<'a> {
    /// The authenticated client.
    pub client: &'a Client,
    /// `password` or [`PASSWORD_REALM`].
    pub grant_type: &'a str,
    /// Username or email (required).
    pub username: Option<&'a str>,
    /// The password typed (required).
    pub password: Option<&'a str>,
    /// The connection's name; required by `password-realm`.
    pub realm: Option<&'a str>,
    /// Space-separated scopes asked for.
    pub scope: Option<&'a str>,
    /// The API the access token is for.
    pub audience: Option<&'a str>,
    /// The end user's address.
    pub ip: String,
    /// The caller's `User-Agent`, for the grant's device.
    pub user_agent: Option<&'a str>,
    /// A browser gets only a rotating refresh token (see [`refresh::issuable`]).
    pub caller: refresh::Caller,
    /// What the token endpoint read for this request before it
    /// authenticated the client ([`read_ahead`]); `None`: the grant reads it.
    pub read_ahead: Option<ReadAhead>,
    /// The request as post-login actions see it, secrets removed.
    pub event_request: &'a EventRequest,
}

/// What a password grant reads before the password, the client included,
/// read in one statement from what the request says (see
/// `PasswordLoginStore`): the client, the realm's connection, the API the
/// token is for, the Guardian settings and the login's own reads
/// (`login::BeforePassword`). The token endpoint authenticates the client
/// from it; the rest is used only once the client has. Reads only: a
/// request whose client fails writes nothing.
pub struct ReadAhead {
    client: Option<Client>,
    /// The connection the realm names, enabled for the client or not.
    connection: Option<Connection>,
    /// The API (`audience`), or why no user token can be given for it.
    api: Result<Option<ResourceServer>, OAuthError>,
    guardian: GuardianSettings,
    before: login::BeforePassword,
}

impl ReadAhead {
    /// The stored client the request names, for the token endpoint to
    /// authenticate.
    pub fn take_client(&mut self) -> Option<Client> {
        self.client.take()
    }
}

/// What a token request says, as the read ahead needs it.
pub struct Named<'a> {
    pub grant_type: &'a str,
    /// The client the request claims to be.
    pub client_id: &'a str,
    pub realm: Option<&'a str>,
    pub username: Option<&'a str>,
    pub audience: Option<&'a str>,
    /// The end user's address as the endpoint guesses it before the client
    /// (and whether it may name that address) is known; a login whose
    /// address turns out otherwise reads its throttle again.
    pub ip: &'a str,
}

/// What a token request lets the endpoint read before its client has
/// authenticated: nothing (`None`) unless it is a password grant naming its
/// realm and user.
pub async fn read_ahead(s: &AppState, n: &Named<'_>) -> Result<Option<ReadAhead>, OAuthError> {
    let (true, Some(realm), Some(username)) = (
        n.grant_type == "password" || n.grant_type == PASSWORD_REALM,
        n.realm,
        n.username,
    ) else {
        return Ok(None);
    };
    let lowered = tern_core::user_profile::normalize_email(username.trim());
    let stage = ThrottleStage::PreLogin.as_str();
    let throttle_bucket = tern_core::ip_throttling::bucket(n.ip);
    let presence = ip_throttling::before_read(s, n.ip);
    let read = s
        .store
        .password_login_reads(
            s.tid(),
            &PasswordLoginQuery {
                client_id: n.client_id,
                connection_name: realm,
                login: login::login_name(username, &lowered),
                audience: n.audience,
                protections: [SUSPICIOUS_IP, BRUTE_FORCE],
                throttle: (stage, &throttle_bucket),
            },
        )
        .await?;
    let [throttling, brute_force] = read.protections;
    Ok(Some(ReadAhead {
        client: read.client,
        connection: read.connection,
        // The API's answer is kept, not returned: a grant the client may
        // not use is refused before an unknown audience is.
        api: n
            .audience
            .map_or(Ok(None), |a| tokens::user_api(a, read.api).map(Some)),
        guardian: read.guardian,
        before: login::BeforePassword::new(
            n.ip,
            ip_throttling::settings_from(throttling),
            brute_force::settings_from(brute_force),
            read.tat,
            read.user,
            presence,
        ),
    }))
}

/// Check the password (migrating the user from the legacy store on their
/// first login) and answer with tokens, or with `mfa_required` when a
/// second factor must finish the login.
pub async fn password(s: &AppState, g: PasswordGrant<'_>) -> Result<Value, OAuthError> {
    let grant = g.grant_type;
    // `password` and `password-realm` are one grant to Auth0: either enables both.
    if !g.client.grant_types.iter().any(|t| {
        t == grant
            || (grant == "password" && t == PASSWORD_REALM)
            || (grant == PASSWORD_REALM && t == "password")
    }) {
        return Err(unauthorized_client(grant));
    }
    let username = required(g.username, "username")?;
    let password = required(g.password, "password")?;
    if grant == PASSWORD_REALM {
        required(g.realm, "realm")?;
    }
    let (connection, api, guardian, read_ahead) = match (g.read_ahead, g.realm) {
        (Some(r), Some(realm)) => (
            login::realm_for(g.client, realm, r.connection)?,
            r.api?,
            Some(r.guardian),
            Some(r.before),
        ),
        // Independent reads at once: a login's latency is mostly round trips.
        _ => {
            let (connection, api) = tokio::try_join!(
                login::connection_for(s, g.client, g.realm),
                tokens::user_audience(s, g.audience)
            )?;
            (connection, api, None, None)
        }
    };
    // No scope requested: an access token only (an id_token needs `openid`).
    let requested_scope: Vec<String> = g
        .scope
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let attempt = login::PasswordLogin {
        client: g.client,
        connection: &connection,
        username,
        password,
        ip: &g.ip,
        read_ahead,
    };
    // The Guardian settings, unless read ahead, are read while the
    // password is verified.
    let guardian = async {
        match guardian {
            Some(g) => Ok(g),
            None => s.store.get_guardian(s.tid()).await,
        }
    };
    let (verified, guardian) = tokio::join!(login::password_login(s, attempt), guardian);
    let login::Verified { user, recording } = verified?;
    if mfa::required_under(&user, &guardian?) {
        // The password was right; the second factor finishes the login
        // (`/mfa/challenge`, then the mfa-otp grant with this token), and
        // the post-login actions run then, and only then is the login
        // recorded (its record travels sealed in the token).
        return Err(mfa::required_answer(
            s,
            &g.client.client_id,
            &user,
            g.audience.map(str::to_string),
            requested_scope,
            s.now(),
            Some(recording.deferred()),
        ));
    }
    let login = Login {
        user: &user,
        auth_time: s.now(),
        amr: &[],
        from: Seen::new(g.ip.clone(), g.user_agent),
        caller: g.caller,
        request: g.event_request,
    };
    tokens_for_login(
        s,
        g.client,
        api.as_ref(),
        &requested_scope,
        &login,
        Some(recording),
    )
    .await
}

/// An `mfa-otp` grant as the client sent it.
pub struct MfaOtpGrant<'a> {
    /// The authenticated client.
    pub client: &'a Client,
    /// The token of the `mfa_required` answer (required).
    pub mfa_token: Option<&'a str>,
    /// The one-time code (required).
    pub otp: Option<&'a str>,
    /// The end user's address.
    pub ip: String,
    /// The caller's `User-Agent`, for the grant's device.
    pub user_agent: Option<&'a str>,
    /// A browser gets only a rotating refresh token (see [`refresh::issuable`]).
    pub caller: refresh::Caller,
    /// The request as post-login actions see it, secrets removed.
    pub event_request: &'a EventRequest,
}

/// Finish a password login with a one-time code: the tokens the password
/// grant would have given, with `amr: ["mfa"]`.
pub async fn mfa_otp(s: &AppState, g: MfaOtpGrant<'_>) -> Result<Value, OAuthError> {
    if !g.client.grant_types.iter().any(|t| t == MFA_OTP) {
        return Err(unauthorized_client(MFA_OTP));
    }
    let pending = mfa::read_token(s, required(g.mfa_token, "mfa_token")?, &g.client.client_id)?;
    let otp = required(g.otp, "otp")?;
    let user = mfa::pending_user(s, &pending).await?;
    let attempt = mfa::Attempt {
        client: g.client,
        user: &user,
        ip: &g.ip,
    };
    // A user without a factor confirms the enrolment /mfa/associate started.
    let outcome = if mfa::must_enrol(&user) {
        mfa::confirm_enrolment(s, &attempt, otp).await?
    } else {
        mfa::verify(s, &attempt, otp, None).await?
    };
    match outcome {
        mfa::OtpOutcome::Accepted => {}
        mfa::OtpOutcome::Wrong => {
            return Err(OAuthError::new(
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "Invalid otp_code.",
            ));
        }
        mfa::OtpOutcome::TooManyAttempts => {
            return Err(OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "Too many invalid codes; try again later.",
            ));
        }
    }
    let api = tokens::user_audience(s, pending.audience.as_deref()).await?;
    let login = Login {
        user: &user,
        auth_time: pending.auth_time,
        amr: &["mfa"],
        from: Seen::new(g.ip.clone(), g.user_agent),
        caller: g.caller,
        request: g.event_request,
    };
    // The password step's record, held by the token, is written with the
    // tokens (not when the post-login actions refuse them).
    let recording = pending
        .record
        .map(|r| login::Recording::resumed(s, &user.user_id, r));
    tokens_for_login(s, g.client, api.as_ref(), &pending.scope, &login, recording).await
}

/// A parameter the grant cannot do without; absent and empty are alike.
fn required<'a>(v: Option<&'a str>, name: &str) -> Result<&'a str, OAuthError> {
    v.ok_or_else(|| OAuthError::invalid_request(format!("Missing required parameter: {name}")))
}

fn unauthorized_client(grant: &str) -> OAuthError {
    OAuthError::new(
        StatusCode::FORBIDDEN,
        "unauthorized_client",
        format!("Grant type '{grant}' not allowed for the client."),
    )
}

/// A finished password login (with or without a second factor).
struct Login<'a> {
    user: &'a User,
    /// When the password was checked.
    auth_time: i64,
    /// Methods beyond the password, for the ID token's `amr`.
    amr: &'a [&'a str],
    /// The request that finished it: a grant's first device.
    from: Seen,
    /// Who sent that request.
    caller: refresh::Caller,
    /// That request as post-login actions see it.
    request: &'a EventRequest,
}

/// The tokens of a finished password login: access (and ID) token, and
/// for `offline_access` a grant to hang the refresh token family on. The
/// tokens are signed while the login's `recording` is written; the grant is
/// stored after it (on SQLite two writes at once would wait on each other).
async fn tokens_for_login(
    s: &AppState,
    client: &Client,
    api: Option<&ResourceServer>,
    requested_scope: &[String],
    login: &Login<'_>,
    recording: Option<login::Recording>,
) -> Result<Value, OAuthError> {
    let post_login = crate::actions::PostLogin {
        client,
        user: login.user,
        api,
        requested_scopes: requested_scope,
        protocol: "oauth2-password",
        ip: login.from.ip.as_deref().unwrap_or_default(),
        user_agent: login.from.user_agent.as_deref(),
        auth_time: login.auth_time,
        amr: login.amr,
        request: login.request,
        // A token endpoint request has no browser to send anywhere.
        redirect: crate::actions::Redirecting::No,
    };
    let claims = match crate::actions::post_login(s, &post_login).await {
        Ok(c) => c,
        Err(crate::actions::PostLoginRefusal::NeedsMfa) => {
            // An action asked for a second factor: as under the Guardian
            // policy, the password step's record goes with the `mfa_token`
            // (written by the `mfa-otp` grant that gives tokens) and the
            // actions run again once the factor is passed (`amr: ["mfa"]`,
            // see `actions`).
            return Err(mfa::required_answer(
                s,
                &client.client_id,
                login.user,
                api.map(|a| a.identifier.clone()),
                requested_scope.to_vec(),
                login.auth_time,
                recording.map(login::Recording::deferred),
            ));
        }
        Err(refusal) => {
            // A refused login is not a successful one: its record (the
            // success event, the counters, a rehash) is dropped unwritten
            // — a `Recording` does nothing until polled — and the tenant
            // log has the actions' `f` event alone, as Auth0's.
            drop(recording);
            return Err(OAuthError::access_denied(refusal.description()));
        }
    };
    let mut scopes = tokens::granted_scopes(requested_scope, api);
    let permissions = rbac::narrow(s, &login.user.user_id, api, &mut scopes).await?;
    refresh::settle_scopes(client, api, &mut scopes, login.caller);
    let grant = refresh::issuable(client, api, &scopes, login.caller).then(|| Grant {
        id: format!("gr_{}", &tern_core::ids::ticket_token()[..24]),
        client_id: client.client_id.clone(),
        user_id: login.user.user_id.clone(),
        created_at: s.now(),
        revoked_at: None,
        details: GrantDetails {
            scope: scopes.clone(),
            audience: api.map(|a| a.identifier.clone()),
            sid: None,
            auth_time: login.auth_time,
            amr: login.amr.iter().map(|m| m.to_string()).collect(),
            revoked_reason: None,
            made_from: login.from.clone(),
        },
        metadata: Default::default(),
    });
    // The login's record goes first, so its statement is on its way while
    // the tokens are signed.
    let (recorded, body) = tokio::join!(
        async {
            match recording {
                Some(r) => r.finished().await,
                None => Ok(()),
            }
        },
        async {
            tokens::user_tokens_amr(
                s,
                &tokens::UserTokens {
                    client,
                    user: login.user,
                    api,
                    scopes: &scopes,
                    permissions: permissions.as_deref(),
                    gty: "password",
                    nonce: None,
                    auth_time: login.auth_time,
                    sid: None,
                    grant_id: grant.as_ref().map(|g| g.id.as_str()),
                    claims: Some(&claims),
                },
                login.amr,
            )
        }
    );
    recorded?;
    let mut body = body?;
    if let Some(g) = &grant {
        s.store.insert_grant(s.tid(), g).await?;
        body["refresh_token"] = serde_json::json!(refresh::issue(s, client, g).await?);
    }
    Ok(body)
}
