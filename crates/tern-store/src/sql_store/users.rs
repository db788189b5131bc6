//! Users: real columns (they are searched), every statement scoped by tenant.

use std::borrow::Cow;

use futures_util::{StreamExt, TryStreamExt};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query as SqlxQuery;
use sqlx::{Any, AssertSqlSafe, ColumnIndex, Decode, Row, Type};
use tern_core::CoreResult;
use tern_core::attack_protection::LEGACY_KEY_PREFIX;
use tern_core::model::{
    JsonObject, MetadataColumns, MetadataView, ProfileView, ProfilesVisited, User, UserSource,
};
use tern_core::store::{InsertOutcome, LoginName, LoginRecord, UserPage, UserSearch, UserStore};
use tern_core::user_profile::folded_username;

use super::logs::bind_event;
use super::{SqlStore, as_i64, decode_object, is_unique_violation, storage};
use crate::search_sql::Dialect;

pub(crate) const USER_COLUMNS: &str = "user_id, connection_id, connection_name, email, email_verified, \
    username, phone_number, phone_verified, name, given_name, family_name, nickname, picture, \
    blocked, app_metadata, user_metadata, created_at, updated_at, last_login, last_ip, \
    logins_count, credential, source, mfa_factors";

/// Rows an export reads per SQLite statement (see `visit_profiles_after`):
/// what a page of rows holds in memory while its lines are written.
const SQLITE_PAGE: u64 = 2_000;

/// The profile fields an export of profile columns writes, in the order
/// [`profile_of`] reads them.
const PROFILE_COLUMNS: &str = "user_id, email, email_verified, username, phone_number, \
    phone_verified, name, given_name, family_name, nickname, picture, created_at, updated_at, \
    last_login, last_ip, logins_count, blocked";

/// [`PROFILE_COLUMNS`] and the metadata objects `metadata` asks for, each
/// in its place or a NULL there, as [`profile_of`] reads them.
fn profile_columns(metadata: MetadataColumns) -> String {
    let column = |wanted: bool, name: &'static str| if wanted { name } else { "NULL" };
    format!(
        "{PROFILE_COLUMNS}, {}, {}",
        column(metadata.app, "app_metadata"),
        column(metadata.user, "user_metadata")
    )
}

/// A user's profile borrowed from a row of [`profile_columns`], by position.
fn profile_of<'r, R: Row>(row: &'r R) -> CoreResult<ProfileView<'r>>
where
    usize: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    // Unchecked: the columns' types are the schema's, and decoding still
    // checks what it reads (UTF-8, an integer's width); the check against
    // the column's declared type was a tenth of an export's CPU.
    let s = |i: usize| row.try_get_unchecked::<&'r str, _>(i).map_err(storage);
    let o = |i: usize| {
        row.try_get_unchecked::<Option<&'r str>, _>(i)
            .map_err(storage)
    };
    let i = |i: usize| row.try_get_unchecked::<i64, _>(i).map_err(storage);
    Ok(ProfileView {
        user_id: s(0)?,
        email: o(1)?,
        email_verified: i(2)? != 0,
        username: o(3)?,
        phone_number: o(4)?,
        phone_verified: i(5)? != 0,
        name: o(6)?,
        given_name: o(7)?,
        family_name: o(8)?,
        nickname: o(9)?,
        picture: o(10)?,
        created_at: s(11)?,
        updated_at: s(12)?,
        last_login: o(13)?,
        last_ip: o(14)?,
        logins_count: i(15)?,
        blocked: i(16)? != 0,
        // A metadata column is NOT NULL: NULL is one the walk did not read.
        app_metadata: o(17)?.map_or(MetadataView::Absent, MetadataView::Text),
        user_metadata: o(18)?.map_or(MetadataView::Absent, MetadataView::Text),
    })
}

/// `$body` run with `$q`, the [`keyset_sql`] statement `$sql` with its
/// values bound, and `$pool`, the pool it runs on: a native one where there
/// is one (sqlx's `Any` rows copy every value and every column's
/// description once more for each row, most of an export's time beside the
/// query itself), else the `Any` pool. The body is expanded once per
/// backend, each with its own row type.
macro_rules! on_export_pool {
    ($store:expr, $sql:expr, $tenant:expr, $after:expr, $limit:expr, $connection:expr,
     |$q:ident, $pool:ident| $body:block) => {{
        let (created_at, user_id) = $after.unwrap_or(("", ""));
        macro_rules! bound {
            ($db:ty) => {{
                let mut q = sqlx::query::<$db>(AssertSqlSafe($sql))
                    .bind($tenant)
                    .bind(created_at)
                    .bind(user_id)
                    .bind(as_i64($limit));
                if let Some(c) = $connection {
                    q = q.bind(c);
                }
                q
            }};
        }
        if let Some($pool) = &$store.native_pg {
            let $q = bound!(sqlx::Postgres);
            $body
        } else if let Some($pool) = &$store.native_sqlite {
            let $q = bound!(sqlx::Sqlite);
            $body
        } else {
            let $pool = &$store.pool;
            let $q = bound!(Any);
            $body
        }
    }};
}

/// The keyset page statement of `users_after` and `visit_profiles_after`:
/// binds tenant, `created_at`, `user_id`, limit and, when `by_connection`,
/// the connection. The index (tenant_id, created_at, user_id) serves the
/// range as a row-value comparison; the connection filters it.
fn keyset_sql(columns: &str, by_connection: bool) -> String {
    let filter = if by_connection {
        "AND connection_id = $5"
    } else {
        ""
    };
    format!(
        "SELECT {columns} FROM users WHERE tenant_id = $1 \
         AND (created_at, user_id) > ($2, $3) {filter} \
         ORDER BY created_at, user_id LIMIT $4"
    )
}

/// A user from a row whose first columns are [`USER_COLUMNS`], in that
/// order (every query that reads users selects them so), read by position:
/// a name lookup per column and row was a measurable share of reading a
/// million users. Generic over the row so PostgreSQL's native rows (exports
/// read pages through the native pool) decode the same way.
pub(super) fn decode_user<R: Row>(row: &R) -> CoreResult<User>
where
    usize: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    let s = |i: usize| row.try_get::<String, _>(i).map_err(storage);
    let o = |i: usize| row.try_get::<Option<String>, _>(i).map_err(storage);
    let b = |i: usize| row.try_get::<i64, _>(i).map(|v| v != 0).map_err(storage);
    Ok(User {
        user_id: s(0)?,
        connection_id: s(1)?,
        connection_name: s(2)?,
        email: o(3)?,
        email_verified: b(4)?,
        username: o(5)?,
        phone_number: o(6)?,
        phone_verified: b(7)?,
        name: o(8)?,
        given_name: o(9)?,
        family_name: o(10)?,
        nickname: o(11)?,
        picture: o(12)?,
        blocked: b(13)?,
        app_metadata: decode_object(&s(14)?),
        user_metadata: decode_object(&s(15)?),
        created_at: s(16)?,
        updated_at: s(17)?,
        last_login: o(18)?,
        last_ip: o(19)?,
        logins_count: row.try_get::<i64, _>(20).map_err(storage)?,
        credential: o(21)?,
        source: UserSource::parse(&s(22)?).unwrap_or(UserSource::Api),
        mfa_factors: o(23)?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
    })
}

/// The `mfa_factors` column: JSON text, NULL when there are none.
pub(crate) fn mfa_factors_column(u: &User) -> Option<String> {
    (!u.mfa_factors.is_empty()).then(|| serde_json::Value::from(u.mfa_factors.clone()).to_string())
}

/// Bind the profile columns of a user in `USER_COLUMNS` order after `tenant_id`.
pub(super) fn bind_user<'q>(
    q: SqlxQuery<'q, Any, AnyArguments>,
    u: &'q User,
) -> SqlxQuery<'q, Any, AnyArguments> {
    q.bind(&u.user_id)
        .bind(&u.connection_id)
        .bind(&u.connection_name)
        .bind(u.email.as_deref())
        .bind(i64::from(u.email_verified))
        .bind(u.username.as_deref())
        .bind(u.phone_number.as_deref())
        .bind(i64::from(u.phone_verified))
        .bind(u.name.as_deref())
        .bind(u.given_name.as_deref())
        .bind(u.family_name.as_deref())
        .bind(u.nickname.as_deref())
        .bind(u.picture.as_deref())
        .bind(i64::from(u.blocked))
        .bind(serde_json::Value::Object(u.app_metadata.clone()).to_string())
        .bind(serde_json::Value::Object(u.user_metadata.clone()).to_string())
        .bind(&u.created_at)
        .bind(&u.updated_at)
        .bind(u.last_login.as_deref())
        .bind(u.last_ip.as_deref())
        .bind(u.logins_count)
        .bind(u.credential.as_deref())
        .bind(u.source.as_str())
        .bind(mfa_factors_column(u))
}

/// Replace a user's profile and credential (parameters in `bind_user` order);
/// id, connection, creation time and source must match and never change.
pub(super) const UPDATE_USER: &str = "UPDATE users SET email = $5, email_verified = $6, username = $7, phone_number = $8, \
    phone_verified = $9, name = $10, given_name = $11, family_name = $12, nickname = $13, \
    picture = $14, blocked = $15, app_metadata = $16, user_metadata = $17, updated_at = $19, \
    last_login = $20, last_ip = $21, logins_count = $22, credential = $23, mfa_factors = $25 \
    WHERE tenant_id = $1 AND user_id = $2 AND connection_id = $3 AND connection_name = $4 \
    AND created_at = $18 AND source = $24";

/// [`UPDATE_USER`] that writes the credential only when `$26` is 1 and the
/// MFA enrollments only when `$27` is 1: a profile edit leaves the stored
/// ones, whatever a concurrent reset or enrollment wrote after the edit
/// read the user. It never writes the login fields (`$20`–`$22` are bound
/// and unused): a login recorded meanwhile keeps its count. With `$28` and
/// `$29` given, the metadata documents must still be those (the edit's
/// changes were applied to them; see `ProfileWrite::metadata`).
pub(super) const UPDATE_PROFILE: &str = "UPDATE users SET email = $5, email_verified = $6, username = $7, phone_number = $8, \
    phone_verified = $9, name = $10, given_name = $11, family_name = $12, nickname = $13, \
    picture = $14, blocked = $15, app_metadata = $16, user_metadata = $17, updated_at = $19, \
    credential = CASE WHEN $26 = 1 THEN $23 ELSE credential END, \
    mfa_factors = CASE WHEN $27 = 1 THEN $25 ELSE mfa_factors END \
    WHERE tenant_id = $1 AND user_id = $2 AND connection_id = $3 AND connection_name = $4 \
    AND created_at = $18 AND source = $24 \
    AND ($28 IS NULL OR app_metadata = $28) AND ($29 IS NULL OR user_metadata = $29)";

/// Before a user's row is replaced (`$1` tenant, `$2` user id, `$3` the new
/// email), in the same transaction: a new email voids the brute-force
/// unblock links mailed to the old address, as it closes the reset links —
/// the user's own, and those of blocks counted under the old email's
/// legacy key (`tern_core::attack_protection::legacy_key`, before the user
/// was stored, `$4` its prefix), which name the old address as much.
/// The stored email is the one compared, so every writer (an edit, a legacy
/// login, an import) is covered without knowing the old value.
pub(super) const DROP_UNBLOCK_LINKS_ON_NEW_EMAIL: &str = "UPDATE login_failures SET unblock_hash = NULL \
     WHERE tenant_id = $1 AND unblock_hash IS NOT NULL \
     AND user_id IN ($2, (SELECT $4 || connection_id || ':' || email FROM users \
                          WHERE tenant_id = $1 AND user_id = $2)) \
     AND EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND user_id = $2 \
                 AND email IS DISTINCT FROM $3)";

/// Run [`DROP_UNBLOCK_LINKS_ON_NEW_EMAIL`] for `u` inside `tx`, before its row is replaced.
pub(super) async fn drop_unblock_links_on_new_email(
    tx: &mut sqlx::Transaction<'_, Any>,
    tenant: &str,
    u: &User,
) -> CoreResult<()> {
    sqlx::query(DROP_UNBLOCK_LINKS_ON_NEW_EMAIL)
        .bind(tenant)
        .bind(u.user_id.as_str())
        .bind(u.email.as_deref())
        .bind(LEGACY_KEY_PREFIX)
        .execute(&mut **tx)
        .await
        .map_err(storage)?;
    Ok(())
}

/// How a login name is looked up: `column IN (exact, folded)`, the row
/// holding `exact` preferred (see [`LoginName::Username`]). For an email,
/// and for a username already lower-case, both are the name as given
/// (borrowed, not copied).
pub(super) struct LoginMatch<'a> {
    pub(super) column: &'static str,
    pub(super) exact: &'a str,
    pub(super) folded: Cow<'a, str>,
}

impl<'a> LoginMatch<'a> {
    pub(super) fn of(login: LoginName<'a>) -> Self {
        match login {
            LoginName::Email(email) => Self {
                column: "email",
                exact: email,
                folded: Cow::Borrowed(email),
            },
            LoginName::Username(typed) => Self {
                column: "username",
                exact: typed,
                folded: folded_username(typed),
            },
        }
    }

    /// Of the (at most two) rows found, the one spelled exactly, else the
    /// other.
    pub(super) fn pick<'r>(&self, rows: &'r [AnyRow]) -> CoreResult<Option<&'r AnyRow>> {
        for row in rows {
            let value: Option<String> = row.try_get(self.column).map_err(storage)?;
            if value.as_deref() == Some(self.exact) {
                return Ok(Some(row));
            }
        }
        Ok(rows.first())
    }
}

impl SqlStore {
    /// A connection's user by login name, on the `(tenant_id,
    /// connection_id, email | username)` unique indexes.
    async fn user_of_connection(
        &self,
        tenant: &str,
        connection_id: &str,
        login: LoginName<'_>,
    ) -> CoreResult<Option<User>> {
        let m = LoginMatch::of(login);
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND connection_id = $2 \
             AND {} IN ($3, $4)",
            m.column
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(connection_id)
            .bind(m.exact)
            .bind(m.folded.as_ref())
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        m.pick(&rows)?.map(decode_user).transpose()
    }
}

#[async_trait::async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, tenant: &str, u: &User) -> CoreResult<InsertOutcome> {
        let sql = format!(
            "INSERT INTO users (tenant_id, {USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
        );
        let q = bind_user(sqlx::query(AssertSqlSafe(sql)).bind(tenant), u);
        match q.execute(&self.pool).await {
            Ok(_) => Ok(InsertOutcome::Inserted),
            Err(e) if is_unique_violation(&e) => Ok(InsertOutcome::Duplicate),
            Err(e) => Err(storage(e)),
        }
    }

    async fn get_user(&self, tenant: &str, user_id: &str) -> CoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND user_id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|r| decode_user(&r)).transpose()
    }

    async fn get_user_by_email(
        &self,
        tenant: &str,
        connection_id: &str,
        email: &str,
    ) -> CoreResult<Option<User>> {
        self.user_of_connection(tenant, connection_id, LoginName::Email(email))
            .await
    }

    async fn get_user_by_username(
        &self,
        tenant: &str,
        connection_id: &str,
        username: &str,
    ) -> CoreResult<Option<User>> {
        self.user_of_connection(tenant, connection_id, LoginName::Username(username))
            .await
    }

    async fn users_by_email(&self, tenant: &str, email: &str) -> CoreResult<Vec<User>> {
        // Found through the `lower(email)` index, then compared exactly; the
        // few users (one per connection at most) are sorted here, as an
        // ORDER BY tempted planners into the creation-order index instead.
        let lower = match self.dialect {
            Dialect::Sqlite => "lower(email)",
            Dialect::Postgres => "lower(email COLLATE \"C\")",
        };
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND {lower} = $2 AND email = $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(email.to_ascii_lowercase())
            .bind(email)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        let mut users = rows
            .iter()
            .map(decode_user)
            .collect::<CoreResult<Vec<_>>>()?;
        users.sort_by(|a, b| (&a.created_at, &a.user_id).cmp(&(&b.created_at, &b.user_id)));
        Ok(users)
    }

    async fn update_user(&self, tenant: &str, u: &User) -> CoreResult<Option<InsertOutcome>> {
        // The id and connection never change; every other column is replaced.
        let q = bind_user(sqlx::query(UPDATE_USER).bind(tenant), u);
        match q.execute(&self.pool).await {
            Ok(r) if r.rows_affected() > 0 => Ok(Some(InsertOutcome::Inserted)),
            Ok(_) => Ok(None),
            Err(e) if is_unique_violation(&e) => Ok(Some(InsertOutcome::Duplicate)),
            Err(e) => Err(storage(e)),
        }
    }

    async fn set_first_credential(
        &self,
        tenant: &str,
        connection_id: &str,
        user_id: &str,
        credential: &str,
        app_metadata: &JsonObject,
        user_metadata: &JsonObject,
    ) -> CoreResult<bool> {
        // `credential IS NULL` in the WHERE clause is the atomicity: of two
        // concurrent first logins (or a login and a reset) one writes, the
        // other finds the credential set (PostgreSQL re-checks the row once
        // the first commits; SQLite has one writer). Metadata columns hold
        // `{}` when empty (see `bind_user`).
        let r = sqlx::query(
            "UPDATE users SET credential = $4, updated_at = $5, \
             app_metadata = CASE WHEN app_metadata = '{}' THEN $6 ELSE app_metadata END, \
             user_metadata = CASE WHEN user_metadata = '{}' THEN $7 ELSE user_metadata END \
             WHERE tenant_id = $1 AND connection_id = $2 AND user_id = $3 AND credential IS NULL",
        )
        .bind(tenant)
        .bind(connection_id)
        .bind(user_id)
        .bind(credential)
        .bind(tern_core::clock::now_iso())
        .bind(serde_json::Value::Object(app_metadata.clone()).to_string())
        .bind(serde_json::Value::Object(user_metadata.clone()).to_string())
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn previous_credentials(
        &self,
        tenant: &str,
        user_id: &str,
        limit: usize,
    ) -> CoreResult<Vec<String>> {
        // Written by the `users_credential_history` trigger (migration 0036).
        sqlx::query_scalar(
            "SELECT credential FROM password_history WHERE tenant_id = $1 AND user_id = $2 \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(storage)
    }

    async fn delete_user(&self, tenant: &str, user_id: &str) -> CoreResult<bool> {
        let r = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }

    async fn delete_users_by_email(
        &self,
        tenant: &str,
        connection_id: &str,
        email: &str,
    ) -> CoreResult<u64> {
        let r = sqlx::query(
            "DELETE FROM users WHERE tenant_id = $1 AND connection_id = $2 AND email = $3",
        )
        .bind(tenant)
        .bind(connection_id)
        .bind(email)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected())
    }

    async fn record_login(&self, tenant: &str, login: &LoginRecord<'_>) -> CoreResult<()> {
        // PostgreSQL: one statement, its writes as data-modifying CTEs (run
        // whether or not the final SELECT reads them), committed without
        // waiting for the disk unless the credential changes (`set_config`
        // local to the statement's implicit transaction). SQLite: the same
        // three statements in one string, run by one call on the connection's
        // thread (each commits on its own; WAL with synchronous=NORMAL does
        // not wait for the disk).
        let sql = match self.dialect {
            Dialect::Postgres => {
                "WITH relaxed AS (SELECT set_config('synchronous_commit',                    CASE WHEN $5::text IS NULL THEN 'off' ELSE 'on' END, true)),                  login AS (UPDATE users SET last_login = $3, last_ip = $4,                    logins_count = logins_count + 1, credential = CASE WHEN $12::text IS NULL OR credential = $12::text                      THEN COALESCE($5, credential) ELSE credential END                    WHERE tenant_id = $1 AND user_id = $2),                  forget AS (DELETE FROM login_failures                    WHERE tenant_id = $1 AND user_id = $2 AND ip = $6 AND blocked_at IS NULL),                  logged AS (INSERT INTO logs (tenant_id, id, type, date, body, user_id)                    VALUES ($1, $7, $8, $9, $10, $11))                  SELECT (SELECT 1 FROM relaxed) AS done"
            }
            _ => {
                "UPDATE users SET last_login = $3, last_ip = $4,                    logins_count = logins_count + 1, credential = CASE WHEN $12 IS NULL OR credential = $12                      THEN COALESCE($5, credential) ELSE credential END                    WHERE tenant_id = $1 AND user_id = $2;                  DELETE FROM login_failures                    WHERE tenant_id = $1 AND user_id = $2 AND ip = $6 AND blocked_at IS NULL;                  INSERT INTO logs (tenant_id, id, type, date, body, user_id)                    VALUES ($1, $7, $8, $9, $10, $11)"
            }
        };
        let q = sqlx::query(sql)
            .bind(tenant)
            .bind(login.user_id)
            .bind(login.at)
            .bind(login.ip)
            .bind(login.new_credential)
            .bind(login.forget_failures_from);
        bind_event(q, login.event)
            .bind(login.replaces_credential)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn users_after(
        &self,
        tenant: &str,
        connection_id: Option<&str>,
        after: Option<(&str, &str)>,
        limit: u64,
    ) -> CoreResult<Vec<User>> {
        let sql = keyset_sql(USER_COLUMNS, connection_id.is_some());
        on_export_pool!(self, sql, tenant, after, limit, connection_id, |q, pool| {
            let rows = q.fetch_all(pool).await.map_err(storage)?;
            rows.iter().map(decode_user).collect()
        })
    }

    async fn visit_profiles_after(
        &self,
        tenant: &str,
        connection_id: Option<&str>,
        after: Option<(&str, &str)>,
        limit: u64,
        metadata: MetadataColumns,
        visit: &mut (dyn for<'r> FnMut(ProfileView<'r>) + Send),
    ) -> CoreResult<ProfilesVisited> {
        let sql = keyset_sql(&profile_columns(metadata), connection_id.is_some());
        // PostgreSQL: one statement whose rows are streamed, so the database
        // sends the next rows while this task writes the lines of those
        // already here (a page fetched whole left the database idle while it
        // was encoded, and the encoder while the database read). SQLite:
        // pages fetched whole. Its rows come from a thread of their own, one
        // channel message and one cross-thread allocation and free per row;
        // streamed, that thread and this task waited on each other row by row
        // (an export of a million users with a metadata path took 14.5 s
        // streamed, 5.3–7.3 s in pages).
        let streamed = self.native_pg.is_some();
        let per_query = if streamed {
            limit
        } else {
            SQLITE_PAGE.min(limit)
        };
        let mut visited = ProfilesVisited::default();
        while visited.users < limit {
            let want = per_query.min(limit - visited.users);
            // After the last user visited, or where the caller said at first.
            let from = match &visited.last {
                Some((c, u)) => Some((c.as_str(), u.as_str())),
                None => after,
            };
            let sql = sql.as_str();
            let (users, last) =
                on_export_pool!(self, sql, tenant, from, want, connection_id, |q, pool| {
                    let mut rows = if streamed {
                        q.fetch(pool)
                    } else {
                        let page = q.fetch_all(pool).await.map_err(storage)?;
                        futures_util::stream::iter(page.into_iter().map(Ok)).boxed()
                    };
                    let mut users = 0u64;
                    let mut last = None;
                    while let Some(row) = rows.try_next().await.map_err(storage)? {
                        visit(profile_of(&row)?);
                        users += 1;
                        last = Some(row);
                    }
                    // The last row is kept for its keyset position.
                    let last = match last {
                        Some(row) => {
                            let p = profile_of(&row)?;
                            Some((p.created_at.to_string(), p.user_id.to_string()))
                        }
                        None => None,
                    };
                    CoreResult::Ok((users, last))
                })?;
            visited.users += users;
            if last.is_some() {
                visited.last = last;
            }
            if users < want {
                break;
            }
        }
        Ok(visited)
    }

    async fn search_users(&self, tenant: &str, s: &UserSearch) -> CoreResult<UserPage> {
        self.search_bounded(tenant, s).await
    }
}
