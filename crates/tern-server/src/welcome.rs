//! Auth0's welcome email: "Once a user verifies their email address, they
//! will receive a Welcome Email. If you turn off the Verification Email
//! feature, the Welcome Email will be sent to the user when they sign-up."
//!
//! So after a signup on a database connection (`/dbconnections/signup`, the
//! hosted signup page) while the automatic verification mail is off (a
//! disabled `verify_email` template), and otherwise once that user's address
//! is verified through a link. Users made by `POST /users`, an import or a
//! lazy migration never signed up and get none. Sent only from an enabled
//! `welcome_email` template — Tern has no built-in welcome — through the
//! tenant's mailer, in the background like the verification mail: the
//! signup or verification answer neither waits for it nor fails with it; a
//! failure to send is `fn` in the tenant log (Auth0 logs no event of its
//! own for a welcome mail sent).

use tern_core::email_templates::WELCOME_EMAIL;
use tern_core::mail::MailKind;
use tern_core::model::{LogEvent, User, UserSource};

use crate::state::AppState;

/// After `user` signed up through `client_id`: the welcome mail, unless the
/// automatic verification mail is on (then it follows the verification).
pub async fn after_signup(s: &AppState, user: &User, client_id: Option<String>) {
    let work = {
        let s = s.clone();
        let user = user.clone();
        async move {
            if !crate::verification::automatic_mail_on(&s).await {
                send(&s, &user, client_id).await;
            }
        }
    };
    spawn(s, user, work).await;
}

/// After `user`'s address was verified through a link, `before` being the
/// user as they were: the welcome mail for a user who signed up and was
/// not verified before, when the automatic verification mail is on (when
/// it is off, the welcome followed the signup).
pub async fn after_verification(s: &AppState, before: &User, client_id: Option<String>) {
    if before.source != UserSource::Signup || before.email_verified {
        return;
    }
    let mut user = before.clone();
    user.email_verified = true;
    let work = {
        let s = s.clone();
        let user = user.clone();
        async move {
            if crate::verification::automatic_mail_on(&s).await {
                send(&s, &user, client_id).await;
            }
        }
    };
    spawn(s, &user, work).await;
}

/// Run `work` in [`AppState::mail_lane`]; a full lane drops it, logged.
async fn spawn(
    s: &AppState,
    user: &User,
    work: impl std::future::Future<Output = ()> + Send + 'static,
) {
    if !s.mail_lane.spawn(work) {
        s.metrics.refused("welcome_mails");
        let mut ev = LogEvent::new(
            "fn",
            format!(
                "Welcome email not sent: {} automatic mails are already waiting or sending",
                crate::verification::AUTO_MAIL_BACKLOG
            ),
        );
        ev.user_id = Some(user.user_id.clone());
        ev.user_name = user.email.clone();
        s.log(ev).await;
    }
}

async fn send(s: &AppState, user: &User, client_id: Option<String>) {
    let Some(email) = user.email.clone() else {
        return;
    };
    let template = crate::email_templates::stored(s, WELCOME_EMAIL).await;
    if !template.as_ref().is_some_and(|t| t.is_enabled()) {
        return;
    }
    // No link: Auth0's welcome has no `url` (nor `resultUrl`, lifetime).
    let ctx = crate::email_templates::context(s, user, client_id.as_deref(), "").await;
    let Some(mail) = crate::email_templates::compose_only(
        s,
        template.as_ref(),
        ctx,
        MailKind::WelcomeEmail,
        &email,
    )
    .await
    else {
        return;
    };
    if let Err(e) = s.mailer.send(s.tid(), &mail).await {
        let why = format!(
            "Welcome email not sent ({}): {e}",
            s.mailer.transport(s.tid()).await
        );
        tracing::warn!(user_id = %user.user_id, error = %why, "welcome mail");
        let mut ev = LogEvent::new("fn", why);
        ev.user_id = Some(user.user_id.clone());
        ev.user_name = Some(email);
        ev.client_id = client_id;
        ev.connection = Some(user.connection_name.clone());
        s.log(ev).await;
    }
}
