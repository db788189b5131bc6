//! Email-verification tickets: the secret behind a "verify your email" link.
//!
//! Like a password-change ticket (`tickets`), the token is handed out once —
//! in the answer to `POST /api/v2/tickets/email-verification` or in the mail
//! `POST /api/v2/jobs/verification-email` sends — and only its SHA-256 is
//! stored. A ticket names the address it was issued for: following it sets
//! `email_verified` only while the user still has that address, so a link
//! sent to an old address never verifies a new one.

use serde::{Deserialize, Serialize};

use crate::tickets::TicketState;

/// A stored ticket (the token itself is never stored).
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationTicket {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The user whose address the ticket verifies.
    pub user_id: String,
    /// The user's connection.
    pub connection_id: String,
    /// The address the link was issued for (normalised, as stored).
    pub email: String,
    /// Creation time (ISO).
    pub created_at: String,
    /// Epoch seconds after which the ticket is refused.
    pub expires_at: i64,
    /// When it was used; `None` while usable.
    pub used_at: Option<String>,
    /// What happens after the address is verified.
    pub options: VerificationOptions,
}

/// The caller's choices for a ticket (Auth0's ticket request fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerificationOptions {
    /// Where the link sends the user afterwards (`?success=…&message=…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_url: Option<String>,
    /// The application the ticket was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Add `email=` to the redirect to `result_url`.
    #[serde(default)]
    pub include_email_in_redirect: bool,
}

impl VerificationTicket {
    /// The state at epoch second `now`.
    pub fn state(&self, now: i64) -> TicketState {
        TicketState::at(self.used_at.as_deref(), self.expires_at, now)
    }
}

/// What redeeming a ticket did.
#[derive(Debug, Clone, PartialEq)]
pub enum VerificationRedemption {
    /// `email_verified` is set and the ticket used up.
    Done(Box<VerificationTicket>),
    /// Unknown, expired or already used: nothing changed.
    Refused(Option<TicketState>),
    /// The user is gone, blocked, stored after the ticket (a reused id) or
    /// no longer has the ticket's address: nothing changed.
    UserChanged(Box<VerificationTicket>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        let mut t = VerificationTicket {
            token_hash: "h".into(),
            user_id: "auth0|1".into(),
            connection_id: "con_1".into(),
            email: "a@x.co".into(),
            created_at: "2024-01-01T00:00:00.000Z".into(),
            expires_at: 100,
            used_at: None,
            options: VerificationOptions::default(),
        };
        assert_eq!(t.state(99), TicketState::Usable);
        assert_eq!(t.state(100), TicketState::Expired);
        t.used_at = Some("2024-01-01T00:00:01.000Z".into());
        assert_eq!(t.state(0), TicketState::Used);
    }
}
