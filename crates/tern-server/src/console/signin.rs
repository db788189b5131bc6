//! Operators sign in to the console through Tern's own browser login, as
//! any application does: `/console/login` sends the browser to
//! `/authorize` for the console application (authorization code, PKCE
//! S256, `state`, `nonce`), the hosted pages check the password — with the
//! operators' connection's brute-force protection, suspicious-IP
//! throttling and the tenant's MFA — and `/console/callback` redeems the
//! code through `code_grant` (the service behind `/oauth/token`, called
//! directly), verifies the ID token strictly and starts the console
//! session. Signing out ends the console session and then the SSO session
//! through `/v2/logout`.

use aws_lc_rs::constant_time;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use jsonwebtoken::{Algorithm, Validation};
use maud::html;
use serde::Deserialize;
use tern_core::model::{LogEvent, User};

use super::layout::{onward_page, public_page};
use super::session::{self, OperatorForm};
use super::{audit, operators_connection, see_other};
use crate::client_ip::{self, ClientIp};
use crate::console_app::{CALLBACK_PATH, CLIENT_ID, SIGNED_OUT_PATH};
use crate::routes::authorize::PageQuery;
use crate::state::AppState;
use crate::{code_grant, cookies};

/// The cookie holding a sign-in in progress (`state`, `nonce`, PKCE
/// verifier, when it began). Only this browser holds it: it is
/// `HttpOnly` (on http sent only to the callback), and its three secrets are
/// fresh random values, so a code stolen on its way back is useless
/// without it (PKCE) and a callback this browser did not start is refused
/// (`state`). On https it is `__Host-tern_console_signin` (`Path=/`, as
/// the prefix requires): a sibling subdomain cannot plant its own sign-in
/// to finish in this browser (login CSRF). Its plain name is not read
/// there: its value is no secret of Tern's (the `state`, `nonce` and
/// verifier of whoever made it), so accepting the name anyone under the
/// domain may set would keep that door open; a sign-in started before the
/// upgrade is simply started again.
const PENDING_COOKIE: &str = "tern_console_signin";
/// How long a started sign-in may take, password and second factor
/// included (the cookie's `Max-Age`, and checked on the server's clock).
const PENDING_SECS: i64 = 600;

/// A sign-in this browser started.
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    started_at: i64,
}

impl Pending {
    fn new(now: i64) -> Self {
        let t = tern_core::ids::ticket_token;
        Self {
            state: t(),
            nonce: t(),
            verifier: t(),
            started_at: now,
        }
    }

    /// Alphanumeric parts joined by dots: a valid cookie value as is.
    fn encode(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.state, self.nonce, self.verifier, self.started_at
        )
    }

    fn decode(v: &str) -> Option<Self> {
        let mut parts = v.split('.');
        let (state, nonce, verifier, at) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        Some(Self {
            state: state.into(),
            nonce: nonce.into(),
            verifier: verifier.into(),
            started_at: at.parse().ok()?,
        })
    }

    fn challenge(&self) -> String {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.verifier.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
    }
}

/// The pending sign-in's cookie. `SameSite=Lax`, not `Strict`: the
/// callback is reached by a top-level navigation at the end of a chain of
/// steps (console → `/authorize` → hosted pages → callback), and browsers
/// withhold `Strict` cookies from every request of a redirect chain that
/// another site started — a chain that skips the login form (a sign-in
/// the authorization server answers at once, a login page served under
/// another host name) would then arrive without the cookie and fail.
/// `Lax` still keeps the cookie out of other sites' frames, images and
/// POSTs, and the cookie grants nothing by itself: it only lets this
/// browser finish the sign-in it started.
fn pending_cookie(s: &AppState, value: &str, max_age: i64) -> HeaderValue {
    cookies::set_lax_scoped(&s.public_url, PENDING_COOKIE, value, CALLBACK_PATH, max_age)
}

/// `GET /console/login[?login_hint=]`: off to Tern's login for the
/// console application (a signed-in operator goes to the overview).
pub async fn login(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    q: PageQuery,
) -> Response {
    if let Ok(Some(_)) = session::current(&s, &headers, ip).await {
        return see_other("/console", Vec::new());
    }
    let p = Pending::new(s.now());
    // `prompt=login`: the password (and second factor) every time. An SSO
    // session left by an earlier sign-in lives for days; honouring it here
    // would let a console session that timed out idle come back unasked.
    let mut url = format!(
        "/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={}&scope=openid%20email&prompt=login&state={}&nonce={}&code_challenge={}&code_challenge_method=S256",
        urlencoding::encode(&format!("{}{CALLBACK_PATH}", s.public_url)),
        p.state,
        p.nonce,
        p.challenge(),
    );
    if let Some(hint) = q.get("login_hint") {
        url.push_str("&login_hint=");
        url.push_str(&urlencoding::encode(hint));
    }
    see_other(&url, vec![pending_cookie(&s, &p.encode(), PENDING_SECS)])
}

/// Why a callback does not sign anyone in: a page that says so and
/// offers a fresh start.
fn failed(s: &AppState, status: StatusCode, title: &str, message: &str) -> Response {
    let mut resp = public_page(
        status,
        title,
        html! {
            h1 { (title) }
            p.alert role="alert" { (message) }
            p { a href="/console/login" { "Sign in again" } }
        },
    );
    resp.headers_mut()
        .append(header::SET_COOKIE, pending_cookie(s, "", 0));
    resp
}

/// `GET /console/callback?code=&state=` (or `?error=&error_description=`).
pub async fn callback(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    q: PageQuery,
) -> Response {
    let pending = cookies::get(&headers, &cookies::name(&s.public_url, PENDING_COOKIE));
    let Some(p) = pending.and_then(Pending::decode) else {
        return failed(
            &s,
            StatusCode::BAD_REQUEST,
            "Sign-in not recognised",
            "This browser did not start this sign-in, or it was already finished. Start again from the console.",
        );
    };
    let state_matches = q.get("state").is_some_and(|st| {
        constant_time::verify_slices_are_equal(st.as_bytes(), p.state.as_bytes()).is_ok()
    });
    if !state_matches {
        return failed(
            &s,
            StatusCode::BAD_REQUEST,
            "Sign-in not recognised",
            "The answer from the login page does not belong to the sign-in this browser started (it may come from another tab or another site). Start again.",
        );
    }
    if s.now() >= p.started_at.saturating_add(PENDING_SECS) {
        return failed(
            &s,
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in took longer than 10 minutes. Start again.",
        );
    }
    if let Some(error) = q.get("error") {
        let (title, default) = match error {
            "access_denied" => (
                "Access denied",
                "You are not allowed to sign in to the console.",
            ),
            _ => ("Sign-in failed", "The login page could not sign you in."),
        };
        let message = q.get("error_description").unwrap_or(default);
        return failed(&s, StatusCode::FORBIDDEN, title, message);
    }
    let Some(code) = q.get("code") else {
        return failed(
            &s,
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The login page answered without a code. Start again.",
        );
    };
    // The grant and the session record where the sign-in came from, as the
    // hosted login's do.
    let user_agent = client_ip::user_agent(&headers);
    let user = match finish(&s, code, &p, ip.to_string(), user_agent).await {
        Ok(user) => user,
        Err(Refusal(status, message)) => return failed(&s, status, "Sign-in failed", message),
    };
    match session::start(&s, &user, client_ip::seen(ip.to_string(), &headers)).await {
        Ok(cookie) => {
            // Onward by a page, not a redirect: the console cookie is
            // `Strict`, and a redirect would still belong to the chain
            // another site may have started, which would withhold it.
            let mut resp = onward_page(
                "Signed in",
                "/console",
                html! {
                    h1 { "Signed in" }
                    p { a href="/console" { "Continue to the console" } }
                },
            );
            let h = resp.headers_mut();
            h.append(header::SET_COOKIE, cookie);
            h.append(header::SET_COOKIE, pending_cookie(&s, "", 0));
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "could not start a console session");
            failed(
                &s,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed",
                "The console could not start your session; try again.",
            )
        }
    }
}

struct Refusal(StatusCode, &'static str);

/// Redeem the code as the console application and check who it signs in:
/// an unblocked user of this tenant's operators' connection.
async fn finish(
    s: &AppState,
    code: &str,
    p: &Pending,
    ip: String,
    user_agent: Option<&str>,
) -> Result<User, Refusal> {
    let unavailable = Refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        "The console could not finish the sign-in right now; try again.",
    );
    let client = match s.store.get_client(s.tid(), CLIENT_ID).await {
        Ok(Some(c)) => c,
        _ => return Err(unavailable),
    };
    let redirect_uri = format!("{}{CALLBACK_PATH}", s.public_url);
    let tokens = code_grant::exchange(
        s,
        code_grant::Exchange {
            client: &client,
            code,
            redirect_uri: Some(&redirect_uri),
            code_verifier: Some(&p.verifier),
            ip,
            user_agent,
            // Tern redeems the code itself, server-side.
            caller: crate::refresh::Caller::Server,
        },
    )
    .await
    .map_err(|_| {
        Refusal(
            StatusCode::BAD_REQUEST,
            "The sign-in code was refused (expired, already used, or not this browser's). Start again.",
        )
    })?;
    let id_token = tokens["id_token"].as_str().unwrap_or_default();
    let sub = verify_id_token(s, id_token, &p.nonce).await.ok_or(Refusal(
        StatusCode::BAD_REQUEST,
        "The identity token of this sign-in could not be verified. Start again.",
    ))?;
    let operators = match operators_connection(s).await {
        Ok(Some(c)) => c,
        _ => return Err(unavailable),
    };
    match s.store.get_user(s.tid(), &sub).await {
        Ok(Some(u)) if u.connection_id == operators.id && !u.blocked => Ok(u),
        Ok(_) => Err(Refusal(
            StatusCode::FORBIDDEN,
            "This account is not an operator of this console.",
        )),
        Err(_) => Err(unavailable),
    }
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    exp: i64,
    nonce: Option<String>,
}

/// The `sub` of an ID token Tern issued to the console for this sign-in:
/// RS256 with one of the tenant's keys, this issuer, the console as its
/// audience, not expired on the server's clock, and this sign-in's nonce.
async fn verify_id_token(s: &AppState, token: &str, nonce: &str) -> Option<String> {
    let key = s.keys.rs256_key_for(token).await?;
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[s.issuer()]);
    v.set_audience(&[CLIENT_ID]);
    v.set_required_spec_claims(&["iss", "aud", "sub", "exp"]);
    // Expiry is judged on the server's (injectable) clock below.
    v.validate_exp = false;
    let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &v)
        .ok()?
        .claims;
    let nonce_matches = claims.nonce.as_deref().is_some_and(|n| {
        constant_time::verify_slices_are_equal(n.as_bytes(), nonce.as_bytes()).is_ok()
    });
    (nonce_matches && claims.exp > s.now()).then_some(claims.sub)
}

/// `POST /console/logout`: end the console session, then the SSO session
/// at `/v2/logout`, which returns to the signed-out page.
pub async fn logout(State(s): State<AppState>, OperatorForm { op, .. }: OperatorForm) -> Response {
    let cookie = match session::end(&s, &op).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "could not end a console session");
            session::clear(&s)
        }
    };
    let mut ev = LogEvent::new("slo", "Console: operator signed out");
    ev.user_id = Some(op.user.user_id.clone());
    ev.user_name = op.user.email.clone();
    audit(&s, &op, ev).await;
    let to = format!(
        "/v2/logout?client_id={CLIENT_ID}&returnTo={}",
        urlencoding::encode(&format!("{}{SIGNED_OUT_PATH}", s.public_url))
    );
    see_other(&to, vec![cookie])
}

/// `GET /console/signed-out`.
pub async fn signed_out() -> Response {
    public_page(
        StatusCode::OK,
        "Signed out",
        html! {
            h1 { "Signed out" }
            p.text { "You are signed out of the console and of Tern's login." }
            p { a href="/console/login" { "Sign in again" } }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_sign_in_survives_its_cookie() {
        let p = Pending::new(1_700_000_000);
        let back = Pending::decode(&p.encode()).unwrap();
        assert_eq!(
            (back.state, back.nonce, back.verifier, back.started_at),
            (
                p.state.clone(),
                p.nonce.clone(),
                p.verifier.clone(),
                p.started_at
            )
        );
        assert_eq!(p.challenge().len(), 43);
        for bad in ["", "a.b.c", "a.b.c.notanumber"] {
            assert!(Pending::decode(bad).is_none(), "{bad}");
        }
    }
}
