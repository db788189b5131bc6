//! Where the API-client commands (`tern import`, `tern export`) find the
//! Management API: flags, then `TERN_*` variables, then the bootstrap file
//! `tern serve` writes — first found wins for each value.

use std::path::PathBuf;

use serde_json::Value;

/// Where `tern serve` writes the admin credentials by default.
const DEFAULT_BOOTSTRAP: &str = "tern-data/bootstrap.json";

/// The credentials part of every API-client command's help.
#[macro_export]
macro_rules! credentials_help {
    () => {
        "\
Credentials, first found wins for each: the flags; TERN_URL, TERN_CLIENT_ID,
TERN_CLIENT_SECRET, TERN_AUDIENCE; the bootstrap file (--bootstrap, default
./tern-data/bootstrap.json, whose `domain` is host:port: --url says how to
reach the server while the audience stays as in the file). A bare host:port
means https, or http on a loopback address. Without an audience, it is
<issuer>api/v2/ from /.well-known/openid-configuration."
    };
}

/// The flags that say how to reach and authenticate to the Management API.
#[derive(clap::Args, Debug, Clone)]
pub struct ApiArgs {
    /// Base URL of Tern, http(s)://host:port.
    #[arg(long, visible_alias = "url", env = "TERN_URL", value_name = "URL")]
    pub domain: Option<String>,
    /// Client id of a machine-to-machine application.
    #[arg(long, env = "TERN_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,
    /// Its client secret.
    #[arg(
        long,
        env = "TERN_CLIENT_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub client_secret: Option<String>,
    /// Management API audience (identifier), e.g. https://tern.example.com/api/v2/.
    #[arg(long, env = "TERN_AUDIENCE", value_name = "AUDIENCE")]
    pub audience: Option<String>,
    /// A bootstrap.json written by `tern serve` (default ./tern-data/bootstrap.json).
    #[arg(long, value_name = "PATH")]
    pub bootstrap: Option<PathBuf>,
}

/// What a command needs to reach the Management API.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `http(s)://host:port`, no trailing slash: where requests go.
    pub base: String,
    pub client_id: String,
    pub client_secret: String,
    /// `None`: discovered from the server's issuer.
    pub audience: Option<String>,
}

fn is_loopback(host_port: &str) -> bool {
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// `http(s)://host:port` without a trailing slash; a bare host:port gets
/// https, or http on a loopback address.
pub fn base_url(domain: &str) -> String {
    let d = domain.trim().trim_end_matches('/');
    if d.contains("://") {
        d.to_string()
    } else if is_loopback(d) {
        format!("http://{d}")
    } else {
        format!("https://{d}")
    }
}

impl ApiArgs {
    /// The credentials, or what is missing and where it could come from.
    pub fn resolve(&self) -> Result<Credentials, String> {
        let mut domain = self.domain.clone().filter(|s| !s.is_empty());
        let mut client_id = self.client_id.clone().filter(|s| !s.is_empty());
        let mut client_secret = self.client_secret.clone().filter(|s| !s.is_empty());
        let mut audience = self.audience.clone().filter(|s| !s.is_empty());
        let incomplete = domain.is_none()
            || client_id.is_none()
            || client_secret.is_none()
            || audience.is_none();
        let mut note = String::new();
        if self.bootstrap.is_some() || incomplete {
            let path = self
                .bootstrap
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_BOOTSTRAP));
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let v: Value = serde_json::from_slice(&bytes)
                        .map_err(|e| format!("{}: not a bootstrap file: {e}", path.display()))?;
                    let field = |k: &str| {
                        v.get(k)
                            .and_then(Value::as_str)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                    };
                    domain = domain.or_else(|| field("domain"));
                    client_id = client_id.or_else(|| field("client_id"));
                    client_secret = client_secret.or_else(|| field("client_secret"));
                    audience = audience.or_else(|| field("audience"));
                }
                Err(e) if self.bootstrap.is_some() => {
                    return Err(format!("cannot read {}: {e}", path.display()));
                }
                Err(_) => note = format!(" (no {} here)", path.display()),
            }
        }
        let missing: Vec<&str> = [
            ("--domain/TERN_URL", domain.is_none()),
            ("--client-id/TERN_CLIENT_ID", client_id.is_none()),
            (
                "--client-secret/TERN_CLIENT_SECRET",
                client_secret.is_none(),
            ),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(n, _)| *n)
        .collect();
        match (domain, client_id, client_secret) {
            (Some(d), Some(id), Some(secret)) => Ok(Credentials {
                base: base_url(&d),
                client_id: id,
                client_secret: secret,
                audience,
            }),
            _ => Err(format!(
                "missing credentials for the Management API: {}. Pass them as flags or environment variables, or point --bootstrap at the bootstrap.json written by `tern serve`{note}.",
                missing.join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_domains_get_a_scheme() {
        assert_eq!(base_url("127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(base_url("localhost:1/"), "http://localhost:1");
        assert_eq!(base_url("[::1]:8080"), "http://[::1]:8080");
        assert_eq!(base_url("tern.example.com"), "https://tern.example.com");
        assert_eq!(base_url("http://tern.lan:80/"), "http://tern.lan:80");
    }
}
