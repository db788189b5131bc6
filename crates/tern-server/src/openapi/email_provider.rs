//! Schemas of `/emails/provider` (Auth0's email provider, SMTP only).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// SMTP credentials. The password is accepted, never answered.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct EmailProviderCredentials {
    /// The SMTP server's host name or address.
    pub smtp_host: Option<String>,
    /// Its port (1–65535).
    #[schema(minimum = 1, maximum = 65535)]
    pub smtp_port: Option<u16>,
    /// The user to authenticate as.
    pub smtp_user: Option<String>,
    /// The user's password (write only; sealed at rest).
    #[schema(write_only)]
    pub smtp_pass: Option<String>,
    /// Tern's own: `none`, `starttls` or `tls`. Without it the port decides
    /// (465: TLS from the first byte; any other: STARTTLS required).
    pub tern_tls: Option<String>,
}

/// Provider settings: headers added to every message.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct EmailProviderSettings {
    /// `X-SES-Configuration-Set` (a string) and `X-MSYS-API` (an object;
    /// `X-MSYS_API` as Auth0 spells it).
    pub headers: Option<BTreeMap<String, serde_json::Value>>,
}

/// The email provider.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct EmailProvider {
    /// Always `smtp`.
    pub name: Option<String>,
    /// Off: the settings are kept and mail goes by the configuration file's.
    pub enabled: Option<bool>,
    /// The sender of every message without a template's own.
    pub default_from_address: Option<String>,
    /// How to reach the SMTP server.
    pub credentials: Option<EmailProviderCredentials>,
    /// Headers added to every message.
    pub settings: Option<EmailProviderSettings>,
}

/// A `POST` or `PATCH` body (`POST` requires `name` and `credentials` with
/// `smtp_host` and `smtp_port`).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct EmailProviderWrite {
    /// `smtp` (Tern sends over SMTP only).
    pub name: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
    /// The sender; default: the configuration file's `smtp.from`.
    pub default_from_address: Option<String>,
    /// How to reach the SMTP server.
    pub credentials: Option<EmailProviderCredentials>,
    /// Headers added to every message.
    pub settings: Option<EmailProviderSettings>,
}
