//! Auth0 Actions: code a tenant binds to a trigger, run by the server in the
//! script sandbox. Only the `post-login` trigger is served. An action keeps a
//! draft (`code`, `runtime`, `secrets`) that edits change, and the version a
//! deploy snapshotted from it, which is what runs: editing the draft changes
//! nothing until the next deploy.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The one trigger Tern runs actions for.
pub const POST_LOGIN: &str = "post-login";

/// The runtime an action gets when none is named (Auth0's default).
pub const DEFAULT_RUNTIME: &str = "node22";

/// An action: its draft and, once deployed, the version that runs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Action {
    /// Auth0's uuid form.
    pub id: String,
    /// Unique in the tenant.
    pub name: String,
    /// Trigger ids (only `post-login` is accepted).
    pub supported_triggers: Vec<String>,
    /// The draft's source.
    pub code: String,
    /// The draft's runtime (`node22`, …); recorded, the sandbox is the same.
    pub runtime: String,
    /// npm modules the draft depends on (only modules the sandbox provides).
    #[serde(default)]
    pub dependencies: Vec<Value>,
    /// The draft's secrets, values sealed.
    #[serde(default)]
    pub secrets: Vec<ActionSecret>,
    /// ISO time of creation.
    pub created_at: String,
    /// ISO time of the last change to the draft.
    pub updated_at: String,
    /// The deployed version, when there is one.
    #[serde(default)]
    pub deployed: Option<ActionVersion>,
    /// How many times the stored action was replaced: a write names the
    /// revision it read and is refused if another landed since (a deploy
    /// would otherwise undo a draft saved meanwhile). Tern's own, never
    /// answered; 0 for actions stored before it existed.
    #[serde(default)]
    pub revision: u64,
}

/// A secret of an action: a name and a value sealed by the server's key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActionSecret {
    /// What the code reads as `event.secrets.NAME`.
    pub name: String,
    /// The value, sealed (never stored or answered in clear).
    pub sealed: String,
    /// ISO time the value was set.
    pub updated_at: String,
}

/// What a deploy snapshotted from the draft.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActionVersion {
    /// Auth0's uuid form.
    pub id: String,
    /// 1 for the first deploy, then counting.
    pub number: u64,
    /// The source that runs.
    pub code: String,
    /// The runtime recorded.
    pub runtime: String,
    /// npm modules, as deployed.
    #[serde(default)]
    pub dependencies: Vec<Value>,
    /// The secrets as they were at the deploy.
    #[serde(default)]
    pub secrets: Vec<ActionSecret>,
    /// ISO time of the deploy.
    pub created_at: String,
}

impl Action {
    /// Whether the deployed version is the draft (Auth0's `all_changes_deployed`).
    pub fn all_changes_deployed(&self) -> bool {
        self.deployed.as_ref().is_some_and(|v| {
            v.code == self.code
                && v.runtime == self.runtime
                && v.secrets == self.secrets
                && v.dependencies == self.dependencies
        })
    }
}

/// One action bound to a trigger, in the trigger's order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActionBinding {
    /// Auth0's uuid form.
    pub id: String,
    /// The trigger (`post-login`).
    pub trigger_id: String,
    /// The bound action.
    pub action_id: String,
    /// The binding's name (the action's name when not given).
    pub display_name: String,
    /// ISO time of creation.
    pub created_at: String,
    /// ISO time of the last change.
    pub updated_at: String,
}

/// What a login's post-login actions add to its tokens (carried with an
/// authorization code to its exchange).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionClaims {
    /// Custom claims of the ID token.
    #[serde(default)]
    pub id_token: Map<String, Value>,
    /// Custom claims of the access token.
    #[serde(default)]
    pub access_token: Map<String, Value>,
    /// Scopes added to the access token.
    #[serde(default)]
    pub add_scopes: Vec<String>,
    /// Scopes removed from the access token.
    #[serde(default)]
    pub remove_scopes: Vec<String>,
}

impl ActionClaims {
    /// Whether the actions changed nothing in the tokens.
    pub fn is_empty(&self) -> bool {
        self.id_token.is_empty()
            && self.access_token.is_empty()
            && self.add_scopes.is_empty()
            && self.remove_scopes.is_empty()
    }

    /// The access token's scopes after `addScope` / `removeScope`.
    pub fn apply_scopes(&self, scopes: &mut Vec<String>) {
        for s in &self.add_scopes {
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        scopes.retain(|s| !self.remove_scopes.contains(s));
    }
}

/// Parameters never handed to an action's `event.request`: credentials
/// and one-time proofs a token or `/authorize` request may carry.
pub const SECRET_PARAMS: &[&str] = &[
    "client_secret",
    "client_assertion",
    "password",
    "code",
    "code_verifier",
    "refresh_token",
    "otp",
    "mfa_token",
    "oob_code",
    "binding_code",
    "recovery_code",
    "subject_token",
    "id_token_hint",
];

/// Auth0's `event.request` less the address and agent: the method, and the
/// query and body of the request that started the login (the `/authorize`
/// request of a browser sign-in, the token request of a grant), secrets
/// ([`SECRET_PARAMS`]) removed.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The query string's parameters.
    #[serde(default)]
    pub query: Map<String, Value>,
    /// The form or JSON body's parameters.
    #[serde(default)]
    pub body: Map<String, Value>,
}

impl EventRequest {
    /// A request whose parameters came in its query (`in_body` false) or its
    /// body, secrets dropped.
    pub fn of<'a>(
        method: &str,
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
        in_body: bool,
    ) -> Self {
        let kept: Map<String, Value> = params
            .into_iter()
            .filter(|(k, _)| !SECRET_PARAMS.contains(k))
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        let (query, body) = if in_body {
            (Map::new(), kept)
        } else {
            (kept, Map::new())
        };
        Self {
            method: method.to_string(),
            query,
            body,
        }
    }
}

/// A post-login run paused by `api.redirect.sendUserTo` in a browser
/// sign-in, kept with its login transaction until `/continue` resumes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PausedActions {
    /// The second half of the `state` the redirect carried (the first is the
    /// transaction's id): a new one for each pause, so a `state` or a token
    /// made for one redirect cannot continue another.
    pub nonce: String,
    /// The action that redirected; its `onContinuePostLogin` runs first.
    pub action_id: String,
    /// What the actions before the pause added to the tokens (Auth0 keeps
    /// them: the pipeline is suspended and resumed, not started again).
    #[serde(default)]
    pub claims: ActionClaims,
    /// Whether an action before the pause called `api.multifactor.enable`.
    #[serde(default)]
    pub mfa: bool,
}

/// Claims an action may not set (Auth0's restricted claims: OIDC's and
/// those Auth0 uses itself). Setting one is ignored, as Auth0 ignores it.
pub const RESTRICTED_CLAIMS: &[&str] = &[
    "acr",
    "act",
    "active",
    "amr",
    "at_hash",
    "ath",
    "attest",
    "aud",
    "auth_time",
    "authorization_details",
    "azp",
    "c_hash",
    "client_id",
    "cnf",
    "cty",
    "dest",
    "entitlements",
    "events",
    "exp",
    "groups",
    "gty",
    "htm",
    "htu",
    "iat",
    "internalService",
    "iss",
    "jcard",
    "jku",
    "jti",
    "jwe",
    "jwk",
    "kid",
    "may_act",
    "mky",
    "nbf",
    "nonce",
    "object_id",
    "org_id",
    "org_name",
    "orig",
    "origid",
    "permissions",
    "roles",
    "rph",
    "s_hash",
    "scope",
    "sid",
    "sip_callid",
    "sip_cseq_num",
    "sip_date",
    "sip_from_tag",
    "sip_via_branch",
    "sub",
    "sub_jwk",
    "toe",
    "txn",
    "typ",
    "uuid",
    "vot",
    "vtm",
    "x5t#S256",
];

/// Whether an action may set the claim `name`.
pub fn claim_allowed(name: &str) -> bool {
    !name.is_empty() && !RESTRICTED_CLAIMS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricted_claims_are_refused_and_namespaced_ones_allowed() {
        for c in ["iss", "sub", "aud", "exp", "iat", "nonce", "scope", "sid"] {
            assert!(!claim_allowed(c), "{c}");
        }
        assert!(claim_allowed("https://myapp.example/roles"));
        assert!(claim_allowed("favorite_color"));
        assert!(!claim_allowed(""));
    }
}
