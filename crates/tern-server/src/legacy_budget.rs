//! A per-address budget of legacy lookups that found nobody. Lazy migration
//! asks the legacy store (a script, a connector) about every identifier
//! Tern does not know, so a flood of made-up usernames from one address
//! would be a flood of queries on the legacy system, which Tern does not
//! control and which may be small. Brute-force protection does not see
//! these attempts (it counts users that exist) and suspicious-IP throttling
//! allows 100 failures a day, each of them a legacy call.
//!
//! Each failed legacy login of an unknown identifier (wrong credentials,
//! nobody found, or the legacy store failing) spends one unit of the
//! address's budget for the current minute, `scripts.unknown_user_lookups_per_minute`
//! (30). An address that has spent it gets, for the rest of the minute,
//! `too_many_attempts` on every login of a connection with a legacy source,
//! known users included — refusing only unknown identifiers would tell
//! which ones Tern already holds. The refusal calls nothing and writes
//! nothing; the failure that spends the budget writes one `limit_mu` event
//! (`details.stage: "legacy-lookups"`), so a flood adds one log row per
//! address and minute. Addresses on the suspicious-IP throttling allowlist
//! are not counted. Counters are the store's `rate_windows`, shared by
//! every instance on the database; lookups already running when the budget
//! is spent finish (at most `scripts.max_concurrent` of them). Reset
//! requests for emails Tern does not hold spend the same budget when the
//! legacy `get_user` finds nobody; once it is spent they skip the lookup
//! and write nothing (their answer is the same either way).

use tern_core::CoreResult;
use tern_core::ip_throttling::SuspiciousIpThrottling;
use tern_core::model::{Connection, LogEvent};

use crate::state::AppState;

/// The `rate_windows` scope of the budget.
const SCOPE: &str = "legacy_lookup";

/// The answer to an address that has spent its budget.
pub const MESSAGE: &str =
    "Too many failed logins of unknown users from this address; try again in a minute.";

fn window(s: &AppState) -> i64 {
    let now = s.now();
    now - now.rem_euclid(60)
}

/// The budget per minute, or `None` when it does not apply to `ip`.
fn limit(s: &AppState, throttling: &SuspiciousIpThrottling, ip: &str) -> Option<u64> {
    let per_minute = s.config.scripts.unknown_user_lookups_per_minute;
    (per_minute > 0 && !throttling.allows(ip)).then_some(u64::from(per_minute))
}

/// Whether logins of `connection` from `ip` are refused this minute: the
/// connection asks a legacy store and the address has spent its budget.
pub async fn exhausted(
    s: &AppState,
    throttling: &SuspiciousIpThrottling,
    connection: &Connection,
    ip: &str,
) -> CoreResult<bool> {
    if !(crate::lazy::applies(s, connection) || crate::legacy_ops::authoritative(s, connection)) {
        return Ok(false);
    }
    let refused = spent(s, throttling, ip).await?;
    if refused {
        s.metrics.refused("legacy_lookup_budget");
    }
    Ok(refused)
}

/// Whether `ip` has spent its budget this minute (whatever the connection;
/// a reset request's `get_user` asks this before looking an email up).
pub async fn spent(
    s: &AppState,
    throttling: &SuspiciousIpThrottling,
    ip: &str,
) -> CoreResult<bool> {
    let Some(limit) = limit(s, throttling, ip) else {
        return Ok(false);
    };
    let spent = s
        .store
        .rate_window_hits(s.tid(), SCOPE, ip, window(s))
        .await?;
    Ok(spent >= limit)
}

/// Spend one unit: a legacy login of an identifier Tern did not know
/// failed. The failure that spends the last unit logs `limit_mu`.
pub async fn spend(
    s: &AppState,
    throttling: &SuspiciousIpThrottling,
    connection: &Connection,
    ip: &str,
) -> CoreResult<()> {
    let Some(limit) = limit(s, throttling, ip) else {
        return Ok(());
    };
    let spent = s
        .store
        .hit_rate_window(s.tid(), SCOPE, ip, window(s))
        .await?;
    if spent == limit {
        let mut ev = LogEvent::new(
            "limit_mu",
            format!(
                "Blocked IP address {ip} for the rest of the minute: {limit} failed logins of unknown users asked the legacy store"
            ),
        );
        ev.ip = Some(ip.to_string());
        ev.connection = Some(connection.name.clone());
        ev.connection_id = Some(connection.id.clone());
        ev.details = Some(serde_json::json!({"stage": "legacy-lookups"}));
        s.log(ev).await;
    }
    Ok(())
}
