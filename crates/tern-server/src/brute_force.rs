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
//!
//! Lazy migration: a legacy user Tern has not stored yet is counted too,
//! once the legacy store says the password was wrong *for a user it has*
//! (`fp`; an unknown identifier, `fu`, counts nothing and writes nothing).
//! Having no user id, such a user is counted and blocked under
//! [`legacy_key`] (the connection and the typed identifier, trimmed and
//! lower-cased) in the same table, and its blocks are found by
//! `/user-blocks?identifier=` as any other. A blocked identifier is refused
//! before the legacy store is asked; no unblock mail is sent for it (the
//! identifier is unconfirmed text). Its per-minute window counts failures
//! only (`peek_login` reads, a failure hits), so unknown identifiers leave
//! no row. When the user is stored (a legacy login from another address, an
//! import, a reset), the block keeps holding: a stored user's attempt looks
//! for blocks under the typed identifier's legacy key too, in the same
//! statement. A successful legacy login forgets that address's failures; a
//! new password lifts the blocks under the user's email and username.

use tern_core::CoreResult;
use tern_core::attack_protection::{
    ATTEMPTS_PER_MINUTE, BLOCK_LIFETIME_SECS, BRUTE_FORCE, BruteForceProtection, LoginBlock,
    UNBLOCK_MAIL_INTERVAL_SECS, legacy_key, normalised_identifier,
};
use tern_core::email_templates::BLOCKED_ACCOUNT;
use tern_core::ids;
use tern_core::mail::{MailKind, OutboundMail};
use tern_core::model::{Client, Connection, JsonObject, LogEvent, User};
use tern_core::store::{BlocksOf, FailedLogin, LoginAttempt};

use crate::login_turns::Turn;
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

/// The protection in force for one attempt of a known user (stored, or a
/// legacy user not stored yet).
#[derive(Debug)]
pub struct Guard {
    settings: BruteForceProtection,
    /// The address failures are counted under (`""` per identifier).
    counting_ip: String,
    /// The address the attempt came from.
    ip: String,
    /// For a legacy user Tern has not stored: the key counted under
    /// ([`legacy_key`]) and the normalised identifier.
    legacy: Option<(String, String)>,
}

/// Whether logins of `connection` ask a legacy store (so a block under a
/// typed identifier's legacy key can exist).
fn has_legacy(s: &AppState, connection: &Connection) -> bool {
    crate::lazy::applies(s, connection) || crate::legacy_ops::authoritative(s, connection)
}

/// Wait for this attempt's turn on its counter (see [`crate::login_turns`]):
/// the user's (`known`), else a legacy user's not stored yet (`legacy`),
/// from the counting address. `None` when nothing is counted (protection
/// off, the connection opts out, the address is allowlisted, an identifier
/// no store is asked about); refused when a minute's worth of attempts is
/// already in line.
pub async fn take_turn(
    s: &AppState,
    settings: &BruteForceProtection,
    connection: &Connection,
    known: Option<&User>,
    legacy: bool,
    typed: &str,
    ip: &str,
) -> Result<Option<Turn>, Refusal> {
    if !settings.enabled || !connection_protected(connection) || settings.allows(ip) {
        return Ok(None);
    }
    let counter = match known {
        Some(user) => user.user_id.clone(),
        None if legacy => legacy_key(&connection.id, typed),
        None => return Ok(None),
    };
    let key = format!("{counter}|{}", settings.counting_ip(ip));
    match s.login_turns.take(key, ATTEMPTS_PER_MINUTE as usize).await {
        Some(turn) => Ok(Some(turn)),
        None => {
            s.metrics.refused("brute_force_block");
            Err(Refusal::TooFast)
        }
    }
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
    typed: &str,
    ip: &str,
) -> CoreResult<Result<Option<Guard>, Refusal>> {
    if !connection_protected(connection) || settings.allows(ip) {
        return Ok(Ok(None));
    }
    let now = s.now();
    let bucket = format!("{}|{ip}", user.user_id);
    let counting_ip = settings.counting_ip(ip).to_string();
    // A block from before the user was stored still holds (no statement
    // more: looked for beside the user's own).
    let also_key = has_legacy(s, connection).then(|| legacy_key(&connection.id, typed));
    // The hit and the block in one statement (a login's cost is mostly
    // per statement); the answer is decided in the same order as if one
    // followed the other.
    let attempt = login_attempt(
        &settings,
        now,
        &bucket,
        &user.user_id,
        also_key.as_deref(),
        &counting_ip,
    );
    let (hits, blocked) = s.store.attempt_login(s.tid(), &attempt).await?;
    Ok(judged(
        s,
        hits > ATTEMPTS_PER_MINUTE,
        blocked,
        Guard {
            settings,
            counting_ip,
            ip: ip.to_string(),
            legacy: None,
        },
    ))
}

/// The attempt the store counts (or reads): this minute's window of
/// `bucket`, and the blocks of `key` (and `also_key`) from `counting_ip`.
fn login_attempt<'a>(
    settings: &BruteForceProtection,
    now: i64,
    bucket: &'a str,
    key: &'a str,
    also_key: Option<&'a str>,
    counting_ip: &'a str,
) -> LoginAttempt<'a> {
    LoginAttempt {
        window: ("login", bucket, now - now.rem_euclid(60)),
        user_id: key,
        also_key,
        ip: counting_ip,
        blocked_since: settings.blocks().then_some(now - BLOCK_LIFETIME_SECS),
    }
}

/// The refusal an attempt's window or block calls for, else its guard.
fn judged(
    s: &AppState,
    too_fast: bool,
    blocked: bool,
    guard: Guard,
) -> Result<Option<Guard>, Refusal> {
    if too_fast || blocked {
        s.metrics.refused("brute_force_block");
    }
    if too_fast {
        Err(Refusal::TooFast)
    } else if blocked {
        Err(Refusal::Blocked)
    } else {
        Ok(Some(guard))
    }
}

/// [`before_attempt`] for an identifier Tern has no user for, before the
/// legacy store is asked: refused while its legacy key is blocked or has
/// failed 20 times this minute. One read; nothing is written (an unknown
/// identifier must leave no row).
pub async fn before_legacy_attempt(
    s: &AppState,
    settings: BruteForceProtection,
    connection: &Connection,
    typed: &str,
    ip: &str,
) -> CoreResult<Result<Option<Guard>, Refusal>> {
    if !connection_protected(connection) || settings.allows(ip) {
        return Ok(Ok(None));
    }
    let now = s.now();
    let key = legacy_key(&connection.id, typed);
    let bucket = format!("{key}|{ip}");
    let counting_ip = settings.counting_ip(ip).to_string();
    let attempt = login_attempt(&settings, now, &bucket, &key, None, &counting_ip);
    let (failures, blocked) = s.store.peek_login(s.tid(), &attempt).await?;
    let legacy = Some((key, normalised_identifier(typed)));
    Ok(judged(
        s,
        failures >= ATTEMPTS_PER_MINUTE,
        blocked,
        Guard {
            settings,
            counting_ip,
            ip: ip.to_string(),
            legacy,
        },
    ))
}

impl Guard {
    /// The address failures are counted under: a successful login forgets
    /// them there (they count only while consecutive), in the store's
    /// record of the login (`UserStore::record_login`).
    pub fn counting_ip(&self) -> &str {
        &self.counting_ip
    }

    /// Whether this guards a legacy user Tern has not stored.
    pub fn is_legacy(&self) -> bool {
        self.legacy.is_some()
    }
}

/// A legacy login succeeded for a user Tern had not stored: forget the
/// failures counted under the identifier from this address, as a stored
/// user's success does (a block stays).
pub async fn legacy_succeeded(s: &AppState, guard: &Guard) -> CoreResult<()> {
    match &guard.legacy {
        Some((key, _)) => {
            s.store
                .forget_login_failures(s.tid(), key, &guard.counting_ip)
                .await
        }
        None => Ok(()),
    }
}

/// A wrong password: count it, and block at the threshold (one `limit_wc`
/// event and, throttled, the unblock mail). `user`: the stored user, `None`
/// for a legacy user not stored yet (the guard holds its key).
pub async fn failed(
    s: &AppState,
    guard: &Guard,
    client: &Client,
    connection: &Connection,
    user: Option<&User>,
) -> CoreResult<()> {
    if !guard.settings.enabled {
        return Ok(());
    }
    let now = s.now();
    let (key, identifier, email) = match (user, &guard.legacy) {
        (Some(user), _) => (
            user.user_id.clone(),
            identifier_of(user),
            user.email.clone(),
        ),
        (None, Some((key, identifier))) => {
            // Its per-minute window counts failures only.
            s.store
                .hit_rate_window(
                    s.tid(),
                    "login",
                    &format!("{key}|{}", guard.ip),
                    now - now.rem_euclid(60),
                )
                .await?;
            // No unblock mail: the typed identifier is the attacker's
            // text until a stored user confirms it (Auth0's login template
            // names every identifier it is given, known or not), and a mail
            // to it would let anyone send Tern's mail to any address. The
            // block lifts by a reset, an administrator or time.
            (key.clone(), identifier.clone(), None)
        }
        (None, None) => return Ok(()),
    };
    let failures = s
        .store
        .count_login_failure(
            s.tid(),
            &FailedLogin {
                user_id: &key,
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
        .block_login(s.tid(), &key, &guard.counting_ip, now, &token_hash(&token))
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
    ev.user_id = user.map(|u| u.user_id.clone());
    ev.user_name = Some(identifier);
    ev.connection = Some(connection.name.clone());
    ev.connection_id = Some(connection.id.clone());
    s.log(ev).await;
    if guard.settings.notifies()
        && let Some(email) = email
    {
        let who = Recipient {
            email: &email,
            user,
            connection,
            client_id: &client.client_id,
        };
        notify(s, &who, &key, &token).await?;
    }
    Ok(())
}

/// Whom an unblock mail goes to.
struct Recipient<'a> {
    email: &'a str,
    /// Stored, or only in the legacy store.
    user: Option<&'a User>,
    connection: &'a Connection,
    client_id: &'a str,
}

/// Mail the unblock link to the recipient, at most once per hour per `key`
/// (the user id or legacy key: an attacker moving between addresses must
/// not flood the user's mailbox); in the words of the `blocked_account`
/// template when it is enabled.
async fn notify(s: &AppState, to: &Recipient<'_>, key: &str, token: &str) -> CoreResult<()> {
    let email = to.email;
    let now = s.now();
    let sent = s
        .store
        .hit_rate_window(
            s.tid(),
            "unblock_mail",
            key,
            now - now.rem_euclid(UNBLOCK_MAIL_INTERVAL_SECS),
        )
        .await?;
    if sent > 1 {
        return Ok(());
    }
    let link = format!("{}{UNBLOCK_PATH}?ticket={token}", s.public_url);
    let built_in = OutboundMail {
        kind: MailKind::AccountUnblock,
        html: None,
        from: None,
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
    let template = crate::email_templates::stored(s, BLOCKED_ACCOUNT).await;
    let ctx = match to.user {
        Some(u) => crate::email_templates::context(s, u, Some(to.client_id), &link).await,
        None => {
            let user = serde_json::json!({ "email": email });
            let connection = Some(to.connection.name.clone());
            crate::email_templates::context_of(s, user, connection, Some(to.client_id), &link).await
        }
    };
    let mail = crate::email_templates::compose(s, template.as_ref(), ctx, built_in).await;
    if let Err(e) = s.mailer.send(s.tid(), &mail).await {
        let mut ev = LogEvent::new(
            "fn",
            format!(
                "Unblock mail not sent ({}): {e}",
                s.mailer.transport(s.tid()).await
            ),
        );
        ev.user_id = to.user.map(|u| u.user_id.clone());
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

/// The user an unblock link's block holds, if it is still in force (the
/// link's page, before the user confirms); nothing changes.
pub async fn peek_unblock_link(s: &AppState, token: &str) -> CoreResult<Option<String>> {
    s.store
        .peek_unblock(s.tid(), &token_hash(token), s.now() - BLOCK_LIFETIME_SECS)
        .await
}

/// Follow an unblock link: the user it unblocked, if it was still good.
pub async fn unblock_by_link(s: &AppState, token: &str) -> CoreResult<Option<String>> {
    s.store
        .unblock_login(s.tid(), &token_hash(token), s.now() - BLOCK_LIFETIME_SECS)
        .await
}

/// A new password (change or reset) lifts the user's blocks, those counted
/// before the user was stored (under the legacy keys of the email and the
/// username) too.
pub async fn password_changed(s: &AppState, user: &User) {
    let legacy_keys = [user.email.as_deref(), user.username.as_deref()]
        .into_iter()
        .flatten()
        .map(|name| legacy_key(&user.connection_id, name));
    for key in std::iter::once(user.user_id.clone()).chain(legacy_keys) {
        if let Err(e) = s
            .store
            .delete_login_blocks(s.tid(), BlocksOf::User(&key))
            .await
        {
            tracing::error!(error = %e, "could not lift brute-force blocks after a password change");
        }
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
