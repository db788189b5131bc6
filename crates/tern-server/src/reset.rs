//! Password resets: issuing tickets, mailing reset links, and the request
//! flow of `POST /dbconnections/change_password` (which may first migrate a
//! user Tern does not know yet through the legacy `get_user`).

use tern_core::clock::{now_epoch, now_iso};
use tern_core::email_templates::{self, LinkSettings};
use tern_core::legacy::LegacyProfile;
use tern_core::mail::{MailError, MailKind, OutboundMail};
use tern_core::model::{Client, Connection, LogEvent, User};
use tern_core::tickets::{MAX_OPEN_PER_USER, PasswordTicket, Redemption, TicketOptions};
use tern_core::{CoreError, CoreResult, ids};

use crate::client_secret::hash_secret;
use crate::lazy::{self, LegacyLookup, ResetMigration};
use crate::state::AppState;

/// The path of the classic reset page (links of the Management API's
/// tickets and of `/dbconnections/change_password`).
pub const RESET_PATH: &str = "/lo/reset";

/// The path of the Universal Login reset page (links mailed from
/// `/u/reset-password/request`); the same page under Auth0's new route.
pub const HOSTED_RESET_PATH: &str = "/u/reset-password";

/// SHA-256 of a ticket token, hex: what the store keeps and looks up.
pub fn token_hash(token: &str) -> String {
    // Tokens are 43 random alphanumerics, so a fast hash is enough (as for
    // client secrets).
    hash_secret(token)
}

/// A new ticket for `user`, valid `ttl_secs`; returns the reset link. The
/// token appears only in the link. The user's oldest open tickets are closed
/// so that at most [`MAX_OPEN_PER_USER`] stay open (why: see there).
pub async fn issue_ticket(
    s: &AppState,
    user: &User,
    ttl_secs: i64,
    options: TicketOptions,
) -> CoreResult<String> {
    issue_ticket_at(s, user, ttl_secs, options, RESET_PATH, None).await
}

/// [`issue_ticket`], with a link to the reset page at `page` (a path, with
/// a query of its own when the page must keep e.g. `ui_locales`). With
/// `pending`, `user` is not stored: the ticket carries the legacy profile
/// the link creates them from ([`redeem`]).
pub async fn issue_ticket_at(
    s: &AppState,
    user: &User,
    ttl_secs: i64,
    options: TicketOptions,
    page: &str,
    pending: Option<LegacyProfile>,
) -> CoreResult<String> {
    let token = ids::ticket_token();
    let ticket = PasswordTicket {
        token_hash: token_hash(&token),
        user_id: user.user_id.clone(),
        connection_id: user.connection_id.clone(),
        created_at: now_iso(),
        expires_at: now_epoch().saturating_add(ttl_secs),
        used_at: None,
        options,
        pending_profile: pending,
    };
    if !s
        .store
        .insert_password_ticket(s.tid(), &ticket, MAX_OPEN_PER_USER)
        .await?
    {
        // Deleted (or moved) since it was looked up.
        return Err(CoreError::not_found(
            "inexistent_user",
            "The user does not exist.",
        ));
    }
    // The ticket first, then the page's own query (`ui_locales`).
    Ok(match page.split_once('?') {
        Some((path, query)) => format!("{}{path}?ticket={token}&{query}", s.public_url),
        None => format!("{}{page}?ticket={token}", s.public_url),
    })
}

/// What a change-password request came to. The caller answers the same in
/// every case (no user enumeration) and logs the outcome.
#[derive(Debug)]
pub enum ResetRequest {
    /// A reset link was mailed; `migrated`: the user is only in the legacy
    /// store, and the link creates them from the `get_user` profile.
    Sent {
        /// The user.
        user: Box<User>,
        /// Not stored yet (a lazy reset).
        migrated: bool,
    },
    /// No such user, here or in the legacy store.
    UnknownUser,
    /// The legacy store answered with a profile Tern refuses (a `w` event
    /// says why).
    Refused(String),
    /// The legacy store could not be asked.
    LegacyFailed(String),
    /// The requesting address has spent its budget of failed legacy
    /// lookups (`legacy_budget`): the legacy store was not asked, and
    /// nothing is logged (a flood adds no rows).
    LookupBudgetSpent,
    /// The user was mailed a link less than a minute ago: no new one (the
    /// answer is the same, so this reveals nothing).
    Throttled(Box<User>),
    /// The user exists but the mail could not be sent.
    MailFailed {
        /// The user.
        user: Box<User>,
        /// Why.
        error: MailError,
    },
}

/// Find the user of `email` on `connection` (migrating them from the legacy
/// store when the connection asks `get_user`), then mail a link to the
/// reset page at `page` — in the words of the `reset_email` template when
/// it is enabled, whose `resultUrl` and `urlLifetimeInSeconds` the link
/// takes when one is stored. `client_id`: the application asking.
pub async fn request_reset(
    s: &AppState,
    connection: &Connection,
    email: &str,
    ip: &str,
    page: &str,
    client_id: Option<&str>,
) -> CoreResult<ResetRequest> {
    let local = s
        .store
        .get_user_by_email(s.tid(), &connection.id, email)
        .await?;
    // Looking up an unknown email in the legacy store spends the address's
    // budget when nobody is found, as a login does (`legacy_budget`).
    let throttling = crate::ip_throttling::settings(s).await?;
    let asks_legacy = local.is_none() && lazy::applies_get_user(s, connection);
    if asks_legacy && crate::legacy_budget::spent(s, &throttling, ip).await? {
        return Ok(ResetRequest::LookupBudgetSpent);
    }
    let (user, pending) = match local {
        Some(u) => (u, None),
        None => match lazy::get_user(s, connection, email).await {
            Ok(LegacyLookup::NotFound) => {
                if asks_legacy {
                    crate::legacy_budget::spend(s, &throttling, connection, ip).await?;
                }
                return Ok(ResetRequest::UnknownUser);
            }
            Ok(LegacyLookup::Unusable(why)) => return Ok(ResetRequest::Refused(why)),
            Err(e) => {
                crate::legacy_budget::spend(s, &throttling, connection, ip).await?;
                return Ok(ResetRequest::LegacyFailed(e.to_string()));
            }
            Ok(LegacyLookup::Found(profile)) => {
                match lazy::prepare_reset(s, connection, email, *profile).await? {
                    ResetMigration::Stored(u) => (*u, None),
                    ResetMigration::Pending { user, profile } => (*user, Some(*profile)),
                    ResetMigration::Refused(why) => return Ok(ResetRequest::Refused(why)),
                }
            }
        },
    };
    let migrated = pending.is_some();
    // One reset mail per user per minute: repeated requests cannot flood a
    // mailbox, the outbox or the tickets table.
    let now = s.now();
    let sent = s
        .store
        .hit_rate_window(
            s.tid(),
            "reset_mail",
            &user.user_id,
            now - now.rem_euclid(60),
        )
        .await?;
    if sent > 1 {
        return Ok(ResetRequest::Throttled(Box::new(user)));
    }
    let template = crate::email_templates::stored(s, email_templates::RESET_EMAIL).await;
    let links = LinkSettings::of(template.as_ref(), tern_core::tickets::DEFAULT_TTL_SECS);
    let ttl = links.ttl_secs;
    let options = TicketOptions {
        result_url: links.result_url,
        include_email_in_redirect: links.include_email_in_redirect,
        ..TicketOptions::default()
    };
    let link = issue_ticket_at(s, &user, ttl, options, page, pending).await?;
    let ctx = crate::email_templates::context(s, &user, client_id, &link).await;
    let mail =
        crate::email_templates::compose(s, template.as_ref(), ctx, reset_mail(email, &link, ttl))
            .await;
    Ok(match s.mailer.send(s.tid(), &mail).await {
        Ok(()) => ResetRequest::Sent {
            user: Box::new(user),
            migrated,
        },
        Err(error) => ResetRequest::MailFailed {
            user: Box::new(user),
            error,
        },
    })
}

/// Start a reset request whose answer does not wait for it: the work (a
/// legacy `get_user`, an SMTP conversation) runs in the background, so its
/// duration cannot tell whether the user exists. A bounded number run at
/// once and a bounded number wait their turn, in the background too (a
/// request that waited inline would answer late exactly when the email had
/// a user); past that the request is dropped, logged, and answered the
/// same. Used by
/// `/dbconnections/change_password` and `/u/reset-password/request`.
pub async fn dispatch_reset_request(
    s: &AppState,
    connection: Connection,
    client: Client,
    email: String,
    ip: String,
    page: String,
) {
    match address_over_limit(s, &ip).await {
        Ok(false) => {}
        Ok(true) => {
            s.metrics.refused("reset_requests");
            // The answer stays the same (it must not tell whether the
            // email has a user); only the work — a legacy lookup, a mail —
            // is not done. One event per address and hour, not one per
            // request of a flood.
            if address_just_over(s, &ip).await {
                let mut ev = LogEvent::new(
                    "fcpr",
                    format!(
                        "More than {RESET_REQUESTS_PER_ADDRESS_HOUR} change password requests from this address within the hour; no mail sent until the hour is over"
                    ),
                );
                ev.client_id = Some(client.client_id.clone());
                ev.client_name = Some(client.name.clone());
                ev.user_name = Some(email.clone());
                ev.connection = Some(connection.name.clone());
                ev.connection_id = Some(connection.id.clone());
                ev.ip = Some(ip.to_string());
                s.log(ev).await;
            }
            return;
        }
        Err(e) => {
            // A storage failure here would fail the request's work anyway.
            tracing::error!(error = %e, "change password request: storage error");
            return;
        }
    }
    let work = {
        let s = s.clone();
        let (connection, client, email, ip) = (
            connection.clone(),
            client.clone(),
            email.clone(),
            ip.clone(),
        );
        async move { handle_reset_request(&s, &connection, &client, &email, &ip, &page).await }
    };
    if !s.reset_lane.spawn(work) {
        s.metrics.refused("reset_requests");
        let mut ev = LogEvent::new(
            "fcpr",
            format!(
                "Change password request dropped: {RESET_BACKLOG} requests are already waiting or running"
            ),
        );
        ev.client_id = Some(client.client_id.clone());
        ev.user_name = Some(email);
        ev.connection = Some(connection.name.clone());
        ev.ip = Some(ip);
        s.log(ev).await;
    }
}

/// Change-password requests running at once (each a legacy lookup or an
/// SMTP conversation).
pub const RESET_WORKERS: usize = 32;
/// Change-password requests waiting or running at once; past it they are
/// dropped (the per-address hourly limit makes that a flood from many
/// addresses).
pub const RESET_BACKLOG: usize = 1024;

/// Change-password requests one address may make in an hour (the
/// suspicious-IP allowlist exempts an address). Per user, a mail a minute
/// is the other bound ([`request_reset`]); this one keeps a single address
/// from walking a list of emails — making Tern mail them all, or run a
/// legacy lookup for each.
pub const RESET_REQUESTS_PER_ADDRESS_HOUR: u64 = 30;

/// Count a request of `ip` in the current hour; whether it is past the limit.
async fn address_over_limit(s: &AppState, ip: &str) -> CoreResult<bool> {
    if crate::ip_throttling::settings(s).await?.allows(ip) {
        return Ok(false);
    }
    let now = s.now();
    let n = s
        .store
        .hit_rate_window(s.tid(), "reset_ip", ip, now - now.rem_euclid(3600))
        .await?;
    Ok(n > RESET_REQUESTS_PER_ADDRESS_HOUR)
}

/// Whether this hour's first refused request of `ip` is the one just
/// counted (the one to log).
async fn address_just_over(s: &AppState, ip: &str) -> bool {
    let now = s.now();
    s.store
        .hit_rate_window(s.tid(), "reset_ip_logged", ip, now - now.rem_euclid(3600))
        .await
        .is_ok_and(|n| n == 1)
}

/// Run a change-password request and log its outcome (`scpr`, `fcpr`, or
/// `fn` when the mail could not be sent). Never fails: the caller has
/// answered already.
pub async fn handle_reset_request(
    s: &AppState,
    connection: &Connection,
    client: &Client,
    email: &str,
    ip: &str,
    page: &str,
) {
    let (kind, description, user_id) = match request_reset(
        s,
        connection,
        email,
        ip,
        page,
        Some(&client.client_id),
    )
    .await
    {
        Ok(ResetRequest::LookupBudgetSpent) => return,
        Ok(ResetRequest::Sent { user, migrated }) => (
            "scpr",
            if migrated {
                "Success Change Password Request (user only in the legacy store: the link creates them from its get_user profile with the new password)".to_string()
            } else {
                "Success Change Password Request".to_string()
            },
            Some(user.user_id),
        ),
        Ok(ResetRequest::Throttled(user)) => (
            "fcpr",
            "No mail sent: a reset link was mailed to this user less than a minute ago".to_string(),
            Some(user.user_id),
        ),
        Ok(ResetRequest::UnknownUser) => (
            "fcpr",
            "Change password request for an email no user has; no mail sent".to_string(),
            None,
        ),
        Ok(ResetRequest::Refused(why)) => ("fcpr", format!("No mail sent: {why}"), None),
        Ok(ResetRequest::LegacyFailed(e)) => (
            "fcpr",
            format!("The legacy store could not be asked (get_user); no mail sent: {e}"),
            None,
        ),
        Ok(ResetRequest::MailFailed { user, error }) => (
            "fn",
            format!(
                "Reset mail not sent ({}): {error}",
                s.mailer.transport(s.tid()).await
            ),
            Some(user.user_id),
        ),
        Err(e) => {
            tracing::error!(error = %e, "change password request: storage error");
            (
                "fcpr",
                "Change password request failed: storage error; no mail sent".to_string(),
                None,
            )
        }
    };
    let mut ev = LogEvent::new(kind, description);
    ev.client_id = Some(client.client_id.clone());
    ev.client_name = Some(client.name.clone());
    ev.user_id = user_id;
    ev.user_name = Some(email.to_string());
    ev.connection = Some(connection.name.clone());
    ev.connection_id = Some(connection.id.clone());
    s.log(ev).await;
}

/// Use a ticket to set `credential` (the new password's hash) on its user —
/// or, for a user not stored yet (a lazy reset), to create them from the
/// ticket's profile with it, in the same transaction; the legacy store is
/// then told the user moved. A login that migrated the user between the
/// request and now wins the insert: the redemption is tried again and
/// sets the password on the stored user.
pub async fn redeem(
    s: &AppState,
    ticket: &PasswordTicket,
    token: &str,
    connection: &Connection,
    credential: &str,
) -> CoreResult<Redemption> {
    let create = ticket.pending_profile.as_ref().map(|p| {
        lazy::user_for_reset(
            p,
            connection,
            credential,
            ticket.options.mark_email_as_verified,
        )
    });
    let hash = token_hash(token);
    // Ticket lifetimes are on the wall clock (they were issued on it).
    let now = now_epoch();
    let mut outcome = s
        .store
        .redeem_password_ticket(s.tid(), &hash, now, credential, create.as_ref())
        .await?;
    if outcome == Redemption::UserGone && create.is_some() {
        // Created meanwhile by a login (or held by another user: then the
        // second try finds no user either and answers the same).
        outcome = s
            .store
            .redeem_password_ticket(s.tid(), &hash, now, credential, create.as_ref())
            .await?;
    }
    if let (Redemption::Done(_), Some(profile), Some(user)) =
        (&outcome, &ticket.pending_profile, &create)
        && s.store
            .get_user(s.tid(), &user.user_id)
            .await?
            .is_some_and(|u| u.source == user.source && u.created_at == user.created_at)
    {
        lazy::reset_created(s, connection, profile, user).await;
    }
    Ok(outcome)
}

/// The message carrying a reset link.
fn reset_mail(email: &str, link: &str, ttl_secs: i64) -> OutboundMail {
    let hours = ttl_secs / 3600;
    OutboundMail {
        kind: MailKind::PasswordReset,
        html: None,
        from: None,
        to: email.to_string(),
        subject: "Reset your password".into(),
        text: format!(
            "Hello,\n\n\
             Someone asked to reset the password of the account {email}.\n\
             To choose a new password, open this link:\n\n\
             {link}\n\n\
             The link works once and expires in {hours} hours. If you did not ask \
             for a new password, ignore this message: nothing changes.\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_carries_the_link_and_its_lifetime() {
        let m = reset_mail("a@x.co", "https://t.example/lo/reset?ticket=abc", 432_000);
        assert_eq!(m.to, "a@x.co");
        assert!(m.text.contains("\nhttps://t.example/lo/reset?ticket=abc\n"));
        assert!(m.text.contains("120 hours"));
        assert_eq!(token_hash("abc").len(), 64);
    }
}
