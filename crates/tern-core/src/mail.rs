//! Mail Tern sends: password-reset links, import-job completion notices.
//!
//! Handlers build an [`OutboundMail`] and hand it to a [`Mailer`]. Without an
//! SMTP server configured, [`OutboxMailer`] keeps every message in the store's
//! outbox, where an operator (or a test) reads it: a message is never dropped
//! silently. The SMTP mailer lives in `tern-server` (it does network I/O).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::store::Store;

/// What a message is for; stored with it and used in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// A link to set a new password (`/dbconnections/change_password`).
    PasswordReset,
    /// A bulk import job finished (`send_completion_email`).
    ImportCompletion,
    /// Brute-force protection blocked logins; a link lifts the block.
    AccountUnblock,
    /// Suspicious-IP throttling began refusing an address (`admin_notification`).
    SuspiciousIp,
    /// The console's "Send a test mail".
    Test,
    /// A link that verifies the user's address (`POST /jobs/verification-email`).
    VerificationEmail,
    /// The `welcome_email` template after a signup (or its verification).
    WelcomeEmail,
}

impl MailKind {
    /// Stable name stored in the outbox.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::ImportCompletion => "import_completion",
            Self::AccountUnblock => "account_unblock",
            Self::SuspiciousIp => "suspicious_ip",
            Self::Test => "test",
            Self::VerificationEmail => "verification_email",
            Self::WelcomeEmail => "welcome_email",
        }
    }
}

/// A message to send: plain text (and an HTML part when an email template
/// made it), one recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundMail {
    /// What it is for.
    pub kind: MailKind,
    /// The recipient's address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body (an operator's email template); sent beside the text as
    /// `multipart/alternative`.
    pub html: Option<String>,
    /// The sender, when a template names one (checked as an address when
    /// the template was saved); otherwise the transport's `From`.
    pub from: Option<String>,
}

impl OutboundMail {
    /// A plain-text message from the transport's sender.
    pub fn plain(
        kind: MailKind,
        to: impl Into<String>,
        subject: impl Into<String>,
        text: String,
    ) -> Self {
        Self {
            kind,
            to: to.into(),
            subject: subject.into(),
            text,
            html: None,
            from: None,
        }
    }
}

/// A message kept in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    /// Sortable id.
    pub id: String,
    /// When it was written.
    pub created_at: String,
    /// `password_reset`, `import_completion`.
    pub kind: String,
    /// The recipient's address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body, when the message has one.
    pub html: Option<String>,
    /// The sender a template named, when one did.
    pub from: Option<String>,
}

/// How an SMTP conversation is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain text (a relay on the same host or network).
    None,
    /// Plain text upgraded with STARTTLS, which is required.
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl SmtpTls {
    /// The stored and submitted name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Starttls => "starttls",
            Self::Tls => "tls",
        }
    }
    /// Parse [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::None, Self::Starttls, Self::Tls]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// A tenant's SMTP settings as stored (the console's Settings page): the
/// password sealed by the server's secrets key, never in clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailSettings {
    /// The SMTP server's name or address.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the conversation is protected.
    pub tls: SmtpTls,
    /// The user to authenticate as (none: no authentication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The password, sealed (`$tern-sealed$v1$…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_sealed: Option<String>,
    /// The `From` of every message.
    pub from: String,
    /// Off (Auth0's `enabled: false` on `/emails/provider`): kept, but mail
    /// goes as if none were stored (the configuration file's, or the outbox).
    #[serde(default = "on", skip_serializing_if = "is_on")]
    pub enabled: bool,
    /// Headers added to every message (Auth0's `settings.headers` of an SMTP
    /// provider: an SES configuration set, SparkPost's `X-MSYS-API`), by
    /// name, each value as it goes on the wire.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// When they were saved.
    pub updated_at: String,
    /// Who saved them (the operator).
    pub updated_by: String,
}

fn on() -> bool {
    true
}

fn is_on(b: &bool) -> bool {
    *b
}

/// Why a message could not be sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MailError {
    /// An address does not parse.
    #[error("invalid email address '{0}'")]
    InvalidAddress(String),
    /// The transport (SMTP server, outbox) refused or could not be reached.
    #[error("the mail could not be delivered: {0}")]
    Transport(String),
}

/// Sends mail for a tenant.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    /// Send (or keep) one message.
    async fn send(&self, tenant: &str, mail: &OutboundMail) -> Result<(), MailError>;
    /// Where `tenant`'s messages go (`outbox`, `smtp`), for logs.
    async fn transport(&self, tenant: &str) -> &'static str;
}

/// Keeps messages in the store's outbox: the mailer when no SMTP server is
/// configured. Reset links in the outbox are live secrets until they expire;
/// production deployments configure SMTP.
pub struct OutboxMailer {
    store: Arc<dyn Store>,
}

impl OutboxMailer {
    /// An outbox on `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, tenant: &str, mail: &OutboundMail) -> Result<(), MailError> {
        let message = OutboxMessage {
            id: crate::ids::mail_id(),
            created_at: crate::clock::now_iso(),
            kind: mail.kind.as_str().to_string(),
            to: mail.to.clone(),
            subject: mail.subject.clone(),
            text: mail.text.clone(),
            html: mail.html.clone(),
            from: mail.from.clone(),
        };
        self.store
            .insert_outbox(tenant, &message)
            .await
            .map_err(|e| MailError::Transport(format!("outbox: {e}")))
    }

    async fn transport(&self, _tenant: &str) -> &'static str {
        "outbox"
    }
}
