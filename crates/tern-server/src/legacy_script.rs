//! The legacy store as a connection's custom-database scripts (Auth0 style),
//! run in the `tern-script` QuickJS sandbox.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tern_core::legacy::{LegacyError, LegacyLogin, LegacyProfile, LegacySource, normalize_profile};
use tern_core::model::Connection;
use tern_script::{CallbackResult, ErrorKind, NetworkPolicy, ScriptEnv, ScriptLimits, ScriptName};

/// Runs `login` and `get_user` scripts.
pub struct ScriptLegacySource {
    limits: ScriptLimits,
    network: NetworkPolicy,
}

impl ScriptLegacySource {
    /// Scripts may reach `allowed_hosts` (`host` or `host:port`; `None` = any
    /// host) and run for at most `timeout`.
    pub fn new(timeout: Duration, allowed_hosts: Option<&[String]>) -> Self {
        let network = match allowed_hosts {
            None => NetworkPolicy::allow_all(),
            Some(hosts) => hosts.iter().fold(NetworkPolicy::deny_all(), |p, h| {
                match h
                    .rsplit_once(':')
                    .and_then(|(host, port)| Some((host, port.parse().ok()?)))
                {
                    Some((host, port)) => p.allow_host_port(host, port),
                    None => p.allow_host(h.clone()),
                }
            }),
        };
        Self {
            limits: ScriptLimits {
                timeout,
                ..ScriptLimits::default()
            },
            network,
        }
    }

    fn env(&self, connection: &Connection) -> ScriptEnv {
        let configuration: BTreeMap<String, String> = connection
            .options
            .get("configuration")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
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

    async fn call(
        &self,
        connection: &Connection,
        name: ScriptName,
        args: Vec<Value>,
    ) -> Result<CallbackResult, LegacyError> {
        let source = connection
            .options
            .get("customScripts")
            .and_then(|m| m.get(name.key()))
            .and_then(Value::as_str)
            .ok_or_else(|| LegacyError(format!("the connection has no {} script", name.key())))?;
        let run = tern_script::run(source, name, args, &self.env(connection)).await;
        for line in &run.console {
            tracing::info!(connection = %connection.name, script = name.key(), "{line}");
        }
        for w in &run.warnings {
            tracing::warn!(connection = %connection.name, script = name.key(), "{w}");
        }
        run.outcome.map_err(|e| {
            LegacyError(format!(
                "the {} script failed after {} ms: {e}",
                name.key(),
                run.elapsed.as_millis()
            ))
        })
    }
}

#[async_trait::async_trait]
impl LegacySource for ScriptLegacySource {
    async fn login(
        &self,
        _tenant: &str,
        connection: &Connection,
        username: &str,
        password: &str,
    ) -> Result<LegacyLogin, LegacyError> {
        match self
            .call(
                connection,
                ScriptName::Login,
                vec![json!(username), json!(password)],
            )
            .await?
        {
            CallbackResult::Value(Some(profile)) => {
                Ok(LegacyLogin::Profile(Box::new(normalize_profile(&profile)?)))
            }
            CallbackResult::Value(None) => Ok(LegacyLogin::WrongCredentials { user: None }),
            CallbackResult::Error(e) => match e.kind {
                ErrorKind::WrongUsernameOrPassword { user } => {
                    Ok(LegacyLogin::WrongCredentials { user })
                }
                _ => Err(LegacyError(format!(
                    "the login script reported an error: {}",
                    e.message
                ))),
            },
        }
    }

    async fn get_user(
        &self,
        _tenant: &str,
        connection: &Connection,
        email: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        match self
            .call(connection, ScriptName::GetUser, vec![json!(email)])
            .await?
        {
            CallbackResult::Value(Some(profile)) => normalize_profile(&profile).map(Some),
            CallbackResult::Value(None) => Ok(None),
            CallbackResult::Error(e) => Err(LegacyError(format!(
                "the get_user script reported an error: {}",
                e.message
            ))),
        }
    }
}
