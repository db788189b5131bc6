//! Reading and checking an `/authorize` request.
//!
//! The client and the `redirect_uri` are checked first: until both are
//! known good, nothing may be sent to the redirect (an open redirector
//! otherwise), so their problems are shown on an error page. Every later
//! problem goes back to the application, as Auth0 and RFC 6749 §4.1.2.1 do.

use std::collections::HashMap;

use tern_core::login_transaction::{AuthorizationRequest, ResponseMode};
use tern_core::model::{Client, Connection};
use tern_core::url_match::{UrlRule, any_url_matches, check_stored_url, origin_matches, origin_of};

use super::response::AuthorizationResponse;
use crate::state::AppState;

/// Why a request is refused.
#[derive(Debug)]
pub enum Rejection {
    /// The redirect cannot be trusted: an error page says why.
    Page(String),
    /// Back to the application with an OAuth error.
    Redirect(AuthorizationResponse),
}

impl From<tern_core::CoreError> for Rejection {
    fn from(e: tern_core::CoreError) -> Self {
        tracing::error!(error = %e, "authorize: storage error");
        Self::Page("Something went wrong on our side. Try again in a moment.".into())
    }
}

/// A checked request.
#[derive(Debug)]
pub struct Checked {
    /// The application.
    pub client: Client,
    /// What the code will be bound to.
    pub request: AuthorizationRequest,
    /// `prompt=none`: answer without showing a page.
    pub prompt_none: bool,
}

/// The longest value a parameter may have. The request is kept (in a login
/// transaction, for an hour) before anyone signs in, so `state`, `nonce`
/// and the rest are bounded: an SDK's state (a random value, or an encoded
/// return path) is far shorter.
pub const MAX_PARAM_BYTES: usize = 2048;

/// The request's parameters; a parameter sent twice is kept as `None`
/// (RFC 6749 §3.1: parameters must not repeat), which the checks refuse.
pub struct Params(HashMap<String, Option<String>>);

impl Params {
    /// From decoded pairs (a query string or a form body).
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        let mut map: HashMap<String, Option<String>> = HashMap::new();
        for (k, v) in pairs {
            map.entry(k)
                .and_modify(|old| *old = None)
                .or_insert(Some(v));
        }
        Self(map)
    }

    /// The request as post-login actions see it: parameters sent once,
    /// secrets removed, in the query or (`POST`) the body.
    pub fn event_request(&self, post: bool) -> tern_core::actions::EventRequest {
        tern_core::actions::EventRequest::of(
            if post { "POST" } else { "GET" },
            self.0
                .iter()
                .filter_map(|(k, v)| v.as_deref().map(|v| (k.as_str(), v))),
            post,
        )
    }

    /// The first parameter longer than [`MAX_PARAM_BYTES`].
    fn too_long(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(_, v)| v.as_deref().is_some_and(|v| v.len() > MAX_PARAM_BYTES))
            .map(|(k, _)| k.as_str())
    }

    fn repeated(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(_, v)| v.is_none())
            .map(|(k, _)| k.as_str())
    }

    /// A parameter's value; empty counts as absent.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .get(k)
            .and_then(|v| v.as_deref())
            .filter(|v| !v.is_empty())
    }
}

/// ASCII without control characters, as OIDF checks error descriptions.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// How much of an unknown `client_id` the error page shows: enough to
/// recognise a typo, too little to write a message on Tern's page.
const SHOWN_CLIENT_ID_CHARS: usize = 64;

fn shown_client_id(client_id: &str) -> String {
    if client_id.chars().count() <= SHOWN_CLIENT_ID_CHARS {
        return client_id.to_string();
    }
    let mut shown: String = client_id.chars().take(SHOWN_CLIENT_ID_CHARS).collect();
    shown.push_str("...");
    shown
}

/// Check the request. `Err` says how to refuse it.
pub async fn check(s: &AppState, p: &Params) -> Result<Checked, Rejection> {
    // Refused on a page, not at the redirect: a long `state` is not echoed.
    if let Some(k) = p.too_long() {
        return Err(Rejection::Page(format!(
            "The parameter '{}' is longer than {MAX_PARAM_BYTES} bytes.",
            clean(&k.chars().take(64).collect::<String>())
        )));
    }
    for k in ["client_id", "redirect_uri", "response_mode"] {
        if p.0.get(k).is_some_and(Option::is_none) {
            return Err(Rejection::Page(format!(
                "The parameter '{k}' was sent more than once."
            )));
        }
    }
    let Some(client_id) = p.get("client_id") else {
        return Err(Rejection::Page(
            "The request is missing a required parameter: client_id.".into(),
        ));
    };
    let Some(client) = s.store.get_client(s.tid(), client_id).await? else {
        return Err(Rejection::Page(format!(
            "Unknown client: {}.",
            clean(&shown_client_id(client_id))
        )));
    };
    let Some(redirect_uri) = p.get("redirect_uri") else {
        return Err(Rejection::Page(
            "The request is missing a required parameter: redirect_uri.".into(),
        ));
    };
    // A callback stored before stored URLs were checked (`javascript:`, a
    // newline) matches nothing: it would otherwise be redirected to.
    if redirect_uri.contains('#')
        || check_stored_url(redirect_uri, UrlRule::Callback).is_err()
        || !any_url_matches(&client.callbacks, redirect_uri)
    {
        return Err(Rejection::Page(
            "Callback URL mismatch. The provided redirect_uri is not in the list of allowed callback URLs.".into(),
        ));
    }
    let mode = match p.get("response_mode") {
        None => Ok(ResponseMode::Query),
        Some(m) => ResponseMode::parse(m).ok_or(m),
    };
    let web_origin = match mode {
        Ok(ResponseMode::WebMessage) => {
            // The response is posted to the window of the redirect's origin,
            // which must be one of the application's allowed web origins.
            let origin = origin_of(redirect_uri);
            match origin {
                Some(o) if client.web_origins.iter().any(|w| origin_matches(w, &o)) => Some(o),
                _ => {
                    return Err(Rejection::Page(
                        "The origin of the redirect_uri is not in the application's Allowed Web Origins, which response_mode=web_message requires.".into(),
                    ));
                }
            }
        }
        _ => None,
    };
    let state = p.get("state").map(str::to_string);
    let fail = |error: &'static str, description: &str| {
        Rejection::Redirect(AuthorizationResponse::error(
            redirect_uri,
            mode.unwrap_or(ResponseMode::Query),
            web_origin.clone(),
            state.as_deref(),
            error,
            &clean(description),
        ))
    };
    let mode = mode.map_err(|m| {
        fail(
            "invalid_request",
            &format!("Unsupported response_mode: {m}"),
        )
    })?;
    if let Some(k) = p.repeated() {
        return Err(fail(
            "invalid_request",
            &format!("The parameter '{k}' was sent more than once."),
        ));
    }
    match p.get("response_type") {
        None => {
            return Err(fail(
                "invalid_request",
                "The request is missing a required parameter: response_type",
            ));
        }
        Some("code") => {}
        Some(other) => {
            return Err(fail(
                "unsupported_response_type",
                &format!("Unsupported response type: {other}"),
            ));
        }
    }
    if p.get("request").is_some() {
        return Err(fail(
            "request_not_supported",
            "Request objects are not supported.",
        ));
    }
    if p.get("request_uri").is_some() {
        return Err(fail(
            "request_uri_not_supported",
            "request_uri is not supported.",
        ));
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(fail(
            "unauthorized_client",
            "Grant type 'authorization_code' not allowed for the client.",
        ));
    }
    let code_challenge = match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method was sent without a code_challenge.",
            ));
        }
        (Some(c), method) => {
            if method != Some("S256") {
                return Err(fail(
                    "invalid_request",
                    "Unsupported code_challenge_method: use S256 (plain is not allowed).",
                ));
            }
            // BASE64URL(SHA-256(verifier)): 43 characters, no padding.
            if c.len() != 43
                || !c
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(fail(
                    "invalid_request",
                    "The code_challenge is not a base64url SHA-256 value (43 characters).",
                ));
            }
            Some(c.to_string())
        }
    };
    if client.token_endpoint_auth_method == "none" && code_challenge.is_none() {
        return Err(fail(
            "invalid_request",
            "PKCE is required for public clients: send code_challenge and code_challenge_method=S256.",
        ));
    }
    let mut scope: Vec<String> = Vec::new();
    for sc in p.get("scope").unwrap_or_default().split_whitespace() {
        if !scope.iter().any(|x| x == sc) {
            scope.push(sc.to_string());
        }
    }
    let audience = p.get("audience").map(str::to_string);
    if let Err(e) = crate::tokens::user_audience(s, audience.as_deref()).await {
        return Err(fail("access_denied", &e.description));
    }
    let connection = p.get("connection").map(str::to_string);
    if let Some(name) = &connection
        && enabled_connection(s, &client, Some(name)).await?.is_none()
    {
        return Err(fail(
            "invalid_request",
            &format!("The connection '{name}' does not exist or is not enabled for this client."),
        ));
    }
    let prompts: Vec<&str> = p
        .get("prompt")
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(fail(
            "invalid_request",
            "prompt=none cannot be combined with other prompt values.",
        ));
    }
    let max_age = match p.get("max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(fail(
                    "invalid_request",
                    "max_age must be a non-negative number of seconds.",
                ));
            }
        },
    };
    let request = AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        response_mode: mode,
        state,
        nonce: p.get("nonce").map(str::to_string),
        scope,
        audience,
        code_challenge,
        connection,
        prompt_login: prompts.contains(&"login"),
        max_age,
        login_hint: p.get("login_hint").map(str::to_string),
        ui_locales: p
            .get("ui_locales")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        signup_first: p.get("screen_hint") == Some("signup"),
        event_request: Default::default(),
    };
    Ok(Checked {
        client,
        request,
        prompt_none,
    })
}

/// The database connection the hosted pages use for `client`: the one named
/// (when it is enabled for the client), else the client's first enabled
/// database connection.
pub async fn enabled_connection(
    s: &AppState,
    client: &Client,
    name: Option<&str>,
) -> tern_core::CoreResult<Option<Connection>> {
    let enabled =
        |c: &Connection| c.strategy == "auth0" && c.enabled_clients.contains(&client.client_id);
    Ok(match name {
        Some(n) => s
            .store
            .get_connection_by_name(s.tid(), n)
            .await?
            .filter(enabled),
        None => s
            .store
            .list_connections(s.tid())
            .await?
            .into_iter()
            .find(enabled),
    })
}
