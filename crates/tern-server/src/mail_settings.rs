//! A tenant's SMTP settings, editable in the console's Settings page: stored
//! in `tenant_mail_settings` (migration 0033) with the password sealed by
//! the secrets key (never rendered back), the configuration file's `smtp`
//! settings applying while none are stored.
//!
//! The SMTP server is a destination the tenant configures, so it passes the
//! same network policy as scripts and connectors (`tern-net`): checked when
//! saved, and resolved and checked again at every send, the connection made
//! to the checked address (TLS still verifies the certificate for the name),
//! so a name re-resolving to an internal address later is refused too.
//! [`TenantMailer`] is the server's mailer: every message — resets, unblock
//! links, import notices and the console's test mail — goes through it.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use tern_core::mail::{MailError, MailSettings, Mailer, OutboundMail, SmtpTls};
use tern_core::store::Store;
use tern_core::{CoreResult, clock};

use crate::config::SmtpConfig;
use crate::mail::SmtpMailer;
use crate::secrets::SecretKey;
use crate::state::AppState;

/// What binds a sealed SMTP password to its tenant.
fn aad(tenant: &str) -> String {
    format!("tern-mail-settings\0{tenant}\0password")
}

/// `password` sealed for the tenant's stored settings.
pub fn seal_password(s: &AppState, password: &str) -> CoreResult<String> {
    s.secrets
        .seal(&aad(s.tid()), password)
        .map_err(|e| tern_core::CoreError::Storage(e.to_string()))
}

/// The settings as the Settings page shows them: stored ones, or those of
/// the configuration file (its password never leaves it).
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// Host, empty when mail goes to the outbox.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS mode.
    pub tls: SmtpTls,
    /// User, empty for none.
    pub user: String,
    /// Whether a password is set (it is never shown).
    pub has_password: bool,
    /// From address.
    pub from: String,
    /// False when turned off through `/api/v2/emails/provider` (kept, not
    /// used).
    pub enabled: bool,
    /// The names of headers added to every message (set through the API).
    pub headers: Vec<String>,
    /// `Some((when, who))` when stored; `None` when from the configuration.
    pub stored: Option<(String, String)>,
}

/// The configuration file's `smtp` settings in the page's terms.
fn from_config(c: &SmtpConfig) -> Shown {
    let url = c.url.as_deref().and_then(|u| url::Url::parse(u).ok());
    let tls = match &url {
        Some(u) if u.scheme() == "smtps" => SmtpTls::Tls,
        Some(u) if u.query_pairs().any(|(k, v)| k == "tls" && v == "required") => SmtpTls::Starttls,
        _ => SmtpTls::None,
    };
    Shown {
        host: url
            .as_ref()
            .and_then(|u| u.host_str())
            .unwrap_or_default()
            .to_string(),
        port: url
            .as_ref()
            .and_then(url::Url::port)
            .unwrap_or(if tls == SmtpTls::Tls { 465 } else { 25 }),
        tls,
        user: url
            .as_ref()
            .map(|u| u.username().to_string())
            .unwrap_or_default(),
        has_password: url.as_ref().is_some_and(|u| u.password().is_some()),
        from: c.from.clone(),
        enabled: true,
        headers: Vec::new(),
        stored: None,
    }
}

/// What the Settings page shows.
pub async fn shown(s: &AppState) -> CoreResult<Shown> {
    Ok(match s.store.get_mail_settings(s.tid()).await? {
        Some(m) => Shown {
            host: m.host,
            port: m.port,
            tls: m.tls,
            user: m.user.unwrap_or_default(),
            has_password: m.password_sealed.is_some(),
            from: m.from,
            enabled: m.enabled,
            headers: m.headers.into_keys().collect(),
            stored: Some((m.updated_at, m.updated_by)),
        },
        None => from_config(&s.config.smtp),
    })
}

/// The Settings form, as submitted.
#[derive(Debug, Default)]
pub struct Submitted {
    /// SMTP host.
    pub host: String,
    /// Port, as typed.
    pub port: String,
    /// `none`, `starttls`, `tls`.
    pub tls: String,
    /// User (empty: no authentication).
    pub user: String,
    /// New password; empty keeps the stored one.
    pub password: String,
    /// From address.
    pub from: String,
}

/// Check and store `form` for the tenant; the message for the operator when
/// something is wrong (nothing stored then). The settings as stored
/// otherwise.
pub async fn save(
    s: &AppState,
    operator: &str,
    form: Submitted,
) -> CoreResult<Result<MailSettings, String>> {
    let host = form.host.trim().to_string();
    if host.is_empty() || host.contains(['/', '\\', ' ', '@']) {
        return Ok(Err("Give the SMTP server's host name or address.".into()));
    }
    let Some(port) = form.port.trim().parse::<u16>().ok().filter(|p| *p > 0) else {
        return Ok(Err(format!(
            "'{}' is not a port (1 to 65535).",
            form.port.trim()
        )));
    };
    let Some(tls) = SmtpTls::parse(&form.tls) else {
        return Ok(Err("Choose how the connection is protected.".into()));
    };
    let from = form.from.trim().to_string();
    if from.parse::<Mailbox>().is_err() {
        return Ok(Err(format!(
            "'{from}' is not a From address (e.g. Tern <no-reply@example.com>)."
        )));
    }
    // The same policy as every destination a tenant configures.
    if let Err(e) = s.network.resolve(&host, port).await {
        return Ok(Err(e.to_string()));
    }
    let user = Some(form.user.trim().to_string()).filter(|u| !u.is_empty());
    let stored = s.store.get_mail_settings(s.tid()).await?;
    let password_sealed = match (&user, form.password.is_empty()) {
        (None, _) => None,
        (Some(_), true) => stored.as_ref().and_then(|m| m.password_sealed.clone()),
        (Some(_), false) => Some(seal_password(s, &form.password)?),
    };
    // What the form does not show (set through `/api/v2/emails/provider`)
    // stays as it was.
    let (enabled, headers) = stored
        .map(|m| (m.enabled, m.headers))
        .unwrap_or((true, Default::default()));
    let settings = MailSettings {
        host,
        port,
        tls,
        user,
        password_sealed,
        from,
        enabled,
        headers,
        updated_at: clock::now_iso(),
        updated_by: operator.to_string(),
    };
    s.store.put_mail_settings(s.tid(), &settings).await?;
    Ok(Ok(settings))
}

/// Remove the tenant's stored settings (their sealed password with them):
/// the configuration file's apply again. Whether there were any.
pub async fn forget(s: &AppState) -> CoreResult<bool> {
    s.store.delete_mail_settings(s.tid()).await
}

/// The server's mailer: a tenant's stored settings when it has them, the
/// configuration's mailer (SMTP or the outbox) otherwise.
pub struct TenantMailer {
    store: Arc<dyn Store>,
    secrets: Arc<SecretKey>,
    network: tern_net::Network,
    fallback: Arc<dyn Mailer>,
    timeout: Duration,
}

impl TenantMailer {
    /// Over `fallback`, the mailer of the configuration file.
    pub fn new(
        store: Arc<dyn Store>,
        secrets: Arc<SecretKey>,
        network: tern_net::Network,
        fallback: Arc<dyn Mailer>,
        timeout: Duration,
    ) -> Self {
        Self {
            store,
            secrets,
            network,
            fallback,
            timeout,
        }
    }

    /// An SMTP mailer for stored settings, connecting to a checked address.
    async fn smtp(&self, tenant: &str, m: &MailSettings) -> Result<SmtpMailer, MailError> {
        let refused = |e: String| MailError::Transport(e);
        let addr = *self
            .network
            .resolve(&m.host, m.port)
            .await
            .map_err(|e| refused(e.to_string()))?
            .first()
            .ok_or_else(|| refused(format!("{} has no address", m.host)))?;
        let params = || {
            TlsParameters::new(m.host.clone())
                .map_err(|e| refused(format!("TLS for {}: {e}", m.host)))
        };
        let tls = match m.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(params()?),
            SmtpTls::Tls => Tls::Wrapper(params()?),
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
                .port(addr.port())
                .tls(tls)
                .timeout(Some(self.timeout));
        if let Some(user) = &m.user {
            let password = match &m.password_sealed {
                Some(sealed) => self.secrets.open(&aad(tenant), sealed).ok_or_else(|| {
                    refused(
                        "the stored SMTP password cannot be opened (was the secrets key changed?): save it again".into(),
                    )
                })?,
                None => String::new(),
            };
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let from: Mailbox = m
            .from
            .parse()
            .map_err(|_| MailError::InvalidAddress(m.from.clone()))?;
        let headers = m
            .headers
            .iter()
            .map(|(k, v)| (crate::email_provider::wire_name(k).to_string(), v.clone()))
            .collect();
        Ok(SmtpMailer::with_transport(builder.build(), from).with_headers(headers))
    }
}

#[async_trait::async_trait]
impl Mailer for TenantMailer {
    async fn send(&self, tenant: &str, mail: &OutboundMail) -> Result<(), MailError> {
        let stored = self
            .store
            .get_mail_settings(tenant)
            .await
            .map_err(|e| MailError::Transport(format!("the tenant's mail settings: {e}")))?;
        match stored.filter(|m| m.enabled) {
            Some(m) => self.smtp(tenant, &m).await?.send(tenant, mail).await,
            None => self.fallback.send(tenant, mail).await,
        }
    }

    /// `smtp` while the tenant has stored settings turned on (they replace
    /// the configuration file's), else the configured mailer's.
    async fn transport(&self, tenant: &str) -> &'static str {
        match self.store.get_mail_settings(tenant).await {
            Ok(Some(m)) if m.enabled => "smtp",
            _ => self.fallback.transport(tenant).await,
        }
    }
}

/// The outcome of a test mail in words an operator can act on.
pub fn outcome(result: &Result<(), MailError>) -> Result<&'static str, String> {
    let e = match result {
        Ok(()) => return Ok("Sent: the SMTP server accepted the test mail."),
        Err(e) => e.to_string(),
    };
    let lower = e.to_ascii_lowercase();
    let what = if lower.contains("network access to") {
        "Refused by Tern's network policy"
    } else if lower.contains("connection refused") {
        "Connection refused: nothing accepts connections at that host and port"
    } else if lower.contains("535") || lower.contains("authentication") {
        "Authentication failed: the server refused the user or password"
    } else if lower.contains("timed out") || lower.contains("timeout") {
        "No answer: the server did not respond in time"
    } else if lower.contains("tls") || lower.contains("certificate") {
        "TLS failed"
    } else {
        "Not sent"
    };
    Err(format!("{what}. ({e})"))
}
