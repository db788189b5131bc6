//! First start: create the tenant, the Management API, the default database
//! connection and an admin machine client; write `<data-dir>/bootstrap.json`
//! for the operator. Later starts keep everything, follow a changed public
//! URL, and add Management API scopes a newer version brought (to the API and
//! to the admin client's grant). Signing keys are `keys::rotation::prepare`'s.
//! Every start also makes sure the console's operators' connection exists
//! and, while it has no user, issues a fresh one-time setup link
//! (`console::setup::prepare`).

use std::path::Path;

use serde::{Deserialize, Serialize};
use tern_core::model::{Client, ClientGrant, Connection, ResourceServer, Scope, Tenant};
use tern_core::store::Store;
use tern_core::{clock, ids};

use crate::config::Config;

/// The operator's copy of the admin credentials, in the data directory.
pub const INFO_FILE: &str = "bootstrap.json";

/// The name of the connection created at first start.
pub const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";

/// What `bootstrap.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BootstrapInfo {
    /// `host:port` (what SDKs take as `domain`).
    pub domain: String,
    /// Admin client id.
    pub client_id: String,
    /// Admin client secret (only here and in the operator's hands).
    pub client_secret: String,
    /// Management API audience.
    pub audience: String,
    /// The default connection's id.
    pub connection_id: String,
    /// The console's one-time setup link, while no operator exists: the
    /// first operator sets their email and password there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_setup_url: Option<String>,
}

/// Every Management API scope Tern knows, Auth0's names.
pub const MANAGEMENT_SCOPES: &[&str] = &[
    "read:users",
    "update:users",
    "delete:users",
    "create:users",
    "read:users_app_metadata",
    "update:users_app_metadata",
    "delete:users_app_metadata",
    "create:users_app_metadata",
    "read:user_idp_tokens",
    "create:user_tickets",
    "read:authentication_methods",
    "delete:authentication_methods",
    "read:clients",
    "update:clients",
    "delete:clients",
    "create:clients",
    "read:client_keys",
    "update:client_keys",
    "read:connections",
    "update:connections",
    "delete:connections",
    "create:connections",
    "read:resource_servers",
    "update:resource_servers",
    "delete:resource_servers",
    "create:resource_servers",
    "read:client_grants",
    "update:client_grants",
    "delete:client_grants",
    "create:client_grants",
    "read:logs",
    "read:logs_users",
    "read:stats",
    "read:tenant_settings",
    "update:tenant_settings",
    "read:branding",
    "update:branding",
    "read:email_templates",
    "create:email_templates",
    "update:email_templates",
    "read:email_provider",
    "create:email_provider",
    "update:email_provider",
    "delete:email_provider",
    "read:signing_keys",
    "create:signing_keys",
    "update:signing_keys",
    "read:attack_protection",
    "update:attack_protection",
    "read:mfa_policies",
    "update:mfa_policies",
    "read:guardian_factors",
    "update:guardian_factors",
    "read:guardian_enrollments",
    "delete:guardian_enrollments",
    "read:anomaly_blocks",
    "delete:anomaly_blocks",
    "read:sessions",
    "update:sessions",
    "delete:sessions",
    "read:refresh_tokens",
    "update:refresh_tokens",
    // `POST /sessions/{id}/revoke` needs it beside `delete:sessions`, as Auth0's.
    "delete:refresh_tokens",
    "read:grants",
    "delete:grants",
    "read:device_credentials",
    "delete:device_credentials",
    "read:roles",
    "create:roles",
    "update:roles",
    "delete:roles",
    "read:role_members",
    "create:role_members",
    "delete:role_members",
    "read:actions",
    "create:actions",
    "update:actions",
    "delete:actions",
    // Tern's own (Auth0 has no script "try" endpoint): running a script with
    // a connection's stored configuration reveals that configuration.
    "execute:connection_scripts",
];

/// Errors of the bootstrap.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// Store failure.
    #[error(transparent)]
    Store(#[from] tern_core::CoreError),
    /// Could not write bootstrap.json.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Make sure the tenant and its essentials exist; return the tenant and the
/// bootstrap record (fresh on first start, re-read afterwards).
pub async fn bootstrap(
    store: &dyn Store,
    config: &Config,
    public_url: &str,
) -> Result<(Tenant, Option<BootstrapInfo>), BootstrapError> {
    let audience = format!("{public_url}/api/v2/");
    let domain = public_url
        .split_once("://")
        .map_or(public_url, |(_, d)| d)
        .to_string();
    let path = config.data_dir.join(INFO_FILE);
    if let Some(tenant) = store.default_tenant().await? {
        follow_public_url(store, &tenant.id, &audience).await?;
        let admin = read_info(&path).map(|i| i.client_id);
        add_new_scopes(store, &tenant.id, admin.as_deref()).await?;
        let setup = crate::console::setup::prepare(store, &tenant.id, public_url).await?;
        let info = read_info(&path).map(|mut i| {
            i.domain = domain;
            i.audience = audience;
            i.console_setup_url = setup;
            i
        });
        if let Some(i) = &info {
            write_info(&path, i)?;
        }
        return Ok((tenant, info));
    }

    let tenant = Tenant {
        id: format!("ten_{}", ids::user_local_id()),
        name: "default".into(),
        created_at: clock::now_iso(),
    };
    store.insert_tenant(&tenant).await?;
    let t = tenant.id.as_str();

    store
        .insert_resource_server(
            t,
            &ResourceServer {
                id: ids::resource_server_id(),
                name: "Auth0 Management API".into(),
                identifier: audience.clone(),
                scopes: MANAGEMENT_SCOPES
                    .iter()
                    .map(|s| Scope {
                        value: (*s).into(),
                        description: String::new(),
                    })
                    .collect(),
                signing_alg: "RS256".into(),
                token_lifetime: tern_core::model::default_token_lifetime(),
                allow_offline_access: false,
                skip_consent_for_verifiable_first_party_clients: false,
                is_system: true,
                tern_machine_to_machine_only: true,
                enforce_policies: false,
                token_dialect: tern_core::model::default_token_dialect(),
            },
        )
        .await?;

    let client_id = config
        .bootstrap_client_id
        .clone()
        .unwrap_or_else(ids::client_id);
    let client_secret = config
        .bootstrap_client_secret
        .clone()
        .unwrap_or_else(ids::client_secret);
    store
        .insert_client(t, &Client {
            client_id: client_id.clone(),
            name: "Tern Admin (bootstrap)".into(),
            description: Some("Machine-to-machine client created at first start; holds every Management API scope.".into()),
            app_type: Some("non_interactive".into()),
            is_first_party: true,
            callbacks: vec![],
            allowed_origins: vec![],
            web_origins: vec![],
            allowed_logout_urls: vec![],
            grant_types: vec!["client_credentials".into()],
            token_endpoint_auth_method: "client_secret_post".into(),
            is_token_endpoint_ip_header_trusted: false,
            client_metadata: Default::default(),
            global: false,
            refresh_token: None,
            initiate_login_uri: None,
            jwt_configuration: Default::default(),
            secret_hash: crate::client_secret::hash_secret(&client_secret),
        })
        .await?;
    store
        .insert_client_grant(
            t,
            &ClientGrant {
                id: ids::client_grant_id(),
                client_id: client_id.clone(),
                audience: audience.clone(),
                scope: MANAGEMENT_SCOPES.iter().map(|s| (*s).to_string()).collect(),
            },
        )
        .await?;

    let mut options = serde_json::Map::new();
    options.insert("passwordPolicy".into(), "good".into());
    options.insert("brute_force_protection".into(), true.into());
    let connection = Connection {
        id: ids::connection_id(),
        name: DEFAULT_CONNECTION.into(),
        display_name: None,
        strategy: "auth0".into(),
        options,
        enabled_clients: vec![client_id.clone()],
        realms: vec![DEFAULT_CONNECTION.into()],
        is_domain_connection: false,
    };
    store.insert_connection(t, &connection).await?;

    let info = BootstrapInfo {
        domain,
        client_id,
        client_secret,
        audience,
        connection_id: connection.id,
        console_setup_url: crate::console::setup::prepare(store, t, public_url).await?,
    };
    write_info(&path, &info)?;
    Ok((tenant, Some(info)))
}

/// When the public URL changed since the last start, move the Management API
/// (and its grants) to the new audience so the admin client keeps working.
async fn follow_public_url(
    store: &dyn Store,
    tenant: &str,
    audience: &str,
) -> Result<(), BootstrapError> {
    for mut rs in store.list_resource_servers(tenant).await? {
        if rs.is_system && rs.identifier != audience {
            let old = std::mem::replace(&mut rs.identifier, audience.to_string());
            store.update_resource_server(tenant, &rs).await?;
            for mut g in store.list_client_grants(tenant).await? {
                if g.audience == old {
                    store.delete_client_grant(tenant, &g.id).await?;
                    g.audience = audience.to_string();
                    store.insert_client_grant(tenant, &g).await?;
                }
            }
        }
    }
    Ok(())
}

/// Scopes this version knows that the stored Management API lacks were
/// added by an upgrade: give them to the API and to the bootstrap admin
/// client, which holds every scope. Scopes the operator took away from the
/// admin client are not given back: only scopes new to the API are added.
async fn add_new_scopes(
    store: &dyn Store,
    tenant: &str,
    admin_client: Option<&str>,
) -> Result<(), BootstrapError> {
    for mut rs in store.list_resource_servers(tenant).await? {
        if !rs.is_system {
            continue;
        }
        let new: Vec<&str> = MANAGEMENT_SCOPES
            .iter()
            .copied()
            .filter(|s| !rs.scopes.iter().any(|have| have.value == *s))
            .collect();
        if new.is_empty() {
            continue;
        }
        rs.scopes.extend(new.iter().map(|s| Scope {
            value: (*s).into(),
            description: String::new(),
        }));
        store.update_resource_server(tenant, &rs).await?;
        tracing::info!(scopes = ?new, "Management API scopes added by this version");
        let Some(admin) = admin_client else { continue };
        for mut g in store.list_client_grants(tenant).await? {
            if g.client_id == admin && g.audience == rs.identifier {
                g.scope.extend(new.iter().map(|s| (*s).to_string()));
                store.update_client_grant(tenant, &g).await?;
            }
        }
    }
    Ok(())
}

fn read_info(path: &Path) -> Option<BootstrapInfo> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

fn write_info(path: &Path, info: &BootstrapInfo) -> Result<(), BootstrapError> {
    let io = |source| BootstrapError::Io {
        path: path.display().to_string(),
        source,
    };
    let body = serde_json::to_vec_pretty(info).unwrap_or_default();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(&body).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    Ok(())
}
