//! The connector's two SQL statements, as the operator wrote them, made ready
//! to run: named parameters (`:identifier`, `:user_id`, `:email`) become the
//! backend's placeholders, native placeholders (`?`, `$1`) are accepted as
//! they are, and every value is bound — never spliced into the SQL.
//!
//! The scan skips string literals, quoted identifiers, comments and
//! PostgreSQL dollar-quoted strings and `::` casts, so a `?` or `:word`
//! inside them is left alone.

use super::config::Backend;

/// A value bound to a statement parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// What the user typed as the login identifier (email or username).
    Identifier,
    /// The legacy user's id (from `columns.user_id`).
    UserId,
    /// The legacy user's email (from `columns.email`).
    Email,
}

impl Param {
    fn name(self) -> &'static str {
        match self {
            Param::Identifier => "identifier",
            Param::UserId => "user_id",
            Param::Email => "email",
        }
    }
}

/// A statement ready to run: the SQL for the backend and the values to bind,
/// in placeholder order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// SQL with the backend's placeholders.
    pub sql: String,
    /// What each placeholder is bound to.
    pub binds: Vec<Param>,
}

/// What a statement may refer to.
pub struct Rules<'a> {
    /// The configuration field, for messages (`options.tern_connector.lookup_query`).
    pub field: &'a str,
    /// Named parameters allowed.
    pub named: &'a [Param],
    /// What a native placeholder (`?`, `$1`) stands for.
    pub native: Param,
}

/// Where a native placeholder was found.
enum Native {
    /// `?` (MySQL, SQLite): each occurrence is a separate parameter.
    Question,
    /// `$1` (PostgreSQL) or `?1` (SQLite): one parameter, any number of uses.
    Numbered,
}

/// Translate `sql` for `backend`.
pub fn translate(sql: &str, backend: Backend, rules: &Rules<'_>) -> Result<Statement, String> {
    let field = rules.field;
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    let mut binds: Vec<Param> = Vec::new();
    let mut natives: Vec<Native> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i = skip_quoted(b, i, q, backend)
                    .ok_or_else(|| format!("{field} has an unterminated {} quote.", q as char))?;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => i = skip_line(b, i),
            b'#' if backend == Backend::MySql => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = find(b, i + 2, b"*/")
                    .map(|e| e + 2)
                    .ok_or_else(|| format!("{field} has an unterminated /* comment."))?;
            }
            b'$' if backend == Backend::Postgres => {
                let digits = count(b, i + 1, |c| c.is_ascii_digit());
                if digits > 0 {
                    if &sql[i + 1..i + 1 + digits] != "1" {
                        return Err(format!(
                            "{field} uses ${}, but only one parameter exists: $1 (the {}), or write :{}.",
                            &sql[i + 1..i + 1 + digits],
                            rules.native.name(),
                            rules.native.name()
                        ));
                    }
                    natives.push(Native::Numbered);
                    i += 1 + digits;
                } else if let Some(end) = dollar_quote_end(b, i) {
                    i = end.ok_or_else(|| format!("{field} has an unterminated $$ string."))?;
                } else {
                    i += 1;
                }
            }
            b'?' if backend != Backend::Postgres => {
                let digits = count(b, i + 1, |c| c.is_ascii_digit());
                if digits == 0 {
                    natives.push(Native::Question);
                } else if backend == Backend::Sqlite && &sql[i + 1..i + 1 + digits] == "1" {
                    natives.push(Native::Numbered);
                } else {
                    return Err(format!(
                        "{field} uses ?{}: write ? or :{} for the {}.",
                        &sql[i + 1..i + 1 + digits],
                        rules.native.name(),
                        rules.native.name()
                    ));
                }
                i += 1 + digits;
            }
            b':' if b.get(i + 1) == Some(&b':') => i += 2, // PostgreSQL cast
            b':' if b
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') =>
            {
                let len = count(b, i + 1, |c| c.is_ascii_alphanumeric() || c == b'_');
                let name = &sql[i + 1..i + 1 + len];
                let Some(param) = rules.named.iter().copied().find(|p| p.name() == name) else {
                    let known: Vec<String> = rules
                        .named
                        .iter()
                        .map(|p| format!(":{}", p.name()))
                        .collect();
                    return Err(format!(
                        "{field} refers to :{name}, which is not a parameter here (use {}).",
                        known.join(" or ")
                    ));
                };
                out.push_str(&sql[copied..i]);
                out.push_str(&placeholder(backend, param, &mut binds));
                i += 1 + len;
                copied = i;
            }
            b';' => {
                let rest = skip_space_and_comments(b, i + 1, backend);
                if rest < b.len() {
                    return Err(format!(
                        "{field} must be a single statement (found more after ';')."
                    ));
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied..]);

    match (binds.is_empty(), natives.is_empty()) {
        // A statement that allows no named parameter needs none.
        (true, true) if rules.named.is_empty() => Ok(Statement { sql: out, binds }),
        (true, true) => Err(format!(
            "{field} must use the {} as a parameter: write :{} (or {}).",
            rules.native.name(),
            rules.native.name(),
            match backend {
                Backend::Postgres => "$1",
                _ => "?",
            }
        )),
        (false, false) => Err(format!(
            "{field} mixes named parameters (:{}) with {}; use one style.",
            binds[0].name(),
            match backend {
                Backend::Postgres => "$1",
                _ => "?",
            }
        )),
        (false, true) => Ok(Statement { sql: out, binds }),
        (true, false) => {
            let questions = natives
                .iter()
                .filter(|n| matches!(n, Native::Question))
                .count();
            if questions > 0 && natives.len() > 1 {
                return Err(format!(
                    "{field} has {} placeholders but binds one value: use ? once, or :{} as often as needed.",
                    natives.len(),
                    rules.native.name()
                ));
            }
            Ok(Statement {
                sql: out,
                binds: vec![rules.native],
            })
        }
    }
}

/// The placeholder of a named parameter. PostgreSQL (`$n`) and SQLite (`?n`)
/// bind each distinct parameter once; MySQL (`?`) binds every occurrence.
fn placeholder(backend: Backend, param: Param, binds: &mut Vec<Param>) -> String {
    match backend {
        Backend::MySql => {
            binds.push(param);
            "?".into()
        }
        Backend::Postgres | Backend::Sqlite => {
            let n = match binds.iter().position(|p| *p == param) {
                Some(n) => n + 1,
                None => {
                    binds.push(param);
                    binds.len()
                }
            };
            let sigil = if backend == Backend::Postgres {
                '$'
            } else {
                '?'
            };
            format!("{sigil}{n}")
        }
    }
}

/// Index after the closing quote; `None` when unterminated. A doubled quote
/// is an escaped quote; MySQL also escapes with a backslash in strings.
fn skip_quoted(b: &[u8], start: usize, q: u8, backend: Backend) -> Option<usize> {
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' && q != b'`' && backend == Backend::MySql {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

fn skip_line(b: &[u8], start: usize) -> usize {
    find(b, start, b"\n").map_or(b.len(), |e| e + 1)
}

/// Whitespace and comments from `start`; returns the first other index.
fn skip_space_and_comments(b: &[u8], start: usize, backend: Backend) -> usize {
    let mut i = start;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        match (b.get(i), b.get(i + 1)) {
            (Some(b'-'), Some(b'-')) => i = skip_line(b, i),
            (Some(b'#'), _) if backend == Backend::MySql => i = skip_line(b, i),
            (Some(b'/'), Some(b'*')) => match find(b, i + 2, b"*/") {
                Some(e) => i = e + 2,
                None => return b.len(),
            },
            _ => return i,
        }
    }
}

/// A PostgreSQL dollar-quoted string starting at `start` (`$$` or `$tag$`):
/// `Some(Some(end))` after its closing tag, `Some(None)` if unterminated,
/// `None` if this `$` does not open one.
fn dollar_quote_end(b: &[u8], start: usize) -> Option<Option<usize>> {
    let tag_len = count(b, start + 1, |c| c.is_ascii_alphanumeric() || c == b'_');
    if b.get(start + 1 + tag_len) != Some(&b'$') || b.get(start + 1).is_some_and(u8::is_ascii_digit)
    {
        return None;
    }
    let tag = &b[start..start + tag_len + 2];
    let body = start + tag.len();
    Some(find(b, body, tag).map(|e| e + tag.len()))
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn count(b: &[u8], from: usize, pred: impl Fn(u8) -> bool) -> usize {
    b.get(from..)
        .map_or(0, |rest| rest.iter().take_while(|c| pred(**c)).count())
}

/// What a configured statement is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `lookup_query`, `count_query`: a single `SELECT` (or `WITH … SELECT`).
    Read,
    /// `mark_migrated`: a single `UPDATE`, `INSERT` or `DELETE` (or `WITH …`
    /// of one).
    Write,
}

/// Words that reach beyond the legacy users' rows — other database files
/// (SQLite `ATTACH`, `VACUUM INTO`), the server's files (`COPY`, `LOAD DATA`,
/// `INTO OUTFILE`, file functions) or the schema — refused anywhere in a
/// statement outside string literals and quoted identifiers. The database
/// account should not be able to do these anyway; this holds when it can.
const FORBIDDEN: &[&str] = &[
    "attach",
    "detach",
    "vacuum",
    "pragma",
    "copy",
    "create",
    "drop",
    "alter",
    "truncate",
    "grant",
    "revoke",
    "reindex",
    "outfile",
    "dumpfile",
    "load_extension",
    "readfile",
    "writefile",
    "lo_import",
    "lo_export",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "dblink",
    "dblink_exec",
];

/// Words that write, refused anywhere in a read (`WITH gone AS (DELETE …)
/// SELECT …` writes too).
const WRITES: &[&str] = &["insert", "update", "delete", "merge"];

/// Words after which `INTO` belongs to an `INSERT` (`INSERT OR IGNORE INTO`,
/// MySQL `INSERT IGNORE INTO`); anywhere else it writes a table or a file
/// (`SELECT … INTO`).
const INSERT_WORDS: &[&str] = &[
    "insert",
    "ignore",
    "replace",
    "abort",
    "fail",
    "rollback",
    "low_priority",
    "high_priority",
    "delayed",
];

/// Check that `sql` is a statement of `kind` and uses nothing of
/// [`FORBIDDEN`]; the message names `field`. Run when a connection is saved
/// and whenever a stored one is made ready to run.
pub fn check_kind(sql: &str, backend: Backend, kind: Kind, field: &str) -> Result<(), String> {
    let words = words(sql, backend);
    let wanted: &[&str] = match kind {
        Kind::Read => &["select"],
        Kind::Write => &["update", "insert", "delete"],
    };
    let verb = main_verb(&words);
    if !verb.is_some_and(|v| wanted.contains(&v)) {
        return Err(match kind {
            Kind::Read => format!(
                "{field} must be a SELECT (or WITH … SELECT) query: the connector only reads there."
            ),
            Kind::Write => format!(
                "{field} must be an UPDATE, INSERT or DELETE statement (or WITH … one of them): it only marks the migrated user."
            ),
        });
    }
    for (i, (_, word)) in words.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| words[p].1.as_str());
        let next = words.get(i + 1).map(|(_, w)| w.as_str());
        let refused = FORBIDDEN.contains(&word.as_str())
            || (kind == Kind::Read && WRITES.contains(&word.as_str()))
            || (word == "load" && matches!(next, Some("data" | "xml")))
            || (word == "into"
                && !(kind == Kind::Write && previous.is_some_and(|p| INSERT_WORDS.contains(&p))));
        if refused {
            return Err(format!(
                "{field} may not use {}: a connector statement only reads or marks the legacy users' rows, never other files, databases or the schema (quote it if it is a column name).",
                word.to_ascii_uppercase()
            ));
        }
    }
    Ok(())
}

/// The statement's verb: its first word, or after `WITH` the first word
/// outside the parentheses of the common table expressions.
fn main_verb(words: &[(usize, String)]) -> Option<&str> {
    const VERBS: &[&str] = &[
        "select", "insert", "update", "delete", "values", "replace", "merge",
    ];
    let (_, first) = words.first()?;
    if first != "with" {
        return Some(first);
    }
    words
        .iter()
        .skip(1)
        .find(|(depth, w)| *depth == 0 && VERBS.contains(&w.as_str()))
        .map(|(_, w)| w.as_str())
}

/// The words of `sql` (lower case) with their parenthesis depth, outside
/// string literals, quoted identifiers, comments and dollar-quoted strings.
fn words(sql: &str, backend: Backend) -> Vec<(usize, String)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => match skip_quoted(b, i, q, backend) {
                Some(end) => i = end,
                None => break,
            },
            b'-' if b.get(i + 1) == Some(&b'-') => i = skip_line(b, i),
            b'#' if backend == Backend::MySql => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => match find(b, i + 2, b"*/") {
                Some(e) => i = e + 2,
                None => break,
            },
            b'$' if backend == Backend::Postgres => match dollar_quote_end(b, i) {
                Some(Some(end)) => i = end,
                Some(None) => break,
                None => i += 1,
            },
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let len = count(b, i, |c| {
                    c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
                });
                out.push((depth, sql[i..i + len].to_ascii_lowercase()));
                i += len;
            }
            // Numbers and parameters (`:user_id`, `$1`, `?1`) are not words.
            c if c.is_ascii_digit() || c == b':' || c == b'?' => {
                i += 1 + count(b, i + 1, |c| c.is_ascii_alphanumeric() || c == b'_');
            }
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOKUP: Rules<'static> = Rules {
        field: "lookup_query",
        named: &[Param::Identifier],
        native: Param::Identifier,
    };
    const MARK: Rules<'static> = Rules {
        field: "mark_migrated",
        named: &[Param::UserId, Param::Email],
        native: Param::UserId,
    };

    fn ok(sql: &str, backend: Backend, rules: &Rules<'_>) -> (String, Vec<Param>) {
        let s = translate(sql, backend, rules).unwrap();
        (s.sql, s.binds)
    }

    fn err(sql: &str, backend: Backend, rules: &Rules<'_>) -> String {
        translate(sql, backend, rules).unwrap_err()
    }

    #[test]
    fn named_parameters_become_each_backends_placeholders() {
        let sql = "SELECT * FROM u WHERE email = :identifier OR login = :identifier";
        assert_eq!(
            ok(sql, Backend::Postgres, &LOOKUP),
            (
                "SELECT * FROM u WHERE email = $1 OR login = $1".into(),
                vec![Param::Identifier]
            )
        );
        assert_eq!(
            ok(sql, Backend::Sqlite, &LOOKUP),
            (
                "SELECT * FROM u WHERE email = ?1 OR login = ?1".into(),
                vec![Param::Identifier]
            )
        );
        assert_eq!(
            ok(sql, Backend::MySql, &LOOKUP),
            (
                "SELECT * FROM u WHERE email = ? OR login = ?".into(),
                vec![Param::Identifier, Param::Identifier]
            )
        );
        let mark = "UPDATE u SET done = 1, note = :email WHERE id = :user_id AND email = :email";
        assert_eq!(
            ok(mark, Backend::Postgres, &MARK),
            (
                "UPDATE u SET done = 1, note = $1 WHERE id = $2 AND email = $1".into(),
                vec![Param::Email, Param::UserId]
            )
        );
    }

    #[test]
    fn native_placeholders_are_kept() {
        for (sql, backend) in [
            ("SELECT * FROM u WHERE email = ?", Backend::MySql),
            ("SELECT * FROM u WHERE email = ?", Backend::Sqlite),
            (
                "SELECT * FROM u WHERE email = ?1 OR name = ?1",
                Backend::Sqlite,
            ),
            (
                "SELECT * FROM u WHERE email = $1 OR name = $1",
                Backend::Postgres,
            ),
        ] {
            assert_eq!(
                ok(sql, backend, &LOOKUP),
                (sql.to_string(), vec![Param::Identifier]),
                "{sql}"
            );
        }
        assert_eq!(
            ok("UPDATE u SET m = 1 WHERE id = ?", Backend::MySql, &MARK).1,
            vec![Param::UserId]
        );
    }

    #[test]
    fn literals_comments_and_casts_are_not_parameters() {
        let sql = "SELECT id, 'a?b :identifier' AS x, \"q?\" , meta::text, `c?` -- ?\n/* :nope ? */ FROM u WHERE e = :identifier";
        let (out, binds) = ok(sql, Backend::Postgres, &LOOKUP);
        assert!(out.ends_with("WHERE e = $1"), "{out}");
        assert!(out.contains("'a?b :identifier'") && out.contains("meta::text"));
        assert_eq!(binds, vec![Param::Identifier]);
        // PostgreSQL: `?` is a jsonb operator, $$ strings are literals.
        let (out, _) = ok(
            "SELECT * FROM u WHERE tags ? 'x' AND note <> $$it's :x$$ AND e = $1",
            Backend::Postgres,
            &LOOKUP,
        );
        assert!(out.contains("tags ? 'x'"));
        // MySQL: backslash escapes and # comments.
        let (_, binds) = ok(
            "SELECT * FROM u WHERE a = 'it\\'s ?' AND e = ? # really?",
            Backend::MySql,
            &LOOKUP,
        );
        assert_eq!(binds, vec![Param::Identifier]);
        // A trailing semicolon is fine.
        ok(
            "SELECT * FROM u WHERE e = ?;  -- done",
            Backend::Sqlite,
            &LOOKUP,
        );
    }

    #[test]
    fn mistakes_are_named() {
        let cases: [(&str, Backend, &Rules<'_>, &str); 9] = [
            (
                "SELECT * FROM u",
                Backend::MySql,
                &LOOKUP,
                "must use the identifier",
            ),
            (
                "SELECT * FROM u WHERE e = :email",
                Backend::MySql,
                &LOOKUP,
                ":email, which is not a parameter",
            ),
            (
                "SELECT * FROM u WHERE e = $2",
                Backend::Postgres,
                &LOOKUP,
                "uses $2",
            ),
            (
                "SELECT * FROM u WHERE e = ? OR n = ?",
                Backend::MySql,
                &LOOKUP,
                "2 placeholders",
            ),
            (
                "SELECT * FROM u WHERE e = ? OR n = :identifier",
                Backend::Sqlite,
                &LOOKUP,
                "mixes",
            ),
            (
                "SELECT * FROM u WHERE e = ?; DROP TABLE u",
                Backend::Sqlite,
                &LOOKUP,
                "single statement",
            ),
            (
                "SELECT * FROM u WHERE e = 'x",
                Backend::MySql,
                &LOOKUP,
                "unterminated ' quote",
            ),
            (
                "SELECT * FROM u WHERE e = ?2",
                Backend::Sqlite,
                &LOOKUP,
                "uses ?2",
            ),
            (
                "UPDATE u SET m = 1",
                Backend::Postgres,
                &MARK,
                "must use the user_id",
            ),
        ];
        for (sql, backend, rules, want) in cases {
            let e = err(sql, backend, rules);
            assert!(e.contains(want), "{sql}: {e}");
            assert!(e.starts_with(rules.field), "{e}");
        }
    }

    #[test]
    fn lookup_queries_must_read() {
        for sql in [
            "SELECT 1",
            "  -- c\n select 1",
            "(SELECT 1)",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "SELECT id, \"copy\", 'attach' FROM u WHERE email = :identifier",
        ] {
            assert_eq!(
                check_kind(sql, Backend::Postgres, Kind::Read, "q"),
                Ok(()),
                "{sql}"
            );
        }
        for sql in [
            "UPDATE u SET a = 1",
            "DELETE FROM u",
            "",
            "selectx",
            "WITH gone AS (DELETE FROM u RETURNING *) DELETE FROM v",
            "VALUES (1)",
        ] {
            assert!(
                check_kind(sql, Backend::Postgres, Kind::Read, "q")
                    .unwrap_err()
                    .starts_with("q must be a SELECT (or WITH"),
                "{sql}"
            );
        }
    }

    #[test]
    fn statements_never_reach_other_files_or_the_schema() {
        for (sql, kind, word) in [
            ("SELECT * INTO copy_of_users FROM users", Kind::Read, "INTO"),
            (
                "SELECT * FROM users INTO OUTFILE '/tmp/x'",
                Kind::Read,
                "INTO",
            ),
            (
                "SELECT load_extension('/tmp/x.so')",
                Kind::Read,
                "LOAD_EXTENSION",
            ),
            (
                "SELECT pg_read_file('/etc/passwd')",
                Kind::Read,
                "PG_READ_FILE",
            ),
            (
                "WITH gone AS (DELETE FROM u RETURNING *) SELECT * FROM gone",
                Kind::Read,
                "DELETE",
            ),
            (
                "UPDATE users SET m = 1 WHERE id = (SELECT 1 INTO x)",
                Kind::Write,
                "INTO",
            ),
            (
                "WITH x AS (SELECT 1) UPDATE u SET a = (SELECT lo_export(1, '/tmp/f'))",
                Kind::Write,
                "LO_EXPORT",
            ),
        ] {
            let e = check_kind(sql, Backend::Postgres, kind, "q").unwrap_err();
            assert!(
                e.starts_with(&format!("q may not use {word}:")),
                "{sql}: {e}"
            );
        }
        for sql in [
            "VACUUM INTO '/tmp/copy.db'",
            "ATTACH DATABASE '/data/tern.db' AS t",
            "DETACH t",
            "PRAGMA writable_schema = 1",
            "CREATE TABLE x (a)",
            "DROP TABLE users",
            "ALTER TABLE users ADD c",
            "COPY users TO '/tmp/x'",
            "LOAD DATA INFILE '/etc/passwd' INTO TABLE u",
        ] {
            let e = check_kind(sql, Backend::Sqlite, Kind::Write, "mark_migrated").unwrap_err();
            assert!(
                e.starts_with("mark_migrated must be an UPDATE, INSERT or DELETE"),
                "{sql}: {e}"
            );
        }
        for sql in [
            "UPDATE users SET migrated = 1 WHERE id = :user_id",
            "INSERT INTO migrated (id) VALUES (:user_id)",
            "INSERT OR IGNORE INTO migrated (id) VALUES (?)",
            "DELETE FROM users WHERE id = :user_id",
            "WITH x AS (SELECT :user_id AS id) UPDATE users SET m = 1 WHERE id IN (SELECT id FROM x)",
        ] {
            assert_eq!(
                check_kind(sql, Backend::Sqlite, Kind::Write, "m"),
                Ok(()),
                "{sql}"
            );
        }
    }
}
