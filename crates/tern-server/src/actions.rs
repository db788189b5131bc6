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
//! `api.redirect.sendUserTo(url)` pauses a browser sign-in after the
//! action that called it ([`PostLoginRefusal::Redirect`]): the metadata set
//! so far is written (the site and the resumed actions read it), the
//! claims and scopes wait in the login transaction, and `/continue` with
//! the `state` Tern added runs that action's `onContinuePostLogin`, then
//! the actions after it. `api.redirect.encodeToken`/`validateToken` are
//! HS256 session tokens bound to that `state`. Where no browser can be sent
//! (the grants, `prompt=none`) `canRedirect()` is false and a redirect
//! refuses the login. `event.request` is the request that started the
//! login (or the `/continue`), its secrets removed.
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
pub use tern_core::actions::{EventRequest, PausedActions};
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
  const R = payload.redirect;
  const crypto = require('crypto');
  const Buf = Buffer;
  const out = { deny: null, mfa: false, idToken: {}, accessToken: {}, addScopes: [], removeScopes: [], app: null, user: null, notes: [], redirect: null };
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
  const b64json = (v) => Buf.from(JSON.stringify(v), 'utf8').toString('base64url');
  const hs256 = (secret, input) => crypto.createHmac('sha256', secret).update(input, 'utf8').digest('base64url');
  const secretOf = (o, what) => {
    if (!o || typeof o.secret !== 'string' || o.secret === '') { throw new Error(what + ' needs a non-empty string secret'); }
    return o.secret;
  };
  // Auth0's session token: HS256, its claims (iss, sub, iat, exp, ip and
  // the redirect's state) beside the payload's.
  const encodeToken = (o) => {
    const secret = secretOf(o, 'api.redirect.encodeToken');
    const ttl = o.expiresInSeconds === undefined ? 900 : Number(o.expiresInSeconds);
    if (!Number.isFinite(ttl) || ttl <= 0) { throw new Error('api.redirect.encodeToken: expiresInSeconds must be a positive number'); }
    const claims = Object.assign({ iss: R.hostname, sub: event.user.user_id, ip: event.request.ip }, o.payload || {});
    claims.iat = R.now;
    claims.exp = R.now + Math.floor(ttl);
    if (R.state) { claims.state = R.state; }
    const input = b64json({ alg: 'HS256', typ: 'JWT' }) + '.' + b64json(claims);
    return input + '.' + hs256(secret, input);
  };
  const validateToken = (o) => {
    const secret = secretOf(o, 'api.redirect.validateToken');
    if (!payload.continued) { throw new Error('api.redirect.validateToken is only available in onContinuePostLogin'); }
    const name = o.tokenParameterName === undefined ? 'session_token' : String(o.tokenParameterName);
    const c = payload.continued;
    const token = Object.prototype.hasOwnProperty.call(c.body, name) ? c.body[name] : c.query[name];
    const bad = (why) => new Error('The ' + name + ' token is not valid: ' + why);
    if (typeof token !== 'string' || token === '') { throw bad('the /continue request has no ' + name + ' parameter'); }
    const parts = token.split('.');
    if (parts.length !== 3) { throw bad('it is not a JWT'); }
    let header, claims;
    try {
      header = JSON.parse(Buf.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buf.from(parts[1], 'base64url').toString('utf8'));
    } catch (e) { throw bad('its header or payload is not JSON'); }
    if (!header || header.alg !== 'HS256') { throw bad('it must be signed with HS256'); }
    if (!claims || typeof claims !== 'object' || Array.isArray(claims)) { throw bad('its payload is not an object'); }
    const expected = Buf.from(hs256(secret, parts[0] + '.' + parts[1]), 'utf8');
    const given = Buf.from(parts[2], 'utf8');
    if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) { throw bad('the signature does not match'); }
    if (typeof claims.exp !== 'number') { throw bad('it has no exp claim'); }
    if (claims.exp <= R.now) { throw bad('it expired'); }
    if (claims.state !== R.resumedState) { throw bad('its state claim is not the state of this login'); }
    return claims;
  };
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
    redirect: {
      canRedirect: () => R.can,
      sendUserTo: (url, options) => {
        const query = {};
        const q = options && options.query;
        if (q && typeof q === 'object') {
          for (const k of Object.keys(q)) { if (q[k] !== undefined && q[k] !== null) { query[k] = String(q[k]); } }
        }
        out.redirect = { url: String(url), query };
        return api;
      },
      encodeToken,
      validateToken,
    },
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
  if (payload.continued) {
    // Resuming after the redirect: the action's onContinuePostLogin, when it has one.
    const resume = module.exports.onContinuePostLogin;
    if (typeof resume === 'function') { await resume(event, api); }
  } else {
    const handler = module.exports.onExecutePostLogin;
    if (typeof handler !== 'function') {
      throw new Error('the action does not export onExecutePostLogin');
    }
    await handler(event, api);
  }
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
    /// The request that started the login (`event.request`).
    pub request: &'a EventRequest,
    /// Whether an action may send the browser elsewhere.
    pub redirect: Redirecting<'a>,
}

/// Whether a login can follow `api.redirect.sendUserTo` (Auth0's
/// `api.redirect.canRedirect()`).
#[derive(Debug, Clone, Copy)]
pub enum Redirecting<'a> {
    /// A grant at the token endpoint: no browser to send. Auth0: redirect
    /// actions "won't work" with the password or refresh-token exchanges,
    /// which fail when an action tries.
    No,
    /// `prompt=none`: a browser, but no page may be shown. Auth0 answers
    /// `error=interaction_required` when an action tries.
    Silent,
    /// An interactive browser sign-in whose redirect would carry `state`
    /// (`<transaction id>.<nonce>`); `resume` when the run continues one
    /// paused by a redirect.
    Yes {
        /// The `state` a redirect of this run carries.
        state: &'a str,
        /// The pause `/continue` resumes, with the continue request.
        resume: Option<(&'a PausedActions, &'a EventRequest)>,
    },
}

/// Where a paused run sends the browser, and what resumes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pause {
    /// The action's URL with its `query` and Auth0's `state` added.
    pub location: String,
    /// Kept with the transaction.
    pub paused: PausedActions,
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
    /// An action called `api.redirect.sendUserTo` in an interactive sign-in:
    /// not refused, paused — the browser goes to [`Pause::location`] and
    /// `/continue` resumes the run. Metadata set before is written.
    Redirect(Box<Pause>),
    /// An action called `api.redirect.sendUserTo` in a `prompt=none`
    /// request (`interaction_required`, as Auth0).
    InteractionRequired,
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
    let resume = match login.redirect {
        Redirecting::Yes { resume, .. } => resume,
        _ => None,
    };
    // A resumed run starts at the action that redirected, with what the
    // actions before it added; later actions run as they are bound now.
    let (start, mut claims, mut mfa_asked_by) = match resume {
        None => (0, ActionClaims::default(), None),
        Some((paused, _)) => {
            let Some(at) = bound.iter().position(|a| a.action_id == paused.action_id) else {
                log_refusal(
                    s,
                    login,
                    "The post-login action that redirected is no longer bound; the login cannot continue.".into(),
                    json!({ "action_id": paused.action_id }),
                )
                .await;
                return Err(PostLoginRefusal::Failed);
            };
            let asked = paused.mfa.then(|| bound[at].name.as_str());
            (at, paused.claims.clone(), asked)
        }
    };
    if bound.is_empty() {
        return Ok(claims);
    }
    let mut event = event(s, login).await?;
    if let Some((_, request)) = resume {
        // onContinuePostLogin and the actions after it see the `/continue`
        // request.
        event["request"]["method"] = json!(request.method);
        event["request"]["query"] = json!(request.query);
        event["request"]["body"] = json!(request.body);
    }
    let (state, resumed_state) = match login.redirect {
        Redirecting::Yes { state, resume } => (
            Some(state),
            // The state the paused redirect carried: the one a token for
            // `validateToken` must hold (the run gets a new one for a
            // further redirect).
            resume.map(|(paused, _)| {
                let id = state.split_once('.').map_or(state, |(id, _)| id);
                format!("{id}.{}", paused.nonce)
            }),
        ),
        _ => (None, None),
    };
    let redirect = json!({
        "can": matches!(login.redirect, Redirecting::Yes { .. }),
        "state": state,
        "resumedState": resumed_state,
        "now": s.now(),
        "hostname": event["request"]["hostname"],
    });
    let deadline = Instant::now() + s.scripts.timeout();
    let mut metadata = MetadataEdit::default();
    for (i, action) in bound.iter().enumerate().skip(start) {
        let secrets = open_secrets(s, action);
        event["secrets"] = json!(secrets);
        let source = WRAPPER.replace("/*ACTION*/", &action.code);
        let left = deadline.saturating_duration_since(Instant::now());
        let continued = match resume {
            Some((_, request)) if i == start => json!(request),
            _ => Value::Null,
        };
        let payload = json!({ "event": event, "redirect": redirect, "continued": continued });
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
        if out["redirect"].is_object() {
            let location = match redirect_location(login, action, &out["redirect"]) {
                Ok(l) => l,
                Err(refusal) => {
                    if let PostLoginRefusal::Failed = refusal {
                        let why = redirect_refusal_text(login, action, &out["redirect"]);
                        log_refusal(s, login, why, json!({ "action_id": action.action_id })).await;
                    }
                    return Err(refusal);
                }
            };
            // Auth0 suspends the pipeline here: the metadata set so far is
            // written now (the external site, and the resumed actions, read
            // the profile as changed), the token changes wait in the
            // transaction until the flow finishes.
            write_metadata(s, login, &metadata).await?;
            let nonce = state
                .and_then(|st| st.split_once('.'))
                .map_or("", |(_, nonce)| nonce);
            return Err(PostLoginRefusal::Redirect(Box::new(Pause {
                location,
                paused: PausedActions {
                    nonce: nonce.to_string(),
                    action_id: action.action_id.clone(),
                    claims,
                    mfa: mfa_asked_by.is_some(),
                },
            })));
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
    write_metadata(s, login, &metadata).await?;
    Ok(claims)
}

/// Write what the actions set in the user's metadata, once.
async fn write_metadata(
    s: &AppState,
    login: &PostLogin<'_>,
    metadata: &MetadataEdit,
) -> Result<(), PostLoginRefusal> {
    if metadata.is_empty() {
        return Ok(());
    }
    if let Err(e) = s
        .store
        .change_user_metadata_from_actions(
            s.tid(),
            &login.user.user_id,
            metadata,
            &tern_core::clock::now_iso(),
        )
        .await
    {
        tracing::error!(error = %e, "could not write the metadata post-login actions set");
        return Err(PostLoginRefusal::Failed);
    }
    Ok(())
}

/// The URL an action's `sendUserTo` sends the browser to, with the
/// action's `query` and Auth0's `state`; or why the login cannot follow
/// (`Failed` is logged by the caller).
fn redirect_location(
    login: &PostLogin<'_>,
    action: &Runnable,
    asked: &Value,
) -> Result<String, PostLoginRefusal> {
    let state = match login.redirect {
        Redirecting::No => return Err(PostLoginRefusal::Failed),
        Redirecting::Silent => {
            tracing::info!(action = %action.name, "a post-login action redirected a prompt=none request");
            return Err(PostLoginRefusal::InteractionRequired);
        }
        Redirecting::Yes { state, .. } => state,
    };
    let mut url = asked["url"]
        .as_str()
        .and_then(|u| url::Url::parse(u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or(PostLoginRefusal::Failed)?;
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in asked["query"].as_object().into_iter().flatten() {
            if k != "state" {
                pairs.append_pair(k, v.as_str().unwrap_or_default());
            }
        }
        pairs.append_pair("state", state);
    }
    Ok(url.to_string())
}

/// The tenant log's description of a redirect the login cannot follow.
fn redirect_refusal_text(login: &PostLogin<'_>, action: &Runnable, asked: &Value) -> String {
    match login.redirect {
        Redirecting::No => format!(
            "Post-login action '{}' called api.redirect.sendUserTo, but a {} login cannot be redirected (only a browser sign-in at /authorize can; check api.redirect.canRedirect() first)",
            action.name, login.protocol
        ),
        _ => format!(
            "Post-login action '{}' called api.redirect.sendUserTo with '{}', which is not an absolute http or https URL",
            action.name,
            asked["url"].as_str().unwrap_or_default()
        ),
    }
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
            "method": login.request.method,
            "query": login.request.query,
            "body": login.request.body,
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
    redirect: Redirecting<'_>,
) -> CoreResult<Result<Option<ActionClaims>, PostLoginRefusal>> {
    let (ip, headers) = from;
    let resuming = matches!(
        redirect,
        Redirecting::Yes {
            resume: Some(_),
            ..
        }
    );
    if !resuming
        && s.actions
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
        request: &request.event_request,
        redirect,
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
            Self::Redirect(_) | Self::InteractionRequired => "Interaction required".to_string(),
        }
    }
}
