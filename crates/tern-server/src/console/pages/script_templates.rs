//! Starting points for the script editor, in the shape of Auth0's
//! custom-database templates (the same signatures, modules and callback
//! contracts — `pg`, `mysql`, `request`, `bcrypt`, `WrongUsernameOrPasswordError`
//! — written for Tern): an operator loads one, adapts the table and
//! column names, and presses Try. `noop` is the cut-over script: the
//! legacy store is no longer asked and unknown users are simply unknown.

use tern_script::ScriptName;

/// A template family, as the "Load template" list offers it.
pub struct Family {
    /// Its key in the form (`?template=`).
    pub key: &'static str,
    /// What the operator reads.
    pub label: &'static str,
}

/// The families, in the order offered.
pub const FAMILIES: &[Family] = &[
    Family {
        key: "postgres",
        label: "PostgreSQL (configuration.PG_URL)",
    },
    Family {
        key: "mysql",
        label: "MySQL / MariaDB (configuration.MYSQL_*)",
    },
    Family {
        key: "webapi",
        label: "Web API (configuration.API_URL, API_TOKEN)",
    },
    Family {
        key: "noop",
        label: "No legacy store (after the migration)",
    },
];

/// The template of `family` for `script`, if the family has one.
pub fn template(family: &str, script: ScriptName) -> Option<&'static str> {
    use ScriptName as S;
    Some(match (family, script) {
        ("postgres", S::Login) => PG_LOGIN,
        ("postgres", S::GetUser) => PG_GET_USER,
        ("postgres", S::Create) => PG_CREATE,
        ("postgres", S::Verify) => PG_VERIFY,
        ("postgres", S::ChangePassword) => PG_CHANGE_PASSWORD,
        ("postgres", S::Delete) => PG_DELETE,
        ("postgres", S::ChangeEmail) => PG_CHANGE_EMAIL,
        ("mysql", S::Login) => MYSQL_LOGIN,
        ("mysql", S::GetUser) => MYSQL_GET_USER,
        ("webapi", S::Login) => API_LOGIN,
        ("webapi", S::GetUser) => API_GET_USER,
        ("noop", S::Login) => NOOP_LOGIN,
        ("noop", S::GetUser) => NOOP_GET_USER,
        _ => return None,
    })
}

const PG_LOGIN: &str = r#"function login(email, password, callback) {
  // The legacy users table: adapt the query to yours.
  const bcrypt = require('bcrypt');
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    const query = 'SELECT id, nickname, email, password FROM users WHERE email = $1';
    client.query(query, [email], function (err, result) {
      done();
      if (err) return callback(err);
      if (result.rows.length === 0) return callback(new WrongUsernameOrPasswordError(email));
      const user = result.rows[0];
      bcrypt.compare(password, user.password, function (err, isValid) {
        if (err) return callback(err);
        if (!isValid) return callback(new WrongUsernameOrPasswordError(email));
        callback(null, { user_id: user.id, nickname: user.nickname, email: user.email });
      });
    });
  });
}
"#;

const PG_GET_USER: &str = r#"function getByEmail(email, callback) {
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    const query = 'SELECT id, nickname, email FROM users WHERE email = $1';
    client.query(query, [email], function (err, result) {
      done();
      if (err) return callback(err);
      if (result.rows.length === 0) return callback(null);
      const user = result.rows[0];
      callback(null, { user_id: user.id, nickname: user.nickname, email: user.email });
    });
  });
}
"#;

const PG_CREATE: &str = r#"function create(user, callback) {
  const bcrypt = require('bcrypt');
  const postgres = require('pg');
  bcrypt.hash(user.password, 10, function (err, hash) {
    if (err) return callback(err);
    postgres.connect(configuration.PG_URL, function (err, client, done) {
      if (err) return callback(err);
      const query = 'INSERT INTO users (email, password) VALUES ($1, $2)';
      client.query(query, [user.email, hash], function (err) {
        done();
        callback(err || null);
      });
    });
  });
}
"#;

const PG_VERIFY: &str = r#"function verify(email, callback) {
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    const query = 'UPDATE users SET email_verified = true WHERE email = $1 AND email_verified = false';
    client.query(query, [email], function (err, result) {
      done();
      callback(err || null, result && result.rowCount > 0);
    });
  });
}
"#;

const PG_CHANGE_PASSWORD: &str = r#"function changePassword(email, newPassword, callback) {
  const bcrypt = require('bcrypt');
  const postgres = require('pg');
  bcrypt.hash(newPassword, 10, function (err, hash) {
    if (err) return callback(err);
    postgres.connect(configuration.PG_URL, function (err, client, done) {
      if (err) return callback(err);
      const query = 'UPDATE users SET password = $1 WHERE email = $2';
      client.query(query, [hash, email], function (err, result) {
        done();
        callback(err || null, result && result.rowCount > 0);
      });
    });
  });
}
"#;

const PG_DELETE: &str = r#"function remove(id, callback) {
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    client.query('DELETE FROM users WHERE id = $1', [id], function (err) {
      done();
      callback(err || null);
    });
  });
}
"#;

const PG_CHANGE_EMAIL: &str = r#"function changeEmail(email, newEmail, verified, callback) {
  const postgres = require('pg');
  postgres.connect(configuration.PG_URL, function (err, client, done) {
    if (err) return callback(err);
    const query = 'UPDATE users SET email = $1, email_verified = $2 WHERE email = $3';
    client.query(query, [newEmail, verified, email], function (err, result) {
      done();
      callback(err || null, result && result.rowCount > 0);
    });
  });
}
"#;

const MYSQL_LOGIN: &str = r#"function login(email, password, callback) {
  const bcrypt = require('bcrypt');
  const mysql = require('mysql');
  const connection = mysql.createConnection({
    host: configuration.MYSQL_HOST,
    user: configuration.MYSQL_USER,
    password: configuration.MYSQL_PASSWORD,
    database: configuration.MYSQL_DATABASE
  });
  connection.connect();
  const query = 'SELECT id, nickname, email, password FROM users WHERE email = ?';
  connection.query(query, [email], function (err, results) {
    if (err) return callback(err);
    if (results.length === 0) return callback(new WrongUsernameOrPasswordError(email));
    const user = results[0];
    bcrypt.compare(password, user.password, function (err, isValid) {
      if (err) return callback(err);
      if (!isValid) return callback(new WrongUsernameOrPasswordError(email));
      callback(null, { user_id: String(user.id), nickname: user.nickname, email: user.email });
    });
  });
}
"#;

const MYSQL_GET_USER: &str = r#"function getByEmail(email, callback) {
  const mysql = require('mysql');
  const connection = mysql.createConnection({
    host: configuration.MYSQL_HOST,
    user: configuration.MYSQL_USER,
    password: configuration.MYSQL_PASSWORD,
    database: configuration.MYSQL_DATABASE
  });
  connection.connect();
  const query = 'SELECT id, nickname, email FROM users WHERE email = ?';
  connection.query(query, [email], function (err, results) {
    if (err) return callback(err);
    if (results.length === 0) return callback(null);
    const user = results[0];
    callback(null, { user_id: String(user.id), nickname: user.nickname, email: user.email });
  });
}
"#;

const API_LOGIN: &str = r#"function login(email, password, callback) {
  const request = require('request');
  request.post({
    url: configuration.API_URL + '/login',
    headers: { authorization: 'Bearer ' + configuration.API_TOKEN },
    json: { username: email, password: password }
  }, function (err, response, body) {
    if (err) return callback(err);
    if (response.statusCode === 401) return callback(new WrongUsernameOrPasswordError(email));
    if (response.statusCode !== 200) return callback(new Error('legacy API answered ' + response.statusCode));
    callback(null, { user_id: String(body.id), email: body.email, name: body.name });
  });
}
"#;

const API_GET_USER: &str = r#"function getByEmail(email, callback) {
  const request = require('request');
  request.get({
    url: configuration.API_URL + '/users',
    qs: { email: email },
    headers: { authorization: 'Bearer ' + configuration.API_TOKEN },
    json: true
  }, function (err, response, body) {
    if (err) return callback(err);
    if (response.statusCode === 404) return callback(null);
    if (response.statusCode !== 200) return callback(new Error('legacy API answered ' + response.statusCode));
    callback(null, { user_id: String(body.id), email: body.email, name: body.name });
  });
}
"#;

const NOOP_LOGIN: &str = r#"function login(email, password, context, callback) {
  // The migration is over: users who never signed in are unknown.
  // (Without the context object, the callback comes third.)
  (callback || context)(new WrongUsernameOrPasswordError(email));
}
"#;

const NOOP_GET_USER: &str = r#"function getByEmail(email, context, callback) {
  // The migration is over: the legacy store has nobody left to offer.
  // (Without the context object, the callback comes second.)
  (callback || context)(null);
}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legacy_script::SCRIPT_NAMES;

    #[test]
    fn every_script_has_a_postgres_template_and_login_every_family() {
        for name in SCRIPT_NAMES {
            assert!(template("postgres", name).is_some(), "{}", name.key());
        }
        for f in FAMILIES {
            assert!(template(f.key, ScriptName::Login).is_some(), "{}", f.key);
            assert!(template(f.key, ScriptName::GetUser).is_some(), "{}", f.key);
        }
        assert!(template("nope", ScriptName::Login).is_none());
    }
}
