//! `POST /oauth/token` and `/userinfo`.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;
use tern_core::grants::{Grant, GrantDetails};
use tern_core::model::{Client, LogEvent, ResourceServer, User};

use crate::auth::{bearer, verify_bearer};
use crate::body::read_limited;
use crate::client_ip::{self, ClientIp};
use crate::client_secret::secret_matches;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::{code_grant, login, refresh, tokens};

const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
/// Auth0's grant finishing a login with a one-time code (see `mfa`).
pub(crate) const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";

/// Token request parameters from a form or a JSON body. JSON `null`s (sent by
/// auth0-python) count as absent.
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }
    pub(crate) fn require(&self, k: &str) -> Result<&str, OAuthError> {
        self.get(k)
            .ok_or_else(|| OAuthError::invalid_request(format!("Missing required parameter: {k}")))
    }
}

pub(crate) async fn read_params(req: Request) -> Result<Params, OAuthError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    let bytes = read_limited(req, 64 * 1024).await.map_err(|_| {
        OAuthError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "The request body is larger than 64 KB.",
        )
    })?;
    let mut map = HashMap::new();
    if is_json {
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| OAuthError::invalid_request(format!("Invalid JSON body: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| OAuthError::invalid_request("The JSON body must be an object."))?;
        for (k, v) in obj {
            match v {
                Value::Null => {}
                Value::String(s) => {
                    map.insert(k.clone(), s.clone());
                }
                Value::Number(n) => {
                    map.insert(k.clone(), n.to_string());
                }
                Value::Bool(b) => {
                    map.insert(k.clone(), b.to_string());
                }
                _ => {
                    return Err(OAuthError::invalid_request(format!(
                        "Parameter '{k}' must be a string."
                    )));
                }
            }
        }
    } else {
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| OAuthError::invalid_request("The form body is not UTF-8."))?;
        let pairs = crate::body::parse_urlencoded(text).ok_or_else(|| {
            OAuthError::invalid_request("The form body is not valid percent-encoding.")
        })?;
        map.extend(pairs);
    }
    Ok(Params(map))
}

/// Client credentials from HTTP Basic or the body (`client_secret_post`).
pub(crate) fn client_credentials(
    headers: &HeaderMap,
    p: &Params,
) -> Result<(String, Option<String>), OAuthError> {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(b64) = auth
            .strip_prefix("Basic ")
            .or_else(|| auth.strip_prefix("basic "))
    {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| OAuthError::invalid_request("Malformed Basic authorization header."))?;
        let (id, secret) = raw
            .split_once(':')
            .ok_or_else(|| OAuthError::invalid_request("Malformed Basic authorization header."))?;
        let dec = |s: &str| {
            urlencoding::decode(s)
                .map(|c| c.into_owned())
                .unwrap_or_else(|_| s.to_string())
        };
        if p.get("client_secret").is_some() {
            return Err(OAuthError::invalid_request(
                "Use one client authentication method, not both Basic and client_secret.",
            ));
        }
        return Ok((dec(id), Some(dec(secret))));
    }
    let id = p.require("client_id")?.to_string();
    Ok((id, p.get("client_secret").map(str::to_string)))
}

pub(crate) fn invalid_client() -> OAuthError {
    OAuthError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client authentication failed: unknown client or wrong secret.",
    )
}

/// The client a token-endpoint request authenticates as, its secret (if it
/// proved one) and the caller's address; or the claimed client id and the
/// address when authentication failed.
type Authenticated = Result<(Client, Option<String>, String), (String, String)>;

async fn authenticate(
    s: &AppState,
    headers: &HeaderMap,
    transport: IpAddr,
    p: &Params,
) -> Result<Authenticated, OAuthError> {
    let (client_id, secret) = client_credentials(headers, p)?;
    let client = s.store.get_client(s.tid(), &client_id).await?;
    let authenticated = match (&client, &secret) {
        (Some(c), Some(sec)) => secret_matches(c, sec),
        (Some(c), None) => c.token_endpoint_auth_method == "none",
        _ => false,
    };
    // auth0-forwarded-for carries the end user's IP for server-side
    // password grants; believed only from a client that proved its secret.
    let ip = client_ip::token_endpoint_ip(transport, headers, authenticated && secret.is_some())
        .to_string();
    Ok(match client.filter(|_| authenticated) {
        Some(c) => Ok((c, secret, ip)),
        None => Err((client_id, ip)),
    })
}

/// `POST /oauth/token`.
#[utoipa::path(
    post,
    path = "/oauth/token",
    operation_id = "oauth_token",
    tag = "authentication",
    summary = "Get tokens (client credentials, password, password-realm, authorization code, refresh token)",
    request_body(content(
        (crate::openapi::TokenRequest = "application/x-www-form-urlencoded"),
        (crate::openapi::TokenRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "Tokens.", body = crate::openapi::TokenResponse, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 400, description = "Malformed request, missing parameter, unknown realm (`invalid_request`), or unsupported grant (`unsupported_grant_type`).", body = crate::openapi::OAuthErrorBody),
        (status = 401, description = "Client authentication failed (`invalid_client`), or the user is blocked (`unauthorized`).", body = crate::openapi::OAuthErrorBody, headers(("WWW-Authenticate" = String, description = "`Basic realm=\"tern\"`."))),
        (status = 403, description = "Grant type not allowed for the client (`unauthorized_client`), unknown audience or no client grant (`access_denied`), or wrong email or password (`invalid_grant`).", body = crate::openapi::OAuthErrorBody),
        (status = 413, description = "The body is larger than 64 KB (`invalid_request`).", body = crate::openapi::OAuthErrorBody),
        (status = 429, description = "Brute-force protection blocks this user from this address (`too_many_attempts`), suspicious-IP throttling refuses this address after too many failed logins across users (`too_many_attempts`), or more than 20 attempts this minute for this user from this address (`too_many_requests`).", body = crate::openapi::OAuthErrorBody),
    ),
    security((), ("clientSecretBasic" = [])),
)]
pub async fn token(
    State(s): State<AppState>,
    ClientIp(transport): ClientIp,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let result = async {
        let p = read_params(req).await?;
        let grant = p.require("grant_type")?.to_string();
        let (client, secret, ip) = match authenticate(&s, &headers, transport, &p).await? {
            Ok(v) => v,
            Err((client_id, ip)) => {
                if grant == "client_credentials" {
                    let mut ev = LogEvent::new("feccft", "Client authentication failed");
                    ev.client_id = Some(client_id);
                    ev.ip = Some(ip);
                    s.log(ev).await;
                }
                return Err(invalid_client());
            }
        };
        match grant.as_str() {
            "client_credentials" => {
                tokens::client_credentials(
                    &s,
                    &client,
                    secret.is_some(),
                    p.get("audience"),
                    p.get("scope"),
                    Some(ip),
                )
                .await
            }
            "password" | PASSWORD_REALM => password_grant(&s, &client, &p, &grant, ip).await,
            MFA_OTP => mfa_otp_grant(&s, &client, &p, ip).await,
            "authorization_code" => {
                code_grant::exchange(
                    &s,
                    code_grant::Exchange {
                        client: &client,
                        code: p.require("code")?,
                        redirect_uri: p.get("redirect_uri"),
                        code_verifier: p.get("code_verifier"),
                        ip,
                    },
                )
                .await
            }
            "refresh_token" => {
                refresh::exchange(
                    &s,
                    refresh::Refresh {
                        client: &client,
                        token: p.require("refresh_token")?,
                        scope: p.get("scope"),
                        ip,
                    },
                )
                .await
            }
            other => Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("Unsupported grant type: {other}"),
            )),
        }
    }
    .await;
    let mut resp = match result {
        Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        Err(e) => e.into_response(),
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn password_grant(
    s: &AppState,
    client: &Client,
    p: &Params,
    grant: &str,
    ip: String,
) -> Result<Value, OAuthError> {
    if !client.grant_types.iter().any(|g| {
        g == grant
            || (grant == "password" && g == PASSWORD_REALM)
            || (grant == PASSWORD_REALM && g == "password")
    }) {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            format!("Grant type '{grant}' not allowed for the client."),
        ));
    }
    let username = p.require("username")?;
    let password = p.require("password")?;
    let realm = if grant == PASSWORD_REALM {
        Some(p.require("realm")?)
    } else {
        p.get("realm")
    };
    let connection = login::connection_for(s, client, realm).await?;
    // No scope requested: an access token only (an id_token needs `openid`).
    let requested_scope: Vec<String> = p
        .get("scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let api = tokens::user_audience(s, p.get("audience")).await?;
    let attempt = login::PasswordLogin {
        client,
        connection: &connection,
        username,
        password,
        ip: &ip,
    };
    let user = login::password_login(s, attempt).await?;
    if crate::mfa::required_for(s, &user).await? {
        // The password was right; the second factor finishes the login
        // (`/mfa/challenge`, then the mfa-otp grant with this token).
        let now = s.now();
        let token = crate::mfa::issue_token(
            s,
            &crate::mfa::PendingLogin {
                client_id: client.client_id.clone(),
                user_id: user.user_id.clone(),
                audience: p.get("audience").map(str::to_string),
                scope: requested_scope,
                auth_time: now,
                exp: now + crate::mfa::MFA_TOKEN_SECS,
            },
        )?;
        return Err(OAuthError::mfa_required(
            token,
            crate::mfa::must_enrol(&user),
        ));
    }
    let login = Login {
        user: &user,
        auth_time: s.now(),
        amr: &[],
    };
    tokens_for_login(s, client, api.as_ref(), &requested_scope, &login).await
}

/// A finished password login (with or without a second factor).
struct Login<'a> {
    user: &'a User,
    /// When the password was checked.
    auth_time: i64,
    /// Methods beyond the password, for the ID token's `amr`.
    amr: &'a [&'a str],
}

/// The tokens of a finished password login: access (and ID) token, and
/// for `offline_access` a grant to hang the refresh token family on.
async fn tokens_for_login(
    s: &AppState,
    client: &Client,
    api: Option<&ResourceServer>,
    requested_scope: &[String],
    login: &Login<'_>,
) -> Result<Value, OAuthError> {
    let mut scopes = tokens::granted_scopes(requested_scope, api);
    refresh::settle_scopes(client, api, &mut scopes);
    let grant = if refresh::allowed(client, api, &scopes) {
        let g = Grant {
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
            },
        };
        s.store.insert_grant(s.tid(), &g).await?;
        Some(g)
    } else {
        None
    };
    let mut body = tokens::user_tokens_amr(
        s,
        &tokens::UserTokens {
            client,
            user: login.user,
            api,
            scopes: &scopes,
            gty: "password",
            nonce: None,
            auth_time: login.auth_time,
            sid: None,
            grant_id: grant.as_ref().map(|g| g.id.as_str()),
        },
        login.amr,
    )?;
    if let Some(g) = &grant {
        body["refresh_token"] = serde_json::json!(refresh::issue(s, client, &g.id).await?);
    }
    Ok(body)
}

/// `POST /oauth/revoke`: revoke a refresh token (RFC 7009). The answer is
/// `200` with an empty body whether or not the token was known.
#[utoipa::path(
    post,
    path = "/oauth/revoke",
    operation_id = "oauth_revoke",
    tag = "authentication",
    summary = "Revoke a refresh token",
    request_body(content(
        (crate::openapi::RevokeRequest = "application/x-www-form-urlencoded"),
        (crate::openapi::RevokeRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "Revoked, or the token was unknown or already invalid (empty body)."),
        (status = 400, description = "Missing parameter (`invalid_request`).", body = crate::openapi::OAuthErrorBody),
        (status = 401, description = "Client authentication failed (`invalid_client`).", body = crate::openapi::OAuthErrorBody, headers(("WWW-Authenticate" = String, description = "`Basic realm=\"tern\"`."))),
        (status = 413, description = "The body is larger than 64 KB (`invalid_request`).", body = crate::openapi::OAuthErrorBody),
    ),
    security((), ("clientSecretBasic" = [])),
)]
pub async fn revoke(
    State(s): State<AppState>,
    ClientIp(transport): ClientIp,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let result = async {
        let p = read_params(req).await?;
        let token = p.require("token")?.to_string();
        let Ok((client, _, ip)) = authenticate(&s, &headers, transport, &p).await? else {
            return Err(invalid_client());
        };
        refresh::revoke(&s, &client, &token, ip).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

/// The `mfa-otp` grant: an `mfa_token` and a code finish a password login
/// with the tokens the password grant would have given, and `amr: ["mfa"]`.
async fn mfa_otp_grant(
    s: &AppState,
    client: &Client,
    p: &Params,
    ip: String,
) -> Result<Value, OAuthError> {
    if !client.grant_types.iter().any(|g| g == MFA_OTP) {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            format!("Grant type '{MFA_OTP}' not allowed for the client."),
        ));
    }
    let pending = crate::mfa::read_token(s, p.require("mfa_token")?, &client.client_id)?;
    let otp = p.require("otp")?;
    let user = crate::mfa::pending_user(s, &pending).await?;
    let attempt = crate::mfa::Attempt {
        client,
        user: &user,
        ip: &ip,
    };
    // A user without a factor confirms the enrolment /mfa/associate started.
    let outcome = if crate::mfa::must_enrol(&user) {
        crate::mfa::confirm_enrolment(s, &attempt, otp).await?
    } else {
        crate::mfa::verify(s, &attempt, otp, None).await?
    };
    match outcome {
        crate::mfa::OtpOutcome::Accepted => {}
        crate::mfa::OtpOutcome::Wrong => {
            return Err(OAuthError::new(
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "Invalid otp_code.",
            ));
        }
        crate::mfa::OtpOutcome::TooManyAttempts => {
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
    };
    tokens_for_login(s, client, api.as_ref(), &pending.scope, &login).await
}

/// RFC 6750 §2.2: without an `Authorization` header, a POST's form body may
/// carry the token as `access_token` (OpenID `oidcc-userinfo-post-body`).
async fn token_in_body(req: Request) -> Option<String> {
    let form = req.method() == axum::http::Method::POST
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
    if !form {
        return None;
    }
    let bytes = crate::body::read_limited(req, 16 * 1024).await.ok()?;
    let fields = crate::body::parse_urlencoded(std::str::from_utf8(&bytes).ok()?)?;
    fields
        .into_iter()
        .rev()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// `GET|POST /userinfo`: the profile of the user a token was issued to
/// (the token in the `Authorization` header, or in a POST's form body).
#[utoipa::path(
    method(get, post),
    path = "/userinfo",
    operation_id = "userinfo",
    tag = "authentication",
    summary = "The profile of the user a token was issued to",
    responses(
        (status = 200, description = "OIDC claims for the token's scopes.", body = crate::openapi::UserInfo),
        (status = 401, description = "Missing or invalid token, a machine client's token, or the user no longer exists (`invalid_token`).", body = crate::openapi::OAuthErrorBody, headers(("WWW-Authenticate" = String, description = "`Basic realm=\"tern\"`."))),
    ),
    security(("userAccessToken" = [])),
)]
pub async fn userinfo(State(s): State<AppState>, req: Request) -> Response {
    let deny =
        |msg: &str| OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_token", msg).into_response();
    let headers = req.headers().clone();
    let token = match bearer(&headers) {
        Some(t) => t.to_string(),
        None => match token_in_body(req).await {
            Some(t) => t,
            None => return deny("Missing bearer token."),
        },
    };
    let token = token.as_str();
    let (sub, scopes) = match verify_bearer(&s, token, &format!("{}userinfo", s.issuer())).await {
        Ok(v) => v,
        Err(e) => return deny(&e.message),
    };
    if sub.ends_with("@clients") {
        return deny("The token was issued to a machine client, not to a user.");
    }
    // Tokens of a revoked grant (a reused code, a replayed refresh token, a
    // revocation) are refused here even before they expire.
    if let Some(grant) = tokens::grant_of_access_token(token) {
        match s.store.get_grant(s.tid(), &grant).await {
            Ok(Some(g)) if g.revoked_at.is_none() => {}
            Ok(_) => return deny("The token was revoked."),
            Err(e) => return OAuthError::from(e).into_response(),
        }
    }
    match s.store.get_user(s.tid(), &sub).await {
        Ok(Some(u)) => {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            Json(tokens::profile_claims(&u, &scopes)).into_response()
        }
        Ok(None) => deny("The user no longer exists."),
        Err(e) => OAuthError::from(e).into_response(),
    }
}
