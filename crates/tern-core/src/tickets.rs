//! Password-change tickets: the secret behind a reset link.
//!
//! A ticket is a random token handed out once (in a mail or in the answer to
//! `POST /api/v2/tickets/password-change`); the store keeps only its SHA-256,
//! so a leaked database holds no usable link. A ticket expires, and it is used
//! at most once: redeeming it and setting the password are one transaction.

use serde::{Deserialize, Serialize};

use crate::legacy::LegacyProfile;
use crate::model::User;

/// Auth0's default ticket lifetime (5 days), also used when `ttl_sec` is 0.
pub const DEFAULT_TTL_SECS: i64 = 432_000;

/// The longest lifetime Tern accepts (30 days): a reset link is a credential.
pub const MAX_TTL_SECS: i64 = 2_592_000;

/// Open tickets a user may have at once. Issuing one more closes the oldest
/// rather than refusing the new one: `/dbconnections/change_password` is
/// public, so a refusal past the bound would let anyone who knows an email
/// keep its owner from getting a working link, while closing the oldest
/// keeps the link the user most likely opens (the newest mail) and still
/// never leaves more than a few live links behind. Three rather than one:
/// mail arrives late or out of order, and a user who asked twice may open
/// either message.
pub const MAX_OPEN_PER_USER: usize = 3;

/// Whether an update of `before` into `after` closes the user's open
/// tickets: a new password (`password_set`: the request carried one,
/// whoever stores it), a new email (the links went to the old address) or a
/// block. A rehash on login stores another hash of the same password and
/// goes through neither path; nor does the first credential a legacy login
/// sets, which is the password the user already had — closing links then
/// would let whoever knows an old password cancel the reset its owner asked for.
pub fn update_closes_tickets(before: &User, after: &User, password_set: bool) -> bool {
    update_ends_sessions(before, after, password_set) || before.email != after.email
}

/// Whether an update of `before` into `after` ends the user's browser and
/// console sessions: a new password (whoever held the old one keeps no
/// session opened with it) or a block. A new email alone does not: the
/// sessions were opened with the same credential.
pub fn update_ends_sessions(before: &User, after: &User, password_set: bool) -> bool {
    password_set || (after.blocked && !before.blocked)
}

/// A stored ticket (the token itself is never stored).
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordTicket {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The user whose password the ticket sets.
    pub user_id: String,
    /// The user's connection.
    pub connection_id: String,
    /// Creation time.
    pub created_at: String,
    /// Epoch seconds after which the ticket is refused.
    pub expires_at: i64,
    /// When it was used; `None` while usable.
    pub used_at: Option<String>,
    /// What happens after the password is set.
    pub options: TicketOptions,
    /// A user not in Tern yet (a reset asked of the legacy store's
    /// `get_user`): the profile, its TOTP seeds sealed, from which using
    /// the ticket creates the user with the new password — profile and
    /// credential in one insert, nothing written before the link is used.
    pub pending_profile: Option<LegacyProfile>,
}

/// The caller's choices for a ticket (Auth0's ticket request fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketOptions {
    /// Where the page sends the user afterwards (`?success=…&message=…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_url: Option<String>,
    /// The application the ticket was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Set `email_verified` when the password is set.
    #[serde(default)]
    pub mark_email_as_verified: bool,
    /// Add `email=` to the redirect to `result_url`.
    #[serde(default)]
    pub include_email_in_redirect: bool,
}

/// Where a ticket stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketState {
    /// It can set a password.
    Usable,
    /// Its lifetime is over.
    Expired,
    /// It has set a password already (or a later one did).
    Used,
}

impl TicketState {
    /// The state at epoch second `now` of a ticket used at `used_at` (if
    /// ever) that expires at epoch second `expires_at`: every kind of
    /// ticket (password, email verification) ages the same way.
    pub fn at(used_at: Option<&str>, expires_at: i64, now: i64) -> Self {
        if used_at.is_some() {
            TicketState::Used
        } else if now >= expires_at {
            TicketState::Expired
        } else {
            TicketState::Usable
        }
    }
}

impl PasswordTicket {
    /// The state at epoch second `now`.
    pub fn state(&self, now: i64) -> TicketState {
        TicketState::at(self.used_at.as_deref(), self.expires_at, now)
    }
}

/// What redeeming a ticket did.
#[derive(Debug, Clone, PartialEq)]
pub enum Redemption {
    /// The password (and, if asked, `email_verified`) is set; the ticket and
    /// every other open ticket of the user are used up.
    Done(Box<PasswordTicket>),
    /// Unknown, expired or already used: nothing changed.
    Refused(Option<TicketState>),
    /// The user no longer exists: nothing changed.
    UserGone,
}

/// The ticket's lifetime from the requested `ttl_sec` (0 or absent = default).
pub fn ttl(requested: Option<i64>) -> Result<i64, String> {
    match requested {
        None | Some(0) => Ok(DEFAULT_TTL_SECS),
        Some(n) if (1..=MAX_TTL_SECS).contains(&n) => Ok(n),
        Some(n) => Err(format!(
            "ttl_sec must be between 0 and {MAX_TTL_SECS} seconds, got {n}."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(expires_at: i64, used: bool) -> PasswordTicket {
        PasswordTicket {
            token_hash: "h".into(),
            user_id: "auth0|1".into(),
            connection_id: "con_1".into(),
            created_at: "2024-01-01T00:00:00.000Z".into(),
            expires_at,
            used_at: used.then(|| "2024-01-01T00:00:01.000Z".into()),
            options: TicketOptions::default(),
            pending_profile: None,
        }
    }

    #[test]
    fn states() {
        assert_eq!(ticket(100, false).state(99), TicketState::Usable);
        assert_eq!(ticket(100, false).state(100), TicketState::Expired);
        assert_eq!(ticket(100, true).state(0), TicketState::Used);
    }

    #[test]
    fn what_closes_tickets() {
        let p = crate::legacy::LegacyProfile {
            user_id: "1".into(),
            email: Some("a@x.co".into()),
            ..Default::default()
        };
        let connection = crate::model::Connection {
            id: "con_1".into(),
            name: "db".into(),
            display_name: None,
            strategy: "auth0".into(),
            options: crate::model::JsonObject::new(),
            enabled_clients: vec![],
            realms: vec![],
            is_domain_connection: false,
        };
        let before =
            crate::legacy::migrated_user(p, &connection, None, crate::model::UserSource::Api);
        let mut after = before.clone();
        after.name = Some("A".into());
        after.blocked = false;
        assert!(!update_closes_tickets(&before, &after, false));
        assert!(update_closes_tickets(&before, &after, true));
        after.email = Some("b@x.co".into());
        assert!(update_closes_tickets(&before, &after, false));
        let mut blocked = before.clone();
        blocked.blocked = true;
        assert!(update_closes_tickets(&before, &blocked, false));
        assert!(
            !update_closes_tickets(&blocked, &before, false),
            "unblocking"
        );
        // Sessions end with a new password or a block, not a new email.
        assert!(!update_ends_sessions(&before, &after, false), "new email");
        assert!(update_ends_sessions(&before, &after, true));
        assert!(update_ends_sessions(&before, &blocked, false));
        assert!(
            !update_ends_sessions(&blocked, &before, false),
            "unblocking"
        );
    }

    #[test]
    fn lifetimes() {
        assert_eq!(ttl(None), Ok(DEFAULT_TTL_SECS));
        assert_eq!(ttl(Some(0)), Ok(DEFAULT_TTL_SECS));
        assert_eq!(ttl(Some(60)), Ok(60));
        assert!(ttl(Some(-1)).is_err());
        assert!(ttl(Some(MAX_TTL_SECS + 1)).is_err());
    }
}
