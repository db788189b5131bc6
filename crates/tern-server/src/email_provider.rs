//! Auth0's `/api/v2/emails/provider`: the tenant's SMTP settings (those the
//! console's Settings page edits, `mail_settings`) read and written in the
//! Management API's terms, so deploy tools and SDK scripts that configure
//! Auth0's email provider configure Tern's.
//!
//! Tern sends over SMTP only, so `name` is `smtp` (SendGrid, Mailgun, SES,
//! SparkPost and the others all take SMTP too; another name is refused
//! with that advice). `credentials` are `smtp_host`, `smtp_port`,
//! `smtp_user`, `smtp_pass` — the password sealed at once and never
//! answered — and Tern's `tern_tls` (`none`, `starttls`, `tls`); without
//! it the port decides, as mail clients do: 465 is TLS from the first byte,
//! any other port requires STARTTLS. `settings.headers` may name an SES
//! configuration set (`X-SES-Configuration-Set`, a string) or SparkPost's
//! options (`X-MSYS-API`, an object; Auth0's documents spell it
//! `X-MSYS_API`, accepted too), added to every message. `enabled: false`
//! keeps the settings but sends as if there were none (the configuration
//! file's mailer, or the outbox), as Auth0 falls back to its own.
//!
//! Writes are compare-and-swap on the stored settings' `updated_at`
//! (`replace_mail_settings`): two `POST`s make one provider and a `409`,
//! and a `PATCH` never undoes a change made since it read.

use std::collections::BTreeMap;

use lettre::message::Mailbox;
use serde_json::{Map, Value, json};
use tern_core::clock;
use tern_core::mail::{MailSettings, SmtpTls};

use crate::error::ApiError;
use crate::payload::{object_with, require_keys};
use crate::state::AppState;

/// The provider's properties.
const PROPERTIES: &[&str] = &[
    "name",
    "enabled",
    "default_from_address",
    "credentials",
    "settings",
];

/// An SMTP provider's credentials.
const CREDENTIALS: &[&str] = &[
    "smtp_host",
    "smtp_port",
    "smtp_user",
    "smtp_pass",
    "tern_tls",
];

/// The SES configuration set header.
const SES_HEADER: &str = "X-SES-Configuration-Set";
/// SparkPost's options header, as SparkPost spells it and as Auth0's
/// documents do.
const SPARKPOST_HEADERS: [&str; 2] = ["X-MSYS-API", "X-MSYS_API"];
/// The longest header value kept (a configuration set name is at most 64
/// characters; SparkPost's options are a small object).
const MAX_HEADER_BYTES: usize = 2048;

/// How long a write waits for the SMTP host's name to resolve.
const RESOLVE_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

fn not_configured() -> ApiError {
    ApiError::not_found(
        "inexistent_email_provider",
        "Email provider has not been configured.",
    )
}

fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_body(format!("Payload validation error: {message}"))
}

/// `GET`: the stored provider, with Auth0's `fields` / `include_fields`
/// (no `fields`: `name` and `enabled`, as Auth0 answers).
pub async fn get(s: &AppState, fields: &[String], include: bool) -> Result<Value, ApiError> {
    let wanted = selected(fields, include)?;
    let stored = s
        .store
        .get_mail_settings(s.tid())
        .await?
        .ok_or_else(not_configured)?;
    let mut all = provider_json(&stored);
    if let Value::Object(m) = &mut all {
        m.retain(|k, _| wanted.contains(&k.as_str()));
    }
    Ok(all)
}

/// The properties a `GET` answers.
fn selected(fields: &[String], include: bool) -> Result<Vec<&'static str>, ApiError> {
    if fields.is_empty() {
        return Ok(vec!["name", "enabled"]);
    }
    let mut named = Vec::new();
    for f in fields {
        let known = PROPERTIES.iter().find(|p| **p == f).ok_or_else(|| {
            ApiError::invalid_query(format!(
                "Query validation error: '{f}' is not a field of the email provider \
                 (name, enabled, credentials, settings, default_from_address)."
            ))
        })?;
        named.push(*known);
    }
    Ok(PROPERTIES
        .iter()
        .copied()
        .filter(|p| named.contains(p) == include)
        .collect())
}

/// The provider as Auth0 describes it; never the password.
fn provider_json(m: &MailSettings) -> Value {
    let mut credentials = json!({
        "smtp_host": m.host,
        "smtp_port": m.port,
        "tern_tls": m.tls.as_str(),
    });
    if let Some(user) = &m.user {
        credentials["smtp_user"] = json!(user);
    }
    let mut out = json!({
        "name": "smtp",
        "enabled": m.enabled,
        "default_from_address": m.from,
        "credentials": credentials,
    });
    if !m.headers.is_empty() {
        let headers: Map<String, Value> = m
            .headers
            .iter()
            .map(|(k, v)| {
                // SparkPost's options were an object: answered as one.
                let shown = if SPARKPOST_HEADERS.contains(&k.as_str()) {
                    serde_json::from_str(v).unwrap_or_else(|_| json!(v))
                } else {
                    json!(v)
                };
                (k.clone(), shown)
            })
            .collect();
        out["settings"] = json!({ "headers": headers });
    }
    out
}

/// `POST`: configure the provider; `409` when one is stored.
pub async fn create(s: &AppState, body: &Value, actor: &str) -> Result<Value, ApiError> {
    let obj = object_with(body, PROPERTIES)?;
    require_keys(obj, &["name", "credentials"])?;
    let credentials = credentials_of(obj)?.unwrap_or_default();
    for key in ["smtp_host", "smtp_port"] {
        if !credentials.contains_key(key) {
            return Err(invalid(format!(
                "'Missing required property: {key}' on property credentials."
            )));
        }
    }
    let draft = MailSettings {
        host: String::new(),
        port: 0,
        tls: SmtpTls::Starttls,
        user: None,
        password_sealed: None,
        // Tern needs a sender; without one given, the configuration file's.
        from: s.config.smtp.from.clone(),
        enabled: true,
        headers: BTreeMap::new(),
        updated_at: clock::now_iso(),
        updated_by: actor.to_string(),
    };
    let settings = apply(s, obj, &credentials, draft).await?;
    if !s
        .store
        .replace_mail_settings(s.tid(), &settings, None)
        .await?
    {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "email_provider_conflict",
            "Email provider is already configured.",
        ));
    }
    Ok(provider_json(&settings))
}

/// `PATCH`: the properties given replace the stored ones (credentials one
/// by one; a password not given is kept).
pub async fn update(s: &AppState, body: &Value, actor: &str) -> Result<Value, ApiError> {
    let obj = object_with(body, PROPERTIES)?;
    if obj.is_empty() {
        return Err(invalid("'Too few properties defined (0), minimum 1'."));
    }
    let credentials = credentials_of(obj)?.unwrap_or_default();
    let stored = s
        .store
        .get_mail_settings(s.tid())
        .await?
        .ok_or_else(not_configured)?;
    let read_at = stored.updated_at.clone();
    let mut draft = stored;
    draft.updated_at = later_than(&read_at);
    draft.updated_by = actor.to_string();
    let settings = apply(s, obj, &credentials, draft).await?;
    if !s
        .store
        .replace_mail_settings(s.tid(), &settings, Some(&read_at))
        .await?
    {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "email_provider_conflict",
            "The email provider was changed meanwhile; read it again and repeat the change.",
        ));
    }
    Ok(provider_json(&settings))
}

/// `DELETE`: the stored provider removed; mail goes by the configuration
/// file again.
pub async fn delete(s: &AppState) -> Result<(), ApiError> {
    if crate::mail_settings::forget(s).await? {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "inexistent_email_provider",
            "Email provider does not exist.",
        ))
    }
}

/// A time after `previous` and not before now, so a compare on `updated_at`
/// tells this write from the one it replaces even within a millisecond.
fn later_than(previous: &str) -> String {
    let now = clock::now_iso();
    if now.as_str() > previous {
        return now;
    }
    time::OffsetDateTime::parse(previous, &time::format_description::well_known::Rfc3339)
        .map(|t| clock::iso(t + time::Duration::milliseconds(1)))
        .unwrap_or(now)
}

fn credentials_of(obj: &Map<String, Value>) -> Result<Option<Map<String, Value>>, ApiError> {
    match obj.get("credentials") {
        None => Ok(None),
        Some(Value::Object(c)) => {
            if let Some(k) = c.keys().find(|k| !CREDENTIALS.contains(&k.as_str())) {
                return Err(invalid(format!(
                    "'Additional properties not allowed: {k}' on property credentials \
                     (an SMTP provider takes smtp_host, smtp_port, smtp_user, smtp_pass and \
                     Tern's tern_tls)."
                )));
            }
            Ok(Some(c.clone()))
        }
        Some(_) => Err(invalid("'Expected type object' on property credentials.")),
    }
}

fn text<'a>(m: &'a Map<String, Value>, key: &str, on: &str) -> Result<Option<&'a str>, ApiError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::String(v)) if v.is_empty() => Err(invalid(format!(
            "'String is too short (0 chars), minimum 1' on property {on}."
        ))),
        Some(Value::String(v)) if v.chars().any(char::is_control) => Err(invalid(format!(
            "'control characters are not allowed' on property {on}."
        ))),
        Some(Value::String(v)) => Ok(Some(v)),
        Some(_) => Err(invalid(format!("'Expected type string' on property {on}."))),
    }
}

/// Lay the body over `m`, check the result as the console's form is checked
/// (host, port, sender, the network policy), and seal a new password.
async fn apply(
    s: &AppState,
    obj: &Map<String, Value>,
    credentials: &Map<String, Value>,
    mut m: MailSettings,
) -> Result<MailSettings, ApiError> {
    match obj.get("name") {
        None => {}
        Some(Value::String(n)) if n == "smtp" => {}
        Some(Value::String(n)) => {
            return Err(invalid(format!(
                "Tern sends mail over SMTP only, so the provider's name must be 'smtp', not \
                 '{n}'. {n} accepts SMTP too: give its SMTP host, port, user and password as \
                 credentials."
            )));
        }
        Some(_) => return Err(invalid("'Expected type string' on property name.")),
    }
    match obj.get("enabled") {
        None => {}
        Some(Value::Bool(b)) => m.enabled = *b,
        Some(_) => return Err(invalid("'Expected type boolean' on property enabled.")),
    }
    if let Some(from) = text(obj, "default_from_address", "default_from_address")? {
        m.from = from.to_string();
    }
    if m.from.trim().parse::<Mailbox>().is_err() {
        return Err(invalid(format!(
            "'{}' is not an email address on property default_from_address \
             (e.g. no-reply@example.com or Example <no-reply@example.com>).",
            m.from
        )));
    }
    m.from = m.from.trim().to_string();
    if let Some(host) = text(credentials, "smtp_host", "credentials.smtp_host")? {
        let host = host.trim();
        if !is_host(host) {
            return Err(invalid(format!(
                "'{host}' is not a host name or address on property credentials.smtp_host \
                 (e.g. smtp.example.com or 192.0.2.10)."
            )));
        }
        m.host = host.to_string();
    }
    let port_given = match credentials.get("smtp_port") {
        None => false,
        Some(v) => {
            m.port = v
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p > 0)
                .ok_or_else(|| {
                    invalid(format!(
                        "'{v}' is not a port (1 to 65535) on property credentials.smtp_port."
                    ))
                })?;
            true
        }
    };
    match text(credentials, "tern_tls", "credentials.tern_tls")? {
        Some(t) => {
            m.tls = SmtpTls::parse(t).ok_or_else(|| {
                invalid(format!(
                    "'{t}' is not a TLS mode on property credentials.tern_tls \
                     (none, starttls or tls)."
                ))
            })?;
        }
        // As mail clients: 465 is SMTPS, the others submit with STARTTLS.
        None if port_given => {
            m.tls = if m.port == 465 {
                SmtpTls::Tls
            } else {
                SmtpTls::Starttls
            };
        }
        None => {}
    }
    if let Some(user) = text(credentials, "smtp_user", "credentials.smtp_user")? {
        // Another user with the old user's password would fail at the
        // first mail; say so now.
        if m.user.as_deref() != Some(user) && !credentials.contains_key("smtp_pass") {
            return Err(invalid(
                "a new smtp_user needs its smtp_pass on property credentials.",
            ));
        }
        m.user = Some(user.to_string());
    }
    if let Some(pass) = text(credentials, "smtp_pass", "credentials.smtp_pass")? {
        if m.user.is_none() {
            return Err(invalid(
                "smtp_pass needs the smtp_user it belongs to on property credentials.",
            ));
        }
        m.password_sealed = Some(crate::mail_settings::seal_password(s, pass)?);
    }
    if let Some(settings) = obj.get("settings") {
        m.headers = headers_of(settings)?;
    }
    // The same policy as every destination a tenant configures; a name
    // whose lookup hangs is an error, not a request held open.
    match tokio::time::timeout(RESOLVE_WITHIN, s.network.resolve(&m.host, m.port)).await {
        Ok(Ok(_)) => Ok(m),
        Ok(Err(e)) => Err(invalid(format!("{e} (credentials.smtp_host)"))),
        Err(_) => Err(invalid(format!(
            "{} did not resolve within {} seconds (credentials.smtp_host).",
            m.host,
            RESOLVE_WITHIN.as_secs()
        ))),
    }
}

/// An IP address, or a DNS name of letters, digits and hyphens (an
/// internationalised name in its `xn--` form).
fn is_host(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `settings`: only `headers`, only the two Auth0 documents.
fn headers_of(settings: &Value) -> Result<BTreeMap<String, String>, ApiError> {
    let settings = settings
        .as_object()
        .ok_or_else(|| invalid("'Expected type object' on property settings."))?;
    if let Some(k) = settings.keys().find(|k| k.as_str() != "headers") {
        return Err(invalid(format!(
            "'Additional properties not allowed: {k}' on property settings (an SMTP provider \
             takes headers)."
        )));
    }
    let Some(headers) = settings.get("headers") else {
        return Ok(BTreeMap::new());
    };
    let headers = headers
        .as_object()
        .ok_or_else(|| invalid("'Expected type object' on property settings.headers."))?;
    let mut out = BTreeMap::new();
    for (name, value) in headers {
        let wire = match value {
            Value::String(v) if name == SES_HEADER => v.clone(),
            Value::Object(_) if SPARKPOST_HEADERS.contains(&name.as_str()) => value.to_string(),
            _ if name == SES_HEADER => {
                return Err(invalid(format!(
                    "'Expected type string' on property settings.headers.{name}."
                )));
            }
            _ if SPARKPOST_HEADERS.contains(&name.as_str()) => {
                return Err(invalid(format!(
                    "'Expected type object' on property settings.headers.{name}."
                )));
            }
            _ => {
                return Err(invalid(format!(
                    "'{name}' is not a header an SMTP provider takes on property \
                     settings.headers ({SES_HEADER} or X-MSYS-API)."
                )));
            }
        };
        if wire.is_empty() || wire.len() > MAX_HEADER_BYTES || wire.chars().any(char::is_control) {
            return Err(invalid(format!(
                "the value of settings.headers.{name} must be 1 to {MAX_HEADER_BYTES} bytes \
                 without line breaks."
            )));
        }
        out.insert(name.clone(), wire);
    }
    Ok(out)
}

/// The header a stored name goes out as (SparkPost's real name).
pub fn wire_name(stored: &str) -> &str {
    if SPARKPOST_HEADERS.contains(&stored) {
        SPARKPOST_HEADERS[0]
    } else {
        stored
    }
}
