//! MySQL/MariaDB for the `mysql` module (sqlx, server-side prepared statements).
//!
//! mysqljs-style placeholders are expanded here, not by string interpolation: each `?`
//! becomes a bound parameter (arrays become `?, ?, …`, nested arrays `(?, ?), (…)`,
//! objects `` `key` = ?, … `` as in `INSERT … SET ?`); `??` takes an identifier, which is
//! backtick-quoted. Rows come back like mysqljs returns them: numbers for integer and
//! decimal columns, `Date`s for date/time columns, `Buffer`s for binary ones.

use base64::Engine;
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use sqlx::mysql::{
    MySqlArguments, MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlSslMode,
};
use sqlx::{
    Arguments, AssertSqlSafe, Column, ConnectOptions, Connection, Executor, Row, SqlSafeStr,
    Statement, TypeInfo,
};

use super::budget::Budget;
use super::io::OpError;
use super::sql::{DbConfig, Driver, Param, date_from_ms, sqlx_error, too_many_rows};

/// Opens a connection (TLS only when the settings ask for it).
pub(crate) async fn connect(cfg: &DbConfig) -> Result<MySqlConnection, OpError> {
    let mut opts = MySqlConnectOptions::new()
        .host(&cfg.host)
        .port(cfg.port)
        .username(&cfg.user)
        .ssl_mode(if cfg.ssl {
            MySqlSslMode::Required
        } else {
            MySqlSslMode::Disabled
        });
    if let Some(p) = &cfg.password {
        opts = opts.password(p);
    }
    if let Some(d) = &cfg.database {
        opts = opts.database(d);
    }
    let opts = opts.disable_statement_logging();
    MySqlConnection::connect_with(&opts)
        .await
        .map_err(|e| sqlx_error(e, Driver::MySql))
}

/// A scalar value bound to one `?`.
#[derive(Debug, PartialEq)]
enum Bound {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Bytes(Vec<u8>),
}

fn bound(p: Param) -> Bound {
    match p {
        Param::Null => Bound::Null,
        Param::Str(s) => Bound::Str(s),
        Param::Num(n) if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 => {
            Bound::Int(n as i64)
        }
        Param::Num(n) if n.is_finite() => Bound::Float(n),
        Param::Num(_) => Bound::Null,
        Param::Bool(b) => Bound::Bool(b),
        Param::Date(ms) => match date_from_ms(ms) {
            Some(dt) => Bound::Str(format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second(),
                dt.millisecond()
            )),
            None => Bound::Null,
        },
        Param::Bytes(b) => Bound::Bytes(b),
        other @ (Param::List(_) | Param::Obj(_)) => Bound::Str(other.to_json().to_string()),
    }
}

/// Quotes an identifier: `` `a`.`b` `` for `a.b`, backticks doubled.
fn quote_ident(name: &str) -> String {
    name.split('.')
        .map(|part| format!("`{}`", part.replace('`', "``")))
        .collect::<Vec<_>>()
        .join(".")
}

/// Expands mysqljs placeholders into plain `?` markers plus the values to bind.
fn expand(sql: &str, params: Vec<Param>) -> Result<(String, Vec<Bound>), OpError> {
    let mut out = String::with_capacity(sql.len());
    let mut binds = Vec::new();
    let mut params = params.into_iter();
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '`' => {
                // Copy a quoted literal or identifier verbatim.
                out.push(c);
                i += 1;
                while i < chars.len() {
                    let d = chars[i];
                    out.push(d);
                    i += 1;
                    if d == '\\' && c != '`' && i < chars.len() {
                        out.push(chars[i]);
                        i += 1;
                    } else if d == c {
                        if i < chars.len() && chars[i] == c {
                            out.push(c);
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            '-' if chars.get(i + 1) == Some(&'-')
                && chars.get(i + 2).is_none_or(|c| c.is_whitespace()) =>
            {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                out.push_str("/*");
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    out.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    out.push_str("*/");
                    i += 2;
                }
            }
            '?' if chars.get(i + 1) == Some(&'?') => {
                i += 2;
                match params.next() {
                    Some(Param::Str(name)) => out.push_str(&quote_ident(&name)),
                    Some(Param::List(names)) => {
                        let mut parts = Vec::new();
                        for n in names {
                            match n {
                                Param::Str(s) => parts.push(quote_ident(&s)),
                                _ => return Err(OpError::new("?? identifiers must be strings")),
                            }
                        }
                        out.push_str(&parts.join(", "));
                    }
                    Some(_) => return Err(OpError::new("?? identifiers must be strings")),
                    None => out.push_str("??"),
                }
            }
            '?' => {
                i += 1;
                match params.next() {
                    None => out.push('?'),
                    Some(Param::List(items)) => {
                        let mut first = true;
                        for item in items {
                            if !first {
                                out.push_str(", ");
                            }
                            first = false;
                            match item {
                                Param::List(inner) => {
                                    out.push('(');
                                    let mut f = true;
                                    for v in inner {
                                        if !f {
                                            out.push_str(", ");
                                        }
                                        f = false;
                                        out.push('?');
                                        binds.push(bound(v));
                                    }
                                    out.push(')');
                                }
                                v => {
                                    out.push('?');
                                    binds.push(bound(v));
                                }
                            }
                        }
                        if first {
                            out.push_str("NULL");
                        }
                    }
                    Some(Param::Obj(fields)) => {
                        let mut first = true;
                        for (k, v) in fields {
                            if !first {
                                out.push_str(", ");
                            }
                            first = false;
                            out.push_str(&quote_ident(&k));
                            out.push_str(" = ?");
                            binds.push(bound(v));
                        }
                    }
                    Some(v) => {
                        out.push('?');
                        binds.push(bound(v));
                    }
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok((out, binds))
}

fn arguments(binds: Vec<Bound>) -> Result<MySqlArguments, OpError> {
    let mut args = MySqlArguments::default();
    for b in binds {
        let r = match b {
            Bound::Null => args.add(Option::<String>::None),
            Bound::Str(s) => args.add(s),
            Bound::Int(n) => args.add(n),
            Bound::Float(f) => args.add(f),
            Bound::Bool(v) => args.add(v),
            Bound::Bytes(v) => args.add(v),
        };
        r.map_err(|e| OpError::new(format!("cannot bind parameter: {e}")))?;
    }
    Ok(args)
}

/// Runs one query; rows as `{kind:"rows", fields, rows}` or `{kind:"ok", affectedRows, insertId}`.
pub(crate) async fn query(
    conn: &mut MySqlConnection,
    sql: &str,
    params: Vec<Param>,
    budget: &Budget,
) -> Result<Value, OpError> {
    let (expanded, binds) = expand(sql, params)?;
    let args = arguments(binds)?;
    // The SQL text is the script author's own; every value is bound, never spliced in.
    let stmt = (&mut *conn)
        .prepare(AssertSqlSafe(expanded).into_sql_str())
        .await
        .map_err(|e| sqlx_error(e, Driver::MySql))?;
    if stmt.columns().is_empty() {
        let done = stmt
            .query_with(args)
            .execute(&mut *conn)
            .await
            .map_err(|e| sqlx_error(e, Driver::MySql))?;
        return Ok(json!({
            "kind": "ok",
            "affectedRows": done.rows_affected(),
            "insertId": done.last_insert_id(),
            "changedRows": 0,
            "warningCount": 0,
        }));
    }
    // Blob and binary names come from the BINARY flag, which `_bin` collations also set
    // (MariaDB's JSON is LONGTEXT utf8mb4_bin); text is anything without the binary charset.
    let fields: Vec<(String, String)> = stmt
        .columns()
        .iter()
        .map(|c| {
            let ty = c.type_info();
            let name = ty.name();
            let text = is_binary(name)
                && name != "BIT"
                && name != "GEOMETRY"
                && <String as sqlx::Type<sqlx::MySql>>::compatible(ty);
            let name = if text { "TEXT" } else { name };
            (c.name().to_owned(), name.to_owned())
        })
        .collect();
    // Rows are read one at a time, each counted against the call's limits,
    // so a query returning too much stops there instead of being buffered.
    let mut rows = stmt.query_with(args).fetch(&mut *conn);
    let mut out_rows = Vec::new();
    while let Some(row) = rows
        .try_next()
        .await
        .map_err(|e| sqlx_error(e, Driver::MySql))?
    {
        if out_rows.len() >= budget.max_rows {
            return Err(too_many_rows(budget.max_rows));
        }
        let mut values = Vec::with_capacity(fields.len());
        let mut received = 0;
        for (i, (_, ty)) in fields.iter().enumerate() {
            let raw: Option<Vec<u8>> = row
                .try_get_unchecked(i)
                .map_err(|e| sqlx_error(e, Driver::MySql))?;
            values.push(match raw {
                None => Value::Null,
                Some(bytes) => {
                    received += bytes.len();
                    decode(ty, &bytes)
                }
            });
        }
        budget.receive(received)?;
        out_rows.push(Value::Array(values));
    }
    drop(rows);
    let field_json: Vec<Value> = fields
        .iter()
        .map(|(name, ty)| json!({"name": name, "type": ty, "conv": conversion(ty)}))
        .collect();
    Ok(json!({"kind": "rows", "fields": field_json, "rows": out_rows}))
}

/// How the prelude turns the decoded JSON value into a JavaScript value.
fn conversion(ty: &str) -> &'static str {
    match ty {
        "DATE" | "DATETIME" | "TIMESTAMP" => "date",
        t if is_binary(t) => "bytes",
        _ => "plain",
    }
}

fn is_binary(ty: &str) -> bool {
    matches!(
        ty,
        "BINARY"
            | "VARBINARY"
            | "TINYBLOB"
            | "BLOB"
            | "MEDIUMBLOB"
            | "LONGBLOB"
            | "BIT"
            | "GEOMETRY"
    )
}

/// Decodes one binary-protocol value.
fn decode(ty: &str, b: &[u8]) -> Value {
    let le_int = |signed: bool| -> Value {
        let mut buf = [0u8; 8];
        let n = b.len().min(8);
        buf[..n].copy_from_slice(&b[..n]);
        if signed && n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
            for byte in buf.iter_mut().skip(n) {
                *byte = 0xff;
            }
        }
        if signed {
            json!(i64::from_le_bytes(buf))
        } else {
            json!(u64::from_le_bytes(buf))
        }
    };
    match ty {
        "BOOLEAN" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
            le_int(true)
        }
        t if t.ends_with(" UNSIGNED") => le_int(false),
        "FLOAT" if b.len() == 4 => json!(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64),
        "DOUBLE" if b.len() == 8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            json!(f64::from_le_bytes(a))
        }
        "DECIMAL" => {
            let s = String::from_utf8_lossy(b);
            s.parse::<f64>()
                .map_or(Value::String(s.into_owned()), |n| json!(n))
        }
        "DATE" | "DATETIME" | "TIMESTAMP" => decode_datetime(b),
        "TIME" => decode_time(b),
        t if is_binary(t) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        _ => Value::String(String::from_utf8_lossy(b).into_owned()),
    }
}

/// `[len][year u16][month][day][hour][min][sec][micros u32]` to epoch milliseconds.
fn decode_datetime(b: &[u8]) -> Value {
    let len = b.first().copied().unwrap_or(0) as usize;
    let d = &b[1.min(b.len())..];
    if len < 4 || d.len() < 4 {
        return Value::Null; // zero date: mysqljs gives an invalid Date
    }
    let year = u16::from_le_bytes([d[0], d[1]]) as i32;
    let (month, day) = (d[2], d[3]);
    let (h, m, s) = if len >= 7 && d.len() >= 7 {
        (d[4], d[5], d[6])
    } else {
        (0, 0, 0)
    };
    let micros = if len >= 11 && d.len() >= 11 {
        u32::from_le_bytes([d[7], d[8], d[9], d[10]])
    } else {
        0
    };
    let Ok(month) = time::Month::try_from(month) else {
        return Value::Null;
    };
    let Ok(date) = time::Date::from_calendar_date(year, month, day) else {
        return Value::Null;
    };
    let Ok(t) = time::Time::from_hms_micro(h, m, s, micros) else {
        return Value::Null;
    };
    let ts = time::PrimitiveDateTime::new(date, t).assume_utc();
    json!((ts.unix_timestamp_nanos() / 1_000_000) as f64)
}

/// `[len][neg][days u32][h][m][s][micros]` to `[-]HH:MM:SS`.
fn decode_time(b: &[u8]) -> Value {
    if b.len() < 9 {
        return Value::String("00:00:00".into());
    }
    let neg = b[1] == 1;
    let days = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    let hours = days * 24 + b[6] as u32;
    Value::String(format!(
        "{}{:02}:{:02}:{:02}",
        if neg { "-" } else { "" },
        hours,
        b[7],
        b[8]
    ))
}

/// A server error in mysqljs form: `code` (`ER_DUP_ENTRY`), `errno`, `sqlState`, `sqlMessage`.
pub(crate) fn database_error(db: &dyn sqlx::error::DatabaseError, message: String) -> OpError {
    let (errno, state) = match db.try_downcast_ref::<MySqlDatabaseError>() {
        Some(e) => (e.number(), e.code().unwrap_or("HY000").to_owned()),
        None => (0, "HY000".to_owned()),
    };
    let code = match errno {
        1045 => "ER_ACCESS_DENIED_ERROR",
        1044 => "ER_DBACCESS_DENIED_ERROR",
        1049 => "ER_BAD_DB_ERROR",
        1054 => "ER_BAD_FIELD_ERROR",
        1062 => "ER_DUP_ENTRY",
        1064 => "ER_PARSE_ERROR",
        1146 => "ER_NO_SUCH_TABLE",
        1048 => "ER_BAD_NULL_ERROR",
        1364 => "ER_NO_DEFAULT_FOR_FIELD",
        1406 => "ER_DATA_TOO_LONG",
        1451 => "ER_ROW_IS_REFERENCED_2",
        1452 => "ER_NO_REFERENCED_ROW_2",
        1210 => "ER_WRONG_ARGUMENTS",
        _ => "ER_UNKNOWN",
    };
    OpError::new(format!("{code}: {message}"))
        .with("code", code)
        .with("errno", errno)
        .with("sqlState", state)
        .with("sqlMessage", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_expansion() {
        let (sql, b) = expand(
            "SELECT * FROM ?? WHERE email = ? AND note = '?' AND id IN (?) -- ?\n",
            vec![
                Param::Str("users".into()),
                Param::Str("a@b".into()),
                Param::List(vec![Param::Num(1.0), Param::Num(2.0)]),
            ],
        )
        .unwrap();
        assert_eq!(
            sql,
            "SELECT * FROM `users` WHERE email = ? AND note = '?' AND id IN (?, ?) -- ?\n"
        );
        assert_eq!(
            b,
            vec![Bound::Str("a@b".into()), Bound::Int(1), Bound::Int(2)]
        );
        let (sql, b) = expand(
            "INSERT INTO users SET ?",
            vec![Param::Obj(vec![
                ("email".into(), Param::Str("x".into())),
                ("we`ird".into(), Param::Null),
            ])],
        )
        .unwrap();
        assert_eq!(sql, "INSERT INTO users SET `email` = ?, `we``ird` = ?");
        assert_eq!(b.len(), 2);
        let (sql, _) = expand("SELECT 'it''s ?', \"a\\\"?\"", vec![]).unwrap();
        assert_eq!(sql, "SELECT 'it''s ?', \"a\\\"?\"");
    }

    #[test]
    fn decoding() {
        assert_eq!(decode("INT", &(-5i32).to_le_bytes()), json!(-5));
        assert_eq!(
            decode("INT UNSIGNED", &u32::MAX.to_le_bytes()),
            json!(4294967295u64)
        );
        assert_eq!(decode("DECIMAL", b"12.50"), json!(12.5));
        let dt = [7u8, 0xe8, 0x07, 1, 2, 3, 4, 5];
        assert_eq!(decode("DATETIME", &dt), json!(1704164645000.0));
        assert_eq!(decode("VARBINARY", b"hi"), json!("aGk="));
    }
}
