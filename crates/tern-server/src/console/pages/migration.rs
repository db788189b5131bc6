//! One connection's migration: users by how they arrived, who still has no
//! credential, credentials by hash scheme (those not yet under the current
//! policy wait for their owner's next login), and recent legacy failures by
//! cause. The numbers are the Management API's migration report
//! (`tern_core::migration::report` over the store's `migration_stats`).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use tern_core::CoreResult;
use tern_core::migration::{FailureCause, failure_cause, report};
use tern_core::model::LogEvent;

use super::overview::{LegacyCount, legacy_count, migrated, of_legacy};
use crate::console::layout::{Section, page, problem};
use crate::console::session::Operator;
use crate::state::AppState;

/// How many of the newest failed-login events of each type are looked at.
pub const FAILURE_WINDOW: u64 = 1000;

/// How arrival sources read on the page.
fn source_label(source: &str) -> &str {
    match source {
        "lazy_login" => "Lazy migration at login",
        "lazy_reset" => "Lazy migration at password reset",
        "bulk_import" => "Bulk import",
        "signup" => "Signup",
        "api" => "Created through the API",
        "legacy" => "Kept while the legacy store stays authoritative",
        other => other,
    }
}

/// The newest failed logins of a connection, grouped by cause (with the
/// events, newest first).
pub async fn failures(
    s: &AppState,
    connection_id: &str,
) -> CoreResult<BTreeMap<FailureCause, Vec<LogEvent>>> {
    let mut out: BTreeMap<FailureCause, Vec<LogEvent>> = BTreeMap::new();
    for kind in ["f", "fp", "fu"] {
        let (events, _) = s
            .store
            .list_logs(s.tid(), Some(kind), 0, FAILURE_WINDOW, 0)
            .await?;
        for ev in events {
            if ev.connection_id.as_deref() != Some(connection_id) {
                continue;
            }
            if let Some(cause) = failure_cause(&ev.kind, ev.description.as_deref().unwrap_or("")) {
                out.entry(cause).or_default().push(ev);
            }
        }
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| b.date.cmp(&a.date));
    }
    Ok(out)
}

/// `GET /console/connections/{id}/migration`.
pub async fn show(State(s): State<AppState>, op: Operator, Path(id): Path<String>) -> Response {
    let loaded = async {
        let Some(c) = s.store.get_connection(s.tid(), &id).await? else {
            return Ok(None);
        };
        let r = report(&s.store.migration_stats(s.tid(), &c.id).await?);
        let f = failures(&s, &c.id).await?;
        CoreResult::Ok(Some((c, r, f)))
    };
    let (c, r, failed) = match loaded.await {
        Ok(Some(x)) => x,
        Ok(None) => {
            return problem(
                StatusCode::NOT_FOUND,
                "No such connection",
                "The connection does not exist.",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "console migration page failed");
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The migration report could not be read; try again.",
            );
        }
    };
    let count = legacy_count(&s, &c).await;
    let current = s.policy.scheme().name();
    page(
        &op,
        Section::Overview,
        &format!("Migration of {}", c.name),
        html! {
            p { a href="/console" { "← Migration overview" } }
            h1 { "Migration of " (c.name) }
            div.tiles {
                div.tile { b #total-users { (r.total_users) } span { "users" } }
                div.tile { b #migrated-users { (migrated(&r)) } span { "migrated" } }
                div.tile { b #awaiting-users { (r.awaiting_credential) } span { "without a credential" } }
            }
            @if count != LegacyCount::Unknown { p.text #legacy-count { (of_legacy(&r, &count)) } }
            @if let (Some(first), Some(last)) = (&r.first_migration_at, &r.last_migration_at) {
                p.text { "First migration " (first) ", latest " (last) "." }
            }
            h2 #arrivals { "Users by how they arrived" }
            div.table-wrap { table aria-labelledby="arrivals" {
                thead { tr { th scope="col" { "Arrived by" } th.num scope="col" { "Users" } th scope="col" { "First" } th scope="col" { "Latest" } } }
                tbody {
                    @for (source, line) in &r.sources {
                        tr data-source=(source) {
                            td { (source_label(source)) }
                            td.num { (line.users) }
                            td { (line.first_at.as_deref().unwrap_or("—")) }
                            td { (line.last_at.as_deref().unwrap_or("—")) }
                        }
                    }
                }
            } }
            h2 #schemes { "Credentials by hash scheme" }
            @if r.credentials_by_scheme.is_empty() {
                p.empty { "No user of this connection has a credential yet." }
            } @else {
                p.text { "Credentials not in " (current) " are upgraded at their owner's next login." }
                div.table-wrap { table aria-labelledby="schemes" {
                    thead { tr { th scope="col" { "Scheme" } th.num scope="col" { "Users" } th scope="col" { "State" } } }
                    tbody {
                        @for (scheme, n) in &r.credentials_by_scheme {
                            tr data-scheme=(scheme) {
                                td { (scheme) }
                                td.num { (n) }
                                td { @if scheme == current { "Current policy" } @else { "Waiting for first login" } }
                            }
                        }
                    }
                } }
            }
            h2 #failures { "Failed logins by cause" }
            p.text { "From the newest " (FAILURE_WINDOW) " failed-login events of each type in the tenant log." }
            div.table-wrap { table aria-labelledby="failures" {
                thead { tr { th scope="col" { "Cause" } th.num scope="col" { "Failures" } th scope="col" { "Latest" } } }
                tbody {
                    @for cause in FailureCause::ALL {
                        @let events = failed.get(&cause).map(Vec::as_slice).unwrap_or(&[]);
                        tr data-cause=(serde_json::to_value(cause).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) {
                            td { (cause.label()) }
                            td.num { (events.len()) }
                            td {
                                @if let Some(ev) = events.first() {
                                    (ev.date) ": " (ev.description.as_deref().unwrap_or(""))
                                    " (log " code { (ev.id) } ")"
                                } @else { "—" }
                            }
                        }
                    }
                }
            } }
        },
    )
}
