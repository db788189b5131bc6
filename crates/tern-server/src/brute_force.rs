//! Brute-force protection, as Auth0 has it: after `max_attempts`
//! consecutive failed logins of one user from one IP (or from anywhere, per
//! identifier), that IP's attempts for that user are refused — the right
//! password too — until the user follows the unblock link mailed to them,
//! changes or resets the password, an administrator lifts the block
//! (`/api/v2/user-blocks`), or 30 days pass after the last failure. Auth0's
//! separate limit of 20 attempts per minute per user and IP applies too.
//!
//! Counters and blocks are in the store (`login_failures`, `rate_windows`),
//! so they hold across instances. Only users that exist are counted: the
//! table grows with users × addresses, never with guessed names (those are
//! suspicious-IP throttling's). A block writes one `limit_wc` event; the
//! attempts it refuses write nothing, so an attack adds log rows per block,
//! not per request.

use tern_core::CoreResult;
use tern_core::attack_protection::{
    ATTEMPTS_PER_MINUTE, BLOCK_LIFETIME_SECS, BRUTE_FORCE, BruteForceProtection, LoginBlock,
    UNBLOCK_MAIL_INTERVAL_SECS,
};
use tern_core::ids;
use tern_core::mail::{MailKind, OutboundMail};
use tern_core::model::{Client, Connection, JsonObject, LogEvent, User};
use tern_core::store::{BlocksOf, FailedLogin, LoginAttempt};

use crate::reset::token_hash;
use crate::state::AppState;

/// The path of the unblock link.
pub const UNBLOCK_PATH: &str = "/lo/unblock";

/// The tenant's settings (Auth0's defaults until changed).
pub async fn settings(s: &AppState) -> CoreResult<BruteForceProtection> {
    Ok(settings_from(
        s.store.get_attack_protection(s.tid(), BRUTE_FORCE).await?,
    ))
}

/// The settings a stored document (`None`: never set) holds.
pub fn settings_from(doc: Option<serde_json::Value>) -> BruteForceProtection {
    match doc {
        Some(doc) => serde_json::from_value(doc).unwrap_or_default(),
        None => BruteForceProtection::default(),
    }
}

/// Apply a `PATCH`: the settings now, or why the body is refused.
pub async fn update_settings(
    s: &AppState,
    patch: &JsonObject,
) -> CoreResult<Result<BruteForceProtection, String>> {
    let mut current = settings(s).await?;
    if let Err(why) = current.patch(patch) {
        return Ok(Err(why));
    }
    let doc = serde_json::to_value(&current).unwrap_or_default();
    s.store
        .put_attack_protection(s.tid(), BRUTE_FORCE, &doc)
        .await?;
    Ok(Ok(current))
}

/// Whether a connection asks for brute-force protection (Auth0's
/// `options.brute_force_protection`, on unless set to `false`).
fn connection_protected(connection: &Connection) -> bool {
    connection
        .options
        .get("brute_force_protection")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true)
}

/// Why an attempt is refused before its password is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The user is blocked from this address.
    Blocked,
    /// More than 20 attempts this minute for this user from this address.
    TooFast,
}

/// The protection in force for one attempt of a known user.
#[derive(Debug)]
pub struct Guard {
    settings: BruteForceProtection,
    /// The address failures are counted under (`""` per identifier).
    counting_ip: String,
    /// The address the attempt came from.
    ip: String,
}

/// Before the password is checked: the guard to report the outcome to, or
/// a refusal. `None` when nothing applies (the connection opts out, the
/// address is allowlisted).
/// `settings` are the tenant's ([`settings`]; the caller reads them beside
/// its other reads).
pub async fn before_attempt(
    s: &AppState,
    settings: BruteForceProtection,
    connection: &Connection,
    user: &User,
    ip: &str,
) -> CoreResult<Result<Option<Guard>, Refusal>> {
    if !connection_protected(connection) || settings.allows(ip) {
        return Ok(Ok(None));
    }
    let now = s.now();
    let bucket = format!("{}|{ip}", user.user_id);
    let counting_ip = settings.counting_ip(ip).to_string();
    // The hit and the block in one statement (a login's cost is mostly
    // per statement); the answer is decided in the same order as if one
    // followed the other.
    let (hits, blocked) = s
        .store
        .attempt_login(
            s.tid(),
            &LoginAttempt {
                window: ("login", &bucket, now - now.rem_euclid(60)),
                user_id: &user.user_id,
                ip: &counting_ip,
                blocked_since: settings.blocks().then_some(now - BLOCK_LIFETIME_SECS),
            },
        )
        .await?;
    if hits > ATTEMPTS_PER_MINUTE {
        s.metrics.refused("brute_force_block");
        return Ok(Err(Refusal::TooFast));
    }
    if blocked {
        s.metrics.refused("brute_force_block");
        return Ok(Err(Refusal::Blocked));
    }
    Ok(Ok(Some(Guard {
        settings,
        counting_ip,
        ip: ip.to_string(),
    })))
}

impl Guard {
    /// The address failures are counted under: a successful login forgets
    /// them there (they count only while consecutive), in the store's
    /// record of the login (`UserStore::record_login`).
    pub fn counting_ip(&self) -> &str {
        &self.counting_ip
    }
}

/// A wrong password: count it, and block at the threshold (one `limit_wc`
/// event and, throttled, the unblock mail).
pub async fn failed(
    s: &AppState,
    guard: &Guard,
    client: &Client,
    connection: &Connection,
    user: &User,
) -> CoreResult<()> {
    if !guard.settings.enabled {
        return Ok(());
    }
    let now = s.now();
    let identifier = identifier_of(user);
    let failures = s
        .store
        .count_login_failure(
            s.tid(),
            &FailedLogin {
                user_id: &user.user_id,
                ip: &guard.counting_ip,
                connection: &connection.name,
                identifier: &identifier,
                now,
                forget_before: now - BLOCK_LIFETIME_SECS,
            },
        )
        .await?;
    if failures < u64::from(guard.settings.max_attempts) || !guard.settings.blocks() {
        return Ok(());
    }
    let token = ids::ticket_token();
    let newly = s
        .store
        .block_login(
            s.tid(),
            &user.user_id,
            &guard.counting_ip,
            now,
            &token_hash(&token),
        )
        .await?;
    if !newly {
        return Ok(());
    }
    let mut ev = LogEvent::new(
        "limit_wc",
        format!(
            "Blocked account: {failures} consecutive failed logins{}",
            if guard.counting_ip.is_empty() {
                String::new()
            } else {
                format!(" from {}", guard.ip)
            }
        ),
    );
    ev.client_id = Some(client.client_id.clone());
    ev.client_name = Some(client.name.clone());
    ev.ip = Some(guard.ip.clone());
    ev.user_id = Some(user.user_id.clone());
    ev.user_name = Some(identifier);
    ev.connection = Some(connection.name.clone());
    ev.connection_id = Some(connection.id.clone());
    s.log(ev).await;
    if guard.settings.notifies() {
        notify(s, user, &token).await?;
    }
    Ok(())
}

/// Mail the unblock link, at most once per user per hour (an attacker
/// moving between addresses must not flood the user's mailbox).
async fn notify(s: &AppState, user: &User, token: &str) -> CoreResult<()> {
    let Some(email) = user.email.as_deref() else {
        return Ok(());
    };
    let now = s.now();
    let sent = s
        .store
        .hit_rate_window(
            s.tid(),
            "unblock_mail",
            &user.user_id,
            now - now.rem_euclid(UNBLOCK_MAIL_INTERVAL_SECS),
        )
        .await?;
    if sent > 1 {
        return Ok(());
    }
    let link = format!("{}{UNBLOCK_PATH}?ticket={token}", s.public_url);
    let mail = OutboundMail {
        kind: MailKind::AccountUnblock,
        to: email.to_string(),
        subject: "Your account has been blocked".into(),
        text: format!(
            "Hello,\n\n\
             We blocked logins to the account {email} after several consecutive \
             attempts with a wrong password. If it was you, open this link to \
             unblock the account:\n\n\
             {link}\n\n\
             If it was not you, someone may be guessing your password: consider \
             changing it. Changing the password also lifts the block.\n"
        ),
    };
    if let Err(e) = s.mailer.send(s.tid(), &mail).await {
        let mut ev = LogEvent::new(
            "fn",
            format!(
                "Unblock mail not sent ({}): {e}",
                s.mailer.transport(s.tid()).await
            ),
        );
        ev.user_id = Some(user.user_id.clone());
        s.log(ev).await;
    }
    Ok(())
}

/// The identifier blocks are listed under: the email, else the username.
fn identifier_of(user: &User) -> String {
    user.email
        .clone()
        .or_else(|| user.username.clone())
        .unwrap_or_else(|| user.user_id.clone())
        .to_lowercase()
}

/// Follow an unblock link: the user it unblocked, if it was still good.
pub async fn unblock_by_link(s: &AppState, token: &str) -> CoreResult<Option<String>> {
    s.store
        .unblock_login(s.tid(), &token_hash(token), s.now() - BLOCK_LIFETIME_SECS)
        .await
}

/// A new password (change or reset) lifts the user's blocks.
pub async fn password_changed(s: &AppState, user_id: &str) {
    if let Err(e) = s
        .store
        .delete_login_blocks(s.tid(), BlocksOf::User(user_id))
        .await
    {
        tracing::error!(error = %e, "could not lift brute-force blocks after a password change");
    }
}

/// The blocks in force.
pub async fn blocks(s: &AppState, of: BlocksOf<'_>) -> CoreResult<Vec<LoginBlock>> {
    s.store
        .list_login_blocks(s.tid(), of, s.now() - BLOCK_LIFETIME_SECS)
        .await
}

/// Lift blocks (an administrator's `DELETE /user-blocks…`).
pub async fn lift(s: &AppState, of: BlocksOf<'_>) -> CoreResult<u64> {
    s.store.delete_login_blocks(s.tid(), of).await
}

/// The users an identifier names: by email, or by username, in every
/// connection (a block is listed under one of them; Auth0 finds it by
/// either).
async fn users_named(s: &AppState, identifier: &str) -> CoreResult<Vec<String>> {
    let mut ids: Vec<String> = named(s, identifier)
        .await?
        .into_iter()
        .map(|(_, user_id)| user_id)
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The (connection name, user id) of every user an identifier names.
async fn named(s: &AppState, identifier: &str) -> CoreResult<Vec<(String, String)>> {
    let mut users = Vec::new();
    let lower = identifier.to_lowercase();
    for connection in s.store.list_connections(s.tid()).await? {
        let by_email = s
            .store
            .get_user_by_email(s.tid(), &connection.id, &lower)
            .await?;
        let by_username = s
            .store
            .get_user_by_username(s.tid(), &connection.id, identifier)
            .await?;
        users.extend(
            by_email
                .into_iter()
                .chain(by_username)
                .map(|u| (connection.name.clone(), u.user_id)),
        );
    }
    Ok(users)
}

/// The connections (names) of the users an identifier names, each once:
/// whose blocks [`lift_identifier`] would lift.
pub async fn connections_named(s: &AppState, identifier: &str) -> CoreResult<Vec<String>> {
    let mut names: Vec<String> = named(s, identifier)
        .await?
        .into_iter()
        .map(|(connection, _)| connection)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// The blocks of every user an identifier names.
pub async fn blocks_of_identifier(s: &AppState, identifier: &str) -> CoreResult<Vec<LoginBlock>> {
    let mut all = blocks(s, BlocksOf::Identifier(&identifier.to_lowercase())).await?;
    for user_id in users_named(s, identifier).await? {
        for block in blocks(s, BlocksOf::User(&user_id)).await? {
            if !all.contains(&block) {
                all.push(block);
            }
        }
    }
    Ok(all)
}

/// Lift the blocks of every user an identifier names.
pub async fn lift_identifier(s: &AppState, identifier: &str) -> CoreResult<u64> {
    let mut lifted = lift(s, BlocksOf::Identifier(&identifier.to_lowercase())).await?;
    for user_id in users_named(s, identifier).await? {
        lifted += lift(s, BlocksOf::User(&user_id)).await?;
    }
    Ok(lifted)
}

/// The background runner's purge: counters and blocks 30 days after their
/// last failure (they have lifted), and rate windows a day old (every
/// window is shorter), so neither table grows with time.
pub async fn purge(s: &AppState) {
    let now = s.now();
    if let Err(e) = s
        .store
        .purge_login_failures(s.tid(), now - BLOCK_LIFETIME_SECS)
        .await
    {
        tracing::warn!(error = %e, "could not purge lapsed brute-force blocks");
    }
    if let Err(e) = s.store.purge_rate_windows(s.tid(), now - 86_400).await {
        tracing::warn!(error = %e, "could not purge old rate windows");
    }
}
