//! Sending mail over SMTP (`smtp.url`), and choosing the mailer: without an
//! SMTP server, mail is kept in the store's outbox ([`OutboxMailer`]).

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tern_core::mail::{MailError, Mailer, OutboundMail, OutboxMailer};
use tern_core::store::Store;

use crate::config::SmtpConfig;

/// Sends each message over SMTP. A failure is returned to the caller, which
/// logs it (`fn` in the tenant log): nothing is retried behind its back.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Added to every message (a provider's options: `settings.headers`).
    headers: Vec<(String, String)>,
}

impl SmtpMailer {
    /// A mailer for `url` (see [`SmtpConfig::url`]), sending as `from`.
    pub fn new(url: &str, from: &str, timeout: Duration) -> Result<Self, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("smtp.from '{from}' is not an address: {e}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("smtp.url: {e}"))?
            .timeout(Some(timeout))
            .build();
        Ok(Self {
            transport,
            from,
            headers: Vec::new(),
        })
    }

    /// A mailer over a transport built elsewhere (a tenant's stored
    /// settings: `mail_settings`), sending as `from`.
    pub fn with_transport(transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox) -> Self {
        Self {
            transport,
            from,
            headers: Vec::new(),
        }
    }

    /// The same mailer adding `headers` (name, value; checked when stored)
    /// to every message.
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers = headers;
        self
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, _tenant: &str, mail: &OutboundMail) -> Result<(), MailError> {
        // A bare address, never a display name: the recipient comes from
        // user data, which must not choose the text a mail client shows.
        let to = Mailbox::new(
            None,
            mail.to
                .parse::<lettre::Address>()
                .map_err(|_| MailError::InvalidAddress(mail.to.clone()))?,
        );
        // A template's sender was checked when it was saved.
        let from = match &mail.from {
            Some(f) => f
                .parse::<Mailbox>()
                .map_err(|_| MailError::InvalidAddress(f.clone()))?,
            None => self.from.clone(),
        };
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject.as_str());
        for (name, value) in &self.headers {
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|e| MailError::Transport(format!("header {name}: {e}")))?;
            builder = builder.raw_header(HeaderValue::new(name, value.clone()));
        }
        let message = match &mail.html {
            // A template's HTML, with a text part for clients that read only text.
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                html.clone(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(mail.text.clone()),
        }
        .map_err(|e| MailError::Transport(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| MailError::Transport(format!("SMTP: {e}")))
    }

    async fn transport(&self, _tenant: &str) -> &'static str {
        "smtp"
    }
}

/// The mailer the configuration asks for: SMTP when `smtp.url` is set, the
/// outbox otherwise.
pub fn from_config(config: &SmtpConfig, store: Arc<dyn Store>) -> Result<Arc<dyn Mailer>, String> {
    Ok(match &config.url {
        Some(url) => Arc::new(SmtpMailer::new(
            url,
            &config.from,
            Duration::from_secs(config.timeout_secs),
        )?),
        None => Arc::new(OutboxMailer::new(store)),
    })
}
