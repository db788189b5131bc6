//! Metadata searches through the side index `user_metadata_values`, on
//! SQLite and PostgreSQL: every write path (a single insert, an update, a
//! delete, an import batch — on PostgreSQL both the COPY one and the
//! set-based one — and an upsert batch) keeps it, and searches that gather
//! their candidates from it (few matches) or walk the sort order (many)
//! answer what a plain walk of each user's JSON, written here, says: the
//! same users in the same order, and totals counted up to the cap.
//!
//! SQLite: a temporary file. PostgreSQL: `TERN_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), in a fresh, uniquely named
//! database dropped afterwards; `TERN_TEST_SKIP_PG=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sqlx::Row;
use tern_core::model::{Job, JobSpec, JobType, LogEvent, Tenant, User};
use tern_core::search::parse_query;
use tern_core::store::prelude::*;
use tern_core::store::{BatchGate, ImportBatch, LoginRecord, UserSearch};
use tern_store::SqlStore;

const TENANT: &str = "ten_metadata";
const JOB: &str = "job_metadata";
const CONN: &str = "con_metadata000000";
/// More than the 2 000 candidates a search gathers first.
const N: usize = 2_100;
const PLANS: [&str; 3] = ["free", "pro", "team"];

fn created(i: usize) -> String {
    format!(
        "2026-01-01T{:02}:{:02}:{:02}.000Z",
        i / 3600,
        (i / 60) % 60,
        i % 60
    )
}

fn long_note(i: usize) -> String {
    format!("{}{i}", "x".repeat(300))
}

fn app(i: usize) -> Value {
    let mut m = json!({
        "plan": PLANS[i % 3],
        "everyone": "yes",
        "tier": i % 7,
        "flags": {"beta": i.is_multiple_of(2)},
        "roles": [format!("r{}", i % 5), {"org": format!("o{}", i % 11)}],
        "a.b": "dotted",
    });
    if i.is_multiple_of(100) {
        m["note"] = json!(long_note(i));
    }
    m
}

fn user_meta(i: usize) -> Value {
    json!({"team": format!("t{}", i % 13), "score": (i % 4) as f64 * 1.5})
}

fn user(i: usize, app: Value, meta: Value) -> User {
    User {
        email: Some(format!("m{i}@example.com")),
        app_metadata: app.as_object().unwrap().clone(),
        user_metadata: meta.as_object().unwrap().clone(),
        ..common::bare_user(format!("auth0|m{i}"), CONN, created(i))
    }
}

/// The scalars at `path` in `doc`, arrays looked through at every level.
fn scalars<'a>(doc: &'a Value, path: &[&str]) -> Vec<&'a Value> {
    match (doc, path) {
        (Value::Array(items), _) => items.iter().flat_map(|v| scalars(v, path)).collect(),
        (v, []) => vec![v],
        (Value::Object(o), [key, rest @ ..]) => {
            o.get(*key).map(|v| scalars(v, rest)).unwrap_or_default()
        }
        _ => vec![],
    }
}

/// What a query of the kinds used here matches, by the rule in the API
/// docs: a string equal (or starting with the prefix), a boolean named, a
/// number numerically equal.
#[derive(Clone, Copy)]
enum Want {
    Eq(&'static str),
    Prefix(&'static str),
}

fn matches(doc: &Value, path: &str, want: Want) -> bool {
    let path: Vec<&str> = path.split('.').collect();
    scalars(doc, &path).into_iter().any(|v| match (want, v) {
        (Want::Eq(w), Value::String(s)) => s == w,
        (Want::Eq(w), Value::Bool(b)) => w == b.to_string(),
        (Want::Eq(w), Value::Number(n)) => w.parse::<f64>().ok() == n.as_f64(),
        (Want::Prefix(p), Value::String(s)) => s.starts_with(p),
        _ => false,
    })
}

/// The users the test wrote: id → (created_at, app_metadata, user_metadata).
type Model = BTreeMap<String, (String, Value, Value)>;

/// A condition of the expected rule: (`app` | `user`, path, what matches).
type Cond = (&'static str, &'static str, Want);

/// The import job (`JOB`, upserting into `db`) whose batches the scenarios
/// apply, with `rows` rows.
async fn insert_upsert_job(store: &SqlStore, rows: u64) {
    let spec = JobSpec {
        kind: JobType::UsersImport,
        connection_id: CONN.into(),
        connection: "db".into(),
        upsert: true,
        upsert_credentials: false,
        assign_roles: false,
        create_roles: false,
        external_id: None,
        send_completion_email: false,
        dry_run: false,
        export: None,
    };
    let job = Job::pending(JOB.into(), spec, created(0));
    assert!(
        store
            .insert_import_job(TENANT, &job, "[]", rows)
            .await
            .unwrap()
    );
}

async fn check(store: &SqlStore, model: &Model, q: &str, conds: &[Cond]) {
    let mut want: Vec<(String, String)> = model
        .iter()
        .filter(|(_, (_, a, u))| {
            conds.iter().all(|(kind, path, w)| {
                let doc = if *kind == "app" { a } else { u };
                matches(doc, path, *w)
            })
        })
        .map(|(id, (c, _, _))| (c.clone(), id.clone()))
        .collect();
    want.sort();
    let all = want.len();
    for offset in [0usize, 40] {
        let page = store
            .search_users(
                TENANT,
                &UserSearch {
                    query: Some(parse_query(q).unwrap()),
                    sort: None,
                    offset: offset as u64,
                    limit: 50,
                    total_up_to: Some(1000),
                    deadline: None,
                },
            )
            .await
            .unwrap();
        let got: Vec<String> = page.users.into_iter().map(|u| u.user_id).collect();
        let expect: Vec<String> = want
            .iter()
            .skip(offset)
            .take(50)
            .map(|(_, id)| id.clone())
            .collect();
        assert_eq!(got, expect, "{q} at {offset}");
        assert_eq!(page.total, all.min(1000) as u64, "{q} total");
    }
}

async fn check_all(store: &SqlStore, model: &Model) {
    use Want::{Eq, Prefix};
    let cases: Vec<(&str, Vec<Cond>)> = vec![
        // Few matches: gathered from the index; the total counted there.
        (
            r#"app_metadata.plan:"pro""#,
            vec![("app", "plan", Eq("pro"))],
        ),
        // Every user: more than the candidates gathered, so the sorted walk;
        // the total still from the index, capped.
        (
            r#"app_metadata.everyone:"yes""#,
            vec![("app", "everyone", Eq("yes"))],
        ),
        ("app_metadata.plan:pr*", vec![("app", "plan", Prefix("pr"))]),
        ("app_metadata.tier:3", vec![("app", "tier", Eq("3"))]),
        (
            "app_metadata.flags.beta:true",
            vec![("app", "flags.beta", Eq("true"))],
        ),
        (
            r#"app_metadata.roles:"r2""#,
            vec![("app", "roles", Eq("r2"))],
        ),
        (
            r#"app_metadata.roles.org:"o4""#,
            vec![("app", "roles.org", Eq("o4"))],
        ),
        (
            "app_metadata.note:xxxxx*",
            vec![("app", "note", Prefix("xxxxx"))],
        ),
        (
            r#"app_metadata.a.b:"dotted""#,
            vec![("app", "a.b", Eq("never"))],
        ),
        (
            "user_metadata.score:1.5",
            vec![("user", "score", Eq("1.5"))],
        ),
        ("user_metadata.score:3", vec![("user", "score", Eq("3"))]),
        (
            r#"user_metadata.team:"t3" AND app_metadata.plan:"free""#,
            vec![("user", "team", Eq("t3")), ("app", "plan", Eq("free"))],
        ),
    ];
    for (q, conds) in &cases {
        check(store, model, q, conds).await;
    }
    // A long string matches whole, never by its first characters only.
    let note = long_note(1200);
    let q = format!("app_metadata.note:\"{note}\"");
    let page = store
        .search_users(
            TENANT,
            &UserSearch {
                query: Some(parse_query(&q).unwrap()),
                sort: None,
                offset: 0,
                limit: 50,
                total_up_to: Some(1000),
                deadline: None,
            },
        )
        .await
        .unwrap();
    let ids: Vec<String> = page.users.into_iter().map(|u| u.user_id).collect();
    assert_eq!(ids, vec!["auth0|m1200".to_string()]);
}

async fn index_rows(store: &SqlStore, user_id: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM user_metadata_values WHERE tenant_id = $1 AND user_id = $2")
        .bind(TENANT)
        .bind(user_id)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0)
}

async fn scenario(store: SqlStore) {
    store
        .insert_tenant(&Tenant {
            id: TENANT.into(),
            name: "metadata".into(),
            created_at: created(0),
        })
        .await
        .unwrap();
    let mut model = Model::new();
    for i in 0..N {
        store
            .insert_user(TENANT, &user(i, app(i), user_meta(i)))
            .await
            .unwrap();
        model.insert(format!("auth0|m{i}"), (created(i), app(i), user_meta(i)));
    }
    check_all(&store, &model).await;

    // An update moves the user's entries; a delete removes them.
    let moved = json!({"plan": "pro", "tier": 3.0, "roles": ["r2"]});
    store
        .update_user(TENANT, &user(4, moved.clone(), json!({})))
        .await
        .unwrap()
        .unwrap();
    model.insert("auth0|m4".into(), (created(4), moved, json!({})));
    assert!(store.delete_user(TENANT, "auth0|m7").await.unwrap());
    model.remove("auth0|m7");
    // A login updates the row but no metadata: its entries stay as they were.
    let before = index_rows(&store, "auth0|m5").await;
    assert!(before > 0);
    store
        .record_login(
            TENANT,
            &LoginRecord {
                user_id: "auth0|m5",
                at: &created(9_000),
                ip: Some("10.0.0.5"),
                new_credential: None,
                replaces_credential: None,
                forget_failures_from: None,
                event: &LogEvent::new("s", "Success Login"),
            },
        )
        .await
        .unwrap();
    assert_eq!(index_rows(&store, "auth0|m5").await, before);
    assert_eq!(index_rows(&store, "auth0|m7").await, 0);
    check_all(&store, &model).await;

    // Import batches: an optimistic one (COPY on PostgreSQL), a planned
    // one, then an upsert replacing a user's metadata.
    insert_upsert_job(&store, 3).await;
    for (b, optimistic) in [(0u64, true), (1, false)] {
        let i = N + b as usize;
        let u = user(i, app(i), user_meta(i));
        model.insert(u.user_id.clone(), (created(i), app(i), user_meta(i)));
        let record = (!optimistic).then(|| json!({"conflict": 0}));
        let batch = ImportBatch {
            inserts: vec![(b, u, record)],
            optimistic,
            processed_rows: b + 1,
            ..ImportBatch::default()
        };
        store
            .apply_import_batch(TENANT, JOB, &batch, BatchGate::opened())
            .await
            .unwrap();
    }
    let replaced = json!({"plan": "team", "everyone": "yes"});
    let batch = ImportBatch {
        updates: vec![user(1, replaced.clone(), json!({"team": "t3"}))],
        processed_rows: 3,
        ..ImportBatch::default()
    };
    store
        .apply_import_batch(TENANT, JOB, &batch, BatchGate::opened())
        .await
        .unwrap();
    model.insert(
        "auth0|m1".into(),
        (created(1), replaced, json!({"team": "t3"})),
    );
    check_all(&store, &model).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_searches_on_sqlite() {
    common::on_sqlite("tern_metadata", scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_searches_on_postgres() {
    common::on_postgres("tern_metadata", scenario).await;
}

/// Before migration 0050 (the update trigger per statement): a tenant and
/// three users whose entries the insert trigger of 0025 wrote.
const BEFORE_ROW_TRIGGER: common::Before = common::Before {
    version: 46,
    sql: "INSERT INTO tenants (id, name, created_at) VALUES ('ten_metadata', 'metadata', '2026-01-01T00:00:00.000Z');
          INSERT INTO users (tenant_id, user_id, connection_id, connection_name, email, app_metadata,
            user_metadata, created_at, updated_at, credential, source) VALUES
          ('ten_metadata', 'auth0|u1', 'con_metadata000000', 'db', 'u1@example.com',
            '{\"plan\":\"pro\",\"tags\":[\"a\",{\"b\":true}]}', '{\"team\":\"x\",\"score\":1.5}',
            '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:01.000Z', 'x', 'bulk_import'),
          ('ten_metadata', 'auth0|u2', 'con_metadata000000', 'db', 'u2@example.com',
            '{}', '{}', '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:02.000Z', NULL, 'bulk_import'),
          ('ten_metadata', 'auth0|u3', 'con_metadata000000', 'db', 'u3@example.com',
            '{\"plan\":\"free\"}', '{\"team\":\"y\"}',
            '2026-01-01T00:00:03.000Z', '2026-01-01T00:00:03.000Z', 'x', 'bulk_import');",
};

/// Entries that differ from what the users' documents give now, either way
/// (0: the side index is exactly its users' entries).
async fn entries_astray(store: &SqlStore) -> i64 {
    let recomputed = "SELECT DISTINCT u.tenant_id, k.kind, e.path, e.token, u.user_id FROM users u \
        CROSS JOIN LATERAL (VALUES ('app', u.app_metadata), ('user', u.user_metadata)) AS k(kind, doc) \
        CROSS JOIN LATERAL tern_metadata_entries(k.doc) e WHERE k.doc <> '{}'";
    let stored = "SELECT tenant_id, kind, path, token, user_id FROM user_metadata_values";
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM ({recomputed} EXCEPT {stored}) AS missing) \
           + (SELECT COUNT(*) FROM ({stored} EXCEPT {recomputed}) AS stale)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0)
}

/// The ids a metadata query finds.
async fn found(store: &SqlStore, q: &str) -> Vec<String> {
    let page = store
        .search_users(
            TENANT,
            &UserSearch {
                query: Some(parse_query(q).unwrap()),
                sort: None,
                offset: 0,
                limit: 50,
                total_up_to: None,
                deadline: None,
            },
        )
        .await
        .unwrap();
    page.users.into_iter().map(|u| u.user_id).collect()
}

/// Migration 0050 on a database with users and entries from before it:
/// every kind of user write keeps the side index exactly what its users'
/// documents give — a replacement of the metadata (`PATCH`, blocking with
/// it), a profile write that keeps the credential, a lazy migration's
/// first credential with its metadata, an import's upsert, and the writes
/// that touch no metadata (a login, a new password, MFA factors).
async fn upgraded_scenario(store: SqlStore) {
    assert_eq!(entries_astray(&store).await, 0, "the upgrade keeps them");
    let stored = |id: &str| {
        let store = store.clone();
        let id = id.to_string();
        async move { store.get_user(TENANT, &id).await.unwrap().unwrap() }
    };
    // Replaced (`PATCH /users/{id}` with metadata).
    let mut u1 = stored("auth0|u1").await;
    u1.app_metadata = json!({"plan": "team", "tags": ["a"]})
        .as_object()
        .unwrap()
        .clone();
    store.update_user(TENANT, &u1).await.unwrap().unwrap();
    assert_eq!(entries_astray(&store).await, 0, "replaced");
    assert_eq!(
        found(&store, "app_metadata.plan:\"team\"").await,
        ["auth0|u1"]
    );
    assert!(found(&store, "app_metadata.plan:\"pro\"").await.is_empty());
    assert!(found(&store, "app_metadata.tags.b:true").await.is_empty());
    // Blocked, with new user metadata, through the profile write.
    let mut u3 = stored("auth0|u3").await;
    u3.blocked = true;
    u3.user_metadata = json!({"team": "z"}).as_object().unwrap().clone();
    let write = tern_core::store::ProfileWrite {
        credential: false,
        mfa_factors: false,
        close_tickets: true,
        end_sessions: true,
        metadata: None,
    };
    store.update_profile(TENANT, &u3, write).await.unwrap();
    assert_eq!(entries_astray(&store).await, 0, "profile write");
    assert_eq!(
        found(&store, "user_metadata.team:\"z\"").await,
        ["auth0|u3"]
    );
    // Blocked again, metadata as it was: nothing moves.
    u3.blocked = false;
    store.update_user(TENANT, &u3).await.unwrap().unwrap();
    assert_eq!(entries_astray(&store).await, 0, "no metadata change");
    // A lazy migration's first credential brings the legacy metadata.
    let app = json!({"plan": "legacy"}).as_object().unwrap().clone();
    let user = json!({"team": "x"}).as_object().unwrap().clone();
    assert!(
        store
            .set_first_credential(TENANT, CONN, "auth0|u2", "hash", &app, &user)
            .await
            .unwrap()
    );
    assert_eq!(entries_astray(&store).await, 0, "lazy migration");
    assert_eq!(
        found(&store, "app_metadata.plan:\"legacy\"").await,
        ["auth0|u2"]
    );
    assert_eq!(
        found(&store, "user_metadata.team:\"x\"").await,
        ["auth0|u1", "auth0|u2"]
    );
    // A login, a new password, MFA factors: no metadata written.
    store
        .record_login(
            TENANT,
            &LoginRecord {
                user_id: "auth0|u1",
                at: &created(9_000),
                ip: Some("10.0.0.5"),
                new_credential: Some("rehashed"),
                replaces_credential: None,
                forget_failures_from: None,
                event: &LogEvent::new("s", "Success Login"),
            },
        )
        .await
        .unwrap();
    let mut u1 = stored("auth0|u1").await;
    u1.credential = Some("new".into());
    store.update_user(TENANT, &u1).await.unwrap().unwrap();
    // A rehash replaces only the credential it was made from: a password
    // changed since (a reset while a hosted login waited) stays.
    for (replaces, now) in [("rehashed", "new"), ("new", "rehashed-again")] {
        store
            .record_login(
                TENANT,
                &LoginRecord {
                    user_id: "auth0|u1",
                    at: &created(9_001),
                    ip: None,
                    new_credential: Some("rehashed-again"),
                    replaces_credential: Some(replaces),
                    forget_failures_from: None,
                    event: &LogEvent::new("s", "Success Login"),
                },
            )
            .await
            .unwrap();
        assert_eq!(stored("auth0|u1").await.credential.as_deref(), Some(now));
    }
    assert!(
        store
            .replace_mfa_factors(TENANT, "auth0|u1", &[], &[json!({"id": "f1"})])
            .await
            .unwrap()
    );
    assert_eq!(entries_astray(&store).await, 0, "writes without metadata");
    // An import's upsert replaces a user's metadata.
    insert_upsert_job(&store, 1).await;
    let mut u3 = stored("auth0|u3").await;
    u3.app_metadata = json!({"plan": "imported"}).as_object().unwrap().clone();
    u3.user_metadata = Default::default();
    let batch = ImportBatch {
        updates: vec![u3],
        processed_rows: 1,
        ..ImportBatch::default()
    };
    store
        .apply_import_batch(TENANT, JOB, &batch, BatchGate::opened())
        .await
        .unwrap();
    assert_eq!(entries_astray(&store).await, 0, "import upsert");
    assert_eq!(
        found(&store, "app_metadata.plan:\"imported\"").await,
        ["auth0|u3"]
    );
    assert!(found(&store, "user_metadata.team:\"z\"").await.is_empty());
    assert!(store.delete_user(TENANT, "auth0|u1").await.unwrap());
    assert_eq!(entries_astray(&store).await, 0, "deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_follows_every_update_after_the_row_trigger_upgrade() {
    common::on_postgres_before(
        "tern_metadata_up",
        Some(BEFORE_ROW_TRIGGER),
        upgraded_scenario,
    )
    .await;
}
