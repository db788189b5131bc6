//! The tenant log: filter by type, user, connection and days; follow it
//! live (the page reloads itself every few seconds — no script). The store
//! reads the log by type, newest first; `tern_core::log_filter` decides the
//! rest within the newest [`SCAN`] events.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use tern_core::log_filter::{LogFilter, is_day};
use tern_core::model::LogEvent;
use tern_core::store::LogQuery;

use crate::console::layout::{Section, live_page, problem};
use crate::console::session::Operator;
use crate::state::AppState;

/// How many of the newest events (of the chosen type) are looked through.
pub const SCAN: u64 = 5_000;
/// How many matching events are shown.
const SHOWN: usize = 100;
/// Seconds between reloads when following.
const FOLLOW_SECS: u32 = 3;

/// The filter form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct LogForm {
    #[serde(rename = "type")]
    kind: Option<String>,
    user: Option<String>,
    connection: Option<String>,
    from: Option<String>,
    to: Option<String>,
    follow: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The newest events that pass `f`, at most [`SHOWN`]. A user given as an
/// id (`provider|id`: no name or email holds a `|` in practice) is read
/// through the log's user index, so their events are found however old.
pub async fn search(s: &AppState, f: &LogFilter) -> tern_core::CoreResult<Vec<LogEvent>> {
    let query = LogQuery {
        kind: f.kind.as_deref(),
        user_id: f.user.as_deref().filter(|u| u.contains('|')),
        ..LogQuery::default()
    };
    newest(s, &query, SHOWN, |e| f.matches(e)).await
}

/// The newest events `query` selects that `keep` keeps, among the newest
/// [`SCAN`] it selects; at most `shown`.
pub async fn newest(
    s: &AppState,
    query: &LogQuery<'_>,
    shown: usize,
    keep: impl Fn(&LogEvent) -> bool,
) -> tern_core::CoreResult<Vec<LogEvent>> {
    let mut out = Vec::new();
    let page = 500;
    let mut offset = 0;
    while offset < SCAN && out.len() < shown {
        let (events, _) = s.store.search_logs(s.tid(), query, offset, page, 0).await?;
        let n = events.len() as u64;
        out.extend(events.into_iter().filter(|e| keep(e)));
        if n < page {
            break;
        }
        offset += page;
    }
    out.truncate(shown);
    Ok(out)
}

/// `GET /console/logs`.
pub async fn list(State(s): State<AppState>, op: Operator, Query(q): Query<LogForm>) -> Response {
    let filter = LogFilter {
        kind: given(&q.kind),
        user: given(&q.user),
        connection: given(&q.connection),
        from: given(&q.from),
        to: given(&q.to),
    };
    let bad_day = [&filter.from, &filter.to]
        .into_iter()
        .flatten()
        .any(|d| !is_day(d));
    let events = if bad_day {
        Vec::new()
    } else {
        match search(&s, &filter).await {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "console logs failed");
                return problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The log could not be read; try again.",
                );
            }
        }
    };
    let follow = q.follow.as_deref() == Some("on");
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    live_page(
        &op,
        Section::Logs,
        "Logs",
        follow.then_some(FOLLOW_SECS),
        html! {
            h1 { "Logs" }
            form method="get" action="/console/logs" role="search" {
                div.grid {
                    div { label for="type" { "Type" }
                        input #type type="text" name="type" value=(v(&filter.kind)) placeholder="e.g. f, s, sapi" aria-describedby="type-hint"; }
                    div { label for="user" { "User" }
                        input #user type="text" name="user" value=(v(&filter.user)) placeholder="user id or part of the email"; }
                    div { label for="connection" { "Connection" }
                        input #connection type="text" name="connection" value=(v(&filter.connection)) placeholder="name or id"; }
                    div { label for="from" { "From (day)" }
                        input #from type="date" name="from" value=(v(&filter.from)); }
                    div { label for="to" { "To (day)" }
                        input #to type="date" name="to" value=(v(&filter.to)); }
                }
                p.hint #type-hint { "Types as Auth0 names them: " code { "s" } " success, " code { "f" } " failed login, " code { "fp" } " wrong password, " code { "fu" } " unknown user, " code { "sapi" } " a change (console or API), " code { "limit_wc" } " brute-force block." }
                label.check { input type="checkbox" name="follow" value="on" checked[follow]; "Follow live (reload every " (FOLLOW_SECS) " s)" }
                button type="submit" { "Filter" }
            }
            @if bad_day { p.alert role="alert" { "Days are written YYYY-MM-DD." } }
            p.text { "The newest matching events among the newest " (SCAN) " of the chosen type; at most " (SHOWN) " shown." }
            @if events.is_empty() {
                p.empty { "No event matches." }
            } @else {
                div.table-wrap { table #events {
                    thead { tr { th scope="col" { "Date" } th scope="col" { "Type" } th scope="col" { "Description" } th scope="col" { "User" } th scope="col" { "Connection" } th scope="col" { "IP" } } }
                    tbody { @for e in &events { tr data-type=(e.kind) {
                        td { (e.date) }
                        td { code { (e.kind) } }
                        td {
                            (e.description.as_deref().unwrap_or(""))
                            @if let Some(d) = &e.details {
                                details { summary { "Details" } pre { (serde_json::to_string_pretty(d).unwrap_or_default()) } }
                            }
                        }
                        td { @if let Some(id) = &e.user_id {
                            a href=(format!("/console/users/{}", urlencoding::encode(id))) { (e.user_name.as_deref().unwrap_or(id)) }
                        } @else { (e.user_name.as_deref().unwrap_or("—")) } }
                        td { (e.connection.as_deref().unwrap_or("—")) }
                        td { (e.ip.as_deref().unwrap_or("—")) }
                    } } }
                } }
            }
        },
    )
}
