//! Settings: attack protection (brute-force protection and suspicious-IP
//! throttling, changed through the same `patch` validation as
//! `PATCH /attack-protection/*`), signing keys (rotate and revoke through
//! `keys::rotation`, as `/keys/signing`; certificates' fingerprints only,
//! never a private key) and mail (the tenant's SMTP settings, stored by
//! `mail_settings` with the password sealed and never rendered back, the
//! configuration file's until saved; a test mail through the server's own
//! mailer, its outcome shown in words).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::{Value, json};
use tern_core::attack_protection::{BruteForceMode, BruteForceProtection, BruteForceShield};
use tern_core::ip_throttling::{IpShield, SuspiciousIpThrottling};
use tern_core::mail::{MailKind, OutboundMail, SmtpTls};
use tern_core::model::{LogEvent, SigningKey, SigningKeyState};

use crate::console::layout::{Section, page_status, problem};
use crate::console::session::{Operator, OperatorForm};
use crate::console::{audit, csrf, see_other};
use crate::keys::material::CertInfo;
use crate::keys::rotation;
use crate::routes::universal_login::FormFields;
use crate::state::AppState;
use crate::{brute_force, ip_throttling, mail_settings};

fn oops(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console settings failed");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The settings could not be read or saved; try again.",
    )
}

fn lines(list: &[String]) -> String {
    list.join("\n")
}

struct Current {
    brute: BruteForceProtection,
    ip: SuspiciousIpThrottling,
    keys: Vec<SigningKey>,
    mail: mail_settings::Shown,
}

async fn current(s: &AppState) -> tern_core::CoreResult<Current> {
    Ok(Current {
        brute: brute_force::settings(s).await?,
        ip: ip_throttling::settings(s).await?,
        keys: rotation::list(&s.keys).await?,
        mail: mail_settings::shown(s).await?,
    })
}

/// What the mail section says after a save or a test mail.
enum MailNote {
    None,
    Error(String),
    Saved,
    Forgotten,
    Test(Result<&'static str, String>),
}

fn body(op: &Operator, c: &Current, error: Option<&str>, saved: bool, mail: &MailNote) -> Markup {
    let b = &c.brute;
    let ip = &c.ip;
    html! {
        h1 { "Settings" }
        @if let Some(e) = error { p.alert role="alert" { (e) } }
        @if saved { p.notice role="status" { "Saved." } }
        h2 #attack { "Attack protection" }
        form method="post" action="/console/settings/brute-force" {
            input type="hidden" name=(csrf::FIELD) value=(op.csrf);
            fieldset {
                legend { "Brute-force protection" }
                label.check { input type="checkbox" name="enabled" value="true" checked[b.enabled]; "Enabled" }
                div.grid {
                    div { label for="bf-max" { "Failed attempts before blocking" }
                        input #bf-max type="number" name="max_attempts" min="1" max="100" value=(b.max_attempts); }
                    div { label for="bf-mode" { "Count failures" }
                        select #bf-mode name="mode" {
                            option value="count_per_identifier_and_ip" selected[b.mode == BruteForceMode::CountPerIdentifierAndIp] { "per user and IP address" }
                            option value="count_per_identifier" selected[b.mode == BruteForceMode::CountPerIdentifier] { "per user, from any address (lockout)" }
                        } }
                }
                label.check { input type="checkbox" name="shield_block" value="true" checked[b.shields.contains(&BruteForceShield::Block)]; "Block the attempts" }
                label.check { input type="checkbox" name="shield_user_notification" value="true" checked[b.shields.contains(&BruteForceShield::UserNotification)]; "Mail the user an unblock link" }
                label for="bf-allow" { "Never counted (IP addresses or CIDR ranges, one a line)" }
                textarea #bf-allow name="allowlist" rows="3" { (lines(&b.allowlist)) }
                button type="submit" { "Save brute-force protection" }
            }
        }
        form method="post" action="/console/settings/suspicious-ip" {
            input type="hidden" name=(csrf::FIELD) value=(op.csrf);
            fieldset {
                legend { "Suspicious-IP throttling" }
                label.check { input type="checkbox" name="enabled" value="true" checked[ip.enabled]; "Enabled" }
                div.grid {
                    div { label for="ip-login" { "Failed logins per address" }
                        input #ip-login type="number" name="pre_login_max_attempts" min="1" max="2500" value=(ip.stage.pre_login.max_attempts); }
                    div { label for="ip-login-rate" { "One attempt back every (ms)" }
                        input #ip-login-rate type="number" name="pre_login_rate" min="34560" value=(ip.stage.pre_login.rate); }
                    div { label for="ip-signup" { "Signups per address" }
                        input #ip-signup type="number" name="pre_user_registration_max_attempts" min="1" max="72000" value=(ip.stage.pre_user_registration.max_attempts); }
                    div { label for="ip-signup-rate" { "One signup back every (ms)" }
                        input #ip-signup-rate type="number" name="pre_user_registration_rate" min="1200" value=(ip.stage.pre_user_registration.rate); }
                }
                label.check { input type="checkbox" name="shield_block" value="true" checked[ip.shields.contains(&IpShield::Block)]; "Block the address" }
                label.check { input type="checkbox" name="shield_admin_notification" value="true" checked[ip.shields.contains(&IpShield::AdminNotification)]; "Mail the administrators" }
                label for="ip-allow" { "Never throttled (IP addresses or CIDR ranges, one a line)" }
                textarea #ip-allow name="allowlist" rows="3" { (lines(&ip.allowlist)) }
                button type="submit" { "Save suspicious-IP throttling" }
            }
        }
        h2 #keys { "Signing keys" }
        p.text { "Tokens are signed with the current key; the next key is already published so relying parties can fetch it before a rotation. Rotating makes the next key current and the current one previous; a previous key can be revoked (tokens it signed are refused at once)." }
        div.table-wrap { table aria-labelledby="keys" {
            thead { tr { th scope="col" { "Key id" } th scope="col" { "State" } th scope="col" { "Since" } th scope="col" { "SHA-1 fingerprint" } th scope="col" {} } }
            tbody { @for k in &c.keys { tr data-kid=(k.kid) data-state=(k.state.as_str()) {
                td { code { (k.kid) } }
                td { (k.state.as_str()) }
                td { (k.current_since.as_deref().unwrap_or(&k.created_at)) }
                td { code { (CertInfo::of(&k.cert_pem).map(|c| c.fingerprint).unwrap_or_default()) } }
                td { @if k.state == SigningKeyState::Previous {
                    form method="post" action=(format!("/console/settings/keys/{}/revoke", k.kid)) {
                        input type="hidden" name=(csrf::FIELD) value=(op.csrf);
                        button.inline.danger type="submit" { "Revoke" }
                    }
                } }
            } } }
        } }
        form method="post" action="/console/settings/keys/rotate" {
            input type="hidden" name=(csrf::FIELD) value=(op.csrf);
            button.inline type="submit" { "Rotate the signing key" }
        }
        h2 #mail { "Mail" }
        (mail_section(op, &c.mail, mail))
    }
}

fn mail_section(op: &Operator, m: &mail_settings::Shown, note: &MailNote) -> Markup {
    html! {
        @match note {
            MailNote::Error(e) => { p.alert #mail-outcome role="alert" { (e) } },
            MailNote::Saved => { p.notice #mail-outcome role="status" { "Mail settings saved." } },
            MailNote::Forgotten => { p.notice #mail-outcome role="status" { "This tenant's mail settings were removed: the configuration file's apply again." } },
            MailNote::Test(Ok(t)) => { p.notice #mail-outcome data-outcome="ok" role="status" { (t) } },
            MailNote::Test(Err(e)) => { p.alert #mail-outcome data-outcome="failed" role="alert" { (e) } },
            MailNote::None => {},
        }
        p.text #mail-source { @match &m.stored {
            Some((when, who)) => { "Saved for this tenant by " (who) " at " (when) "." },
            None if m.host.is_empty() => { "No SMTP server yet: mail is kept in the outbox (configuration file, " code { "smtp.url" } "). Saving here applies to this tenant." },
            None => { "From the configuration file (" code { "smtp.url" } ", " code { "smtp.from" } ") until saved here." },
        } }
        @if !m.enabled {
            p.alert #mail-disabled role="status" { "Turned off through the Management API (" code { "PATCH /api/v2/emails/provider" } " with " code { "enabled: false" } "): these settings are kept but not used; mail goes as the configuration file says. Saving here keeps them off." }
        }
        @if !m.headers.is_empty() {
            p.hint #mail-headers { "Added to every message (set through the Management API): " (m.headers.join(", ")) "." }
        }
        form method="post" action="/console/settings/mail" {
            input type="hidden" name=(csrf::FIELD) value=(op.csrf);
            fieldset {
                legend { "SMTP server" }
                div.grid {
                    div { label for="smtp-host" { "Host" }
                        input #smtp-host type="text" name="host" required value=(m.host) autocomplete="off" aria-describedby="smtp-host-hint"; }
                    div { label for="smtp-port" { "Port" }
                        input #smtp-port type="number" name="port" min="1" max="65535" required value=(m.port); }
                    div { label for="smtp-tls" { "Security" }
                        select #smtp-tls name="tls" {
                            option value="starttls" selected[m.tls == SmtpTls::Starttls] { "STARTTLS (required), usually port 587" }
                            option value="tls" selected[m.tls == SmtpTls::Tls] { "TLS from the start (SMTPS), usually port 465" }
                            option value="none" selected[m.tls == SmtpTls::None] { "None: plain text (a relay on a trusted network)" }
                        } }
                }
                p.hint #smtp-host-hint { "Tern connects only where its network policy allows (see network.allow): private and loopback addresses are refused unless allowed." }
                div.grid {
                    div { label for="smtp-user" { "User" }
                        input #smtp-user type="text" name="user" value=(m.user) autocomplete="off" aria-describedby="smtp-user-hint"; }
                    div { label for="smtp-password" { "Password" }
                        input #smtp-password type="password" name="password" value="" autocomplete="new-password" aria-describedby="smtp-password-hint"; }
                }
                p.hint #smtp-user-hint { "Leave the user empty to send without authentication." }
                p.hint #smtp-password-hint { @if m.has_password { "A password is set. Leave blank to keep it." } @else { "No password is set." } " It is stored sealed and never shown." }
                label for="smtp-from" { "From address" }
                input #smtp-from type="text" name="from" required value=(m.from);
                button type="submit" { "Save mail settings" }
            }
        }
        @if m.stored.is_some() {
            form method="post" action="/console/settings/mail/forget" {
                input type="hidden" name=(csrf::FIELD) value=(op.csrf);
                p.hint { "Removing the saved settings (and their sealed password) sends mail as the configuration file says (" code { "smtp.url" } "; without it, to the outbox)." }
                button.secondary #mail-forget type="submit" { "Use the configuration file's settings" }
            }
        }
        form method="post" action="/console/settings/mail/test" {
            input type="hidden" name=(csrf::FIELD) value=(op.csrf);
            fieldset {
                legend { "Send a test mail" }
                label for="test-to" { "To" }
                input #test-to type="email" name="to" required value=(op.name());
                p.hint { "Sent through the settings saved above, the way every reset and notice is sent." }
                button.secondary type="submit" { "Send a test mail" }
            }
        }
    }
}

async fn render(
    s: &AppState,
    op: &Operator,
    status: StatusCode,
    error: Option<&str>,
    saved: bool,
) -> Response {
    render_with(s, op, status, error, saved, &MailNote::None).await
}

async fn render_with(
    s: &AppState,
    op: &Operator,
    status: StatusCode,
    error: Option<&str>,
    saved: bool,
    mail: &MailNote,
) -> Response {
    match current(s).await {
        Ok(c) => page_status(
            status,
            op,
            Section::Settings,
            "Settings",
            body(op, &c, error, saved, mail),
        ),
        Err(e) => oops(&e),
    }
}

/// `GET /console/settings`.
pub async fn show(
    State(s): State<AppState>,
    op: Operator,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let mail = if q.contains_key("mail_saved") {
        MailNote::Saved
    } else if q.contains_key("mail_forgotten") {
        MailNote::Forgotten
    } else {
        MailNote::None
    };
    render_with(
        &s,
        &op,
        StatusCode::OK,
        None,
        q.contains_key("saved"),
        &mail,
    )
    .await
}

/// `POST /console/settings/mail`.
pub async fn mail_submit(
    State(s): State<AppState>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let field = |k: &str| form.get(k).unwrap_or("").to_string();
    let submitted = mail_settings::Submitted {
        host: field("host"),
        port: field("port"),
        tls: field("tls"),
        user: field("user"),
        password: field("password"),
        from: field("from"),
    };
    let password_changed = !submitted.password.is_empty();
    match mail_settings::save(&s, op.name(), submitted).await {
        Ok(Ok(m)) => {
            let mut ev = LogEvent::new("sapi", "Console: mail settings updated");
            // Never the password: only whether it changed.
            ev.details = Some(json!({
                "host": m.host, "port": m.port, "tls": m.tls.as_str(), "user": m.user,
                "from": m.from, "password_changed": password_changed && m.user.is_some(),
            }));
            audit(&s, &op, ev).await;
            see_other("/console/settings?mail_saved=1#mail", Vec::new())
        }
        Ok(Err(why)) => {
            render_with(
                &s,
                &op,
                StatusCode::BAD_REQUEST,
                None,
                false,
                &MailNote::Error(why),
            )
            .await
        }
        Err(e) => oops(&e),
    }
}

/// `POST /console/settings/mail/forget`: the tenant's stored SMTP settings
/// removed, so the configuration file's apply again.
pub async fn mail_forget(
    State(s): State<AppState>,
    OperatorForm { op, form: _ }: OperatorForm,
) -> Response {
    match mail_settings::forget(&s).await {
        Ok(removed) => {
            if removed {
                let ev = LogEvent::new("sapi", "Console: mail settings removed");
                audit(&s, &op, ev).await;
            }
            see_other("/console/settings?mail_forgotten=1#mail", Vec::new())
        }
        Err(e) => oops(&e),
    }
}

/// `POST /console/settings/mail/test`: one message through the server's
/// mailer, the outcome on the page.
pub async fn mail_test(
    State(s): State<AppState>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let to = form.get("to").unwrap_or("").trim().to_string();
    let mail = OutboundMail {
        kind: MailKind::Test,
        html: None,
        from: None,
        to: to.clone(),
        subject: "Tern test mail".into(),
        text: format!(
            "This is a test mail from Tern ({}), sent by {} from the console's Settings page.\n",
            s.public_url,
            op.name()
        ),
    };
    let result = s.mailer.send(s.tid(), &mail).await;
    let outcome = mail_settings::outcome(&result);
    let mut ev = LogEvent::new("sapi", "Console: test mail sent");
    ev.details = Some(
        json!({ "to": to, "ok": outcome.is_ok(), "outcome": match &outcome { Ok(t) => t.to_string(), Err(e) => e.clone() } }),
    );
    audit(&s, &op, ev).await;
    let status = if outcome.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    render_with(&s, &op, status, None, false, &MailNote::Test(outcome)).await
}

fn checked(f: &FormFields, k: &str) -> bool {
    f.get(k) == Some("true")
}

fn number(f: &FormFields, k: &str) -> Result<Value, String> {
    let v = f.get(k).unwrap_or("").trim();
    v.parse::<u64>()
        .map(Value::from)
        .map_err(|_| format!("'{v}' is not a whole number."))
}

fn allowlist(f: &FormFields) -> Value {
    Value::from(
        f.get("allowlist")
            .unwrap_or("")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>(),
    )
}

fn shields(f: &FormFields, names: &[&str]) -> Value {
    Value::from(
        names
            .iter()
            .filter(|n| checked(f, &format!("shield_{n}")))
            .map(|n| n.to_string())
            .collect::<Vec<_>>(),
    )
}

async fn saved(s: &AppState, op: &Operator, what: &str, patch: &Value) -> Response {
    let mut ev = LogEvent::new("sapi", format!("Console: {what} updated"));
    ev.details = Some(json!({ "body": patch }));
    audit(s, op, ev).await;
    see_other("/console/settings?saved=1#attack", Vec::new())
}

/// `POST /console/settings/brute-force`.
pub async fn brute_force_submit(
    State(s): State<AppState>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let max = match number(&form, "max_attempts") {
        Ok(v) => v,
        Err(e) => return render(&s, &op, StatusCode::BAD_REQUEST, Some(&e), false).await,
    };
    let patch = json!({
        "enabled": checked(&form, "enabled"),
        "max_attempts": max,
        "mode": form.get("mode").unwrap_or(""),
        "shields": shields(&form, &["block", "user_notification"]),
        "allowlist": allowlist(&form),
    });
    let Some(obj) = patch.as_object() else {
        return oops(&"not an object");
    };
    match brute_force::update_settings(&s, obj).await {
        Ok(Ok(_)) => saved(&s, &op, "brute-force protection", &patch).await,
        Ok(Err(why)) => render(&s, &op, StatusCode::BAD_REQUEST, Some(&why), false).await,
        Err(e) => oops(&e),
    }
}

/// `POST /console/settings/suspicious-ip`.
pub async fn suspicious_ip_submit(
    State(s): State<AppState>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let nums = [
        "pre_login_max_attempts",
        "pre_login_rate",
        "pre_user_registration_max_attempts",
        "pre_user_registration_rate",
    ]
    .map(|k| number(&form, k));
    let [a, b, c, d] = match nums {
        [Ok(a), Ok(b), Ok(c), Ok(d)] => [a, b, c, d],
        other => {
            let e = other.into_iter().find_map(Result::err).unwrap_or_default();
            return render(&s, &op, StatusCode::BAD_REQUEST, Some(&e), false).await;
        }
    };
    let patch = json!({
        "enabled": checked(&form, "enabled"),
        "shields": shields(&form, &["block", "admin_notification"]),
        "allowlist": allowlist(&form),
        "stage": {
            "pre-login": {"max_attempts": a, "rate": b},
            "pre-user-registration": {"max_attempts": c, "rate": d},
        },
    });
    let Some(obj) = patch.as_object() else {
        return oops(&"not an object");
    };
    match ip_throttling::update_settings(&s, obj).await {
        Ok(Ok(_)) => saved(&s, &op, "suspicious-IP throttling", &patch).await,
        Ok(Err(why)) => render(&s, &op, StatusCode::BAD_REQUEST, Some(&why), false).await,
        Err(e) => oops(&e),
    }
}

/// `POST /console/settings/keys/rotate`.
pub async fn rotate(State(s): State<AppState>, OperatorForm { op, .. }: OperatorForm) -> Response {
    match rotation::rotate(&s.keys, rotation::common_name(&s.public_url)).await {
        Ok(next) => {
            let mut ev = LogEvent::new("sapi", "Console: signing keys rotated");
            ev.details = Some(json!({ "next_kid": next.kid }));
            audit(&s, &op, ev).await;
            see_other("/console/settings#keys", Vec::new())
        }
        Err(e) => {
            render(
                &s,
                &op,
                StatusCode::BAD_REQUEST,
                Some(&e.to_string()),
                false,
            )
            .await
        }
    }
}

/// `POST /console/settings/keys/{kid}/revoke`.
pub async fn revoke(
    State(s): State<AppState>,
    Path(kid): Path<String>,
    OperatorForm { op, .. }: OperatorForm,
) -> Response {
    match rotation::revoke(&s.keys, &kid).await {
        Ok(k) => {
            let mut ev = LogEvent::new("sapi", "Console: signing key revoked");
            ev.details = Some(json!({ "kid": k.kid }));
            audit(&s, &op, ev).await;
            see_other("/console/settings#keys", Vec::new())
        }
        Err(e) => {
            render(
                &s,
                &op,
                StatusCode::BAD_REQUEST,
                Some(&e.to_string()),
                false,
            )
            .await
        }
    }
}
