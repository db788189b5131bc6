//! Running the post-login trigger's actions (Auth0 Actions) after a user
//! authenticated and before tokens are issued, in the script sandbox.
//!
//! Each bound action's deployed code is wrapped in a function expression
//! that `tern_script::run` accepts (see [`WRAPPER`]): it defines `exports`
//! and `module`, builds `api` recording every call in JavaScript, awaits
//! `exports.onExecutePostLogin(event, api)` and calls back with what was
//! recorded. Actions run in binding order with one time budget for the
//! whole flow (the scripts' `timeout_secs`, 20 s by default, as Auth0's
//! limit); a deny stops the flow. Metadata set by an action is visible to
//! the next ones and written once, after all ran.
//!
//! `api.multifactor.enable(provider)` asks for the second factor Tern has,
//! a TOTP authenticator app: `any`, `guardian` and `google-authenticator`
//! all mean it; `none` asks for nothing (and does not lift the Guardian
//! policy, nor another action's call); any other provider (`duo`) fails
//! the action, so a login meant to need a factor Tern lacks is refused
//! rather than let through. `allowRememberBrowser` is ignored (Tern does
//! not remember browsers). A login whose methods already carry `mfa` (an
//! SSO session that did MFA, the `mfa-otp` grant, a refresh of such a
//! login) is not asked again. Otherwise the flow ends with
//! [`PostLoginRefusal::NeedsMfa`] and nothing of it is kept — no claims,
//! no metadata written: the caller sends the user to the second factor
//! (`mfa_required` on the token endpoint, the hosted MFA step in the
//! browser; a user without a factor enrols there first, as under the
//! Guardian policy), and the actions run again once it is passed, with
//! `mfa` in `event.authentication.methods`. Running them again, rather
//! than sealing their result into the `mfa_token` or the transaction,
//! keeps both small and lets the claims see the login as it finished.
//!
//! The bound actions are kept in memory ([`BoundActions`]): a login reads
//! nothing from the store unless the cache is older than [`RELOAD`] (so
//! instances sharing a database follow each other) or this instance changed
//! an action or binding.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tern_core::CoreResult;
pub use tern_core::actions::ActionClaims;
use tern_core::actions::{POST_LOGIN, claim_allowed};
use tern_core::model::{Client, LogEvent, ResourceServer, User};
use tern_core::store::Store;
use tern_core::users::MetadataEdit;
use tern_script::{CallbackResult, ScriptError};

use crate::secrets::{Redactions, action_secret_aad};
use crate::state::AppState;

/// How long bound actions read from the store are trusted before a login
/// reads them again (changes made on another instance).
pub const RELOAD: Duration = Duration::from_secs(5);

/// The wrapper around an action's module source; `/*ACTION*/` is replaced
/// by the source. `api` records calls; only the recorded result leaves.
const WRAPPER: &str = r#"async function tern_post_login(payload, callback) {
  const event = payload.event;
  const out = { deny: null, mfa: false, idToken: {}, accessToken: {}, addScopes: [], removeScopes: [], app: null, user: null, notes: [] };
  const claim = (target) => (name, value) => { target[String(name)] = value === undefined ? null : value; return api; };
  const meta = (which, doc) => (name, value) => {
    const key = String(name);
    const v = value === undefined ? null : value;
    out[which] = out[which] || {};
    out[which][key] = v;
    if (v === null) { delete doc[key]; } else { doc[key] = v; }
    return api;
  };
  const unsupported = (what) => () => { throw new Error(what + ' is not supported by Tern'); };
  const store = {};
  const api = {
    access: { deny: (reason) => { if (out.deny === null) { out.deny = reason === undefined ? '' : String(reason); } return api; } },
    idToken: { setCustomClaim: claim(out.idToken) },
    accessToken: {
      setCustomClaim: claim(out.accessToken),
      addScope: (s) => { out.addScopes.push(String(s)); return api; },
      removeScope: (s) => { out.removeScopes.push(String(s)); return api; },
    },
    user: {
      setAppMetadata: meta('app', event.user.app_metadata),
      setUserMetadata: meta('user', event.user.user_metadata),
    },
    multifactor: {
      enable: (provider, options) => {
        const p = provider === undefined ? 'any' : String(provider);
        if (p === 'any' || p === 'guardian' || p === 'google-authenticator') { out.mfa = true; }
        else if (p !== 'none') { throw new Error("api.multifactor.enable('" + p + "') is not supported by Tern: its second factor is an authenticator app ('any', 'guardian' or 'google-authenticator')"); }
        if (options && options.allowRememberBrowser) { out.notes.push('allowRememberBrowser was ignored: Tern does not remember browsers'); }
        return api;
      },
    },
    authentication: { recordMethod: unsupported('api.authentication.recordMethod'), challengeWith: unsupported('api.authentication.challengeWith') },
    redirect: { sendUserTo: unsupported('api.redirect.sendUserTo'), encodeToken: unsupported('api.redirect.encodeToken'), validateToken: unsupported('api.redirect.validateToken') },
    cache: {
      get: (k) => (Object.prototype.hasOwnProperty.call(store, k) ? { value: store[k] } : undefined),
      set: (k, v) => { store[k] = v; return { type: 'success' }; },
      delete: (k) => { delete store[k]; return { type: 'success' }; },
    },
  };
  const module = { exports: {} };
  (function (exports, module) {
/*ACTION*/
  })(module.exports, module);
  const handler = module.exports.onExecutePostLogin;
  if (typeof handler !== 'function') {
    throw new Error('the action does not export onExecutePostLogin');
  }
  await handler(event, api);
  callback(null, out);
}"#;

/// Bytes the wrapper adds to an action's source (the sandbox's source
/// limit applies to both together).
pub const WRAPPER_BYTES: usize = WRAPPER.len();

/// One bound action as it runs: the deployed version's code and secrets.
#[derive(Debug, Clone)]
struct Runnable {
    action_id: String,
    name: String,
    code: String,
    /// Sealed values by name.
    secrets: Vec<(String, String)>,
}

struct Loaded {
    at: Instant,
    version: u64,
    list: Arc<Vec<Runnable>>,
}

/// The post-login trigger's bound, deployed actions, cached in memory.
#[derive(Default)]
pub struct BoundActions {
    /// What logins read (a read lock, never held across an await).
    fresh: std::sync::RwLock<Option<Loaded>>,
    /// Taken to reload, so one login reads the store while others wait.
    reloading: tokio::sync::Mutex<()>,
    version: AtomicU64,
}

impl BoundActions {
    /// An action or binding changed on this instance: read them again.
    pub fn changed(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    /// The list when loaded at the current version less than [`RELOAD`] ago.
    fn cached(&self) -> Option<Arc<Vec<Runnable>>> {
        let version = self.version.load(Ordering::SeqCst);
        let fresh = self.fresh.read().unwrap_or_else(|p| p.into_inner());
        fresh
            .as_ref()
            .filter(|l| l.version == version && l.at.elapsed() < RELOAD)
            .map(|l| l.list.clone())
    }

    async fn current(&self, store: &dyn Store, tenant: &str) -> CoreResult<Arc<Vec<Runnable>>> {
        if let Some(list) = self.cached() {
            return Ok(list);
        }
        let _turn = self.reloading.lock().await;
        // Another login may have reloaded while this one waited.
        if let Some(list) = self.cached() {
            return Ok(list);
        }
        let version = self.version.load(Ordering::SeqCst);
        let list = Arc::new(load(store, tenant).await?);
        *self.fresh.write().unwrap_or_else(|p| p.into_inner()) = Some(Loaded {
            at: Instant::now(),
            version,
            list: list.clone(),
        });
        Ok(list)
    }
}

async fn load(store: &dyn Store, tenant: &str) -> CoreResult<Vec<Runnable>> {
    let bindings = store.get_action_bindings(tenant, POST_LOGIN).await?;
    if bindings.is_empty() {
        return Ok(Vec::new());
    }
    let actions = store.list_actions(tenant).await?;
    Ok(bindings
        .iter()
        .filter_map(|b| {
            let a = actions.iter().find(|a| a.id == b.action_id)?;
            let d = a.deployed.as_ref()?;
            Some(Runnable {
                action_id: a.id.clone(),
                name: b.display_name.clone(),
                code: d.code.clone(),
                secrets: d
                    .secrets
                    .iter()
                    .map(|s| (s.name.clone(), s.sealed.clone()))
                    .collect(),
            })
        })
        .collect())
}

/// What the login the actions run for is.
pub struct PostLogin<'a> {
    /// The application.
    pub client: &'a Client,
    /// The user who authenticated.
    pub user: &'a User,
    /// The API the access token is for.
    pub api: Option<&'a ResourceServer>,
    /// The scopes requested.
    pub requested_scopes: &'a [String],
    /// Auth0's `event.transaction.protocol` (`oauth2-password`,
    /// `oidc-basic-profile`, `oauth2-refresh-token`).
    pub protocol: &'a str,
    /// The end user's address.
    pub ip: &'a str,
    /// The request's `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// When the user authenticated (epoch seconds).
    pub auth_time: i64,
    /// Methods beyond the password (`mfa`).
    pub amr: &'a [&'a str],
}

/// Why the login does not get tokens.
#[derive(Debug, Clone, PartialEq)]
pub enum PostLoginRefusal {
    /// `api.access.deny(reason)`.
    Denied(String),
    /// An action threw, timed out or could not run (the detail is logged).
    Failed,
    /// An action called `api.multifactor.enable` and the login has not
    /// passed a second factor yet: not refused, not finished either (not
    /// logged; nothing the actions did is kept).
    NeedsMfa,
}

/// Run the bound post-login actions for `login`. `Ok` carries the claims
/// to add (empty when nothing is bound); a deny or a failure is logged as
/// an `f` event and refuses the login. Metadata the actions set is written
/// once, after every action ran.
pub async fn post_login(
    s: &AppState,
    login: &PostLogin<'_>,
) -> Result<ActionClaims, PostLoginRefusal> {
    let bound = match s.actions.current(s.store.as_ref(), s.tid()).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "could not read the post-login actions");
            return Err(PostLoginRefusal::Failed);
        }
    };
    if bound.is_empty() {
        return Ok(ActionClaims::default());
    }
    let mut event = event(s, login).await?;
    let deadline = Instant::now() + s.scripts.timeout();
    let mut claims = ActionClaims::default();
    let mut metadata = MetadataEdit::default();
    let mut mfa_asked_by: Option<&str> = None;
    for action in bound.iter() {
        let secrets = open_secrets(s, action);
        event["secrets"] = json!(secrets);
        let source = WRAPPER.replace("/*ACTION*/", &action.code);
        let left = deadline.saturating_duration_since(Instant::now());
        let payload = json!({ "event": event });
        let mut run = s
            .scripts
            .run_action(
                &source,
                payload,
                secrets.clone(),
                left.max(Duration::from_millis(1)),
            )
            .await;
        let redact = Redactions::new(None, secrets.values().map(String::as_str));
        redact.apply(&mut run.console);
        let out = match run.outcome {
            Ok(CallbackResult::Value(Some(v))) => v,
            outcome => {
                let mut why = match outcome {
                    Err(ScriptError::Timeout) => {
                        "the post-login actions exceeded their time limit".to_string()
                    }
                    Err(e) => e.to_string(),
                    Ok(_) => "the action ended without a result".to_string(),
                };
                redact.apply_text(&mut why);
                tracing::warn!(action = %action.name, error = %why, "post-login action failed");
                log_refusal(
                    s,
                    login,
                    format!("Post-login action '{}' failed: {why}", action.name),
                    json!({ "action_id": action.action_id, "console": run.console }),
                )
                .await;
                return Err(PostLoginRefusal::Failed);
            }
        };
        for note in out["notes"].as_array().into_iter().flatten() {
            tracing::info!(action = %action.name, note = %note, "post-login action");
        }
        if out["mfa"] == Value::Bool(true) {
            mfa_asked_by.get_or_insert(&action.name);
        }
        take_claims(&out["idToken"], &mut claims.id_token);
        take_claims(&out["accessToken"], &mut claims.access_token);
        claims.add_scopes.extend(strings(&out["addScopes"]));
        claims.remove_scopes.extend(strings(&out["removeScopes"]));
        // Later actions see the documents as changed by earlier ones.
        for (which, changes, doc) in [
            ("app", &mut metadata.app, "app_metadata"),
            ("user", &mut metadata.user, "user_metadata"),
        ] {
            for (k, v) in out[which].as_object().into_iter().flatten() {
                changes.set(k, v);
            }
            if let Some(seen) = event["user"][doc].as_object_mut() {
                changes.apply_to(seen);
            }
        }
        if let Some(reason) = out["deny"].as_str() {
            log_refusal(
                s,
                login,
                reason.to_string(),
                json!({ "action_id": action.action_id, "denied_by": action.name }),
            )
            .await;
            return Err(PostLoginRefusal::Denied(reason.to_string()));
        }
    }
    // Every action ran (a later one may still deny); the factor is asked
    // for before anything of this run is kept.
    if let Some(name) = mfa_asked_by
        && !login.amr.contains(&"mfa")
    {
        tracing::info!(action = %name, "a post-login action requires a second factor");
        return Err(PostLoginRefusal::NeedsMfa);
    }
    if !metadata.is_empty()
        && let Err(e) = s
            .store
            .change_user_metadata_from_actions(
                s.tid(),
                &login.user.user_id,
                &metadata,
                &tern_core::clock::now_iso(),
            )
            .await
    {
        tracing::error!(error = %e, "could not write the metadata post-login actions set");
        return Err(PostLoginRefusal::Failed);
    }
    Ok(claims)
}

/// Claims an action set, less those Auth0 restricts (ignored, as Auth0
/// ignores them without failing the login).
fn take_claims(set: &Value, into: &mut Map<String, Value>) {
    for (k, v) in set.as_object().into_iter().flatten() {
        if claim_allowed(k) {
            into.insert(k.clone(), v.clone());
        } else {
            tracing::info!(claim = %k, "a post-login action set a restricted claim; ignored");
        }
    }
}

fn strings(v: &Value) -> impl Iterator<Item = String> + '_ {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
}

/// The action's secrets in clear; one that does not open (the key changed)
/// is left out and logged, so the action sees it missing.
fn open_secrets(s: &AppState, action: &Runnable) -> BTreeMap<String, String> {
    action
        .secrets
        .iter()
        .filter_map(|(name, sealed)| {
            let clear = s
                .secrets
                .open(&action_secret_aad(s.tid(), &action.action_id, name), sealed);
            if clear.is_none() {
                tracing::error!(action = %action.name, secret = %name, "an action secret does not open with this server's key");
            }
            clear.map(|c| (name.clone(), c))
        })
        .collect()
}

async fn log_refusal(s: &AppState, login: &PostLogin<'_>, description: String, details: Value) {
    let mut ev = LogEvent::new("f", description);
    ev.client_id = Some(login.client.client_id.clone());
    ev.client_name = Some(login.client.name.clone());
    ev.ip = Some(login.ip.to_string());
    ev.user_id = Some(login.user.user_id.clone());
    ev.user_name = login
        .user
        .email
        .clone()
        .or_else(|| login.user.username.clone());
    ev.connection = Some(login.user.connection_name.clone());
    ev.connection_id = Some(login.user.connection_id.clone());
    ev.details = Some(details);
    s.log(ev).await;
}

/// Auth0's post-login `event` for this login; a failure to read the
/// user's roles fails the login (an action may deny by role).
async fn event(s: &AppState, login: &PostLogin<'_>) -> Result<Value, PostLoginRefusal> {
    let u = login.user;
    let mut user = tern_core::user_profile::user_json(u);
    if let Some(obj) = user.as_object_mut() {
        obj.entry("app_metadata").or_insert_with(|| json!({}));
        obj.entry("user_metadata").or_insert_with(|| json!({}));
    }
    // The strategy is the connection's (read only when actions are bound).
    let strategy = match s.store.get_connection(s.tid(), &u.connection_id).await {
        Ok(Some(c)) => c.strategy,
        _ => "auth0".to_string(),
    };
    let mut methods =
        vec![json!({"name": "pwd", "timestamp": tern_core::clock::iso_of_epoch(login.auth_time)})];
    if login.amr.contains(&"mfa") {
        methods.push(
            json!({"name": "mfa", "timestamp": tern_core::clock::iso_of_epoch(login.auth_time)}),
        );
    }
    // The names of the user's roles (RBAC), as Auth0's event carries them;
    // read only when actions are bound.
    let roles: Vec<String> = match s.store.list_user_roles(s.tid(), &u.user_id).await {
        Ok(r) => r.into_iter().map(|r| r.name).collect(),
        Err(e) => {
            tracing::error!(error = %e, "post-login actions: the user's roles could not be read");
            return Err(PostLoginRefusal::Failed);
        }
    };
    let hostname = s
        .public_url
        .split("://")
        .nth(1)
        .unwrap_or(&s.public_url)
        .to_string();
    Ok(json!({
        "user": user,
        "client": {
            "client_id": login.client.client_id,
            "name": login.client.name,
            "metadata": login.client.client_metadata,
        },
        "connection": {
            "id": u.connection_id,
            "name": u.connection_name,
            "strategy": strategy,
            "metadata": {},
        },
        "request": {
            "ip": login.ip,
            "user_agent": login.user_agent,
            "hostname": hostname,
            "method": "POST",
            "query": {},
            "body": {},
        },
        "transaction": {
            "requested_scopes": login.requested_scopes,
            "protocol": login.protocol,
        },
        "authentication": { "methods": methods },
        "stats": { "logins_count": u.logins_count },
        "tenant": { "id": s.tid() },
        "resource_server": login.api.map(|a| json!({"identifier": a.identifier})),
        "authorization": { "roles": roles },
        "secrets": {},
    }))
}

/// The post-login actions of a browser sign-in about to get a code
/// (`/authorize`, a finished hosted login or silent authentication): the
/// claims to carry with the code (`None` when nothing is bound, read from
/// the cache only), or why not — its [`PostLoginRefusal::description`] is
/// the `error_description` of the `access_denied` the callback gets, and
/// [`PostLoginRefusal::NeedsMfa`] sends the browser to the MFA step.
pub async fn for_code(
    s: &AppState,
    request: &tern_core::login_transaction::AuthorizationRequest,
    user_id: &str,
    from: (&str, &axum::http::HeaderMap),
    auth_time: i64,
    amr: &[String],
) -> CoreResult<Result<Option<ActionClaims>, PostLoginRefusal>> {
    let (ip, headers) = from;
    if s.actions
        .current(s.store.as_ref(), s.tid())
        .await?
        .is_empty()
    {
        return Ok(Ok(None));
    }
    let (Some(user), Some(client)) = (
        s.store.get_user(s.tid(), user_id).await?,
        s.store.get_client(s.tid(), &request.client_id).await?,
    ) else {
        return Ok(Err(PostLoginRefusal::Denied(
            "The user or the application no longer exists.".into(),
        )));
    };
    let api = match &request.audience {
        Some(aud) => s.store.get_resource_server(s.tid(), aud).await?,
        None => None,
    };
    let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let login = PostLogin {
        client: &client,
        user: &user,
        api: api.as_ref(),
        requested_scopes: &request.scope,
        protocol: "oidc-basic-profile",
        ip,
        user_agent,
        auth_time,
        amr: &amr,
    };
    Ok(match post_login(s, &login).await {
        Ok(c) => Ok((!c.is_empty()).then_some(c)),
        Err(r) => Err(r),
    })
}

impl PostLoginRefusal {
    /// The `error_description` of the `access_denied` a client gets.
    pub fn description(&self) -> String {
        match self {
            Self::Denied(reason) => reason.clone(),
            Self::Failed => {
                "A post-login action failed; the tenant log has the details.".to_string()
            }
            Self::NeedsMfa => "Multifactor authentication required".to_string(),
        }
    }
}
