//! `/api/v2/logs` and `/api/v2/users/{id}/logs`: the tenant log, searched
//! (Auth0's log search `q`, newest or oldest first, a page at a time) or
//! read on from a checkpoint. Parameters are read by `tern_core::log_search`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tern_core::log_search::{LogSearch, check_log_fields, parse_log_query, parse_log_sort};
use tern_core::model::LogEvent;
use tern_core::store::LogQuery;
use tern_core::user_profile::project_fields;

use crate::auth::Caller;
use crate::body::{Paging, QueryMap};
use crate::error::ApiError;
use crate::state::AppState;
use crate::user_search;

/// A listing's own refusals, as Auth0 words query errors.
fn invalid(message: String) -> ApiError {
    ApiError::invalid_query(format!("Query validation error: {message}."))
}

/// A listing's filters: Auth0's log search `q` (or its other name,
/// `search`), and Tern's shorthand `type=fp`, which every event listed
/// must match besides.
struct Filters {
    search: Option<LogSearch>,
    kind: Option<String>,
    user_id: Option<String>,
    oldest_first: bool,
}

/// `GET /logs`' filters, each refusal in Auth0's envelope.
fn filters_of(q: &QueryMap) -> Result<Filters, ApiError> {
    let text = q.str("q").or_else(|| q.str("search")).unwrap_or("");
    Ok(Filters {
        search: parse_log_query(text).map_err(invalid)?,
        kind: q.str("type").filter(|t| !t.is_empty()).map(str::to_string),
        user_id: None,
        oldest_first: parse_log_sort(q.str("sort")).map_err(invalid)?,
    })
}

/// One page of the events `filters` select, under the tenant's search
/// window (as Auth0's 1 000 results), with `fields` applied. A search
/// (`q`) may compare events one by one: it takes a search turn and is
/// answered 503 past `search.timeout_ms`, as a user search.
async fn page(s: &AppState, q: &QueryMap, filters: Filters) -> Result<Json<Value>, ApiError> {
    let paging = Paging::from_query(q, 100)?;
    let (fields, include) = q.fields()?;
    check_log_fields(&fields).map_err(invalid)?;
    let window = s.config.search_window;
    if paging.per_page > 0
        && (paging.page.saturating_add(1)).saturating_mul(paging.per_page) > window
    {
        return Err(ApiError::invalid_query(format!(
            "You can only page through the first {window} log events; narrow the search with q (e.g. type:fp AND date:[2026-12-01 TO 2026-12-02]), or read on from a checkpoint (from, take)."
        )));
    }
    let offset = paging.page.saturating_mul(paging.per_page);
    let limit = paging.per_page;
    let count_up_to = if paging.include_totals { window } else { 0 };
    let searching = filters.search.is_some();
    let store = s.store.clone();
    let tenant = s.tid().to_string();
    let read = move |deadline| async move {
        let query = LogQuery {
            kind: filters.kind.as_deref(),
            user_id: filters.user_id.as_deref(),
            search: filters.search.as_ref(),
            oldest_first: filters.oldest_first,
            deadline,
        };
        store
            .search_logs(&tenant, &query, offset, limit, count_up_to)
            .await
    };
    let (events, total) = if searching {
        user_search::bounded(s, |deadline| read(Some(deadline))).await?
    } else {
        read(None).await?
    };
    let items = events
        .into_iter()
        .map(|e| {
            // The id stays whatever was asked: a reader pages on it.
            let id = json!(e.id);
            let mut v = project_fields(json!(e), &fields, include);
            if let Value::Object(m) = &mut v {
                m.insert("log_id".into(), id);
            }
            v
        })
        .collect();
    Ok(Json(paging.wrap(items, total, "logs")))
}

/// `GET /logs?from=…&take=…`: the events written after `from`, oldest
/// first; as Auth0, every other parameter is ignored. The `Link` header's
/// `next` reads on from the last one (from the same checkpoint when none
/// came yet).
async fn checkpoint(s: &AppState, q: &QueryMap, from: &str) -> Result<Response, ApiError> {
    let take = q.int("take", 1, 100)?.unwrap_or(50);
    let events: Vec<LogEvent> = s.store.logs_after(s.tid(), from, take).await?;
    let next_from = events.last().map_or(from, |e| e.id.as_str());
    let next = format!(
        "<{}logs?from={}&take={take}>; rel=\"next\"",
        s.management_audience(),
        urlencoding::encode(next_from)
    );
    let mut headers = HeaderMap::new();
    if let Ok(link) = HeaderValue::from_str(&next) {
        headers.insert(header::LINK, link);
    }
    Ok((headers, Json(events)).into_response())
}

/// `GET /logs`.
#[utoipa::path(
    get,
    path = "/logs",
    operation_id = "get_logs",
    tag = "logs",
    summary = "Search the tenant log, or read it on from a checkpoint",
    params(crate::openapi::PagingParams, crate::openapi::LogFilter, crate::openapi::LogFields),
    responses(
        (status = 200, description = "Log events: newest first (`sort=date:1`: oldest first); with `from`, those written after that event, oldest first, and a `Link` header whose `next` reads on.", body = crate::openapi::LogList),
        (status = 400, description = "Invalid paging, `take`, `sort` or `fields`, a page past the search window, or a `q` Tern does not answer — its syntax, a field it does not search (named), a wildcard other than a trailing `*` (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 503, description = "A search (`q`) did not answer within `search.timeout_ms` (2 seconds, as Auth0's user search), its wait for a turn included (`query_timeout`); its statement is stopped.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:logs"]), ("bearerAuth" = ["read:logs_users"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Response, ApiError> {
    // Auth0's OAS: either scope reads the tenant log.
    caller.require(&["read:logs", "read:logs_users"])?;
    if let Some(from) = q.str("from").filter(|f| !f.is_empty()) {
        return checkpoint(&s, &q, from).await;
    }
    let filters = filters_of(&q)?;
    Ok(page(&s, &q, filters).await?.into_response())
}

/// `GET /users/{id}/logs`.
#[utoipa::path(
    get,
    path = "/users/{id}/logs",
    operation_id = "get_logs_by_user",
    tag = "logs",
    summary = "A user's log events",
    params(
        ("id" = String, Path, description = "The user_id."),
        crate::openapi::PagingParams,
        crate::openapi::LogSort,
    ),
    responses(
        (status = 200, description = "The user's log events, newest first (`sort=date:1`: oldest first); a deleted user's too (the log outlives the user), none for an id that never had any.", body = crate::openapi::LogList),
        (status = 400, description = "Invalid paging or `sort`, or a page past the search window (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:logs"]), ("bearerAuth" = ["read:logs_users"])),
)]
pub async fn of_user(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:logs", "read:logs_users"])?;
    // No lookup of the user: a deleted user's events stay in the log (as
    // Auth0's OAS lists no 404 here), and an operator investigating an
    // account after its deletion needs them most.
    let filters = Filters {
        search: None,
        kind: None,
        user_id: Some(id),
        oldest_first: parse_log_sort(q.str("sort")).map_err(invalid)?,
    };
    page(&s, &q, filters).await
}

/// `GET /logs/{id}`.
#[utoipa::path(
    get,
    path = "/logs/{id}",
    operation_id = "get_log",
    tag = "logs",
    summary = "Get a log event",
    params(("id" = String, Path, description = "The log_id.")),
    responses(
        (status = 200, description = "The event.", body = crate::openapi::LogEvent),
        (status = 404, description = "No such event (`inexistent_log`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:logs"]), ("bearerAuth" = ["read:logs_users"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<LogEvent>, ApiError> {
    caller.require(&["read:logs", "read:logs_users"])?;
    s.store
        .get_log(s.tid(), &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("inexistent_log", "Log event not found"))
}
