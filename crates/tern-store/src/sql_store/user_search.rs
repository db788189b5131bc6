//! `search_users`: the statements of one user search (a page, a count, and
//! the counts that choose how to gather candidates), all on one
//! [`SearchConn`], so the search's deadline bounds each of them.

use tern_core::CoreResult;
use tern_core::store::{UserPage, UserSearch};

use super::search_conn::SearchConn;
use super::{SqlStore, USER_COLUMNS, as_i64};
use crate::metadata_index::{self, MetadataDriver};
use crate::search_sql::{self, Dialect, Driver, SqlValue};

/// Candidates a prefix may select for a search to gather them first; past
/// this the search walks its sort order instead, where matches come often.
const MAX_PREFIX_CANDIDATES: i64 = 2_000;

impl SqlStore {
    /// [`tern_core::store::UserStore::search_users`]: the search on a
    /// connection bounded by its deadline, given back whatever the outcome.
    pub(super) async fn search_bounded(
        &self,
        tenant: &str,
        s: &UserSearch,
    ) -> CoreResult<UserPage> {
        // A search an id or an exact email drives reads a few rows by a
        // unique index and cannot run long; on PostgreSQL bounding it would
        // only add the transaction's round trips (BEGIN, a bound before
        // each statement, ROLLBACK) to the commonest searches. The caller's
        // own timer still answers it at the deadline.
        let point_lookup = self.dialect == Dialect::Postgres
            && s.query
                .as_ref()
                .and_then(|q| search_sql::driver(q, self.dialect, 2))
                .is_some_and(|d| d.bounded);
        let mut conn = SearchConn::open(
            &self.pool,
            self.search_sqlite.as_ref(),
            self.dialect == Dialect::Postgres,
            s.deadline.filter(|_| !point_lookup),
        )
        .await?;
        let page = self.search_on(&mut conn, tenant, s).await;
        conn.close(page).await
    }

    async fn search_on(
        &self,
        conn: &mut SearchConn<'_>,
        tenant: &str,
        s: &UserSearch,
    ) -> CoreResult<UserPage> {
        let d = self.dialect;
        let order = s
            .sort
            .as_ref()
            .map(|o| search_sql::order_by(o, d))
            .unwrap_or_else(|| "created_at ASC, user_id ASC".into());
        // With a condition an index answers (an id, an email, an email
        // prefix or a metadata value that selects few users), the statement
        // gathers those candidates first (`MATERIALIZED`: planned on their
        // own, so from that index) and filters and sorts only them; a
        // planner without statistics would otherwise walk the
        // creation-order index to avoid the sort, through every user of
        // the tenant.
        let mut known_total = None;
        let candidates = match &s.query {
            Some(q) => match search_sql::driver(q, d, 2) {
                Some(drv) if drv.bounded || few_candidates(conn, tenant, &drv).await? => {
                    Some((drv.sql, drv.binds))
                }
                _ => match metadata_index::driver(q, d, 2) {
                    Some(md) => {
                        let upto = MAX_PREFIX_CANDIDATES.max(as_i64(s.total_up_to.unwrap_or(0)));
                        let n = metadata_candidates(conn, tenant, &md, upto).await?;
                        if md.exact {
                            known_total = Some(u64::try_from(n).unwrap_or(0));
                        }
                        (n <= MAX_PREFIX_CANDIDATES).then(|| {
                            let sql = format!(
                                "user_id IN (SELECT user_id FROM user_metadata_values \
                                 WHERE tenant_id = $1 AND {})",
                                md.sql
                            );
                            (sql, md.binds)
                        })
                    }
                    None => None,
                },
            },
            None => None,
        };
        let first = 2 + candidates.as_ref().map_or(0, |(_, binds)| binds.len());
        let (filter, values) = match &s.query {
            Some(q) => search_sql::where_clause(q, d, first),
            None => ("1=1".to_string(), Vec::new()),
        };
        let (source, driver_values) = match &candidates {
            Some((sql, binds)) => (
                format!(
                    "WITH c AS MATERIALIZED (SELECT {USER_COLUMNS} FROM users \
                     WHERE tenant_id = $1 AND ({sql})) SELECT {{}} FROM c WHERE ({filter})"
                ),
                binds.as_slice(),
            ),
            None => (
                format!("SELECT {{}} FROM users WHERE tenant_id = $1 AND ({filter})"),
                &[][..],
            ),
        };
        let binds = with_tenant(tenant, &[driver_values, &values]);
        let page_sql = format!(
            "{} ORDER BY {order} LIMIT {} OFFSET {}",
            source.replacen("{}", USER_COLUMNS, 1),
            s.limit,
            s.offset
        );
        let users = conn.users(page_sql, &binds).await?;
        // Totals are counted up to the cap (Auth0 reports at most the
        // search window), so a count never reads the whole table.
        let total = match (s.total_up_to, known_total) {
            (Some(cap), Some(n)) => n.min(cap),
            (Some(cap), None) => {
                // On PostgreSQL in the page's order, so the count walks what
                // the page walks and stops at the cap: unordered, it may
                // bitmap-scan every entry of an index before the first row.
                // SQLite stops an unordered walk at the cap already.
                let walk = match d {
                    Dialect::Postgres => format!(" ORDER BY {order}"),
                    Dialect::Sqlite => String::new(),
                };
                let count_sql = format!(
                    "SELECT COUNT(*) FROM ({}{walk} LIMIT {}) AS n",
                    source.replacen("{}", "1", 1),
                    as_i64(cap)
                );
                u64::try_from(conn.count(count_sql, &binds).await?).unwrap_or(0)
            }
            (None, _) => 0,
        };
        Ok(UserPage { users, total })
    }
}

/// Whether `drv` selects at most [`MAX_PREFIX_CANDIDATES`] users (an
/// index-only count that stops there).
async fn few_candidates(conn: &mut SearchConn<'_>, tenant: &str, drv: &Driver) -> CoreResult<bool> {
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM users WHERE tenant_id = $1 AND ({}) LIMIT {}) AS n",
        drv.sql,
        MAX_PREFIX_CANDIDATES + 1
    );
    let n = conn.count(sql, &with_tenant(tenant, &[&drv.binds])).await?;
    Ok(n <= MAX_PREFIX_CANDIDATES)
}

/// How many `user_metadata_values` rows `md` selects, counted in the
/// index up to `upto + 1` (past that, the answer is `upto + 1`).
async fn metadata_candidates(
    conn: &mut SearchConn<'_>,
    tenant: &str,
    md: &MetadataDriver,
    upto: i64,
) -> CoreResult<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM user_metadata_values \
         WHERE tenant_id = $1 AND {} LIMIT {}) AS n",
        md.sql,
        upto + 1
    );
    conn.count(sql, &with_tenant(tenant, &[&md.binds])).await
}

/// The binds of a search statement: the tenant (`$1`), then `parts` in order.
fn with_tenant(tenant: &str, parts: &[&[SqlValue]]) -> Vec<SqlValue> {
    std::iter::once(SqlValue::Text(tenant.to_string()))
        .chain(parts.iter().flat_map(|p| p.iter().cloned()))
        .collect()
}
