//! `POST /oauth/token`, `/oauth/revoke` and `/userinfo`: parse the request,
//! authenticate the client, call the grant's service, map the answer.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;
use tern_core::CoreResult;
use tern_core::model::{Client, LogEvent};

use crate::auth::{bearer, verify_bearer};
use crate::body::read_limited;
use crate::client_ip::{self, ClientIp};
use crate::client_secret::secret_matches;
use crate::error::OAuthError;
use crate::password_grant::{self, MFA_OTP, MfaOtpGrant, PASSWORD_REALM, PasswordGrant};
use crate::state::AppState;
use crate::{code_grant, refresh, tokens};

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
    Ok(check_client(headers, transport, client, client_id, secret))
}

/// Whether the stored `client` (as read for the claimed `client_id`) is
/// authenticated by `secret`.
fn check_client(
    headers: &HeaderMap,
    transport: IpAddr,
    client: Option<Client>,
    client_id: String,
    secret: Option<String>,
) -> Authenticated {
    let authenticated = match (&client, &secret) {
        (Some(c), Some(sec)) => secret_matches(c, sec),
        (Some(c), None) => c.token_endpoint_auth_method == "none",
        _ => false,
    };
    // auth0-forwarded-for carries the end user's IP for server-side
    // password grants; believed only from a client that proved its secret
    // and that the tenant trusts to send it (as Auth0:
    // `is_token_endpoint_ip_header_trusted`, default false). Anyone else
    // would choose the address brute-force protection counts against.
    let trusted = authenticated
        && secret.is_some()
        && client
            .as_ref()
            .is_some_and(|c| c.is_token_endpoint_ip_header_trusted);
    let ip = client_ip::token_endpoint_ip(transport, headers, trusted).to_string();
    match client.filter(|_| authenticated) {
        Some(c) => Ok((c, secret, ip)),
        None => Err((client_id, ip)),
    }
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
        let (client_id, secret) = client_credentials(&headers, &p)?;
        // A guess at the address the request has if its client
        // authenticates, made before the client (and whether it may send
        // auth0-forwarded-for) is known: the header when a secret is sent,
        // as a trusted server-side client sends both. Only the read ahead
        // uses it; `check_client` decides the address, and a login whose
        // address differs from the guess reads again for its own.
        let ip_guess =
            client_ip::token_endpoint_ip(transport, &headers, secret.is_some()).to_string();
        // A password grant naming its realm reads what its login needs, the
        // client included, in one statement; any other reads the client.
        let mut read_ahead = password_grant::read_ahead(
            &s,
            &password_grant::Named {
                grant_type: &grant,
                client_id: &client_id,
                realm: p.get("realm"),
                username: p.get("username"),
                audience: p.get("audience"),
                ip: &ip_guess,
            },
        )
        .await?;
        let client = match read_ahead.as_mut() {
            Some(r) => r.take_client(),
            None => s.store.get_client(s.tid(), &client_id).await?,
        };
        let (client, secret, ip) =
            match check_client(&headers, transport, client, client_id, secret) {
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
        // What post-login actions see of this request (`event.request`).
        let event_request = tern_core::actions::EventRequest::of(
            "POST",
            p.0.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            true,
        );
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
            "password" | PASSWORD_REALM => {
                password_grant::password(
                    &s,
                    PasswordGrant {
                        client: &client,
                        grant_type: &grant,
                        username: p.get("username"),
                        password: p.get("password"),
                        realm: p.get("realm"),
                        scope: p.get("scope"),
                        audience: p.get("audience"),
                        ip,
                        user_agent: client_ip::user_agent(&headers),
                        caller: refresh::Caller::of(&headers),
                        read_ahead,
                        event_request: &event_request,
                    },
                )
                .await
            }
            MFA_OTP => {
                password_grant::mfa_otp(
                    &s,
                    MfaOtpGrant {
                        client: &client,
                        mfa_token: p.get("mfa_token"),
                        otp: p.get("otp"),
                        ip,
                        user_agent: client_ip::user_agent(&headers),
                        caller: refresh::Caller::of(&headers),
                        event_request: &event_request,
                    },
                )
                .await
            }
            "authorization_code" => {
                code_grant::exchange(
                    &s,
                    code_grant::Exchange {
                        client: &client,
                        code: p.require("code")?,
                        redirect_uri: p.get("redirect_uri"),
                        code_verifier: p.get("code_verifier"),
                        ip,
                        user_agent: client_ip::user_agent(&headers),
                        caller: refresh::Caller::of(&headers),
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
                        from: client_ip::seen(ip, &headers),
                        caller: refresh::Caller::of(&headers),
                        event_request: &event_request,
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
    crate::error::no_store(result)
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

/// RFC 6750 §2.2: without an `Authorization` header, a POST's form body may
/// carry the token as `access_token` (OpenID `oidcc-userinfo-post-body`).
async fn token_in_body(req: Request) -> Option<String> {
    let form = req.method() == axum::http::Method::POST && crate::body::is_form(req.headers());
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
    let claims = tokens::verified_claims(token).unwrap_or_default();
    match client_of_token_exists(&s, &claims).await {
        Ok(true) => {}
        Ok(false) => return deny("Invalid token: the client it was issued to was deleted."),
        Err(e) => return OAuthError::from(e).into_response(),
    }
    let issued_at = claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
    match s.store.get_user(s.tid(), &sub).await {
        // A user created after the token was issued reuses a deleted user's
        // id: the token was never theirs.
        Ok(Some(u)) if tern_core::users::created_after(&u, issued_at) => {
            deny("The user no longer exists.")
        }
        Ok(Some(u)) => {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            Json(tokens::profile_claims(&u, &scopes)).into_response()
        }
        Ok(None) => deny("The user no longer exists."),
        Err(e) => OAuthError::from(e).into_response(),
    }
}

/// Whether the client a user access token was issued to (`azp`) still
/// exists: a token outlives nothing it was issued to, as the Management API
/// refuses tokens of deleted clients (`auth::management`).
async fn client_of_token_exists(s: &AppState, claims: &Value) -> CoreResult<bool> {
    let Some(client_id) = claims.get("azp").and_then(Value::as_str) else {
        return Ok(false);
    };
    Ok(s.store.get_client(s.tid(), client_id).await?.is_some())
}
