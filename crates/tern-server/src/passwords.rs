//! New passwords: the connection's strength policy, then the tenant's hash
//! policy, off the async runtime. Shared by the Management API and the
//! console (operators' passwords follow the same rules).

use axum::http::StatusCode;
use tern_core::CoreError;
use tern_core::model::{Connection, User};
use tern_core::password_policy::{self, PasswordRules, PersonalInfo, Refusal};
use tern_core::user_profile::ProfileFields;
use tern_hash::CostLimits;

use crate::error::ApiError;
use crate::hash_pool::PoolError;
use crate::pages::catalogue::Msg;
use crate::state::AppState;

/// Whose password is being set.
#[derive(Clone, Copy)]
pub enum Owner<'a> {
    /// Someone signing up or being created: no password history yet.
    New(&'a ProfileFields),
    /// A stored user changing password.
    Existing(&'a User),
}

impl<'a> Owner<'a> {
    fn personal_info(self) -> PersonalInfo<'a> {
        match self {
            Self::New(f) => PersonalInfo::of_fields(f),
            Self::Existing(u) => PersonalInfo::of_user(u),
        }
    }
}

/// Why a new password was not accepted.
#[derive(Debug)]
pub enum NewPasswordError {
    /// A rule of the connection refused it.
    Refused(Refusal),
    /// The hashing pool is full (the history check verifies hashes).
    Busy,
    /// The hashing job failed.
    Failed,
    /// The store could not answer the user's previous passwords.
    Store(CoreError),
}

impl From<CoreError> for NewPasswordError {
    fn from(e: CoreError) -> Self {
        Self::Store(e)
    }
}

impl From<PoolError> for NewPasswordError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Busy => Self::Busy,
            PoolError::Failed => Self::Failed,
        }
    }
}

impl From<NewPasswordError> for ApiError {
    fn from(e: NewPasswordError) -> Self {
        match e {
            NewPasswordError::Refused(r) => refused(&r),
            NewPasswordError::Busy => busy(),
            NewPasswordError::Failed => ApiError::internal(),
            NewPasswordError::Store(e) => e.into(),
        }
    }
}

/// The rules of `connection` that need no stored password (all but the
/// history), for a password Tern keeps no history of: a new user's, or one
/// a legacy store owns.
pub fn check_without_history(
    connection: &Connection,
    password: &str,
    who: &PersonalInfo<'_>,
) -> Result<(), Refusal> {
    let rules = PasswordRules::of(&connection.options);
    // No credential is verified without history, so the limits do not matter.
    password_policy::check_new_password(&rules, password, who, &[], &CostLimits::default())
}

/// Every rule of `connection` applied to a new `password` of `owner`. With
/// `password_history`, a stored user's last credentials are verified
/// against it on the hashing pool.
pub async fn check_new_password(
    s: &AppState,
    connection: &Connection,
    password: &str,
    owner: Owner<'_>,
) -> Result<(), NewPasswordError> {
    let rules = PasswordRules::of(&connection.options);
    let recent = match owner {
        Owner::Existing(u) if rules.history_size > 0 => {
            recent_credentials(s, u, rules.history_size).await?
        }
        _ => Vec::new(),
    };
    let user = match owner {
        Owner::Existing(user) if !recent.is_empty() => user.clone(),
        _ => {
            return check_without_history(connection, password, &owner.personal_info())
                .map_err(NewPasswordError::Refused);
        }
    };
    let (state, password) = (s.clone(), password.to_string());
    s.hash_pool
        .run(move || {
            password_policy::check_new_password(
                &rules,
                &password,
                &PersonalInfo::of_user(&user),
                &recent,
                state.policy.limits(),
            )
        })
        .await?
        .map_err(NewPasswordError::Refused)
}

/// The user's last `size` credentials, the current one first.
async fn recent_credentials(
    s: &AppState,
    user: &User,
    size: usize,
) -> Result<Vec<String>, CoreError> {
    let Some(current) = user.credential.clone() else {
        // No password in Tern (the legacy store owns it): no history here.
        return Ok(Vec::new());
    };
    let mut recent = vec![current];
    recent.extend(
        s.store
            .previous_credentials(s.tid(), &user.user_id, size.saturating_sub(1))
            .await?,
    );
    Ok(recent)
}

/// Auth0's Management API answer to a refused password.
pub fn refused(r: &Refusal) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        r.error_code(),
        format!("{}: {r}", r.auth0_name()),
    )
}

fn busy() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "The server is busy hashing passwords; try again in a moment.",
    )
}

/// The hosted pages' message for a refused password.
pub fn page_message(r: &Refusal) -> Msg {
    match r {
        Refusal::TooWeak(_) => Msg::WeakPassword,
        Refusal::TooCommon => Msg::CommonPassword,
        Refusal::UserInfo => Msg::PersonalInfoPassword,
        Refusal::Reused => Msg::ReusedPassword,
    }
}

/// Hash a new password of `owner` under the tenant policy, off the async
/// runtime, after checking the connection's rules.
pub async fn hash_new_password(
    s: &AppState,
    connection: &Connection,
    owner: Owner<'_>,
    password: String,
) -> Result<String, ApiError> {
    check_new_password(s, connection, &password, owner).await?;
    // On the bounded hashing pool, as logins: an administrator's burst of
    // user creations cannot starve them, nor they it of memory.
    let state = s.clone();
    s.hash_pool
        .run(move || state.policy.hash(&password))
        .await
        .map_err(|e| match e {
            PoolError::Busy => busy(),
            PoolError::Failed => ApiError::internal(),
        })
}
