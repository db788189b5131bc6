#![allow(clippy::unwrap_used)]

use std::ops::Bound;

use time::macros::{date, datetime};

use super::*;

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn eq(field: Field, v: Value) -> Query {
    Query::Field {
        field,
        condition: Condition::Equals(v),
    }
}

fn any(s: &str) -> Query {
    Query::AnyField(Condition::Equals(text(s)))
}

fn wild(field: Field, parts: Vec<PatternPart>) -> Query {
    Query::Field {
        field,
        condition: Condition::Wildcard(Pattern::new(parts)),
    }
}

fn lit(s: &str) -> PatternPart {
    PatternPart::Literal(s.to_owned())
}

fn range(field: Field, lower: Bound<Value>, upper: Bound<Value>) -> Query {
    Query::Field {
        field,
        condition: Condition::Range { lower, upper },
    }
}

fn not(q: Query) -> Query {
    Query::Not(Box::new(q))
}

fn app(path: &[&str]) -> Field {
    Field::AppMetadata(path.iter().map(|s| s.to_string()).collect())
}

fn user(path: &[&str]) -> Field {
    Field::UserMetadata(path.iter().map(|s| s.to_string()).collect())
}

fn day(d: time::Date) -> Value {
    Value::Date(DateValue::Day(d))
}

#[test]
fn parses_valid_queries() {
    use Bound::{Excluded, Included, Unbounded};
    use PatternPart::{AnyChar, AnyChars};
    let cases: Vec<(&str, Query)> = vec![
        ("", Query::MatchAll),
        ("   ", Query::MatchAll),
        ("*", Query::MatchAll),
        ("*:*", Query::MatchAll),
        (r#"name:"jane""#, eq(Field::Name, text("jane"))),
        ("name:jane", eq(Field::Name, text("jane"))),
        ("name: jane", eq(Field::Name, text("jane"))),
        (r#"name:"Jane Smith""#, eq(Field::Name, text("Jane Smith"))),
        (
            r#"name:"say \"hi\" \\ ok""#,
            eq(Field::Name, text(r#"say "hi" \ ok"#)),
        ),
        (
            r#"email.domain:"example.com""#,
            eq(Field::EmailDomain, text("example.com")),
        ),
        (
            r#"identities.connection:"google-oauth2""#,
            eq(Field::IdentitiesConnection, text("google-oauth2")),
        ),
        (
            r#"user_metadata.full_name:"John Smith""#,
            eq(user(&["full_name"]), text("John Smith")),
        ),
        (
            "app_metadata.plan.tier:gold",
            eq(app(&["plan", "tier"]), text("gold")),
        ),
        ("user_id:auth0|123", eq(Field::UserId, text("auth0|123"))),
        (
            r#"user_id:"auth0|123""#,
            eq(Field::UserId, text("auth0|123")),
        ),
        (
            "user_id:auth0*",
            wild(Field::UserId, vec![lit("auth0"), AnyChars]),
        ),
        (
            "email:test*",
            wild(Field::Email, vec![lit("test"), AnyChars]),
        ),
        (
            "name:*john*",
            wild(Field::Name, vec![AnyChars, lit("john"), AnyChars]),
        ),
        ("name:*abc", wild(Field::Name, vec![AnyChars, lit("abc")])),
        (
            "name:j?n*",
            wild(Field::Name, vec![lit("j"), AnyChar, lit("n"), AnyChars]),
        ),
        ("name:jo**", wild(Field::Name, vec![lit("jo"), AnyChars])),
        (r"name:a\*b", eq(Field::Name, text("a*b"))),
        (r#"name:"a*b""#, eq(Field::Name, text("a*b"))),
        ("name:*", Query::Exists(Field::Name)),
        ("_exists_:last_login", Query::Exists(Field::LastLogin)),
        (
            "_exists_:app_metadata.roles",
            Query::Exists(app(&["roles"])),
        ),
        ("logins_count:5", eq(Field::LoginsCount, Value::Int(5))),
        (
            "logins_count:[100 TO 200]",
            range(
                Field::LoginsCount,
                Included(Value::Int(100)),
                Included(Value::Int(200)),
            ),
        ),
        (
            "logins_count:{100 TO 200}",
            range(
                Field::LoginsCount,
                Excluded(Value::Int(100)),
                Excluded(Value::Int(200)),
            ),
        ),
        (
            "logins_count:[1 TO *}",
            range(Field::LoginsCount, Included(Value::Int(1)), Unbounded),
        ),
        (
            "logins_count:>=3",
            range(Field::LoginsCount, Included(Value::Int(3)), Unbounded),
        ),
        (
            "logins_count:<3",
            range(Field::LoginsCount, Unbounded, Excluded(Value::Int(3))),
        ),
        ("logins_count:[* TO *]", Query::Exists(Field::LoginsCount)),
        (
            "last_login:[* TO 2024-12-31]",
            range(
                Field::LastLogin,
                Unbounded,
                Included(day(date!(2024 - 12 - 31))),
            ),
        ),
        (
            r#"created_at:["2024-01-01" TO 2024-02-01T10:30:00+02:00}"#,
            range(
                Field::CreatedAt,
                Included(day(date!(2024 - 01 - 01))),
                Excluded(Value::Date(DateValue::Instant(
                    datetime!(2024-02-01 08:30 UTC),
                ))),
            ),
        ),
        (
            "created_at:2024-01-02",
            eq(Field::CreatedAt, day(date!(2024 - 01 - 02))),
        ),
        (
            "updated_at:2024-01-02T03:04:05.678Z",
            eq(
                Field::UpdatedAt,
                Value::Date(DateValue::Instant(datetime!(2024-01-02 03:04:05.678 UTC))),
            ),
        ),
        ("blocked:true", eq(Field::Blocked, Value::Bool(true))),
        (
            "email_verified:false",
            eq(Field::EmailVerified, Value::Bool(false)),
        ),
        (
            "app_metadata.score:[1.5 TO 10]",
            range(
                app(&["score"]),
                Included(Value::Decimal("1.5".into())),
                Included(Value::Int(10)),
            ),
        ),
        (
            "app_metadata.since:[2020-01-01 TO *]",
            range(app(&["since"]), Included(text("2020-01-01")), Unbounded),
        ),
        ("jane", any("jane")),
        (r#""jane doe""#, any("jane doe")),
        (
            "jan*",
            Query::AnyField(Condition::Wildcard(Pattern::new(vec![
                lit("jan"),
                AnyChars,
            ]))),
        ),
        // Default operator OR and occur rules.
        ("jane joe", Query::Or(vec![any("jane"), any("joe")])),
        (
            "name:jane OR name:joe",
            Query::Or(vec![
                eq(Field::Name, text("jane")),
                eq(Field::Name, text("joe")),
            ]),
        ),
        (
            "name:jane || name:joe",
            Query::Or(vec![
                eq(Field::Name, text("jane")),
                eq(Field::Name, text("joe")),
            ]),
        ),
        (
            "name:jane AND blocked:false",
            Query::And(vec![
                eq(Field::Name, text("jane")),
                eq(Field::Blocked, Value::Bool(false)),
            ]),
        ),
        (
            "name:jane && blocked:false",
            Query::And(vec![
                eq(Field::Name, text("jane")),
                eq(Field::Blocked, Value::Bool(false)),
            ]),
        ),
        (
            "NOT blocked:true",
            not(eq(Field::Blocked, Value::Bool(true))),
        ),
        ("!blocked:true", not(eq(Field::Blocked, Value::Bool(true)))),
        ("-blocked:true", not(eq(Field::Blocked, Value::Bool(true)))),
        (
            "NOT NOT blocked:true",
            eq(Field::Blocked, Value::Bool(true)),
        ),
        ("+blocked:true", eq(Field::Blocked, Value::Bool(true))),
        ("jane -joe", Query::And(vec![not(any("joe")), any("jane")])),
        ("+jane joe", any("jane")),
        (
            "-jane -joe",
            Query::And(vec![not(any("jane")), not(any("joe"))]),
        ),
        (
            "jane AND NOT joe",
            Query::And(vec![any("jane"), not(any("joe"))]),
        ),
        (
            "a AND b OR c",
            Query::Or(vec![Query::And(vec![any("a"), any("b")]), any("c")]),
        ),
        (
            "a AND (b OR c)",
            Query::And(vec![any("a"), Query::Or(vec![any("b"), any("c")])]),
        ),
        ("((a))", any("a")),
        ("NOT (a OR b)", not(Query::Or(vec![any("a"), any("b")]))),
        (
            "name:(jane OR joe*)",
            Query::Or(vec![
                eq(Field::Name, text("jane")),
                wild(Field::Name, vec![lit("joe"), AnyChars]),
            ]),
        ),
        (
            "name:(jane email:x)",
            Query::Or(vec![
                eq(Field::Name, text("jane")),
                eq(Field::Email, text("x")),
            ]),
        ),
        // Keywords are case-sensitive and must stand alone.
        (
            "and or not",
            Query::Or(vec![any("and"), any("or"), any("not")]),
        ),
        ("ANDROID", any("ANDROID")),
        ("name:OR", eq(Field::Name, text("OR"))),
        (r"a\:b", any("a:b")),
        (r"name:\(x\)", eq(Field::Name, text("(x)"))),
        ("name:o'brien", eq(Field::Name, text("o'brien"))),
        ("name:émile", eq(Field::Name, text("émile"))),
        ("email:a%_b@x.com", eq(Field::Email, text("a%_b@x.com"))),
    ];
    for (input, expected) in cases {
        match parse_query(input) {
            Ok(q) => assert_eq!(q, expected, "query {input:?}"),
            Err(e) => panic!("query {input:?} failed: {e}"),
        }
    }
}

#[test]
fn rejects_invalid_queries() {
    use SearchErrorKind::*;
    let cases: Vec<(&str, SearchErrorKind, Option<usize>, &str)> = vec![
        (
            "(name:jane",
            Syntax,
            Some(10),
            "expected ')' to close the group opened at position 0",
        ),
        ("(a OR (b AND c)", Syntax, Some(15), "opened at position 0"),
        ("a)", Syntax, Some(1), "unexpected ')'"),
        ("()", Syntax, Some(1), "inside '()'"),
        ("name:", Syntax, Some(5), "expected a value after 'name:'"),
        (
            "name:\"jane",
            Syntax,
            Some(10),
            "expected '\"' to close the quoted value opened at position 5",
        ),
        ("a AND", Syntax, Some(2), "after 'AND'"),
        ("AND a", Syntax, Some(0), "before 'AND'"),
        ("a OR", Syntax, Some(2), "after 'OR'"),
        ("OR a", Syntax, Some(0), "before 'OR'"),
        ("NOT", Syntax, Some(0), "after 'NOT'"),
        ("a -", Syntax, Some(2), "after '-'"),
        ("name:x\\", Syntax, Some(6), "must escape"),
        (":x", Syntax, Some(0), "unexpected ':'"),
        ("[1 TO 2]", Syntax, Some(0), "a range needs a field"),
        ("logins_count:[1 2]", Syntax, Some(16), "expected 'TO'"),
        (
            "logins_count:[1 TO 2",
            Syntax,
            Some(20),
            "to close the range opened at position 13",
        ),
        (
            "logins_count:[1 TO ]",
            Syntax,
            Some(19),
            "expected a range bound",
        ),
        ("a\0b", Syntax, Some(1), "NUL"),
        ("foo:bar", UnknownField, Some(0), "unknown field 'foo'"),
        (
            "a AND identities.provider:x",
            UnknownField,
            Some(6),
            "unknown field 'identities.provider'",
        ),
        (
            "_exists_:nope",
            UnknownField,
            Some(9),
            "unknown field 'nope'",
        ),
        (
            "app_metadata:x",
            Unsupported,
            Some(0),
            "e.g. app_metadata.plan",
        ),
        (
            "app_metadata..x:y",
            UnknownField,
            Some(0),
            "invalid metadata path",
        ),
        (
            "app_metadata.a$b:y",
            UnknownField,
            Some(0),
            "invalid metadata path",
        ),
        (
            "user_metadata.age:[1 TO 5]",
            Unsupported,
            Some(18),
            "ranges are not supported on user_metadata",
        ),
        (
            "user_metadata.name:jo*",
            Unsupported,
            Some(19),
            "wildcards are not supported on user_metadata",
        ),
        (
            "name:[a TO b]",
            Unsupported,
            Some(5),
            "ranges are only supported",
        ),
        (
            "blocked:[0 TO 1]",
            Unsupported,
            Some(8),
            "ranges are only supported",
        ),
        ("name:*ab", Unsupported, Some(5), "at least 3"),
        ("name:*ab*", Unsupported, Some(5), "at least 3"),
        ("*ab", Unsupported, Some(0), "at least 3"),
        ("name:?a", Unsupported, Some(5), "at least 3"),
        ("created_at:2024*", Unsupported, Some(11), "use a range"),
        (
            "logins_count:1*",
            Unsupported,
            Some(13),
            "wildcards are not supported on logins_count",
        ),
        (
            "logins_count:[1* TO 5]",
            Unsupported,
            Some(14),
            "range bounds",
        ),
        ("name:jane^2", Unsupported, Some(9), "boosting"),
        ("name:jane~", Unsupported, Some(9), "fuzzy"),
        ("_missing_:name", Unsupported, Some(0), "_missing_"),
        ("*:jane", Unsupported, Some(0), "'*:'"),
        ("na*e:jane", Unsupported, Some(0), "field names"),
        ("logins_count:abc", InvalidValue, Some(13), "not an integer"),
        (
            "logins_count:[1 TO x]",
            InvalidValue,
            Some(19),
            "not an integer",
        ),
        (
            "logins_count:99999999999999999999",
            InvalidValue,
            Some(13),
            "not an integer",
        ),
        ("blocked:yes", InvalidValue, Some(8), "true or false"),
        (
            "created_at:2024-13-01",
            InvalidValue,
            Some(11),
            "not a valid date",
        ),
        (
            "created_at:2024-02-30",
            InvalidValue,
            Some(11),
            "not a valid date",
        ),
        (
            "created_at:[2024-01-01 TO 2024-01-01T25:00:00Z]",
            InvalidValue,
            Some(26),
            "not a valid date",
        ),
        (
            "created_at:9999-01-01",
            InvalidValue,
            Some(11),
            "not a valid date",
        ),
        (
            "last_login:yesterday",
            InvalidValue,
            Some(11),
            "not a valid date",
        ),
    ];
    for (input, kind, pos, needle) in cases {
        match parse_query(input) {
            Ok(q) => panic!("query {input:?} should fail but gave {q:?}"),
            Err(e) => {
                assert_eq!(e.kind(), kind, "kind for {input:?}: {e}");
                assert_eq!(e.position(), pos, "position for {input:?}: {e}");
                assert!(e.to_string().contains(needle), "message for {input:?}: {e}");
            }
        }
    }
}

#[test]
fn error_display_names_position_and_expectation() {
    let e = parse_query("name:jane AND (email:x OR email:y").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Syntax error at position 33: expected ')' to close the group opened at position 14"
    );
    let e = parse_query("blocked:maybe").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Invalid query at position 8: blocked is either true or false, not 'maybe'"
    );
    let e = parse_query(&"a".repeat(MAX_QUERY_LENGTH + 1)).unwrap_err();
    assert_eq!(e.kind(), SearchErrorKind::TooComplex);
    assert_eq!(e.position(), None);
    assert!(
        e.to_string()
            .starts_with("Invalid query: the query is too long")
    );
}

#[test]
fn positions_are_character_offsets() {
    // 'é' is 2 bytes; the position counts characters.
    let e = parse_query("name:é AND (x").unwrap_err();
    assert_eq!(e.position(), Some(13));
}

#[test]
fn enforces_limits() {
    // Length: exactly the maximum is fine.
    let q = format!("name:{}", "a".repeat(MAX_QUERY_LENGTH - 5));
    assert!(parse_query(&q).is_ok());

    // Depth.
    let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(parse_query(&ok).is_ok());
    let deep = format!(
        "{}a{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let e = parse_query(&deep).unwrap_err();
    assert_eq!(e.kind(), SearchErrorKind::TooComplex);
    assert_eq!(e.position(), Some(MAX_DEPTH));
    let very_deep = "(".repeat(2000);
    assert_eq!(
        parse_query(&very_deep).unwrap_err().kind(),
        SearchErrorKind::TooComplex
    );
    let field_groups = "name:(".repeat(40);
    assert_eq!(
        parse_query(&field_groups).unwrap_err().kind(),
        SearchErrorKind::TooComplex
    );

    // Clauses.
    let ok = vec!["a"; MAX_CLAUSES].join(" ");
    assert!(parse_query(&ok).is_ok());
    let many = vec!["a"; MAX_CLAUSES + 1].join(" OR ");
    let e = parse_query(&many).unwrap_err();
    assert_eq!(e.kind(), SearchErrorKind::TooComplex);
    assert!(e.to_string().contains("more than 128 clauses"));

    // Metadata path keys (each one a join in the store's SQL).
    let path = |keys: usize| format!("app_metadata.{}:x", vec!["k"; keys].join("."));
    assert!(parse_query(&path(MAX_PATH_KEYS)).is_ok());
    let e = parse_query(&path(MAX_PATH_KEYS + 1)).unwrap_err();
    assert_eq!(e.kind(), SearchErrorKind::TooComplex);
    assert!(
        e.to_string()
            .contains("has 33 keys; at most 32 are searchable"),
        "{e}"
    );

    // Long prefix chains are handled iteratively.
    let nots = format!("{}a", "NOT ".repeat(500));
    assert_eq!(parse_query(&nots).unwrap(), any("a"));
    let minuses = format!("{}a", "-".repeat(2001));
    assert_eq!(parse_query(&minuses).unwrap(), not(any("a")));
}

#[test]
fn dates_cover_intervals() {
    let d = DateValue::parse("2024-12-31").unwrap();
    assert_eq!(d.start_text(), "2024-12-31T00:00:00.000Z");
    assert_eq!(d.end_text(), "2025-01-01T00:00:00.000Z");
    let t = DateValue::parse("2024-03-01T01:30:00+02:00").unwrap();
    assert_eq!(t.start_text(), "2024-02-29T23:30:00.000Z");
    assert_eq!(t.end_text(), "2024-02-29T23:30:00.001Z");
    let t = DateValue::parse("2024-01-01T00:00:00.1234Z").unwrap();
    assert_eq!(t.start_text(), "2024-01-01T00:00:00.124Z");
    assert_eq!(t.end_text(), "2024-01-01T00:00:00.124Z");
    let t = DateValue::parse("2024-01-01T10:00").unwrap();
    assert_eq!(t.start_text(), "2024-01-01T10:00:00.000Z");
    for ok in [
        "2024-01-01T10:00:00-0530",
        "2024-01-01t10:00:00z",
        "2024-01-01T10:00:00,5+01",
    ] {
        assert!(DateValue::parse(ok).is_some(), "{ok}");
    }
    for bad in [
        "2024-1-01",
        "2024-01-01T",
        "2024-01-01T10",
        "2024-01-01T10:00:00.Z",
        "2024-01-01T10:00:00+24:00",
        "2024-01-01T10:00:00.1234567890Z",
        "0000-01-01",
        "+2024-01-01",
        "２０２４-01-01",
    ] {
        assert!(DateValue::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn parses_sort() {
    let cases = [
        ("created_at:1", SortField::CreatedAt, SortOrder::Ascending),
        ("created_at:-1", SortField::CreatedAt, SortOrder::Descending),
        ("email:1", SortField::Email, SortOrder::Ascending),
        (
            "logins_count:-1",
            SortField::LoginsCount,
            SortOrder::Descending,
        ),
        ("user_id:1", SortField::UserId, SortOrder::Ascending),
        ("last_login:-1", SortField::LastLogin, SortOrder::Descending),
    ];
    for (input, field, order) in cases {
        let s = parse_sort(input).unwrap();
        assert_eq!(s, Sort { field, order });
        assert_eq!(s.to_string(), input);
    }
    for f in SortField::ALL {
        assert_eq!(parse_sort(&format!("{}:1", f.name())).unwrap().field, f);
    }
    let bad = [
        ("", SearchErrorKind::Syntax, 0),
        ("created_at", SearchErrorKind::Syntax, 10),
        ("created_at:", SearchErrorKind::Syntax, 11),
        ("created_at:2", SearchErrorKind::Syntax, 11),
        ("created_at:-1 ", SearchErrorKind::Syntax, 11),
        (":1", SearchErrorKind::Syntax, 0),
        ("créé:1", SearchErrorKind::Syntax, 2),
        ("app_metadata.x:1", SearchErrorKind::Unsupported, 0),
        ("user_metadata:1", SearchErrorKind::Unsupported, 0),
        ("email.domain:1", SearchErrorKind::UnknownField, 0),
        ("password:1", SearchErrorKind::UnknownField, 0),
    ];
    for (input, kind, pos) in bad {
        let e = parse_sort(input).unwrap_err();
        assert_eq!(
            (e.kind(), e.position()),
            (kind, Some(pos)),
            "{input:?}: {e}"
        );
    }
}

#[test]
fn number_literals() {
    for ok in ["0", "-1", "1.5", "1e3", "-2.5E-10", "1e300", "007"] {
        assert!(is_number_literal(ok), "{ok}");
    }
    for bad in [
        "", "-", "1.", ".5", "1e", "1e301", "1e1000", "+1", "0x10", "1_000", "NaN", "inf", "1 ",
    ] {
        assert!(!is_number_literal(bad), "{bad}");
    }
}

/// A tiny deterministic PRNG (xorshift64*), so the fuzz loop needs no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random and hostile inputs never panic, and every error has a sane position.
#[test]
fn never_panics_on_hostile_input() {
    const TOKENS: &[&str] = &[
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "\"",
        "\\",
        ":",
        "*",
        "?",
        " ",
        "  ",
        "\t",
        "\n",
        "AND",
        "OR",
        "NOT",
        "TO",
        "&&",
        "||",
        "!",
        "-",
        "+",
        "^",
        "~",
        "/",
        "_exists_",
        "_missing_",
        "name",
        "email",
        "email.domain",
        "app_metadata",
        "app_metadata.a",
        "user_metadata.b",
        "created_at",
        "last_login",
        "logins_count",
        "blocked",
        "true",
        "2024-01-01",
        "2024-01-01T10:00:00Z",
        "1",
        "-1",
        "1.5",
        "abc",
        "é",
        "😀",
        "\u{0}",
        "'",
        ";",
        "%",
        "_",
        "'; DROP TABLE users; --",
        ">",
        ">=",
        "<",
        "<=",
        ".",
        "..",
        "TO*",
        "9999-12-31",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..40_000 {
        let n = rng.below(24);
        let mut q = String::new();
        for _ in 0..n {
            if rng.below(10) == 0 {
                // A random char, including control and non-ASCII ones.
                let c = char::from_u32((rng.next() % 0x3000) as u32).unwrap_or('x');
                q.push(c);
            } else {
                q.push_str(TOKENS[rng.below(TOKENS.len())]);
            }
        }
        check_no_panic(&q);
    }
    for q in [
        "(".repeat(5000),
        ")".repeat(5000),
        "\"".repeat(5000),
        "\\".repeat(2047),
        "[".repeat(3000),
        "NOT ".repeat(600),
        "a:".repeat(1000),
        "name:(".repeat(500),
        "*".repeat(2048),
        format!("{}x", "-".repeat(2047)),
        "a AND ".repeat(400),
    ] {
        check_no_panic(&q);
    }
}

fn check_no_panic(q: &str) {
    let result = std::panic::catch_unwind(|| parse_query(q));
    match result {
        Err(_) => panic!("parse_query panicked on {q:?}"),
        Ok(Err(e)) => {
            if let Some(p) = e.position() {
                assert!(
                    p <= q.chars().count(),
                    "position {p} out of range for {q:?}"
                );
            }
            assert!(!e.message().is_empty());
        }
        Ok(Ok(_)) => {}
    }
    let _ = std::panic::catch_unwind(|| parse_sort(q))
        .unwrap_or_else(|_| panic!("parse_sort panicked on {q:?}"));
}
