//! Schemas of `/email-templates` (Auth0's `CreateEmailTemplateRequestContent`
//! and its siblings).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A template name Auth0 accepts. Tern sends `verify_email`, `reset_email`,
/// `blocked_account` and `welcome_email`; the others are stored and
/// returned only.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailTemplateName {
    /// Verification link (signup, `POST /users`, `POST /jobs/verification-email`).
    VerifyEmail,
    /// Stored only.
    VerifyEmailByCode,
    /// Reset link (change-password requests).
    ResetEmail,
    /// Stored only.
    ResetEmailByCode,
    /// After a database signup, once the address is verified (at the signup
    /// when the verification email is off); only when enabled; no link.
    WelcomeEmail,
    /// Unblock link (brute-force protection).
    BlockedAccount,
    /// Stored only.
    StolenCredentials,
    /// Stored only.
    EnrollmentEmail,
    /// Stored only.
    MfaOobCode,
    /// Stored only.
    UserInvitation,
    /// Stored only (legacy).
    ChangePassword,
    /// Stored only (legacy).
    PasswordReset,
    /// Stored only.
    AsyncApproval,
}

/// An email template: Liquid subject and HTML body.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailTemplate {
    /// The template's name.
    pub template: EmailTemplateName,
    /// HTML body, Liquid (at most 100 KiB).
    pub body: Option<String>,
    /// The sender, an address (`Name <address>` allowed); empty or null: the
    /// mail settings' sender.
    pub from: Option<String>,
    /// Where the link's page sends the user afterwards (http or https).
    pub result_url: Option<String>,
    /// Subject line, Liquid.
    pub subject: Option<String>,
    /// Always `liquid`.
    pub syntax: Option<String>,
    /// How long the link works, in seconds.
    #[schema(minimum = 0, maximum = 2592000)]
    pub url_lifetime_in_seconds: Option<f64>,
    /// Add `email=` to the redirect to `resultUrl` (default true).
    #[schema(nullable = false)]
    pub include_email_in_redirect: Option<bool>,
    /// Off: Tern's built-in mail; for `verify_email`, no automatic
    /// verification mail.
    pub enabled: Option<bool>,
}
