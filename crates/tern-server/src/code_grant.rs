//! Authorization codes: issued at the end of a browser sign-in, exchanged
//! once at `POST /oauth/token` (`grant_type=authorization_code`).
//!
//! A code is 256 random bits, lives a minute, and is bound to the client,
//! the callback, the PKCE challenge, the nonce, the scopes and the API. The
//! first exchange consumes it whatever the outcome; a second one is refused
//! and revokes the grant the first one created, so tokens obtained with a
//! stolen code stop working (refresh tokens at once, access tokens at
//! `/userinfo`).

use axum::http::StatusCode;
use base64::Engine;
use serde_json::Value;
use tern_core::CoreResult;
use tern_core::grants::{
    AuthorizationCode, CODE_LIFETIME_SECS, CodeDetails, CodeRedemption, Grant, GrantDetails,
};
use tern_core::login_transaction::AuthorizationRequest;
use tern_core::model::{Client, LogEvent};

use crate::client_secret::hash_secret;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::{entitlement, rbac, refresh, tokens};

/// Issue a code for `request`, on behalf of `user_id` signed in by session `sid`.
pub async fn issue(
    s: &AppState,
    request: &AuthorizationRequest,
    user_id: &str,
    sid: &str,
    auth_time: i64,
) -> CoreResult<String> {
    issue_amr(s, request, user_id, sid, auth_time, &[], None).await
}

/// [`issue`] for a login that also passed `amr` (`["mfa"]`).
pub async fn issue_amr(
    s: &AppState,
    request: &AuthorizationRequest,
    user_id: &str,
    sid: &str,
    auth_time: i64,
    amr: &[String],
    action_claims: Option<tern_core::actions::ActionClaims>,
) -> CoreResult<String> {
    let code = tern_core::ids::ticket_token();
    s.store
        .insert_authorization_code(
            s.tid(),
            &AuthorizationCode {
                code_hash: hash_secret(&code),
                client_id: request.client_id.clone(),
                expires_at: s.now().saturating_add(CODE_LIFETIME_SECS),
                used_at: None,
                grant_id: None,
                details: CodeDetails {
                    redirect_uri: request.redirect_uri.clone(),
                    user_id: user_id.to_string(),
                    scope: request.scope.clone(),
                    audience: request.audience.clone(),
                    nonce: request.nonce.clone(),
                    code_challenge: request.code_challenge.clone(),
                    sid: sid.to_string(),
                    auth_time,
                    amr: amr.to_vec(),
                    action_claims,
                },
            },
        )
        .await?;
    Ok(code)
}

/// The parameters of a code exchange.
pub struct Exchange<'a> {
    /// The authenticated client.
    pub client: &'a Client,
    /// `code`.
    pub code: &'a str,
    /// `redirect_uri`.
    pub redirect_uri: Option<&'a str>,
    /// `code_verifier` (PKCE).
    pub code_verifier: Option<&'a str>,
    /// The caller's address, for the log and the grant's device.
    pub ip: String,
    /// The caller's `User-Agent`, for the grant's device.
    pub user_agent: Option<&'a str>,
    /// A browser gets only a rotating refresh token (see [`refresh::issuable`]).
    pub caller: refresh::Caller,
}

fn invalid_grant(description: &str) -> OAuthError {
    // RFC 6749 §5.2: 400 for invalid_grant.
    OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// `grant_type=authorization_code`: tokens for a code, or why not (logged
/// as `seacft` / `feacft`).
pub async fn exchange(s: &AppState, x: Exchange<'_>) -> Result<Value, OAuthError> {
    let outcome = redeem(s, &x).await;
    let mut ev = LogEvent::new("seacft", "Authorization Code for Access Token");
    ev.client_id = Some(x.client.client_id.clone());
    ev.client_name = Some(x.client.name.clone());
    ev.ip = Some(x.ip.clone());
    match outcome {
        Ok((body, user_id)) => {
            ev.user_id = Some(user_id);
            s.log(ev).await;
            Ok(body)
        }
        Err(e) => {
            ev.kind = "feacft".into();
            ev.description = Some(e.description.clone());
            s.log(ev).await;
            Err(e)
        }
    }
}

async fn redeem(s: &AppState, x: &Exchange<'_>) -> Result<(Value, String), OAuthError> {
    if !x
        .client
        .grant_types
        .iter()
        .any(|g| g == "authorization_code")
    {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "Grant type 'authorization_code' not allowed for the client.",
        ));
    }
    let now = s.now();
    let grant_id = format!("gr_{}", &tern_core::ids::ticket_token()[..24]);
    let code_hash = hash_secret(x.code);
    let code = match s
        .store
        .redeem_authorization_code(s.tid(), &code_hash, &x.client.client_id, now, &grant_id)
        .await?
    {
        // Another client's code is as unknown to this one: not burnt.
        CodeRedemption::Unknown => return Err(invalid_grant("Invalid authorization code")),
        CodeRedemption::Reused(code) => {
            if let Some(g) = &code.grant_id {
                s.store
                    .revoke_grant(s.tid(), g, now, "authorization code reused")
                    .await?;
            }
            return Err(reused());
        }
        CodeRedemption::Redeemed(code) => code,
    };
    let d = &code.details;
    if now >= code.expires_at {
        return Err(invalid_grant("Invalid authorization code: it expired."));
    }
    if x.redirect_uri != Some(d.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "The redirect_uri does not match the one of the authorization request.",
        ));
    }
    check_pkce(d.code_challenge.as_deref(), x.code_verifier)?;
    // What the login checked, checked again: between `/authorize` and
    // now the user may have been blocked or deleted (a user created after
    // the code was issued reuses a deleted user's id: the code was never
    // theirs), or their connection taken from the application.
    let user = entitlement::check(s, &x.client.client_id, &d.user_id, code_issued_at(&code))
        .await?
        .map_err(|r| r.invalid_grant(StatusCode::BAD_REQUEST))?;
    let api = tokens::user_audience(s, d.audience.as_deref()).await?;
    let mut scopes = tokens::granted_scopes(&d.scope, api.as_ref());
    let permissions = rbac::narrow(s, &user.user_id, api.as_ref(), &mut scopes).await?;
    refresh::settle_scopes(x.client, api.as_ref(), &mut scopes, x.caller);
    let grant = Grant {
        id: grant_id,
        client_id: x.client.client_id.clone(),
        user_id: user.user_id.clone(),
        created_at: now,
        revoked_at: None,
        details: GrantDetails {
            scope: scopes.clone(),
            audience: d.audience.clone(),
            sid: Some(d.sid.clone()),
            auth_time: d.auth_time,
            amr: d.amr.clone(),
            revoked_reason: None,
            made_from: tern_core::device::Seen::new(x.ip.clone(), x.user_agent),
        },
        metadata: Default::default(),
    };
    s.store.insert_grant(s.tid(), &grant).await?;
    // A replay between the claim and this insert revoked a grant that did
    // not exist yet; it recorded itself on the code, so revoke it now.
    if s.store
        .authorization_code_reused(s.tid(), &code_hash)
        .await?
    {
        s.store
            .revoke_grant(s.tid(), &grant.id, now, "authorization code reused")
            .await?;
        return Err(reused());
    }
    let amr: Vec<&str> = d.amr.iter().map(String::as_str).collect();
    let mut body = tokens::user_tokens_amr(
        s,
        &tokens::UserTokens {
            client: x.client,
            user: &user,
            api: api.as_ref(),
            scopes: &scopes,
            permissions: permissions.as_deref(),
            gty: "authorization_code",
            nonce: d.nonce.as_deref(),
            auth_time: d.auth_time,
            sid: Some(&d.sid),
            grant_id: Some(&grant.id),
            claims: d.action_claims.as_ref(),
        },
        &amr,
    )?;
    if refresh::issuable(x.client, api.as_ref(), &scopes, x.caller) {
        body["refresh_token"] = serde_json::json!(refresh::issue(s, x.client, &grant).await?);
    }
    Ok((body, user.user_id))
}

fn reused() -> OAuthError {
    invalid_grant(
        "Invalid authorization code: it was already used; the tokens issued for it are revoked.",
    )
}

/// RFC 7636: with a challenge, the verifier must hash to it; without one, a
/// verifier is refused (a downgrade: the code was not bound to any).
fn check_pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(invalid_grant(
            "A code_verifier was sent, but the authorization request had no code_challenge.",
        )),
        (Some(_), None) => Err(invalid_grant("Missing required parameter: code_verifier")),
        (Some(c), Some(v)) => {
            let well_formed = (43..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, v.as_bytes());
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref());
            if well_formed
                && aws_lc_rs::constant_time::verify_slices_are_equal(
                    computed.as_bytes(),
                    c.as_bytes(),
                )
                .is_ok()
            {
                Ok(())
            } else {
                Err(invalid_grant("Failed to verify code_verifier"))
            }
        }
    }
}

/// When a code was issued: it lives `CODE_LIFETIME_SECS` from then.
fn code_issued_at(code: &AuthorizationCode) -> i64 {
    code.expires_at.saturating_sub(CODE_LIFETIME_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_as_rfc7636_appendix_b() {
        // RFC 7636 Appendix B's example.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_pkce(Some(challenge), Some(verifier)).is_ok());
        assert!(
            check_pkce(
                Some(challenge),
                Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx")
            )
            .is_err()
        );
        assert!(check_pkce(Some(challenge), None).is_err());
        assert!(check_pkce(None, Some(verifier)).is_err());
        assert!(check_pkce(None, None).is_ok());
        assert!(check_pkce(Some(challenge), Some(challenge)).is_err());
    }
}
