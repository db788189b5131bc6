//! The legacy store as a connection's custom-database scripts (Auth0 style),
//! run in the `tern-script` QuickJS sandbox. Every script Auth0 defines is
//! served: `login` and `get_user` (lazy migration), and `create`, `verify`,
//! `change_password`, `delete`, `change_email` (import mode off). The
//! connection it receives carries its configuration in clear (see
//! `secrets::Revealing`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tern_core::legacy::{
    LegacyCreate, LegacyError, LegacyLogin, LegacyProfile, LegacySource, normalize_profile,
};
use tern_core::model::{Connection, LogEvent};
use tern_core::store::Store;
use tern_hash::HashPolicy;
use tern_script::{
    CallbackResult, ErrorKind, Network, ScriptEnv, ScriptError, ScriptLimits, ScriptName, ScriptRun,
};
use tokio::sync::Semaphore;

use crate::config::ScriptsConfig;
use crate::hash_pool::HashPool;
use crate::profile_hash::{self, ProfileHash};
use crate::secrets::Redactions;

/// Every script name, in Auth0's order.
pub const SCRIPT_NAMES: [ScriptName; 7] = [
    ScriptName::Login,
    ScriptName::GetUser,
    ScriptName::Create,
    ScriptName::Verify,
    ScriptName::ChangePassword,
    ScriptName::Delete,
    ScriptName::ChangeEmail,
];

/// The script whose `customScripts` key is `key`.
pub fn script_name(key: &str) -> Option<ScriptName> {
    SCRIPT_NAMES.into_iter().find(|n| n.key() == key)
}

/// The source of a connection's script, when it has one.
pub fn script_source(connection: &Connection, name: ScriptName) -> Option<&str> {
    connection
        .options
        .get("customScripts")
        .and_then(|m| m.get(name.key()))
        .and_then(Value::as_str)
        .filter(|src| !src.trim().is_empty())
}

/// The tenant-log type of a script call's captured `console` output (a Tern
/// extension: Auth0 shows it only in its real-time webtask logs, which are
/// gone once the browser tab closes).
pub const SCRIPT_LOG_TYPE: &str = "tern_script_log";

/// Runs a connection's scripts, at most `max_concurrent` at once.
pub struct ScriptLegacySource {
    limits: ScriptLimits,
    network: Network,
    slots: Arc<Semaphore>,
    /// Where a call's console output and warnings go (the tenant log); `None`
    /// only for callers that run scripts without a store.
    tenant_log: Option<Arc<dyn Store>>,
    /// Verifies a `tern_password_hash` a login script answers, within the
    /// server's cost limits.
    hash_policy: HashPolicy,
    /// Where those hashes are verified: the server's bounded pool.
    hash_pool: HashPool,
    /// Calls counted by connection, script and outcome, and timed.
    metrics: crate::metrics::ScriptMetrics,
}

impl ScriptLegacySource {
    /// Scripts run for at most `timeout` and connect where `network` allows.
    pub fn new(timeout: Duration, network: Network) -> Self {
        Self::from_config(
            &ScriptsConfig {
                timeout_secs: timeout.as_secs().max(1),
                ..ScriptsConfig::default()
            },
            network,
        )
    }

    /// The scripts configuration of `tern serve`, under the server's network policy.
    pub fn from_config(config: &ScriptsConfig, network: Network) -> Self {
        Self {
            limits: ScriptLimits {
                timeout: Duration::from_secs(config.timeout_secs),
                max_received_bytes: config.max_received_bytes,
                max_concurrent_requests: config.max_concurrent_requests.max(1),
                max_rows_per_query: config.max_rows_per_query,
                ..ScriptLimits::default()
            },
            network,
            slots: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            tenant_log: None,
            hash_policy: HashPolicy::default(),
            hash_pool: HashPool::new(0, 64),
            metrics: crate::metrics::ScriptMetrics::default(),
        }
    }

    /// Count and time every call in `metrics` (the server's).
    pub fn with_metrics(mut self, metrics: crate::metrics::ScriptMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Verify the hashes login scripts answer on `pool` (the server's).
    pub fn with_hash_pool(mut self, pool: HashPool) -> Self {
        self.hash_pool = pool;
        self
    }

    /// Verify the hashes login scripts answer (`tern_password_hash`) within
    /// `policy`'s cost limits (the server's).
    pub fn with_hash_policy(mut self, policy: HashPolicy) -> Self {
        self.hash_policy = policy;
        self
    }

    /// Record every call's `console` output and sandbox warnings in `store`'s
    /// tenant log, as one `tern_script_log` event per call.
    pub fn with_tenant_log(mut self, store: Arc<dyn Store>) -> Self {
        self.tenant_log = Some(store);
        self
    }

    fn env(&self, connection: &Connection, configuration: BTreeMap<String, String>) -> ScriptEnv {
        let context = (connection
            .options
            .get("enable_script_context")
            .and_then(Value::as_bool)
            == Some(true))
        .then(|| json!({}));
        ScriptEnv {
            configuration,
            limits: self.limits.clone(),
            network: self.network.clone(),
            context,
        }
    }

    /// Run `source` as the connection's `name` script with these arguments
    /// and configuration, under the same limits, network policy and
    /// concurrency bound as every script call (the "try" endpoint uses this).
    pub async fn run_source(
        &self,
        connection: &Connection,
        name: ScriptName,
        source: &str,
        args: Vec<Value>,
        configuration: BTreeMap<String, String>,
    ) -> ScriptRun {
        let env = self.env(connection, configuration);
        self.run_in(source, name, args, env).await
    }

    /// Run `source` (a function expression taking one argument and
    /// `callback`) as an action: the same network policy, concurrency bound
    /// and limits as scripts, but at most `timeout` and without a script
    /// context. `configuration` holds the action's secrets in clear.
    pub async fn run_action(
        &self,
        source: &str,
        payload: Value,
        configuration: BTreeMap<String, String>,
        timeout: Duration,
    ) -> ScriptRun {
        let mut limits = self.limits.clone();
        limits.timeout = timeout.min(self.limits.timeout);
        let env = ScriptEnv {
            configuration,
            limits,
            network: self.network.clone(),
            context: None,
        };
        // `getUser` is the one-argument shape: the payload, then callback.
        self.run_in(source, ScriptName::GetUser, vec![payload], env)
            .await
    }

    /// The time limit of one script call (`scripts.timeout_secs`).
    pub fn timeout(&self) -> Duration {
        self.limits.timeout
    }

    async fn run_in(
        &self,
        source: &str,
        name: ScriptName,
        args: Vec<Value>,
        env: ScriptEnv,
    ) -> ScriptRun {
        let started = std::time::Instant::now();
        // Waiting for a slot counts against the call's own time limit.
        let permit =
            tokio::time::timeout(env.limits.timeout, self.slots.clone().acquire_owned()).await;
        let Ok(Ok(_permit)) = permit else {
            return ScriptRun {
                outcome: Err(ScriptError::Internal(
                    "too many script calls in progress; none finished within the time limit".into(),
                )),
                console: Vec::new(),
                warnings: Vec::new(),
                elapsed: started.elapsed(),
            };
        };
        let mut run = tern_script::run(source, name, args, &env).await;
        run.elapsed = started.elapsed();
        run
    }

    async fn call(
        &self,
        tenant: &str,
        connection: &Connection,
        name: ScriptName,
        args: Vec<Value>,
    ) -> Result<CallbackResult, LegacyError> {
        let source = script_source(connection, name)
            .ok_or_else(|| LegacyError(format!("the connection has no {} script", name.key())))?;
        let configuration = clear_configuration(connection);
        // The first argument names the user for every script but `create`
        // (a user object) and `delete` (an id).
        let user_name = args.first().and_then(Value::as_str).map(str::to_string);
        let redact = redactions_of_call(name, &args, &configuration);
        let mut run = self
            .run_source(connection, name, source, args, configuration)
            .await;
        redact_run(&redact, &mut run);
        self.count(connection, name, &run);
        self.record(tenant, connection, name, user_name, &run).await;
        run.outcome.map_err(|e| {
            LegacyError(format!(
                "the {} script failed after {} ms: {e}",
                name.key(),
                run.elapsed.as_millis()
            ))
        })
    }

    /// Count a call by outcome and time it (labels: the connection's name and
    /// the script's, never the user's).
    fn count(&self, connection: &Connection, name: ScriptName, run: &ScriptRun) {
        let outcome = match &run.outcome {
            Ok(_) => "ok",
            Err(ScriptError::Timeout) => "timeout",
            Err(_) => "error",
        };
        self.metrics
            .calls
            .get_or_create(&crate::metrics::ScriptCallLabels {
                connection: connection.name.clone(),
                script: name.key(),
                outcome,
            })
            .inc();
        self.metrics
            .seconds
            .get_or_create(&crate::metrics::ScriptLabels {
                connection: connection.name.clone(),
                script: name.key(),
            })
            .observe(run.elapsed.as_secs_f64());
    }

    /// Put a call's console lines and warnings in the tenant log, awaited so
    /// that the event exists once the request that ran the script answers. A
    /// call that printed nothing and warned nothing leaves no event.
    async fn record(
        &self,
        tenant: &str,
        connection: &Connection,
        name: ScriptName,
        user_name: Option<String>,
        run: &ScriptRun,
    ) {
        for w in &run.warnings {
            tracing::warn!(connection = %connection.name, script = name.key(), "{w}");
        }
        if run.console.is_empty() && run.warnings.is_empty() {
            return;
        }
        let Some(store) = &self.tenant_log else {
            for line in &run.console {
                tracing::info!(connection = %connection.name, script = name.key(), "{line}");
            }
            return;
        };
        // `answered`: the callback had a result; `callback_error`: the script
        // answered an error; `failed`: it never answered properly.
        let (outcome, error) = match &run.outcome {
            Ok(CallbackResult::Value(_)) => ("answered", None),
            Ok(CallbackResult::Error(e)) => ("callback_error", Some(e.message.clone())),
            Err(e) => ("failed", Some(e.to_string())),
        };
        let mut ev = LogEvent::new(
            SCRIPT_LOG_TYPE,
            format!("Output of the {} script", name.key()),
        );
        ev.user_name = user_name;
        ev.connection = Some(connection.name.clone());
        ev.connection_id = Some(connection.id.clone());
        ev.details = Some(json!({
            "script": name.key(),
            "console": run.console,
            "warnings": run.warnings,
            "elapsed_ms": u64::try_from(run.elapsed.as_millis()).unwrap_or(u64::MAX),
            "outcome": outcome,
            "error": error,
        }));
        if let Err(e) = store.append_log(tenant, &ev).await {
            tracing::error!(error = %e, connection = %connection.name, "could not write a script's console output to the tenant log");
        }
    }

    /// Run a script whose only answers are success, a `false`/empty value
    /// (`Ok(false)`) or an error.
    async fn call_flag(
        &self,
        tenant: &str,
        connection: &Connection,
        name: ScriptName,
        args: Vec<Value>,
    ) -> Result<bool, LegacyError> {
        match self.call(tenant, connection, name, args).await? {
            CallbackResult::Value(v) => Ok(match v {
                None | Some(Value::Bool(false)) => false,
                // `{last_password_reset: …}` from change_password, or `true`.
                Some(_) => true,
            }),
            CallbackResult::Error(e) => Err(reported(name, &e.message)),
        }
    }
}

/// What must not reach a log from a call: the password the user typed
/// and the connection's configuration values (database passwords, API keys).
fn redactions_of_call(
    name: ScriptName,
    args: &[Value],
    configuration: &BTreeMap<String, String>,
) -> Redactions {
    Redactions::new(
        typed_password(name, args),
        configuration.values().map(String::as_str),
    )
}

/// Where each script receives a password the user typed: `login(email,
/// password)`, `changePassword(email, newPassword)` and `create(user)` as
/// `user.password`. `get_user`, `verify`, `delete` and `change_email` get none.
fn typed_password(name: ScriptName, args: &[Value]) -> Option<&str> {
    let password = match name {
        ScriptName::Login | ScriptName::ChangePassword => args.get(1),
        ScriptName::Create => args.first().and_then(|user| user.get("password")),
        ScriptName::GetUser | ScriptName::Verify | ScriptName::Delete | ScriptName::ChangeEmail => {
            None
        }
    };
    password.and_then(Value::as_str).filter(|p| !p.is_empty())
}

/// Redact everything of a call that may be logged or shown: console lines,
/// warnings and the error the script reported or failed with (a script's
/// `callback(err)` often carries a URL with an API key, or the password).
fn redact_run(redact: &Redactions, run: &mut ScriptRun) {
    redact.apply(&mut run.console);
    redact.apply(&mut run.warnings);
    match &mut run.outcome {
        Ok(CallbackResult::Error(e)) => redact.apply_text(&mut e.message),
        Ok(CallbackResult::Value(_)) => {}
        Err(
            ScriptError::Thrown(m)
            | ScriptError::RejectedPromise(m)
            | ScriptError::Syntax(m)
            | ScriptError::ModuleNotFound(m)
            | ScriptError::InvalidCallbackValue(m)
            | ScriptError::Internal(m),
        ) => redact.apply_text(m),
        Err(
            ScriptError::Timeout
            | ScriptError::OutOfMemory
            | ScriptError::StackOverflow
            | ScriptError::SourceTooLarge
            | ScriptError::NotAFunction
            | ScriptError::NoCallback,
        ) => {}
    }
}

fn reported(name: ScriptName, message: &str) -> LegacyError {
    LegacyError(format!(
        "the {} script reported an error: {message}",
        name.key()
    ))
}

/// The configuration strings of a connection as given (already revealed).
fn clear_configuration(connection: &Connection) -> BTreeMap<String, String> {
    connection
        .options
        .get("configuration")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl LegacySource for ScriptLegacySource {
    async fn login(
        &self,
        tenant: &str,
        connection: &Connection,
        username: &str,
        password: &str,
    ) -> Result<LegacyLogin, LegacyError> {
        match self
            .call(
                tenant,
                connection,
                ScriptName::Login,
                vec![json!(username), json!(password)],
            )
            .await?
        {
            CallbackResult::Value(Some(mut profile)) => {
                let hash = profile_hash::take(&mut profile)?;
                let user = normalize_profile(&profile)?;
                if let ProfileHash::Present(hash) = hash
                    && !profile_hash::verify(&self.hash_pool, self.hash_policy, hash, password)
                        .await?
                {
                    return Ok(LegacyLogin::WrongCredentials {
                        user: Some(user.user_id),
                    });
                }
                Ok(LegacyLogin::Profile(Box::new(user)))
            }
            CallbackResult::Value(None) => Ok(LegacyLogin::WrongCredentials { user: None }),
            CallbackResult::Error(e) => match e.kind {
                ErrorKind::WrongUsernameOrPassword { user } => {
                    Ok(LegacyLogin::WrongCredentials { user })
                }
                _ => Err(reported(ScriptName::Login, &e.message)),
            },
        }
    }

    async fn get_user(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        match self
            .call(tenant, connection, ScriptName::GetUser, vec![json!(email)])
            .await?
        {
            CallbackResult::Value(Some(profile)) => normalize_profile(&profile).map(Some),
            CallbackResult::Value(None) => Ok(None),
            CallbackResult::Error(e) => Err(reported(ScriptName::GetUser, &e.message)),
        }
    }

    async fn create(
        &self,
        tenant: &str,
        connection: &Connection,
        user: &Value,
    ) -> Result<LegacyCreate, LegacyError> {
        match self
            .call(tenant, connection, ScriptName::Create, vec![user.clone()])
            .await?
        {
            CallbackResult::Value(_) => Ok(LegacyCreate::Created),
            CallbackResult::Error(e) => match e.kind {
                ErrorKind::Validation { code } if code == "user_exists" => {
                    Ok(LegacyCreate::UserExists(e.message))
                }
                _ => Err(reported(ScriptName::Create, &e.message)),
            },
        }
    }

    async fn verify(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
    ) -> Result<(), LegacyError> {
        if self
            .call_flag(tenant, connection, ScriptName::Verify, vec![json!(email)])
            .await?
        {
            Ok(())
        } else {
            Err(LegacyError(
                "the verify script answered that the email was not verified (callback(null, false))"
                    .into(),
            ))
        }
    }

    async fn change_password(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
        new_password: &str,
    ) -> Result<bool, LegacyError> {
        self.call_flag(
            tenant,
            connection,
            ScriptName::ChangePassword,
            vec![json!(email), json!(new_password)],
        )
        .await
    }

    async fn delete(
        &self,
        tenant: &str,
        connection: &Connection,
        id: &str,
    ) -> Result<(), LegacyError> {
        match self
            .call(tenant, connection, ScriptName::Delete, vec![json!(id)])
            .await?
        {
            CallbackResult::Value(_) => Ok(()),
            CallbackResult::Error(e) => Err(reported(ScriptName::Delete, &e.message)),
        }
    }

    async fn change_email(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
        new_email: &str,
        verified: bool,
    ) -> Result<bool, LegacyError> {
        self.call_flag(
            tenant,
            connection,
            ScriptName::ChangeEmail,
            vec![json!(email), json!(new_email), json!(verified)],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn redacted(password: &str, configuration: &[(&str, &str)], lines: &[&str]) -> Vec<String> {
        let configuration = configuration
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = redactions_of_call(
            ScriptName::Login,
            &[json!("a@b.c"), json!(password)],
            &configuration,
        );
        let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        r.apply(&mut lines);
        lines
    }

    #[test]
    fn the_typed_password_never_survives_whatever_its_length() {
        assert_eq!(
            redacted(
                "s3cret-pw",
                &[("KEY", "api-key-123"), ("PORT", "1")],
                &["pw s3cret-pw key api-key-123 port 1"]
            ),
            ["pw ******** key ******** port 1"]
        );
        assert_eq!(
            redacted("ab", &[], &["user ab logged", "nothing here"]),
            [crate::secrets::WITHHELD, "nothing here"]
        );
    }

    #[test]
    fn a_value_containing_another_is_masked_whole() {
        assert_eq!(
            redacted(
                "x",
                &[("A", "secret"), ("B", "secret-longer")],
                &["secret-longer"]
            ),
            ["********"]
        );
    }
}
