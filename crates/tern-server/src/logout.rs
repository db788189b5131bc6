//! Logout: `GET /v2/logout` (Auth0's) and `GET|POST /oidc/logout`
//! (OpenID RP-Initiated Logout). Both end the browser's SSO session and
//! send the browser back only to a URL the application (or, without one,
//! the tenant) lists in `allowed_logout_urls`, matched exactly — query
//! included — so logout is never an open redirect.

use axum::http::{HeaderMap, HeaderValue};
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use tern_core::CoreResult;
use tern_core::model::{Client, LogEvent};
use tern_core::sso::Session;
use tern_core::url_match::{UrlRule, any_url_matches, check_stored_url};

use crate::sessions;
use crate::state::AppState;

/// Whether a logout may send the browser to `url`: it matches an entry of
/// `allowed`, and is an `http(s)` URL as the browser will read it. An entry
/// stored before allowed logout URLs were checked (`javascript:`, a
/// newline) matches itself exactly, yet is never followed.
fn may_return_to(allowed: &[String], url: &str) -> bool {
    followable(url) && any_url_matches(allowed, url)
}

/// An `http(s)` URL without a wildcard, read by the browser as written.
fn followable(url: &str) -> bool {
    check_stored_url(url, UrlRule::Web).is_ok()
}

/// Where a logout sends the browser.
#[derive(Debug)]
pub enum Outcome {
    /// Back to the application (a checked URL).
    Redirect(String),
    /// A "you are logged out" page.
    LoggedOut,
    /// Ask before logging out (`/oidc/logout` without a hint): the form
    /// posts back with `logout_hint` set to the session's id, which a page
    /// on another site cannot know.
    Confirm {
        /// The session id to post back.
        sid: String,
        /// Where the confirmed logout returns (the checked
        /// `post_logout_redirect_uri`): the form's page must allow it as a
        /// form target, since the post is answered with a redirect there.
        target: Option<String>,
    },
    /// Refused; nothing was ended. The message says why.
    Refused(String),
}

/// The result and the `Set-Cookie` clearing the session cookie (when a
/// session was ended).
pub struct Done {
    /// What to answer.
    pub outcome: Outcome,
    /// Clears the session cookie.
    pub cookie: Option<HeaderValue>,
}

/// `/v2/logout?returnTo=…&client_id=…`.
pub async fn v2(
    s: &AppState,
    headers: &HeaderMap,
    return_to: Option<&str>,
    client_id: Option<&str>,
    ip: &str,
) -> CoreResult<Done> {
    let client = match client_id {
        Some(id) => match s.store.get_client(s.tid(), id).await? {
            Some(c) => Some(c),
            None => return refused(s, None, ip, "Unknown client_id.").await,
        },
        None => None,
    };
    let allowed = match &client {
        Some(c) => c.allowed_logout_urls.clone(),
        None => {
            s.store
                .get_tenant_settings(s.tid())
                .await?
                .allowed_logout_urls
        }
    };
    let target = match return_to {
        Some(url) if may_return_to(&allowed, url) => Some(url.to_string()),
        Some(_) => {
            let why = if client.is_some() {
                "The returnTo URL is not in the application's Allowed Logout URLs."
            } else {
                "The returnTo URL is not in the tenant's Allowed Logout URLs (or send client_id to use the application's)."
            };
            return refused(s, client.as_ref(), ip, why).await;
        }
        // Auth0: with a client and no returnTo, the first allowed URL (the
        // first one that can be followed: not a wildcard, nor one stored
        // before the list was checked).
        None => client
            .as_ref()
            .and_then(|c| c.allowed_logout_urls.iter().find(|u| followable(u)))
            .cloned(),
    };
    let (ended, cookie) = sessions::end(s, headers).await?;
    logged(s, client.as_ref(), ended.as_ref(), ip).await;
    Ok(Done {
        outcome: target.map_or(Outcome::LoggedOut, Outcome::Redirect),
        cookie: Some(cookie),
    })
}

/// The parameters of `/oidc/logout`.
#[derive(Debug, Default)]
pub struct OidcLogout<'a> {
    /// An ID token Tern issued to the application.
    pub id_token_hint: Option<&'a str>,
    /// The session id (`sid`) to end.
    pub logout_hint: Option<&'a str>,
    /// Where to go afterwards.
    pub post_logout_redirect_uri: Option<&'a str>,
    /// The application.
    pub client_id: Option<&'a str>,
    /// Echoed to the redirect.
    pub state: Option<&'a str>,
}

#[derive(Deserialize)]
struct HintClaims {
    aud: serde_json::Value,
    sub: String,
    #[serde(default)]
    sid: Option<String>,
}

/// Verify an ID token Tern signed (its signature and issuer; an expired
/// one is still a good hint of who is logging out, as the spec allows).
async fn verify_hint(s: &AppState, token: &str) -> Option<HintClaims> {
    let key = s.keys.rs256_key_for(token).await?;
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[s.issuer()]);
    v.validate_exp = false;
    v.validate_aud = false;
    v.set_required_spec_claims(&["iss", "aud", "sub"]);
    jsonwebtoken::decode::<HintClaims>(token, &key, &v)
        .ok()
        .map(|d| d.claims)
}

/// `/oidc/logout`.
pub async fn oidc(
    s: &AppState,
    headers: &HeaderMap,
    p: OidcLogout<'_>,
    ip: &str,
) -> CoreResult<Done> {
    let hint = match p.id_token_hint {
        Some(t) => match verify_hint(s, t).await {
            Some(h) => Some(h),
            None => {
                return refused(
                    s,
                    None,
                    ip,
                    "The id_token_hint is not a valid ID token issued by this server.",
                )
                .await;
            }
        },
        None => None,
    };
    let aud = hint.as_ref().and_then(|h| match &h.aud {
        serde_json::Value::String(a) => Some(a.clone()),
        serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_string),
        _ => None,
    });
    if let (Some(id), Some(a)) = (p.client_id, &aud)
        && id != a
    {
        return refused(
            s,
            None,
            ip,
            "The client_id does not match the audience of the id_token_hint.",
        )
        .await;
    }
    let client_id = p.client_id.map(str::to_string).or(aud);
    let client = match &client_id {
        Some(id) => match s.store.get_client(s.tid(), id).await? {
            Some(c) => Some(c),
            None => return refused(s, None, ip, "Unknown client.").await,
        },
        None => None,
    };
    if let (Some(lh), Some(sid)) = (p.logout_hint, hint.as_ref().and_then(|h| h.sid.as_deref()))
        && lh != sid
    {
        return refused(
            s,
            client.as_ref(),
            ip,
            "The logout_hint does not match the session of the id_token_hint.",
        )
        .await;
    }
    let target = match p.post_logout_redirect_uri {
        None => None,
        Some(uri) => {
            let Some(c) = &client else {
                return refused(
                    s,
                    None,
                    ip,
                    "post_logout_redirect_uri needs an id_token_hint or a client_id.",
                )
                .await;
            };
            if !may_return_to(&c.allowed_logout_urls, uri) {
                return refused(
                    s,
                    Some(c),
                    ip,
                    "The post_logout_redirect_uri is not in the application's Allowed Logout URLs.",
                )
                .await;
            }
            let mut url = uri.to_string();
            if let Some(st) = p.state {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("state=");
                url.push_str(&urlencoding::encode(st));
            }
            Some(url)
        }
    };
    let session = sessions::current(s, headers).await?;
    // Whose session may this request end? The one the ID token names (its
    // user, or exactly its `sid`), or the one `logout_hint` names.
    let confirmed = match (&session, &hint, p.logout_hint) {
        (None, _, _) => true,
        (Some(sess), Some(h), _) => h
            .sid
            .as_deref()
            .map_or(h.sub == sess.user_id, |sid| sid == sess.sid),
        (Some(sess), None, Some(lh)) => lh == sess.sid,
        (Some(_), None, None) => false,
    };
    if !confirmed {
        if let (Some(sess), None, None) = (&session, &hint, p.logout_hint) {
            return Ok(Done {
                outcome: Outcome::Confirm {
                    sid: sess.sid.clone(),
                    target,
                },
                cookie: None,
            });
        }
        // A hint for another session: leave this browser's session alone.
        logged(s, client.as_ref(), None, ip).await;
        return Ok(Done {
            outcome: target.map_or(Outcome::LoggedOut, Outcome::Redirect),
            cookie: None,
        });
    }
    let (ended, cookie) = sessions::end(s, headers).await?;
    logged(s, client.as_ref(), ended.as_ref(), ip).await;
    Ok(Done {
        outcome: target.map_or(Outcome::LoggedOut, Outcome::Redirect),
        cookie: Some(cookie),
    })
}

async fn refused(s: &AppState, client: Option<&Client>, ip: &str, why: &str) -> CoreResult<Done> {
    let mut ev = LogEvent::new("flo", why);
    ev.client_id = client.map(|c| c.client_id.clone());
    ev.client_name = client.map(|c| c.name.clone());
    ev.ip = Some(ip.to_string());
    s.log(ev).await;
    Ok(Done {
        outcome: Outcome::Refused(why.to_string()),
        cookie: None,
    })
}

async fn logged(s: &AppState, client: Option<&Client>, ended: Option<&Session>, ip: &str) {
    let mut ev = LogEvent::new("slo", "Success Logout");
    ev.client_id = client.map(|c| c.client_id.clone());
    ev.client_name = client.map(|c| c.name.clone());
    ev.ip = Some(ip.to_string());
    ev.user_id = ended.map(|x| x.user_id.clone());
    s.log(ev).await;
}
