//! Auth0's RBAC where tokens are made: for an API that enforces policies,
//! a user's token gets only the requested scopes the user holds as
//! permissions (directly or through roles), the OpenID scopes staying, and
//! with an `_authz` dialect every permission the user holds for the API as
//! the `permissions` claim (Auth0: all of them, whatever was requested).
//! Machine tokens (client credentials) are governed by client grants and
//! never come here.

use std::collections::HashSet;

use tern_core::CoreResult;
use tern_core::model::ResourceServer;

use crate::state::AppState;
use crate::tokens::OIDC_SCOPES;

/// Narrow `scopes` (already [`crate::tokens::granted_scopes`]) to what
/// `user_id` holds for `api`, and answer the `permissions` claim when the
/// API's dialect carries it. Reads the store once, and only when the API
/// enforces policies: every other login costs nothing more. A refresh
/// calls it again, so a permission taken away stops being granted at the
/// next refresh.
pub async fn narrow(
    s: &AppState,
    user_id: &str,
    api: Option<&ResourceServer>,
    scopes: &mut Vec<String>,
) -> CoreResult<Option<Vec<String>>> {
    let Some(api) = api.filter(|a| a.enforce_policies) else {
        return Ok(None);
    };
    let held = s
        .store
        .user_permission_names(s.tid(), user_id, &api.identifier)
        .await?;
    let holds: HashSet<&str> = held.iter().map(String::as_str).collect();
    scopes.retain(|sc| OIDC_SCOPES.contains(&sc.as_str()) || holds.contains(sc.as_str()));
    Ok(api.adds_permissions_claim().then_some(held))
}
