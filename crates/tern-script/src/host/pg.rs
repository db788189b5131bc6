//! PostgreSQL for the `pg` module (sqlx, extended protocol, `$1` placeholders).
//!
//! node-postgres sends parameters untyped and lets the server infer their types; to get
//! the same behaviour the statement is prepared first and each JavaScript value is
//! encoded as the type the server inferred for its placeholder (so a string works for an
//! integer or uuid column). Rows come back the way node-postgres returns them: numbers for
//! int2/int4/float, strings for int8/numeric, parsed JSON, `Date`s, `Buffer`s for bytea.

use base64::Engine;
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{
    PgArgumentBuffer, PgArguments, PgConnectOptions, PgConnection, PgDatabaseError, PgSslMode,
    PgTypeInfo, PgTypeKind,
};
use sqlx::{
    Arguments, AssertSqlSafe, Column, ConnectOptions, Connection, Either, Executor, Postgres, Row,
    SqlSafeStr, Statement, TypeInfo, ValueRef,
};

use super::budget::Budget;
use super::io::OpError;
use super::sql::{DbConfig, Driver, Param, js_number, sqlx_error, too_many_rows};

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const PG_EPOCH_DAYS: i64 = 10_957;

/// Opens a connection. Nothing is taken from the server's environment (`PG*` variables,
/// `.pgpass`): a script only ever sends the credentials it was configured with.
pub(crate) async fn connect(cfg: &DbConfig) -> Result<PgConnection, OpError> {
    let opts = PgConnectOptions::new_without_pgpass()
        .host(&cfg.host)
        .port(cfg.port)
        .username(&cfg.user)
        .password(cfg.password.as_deref().unwrap_or(""))
        .database(cfg.database.as_deref().unwrap_or(&cfg.user))
        .application_name("tern-script")
        .ssl_mode(if cfg.ssl {
            PgSslMode::Require
        } else {
            PgSslMode::Disable
        })
        .disable_statement_logging();
    PgConnection::connect_with(&opts)
        .await
        .map_err(|e| sqlx_error(e, Driver::Pg))
}

/// A parameter already encoded in binary for the type the server inferred.
struct PgParam {
    ty: PgTypeInfo,
    bytes: Option<Vec<u8>>,
}

impl sqlx::Type<Postgres> for PgParam {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("TEXT")
    }

    fn compatible(_: &PgTypeInfo) -> bool {
        true
    }
}

impl sqlx::Encode<'_, Postgres> for PgParam {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        match &self.bytes {
            None => Ok(IsNull::Yes),
            Some(b) => {
                buf.extend_from_slice(b);
                Ok(IsNull::No)
            }
        }
    }

    fn produces(&self) -> Option<PgTypeInfo> {
        Some(self.ty.clone())
    }
}

/// Runs one query; `{command, rowCount, fields, rows}`.
pub(crate) async fn query(
    conn: &mut PgConnection,
    sql: &str,
    params: Vec<Param>,
    budget: &Budget,
) -> Result<Value, OpError> {
    // The SQL text is the script author's own; every value is bound, never spliced in.
    let stmt = (&mut *conn)
        .prepare(AssertSqlSafe(sql.to_owned()).into_sql_str())
        .await
        .map_err(|e| sqlx_error(e, Driver::Pg))?;
    let types: Vec<PgTypeInfo> = match stmt.parameters() {
        Some(Either::Left(t)) => t.to_vec(),
        _ => Vec::new(),
    };
    if types.len() != params.len() {
        return Err(OpError::new(format!(
            "bind message supplies {} parameters, but prepared statement requires {}",
            params.len(),
            types.len()
        ))
        .with("code", "08P01"));
    }
    let mut args = PgArguments::default();
    for (i, (p, ty)) in params.iter().zip(&types).enumerate() {
        let bytes = encode(ty, p).map_err(|msg| {
            OpError::new(format!("parameter ${}: {msg}", i + 1)).with("code", "22P02")
        })?;
        args.add(PgParam {
            ty: ty.clone(),
            bytes,
        })
        .map_err(|e| OpError::new(format!("cannot bind parameter ${}: {e}", i + 1)))?;
    }
    let command = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_start_matches('(')
        .to_ascii_uppercase();
    if stmt.columns().is_empty() {
        let done = stmt
            .query_with(args)
            .execute(&mut *conn)
            .await
            .map_err(|e| sqlx_error(e, Driver::Pg))?;
        return Ok(json!({
            "command": command,
            "rowCount": done.rows_affected(),
            "fields": [],
            "rows": [],
        }));
    }
    let columns: Vec<(String, PgTypeInfo)> = stmt
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.type_info().clone()))
        .collect();
    // Rows are read one at a time, each counted against the call's limits,
    // so a query returning too much stops there instead of being buffered.
    let mut rows = stmt.query_with(args).fetch(&mut *conn);
    let mut out = Vec::new();
    while let Some(row) = rows
        .try_next()
        .await
        .map_err(|e| sqlx_error(e, Driver::Pg))?
    {
        if out.len() >= budget.max_rows {
            return Err(too_many_rows(budget.max_rows));
        }
        let mut values = Vec::with_capacity(columns.len());
        let mut received = 0;
        for (i, (_, ty)) in columns.iter().enumerate() {
            let raw = row.try_get_raw(i).map_err(|e| sqlx_error(e, Driver::Pg))?;
            if raw.is_null() {
                values.push(Value::Null);
                continue;
            }
            let bytes = raw.as_bytes().map_err(|e| OpError::new(e.to_string()))?;
            received += bytes.len();
            values.push(decode(ty, bytes, false));
        }
        budget.receive(received)?;
        out.push(Value::Array(values));
    }
    drop(rows);
    let fields: Vec<Value> = columns
        .iter()
        .map(|(name, ty)| {
            json!({
                "name": name,
                "dataTypeID": ty.oid().map(|o| o.0),
                "type": ty.name(),
                "conv": conversion(ty),
            })
        })
        .collect();
    Ok(json!({"command": command, "rowCount": out.len(), "fields": fields, "rows": out}))
}

/// The type a domain stands for, else the type itself.
fn base_type(ty: &PgTypeInfo) -> &PgTypeInfo {
    match ty.kind() {
        PgTypeKind::Domain(base) => base_type(base),
        _ => ty,
    }
}

fn is_text(ty: &PgTypeInfo) -> bool {
    matches!(ty.kind(), PgTypeKind::Enum(_))
        || matches!(
            ty.name(),
            "TEXT"
                | "VARCHAR"
                | "BPCHAR"
                | "NAME"
                | "UNKNOWN"
                | "\"CHAR\""
                | "CHAR"
                | "XML"
                | "citext"
                | "CITEXT"
        )
}

/// Encodes a JavaScript value in the binary format of `ty`; `None` is SQL NULL.
fn encode(ty: &PgTypeInfo, p: &Param) -> Result<Option<Vec<u8>>, String> {
    if matches!(p, Param::Null) {
        return Ok(None);
    }
    let ty = base_type(ty);
    if is_text(ty) {
        return Ok(p.as_text().map(String::into_bytes));
    }
    if let PgTypeKind::Array(elem) = ty.kind() {
        return encode_array(elem, p).map(Some);
    }
    let text = || p.as_text().unwrap_or_default();
    let int = |min: f64, max: f64| -> Result<i64, String> {
        let n = match p {
            Param::Num(n) => *n,
            Param::Bool(b) => f64::from(u8::from(*b)),
            _ => text()
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("invalid input syntax for type integer: \"{}\"", text()))?,
        };
        if n.fract() != 0.0 || n < min || n > max {
            return Err(format!(
                "value \"{}\" is out of range for type {}",
                js_number(n),
                ty.name()
            ));
        }
        Ok(n as i64)
    };
    let float = || -> Result<f64, String> {
        match p {
            Param::Num(n) => Ok(*n),
            _ => text().trim().parse::<f64>().map_err(|_| {
                format!(
                    "invalid input syntax for type double precision: \"{}\"",
                    text()
                )
            }),
        }
    };
    let bytes = match ty.name() {
        "BOOL" => {
            let b = match p {
                Param::Bool(b) => *b,
                Param::Num(n) => *n != 0.0,
                _ => match text().trim().to_ascii_lowercase().as_str() {
                    "t" | "true" | "1" | "yes" | "y" | "on" => true,
                    "f" | "false" | "0" | "no" | "n" | "off" => false,
                    other => {
                        return Err(format!(
                            "invalid input syntax for type boolean: \"{other}\""
                        ));
                    }
                },
            };
            vec![u8::from(b)]
        }
        "INT2" => (int(i16::MIN as f64, i16::MAX as f64)? as i16)
            .to_be_bytes()
            .to_vec(),
        "INT4" => (int(i32::MIN as f64, i32::MAX as f64)? as i32)
            .to_be_bytes()
            .to_vec(),
        "INT8" => int(-9.223_372_036_854_776e18, 9.223_372_036_854_776e18)?
            .to_be_bytes()
            .to_vec(),
        "OID" => (int(0.0, u32::MAX as f64)? as u32).to_be_bytes().to_vec(),
        "FLOAT4" => (float()? as f32).to_be_bytes().to_vec(),
        "FLOAT8" => float()?.to_be_bytes().to_vec(),
        "NUMERIC" => encode_numeric(&text())?,
        "UUID" => uuid::Uuid::parse_str(text().trim())
            .map_err(|_| format!("invalid input syntax for type uuid: \"{}\"", text()))?
            .as_bytes()
            .to_vec(),
        "JSON" | "JSONB" => {
            let body = match p {
                Param::Str(s) => s.clone(),
                other => other.to_json().to_string(),
            };
            let mut v = Vec::with_capacity(body.len() + 1);
            if ty.name() == "JSONB" {
                v.push(1);
            }
            v.extend_from_slice(body.as_bytes());
            v
        }
        "BYTEA" => match p {
            Param::Bytes(b) => b.clone(),
            _ => {
                let t = text();
                match t.strip_prefix("\\x") {
                    Some(h) => hex::decode(h).map_err(|_| "invalid hexadecimal data".to_owned())?,
                    None => t.into_bytes(),
                }
            }
        },
        "TIMESTAMP" | "TIMESTAMPTZ" => {
            let micros = match p {
                Param::Date(ms) | Param::Num(ms) => (ms * 1000.0) as i64,
                _ => parse_timestamp(&text())?,
            };
            (micros - PG_EPOCH_MICROS).to_be_bytes().to_vec()
        }
        "DATE" => {
            let days = match p {
                Param::Date(ms) | Param::Num(ms) => (ms / 86_400_000.0).floor() as i64,
                _ => parse_timestamp(text().get(..10).unwrap_or(""))? / 86_400_000_000,
            };
            ((days - PG_EPOCH_DAYS) as i32).to_be_bytes().to_vec()
        }
        other => {
            return Err(format!(
                "cannot send a JavaScript value as PostgreSQL type {other}; cast the placeholder in SQL (e.g. $1::text::{other})"
            ));
        }
    };
    Ok(Some(bytes))
}

/// One-dimensional array in binary format.
fn encode_array(elem: &PgTypeInfo, p: &Param) -> Result<Vec<u8>, String> {
    let Param::List(items) = p else {
        return Err("an array parameter must be a JavaScript array".into());
    };
    let oid = elem
        .oid()
        .map(|o| o.0)
        .ok_or("array element type has no oid")?;
    let mut out = Vec::new();
    let has_null = items.iter().any(|i| matches!(i, Param::Null));
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&i32::from(has_null).to_be_bytes());
    out.extend_from_slice(&oid.to_be_bytes());
    out.extend_from_slice(&(items.len() as i32).to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    for item in items {
        match encode(elem, item)? {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(&b);
            }
        }
    }
    Ok(out)
}

/// RFC 3339 or `YYYY-MM-DD[ HH:MM:SS[.fff]][offset]` (no offset = UTC) to epoch micros.
fn parse_timestamp(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let bad = || format!("invalid input syntax for type timestamp: \"{t}\"");
    let mut norm = t.replacen(' ', "T", 1);
    if norm.len() == 10 {
        norm.push_str("T00:00:00");
    }
    let has_offset = norm.ends_with('Z')
        || norm
            .get(19..)
            .is_some_and(|rest| rest.contains('+') || rest.contains('-'));
    if !has_offset {
        norm.push('Z');
    }
    // Offsets like +00 or +0530 become +00:00 / +05:30.
    if let Some(pos) = norm
        .get(19..)
        .and_then(|r| r.rfind(['+', '-']))
        .map(|p| p + 19)
    {
        let off = norm[pos + 1..].to_owned();
        if off.len() == 2 && off.chars().all(|c| c.is_ascii_digit()) {
            norm.push_str(":00");
        } else if off.len() == 4 && off.chars().all(|c| c.is_ascii_digit()) {
            norm.insert(pos + 3, ':');
        }
    }
    let dt = time::OffsetDateTime::parse(&norm, &time::format_description::well_known::Rfc3339)
        .map_err(|_| bad())?;
    Ok((dt.unix_timestamp_nanos() / 1000) as i64)
}

/// Decimal text to the binary NUMERIC format (base-10000 digits).
fn encode_numeric(s: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("invalid input syntax for type numeric: \"{s}\"");
    let t = s.trim();
    if t.eq_ignore_ascii_case("nan") {
        return Ok([
            0i16.to_be_bytes(),
            0i16.to_be_bytes(),
            0xC000u16.to_be_bytes(),
            0u16.to_be_bytes(),
        ]
        .concat());
    }
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| bad())?),
        None => (t, 0),
    };
    // PostgreSQL's numeric has at most 131072 digits before and 16383 after the point.
    if exp.unsigned_abs() > 140_000 || mantissa.len() > 140_000 {
        return Err(format!(
            "value overflows numeric format: \"{}\"",
            s.get(..40).unwrap_or(s)
        ));
    }
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part
            .chars()
            .chain(frac_part.chars())
            .all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    // All digits with the decimal point at `point` (digits before it).
    let mut digits: String = format!("{int_part}{frac_part}");
    let mut point = int_part.len() as i64 + exp as i64;
    if point < 0 {
        digits = "0".repeat((-point) as usize) + &digits;
        point = 0;
    }
    if point as usize > digits.len() {
        digits.push_str(&"0".repeat(point as usize - digits.len()));
    }
    let (int_digits, frac_digits) = digits.split_at(point as usize);
    let dscale = frac_digits.len() as u16;
    let int_pad = (4 - int_digits.len() % 4) % 4;
    let frac_pad = (4 - frac_digits.len() % 4) % 4;
    let int_s = "0".repeat(int_pad) + int_digits;
    let frac_s = frac_digits.to_owned() + &"0".repeat(frac_pad);
    let to_groups = |s: &str| -> Vec<i16> {
        s.as_bytes()
            .chunks(4)
            .map(|c| c.iter().fold(0i16, |a, d| a * 10 + i16::from(d - b'0')))
            .collect()
    };
    let mut groups = to_groups(&int_s);
    let int_groups = groups.len() as i16;
    groups.extend(to_groups(&frac_s));
    let mut weight = int_groups - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let mut out = Vec::with_capacity(8 + groups.len() * 2);
    out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(
        &(if neg && !groups.is_empty() {
            0x4000u16
        } else {
            0
        })
        .to_be_bytes(),
    );
    out.extend_from_slice(&dscale.to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    Ok(out)
}

/// Binary NUMERIC to decimal text.
fn decode_numeric(b: &[u8]) -> Option<String> {
    let rd = |i: usize| -> Option<i16> { Some(i16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?])) };
    let ndigits = rd(0)? as usize;
    let weight = rd(2)? as i64;
    let sign = rd(4)? as u16;
    let dscale = rd(6)? as usize;
    if sign == 0xC000 {
        return Some("NaN".into());
    }
    let digits: Vec<i64> = (0..ndigits)
        .map(|i| rd(8 + 2 * i).map(i64::from))
        .collect::<Option<_>>()?;
    let group = |idx: i64| -> i64 {
        if idx < 0 {
            0
        } else {
            digits.get(idx as usize).copied().unwrap_or(0)
        }
    };
    let mut int = String::new();
    if weight < 0 {
        int.push('0');
    } else {
        for i in 0..=weight {
            if i == 0 {
                int.push_str(&group(i).to_string());
            } else {
                int.push_str(&format!("{:04}", group(i)));
            }
        }
    }
    let mut frac = String::new();
    let mut i = weight + 1;
    while frac.len() < dscale {
        frac.push_str(&format!("{:04}", group(i)));
        i += 1;
    }
    frac.truncate(dscale);
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    s.push_str(&int);
    if dscale > 0 {
        s.push('.');
        s.push_str(&frac);
    }
    Some(s)
}

/// How the prelude converts a column's JSON values.
fn conversion(ty: &PgTypeInfo) -> &'static str {
    let ty = base_type(ty);
    if is_text(ty) {
        return "plain";
    }
    match ty.name() {
        "TIMESTAMP" | "TIMESTAMPTZ" | "DATE" => "date",
        "BYTEA" => "bytes",
        "BOOL" | "INT2" | "INT4" | "INT8" | "OID" | "FLOAT4" | "FLOAT8" | "NUMERIC" | "UUID"
        | "JSON" | "JSONB" | "TIME" => "plain",
        _ if matches!(ty.kind(), PgTypeKind::Array(_)) => "plain",
        _ => "bytes",
    }
}

/// Decodes one binary value; inside arrays, dates become ISO strings and bytes hex.
fn decode(ty: &PgTypeInfo, b: &[u8], nested: bool) -> Value {
    let ty = base_type(ty);
    if is_text(ty) {
        return Value::String(String::from_utf8_lossy(b).into_owned());
    }
    let be = |n: usize| -> Option<[u8; 8]> {
        let mut a = [0u8; 8];
        a[8 - n..].copy_from_slice(b.get(..n)?);
        Some(a)
    };
    let v = match ty.name() {
        "BOOL" => b.first().map(|x| Value::Bool(*x != 0)),
        "INT2" => b.get(..2).map(|x| json!(i16::from_be_bytes([x[0], x[1]]))),
        "INT4" => b
            .get(..4)
            .map(|x| json!(i32::from_be_bytes([x[0], x[1], x[2], x[3]]))),
        "OID" => b
            .get(..4)
            .map(|x| json!(u32::from_be_bytes([x[0], x[1], x[2], x[3]]))),
        "INT8" => be(8).map(|a| Value::String(i64::from_be_bytes(a).to_string())),
        "FLOAT4" => b
            .get(..4)
            .map(|x| json!(f32::from_be_bytes([x[0], x[1], x[2], x[3]]) as f64)),
        "FLOAT8" => be(8).map(|a| json!(f64::from_be_bytes(a))),
        "NUMERIC" => decode_numeric(b).map(Value::String),
        "UUID" => uuid::Uuid::from_slice(b)
            .ok()
            .map(|u| Value::String(u.to_string())),
        "JSON" => serde_json::from_slice(b).ok(),
        "JSONB" => b.get(1..).and_then(|x| serde_json::from_slice(x).ok()),
        "BYTEA" => Some(Value::String(if nested {
            format!("\\x{}", hex::encode(b))
        } else {
            base64::engine::general_purpose::STANDARD.encode(b)
        })),
        "TIMESTAMP" | "TIMESTAMPTZ" => be(8).map(|a| {
            let micros = i64::from_be_bytes(a);
            if micros == i64::MAX || micros == i64::MIN {
                return Value::Null;
            }
            let ms = ((micros + PG_EPOCH_MICROS) / 1000) as f64;
            if nested {
                super::sql::iso_date(ms).map_or(Value::Null, Value::String)
            } else {
                json!(ms)
            }
        }),
        "DATE" => b.get(..4).map(|x| {
            let days = i32::from_be_bytes([x[0], x[1], x[2], x[3]]) as i64 + PG_EPOCH_DAYS;
            let ms = (days * 86_400_000) as f64;
            if nested {
                super::sql::iso_date(ms).map_or(Value::Null, |s| Value::String(s[..10].to_owned()))
            } else {
                json!(ms)
            }
        }),
        "TIME" => be(8).map(|a| {
            let us = i64::from_be_bytes(a);
            let secs = us / 1_000_000;
            Value::String(format!(
                "{:02}:{:02}:{:02}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            ))
        }),
        _ => match ty.kind() {
            PgTypeKind::Array(elem) => decode_array(elem, b),
            _ => Some(Value::String(
                base64::engine::general_purpose::STANDARD.encode(b),
            )),
        },
    };
    v.unwrap_or(Value::Null)
}

/// Binary array (one or more dimensions) to nested JSON arrays.
fn decode_array(elem: &PgTypeInfo, b: &[u8]) -> Option<Value> {
    let rd =
        |i: usize| -> Option<i32> { Some(i32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?)) };
    let ndim = rd(0)? as usize;
    if ndim == 0 {
        return Some(Value::Array(Vec::new()));
    }
    let mut dims = Vec::with_capacity(ndim);
    for d in 0..ndim {
        dims.push(rd(12 + d * 8)?.max(0) as usize);
    }
    let mut pos = 12 + ndim * 8;
    let total: usize = dims.iter().product();
    let mut flat = Vec::with_capacity(total.min(1 << 16));
    for _ in 0..total {
        let len = rd(pos)?;
        pos += 4;
        if len < 0 {
            flat.push(Value::Null);
        } else {
            let end = pos + len as usize;
            flat.push(decode(elem, b.get(pos..end)?, true));
            pos = end;
        }
    }
    fn nest(flat: &mut std::vec::IntoIter<Value>, dims: &[usize]) -> Value {
        match dims.split_first() {
            None => flat.next().unwrap_or(Value::Null),
            Some((&n, [])) => Value::Array(flat.by_ref().take(n).collect()),
            Some((&n, rest)) => Value::Array((0..n).map(|_| nest(flat, rest)).collect()),
        }
    }
    Some(nest(&mut flat.into_iter(), &dims))
}

/// A server error in node-postgres form: `code` (SQLSTATE), `detail`, `constraint`, ….
pub(crate) fn database_error(db: &dyn sqlx::error::DatabaseError, message: String) -> OpError {
    let mut err = OpError::new(message);
    if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
        err = err.with("code", pg.code()).with(
            "severity",
            format!("{:?}", pg.severity()).to_ascii_uppercase(),
        );
        for (k, v) in [
            ("detail", pg.detail()),
            ("constraint", pg.constraint()),
            ("table", pg.table()),
            ("column", pg.column()),
            ("schema", pg.schema()),
        ] {
            if let Some(v) = v {
                err = err.with(k, v);
            }
        }
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_round_trip() {
        for s in [
            "0",
            "1",
            "-12.5",
            "10000",
            "123456789.000123",
            "0.0001",
            "1e3",
            "-0.5",
        ] {
            let enc = encode_numeric(s).unwrap();
            let dec = decode_numeric(&enc).unwrap();
            let want: f64 = s.parse().unwrap();
            assert_eq!(dec.parse::<f64>().unwrap(), want, "{s} -> {dec}");
        }
        assert_eq!(
            decode_numeric(&encode_numeric("12.50").unwrap()).unwrap(),
            "12.50"
        );
        assert!(encode_numeric("abc").is_err());
        assert!(encode_numeric("1e2000000000").is_err());
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:01Z").unwrap(), 1_000_000);
        assert_eq!(parse_timestamp("1970-01-01 00:00:01").unwrap(), 1_000_000);
        assert_eq!(parse_timestamp("1970-01-01 01:00:00+01").unwrap(), 0);
        assert_eq!(parse_timestamp("1970-01-02").unwrap(), 86_400_000_000);
        assert!(parse_timestamp("yesterday").is_err());
    }
}
