//! Minting tokens: the one place access and ID tokens are built and signed,
//! whichever front end authenticated the caller (`POST /oauth/token`, Tern's
//! own connectors asking for a machine token).

use axum::http::StatusCode;
use serde_json::{Value, json};
use tern_core::clock::now_epoch;
use tern_core::model::{Client, LogEvent, ResourceServer, User};

use crate::client_secret::secret_matches;
use crate::error::OAuthError;
use crate::state::AppState;

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
    let body = client_credentials(s, &client, true, Some(audience), scope, None)
        .await
        .map_err(|e| e.description)?;
    let token = body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let lifetime = body["expires_in"].as_i64().unwrap_or(0);
    Ok((token, lifetime))
}

/// The `client_credentials` grant for an authenticated client: grant type,
/// audience, client grant and scopes checked, the token signed, the outcome
/// logged (`seccft`/`feccft`). `had_secret`: the client proved a secret.
pub async fn client_credentials(
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
        // A public client (`token_endpoint_auth_method: none`) has no secret
        // to keep: one it holds anyway (a public app's bundle) proves
        // nothing, so it never gets a machine token.
        if client.token_endpoint_auth_method == "none" {
            let msg = "Grant type 'client_credentials' not allowed for a public client (token_endpoint_auth_method: none).";
            let (ev, _) = fail(msg.into());
            return Err((ev, OAuthError::new(StatusCode::FORBIDDEN, "unauthorized_client", msg)));
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

/// The API a user-facing grant asks a token for: the single place every
/// grant that issues tokens to users checks its audience, so an API marked
/// machine-to-machine only can never get a user token, whatever the grant.
pub async fn user_audience(
    s: &AppState,
    audience: Option<&str>,
) -> Result<Option<ResourceServer>, OAuthError> {
    let Some(a) = audience else {
        return Ok(None);
    };
    let rs = s.store.get_resource_server(s.tid(), a).await?;
    user_api(a, rs).map(Some)
}

/// The API `audience` names (`found`: as read by id or identifier), if
/// user tokens may be given for it.
pub fn user_api(
    audience: &str,
    found: Option<ResourceServer>,
) -> Result<ResourceServer, OAuthError> {
    let rs = found
        .filter(|rs| rs.identifier == audience)
        .ok_or_else(|| OAuthError::access_denied(format!("Service not found: {audience}")))?;
    if rs.is_system {
        return Err(OAuthError::access_denied(
            "Tern does not issue user tokens for the Management API; use a machine-to-machine client.",
        ));
    }
    if rs.tern_machine_to_machine_only {
        return Err(OAuthError::access_denied(format!(
            "The API '{audience}' accepts machine-to-machine tokens only (tern_machine_to_machine_only): users cannot get tokens for it; use the client_credentials grant with a client grant."
        )));
    }
    Ok(rs)
}

/// The OpenID scopes: a user-facing grant gives them whatever the API.
pub const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// The scopes a user-facing grant may give: the OpenID ones, and those
/// the API defines (in request order, each once). A request may name
/// thousands, so the API's are looked up in a set, not a list.
pub fn granted_scopes(requested: &[String], api: Option<&ResourceServer>) -> Vec<String> {
    let defined: std::collections::HashSet<&str> = api
        .map(|a| a.scopes.iter().map(|d| d.value.as_str()).collect())
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    requested
        .iter()
        .filter(|sc| {
            (OIDC_SCOPES.contains(&sc.as_str()) || defined.contains(sc.as_str()))
                && seen.insert(sc.as_str())
        })
        .cloned()
        .collect()
}

/// What a user's tokens are made of.
pub struct UserTokens<'a> {
    /// The application.
    pub client: &'a Client,
    /// The user.
    pub user: &'a User,
    /// The API the access token is for (`None`: `/userinfo` only).
    pub api: Option<&'a ResourceServer>,
    /// Granted scopes (see [`granted_scopes`] and [`crate::rbac::narrow`]).
    pub scopes: &'a [String],
    /// The `permissions` claim, for an API whose dialect carries it
    /// ([`crate::rbac::narrow`]).
    pub permissions: Option<&'a [String]>,
    /// The grant, as Auth0 names it in the access token's `gty`.
    pub gty: &'a str,
    /// The authorization request's nonce.
    pub nonce: Option<&'a str>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The SSO session, for the ID token's `sid`.
    pub sid: Option<&'a str>,
    /// The grant the tokens belong to: its id leads the access token's
    /// `jti`, so `/userinfo` refuses tokens of a revoked grant.
    pub grant_id: Option<&'a str>,
    /// What the post-login actions added (custom claims, scopes).
    pub claims: Option<&'a crate::actions::ActionClaims>,
}

/// Access token (and, with `openid`, an ID token) for a user.
pub fn user_tokens(s: &AppState, t: &UserTokens<'_>) -> Result<Value, OAuthError> {
    user_tokens_amr(s, t, &[])
}

/// [`user_tokens`] for a login that passed the methods `amr` (`["mfa"]`
/// after a second factor), which the ID token names as Auth0's does.
pub fn user_tokens_amr(
    s: &AppState,
    t: &UserTokens<'_>,
    amr: &[&str],
) -> Result<Value, OAuthError> {
    let mut granted = t.scopes.to_vec();
    if let Some(c) = t.claims {
        c.apply_scopes(&mut granted);
    }
    let scopes: Vec<&str> = granted.iter().map(String::as_str).collect();
    let openid = scopes.contains(&"openid");
    let userinfo = format!("{}userinfo", s.issuer());
    let aud = match t.api {
        Some(a) if openid => json!([a.identifier, userinfo]),
        Some(a) => json!(a.identifier),
        None => json!(userinfo),
    };
    let lifetime = t
        .api
        .map_or(tern_core::model::default_token_lifetime(), |a| {
            a.token_lifetime
        });
    let now = s.now();
    let mut access = json!({
        "iss": s.issuer(),
        "sub": t.user.user_id,
        "aud": aud,
        "iat": now,
        "exp": now + lifetime,
        "scope": scopes.join(" "),
        "gty": t.gty,
        "azp": t.client.client_id,
    });
    if let Some(p) = t.permissions {
        access["permissions"] = json!(p);
    }
    if let Some(c) = t.claims {
        add_claims(&mut access, &c.access_token);
    }
    if let Some(g) = t.grant_id {
        access["jti"] = json!(format!("{g}.{}", &tern_core::ids::ticket_token()[..16]));
    }
    let access_token = s
        .keys
        .sign(&access)
        .map_err(|_| OAuthError::server_error())?;
    let mut body = json!({
        "access_token": access_token,
        "scope": scopes.join(" "),
        "expires_in": lifetime,
        "token_type": "Bearer",
    });
    if openid {
        let mut id = profile_claims(t.user, &scopes);
        id["iss"] = json!(s.issuer());
        id["aud"] = json!(t.client.client_id);
        id["azp"] = json!(t.client.client_id);
        id["iat"] = json!(now);
        id["exp"] = json!(now + t.client.jwt_configuration.lifetime_in_seconds);
        id["auth_time"] = json!(t.auth_time);
        id["at_hash"] = json!(at_hash(&access_token));
        if let Some(n) = t.nonce {
            id["nonce"] = json!(n);
        }
        if let Some(sid) = t.sid {
            id["sid"] = json!(sid);
        }
        if !amr.is_empty() {
            id["amr"] = json!(amr);
        }
        if let Some(c) = t.claims {
            add_claims(&mut id, &c.id_token);
        }
        body["id_token"] = json!(s.keys.sign(&id).map_err(|_| OAuthError::server_error())?);
    }
    Ok(body)
}

/// An action's custom claims: a claim the token already has (a profile
/// claim; restricted ones never reach here) is kept, as Auth0 lets no
/// action change the standard claims.
fn add_claims(token: &mut Value, claims: &serde_json::Map<String, Value>) {
    if let Some(obj) = token.as_object_mut() {
        for (k, v) in claims {
            obj.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

/// OIDC's `at_hash` for RS256: the left half of the access token's SHA-256,
/// base64url without padding.
pub fn at_hash(access_token: &str) -> String {
    use base64::Engine;
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

/// The claims of a JWT (the token must already be verified: this only
/// reads it).
pub fn verified_claims(token: &str) -> Option<Value> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The grant an access token belongs to, from its `jti` (the token must
/// already be verified: this only reads it).
pub fn grant_of_access_token(token: &str) -> Option<String> {
    let claims = verified_claims(token)?;
    let jti = claims.get("jti")?.as_str()?;
    let (grant, _) = jti.split_once('.')?;
    grant.starts_with("gr_").then(|| grant.to_string())
}

/// OIDC claims of a user for the granted scopes.
pub fn profile_claims(user: &User, scopes: &[&str]) -> Value {
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
