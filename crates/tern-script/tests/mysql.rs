#![allow(clippy::unwrap_used)]
//! The `mysql` module against the local MariaDB (127.0.0.1:3306, root, no password), with
//! Auth0's published MySQL templates. Each run uses its own database, dropped at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::{Connection, Executor, MySqlConnection};
use tern_script::{
    CallbackResult, ErrorKind, Network, NetworkPolicy, ScriptEnv, ScriptLimits, ScriptName,
    ScriptRun, run,
};

/// Python `bcrypt` 5.0.0: `bcrypt.hashpw(b"correct horse battery staple", bcrypt.gensalt(rounds=10))`.
const PY_BCRYPT: &str = "$2b$10$9sBZVDj11OEqipBiI715VerP/.GvqOoa3Fwe1HTEt1oym933Z1tJC";

/// Auth0's MySQL login template; only the connection settings differ.
const LOGIN: &str = r#"function login(email, password, callback) {
  const mysql = require('mysql');
  const bcrypt = require('bcrypt');

  const connection = mysql.createConnection({
    host: '127.0.0.1',
    user: 'root',
    password: '',
    database: configuration.DB
  });

  connection.connect();

  const query = 'SELECT id, nickname, email, password FROM users WHERE email = ?';

  connection.query(query, [ email ], function(err, results) {
    if (err) return callback(err);
    if (results.length === 0) return callback(new WrongUsernameOrPasswordError(email));
    const user = results[0];

    bcrypt.compare(password, user.password, function(err, isValid) {
      if (err || !isValid) return callback(err || new WrongUsernameOrPasswordError(email));

      callback(null, {
        user_id: user.id.toString(),
        nickname: user.nickname,
        email: user.email
      });
    });
  });
}"#;

/// Auth0's MySQL get_user template.
const GET_USER: &str = r#"function getByEmail(email, callback) {
  const mysql = require('mysql');

  const connection = mysql.createConnection({
    host: '127.0.0.1',
    user: 'root',
    password: '',
    database: configuration.DB
  });

  connection.connect();

  const query = 'SELECT id, nickname, email FROM users WHERE email = ?';

  connection.query(query, [ email ], function(err, results) {
    if (err || results.length === 0) return callback(err || null);

    const user = results[0];
    callback(null, {
      user_id: user.id.toString(),
      nickname: user.nickname,
      email: user.email
    });
  });
}"#;

/// Auth0's MySQL create template.
const CREATE: &str = r#"function create(user, callback) {
  const mysql = require('mysql');
  const bcrypt = require('bcrypt');

  const connection = mysql.createConnection({
    host: '127.0.0.1',
    user: 'root',
    password: '',
    database: configuration.DB
  });

  connection.connect();

  const query = 'INSERT INTO users SET ?';

  bcrypt.hash(user.password, 10, function(err, hash) {
    if (err) return callback(err);

    const insert = {
      password: hash,
      email: user.email
    };

    connection.query(query, insert, function(err, results) {
      if (err) return callback(err);
      if (results.length === 0) return callback();
      callback(null);
    });
  });
}"#;

const TYPES: &str = r#"function getByEmail(email, callback) {
  const connection = mysql.createConnection('mysql://root@127.0.0.1:3306/' + configuration.DB);
  connection.query('SELECT ?? AS who, created_at, balance, avatar, active, meta, id FROM users WHERE id IN (?) ORDER BY id',
    ['email', [1, 2, 3]], function (err, rows, fields) {
      if (err) return callback(err);
      const r = rows[0];
      connection.query("SELECT COUNT(*) AS n FROM users WHERE email = ?", ["' OR '1'='1"], function (err2, inj) {
        if (err2) return callback(err2);
        connection.query('UPDATE users SET nickname = ? WHERE email = ?', ['jj', email], function (err3, ok) {
          if (err3) return callback(err3);
          callback(null, {
            count: rows.length, who: r.who, created: r.created_at instanceof Date ? r.created_at.toISOString() : String(r.created_at),
            balance: r.balance, avatar: Buffer.isBuffer(r.avatar) ? r.avatar.toString('hex') : null, active: r.active,
            meta: r.meta, fields: fields.map(f => f.name), injection: inj[0].n, affected: ok.affectedRows,
          });
        });
      });
    });
}"#;

async fn admin() -> MySqlConnection {
    MySqlConnection::connect("mysql://root@127.0.0.1:3306/")
        .await
        .unwrap()
}

fn env(db: &str) -> ScriptEnv {
    let mut configuration = BTreeMap::new();
    configuration.insert("DB".to_owned(), db.to_owned());
    ScriptEnv {
        configuration,
        network: Network::new(NetworkPolicy::new(&["127.0.0.1:3306"]).unwrap()),
        limits: ScriptLimits {
            timeout: Duration::from_secs(15),
            ..ScriptLimits::default()
        },
        ..ScriptEnv::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_templates() {
    let db = format!("tern_script_{}", uuid::Uuid::new_v4().simple());
    let mut conn = admin().await;
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{db}`")))
        .await
        .unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE `{db}`.users (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(255) NOT NULL UNIQUE,
         nickname VARCHAR(255), password VARCHAR(255), created_at DATETIME(3), balance DECIMAL(10,2),
         avatar BLOB, active TINYINT(1), meta JSON)"
    )))
    .await
    .unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "INSERT INTO `{db}`.users (email, nickname, password, created_at, balance, avatar, active, meta)
         VALUES ('jane@example.com', 'jane', '{PY_BCRYPT}', '2024-01-02 03:04:05.678', 12.50, X'CAFE', 1, '{{\"plan\":\"gold\"}}')"
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
            "login unknown",
            run(
                LOGIN,
                ScriptName::Login,
                args(&["bob@example.com", "x"]),
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
    let stored: Option<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT password FROM `{db}`.users WHERE email = 'new@example.com'"
    )))
    .fetch_optional(&mut conn)
    .await
    .unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE `{db}`")))
        .await
        .unwrap();

    let outcome = |name: &str| {
        let r = &results.iter().find(|(n, _)| *n == name).unwrap().1;
        (r.outcome.clone(), r.console.clone())
    };
    assert_eq!(
        outcome("login ok").0,
        Ok(CallbackResult::Value(Some(
            json!({"user_id": "1", "nickname": "jane", "email": "jane@example.com"})
        )))
    );
    for name in ["login bad password", "login unknown"] {
        match outcome(name).0 {
            Ok(CallbackResult::Error(err)) => assert!(
                matches!(err.kind, ErrorKind::WrongUsernameOrPassword { user: Some(ref u) } if u.ends_with("@example.com")),
                "{name}: {err:?}"
            ),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(
        matches!(outcome("get_user found").0, Ok(CallbackResult::Value(Some(ref v))) if v["user_id"] == "1")
    );
    assert_eq!(
        outcome("get_user missing").0,
        Ok(CallbackResult::Value(None))
    );
    assert_eq!(outcome("create").0, Ok(CallbackResult::Value(None)));
    match outcome("create duplicate").0 {
        Ok(CallbackResult::Error(err)) => {
            assert!(err.message.starts_with("ER_DUP_ENTRY"), "{err:?}")
        }
        other => panic!("create duplicate: {other:?}"),
    }
    let hash = stored.unwrap().0;
    assert!(bcrypt::verify("N3w!", &hash).unwrap(), "{hash}");
    assert!(
        matches!(outcome("login created").0, Ok(CallbackResult::Value(Some(ref v))) if v["user_id"] == "2")
    );
    assert_eq!(
        outcome("types").0,
        Ok(CallbackResult::Value(Some(json!({
            "count": 2, "who": "jane@example.com", "created": "2024-01-02T03:04:05.678Z", "balance": 12.5,
            "avatar": "cafe", "active": 1, "meta": "{\"plan\":\"gold\"}",
            "fields": ["who", "created_at", "balance", "avatar", "active", "meta", "id"], "injection": 0, "affected": 1,
        })))),
        "{:?}",
        outcome("types").1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_errors_reach_the_script() {
    let e = env("tern_script_does_not_exist");
    let r = run(
        "function (email, callback) { const c = mysql.createConnection({host: '127.0.0.1', user: 'root', database: configuration.DB}); c.connect(function (err) { callback(null, err ? err.code : 'connected'); }); }",
        ScriptName::GetUser,
        vec!["x".into()],
        &e,
    )
    .await;
    assert_eq!(
        r.outcome,
        Ok(CallbackResult::Value(Some(json!("ER_BAD_DB_ERROR"))))
    );
    let r = run(
        "function (email, callback) { const c = mysql.createConnection({host: '127.0.0.1', user: 'root'}); c.query('SELEC 1', function (err) { c.end(); callback(null, [err.code, err.errno, typeof err.sqlMessage]); }); }",
        ScriptName::GetUser,
        vec!["x".into()],
        &e,
    )
    .await;
    assert_eq!(
        r.outcome,
        Ok(CallbackResult::Value(Some(json!([
            "ER_PARSE_ERROR",
            1064,
            "string"
        ]))))
    );
}
