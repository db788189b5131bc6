//! User searches (`GET /api/v2/users?q=`, the console's search) and the
//! tenant log's (`GET /api/v2/logs?q=`) under the two bounds Auth0 puts on
//! user searches, so that searches cannot take the store from logins.
//!
//! A search may walk every user (a field-less wildcard is a `LIKE` over six
//! columns, `_exists_` on metadata a JSON path test per row): seconds at a
//! million users. Logins share the store's connection pool, so a handful of
//! such searches at once would hold every connection and stall them all.
//! At most [`SEARCHES_AT_ONCE`] searches run at once; one that has not
//! answered within `search.timeout_ms` (2 s, Auth0's; waiting for its turn
//! included) is answered 503 as Auth0 answers it. The deadline goes to the
//! store with the search, and the store stops the statement there
//! (PostgreSQL's `statement_timeout`, SQLite's progress handler): a search
//! given up on frees its connection and its turn at the deadline instead of
//! walking on in the background. Only SQLite in memory cannot be
//! interrupted; there [`BACKSTOP`] after the deadline answers anyway, and
//! the turn stays taken until the store returns, so the bound still holds.

use std::time::{Duration, Instant};

use tern_core::CoreError;
use tern_core::store::{UserPage, UserSearch};

use crate::error::ApiError;
use crate::state::AppState;

/// Searches running at once (each holds one store connection).
pub const SEARCHES_AT_ONCE: usize = 2;

/// How long after the deadline the answer is given without the store's:
/// the store answers at the deadline when it can stop its statement, so
/// this only serves one that cannot (and is never raced by one that can).
pub const BACKSTOP: Duration = Duration::from_millis(500);

/// Why a search has no page.
#[derive(Debug)]
pub enum SearchFailure {
    /// Past `search.timeout_ms`.
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
pub async fn search(s: &AppState, mut search: UserSearch) -> Result<UserPage, SearchFailure> {
    let store = s.store.clone();
    let tenant = s.tid().to_string();
    bounded(s, move |deadline| async move {
        search.deadline = Some(deadline);
        store.search_users(&tenant, &search).await
    })
    .await
}

/// Run a search of the store — `run`, given the deadline to pass to the
/// store — within the bounds: one of the [`SEARCHES_AT_ONCE`] turns, and
/// `search.timeout_ms` (the wait for a turn included). User searches and
/// the tenant log's searches (`GET /api/v2/logs?q=`) share the turns.
pub async fn bounded<T, F, Fut>(s: &AppState, run: F) -> Result<T, SearchFailure>
where
    T: Send + 'static,
    F: FnOnce(Instant) -> Fut,
    Fut: Future<Output = Result<T, CoreError>> + Send + 'static,
{
    let deadline = Instant::now() + s.config.search.timeout();
    let until = tokio::time::Instant::from_std(deadline);
    let turns = s.searches.clone();
    let work = run(deadline);
    let run = async move {
        let turn = tokio::time::timeout_at(until, turns.acquire_owned())
            .await
            .map_err(|_| SearchFailure::TimedOut)?
            .map_err(|_| SearchFailure::Store(CoreError::Storage("search turns closed".into())))?;
        // Spawned, so the turn is held until the store returns even if
        // this request is dropped or answered by the backstop.
        tokio::spawn(async move {
            let answer = work.await;
            drop(turn);
            answer
        })
        .await
        .map_err(|e| SearchFailure::Store(CoreError::Storage(format!("search task: {e}"))))?
        .map_err(|e| match e {
            CoreError::Timeout => SearchFailure::TimedOut,
            other => SearchFailure::Store(other),
        })
    };
    let answer = tokio::time::timeout_at(until + BACKSTOP, run)
        .await
        .unwrap_or(Err(SearchFailure::TimedOut));
    if matches!(answer, Err(SearchFailure::TimedOut)) {
        s.metrics.refused("search_timeout");
    }
    answer
}
