//! Email verification, as Auth0 does it: a ticket (`POST
//! /tickets/email-verification`) is a link that, opened once before it
//! expires, sets the user's `email_verified`. The token appears only in the
//! link; the store keeps its SHA-256 (`VerificationTicketStore`).
//!
//! On a connection whose legacy store is the source of truth (import mode
//! off), the connection's `verify` script runs first, through the same path
//! as `PATCH /users/{id}` turning `email_verified` on
//! (`legacy_ops::on_update`); if it fails nothing is stored and the ticket
//! stays usable.

use tern_core::clock::now_iso;
use tern_core::email_templates::{self, LinkSettings};
use tern_core::email_verification::{
    VerificationOptions, VerificationRedemption, VerificationTicket,
};
use tern_core::mail::{MailKind, OutboundMail};
use tern_core::model::{Job, JobSpec, JobStatus, JobType, LogEvent, User};
use tern_core::tickets::TicketState;
use tern_core::{CoreResult, ids};

use crate::error::ApiError;
use crate::reset::token_hash;
use crate::state::AppState;

/// The path of the page a verification link opens (Auth0's).
pub const VERIFY_PATH: &str = "/lo/verify_email";

/// A new verification link for `user`, valid `ttl_secs`. The user must be
/// stored, not blocked, and have an email: the ticket is bound to it.
pub async fn issue_ticket(
    s: &AppState,
    user: &User,
    ttl_secs: i64,
    options: VerificationOptions,
) -> Result<String, ApiError> {
    let Some(email) = user.email.clone() else {
        return Err(ApiError::invalid_body(
            "The user does not have an email address.",
        ));
    };
    if user.blocked {
        return Err(ApiError::invalid_body("The user is blocked."));
    }
    let token = ids::ticket_token();
    let ticket = VerificationTicket {
        token_hash: token_hash(&token),
        user_id: user.user_id.clone(),
        connection_id: user.connection_id.clone(),
        email,
        created_at: now_iso(),
        expires_at: s.now().saturating_add(ttl_secs),
        used_at: None,
        options,
    };
    if !s.store.insert_verification_ticket(s.tid(), &ticket).await? {
        // Deleted since it was looked up.
        return Err(ApiError::not_found(
            "inexistent_user",
            "The user does not exist.",
        ));
    }
    Ok(format!("{}{VERIFY_PATH}?ticket={token}", s.public_url))
}

/// What following a verification link came to.
#[derive(Debug)]
pub enum Outcome {
    /// No ticket has this token.
    Unknown,
    /// The address is verified (`sv` logged).
    Verified(Box<VerificationTicket>),
    /// The ticket was used already or has expired (`fv` logged).
    Unusable(Box<VerificationTicket>, TicketState),
    /// The user is gone, blocked, has another address now, or the legacy
    /// store's `verify` failed (`fv` logged, the reason in it); nothing changed.
    Failed(Box<VerificationTicket>),
}

/// What opening a link (`GET`) finds, changing nothing: mail scanners
/// and link previews open links before their recipient does, and a link
/// that verified on opening would be spent by them.
#[derive(Debug)]
pub enum Peek {
    /// The ticket can verify its address: ask the user to confirm.
    Usable(Box<VerificationTicket>),
    /// Unknown, used or expired: the answer a confirmation would get
    /// (`fv` logged for a used or expired one).
    Settled(Outcome),
}

/// Open the link carrying `token` without using it.
pub async fn peek(s: &AppState, token: &str) -> CoreResult<Peek> {
    Ok(match usable(s, token).await? {
        Ok(ticket) => Peek::Usable(Box::new(ticket)),
        Err(settled) => Peek::Settled(settled),
    })
}

/// The ticket of `token` if it can still be used; otherwise the outcome
/// (`fv` logged for a used or expired one).
async fn usable(s: &AppState, token: &str) -> CoreResult<Result<VerificationTicket, Outcome>> {
    let Some(ticket) = s
        .store
        .get_verification_ticket(s.tid(), &token_hash(token))
        .await?
    else {
        return Ok(Err(Outcome::Unknown));
    };
    let state = ticket.state(s.now());
    if state != TicketState::Usable {
        log(s, "fv", &ticket, None, unusable_reason(state)).await;
        return Ok(Err(Outcome::Unusable(Box::new(ticket), state)));
    }
    Ok(Ok(ticket))
}

/// Use the link carrying `token` (the user confirmed).
pub async fn redeem(s: &AppState, token: &str) -> CoreResult<Outcome> {
    let hash = token_hash(token);
    let ticket = match usable(s, token).await? {
        Ok(ticket) => ticket,
        Err(settled) => return Ok(settled),
    };
    let now = s.now();
    let user = s.store.get_user(s.tid(), &ticket.user_id).await?;
    let current = user.as_ref().filter(|u| {
        u.connection_id == ticket.connection_id
            && u.email.as_deref() == Some(ticket.email.as_str())
            && !u.blocked
    });
    // Import mode off: the legacy store verifies first, as a PATCH would.
    if let Some(before) = current.filter(|u| !u.email_verified) {
        let mut after = before.clone();
        after.email_verified = true;
        if let Err(e) = crate::legacy_ops::on_update(s, before, &after, None).await {
            let why = format!("The legacy store did not verify the email: {e}");
            log(s, "fv", &ticket, user.as_ref(), &why).await;
            return Ok(Outcome::Failed(Box::new(ticket)));
        }
    }
    Ok(
        match s
            .store
            .redeem_verification_ticket(s.tid(), &hash, now)
            .await?
        {
            VerificationRedemption::Done(t) => {
                log(s, "sv", &t, user.as_ref(), "Email verified").await;
                // `current` is the user the ticket was for, as they were.
                if let Some(before) = current {
                    crate::welcome::after_verification(s, before, t.options.client_id.clone())
                        .await;
                }
                Outcome::Verified(t)
            }
            VerificationRedemption::Refused(None) => Outcome::Unknown,
            VerificationRedemption::Refused(Some(state)) => {
                log(s, "fv", &ticket, user.as_ref(), unusable_reason(state)).await;
                Outcome::Unusable(Box::new(ticket), state)
            }
            VerificationRedemption::UserChanged(t) => {
                let why =
                    "The user no longer exists, is blocked, or has another email address now.";
                log(s, "fv", &t, user.as_ref(), why).await;
                Outcome::Failed(t)
            }
        },
    )
}

fn unusable_reason(state: TicketState) -> &'static str {
    match state {
        TicketState::Used => "The verification link was used already.",
        _ => "The verification link has expired.",
    }
}

async fn log(s: &AppState, kind: &str, t: &VerificationTicket, user: Option<&User>, what: &str) {
    let mut ev = LogEvent::new(kind, what);
    ev.user_id = Some(t.user_id.clone());
    ev.user_name = Some(t.email.clone());
    ev.client_id = t.options.client_id.clone();
    ev.connection_id = Some(t.connection_id.clone());
    ev.connection = user.map(|u| u.connection_name.clone());
    s.log(ev).await;
}

/// Where the link sends the user when the ticket names a `result_url`:
/// Auth0's query (`success`, `code`, `message`, and `email` when asked).
pub fn result_redirect(
    t: &VerificationTicket,
    success: bool,
    code: &str,
    message: &str,
) -> Option<String> {
    let mut url = url::Url::parse(t.options.result_url.as_deref()?).ok()?;
    {
        let mut q = url.query_pairs_mut();
        if t.options.include_email_in_redirect {
            q.append_pair("email", &t.email);
        }
        q.append_pair("message", message);
        q.append_pair("success", if success { "true" } else { "false" });
        q.append_pair("code", code);
    }
    Some(url.to_string())
}

/// The verification mail for `user`: a new link (with the `verify_email`
/// template's `resultUrl`, `urlLifetimeInSeconds` and
/// `includeEmailInRedirect` when one is stored, the default lifetime
/// otherwise), in the template's words when it is enabled, Tern's otherwise.
pub async fn verification_link_mail(
    s: &AppState,
    user: &User,
    client_id: Option<String>,
) -> Result<OutboundMail, ApiError> {
    let template = crate::email_templates::stored(s, email_templates::VERIFY_EMAIL).await;
    let links = LinkSettings::of(template.as_ref(), tern_core::tickets::DEFAULT_TTL_SECS);
    let ttl = links.ttl_secs;
    let options = VerificationOptions {
        client_id: client_id.clone(),
        result_url: links.result_url,
        include_email_in_redirect: links.include_email_in_redirect,
    };
    let link = issue_ticket(s, user, ttl, options).await?;
    // `issue_ticket` refused a user without an email.
    let email = user.email.clone().unwrap_or_default();
    let ctx = crate::email_templates::context(s, user, client_id.as_deref(), &link).await;
    let built_in = verification_mail(&email, &link, ttl);
    Ok(crate::email_templates::compose(s, template.as_ref(), ctx, built_in).await)
}

/// `POST /jobs/verification-email`: mail `user` a verification link and
/// record the job as it ended — `completed`, or `failed` with the mailer's
/// error — so `GET /jobs/{id}` shows it. A disabled `verify_email` template
/// does not stop it (as Auth0): the built-in message goes out.
pub async fn send_verification_email(
    s: &AppState,
    user: &User,
    client_id: Option<String>,
) -> Result<Job, ApiError> {
    let mail = verification_link_mail(s, user, client_id).await?;
    let mut job = Job::pending(
        ids::job_id(),
        JobSpec {
            kind: JobType::VerificationEmail,
            connection_id: user.connection_id.clone(),
            connection: user.connection_name.clone(),
            upsert: false,
            upsert_credentials: false,
            assign_roles: false,
            create_roles: false,
            external_id: None,
            send_completion_email: false,
            dry_run: false,
            export: None,
        },
        now_iso(),
    );
    match s.mailer.send(s.tid(), &mail).await {
        Ok(()) => job.status = JobStatus::Completed,
        Err(e) => {
            tracing::warn!(error = %e, user_id = %user.user_id, "verification mail not sent");
            job.status = JobStatus::Failed;
            job.status_details = Some(format!("The verification email could not be sent: {e}"));
        }
    }
    s.store.insert_finished_job(s.tid(), &job).await?;
    Ok(job)
}

/// Automatic verification mails sent at once.
pub const AUTO_MAIL_WORKERS: usize = 8;
/// Automatic verification mails waiting or sending; past it one is dropped
/// (and logged): the signup or creation it follows has succeeded anyway.
pub const AUTO_MAIL_BACKLOG: usize = 1024;

/// Whether a new user is mailed a verification link, as Auth0 decides:
/// `POST /users`' `verify_email` when given, otherwise when the address is
/// not verified yet (signup gives none).
pub fn wants_verification(user: &User, verify_email: Option<bool>) -> bool {
    user.email.is_some() && verify_email.unwrap_or(!user.email_verified)
}

/// After a user was created by a signup or `POST /users`: mail a
/// verification link when [`wants_verification`] says so and the
/// `verify_email` template is not disabled. Runs in the background (the
/// creation's answer does not wait for it nor fail with it), in the bounded
/// [`AppState::mail_lane`]; at most one such mail per user per minute.
pub async fn after_creation(
    s: &AppState,
    user: &User,
    client_id: Option<String>,
    verify_email: Option<bool>,
) {
    if !wants_verification(user, verify_email) {
        return;
    }
    let work = {
        let s = s.clone();
        let user = user.clone();
        async move { send_automatic(&s, &user, client_id).await }
    };
    if !s.mail_lane.spawn(work) {
        s.metrics.refused("verification_mails");
        let mut ev = LogEvent::new(
            "fn",
            format!(
                "Verification email not sent: {AUTO_MAIL_BACKLOG} automatic mails are already waiting or sending"
            ),
        );
        ev.user_id = Some(user.user_id.clone());
        ev.user_name = user.email.clone();
        s.log(ev).await;
    }
}

/// Whether Auth0's "Verification Email" is on: the automatic mail is sent
/// unless the `verify_email` template is disabled (a missing one sends the
/// built-in mail). The welcome mail follows the verification when it is on.
pub async fn automatic_mail_on(s: &AppState) -> bool {
    crate::email_templates::stored(s, email_templates::VERIFY_EMAIL)
        .await
        .is_none_or(|t| t.enabled != Some(false))
}

async fn send_automatic(s: &AppState, user: &User, client_id: Option<String>) {
    if !automatic_mail_on(s).await {
        return;
    }
    let now = s.now();
    match s
        .store
        .hit_rate_window(
            s.tid(),
            "verify_mail",
            &user.user_id,
            now - now.rem_euclid(60),
        )
        .await
    {
        Ok(n) if n > 1 => return,
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "automatic verification mail: storage error");
            return;
        }
    }
    let sent = match verification_link_mail(s, user, client_id.clone()).await {
        Ok(mail) => match s.mailer.send(s.tid(), &mail).await {
            Ok(()) => Ok(()),
            Err(e) => Err(format!(
                "Verification email not sent ({}): {e}",
                s.mailer.transport(s.tid()).await
            )),
        },
        Err(e) => Err(format!("Verification email not sent: {}", e.message)),
    };
    if let Err(why) = sent {
        tracing::warn!(user_id = %user.user_id, error = %why, "automatic verification mail");
        let mut ev = LogEvent::new("fn", why);
        ev.user_id = Some(user.user_id.clone());
        ev.user_name = user.email.clone();
        ev.client_id = client_id;
        ev.connection = Some(user.connection_name.clone());
        s.log(ev).await;
    }
}

fn verification_mail(email: &str, link: &str, ttl_secs: i64) -> OutboundMail {
    let hours = ttl_secs / 3600;
    OutboundMail {
        kind: MailKind::VerificationEmail,
        html: None,
        from: None,
        to: email.to_string(),
        subject: "Verify your email".into(),
        text: format!(
            "Hello,\n\n\
             To confirm that {email} is your address, open this link:\n\n\
             {link}\n\n\
             The link works once and expires in {hours} hours. If you did not \
             expect this message, ignore it: nothing changes.\n"
        ),
    }
}
