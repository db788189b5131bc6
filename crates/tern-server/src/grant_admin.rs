//! What the Management API shows and ends of users' authorizations: one
//! Tern grant (see `tern_core::grants`) is what Auth0 calls a refresh token
//! (`/refresh-tokens`, `/users/{id}/refresh-tokens`), a grant (`/grants`)
//! and a device credential of type `refresh_token` or
//! `rotating_refresh_token` (`/device-credentials`). The three views share
//! one listing (`GrantStore::list_grants`) and one revocation, so ending
//! access through any of them ends it for all, at once and for every
//! instance: the token endpoint reads the grant's `revoked_at` from the store.
//!
//! A refresh token's id is its grant's id, which stays the same across
//! rotations (the family); a device credential's id is `dcr_` and the first
//! sixteen characters of the grant's random part (Auth0's id pattern,
//! `tern_core::grants::device_credential_id`), kept by the store beside the grant.
//! Its `refresh_token_metadata` is the grant's, so rotations keep it; its
//! `device` is the request that made the grant and the one that issued (or,
//! not rotating, last exchanged) the live token.

use serde_json::{Map, Value, json};
use tern_core::CoreResult;
use tern_core::access_metadata;
use tern_core::device::Device;
use tern_core::grants::{Grant, GrantQuery, ListedGrant, device_credential_id};
use tern_core::model::LogEvent;

use crate::auth::Caller;
use crate::console_app;
use crate::error::ApiError;
use crate::state::AppState;

fn date(epoch: Option<i64>) -> Value {
    epoch
        .and_then(tern_core::clock::iso_of_epoch)
        .map_or(Value::Null, Value::String)
}

/// Auth0's refresh token object for a grant listed with its live token.
pub fn token_view(l: &ListedGrant) -> Value {
    let g = &l.grant;
    let mut v = Map::new();
    v.insert("id".into(), json!(g.id));
    v.insert("user_id".into(), json!(g.user_id));
    v.insert("created_at".into(), date(Some(g.created_at)));
    v.insert(
        "idle_expires_at".into(),
        date(l.token.as_ref().and_then(|t| t.idle_expires_at)),
    );
    v.insert(
        "expires_at".into(),
        date(l.token.as_ref().and_then(|t| t.expires_at)),
    );
    let device = Device {
        initial: g.details.made_from.clone(),
        last: l
            .token
            .as_ref()
            .map(|t| t.last_seen.clone())
            .unwrap_or_default(),
    };
    v.insert("device".into(), device.to_auth0());
    v.insert("client_id".into(), json!(g.client_id));
    v.insert("session_id".into(), json!(g.details.sid));
    v.insert(
        "rotating".into(),
        json!(l.token.as_ref().is_some_and(|t| t.rotating)),
    );
    // Auth0 lists the APIs the token reaches; a Tern grant names at most
    // one (none: the token is for `/userinfo`, whose audience Auth0 lists).
    v.insert(
        "resource_servers".into(),
        json!([{
            "audience": g.details.audience.clone().unwrap_or_default(),
            "scopes": g.details.scope.join(" "),
        }]),
    );
    v.insert("refresh_token_metadata".into(), json!(g.metadata));
    v.insert("last_exchanged_at".into(), date(l.last_exchanged_at));
    Value::Object(v)
}

/// Auth0's user grant object.
pub fn grant_view(g: &Grant) -> Value {
    let mut v = json!({
        "id": g.id,
        "clientID": g.client_id,
        "user_id": g.user_id,
        "scope": g.details.scope,
    });
    if let Some(a) = &g.details.audience {
        v["audience"] = json!(a);
    }
    v
}

/// Auth0's device credential object for a grant listed with its live token.
pub fn device_credential_view(l: &ListedGrant) -> Value {
    let rotating = l.token.as_ref().is_some_and(|t| t.rotating);
    json!({
        "id": device_credential_id(&l.grant.id),
        "type": if rotating { "rotating_refresh_token" } else { "refresh_token" },
        "user_id": l.grant.user_id,
        "client_id": l.grant.client_id,
    })
}

/// The grants with a refresh token live now, as `query` narrows them.
pub async fn live(s: &AppState, query: GrantQuery<'_>) -> CoreResult<Vec<ListedGrant>> {
    let query = GrantQuery {
        live_token_at: Some(s.now()),
        ..query
    };
    s.store.list_grants(s.tid(), &query).await
}

/// The grant `id` if it holds a live refresh token, with that token.
pub async fn live_one(s: &AppState, id: &str) -> CoreResult<Option<ListedGrant>> {
    let query = GrantQuery {
        id: Some(id),
        limit: 1,
        ..GrantQuery::default()
    };
    Ok(live(s, query).await?.into_iter().next())
}

/// Replace the refresh token's (its grant's) `refresh_token_metadata` with
/// what the `PATCH` `body` sets; the token as it is now (`None`: no live
/// token of that id, before or after the write).
pub async fn update_metadata(
    s: &AppState,
    id: &str,
    body: &Value,
) -> CoreResult<Option<ListedGrant>> {
    if live_one(s, id).await?.is_none() {
        return Ok(None);
    }
    let metadata = access_metadata::from_update(body, "refresh_token_metadata")?;
    if !s.store.set_grant_metadata(s.tid(), id, &metadata).await? {
        return Ok(None);
    }
    live_one(s, id).await
}

/// Revoke one grant on the Management API's behalf (`caller`: the machine
/// client asking); logs Auth0's `srrt` when it was active. `true` if it was.
pub async fn revoke(s: &AppState, grant: &Grant, caller: &str) -> CoreResult<bool> {
    revoke_because(s, grant, caller, "revoked through the Management API").await
}

/// [`revoke`], keeping `reason` on the grant (a session revocation says so).
pub async fn revoke_because(
    s: &AppState,
    grant: &Grant,
    caller: &str,
    reason: &str,
) -> CoreResult<bool> {
    let revoked = s
        .store
        .revoke_grant(s.tid(), &grant.id, s.now(), reason)
        .await?;
    if revoked {
        let mut ev = LogEvent::new("srrt", "Successful Refresh Token Revocation");
        ev.client_id = Some(grant.client_id.clone());
        ev.user_id = Some(grant.user_id.clone());
        ev.details = Some(json!({"grant_id": grant.id, "revoked_by": caller}));
        s.log(ev).await;
    }
    Ok(revoked)
}

/// Grants are read this many at a time when a query selects them all.
const BATCH: u64 = 200;

/// The active grants `query` selects (its paging ignored) after grant id
/// `after`, one batch; fewer than [`BATCH`] when none are left.
async fn batch_after(
    s: &AppState,
    query: &GrantQuery<'_>,
    after: Option<&str>,
) -> CoreResult<Vec<Grant>> {
    let page = s
        .store
        .list_grants(
            s.tid(),
            &GrantQuery {
                after_id: after,
                offset: 0,
                limit: BATCH,
                ..query.clone()
            },
        )
        .await?;
    Ok(page.into_iter().map(|l| l.grant).collect())
}

/// Revoke `grants` for a Management API `caller`, once
/// [`console_app::guard_holders_change`] lets the change to every holder
/// through: an operator's grant needs every scope, and nothing is revoked
/// when one is refused.
pub async fn revoke_guarded(
    s: &AppState,
    caller: &Caller,
    grants: &[Grant],
) -> Result<(), ApiError> {
    console_app::guard_holders_change(s, caller, grants.iter().map(|g| g.user_id.as_str())).await?;
    for grant in grants {
        revoke(s, grant, &caller.client_id).await?;
    }
    Ok(())
}

/// [`revoke_guarded`] for every active grant `query` selects. The guard's
/// pass keeps only the distinct holders (none for a token holding every
/// scope) and the revocation reads batch by batch, so a client's every
/// grant is never held in memory at once.
pub async fn revoke_matching_guarded(
    s: &AppState,
    caller: &Caller,
    query: GrantQuery<'_>,
) -> Result<(), ApiError> {
    if !console_app::holds_every_scope(caller) {
        let mut holders = std::collections::BTreeSet::new();
        let mut after: Option<String> = None;
        loop {
            let batch = batch_after(s, &query, after.as_deref()).await?;
            holders.extend(batch.iter().map(|g| g.user_id.clone()));
            match batch.last() {
                Some(g) if batch.len() as u64 == BATCH => after = Some(g.id.clone()),
                _ => break,
            }
        }
        console_app::guard_holders_change(s, caller, holders.iter().map(String::as_str)).await?;
    }
    revoke_all(s, query, &caller.client_id).await?;
    Ok(())
}

/// Revoke every active grant `query` selects (the console's, which changes
/// operators too); how many were revoked.
pub async fn revoke_all(s: &AppState, query: GrantQuery<'_>, caller: &str) -> CoreResult<u64> {
    let mut revoked = 0;
    let mut after: Option<String> = None;
    loop {
        let batch = batch_after(s, &query, after.as_deref()).await?;
        for grant in &batch {
            revoked += u64::from(revoke(s, grant, caller).await?);
        }
        match batch.last() {
            Some(g) if batch.len() as u64 == BATCH => after = Some(g.id.clone()),
            _ => return Ok(revoked),
        }
    }
}
