//! `/api/v2/logs`: the tenant log, newest first.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tern_core::model::LogEvent;

use crate::auth::Caller;
use crate::body::{Paging, QueryMap};
use crate::error::ApiError;
use crate::state::AppState;

/// The type filter: `q=type:fp` or `q=type:"fp"` (the subset of Auth0's log
/// search Tern supports), or the Tern shorthand `type=fp`.
fn type_filter(q: &QueryMap) -> Result<Option<String>, ApiError> {
    if let Some(t) = q.str("type") {
        return Ok(Some(t.to_string()));
    }
    let Some(query) = q.str("q").map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let value = query
        .strip_prefix("type:")
        .map(|v| v.trim_matches('"'))
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .ok_or_else(|| {
            ApiError::invalid_query(format!(
                "Query validation error: log search supports only q=type:<code>, got '{query}'."
            ))
        })?;
    Ok(Some(value.to_string()))
}

/// Auth0's checkpoint read (`from` a log id, `take`): the events written
/// after it, oldest first, every other parameter ignored, and a `Link`
/// header whose `next` is the following request (this one again when
/// nothing newer exists yet), as log exporters expect.
async fn checkpoint(s: &AppState, q: &QueryMap, from: &str) -> Result<Response, ApiError> {
    let take = q.int("take", 1, 100)?.unwrap_or(50);
    let events = s.store.logs_after(s.tid(), from, take).await?.ok_or_else(|| {
        ApiError::invalid_query(format!(
            "Query validation error: 'from' names no log event of this tenant ('{from}'; retention may have purged it). Start again from a log_id GET /logs returns."
        ))
    })?;
    let last = events.last().map_or(from, |e| e.id.as_str());
    let next = format!(
        "<{}/api/v2/logs?from={}&take={take}>; rel=\"next\"",
        s.public_url.trim_end_matches('/'),
        urlencoding::encode(last)
    );
    let mut response = Json(events).into_response();
    if let Ok(v) = HeaderValue::from_str(&next) {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

/// `GET /logs`.
#[utoipa::path(
    get,
    path = "/logs",
    operation_id = "get_logs",
    tag = "logs",
    summary = "Search the tenant log",
    params(crate::openapi::PagingParams, crate::openapi::LogFilter),
    responses(
        (status = 200, description = "Log events, newest first; with `from`, the events after it, oldest first, as an array.", body = crate::openapi::LogList),
        (status = 400, description = "Invalid paging, a `q` other than `type:<code>`, a `take` outside 1 to 100, or a `from` naming no event of the tenant (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:logs"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Response, ApiError> {
    caller.require(&["read:logs"])?;
    if let Some(from) = q.str("from").filter(|f| !f.is_empty()) {
        return checkpoint(&s, &q, from).await;
    }
    let paging = Paging::from_query(&q, 100)?;
    let window = s.config.search_window;
    if paging.per_page > 0
        && (paging.page.saturating_add(1)).saturating_mul(paging.per_page) > window
    {
        return Err(ApiError::invalid_query(format!(
            "You can only page through the first {window} log events; narrow the search with q=type:<code>."
        )));
    }
    let kind = type_filter(&q)?;
    let (events, total) = s
        .store
        .list_logs(
            s.tid(),
            kind.as_deref(),
            paging.page.saturating_mul(paging.per_page),
            paging.per_page,
            if paging.include_totals { window } else { 0 },
        )
        .await?;
    let items = events.into_iter().map(|e| json!(e)).collect();
    Ok(Json(paging.wrap(items, total, "logs")).into_response())
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
    security(("bearerAuth" = ["read:logs"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<LogEvent>, ApiError> {
    caller.require(&["read:logs"])?;
    s.store
        .get_log(s.tid(), &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("inexistent_log", "Log event not found"))
}
