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

/// The connections operators migrate (the operators' own left out), each
/// with its migration report.
pub async fn reports(s: &AppState) -> CoreResult<Vec<(Connection, MigrationReport)>> {
    let mut out = Vec::new();
    for c in s.store.list_connections(s.tid()).await? {
        if c.name == OPERATORS_CONNECTION {
            continue;
        }
        let stats = s.store.migration_stats(s.tid(), &c.id).await?;
        out.push((c, report(&stats)));
    }
    Ok(out)
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
    let total: u64 = rows.iter().map(|(_, r)| r.total_users).sum();
    let moved: u64 = rows.iter().map(|(_, r)| migrated(r)).sum();
    let waiting: u64 = rows.iter().map(|(_, r)| r.awaiting_credential).sum();
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
                        th scope="col" { "Last migration" }
                    } }
                    tbody {
                        @for (c, r) in &rows {
                            tr {
                                td { a href=(format!("/console/connections/{}/migration", c.id)) { (c.name) } }
                                td { @if c.custom_database() { "Custom database" @if c.import_mode() { " (import)" } @else { " (legacy stays)" } } @else { "Database" } }
                                td.num { (r.total_users) }
                                td.num { (migrated(r)) }
                                td.num { (r.awaiting_credential) }
                                td { (r.last_migration_at.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                } }
            }
        },
    )
}
