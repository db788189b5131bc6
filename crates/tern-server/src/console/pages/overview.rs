//! The console's home: every connection's migration at a glance.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use tern_core::CoreResult;
use tern_core::migration::{MigrationReport, report};
use tern_core::model::Connection;

use crate::console::OPERATORS_CONNECTION;
use crate::console::layout::{Section, page, problem};
use crate::console::session::Operator;
use crate::state::AppState;

/// Users a report counts as migrated (arrived from the legacy store).
pub fn migrated(r: &MigrationReport) -> u64 {
    ["lazy_login", "lazy_reset", "bulk_import"]
        .iter()
        .filter_map(|k| r.sources.get(*k))
        .map(|l| l.users)
        .sum()
}

/// What the legacy store of a connection answered when counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyCount {
    /// The connection cannot count its legacy store (no `count_query` /
    /// `count_path`, scripts, or not a custom database).
    Unknown,
    /// The store holds this many users.
    Users(u64),
    /// Counting failed (logged).
    Failed,
}

/// Ask a custom-database connection's legacy store how many users it holds.
pub async fn legacy_count(s: &AppState, c: &Connection) -> LegacyCount {
    let Some(legacy) = s.legacy.as_ref().filter(|_| c.custom_database()) else {
        return LegacyCount::Unknown;
    };
    match legacy.count(s.tid(), c).await {
        Ok(Some(n)) => LegacyCount::Users(n),
        Ok(None) => LegacyCount::Unknown,
        Err(e) => {
            tracing::warn!(connection = %c.name, error = %e, "the legacy store could not be counted");
            LegacyCount::Failed
        }
    }
}

/// The connections operators migrate (the operators' own left out), each
/// with its migration report and its legacy store's count.
pub async fn reports(s: &AppState) -> CoreResult<Vec<(Connection, MigrationReport, LegacyCount)>> {
    let mut out = Vec::new();
    for c in s.store.list_connections(s.tid()).await? {
        if c.name == OPERATORS_CONNECTION {
            continue;
        }
        let stats = s.store.migration_stats(s.tid(), &c.id).await?;
        let count = legacy_count(s, &c).await;
        out.push((c, report(&stats), count));
    }
    Ok(out)
}

/// "N of M legacy users migrated", or nothing when the store cannot count.
pub fn of_legacy(r: &MigrationReport, count: &LegacyCount) -> maud::Markup {
    html! {
        @match count {
            LegacyCount::Users(m) => {
                span.legacy-progress data-migrated=(migrated(r)) data-legacy=(m) {
                    (migrated(r)) " of " (m) " legacy users migrated"
                }
            },
            LegacyCount::Failed => { span.badge.bad { "legacy store not counted" } },
            LegacyCount::Unknown => { "—" },
        }
    }
}

/// `GET /console`.
pub async fn show(State(s): State<AppState>, op: Operator) -> Response {
    let rows = match reports(&s).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "console overview failed");
            return problem(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The overview could not be read; try again.",
            );
        }
    };
    let total: u64 = rows.iter().map(|(_, r, _)| r.total_users).sum();
    let moved: u64 = rows.iter().map(|(_, r, _)| migrated(r)).sum();
    let waiting: u64 = rows.iter().map(|(_, r, _)| r.awaiting_credential).sum();
    page(
        &op,
        Section::Overview,
        "Migration overview",
        html! {
            h1 { "Migration overview" }
            div.tiles {
                div.tile { b #total-users { (total) } span { "users in Tern" } }
                div.tile { b #migrated-users { (moved) } span { "migrated from legacy stores" } }
                div.tile { b #awaiting-users { (waiting) } span { "still without a credential" } }
            }
            h2 { "Connections" }
            @if rows.is_empty() {
                p.empty { "No connection yet." }
            } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { "Connection" }
                        th scope="col" { "Kind" }
                        th.num scope="col" { "Users" }
                        th.num scope="col" { "Migrated" }
                        th.num scope="col" { "Without credential" }
                        th scope="col" { "Legacy store" }
                        th scope="col" { "Last migration" }
                    } }
                    tbody {
                        @for (c, r, count) in &rows {
                            tr {
                                td { a href=(format!("/console/connections/{}/migration", c.id)) { (c.name) } }
                                td { @if c.custom_database() { "Custom database" @if c.import_mode() { " (import)" } @else { " (legacy stays)" } } @else { "Database" } }
                                td.num { (r.total_users) }
                                td.num { (migrated(r)) }
                                td.num { (r.awaiting_credential) }
                                td { (of_legacy(r, count)) }
                                td { (r.last_migration_at.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                } }
            }
        },
    )
}
