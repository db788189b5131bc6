#![allow(clippy::unwrap_used)]
//! The `pg` module against the local PostgreSQL (127.0.0.1:5432, user postgres, trust),
//! with Auth0's published PostgreSQL templates. Each run uses its own database.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
use tern_script::{
    CallbackResult, ErrorKind, Network, NetworkPolicy, ScriptEnv, ScriptLimits, ScriptName,
    ScriptRun, run,
};

/// Python `bcrypt` 5.0.0: `bcrypt.hashpw(b"correct horse battery staple", bcrypt.gensalt(rounds=10))`.
const PY_BCRYPT: &str = "$2b$10$9sBZVDj11OEqipBiI715VerP/.GvqOoa3Fwe1HTEt1oym933Z1tJC";

/// Auth0's PostgreSQL login template; only the connection string differs.
const LOGIN: &str = r#"function login(email, password, callback) {
  //this example uses the "pg" library
  //more info here: https://github.com/brianc/node-postgres

  const bcrypt = require('bcrypt');
  const postgres = require('pg');

  const conString = configuration.PG_URL;
  postgres.connect(conString, function (err, client, done) {
    if (err) return callback(err);

    const query = 'SELECT id, nickname, email, password FROM users WHERE email = $1';
    client.query(query, [email], function (err, result) {
      // NOTE: always call `done()` here to close
      // the connection to the database
      done();

      if (err || result.rows.length === 0) return callback(err || new WrongUsernameOrPasswordError(email));

      const user = result.rows[0];

      bcrypt.compare(password, user.password, function (err, isValid) {
        if (err || !isValid) return callback(err || new WrongUsernameOrPasswordError(email));

        return callback(null, {
          user_id: user.id,
          nickname: user.nickname,
          email: user.email
        });
      });
    });
  });
}"#;

/// Auth0's PostgreSQL get_user template.
const GET_USER: &str = r#"function loginByEmail(email, callback) {
  //this example uses the "pg" library
  //more info here: https://github.com/brianc/node-postgres

  const postgres = require('pg');

  const conString = configuration.PG_URL;
  postgres.connect(conString, function (err, client, done) {
    if (err) return callback(err);

    const query = 'SELECT id, nickname, email FROM users WHERE email = $1';
    client.query(query, [email], function (err, result) {
      // NOTE: always call `done()` here to close
      // the connection to the database
      done();

      if (err || result.rows.length === 0) return callback(err);

      const user = result.rows[0];

      return callback(null, {
        user_id: user.id,
        nickname: user.nickname,
        email: user.email
      });
    });
  });
}"#;

/// Auth0's PostgreSQL create template.
const CREATE: &str = r#"function create(user, callback) {
  //this example uses the "pg" library
  //more info here: https://github.com/brianc/node-postgres

  const bcrypt = require('bcrypt');
  const postgres = require('pg');

  const conString = configuration.PG_URL;
  postgres.connect(conString, function (err, client, done) {
    if (err) return callback(err);

    bcrypt.hash(user.password, 10, function (err, hashedPassword) {
      if (err) return callback(err);

      const query = 'INSERT INTO users(email, password) VALUES ($1, $2)';
      client.query(query, [user.email, hashedPassword], function (err, result) {
        // NOTE: always call `done()` here to close
        // the connection to the database
        done();

        return callback(err);
      });
    });
  });
}"#;

/// A modern async script: `new Client`, promise queries, type inference and conversions.
const TYPES: &str = r#"async function getUser(email, callback) {
  const { Client } = require('pg@8.11.3');
  const client = new Client({ connectionString: configuration.PG_URL });
  await client.connect();
  const byId = await client.query('SELECT email FROM users WHERE id = $1', ['1']);
  const any = await client.query({ text: 'SELECT id FROM users WHERE id = ANY($1) ORDER BY id', values: [[1, 2, 99]] });
  const r = (await client.query('SELECT * FROM users WHERE email = $1', [email])).rows[0];
  const upd = await client.query('UPDATE users SET meta = $1, created_at = $2 WHERE uid = $3', [{ plan: 'silver' }, new Date(86400000), r.uid]);
  const after = (await client.query('SELECT meta, created_at, tags FROM users WHERE uid = $1::uuid', [r.uid])).rows[0];
  const inj = await client.query('SELECT count(*) AS n FROM users WHERE email = $1', ["' OR '1'='1"]);
  let err = null;
  try { await client.query('INSERT INTO users(email) VALUES ($1)', [email]); } catch (e) { err = [e.code, e.constraint]; }
  await client.end();
  callback(null, {
    byId: byId.rows[0].email, any: any.rows.map(x => x.id), command: upd.command, updated: upd.rowCount,
    created: r.created_at instanceof Date ? r.created_at.toISOString() : null, balance: r.balance,
    avatar: Buffer.isBuffer(r.avatar) ? r.avatar.toString('hex') : null, active: r.active, meta: r.meta,
    big: r.big, uid: typeof r.uid, tags: after.tags, after: [after.meta, after.created_at.toISOString()],
    injection: inj.rows[0].n, err,
  });
}"#;

async fn admin(db: &str) -> PgConnection {
    PgConnection::connect(&format!("postgres://postgres@127.0.0.1:5432/{db}"))
        .await
        .unwrap()
}

fn env(db: &str) -> ScriptEnv {
    let mut configuration = BTreeMap::new();
    configuration.insert(
        "PG_URL".to_owned(),
        format!("postgres://postgres@127.0.0.1:5432/{db}"),
    );
    ScriptEnv {
        configuration,
        network: Network::new(NetworkPolicy::new(&["127.0.0.1:5432"]).unwrap()),
        limits: ScriptLimits {
            timeout: Duration::from_secs(15),
            ..ScriptLimits::default()
        },
        ..ScriptEnv::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_templates() {
    let db = format!("tern_script_{}", uuid::Uuid::new_v4().simple());
    let mut root = admin("postgres").await;
    root.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .await
        .unwrap();
    let mut conn = admin(&db).await;
    conn.execute(
        "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, nickname TEXT, password TEXT,
         created_at TIMESTAMPTZ, balance NUMERIC(10,2), avatar BYTEA, active BOOL, meta JSONB,
         uid UUID NOT NULL DEFAULT md5(random()::text)::uuid, big BIGINT, tags TEXT[])",
    )
    .await
    .unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "INSERT INTO users (email, nickname, password, created_at, balance, avatar, active, meta, big, tags)
         VALUES ('jane@example.com', 'jane', '{PY_BCRYPT}', '2024-01-02 03:04:05.678+00', 12.50, '\\xcafe', true,
                 '{{\"plan\":\"gold\"}}', 9007199254740993, ARRAY['a','b'])"
    )))
    .await
    .unwrap();

    let e = env(&db);
    let args = |a: &[&str]| a.iter().map(|s| Value::from(*s)).collect::<Vec<_>>();
    let results: Vec<(&str, ScriptRun)> = vec![
        (
            "login ok",
            run(
                LOGIN,
                ScriptName::Login,
                args(&["jane@example.com", "correct horse battery staple"]),
                &e,
            )
            .await,
        ),
        (
            "login bad password",
            run(
                LOGIN,
                ScriptName::Login,
                args(&["jane@example.com", "nope"]),
                &e,
            )
            .await,
        ),
        (
            "get_user found",
            run(
                GET_USER,
                ScriptName::GetUser,
                args(&["jane@example.com"]),
                &e,
            )
            .await,
        ),
        (
            "get_user missing",
            run(
                GET_USER,
                ScriptName::GetUser,
                args(&["bob@example.com"]),
                &e,
            )
            .await,
        ),
        (
            "create",
            run(
                CREATE,
                ScriptName::Create,
                vec![json!({"email": "new@example.com", "password": "N3w!"})],
                &e,
            )
            .await,
        ),
        (
            "create duplicate",
            run(
                CREATE,
                ScriptName::Create,
                vec![json!({"email": "new@example.com", "password": "x"})],
                &e,
            )
            .await,
        ),
        (
            "login created",
            run(
                LOGIN,
                ScriptName::Login,
                args(&["new@example.com", "N3w!"]),
                &e,
            )
            .await,
        ),
        (
            "types",
            run(TYPES, ScriptName::GetUser, args(&["jane@example.com"]), &e).await,
        ),
    ];
    drop(conn);
    root.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .await
    .unwrap();

    let outcome = |name: &str| {
        let r = &results.iter().find(|(n, _)| *n == name).unwrap().1;
        (r.outcome.clone(), r.console.clone())
    };
    // node-postgres returns int4 as a number, and the template passes it through.
    assert_eq!(
        outcome("login ok").0,
        Ok(CallbackResult::Value(Some(
            json!({"user_id": 1, "nickname": "jane", "email": "jane@example.com"})
        )))
    );
    match outcome("login bad password").0 {
        Ok(CallbackResult::Error(err)) => {
            assert_eq!(
                err.kind,
                ErrorKind::WrongUsernameOrPassword {
                    user: Some("jane@example.com".into())
                }
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(outcome("get_user found").0, Ok(CallbackResult::Value(Some(ref v))) if v["user_id"] == 1)
    );
    assert_eq!(
        outcome("get_user missing").0,
        Ok(CallbackResult::Value(None))
    );
    assert_eq!(outcome("create").0, Ok(CallbackResult::Value(None)));
    match outcome("create duplicate").0 {
        Ok(CallbackResult::Error(err)) => assert!(err.message.contains("duplicate key"), "{err:?}"),
        other => panic!("create duplicate: {other:?}"),
    }
    assert!(
        matches!(outcome("login created").0, Ok(CallbackResult::Value(Some(ref v))) if v["user_id"] == 2)
    );
    assert_eq!(
        outcome("types").0,
        Ok(CallbackResult::Value(Some(json!({
            "byId": "jane@example.com", "any": [1, 2], "command": "UPDATE", "updated": 1,
            "created": "2024-01-02T03:04:05.678Z", "balance": "12.50", "avatar": "cafe", "active": true,
            "meta": {"plan": "gold"}, "big": "9007199254740993", "uid": "string", "tags": ["a", "b"],
            "after": [{"plan": "silver"}, "1970-01-02T00:00:00.000Z"], "injection": "0",
            "err": ["23505", "users_email_key"],
        })))),
        "{:?}",
        outcome("types").1
    );
}
