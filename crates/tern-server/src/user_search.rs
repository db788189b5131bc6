//! User searches (`GET /api/v2/users?q=`, the console's search) under the
//! two bounds Auth0 puts on them, so that searches cannot take the store
//! from logins.
//!
//! A search may walk every user (a field-less wildcard is a `LIKE` over six
//! columns, `_exists_` on metadata a JSON path test per row): seconds at a
//! million users. Logins share the store's connection pool, so a handful of
//! such searches at once would hold every connection and stall them all.
//! At most [`SEARCHES_AT_ONCE`] searches run at once; one that has not
//! answered within [`SEARCH_TIMEOUT`] (waiting for its turn included) is
//! answered 503 as Auth0 answers it. The store cannot interrupt a statement
//! on every backend, so an abandoned search runs to its end in the
//! background and keeps its turn until then: the bound holds either way.

use std::time::Duration;

use tern_core::CoreError;
use tern_core::store::{UserPage, UserSearch};

use crate::error::ApiError;
use crate::state::AppState;

/// Searches running at once (each holds one store connection).
pub const SEARCHES_AT_ONCE: usize = 2;

/// Auth0's time limit for a user search.
pub const SEARCH_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a search has no page.
#[derive(Debug)]
pub enum SearchFailure {
    /// Past [`SEARCH_TIMEOUT`].
    TimedOut,
    /// The store failed.
    Store(CoreError),
}

impl From<SearchFailure> for ApiError {
    fn from(f: SearchFailure) -> Self {
        match f {
            SearchFailure::TimedOut => ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "query_timeout",
                "The query exceeded the timeout. Please try refining your search criteria.",
            ),
            SearchFailure::Store(e) => e.into(),
        }
    }
}

/// Run `search` within the bounds.
pub async fn search(s: &AppState, search: UserSearch) -> Result<UserPage, SearchFailure> {
    let turns = s.searches.clone();
    let store = s.store.clone();
    let tenant = s.tid().to_string();
    let run = async move {
        let turn = turns
            .acquire_owned()
            .await
            .map_err(|_| SearchFailure::Store(CoreError::Storage("search turns closed".into())))?;
        // Spawned, so a search abandoned at the deadline keeps its turn
        // until the store returns.
        tokio::spawn(async move {
            let page = store.search_users(&tenant, &search).await;
            drop(turn);
            page
        })
        .await
        .map_err(|e| SearchFailure::Store(CoreError::Storage(format!("search task: {e}"))))?
        .map_err(SearchFailure::Store)
    };
    match tokio::time::timeout(SEARCH_TIMEOUT, run).await {
        Ok(answer) => answer,
        Err(_) => {
            s.metrics.refused("search_timeout");
            Err(SearchFailure::TimedOut)
        }
    }
}
