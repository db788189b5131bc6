//! Suspicious-IP throttling, as Auth0 has it: an address that fails logins
//! across many users (`pre-login`), or signs up many users
//! (`pre-user-registration`), is refused with `too_many_attempts` until its
//! bucket grants attempts again (see `tern_core::ip_throttling`) or an
//! administrator lifts it (`DELETE /api/v2/anomaly/blocks/ips/{ip}`).
//!
//! An IPv6 address counts in its /64's bucket (`ip_throttling::bucket`).
//! Buckets are rows of `ip_throttles`, so every instance sharing the
//! database sees the same ones. A refused attempt writes nothing; the
//! attempt that empties a bucket writes one `limit_mu` event (and, with
//! `admin_notification`, one mail to the administrators), so a flood adds
//! log rows per blocked address, not per request.

use axum::http::StatusCode;
use tern_core::CoreResult;
use tern_core::ip_throttling::{
    SUSPICIOUS_IP, StageLimit, SuspiciousIpThrottling, ThrottleStage, bucket,
};
use tern_core::mail::{MailKind, OutboundMail};
use tern_core::model::{JsonObject, LogEvent};

use crate::error::OAuthError;
use crate::hash_pool::Lane;
use crate::ip_attempts::{Comparison, Presence};
use crate::state::AppState;

/// Auth0's answer to an address suspicious-IP throttling refuses.
pub const SUSPICIOUS_IP_MESSAGE: &str = "We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator.";

/// The tenant's settings (Auth0's defaults until changed).
pub async fn settings(s: &AppState) -> CoreResult<SuspiciousIpThrottling> {
    Ok(settings_from(
        s.store
            .get_attack_protection(s.tid(), SUSPICIOUS_IP)
            .await?,
    ))
}

/// The settings a stored document (`None`: never set) holds.
pub fn settings_from(doc: Option<serde_json::Value>) -> SuspiciousIpThrottling {
    match doc {
        Some(doc) => serde_json::from_value(doc).unwrap_or_default(),
        None => SuspiciousIpThrottling::default(),
    }
}

/// Apply a `PATCH`: the settings now, or why the body is refused.
pub async fn update_settings(
    s: &AppState,
    patch: &JsonObject,
) -> CoreResult<Result<SuspiciousIpThrottling, String>> {
    let mut current = settings(s).await?;
    if let Err(why) = current.patch(patch) {
        return Ok(Err(why));
    }
    let doc = serde_json::to_value(&current).unwrap_or_default();
    s.store
        .put_attack_protection(s.tid(), SUSPICIOUS_IP, &doc)
        .await?;
    Ok(Ok(current))
}

/// An address whose bucket is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled;

impl From<Throttled> for OAuthError {
    fn from(_: Throttled) -> Self {
        OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            SUSPICIOUS_IP_MESSAGE,
        )
    }
}

fn now_ms(s: &AppState) -> i64 {
    s.now().saturating_mul(1000)
}

/// Before an attempt at `stage`: refused when `ip`'s bucket is empty and
/// the `block` shield is on (an allowlisted address never is). Otherwise
/// the hashing lane its attempt waits in: `Suspect` while the bucket is
/// not full (the address failed recently), so a flood from many addresses
/// waits behind the users logging in as usual.
pub async fn check(
    s: &AppState,
    settings: &SuspiciousIpThrottling,
    stage: ThrottleStage,
    ip: &str,
) -> CoreResult<Result<Lane, Throttled>> {
    if !settings.blocks() || settings.allows(ip) {
        return Ok(Ok(Lane::Clean));
    }
    let tat = s
        .store
        .ip_throttle(s.tid(), stage.as_str(), &bucket(ip))
        .await?;
    Ok(judge(s, settings, stage, ip, tat))
}

/// [`check`] with `ip`'s throttle at `stage` already read (`tat`: the
/// store's `ip_throttle`), for a caller that reads it beside other things.
pub fn judge(
    s: &AppState,
    settings: &SuspiciousIpThrottling,
    stage: ThrottleStage,
    ip: &str,
    tat: Option<i64>,
) -> Result<Lane, Throttled> {
    if !settings.blocks() || settings.allows(ip) {
        return Ok(Lane::Clean);
    }
    let now = now_ms(s);
    match tat {
        Some(tat) if settings.limit(stage).refuses(tat, now) => {
            s.metrics.refused("suspicious_ip");
            Err(Throttled)
        }
        Some(tat) if tat > now => Ok(Lane::Suspect),
        _ => Ok(Lane::Clean),
    }
}

/// A login's presence on its address's pre-login bucket, taken before the
/// bucket is read (see [`crate::ip_attempts`]).
pub fn before_read(s: &AppState, ip: &str) -> Presence {
    s.ip_attempts.enter(&bucket(ip))
}

/// Before a login compares a password: reserve the comparison in the
/// address's bucket (`tat`, as read after `presence` was taken), counting
/// those in progress as failures to come; refused when the bucket cannot
/// take it. `None` when throttling does not refuse this address.
pub async fn reserve<'a>(
    s: &AppState,
    settings: &SuspiciousIpThrottling,
    ip: &str,
    tat: Option<i64>,
    presence: &'a Presence,
) -> Result<Option<Comparison<'a>>, Throttled> {
    if !settings.blocks() || settings.allows(ip) {
        return Ok(None);
    }
    let limit = settings.limit(ThrottleStage::PreLogin);
    match presence.reserve(limit, tat, now_ms(s)).await {
        Some(comparison) => Ok(Some(comparison)),
        None => {
            s.metrics.refused("suspicious_ip");
            Err(Throttled)
        }
    }
}

/// Count a login's wrong password (see [`count`]), ending its reserved
/// comparison with the bucket the count left.
pub async fn count_failure(
    s: &AppState,
    settings: &SuspiciousIpThrottling,
    ip: &str,
    reserved: Option<Comparison<'_>>,
) -> CoreResult<()> {
    let tat = hit(s, settings, ThrottleStage::PreLogin, ip).await?;
    if let (Some(tat), Some(comparison)) = (tat, reserved) {
        comparison.counted(tat);
    }
    Ok(())
}

/// Count one attempt of `ip` at `stage` (a failed login; a signup when the
/// `block` shield is off, see [`admit`]); the attempt that empties the
/// bucket logs `limit_mu` and tells the administrators.
pub async fn count(
    s: &AppState,
    settings: &SuspiciousIpThrottling,
    stage: ThrottleStage,
    ip: &str,
) -> CoreResult<()> {
    hit(s, settings, stage, ip).await.map(drop)
}

/// [`count`]: the bucket after the attempt, `None` when nothing is counted.
async fn hit(
    s: &AppState,
    settings: &SuspiciousIpThrottling,
    stage: ThrottleStage,
    ip: &str,
) -> CoreResult<Option<i64>> {
    if !settings.enabled || settings.allows(ip) {
        return Ok(None);
    }
    let limit = settings.limit(stage);
    let now = now_ms(s);
    let tat = s
        .store
        .hit_ip_throttle(s.tid(), stage.as_str(), &bucket(ip), now, limit.rate_ms())
        .await?;
    if emptied(limit, tat, now) {
        announce(s, settings, stage, ip).await;
    }
    Ok(Some(tat))
}

/// Whether the attempt that left the bucket at `tat` emptied it: it refuses
/// now and did not just before (one `rate` earlier), so a bucket is
/// announced once however many attempts follow.
fn emptied(limit: StageLimit, tat: i64, now: i64) -> bool {
    limit.refuses(tat, now) && !limit.refuses(tat - limit.rate_ms(), now)
}

/// Admit and count one attempt of `ip` at `stage` in one store statement
/// (`take_ip_throttle`): refused when the bucket cannot take it — the
/// bucket then left as it was — so attempts racing from one address, on
/// any instance, get no more than the bucket holds. Without the `block`
/// shield nothing is refused and the attempt is only counted ([`count`]);
/// an allowlisted address, or throttling turned off, counts nothing.
async fn admit(
    s: &AppState,
    settings: &SuspiciousIpThrottling,
    stage: ThrottleStage,
    ip: &str,
) -> CoreResult<Result<(), Throttled>> {
    if !settings.blocks() {
        return count(s, settings, stage, ip).await.map(Ok);
    }
    if settings.allows(ip) {
        return Ok(Ok(()));
    }
    let limit = settings.limit(stage);
    let now = now_ms(s);
    let taken = s
        .store
        .take_ip_throttle(
            s.tid(),
            stage.as_str(),
            &bucket(ip),
            now,
            limit.rate_ms(),
            limit.tolerance_ms(),
        )
        .await?;
    let Some(tat) = taken else {
        s.metrics.refused("suspicious_ip");
        return Ok(Err(Throttled));
    };
    if emptied(limit, tat, now) {
        announce(s, settings, stage, ip).await;
    }
    Ok(Ok(()))
}

/// One `limit_mu` event and, with `admin_notification`, the mail.
async fn announce(s: &AppState, settings: &SuspiciousIpThrottling, stage: ThrottleStage, ip: &str) {
    let what = match stage {
        ThrottleStage::PreLogin => "too many failed logins",
        ThrottleStage::PreUserRegistration => "too many signups",
    };
    let net = bucket(ip);
    let description = if net == ip {
        format!("Blocked IP address {ip}: {what} ({})", stage.as_str())
    } else {
        format!(
            "Blocked IP addresses {net} (last {ip}): {what} ({})",
            stage.as_str()
        )
    };
    let mut ev = LogEvent::new("limit_mu", description.clone());
    ev.ip = Some(ip.to_string());
    ev.details = Some(serde_json::json!({"stage": stage.as_str()}));
    s.log(ev).await;
    if !settings.notifies() {
        return;
    }
    for to in &s.config.admin_emails {
        let mail = OutboundMail {
            kind: MailKind::SuspiciousIp,
            html: None,
            from: None,
            to: to.clone(),
            subject: format!("Suspicious activity from {ip}"),
            text: format!(
                "{description}.\n\nIts attempts are refused until the limit grants them \
                 again, or until you lift the block: DELETE /api/v2/anomaly/blocks/ips/{ip}\n"
            ),
        };
        if let Err(e) = s.mailer.send(s.tid(), &mail).await {
            let ev = LogEvent::new("fn", format!("Suspicious-IP mail to {to} not sent: {e}"));
            s.log(ev).await;
        }
    }
}

/// The pre-registration gate the signup endpoint calls: refused when `ip`
/// has signed up too many users, else the signup is counted — both at once
/// ([`admit`]): checked, then counted, racing signups all passed the check.
pub async fn before_signup(s: &AppState, ip: &str) -> Result<(), OAuthError> {
    let settings = settings(s).await?;
    admit(s, &settings, ThrottleStage::PreUserRegistration, ip).await??;
    Ok(())
}

/// Whether `ip` is refused at any stage (`GET /anomaly/blocks/ips/{ip}`).
pub async fn is_blocked(s: &AppState, ip: &str) -> CoreResult<bool> {
    let settings = settings(s).await?;
    for stage in [ThrottleStage::PreLogin, ThrottleStage::PreUserRegistration] {
        if check(s, &settings, stage, ip).await?.is_err() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Lift `ip`'s throttling at every stage (for IPv6, its /64's); whether
/// anything was there.
pub async fn unblock(s: &AppState, ip: &str) -> CoreResult<bool> {
    Ok(s.store.delete_ip_throttles(s.tid(), &bucket(ip)).await? > 0)
}

/// The background runner's purge: buckets already full again hold nothing.
pub async fn purge(s: &AppState) {
    if let Err(e) = s.store.purge_ip_throttles(s.tid(), now_ms(s)).await {
        tracing::warn!(error = %e, "could not purge idle IP throttles");
    }
}
