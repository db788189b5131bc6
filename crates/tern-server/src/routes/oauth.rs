//! `POST /oauth/token` and `/userinfo`.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use tern_core::clock::{now_epoch, now_iso};
use tern_core::login::{Verdict, verify_password};
use tern_core::model::{Client, Connection, LogEvent, ResourceServer, User};

use super::clients::secret_matches;
use crate::auth::{bearer, verify_bearer};
use crate::body::read_limited;
use crate::error::OAuthError;
use crate::state::AppState;

const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
/// id_token lifetime (Auth0's default, 10 h).
const ID_TOKEN_LIFETIME: i64 = 36_000;

/// Token request parameters from a form or a JSON body. JSON `null`s (sent by
/// auth0-python) count as absent.
struct Params(HashMap<String, String>);

impl Params {
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }
    fn require(&self, k: &str) -> Result<&str, OAuthError> {
        self.get(k)
            .ok_or_else(|| OAuthError::invalid_request(format!("Missing required parameter: {k}")))
    }
}

async fn read_params(req: Request) -> Result<Params, OAuthError> {
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
fn client_credentials(
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

fn invalid_client() -> OAuthError {
    OAuthError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client authentication failed: unknown client or wrong secret.",
    )
}

fn caller_ip(headers: &HeaderMap, peer: SocketAddr, confidential: bool) -> String {
    // auth0-forwarded-for carries the end user's IP for server-side ROPG;
    // honoured only for clients that authenticated with a secret.
    confidential
        .then(|| {
            headers
                .get("auth0-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .map(str::to_string)
        })
        .flatten()
        .unwrap_or_else(|| peer.ip().to_string())
}

/// `POST /oauth/token`.
#[utoipa::path(
    post,
    path = "/oauth/token",
    operation_id = "oauth_token",
    tag = "authentication",
    summary = "Get tokens (client credentials, password, password-realm)",
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
    ),
    security((), ("clientSecretBasic" = [])),
)]
pub async fn token(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let result = async {
        let p = read_params(req).await?;
        let grant = p.require("grant_type")?.to_string();
        let (client_id, secret) = client_credentials(&headers, &p)?;
        let client = s.store.get_client(s.tid(), &client_id).await?;
        let authenticated = match (&client, &secret) {
            (Some(c), Some(sec)) => secret_matches(c, sec),
            (Some(c), None) => c.token_endpoint_auth_method == "none",
            _ => false,
        };
        let ip = caller_ip(&headers, peer, authenticated && secret.is_some());
        let Some(client) = client.filter(|_| authenticated) else {
            if grant == "client_credentials" {
                let mut ev = LogEvent::new("feccft", "Client authentication failed");
                ev.client_id = Some(client_id);
                ev.ip = Some(ip);
                s.log(ev).await;
            }
            return Err(invalid_client());
        };
        match grant.as_str() {
            "client_credentials" => {
                client_credentials_grant(
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

/// Tern asking itself for a client-credentials token (the HTTP connector
/// calling a legacy API protected by Tern). It goes through the same checks,
/// signing and tenant log as `POST /oauth/token` — secret, grant type, client
/// grant, scopes — without a network round trip to its own public URL, which
/// is often a TLS proxy the server cannot reach from inside. Returns the
/// token and its lifetime in seconds, or why it was refused.
pub async fn internal_client_token(
    s: &AppState,
    client_id: &str,
    client_secret: &str,
    audience: &str,
    scope: Option<&str>,
) -> Result<(String, i64), String> {
    let client = s
        .store
        .get_client(s.tid(), client_id)
        .await
        .map_err(|e| format!("storage error: {e}"))?
        .filter(|c| secret_matches(c, client_secret));
    let Some(client) = client else {
        let mut ev = LogEvent::new(
            "feccft",
            "Client authentication failed (Tern's own connector: unknown client or wrong secret)",
        );
        ev.client_id = Some(client_id.to_string());
        s.log(ev).await;
        return Err(format!(
            "client '{client_id}': unknown client or wrong secret"
        ));
    };
    let body = client_credentials_grant(s, &client, true, Some(audience), scope, None)
        .await
        .map_err(|e| e.description)?;
    let token = body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let lifetime = body["expires_in"].as_i64().unwrap_or(0);
    Ok((token, lifetime))
}

async fn client_credentials_grant(
    s: &AppState,
    client: &Client,
    had_secret: bool,
    audience: Option<&str>,
    scope: Option<&str>,
    ip: Option<String>,
) -> Result<Value, OAuthError> {
    let fail = |msg: String| {
        let mut ev = LogEvent::new("feccft", msg.clone());
        ev.client_id = Some(client.client_id.clone());
        ev.client_name = Some(client.name.clone());
        ev.ip = ip.clone();
        (ev, OAuthError::access_denied(msg))
    };
    let outcome: Result<Value, (LogEvent, OAuthError)> = async {
        if !had_secret {
            return Err(fail("Client credentials require a client secret.".into()));
        }
        if !client.grant_types.iter().any(|g| g == "client_credentials") {
            let (ev, _) = fail("Grant type 'client_credentials' not allowed for the client.".into());
            return Err((ev, OAuthError::new(StatusCode::FORBIDDEN, "unauthorized_client", "Grant type 'client_credentials' not allowed for the client.")));
        }
        let audience = audience
            .ok_or_else(|| fail("No audience parameter was provided, and no default audience has been configured".into()))?;
        let rs = s
            .store
            .get_resource_server(s.tid(), audience)
            .await
            .map_err(|e| (LogEvent::new("feccft", "storage error"), e.into()))?
            .filter(|rs| rs.identifier == audience)
            .ok_or_else(|| fail(format!("Service not found: {audience}")))?;
        let grant = s
            .store
            .find_client_grant(s.tid(), &client.client_id, audience)
            .await
            .map_err(|e| (LogEvent::new("feccft", "storage error"), e.into()))?
            .ok_or_else(|| {
                fail(format!(
                    "Client is not authorized to access \"{audience}\". You need to create a \"client-grant\" associated to this API."
                ))
            })?;
        let scopes: Vec<&str> = match scope {
            Some(req) => req.split_whitespace().filter(|sc| grant.scope.iter().any(|g| g == sc)).collect(),
            None => grant.scope.iter().map(String::as_str).collect(),
        };
        let now = now_epoch();
        let claims = json!({
            "iss": s.issuer(),
            "sub": format!("{}@clients", client.client_id),
            "aud": rs.identifier,
            "iat": now,
            "exp": now + rs.token_lifetime,
            "scope": scopes.join(" "),
            "gty": "client-credentials",
            "azp": client.client_id,
            "jti": tern_core::ids::client_secret()[..24].to_string(),
        });
        let token = s.keys.sign(&claims).map_err(|_| (LogEvent::new("feccft", "signing failed"), OAuthError::server_error()))?;
        Ok(json!({"access_token": token, "scope": scopes.join(" "), "expires_in": rs.token_lifetime, "token_type": "Bearer"}))
    }
    .await;
    match outcome {
        Ok(body) => {
            let mut ev = LogEvent::new("seccft", "Client Credentials for Access Token");
            ev.client_id = Some(client.client_id.clone());
            ev.client_name = Some(client.name.clone());
            ev.ip = ip;
            s.log(ev).await;
            Ok(body)
        }
        Err((ev, err)) => {
            s.log(ev).await;
            Err(err)
        }
    }
}

/// The connection a password grant authenticates against.
async fn login_connection(
    s: &AppState,
    client: &Client,
    realm: Option<&str>,
) -> Result<Connection, OAuthError> {
    let enabled = |c: &Connection| c.enabled_clients.iter().any(|id| id == &client.client_id);
    match realm {
        Some(name) => {
            let c = s.store.get_connection_by_name(s.tid(), name).await?;
            c.filter(enabled).ok_or_else(|| {
                OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    format!(
                        "The connection '{name}' does not exist or is not enabled for this client."
                    ),
                )
            })
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

/// The API a user-facing grant asks a token for: the single place every
/// grant that issues tokens to users checks its audience, so an API marked
/// machine-to-machine only can never get a user token, whatever the grant.
pub(crate) async fn user_audience(
    s: &AppState,
    audience: Option<&str>,
) -> Result<Option<ResourceServer>, OAuthError> {
    let Some(a) = audience else {
        return Ok(None);
    };
    let rs = s
        .store
        .get_resource_server(s.tid(), a)
        .await?
        .filter(|rs| rs.identifier == a)
        .ok_or_else(|| OAuthError::access_denied(format!("Service not found: {a}")))?;
    if rs.is_system {
        return Err(OAuthError::access_denied(
            "Tern does not issue user tokens for the Management API; use a machine-to-machine client.",
        ));
    }
    if rs.tern_machine_to_machine_only {
        return Err(OAuthError::access_denied(format!(
            "The API '{a}' accepts machine-to-machine tokens only (tern_machine_to_machine_only): users cannot get tokens for it; use the client_credentials grant with a client grant."
        )));
    }
    Ok(Some(rs))
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
    let username = p.require("username")?.to_string();
    let password = p.require("password")?.to_string();
    let realm = if grant == PASSWORD_REALM {
        Some(p.require("realm")?)
    } else {
        p.get("realm")
    };
    let connection = login_connection(s, client, realm).await?;
    // No scope requested: an access token only (an id_token needs `openid`).
    let requested_scope: Vec<String> = p
        .get("scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let api = user_audience(s, p.get("audience")).await?;

    let lookup = username.trim().to_lowercase();
    let user = if lookup.contains('@') {
        s.store
            .get_user_by_email(s.tid(), &connection.id, &lookup)
            .await?
    } else {
        s.store
            .get_user_by_username(s.tid(), &connection.id, username.trim())
            .await?
    };
    let mut ev = LogEvent::new("f", "");
    ev.client_id = Some(client.client_id.clone());
    ev.client_name = Some(client.name.clone());
    ev.ip = Some(ip.clone());
    ev.user_name = Some(username.clone());
    ev.connection = Some(connection.name.clone());
    ev.connection_id = Some(connection.id.clone());
    ev.user_id = user.as_ref().map(|u| u.user_id.clone());
    let wrong = || {
        OAuthError::new(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Wrong email or password.",
        )
    };
    // Lazy migration: a user Tern does not know (or knows without a password)
    // is checked against the legacy store, and stored on success; with
    // import mode off the legacy store checks every login.
    let lazy = crate::lazy::consults_legacy(s, &connection, user.as_ref());
    let (user, rehash) = if lazy {
        (
            crate::lazy::login(s, &connection, user, &username, &password, &mut ev).await?,
            None,
        )
    } else {
        let policy_state = s.clone();
        let user_for_check = user.clone();
        let verdict = tokio::task::spawn_blocking(move || {
            verify_password(user_for_check.as_ref(), &password, &policy_state.policy)
        })
        .await
        .map_err(|_| OAuthError::server_error())?;

        match verdict {
            Verdict::Valid { rehash } => (user.ok_or_else(OAuthError::server_error)?, rehash),
            Verdict::UnknownUser => {
                ev.kind = "fu".into();
                ev.description = Some("Wrong email or password.".into());
                s.log(ev).await;
                return Err(wrong());
            }
            Verdict::NoCredential => {
                ev.kind = "fp".into();
                ev.description =
                    Some("Password change required: the user has no password yet".into());
                s.log(ev).await;
                return Err(wrong());
            }
            Verdict::WrongPassword => {
                ev.kind = "fp".into();
                ev.description = Some("Wrong email or password.".into());
                s.log(ev).await;
                return Err(wrong());
            }
            Verdict::OverCostLimit(over) => {
                tracing::warn!(user_id = ?ev.user_id, %over, "stored password hash over the cost limits");
                ev.description = Some(format!(
                    "Password not verified: {over}; raise that setting to let this user log in, or have the user reset the password"
                ));
                s.log(ev).await;
                return Err(wrong());
            }
            Verdict::UnreadableCredential(why) => {
                tracing::error!(user_id = ?ev.user_id, %why, "stored credential cannot be parsed");
                ev.description = Some(format!("Stored credential cannot be read: {why}"));
                s.log(ev).await;
                return Err(wrong());
            }
        }
    };
    if user.blocked {
        ev.description = Some("user is blocked".into());
        s.log(ev).await;
        return Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "user is blocked",
        ));
    }
    let now_s = now_iso();
    s.store
        .record_login(s.tid(), &user.user_id, &now_s, Some(&ip), rehash.as_deref())
        .await?;
    ev.kind = "s".into();
    ev.description = Some(
        if rehash.is_some() {
            "Success Login (password upgraded to the current hash policy)"
        } else {
            "Success Login"
        }
        .into(),
    );
    s.log(ev).await;

    issue_user_tokens(s, client, &user, api.as_ref(), &requested_scope)
}

fn issue_user_tokens(
    s: &AppState,
    client: &Client,
    user: &User,
    api: Option<&ResourceServer>,
    requested: &[String],
) -> Result<Value, OAuthError> {
    const OIDC: &[&str] = &["openid", "profile", "email", "offline_access"];
    let scopes: Vec<&str> = requested
        .iter()
        .map(String::as_str)
        .filter(|sc| {
            OIDC.contains(sc) || api.is_some_and(|a| a.scopes.iter().any(|d| d.value == *sc))
        })
        .collect();
    let openid = scopes.contains(&"openid");
    let userinfo = format!("{}userinfo", s.issuer());
    let aud = match api {
        Some(a) if openid => json!([a.identifier, userinfo]),
        Some(a) => json!(a.identifier),
        None => json!(userinfo),
    };
    let lifetime = api.map_or(tern_core::model::default_token_lifetime(), |a| {
        a.token_lifetime
    });
    let now = now_epoch();
    let access = json!({
        "iss": s.issuer(),
        "sub": user.user_id,
        "aud": aud,
        "iat": now,
        "exp": now + lifetime,
        "scope": scopes.join(" "),
        "gty": "password",
        "azp": client.client_id,
    });
    let mut body = json!({
        "access_token": s.keys.sign(&access).map_err(|_| OAuthError::server_error())?,
        "scope": scopes.join(" "),
        "expires_in": lifetime,
        "token_type": "Bearer",
    });
    if openid {
        let mut id = profile_claims(user, &scopes);
        id["iss"] = json!(s.issuer());
        id["aud"] = json!(client.client_id);
        id["iat"] = json!(now);
        id["exp"] = json!(now + ID_TOKEN_LIFETIME);
        body["id_token"] = json!(s.keys.sign(&id).map_err(|_| OAuthError::server_error())?);
    }
    Ok(body)
}

/// OIDC claims of a user for the granted scopes.
fn profile_claims(user: &User, scopes: &[&str]) -> Value {
    let mut c = json!({"sub": user.user_id});
    if scopes.contains(&"profile") {
        for (k, v) in [
            ("name", &user.name),
            ("nickname", &user.nickname),
            ("picture", &user.picture),
            ("given_name", &user.given_name),
            ("family_name", &user.family_name),
        ] {
            if let Some(v) = v {
                c[k] = json!(v);
            }
        }
        c["updated_at"] = json!(user.updated_at);
    }
    if scopes.contains(&"email") {
        if let Some(e) = &user.email {
            c["email"] = json!(e);
        }
        c["email_verified"] = json!(user.email_verified);
    }
    c
}

/// `GET|POST /userinfo`: the profile of the user a token was issued to.
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
pub async fn userinfo(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let deny =
        |msg: &str| OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_token", msg).into_response();
    let Some(token) = bearer(&headers) else {
        return deny("Missing bearer token.");
    };
    let (sub, scopes) = match verify_bearer(&s, token, &format!("{}userinfo", s.issuer())) {
        Ok(v) => v,
        Err(e) => return deny(&e.message),
    };
    if sub.ends_with("@clients") {
        return deny("The token was issued to a machine client, not to a user.");
    }
    match s.store.get_user(s.tid(), &sub).await {
        Ok(Some(u)) => {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            Json(profile_claims(&u, &scopes)).into_response()
        }
        Ok(None) => deny("The user no longer exists."),
        Err(e) => OAuthError::from(e).into_response(),
    }
}
