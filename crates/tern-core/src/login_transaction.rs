//! A login transaction: an authorization request (`/authorize`) waiting for
//! the user to sign in on the hosted pages. Its id is the `state` the pages
//! carry (Auth0's own `state`, not the application's); a cookie set with it
//! binds it to the browser that started it, so a login form cannot be
//! submitted into somebody else's transaction (login CSRF).
//!
//! The transaction moves through steps: `Login` (the pages ask for a
//! password, or a signup) until a user is authenticated, then
//! `Authenticated`, which `/authorize/resume` turns into a session and an
//! authorization code. A later factor (MFA) is a step between the two: the
//! password step would end in a step of its own, and only the last factor
//! leads to `Authenticated`.

use serde::{Deserialize, Serialize};

use crate::actions::{EventRequest, PausedActions};
use crate::model::LogEvent;
use crate::store::LoginRecord;

/// A hosted password login's record (`UserStore::record_login`: the `s`
/// event, `last_login` and `logins_count`, a rehashed credential, forgotten
/// failures), held by the transaction from the password until
/// `/authorize/resume` finishes it: a login the post-login actions refuse,
/// or whose user never passes the second factor, is not a successful one
/// and leaves only its own events, as a refused password grant does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeferredLoginRecord {
    /// When the password was checked (ISO 8601).
    pub at: String,
    /// From where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The password hashed under the current policy, when the stored hash
    /// was not (a hash as the user's row holds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_credential: Option<String>,
    /// The credential the password was checked against, which
    /// `new_credential` replaces only while still stored (a reset while the
    /// login waited keeps its new password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces_credential: Option<String>,
    /// See [`LoginRecord::forget_failures_from`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forget_failures_from: Option<String>,
    /// The tenant log's event.
    pub event: LogEvent,
}

impl DeferredLoginRecord {
    /// The record of `user_id`'s login, as the store writes it.
    pub fn for_user<'a>(&'a self, user_id: &'a str) -> LoginRecord<'a> {
        LoginRecord {
            user_id,
            at: &self.at,
            ip: self.ip.as_deref(),
            new_credential: self.new_credential.as_deref(),
            replaces_credential: self.replaces_credential.as_deref(),
            forget_failures_from: self.forget_failures_from.as_deref(),
            event: &self.event,
        }
    }
}

/// How the authorization response reaches the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// A redirect with the response in the query string (the default for `code`).
    Query,
    /// An auto-submitting HTML form posting the response to the callback.
    FormPost,
    /// A page that `postMessage`s the response to the application's window
    /// (silent authentication in an iframe, popups).
    WebMessage,
}

impl ResponseMode {
    /// From the `response_mode` parameter.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "query" => Self::Query,
            "form_post" => Self::FormPost,
            "web_message" => Self::WebMessage,
            _ => return None,
        })
    }
}

/// A validated `/authorize` request: what the code will be bound to and how
/// the answer goes back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The application.
    pub client_id: String,
    /// The callback, one of the client's `callbacks`.
    pub redirect_uri: String,
    /// How to answer.
    pub response_mode: ResponseMode,
    /// The application's `state`, echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Copied into the ID token when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Requested scopes, in request order, without duplicates.
    pub scope: Vec<String>,
    /// The API the access token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// PKCE S256 challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    /// The database connection the user must sign in with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// `prompt=login`: ask for credentials even with a session.
    #[serde(default)]
    pub prompt_login: bool,
    /// `max_age` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
    /// Pre-fills the identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// Preferred languages of the pages, most preferred first.
    #[serde(default)]
    pub ui_locales: Vec<String>,
    /// `screen_hint=signup`: open the signup page first.
    #[serde(default)]
    pub signup_first: bool,
    /// The request as the post-login actions see it (`event.request`):
    /// its method and parameters, secrets removed.
    #[serde(default)]
    pub event_request: EventRequest,
}

/// Where a transaction stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum TransactionStep {
    /// Waiting for the user to sign in (or sign up).
    Login,
    /// The password was right; the user must enter the code of their
    /// authenticator app (`/u/mfa-otp-challenge`).
    MfaOtp {
        /// The user.
        user_id: String,
        /// Their connection.
        connection_id: String,
        /// When the password was checked (epoch seconds).
        auth_time: i64,
        /// The password step's record, written when the login finishes
        /// (`None`: the step began from a session, or a signup).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<Box<DeferredLoginRecord>>,
    },
    /// The password was right and a factor is required, but the user has
    /// none: they enrol an authenticator app and enter its first code
    /// (`/u/mfa-otp-enrollment-qr`). The seed waits here, sealed: it is
    /// this transaction's, so no other transaction (another browser that
    /// knows the password) can show or confirm it. The pages check at every
    /// request that the user still has no factor; once they have one, the
    /// transaction moves to `MfaOtp`.
    MfaOtpEnrol {
        /// The user.
        user_id: String,
        /// Their connection.
        connection_id: String,
        /// When the password was checked (epoch seconds).
        auth_time: i64,
        /// The seed shown on this transaction's enrolment page, sealed as
        /// stored seeds are (bound to tenant and user); `None` until the
        /// page is first shown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<String>,
        /// The password step's record, written when the login finishes
        /// (`None`: the step began from a session, or a signup).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<Box<DeferredLoginRecord>>,
    },
    /// The user proved who they are and a post-login action sent the
    /// browser elsewhere (`api.redirect.sendUserTo`): `/continue` with the
    /// `state` the redirect carried resumes the actions, then finishes as
    /// `/authorize/resume` does.
    ActionRedirect {
        /// Who, as for `Authenticated` (the same stored fields, flattened).
        #[serde(flatten)]
        who: Proven,
        /// Where the actions stopped (boxed: the claims make it the largest step).
        paused: Box<PausedActions>,
    },
    /// The user proved who they are; `/authorize/resume` may finish.
    Authenticated(Proven),
}

/// A transaction's user who proved who they are: what finishing the login
/// needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proven {
    /// The user.
    pub user_id: String,
    /// Their connection.
    pub connection_id: String,
    /// When they authenticated (epoch seconds).
    pub auth_time: i64,
    /// Methods beyond the password (`["mfa"]`), for the ID token's `amr`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The password step's record, written when the login finishes
    /// (`None`: the step began from a session, or a signup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Box<DeferredLoginRecord>>,
}

/// A stored transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginTransaction {
    /// The `state` of the hosted pages: 43 random alphanumerics.
    pub id: String,
    /// SHA-256 of the value of the cookie that binds it to one browser.
    pub cookie_hash: String,
    /// The request being served.
    pub request: AuthorizationRequest,
    /// Where it stands.
    pub step: TransactionStep,
    /// Epoch second after which it is gone.
    pub expires_at: i64,
}

/// How long a user has to finish signing in (Auth0 keeps transactions "a set
/// time"; an hour covers a password reset in another tab).
pub const TRANSACTION_LIFETIME_SECS: i64 = 3600;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Transactions are stored as JSON and live up to an hour across an
    /// upgrade: the steps read what earlier builds wrote, field for field.
    #[test]
    fn steps_read_the_stored_shape() {
        let authenticated = json!({"step": "authenticated", "user_id": "auth0|1",
            "connection_id": "con_1", "auth_time": 5, "amr": ["mfa"]});
        let step: TransactionStep = serde_json::from_value(authenticated.clone()).unwrap();
        let TransactionStep::Authenticated(who) = &step else {
            panic!("{step:?}");
        };
        assert_eq!(
            (who.user_id.as_str(), who.auth_time, who.amr.as_slice()),
            ("auth0|1", 5, ["mfa".to_string()].as_slice())
        );
        assert_eq!(serde_json::to_value(&step).unwrap(), authenticated);

        let redirect = json!({"step": "action_redirect", "user_id": "auth0|1",
            "connection_id": "con_1", "auth_time": 5,
            "paused": {"nonce": "n", "action_id": "act_1"}});
        let step: TransactionStep = serde_json::from_value(redirect).unwrap();
        let TransactionStep::ActionRedirect { who, paused } = &step else {
            panic!("{step:?}");
        };
        assert_eq!(
            (who.connection_id.as_str(), who.record.is_none()),
            ("con_1", true)
        );
        assert_eq!(paused.action_id, "act_1");
        let stored = serde_json::to_value(&step).unwrap();
        assert_eq!(stored["user_id"], "auth0|1", "{stored}");
        assert!(stored.get("amr").is_none(), "{stored}");
    }
}
