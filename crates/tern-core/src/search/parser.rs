//! Recursive-descent parser for the Lucene subset of Auth0's user search v3.

use std::marker::PhantomData;
use std::ops::Bound;

use super::ast::{Condition, Field, FieldKind, Pattern, PatternPart, Query, Value};
use super::date::DateValue;
use super::error::{SearchError, SearchErrorKind};
use super::vocabulary::{Users, Vocabulary};

/// Longest accepted query, in characters.
pub const MAX_QUERY_LENGTH: usize = 2048;
/// Deepest accepted nesting of parentheses (including `field:( … )`).
pub const MAX_DEPTH: usize = 32;
/// Most clauses (field conditions, bare terms, `_exists_`) in one query.
pub const MAX_CLAUSES: usize = 128;
/// Most keys in one metadata path (`app_metadata.a.b` has two): each key is
/// a join in the store's SQL, and SQLite refuses a statement of more than
/// 200 of them — a limit a query of 2 048 characters can otherwise reach.
pub const MAX_PATH_KEYS: usize = 32;

/// The fields named in "unknown field" errors.
const FIELD_LIST: &str = "email, email.domain, name, given_name, family_name, nickname, username, \
user_id, identities.connection, phone_number, created_at, updated_at, last_login, logins_count, \
blocked, email_verified, app_metadata.<path>, user_metadata.<path>";

/// Parses a `q` parameter (Auth0 search engine v3 syntax) into a [`Query`].
///
/// Grammar, loosest binding first (keywords are upper-case and must stand
/// alone; `&&`, `||`, `!` are synonyms of `AND`, `OR`, `NOT`):
///
/// ```text
/// query    := sequence ( ("OR" | "||") sequence )*
/// sequence := conj conj*                         (juxtaposition, Lucene occur rules)
/// conj     := unary ( ("AND" | "&&") unary )*
/// unary    := ("NOT" | "!" | "-" | "+")* primary
/// primary  := "(" query ")" | field ":" value | "_exists_:" field | term | "\"…\""
/// value    := term | "\"…\"" | "*" | range | (">"|">="|"<"|"<=") bound | "(" query ")"
/// range    := ("[" | "{") bound "TO" bound ("]" | "}")        bound := term | "\"…\"" | "*"
/// ```
///
/// * Juxtaposed clauses use Lucene's default operator **OR**, with Lucene's
///   occur rules: `a b` is `a OR b`, `a -b` is `a AND NOT b`, `+a b` is `a`
///   (`b` would only affect scoring); a sequence of only negated clauses
///   matches every user except those.
/// * `AND` binds tighter than juxtaposition, which binds tighter than `OR`
///   (so `a AND b OR c` is `(a AND b) OR c`; classic Lucene differs here).
/// * A term without a field matches any of [`super::DEFAULT_FIELDS`];
///   `field:( … )` applies the field to the bare terms inside.
/// * Unquoted terms may contain `*` (any run) and `?` (one character);
///   a term starting with a wildcard needs at least 3 literal characters.
///   Quoted values are literal. `\` escapes the next character anywhere.
///   `field:*` means `_exists_:field`; `*` and `*:*` alone match all users.
/// * The empty (or all-blank) query matches all users.
/// * `^` (boost), `~` (fuzzy/proximity) and `_missing_` are rejected.
pub fn parse_query(q: &str) -> Result<Query, SearchError> {
    parse_query_in::<Users>(q)
}

/// Parses a query over `V`'s fields, with [`parse_query`]'s grammar and
/// limits.
pub fn parse_query_in<V: Vocabulary>(q: &str) -> Result<Query<V::Field>, SearchError> {
    let len = q.chars().count();
    if len > MAX_QUERY_LENGTH {
        return Err(SearchError::new(
            SearchErrorKind::TooComplex,
            None,
            format!(
                "the query is too long ({len} characters; at most {MAX_QUERY_LENGTH} are allowed)"
            ),
        ));
    }
    if let Some(p) = q.chars().position(|c| c == '\0') {
        return Err(SearchError::syntax(p, "NUL characters are not allowed"));
    }
    let mut p = Parser::<V> {
        s: q.chars().collect(),
        pos: 0,
        depth: 0,
        clauses: 0,
        vocabulary: PhantomData,
    };
    p.skip_ws();
    if p.at_end() {
        return Ok(Query::MatchAll);
    }
    let query = p.parse_or(None)?;
    p.skip_ws();
    match p.peek() {
        None => Ok(query),
        Some(')') => Err(SearchError::syntax(
            p.pos,
            "unexpected ')': no group is open",
        )),
        Some(c) => Err(SearchError::syntax(p.pos, format!("unexpected '{c}'"))),
    }
}

/// Lucene clause occurrence.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Occur {
    Should,
    Must,
    MustNot,
}

/// Where a raw term is being read, which decides the characters ending it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TermMode {
    /// A bare term or a field name: `:` ends it.
    Name,
    /// A value after `field:` or a range bound: `:` is literal (timestamps).
    Value,
}

struct Parser<V> {
    s: Vec<char>,
    pos: usize,
    depth: usize,
    clauses: usize,
    vocabulary: PhantomData<V>,
}

impl<V: Vocabulary> Parser<V> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn at_group_end(&self) -> bool {
        matches!(self.peek(), None | Some(')'))
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Whether the keyword `kw` stands at the cursor, followed by a boundary.
    fn keyword_at(&self, kw: &str) -> bool {
        let n = kw.chars().count();
        let matches = kw
            .chars()
            .enumerate()
            .all(|(i, c)| self.s.get(self.pos + i) == Some(&c));
        matches
            && match self.s.get(self.pos + n) {
                None => true,
                Some(c) => c.is_whitespace() || matches!(c, '(' | '"'),
            }
    }

    fn symbol_at(&self, sym: &str) -> bool {
        sym.chars()
            .enumerate()
            .all(|(i, c)| self.s.get(self.pos + i) == Some(&c))
    }

    fn at_or(&self) -> bool {
        self.keyword_at("OR") || self.symbol_at("||")
    }

    fn at_and(&self) -> bool {
        self.keyword_at("AND") || self.symbol_at("&&")
    }

    fn eat_operator(&mut self, at: bool) -> bool {
        if at {
            self.pos += 2 + usize::from(self.peek() == Some('A'));
        }
        at
    }

    fn count_clause(&mut self, pos: usize) -> Result<(), SearchError> {
        self.clauses += 1;
        if self.clauses > MAX_CLAUSES {
            return Err(SearchError::new(
                SearchErrorKind::TooComplex,
                Some(pos),
                format!("the query has more than {MAX_CLAUSES} clauses"),
            ));
        }
        Ok(())
    }

    fn parse_or(&mut self, default: Option<&V::Field>) -> Result<Query<V::Field>, SearchError> {
        let mut alternatives = Vec::new();
        loop {
            alternatives.push(self.parse_sequence(default)?);
            self.skip_ws();
            let op = self.pos;
            let at_or = self.at_or();
            if !self.eat_operator(at_or) {
                break;
            }
            self.skip_ws();
            if self.at_group_end() || self.at_or() || self.at_and() {
                return Err(SearchError::syntax(op, "expected a search term after 'OR'"));
            }
        }
        Ok(or(alternatives))
    }

    fn parse_sequence(
        &mut self,
        default: Option<&V::Field>,
    ) -> Result<Query<V::Field>, SearchError> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.at_group_end() || self.at_or() {
                break;
            }
            if self.at_and() {
                return Err(SearchError::syntax(
                    self.pos,
                    "expected a search term before 'AND'",
                ));
            }
            items.push(self.parse_conjunction(default)?);
        }
        if items.is_empty() {
            let what = match self.peek() {
                None => "expected a search term",
                Some(')') => "expected a search term before ')'",
                Some(_) => "expected a search term before 'OR'",
            };
            return Err(SearchError::syntax(self.pos, what));
        }
        Ok(combine(items))
    }

    fn parse_conjunction(
        &mut self,
        default: Option<&V::Field>,
    ) -> Result<(Occur, Query<V::Field>), SearchError> {
        let first = self.parse_unary(default)?;
        let mut conj = vec![first];
        loop {
            let save = self.pos;
            self.skip_ws();
            let op = self.pos;
            let at_and = self.at_and();
            if !self.eat_operator(at_and) {
                self.pos = save;
                break;
            }
            self.skip_ws();
            if self.at_group_end() || self.at_or() || self.at_and() {
                return Err(SearchError::syntax(
                    op,
                    "expected a search term after 'AND'",
                ));
            }
            conj.push(self.parse_unary(default)?);
        }
        if conj.len() == 1
            && let Some(only) = conj.pop()
        {
            return Ok(only);
        }
        let parts = conj
            .into_iter()
            .map(|(o, q)| if o == Occur::MustNot { not(q) } else { q });
        Ok((Occur::Should, and(parts.collect())))
    }

    fn parse_unary(
        &mut self,
        default: Option<&V::Field>,
    ) -> Result<(Occur, Query<V::Field>), SearchError> {
        let mut negate = false;
        let mut must = false;
        loop {
            self.skip_ws();
            let p = self.pos;
            let op = if self.keyword_at("NOT") {
                self.pos += 3;
                negate = !negate;
                "NOT"
            } else {
                match self.peek() {
                    Some('!') => {
                        self.pos += 1;
                        negate = !negate;
                        "!"
                    }
                    Some('-') => {
                        self.pos += 1;
                        negate = !negate;
                        "-"
                    }
                    Some('+') => {
                        self.pos += 1;
                        must = true;
                        "+"
                    }
                    _ => break,
                }
            };
            self.skip_ws();
            if self.at_group_end() || self.at_or() || self.at_and() {
                return Err(SearchError::syntax(
                    p,
                    format!("expected a search term after '{op}'"),
                ));
            }
        }
        let q = self.parse_primary(default)?;
        let occur = if negate {
            Occur::MustNot
        } else if must {
            Occur::Must
        } else {
            Occur::Should
        };
        Ok((occur, q))
    }

    fn parse_primary(
        &mut self,
        default: Option<&V::Field>,
    ) -> Result<Query<V::Field>, SearchError> {
        let start = self.pos;
        match self.peek() {
            None => Err(SearchError::syntax(start, "expected a search term")),
            Some('(') => self.parse_group(default),
            Some('"') => {
                let text = self.read_quoted()?;
                self.exact(default, text, start)
            }
            Some('[' | '{') => match default {
                Some(f) => self.parse_range(f.clone()),
                None => Err(SearchError::syntax(
                    start,
                    "a range needs a field, e.g. logins_count:[1 TO 10]",
                )),
            },
            Some(c @ (')' | ']' | '}' | ':')) => {
                Err(SearchError::syntax(start, format!("unexpected '{c}'")))
            }
            Some(_) => self.parse_term_or_field(default),
        }
    }

    fn parse_group(&mut self, default: Option<&V::Field>) -> Result<Query<V::Field>, SearchError> {
        let open = self.pos;
        self.pos += 1;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SearchError::new(
                SearchErrorKind::TooComplex,
                Some(open),
                format!("parentheses are nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.skip_ws();
        if self.peek() == Some(')') {
            return Err(SearchError::syntax(
                self.pos,
                "expected a search term inside '()'",
            ));
        }
        let q = self.parse_or(default)?;
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(SearchError::syntax(
                self.pos,
                format!("expected ')' to close the group opened at position {open}"),
            ));
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(q)
    }

    fn parse_term_or_field(
        &mut self,
        default: Option<&V::Field>,
    ) -> Result<Query<V::Field>, SearchError> {
        let start = self.pos;
        let parts = self.read_term(TermMode::Name)?;
        if self.peek() != Some(':') {
            if parts.is_empty() {
                let c = self.peek().map(String::from).unwrap_or_default();
                return Err(SearchError::syntax(self.pos, format!("unexpected '{c}'")));
            }
            return self.term_query(default, parts, start);
        }
        if parts.is_empty() {
            return Err(SearchError::syntax(self.pos, "unexpected ':'"));
        }
        let name = match literal(&parts) {
            Some(name) => name,
            None if parts == [PatternPart::AnyChars] => "*".to_owned(),
            None => {
                return Err(SearchError::new(
                    SearchErrorKind::Unsupported,
                    Some(start),
                    "wildcards are not allowed in field names",
                ));
            }
        };
        self.pos += 1; // ':'
        match name.as_str() {
            "*" => {
                let v = self.pos;
                if self.peek() == Some('*')
                    && self
                        .s
                        .get(v + 1)
                        .is_none_or(|c| c.is_whitespace() || *c == ')')
                {
                    self.pos += 1;
                    self.count_clause(start)?;
                    return Ok(Query::MatchAll);
                }
                Err(SearchError::new(
                    SearchErrorKind::Unsupported,
                    Some(start),
                    "'*:' (all fields) is only supported as '*:*'; use a term without a field instead",
                ))
            }
            "_exists_" => self.parse_exists(),
            "_missing_" => Err(SearchError::new(
                SearchErrorKind::Unsupported,
                Some(start),
                "_missing_ is not supported; use NOT _exists_:field",
            )),
            _ => {
                let field = V::field(&name, start)?;
                self.parse_value(field)
            }
        }
    }

    fn parse_exists(&mut self) -> Result<Query<V::Field>, SearchError> {
        self.skip_ws();
        let p = self.pos;
        let parts = self.read_term(TermMode::Name)?;
        if parts.is_empty() {
            return Err(SearchError::syntax(
                p,
                "expected a field name after '_exists_:'",
            ));
        }
        let Some(name) = literal(&parts) else {
            return Err(SearchError::new(
                SearchErrorKind::Unsupported,
                Some(p),
                "wildcards are not allowed in field names",
            ));
        };
        let field = V::field(&name, p)?;
        self.count_clause(p)?;
        Ok(Query::Exists(field))
    }

    fn parse_value(&mut self, field: V::Field) -> Result<Query<V::Field>, SearchError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            None | Some(')') => Err(SearchError::syntax(
                start,
                format!("expected a value after '{field}:'"),
            )),
            Some('(') => self.parse_group(Some(&field)),
            Some('"') => {
                let text = self.read_quoted()?;
                self.exact(Some(&field), text, start)
            }
            Some('[' | '{') => self.parse_range(field),
            Some('>' | '<') => self.parse_comparison(field),
            Some(c @ (']' | '}')) => Err(SearchError::syntax(start, format!("unexpected '{c}'"))),
            Some(_) => {
                let parts = self.read_term(TermMode::Value)?;
                if parts.is_empty() {
                    return Err(SearchError::syntax(
                        start,
                        format!("expected a value after '{field}:'"),
                    ));
                }
                self.term_query(Some(&field), parts, start)
            }
        }
    }

    /// `field:>=v`, `field:<v`, … (Elasticsearch shorthand for open ranges).
    fn parse_comparison(&mut self, field: V::Field) -> Result<Query<V::Field>, SearchError> {
        let start = self.pos;
        let greater = self.peek() == Some('>');
        self.pos += 1;
        let inclusive = self.peek() == Some('=');
        if inclusive {
            self.pos += 1;
        }
        let Some(bound) = self.read_bound(start)? else {
            return Err(SearchError::syntax(
                start,
                "expected a value after the comparison",
            ));
        };
        let b = if inclusive {
            Bound::Included(bound)
        } else {
            Bound::Excluded(bound)
        };
        if greater {
            self.range_leaf(field, b, Bound::Unbounded, start)
        } else {
            self.range_leaf(field, Bound::Unbounded, b, start)
        }
    }

    fn parse_range(&mut self, field: V::Field) -> Result<Query<V::Field>, SearchError> {
        let open = self.pos;
        let low_inclusive = self.peek() == Some('[');
        self.pos += 1;
        self.skip_ws();
        let low = self.read_bound(open)?;
        self.skip_ws();
        if !self.keyword_at("TO") {
            return Err(SearchError::syntax(
                self.pos,
                format!("expected 'TO' in the range opened at position {open}"),
            ));
        }
        self.pos += 2;
        self.skip_ws();
        let high = self.read_bound(open)?;
        self.skip_ws();
        let high_inclusive = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => {
                return Err(SearchError::syntax(
                    self.pos,
                    format!("expected ']' or '}}' to close the range opened at position {open}"),
                ));
            }
        };
        self.pos += 1;
        let wrap = |b: Option<(String, usize)>, inclusive: bool| match b {
            None => Bound::Unbounded,
            Some(v) if inclusive => Bound::Included(v),
            Some(v) => Bound::Excluded(v),
        };
        self.range_leaf(
            field,
            wrap(low, low_inclusive),
            wrap(high, high_inclusive),
            open,
        )
    }

    /// A range bound with its position; `None` for `*`.
    fn read_bound(&mut self, open: usize) -> Result<Option<(String, usize)>, SearchError> {
        let p = self.pos;
        match self.peek() {
            Some('"') => Ok(Some((self.read_quoted()?, p))),
            None | Some(']' | '}' | ')') => Err(SearchError::syntax(
                p,
                format!("expected a range bound (a value or *) for the range at position {open}"),
            )),
            Some(_) => {
                let parts = self.read_term(TermMode::Value)?;
                if parts.is_empty() {
                    let c = self.peek().map(String::from).unwrap_or_default();
                    return Err(SearchError::syntax(
                        p,
                        format!("unexpected '{c}' in a range"),
                    ));
                }
                if parts == [PatternPart::AnyChars] {
                    return Ok(None);
                }
                match literal(&parts) {
                    Some(v) => Ok(Some((v, p))),
                    None => Err(SearchError::new(
                        SearchErrorKind::Unsupported,
                        Some(p),
                        "wildcards are not allowed in range bounds (use * alone for an open end)",
                    )),
                }
            }
        }
    }

    fn range_leaf(
        &mut self,
        field: V::Field,
        lower: Bound<(String, usize)>,
        upper: Bound<(String, usize)>,
        pos: usize,
    ) -> Result<Query<V::Field>, SearchError> {
        let unsupported = |msg: String| {
            Err(SearchError::new(
                SearchErrorKind::Unsupported,
                Some(pos),
                msg,
            ))
        };
        match V::kind(&field) {
            FieldKind::UserMetadata => {
                return unsupported("ranges are not supported on user_metadata fields".into());
            }
            FieldKind::Text | FieldKind::CaseInsensitiveText | FieldKind::Boolean => {
                return unsupported(format!(
                    "ranges are only supported on {}, not on {field}",
                    V::RANGE_FIELDS
                ));
            }
            FieldKind::Date | FieldKind::Integer | FieldKind::AppMetadata => {}
        }
        self.count_clause(pos)?;
        if matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded)) {
            return Ok(Query::Exists(field));
        }
        let (lower, upper) = if V::kind(&field) == FieldKind::AppMetadata {
            let numeric = [&lower, &upper].into_iter().all(|b| match b {
                Bound::Included((v, _)) | Bound::Excluded((v, _)) => is_number_literal(v),
                Bound::Unbounded => true,
            });
            let conv = |b: Bound<(String, usize)>| {
                b.map(|(v, _)| {
                    if !numeric {
                        Value::Text(v)
                    } else if let Ok(i) = v.parse::<i64>() {
                        Value::Int(i)
                    } else {
                        Value::Decimal(v)
                    }
                })
            };
            (conv(lower), conv(upper))
        } else {
            (
                typed_bound::<V>(&field, lower)?,
                typed_bound::<V>(&field, upper)?,
            )
        };
        Ok(Query::Field {
            field,
            condition: Condition::Range { lower, upper },
        })
    }

    /// Builds the query for an unquoted term (`parts`) on `default` (or on the
    /// default fields when `None`).
    fn term_query(
        &mut self,
        default: Option<&V::Field>,
        parts: Vec<PatternPart>,
        pos: usize,
    ) -> Result<Query<V::Field>, SearchError> {
        let pattern = Pattern::new(parts);
        if pattern.parts() == [PatternPart::AnyChars] {
            self.count_clause(pos)?;
            return Ok(match default {
                Some(f) => Query::Exists(f.clone()),
                None => Query::MatchAll,
            });
        }
        if !pattern.has_wildcards() {
            let text = literal(pattern.parts()).unwrap_or_default();
            return self.exact(default, text, pos);
        }
        if let Some(f) = default {
            let why = match V::kind(f) {
                FieldKind::Date => Some(format!(
                    "wildcards are not supported on {f}; use a range such as {f}:[2024-01-01 TO 2024-01-31]"
                )),
                FieldKind::Integer | FieldKind::Boolean => {
                    Some(format!("wildcards are not supported on {f}"))
                }
                FieldKind::UserMetadata => {
                    Some("wildcards are not supported on user_metadata fields".to_owned())
                }
                _ => None,
            };
            if let Some(why) = why {
                return Err(SearchError::new(
                    SearchErrorKind::Unsupported,
                    Some(pos),
                    why,
                ));
            }
        }
        if pattern.is_leading_wildcard() && pattern.literal_chars() < 3 {
            return Err(SearchError::new(
                SearchErrorKind::Unsupported,
                Some(pos),
                "a value starting with a wildcard needs at least 3 other characters, e.g. name:*abc",
            ));
        }
        self.count_clause(pos)?;
        let condition = Condition::Wildcard(pattern);
        Ok(match default {
            Some(f) => Query::Field {
                field: f.clone(),
                condition,
            },
            None => Query::AnyField(condition),
        })
    }

    /// `field:"text"` / `field:text` without wildcards.
    fn exact(
        &mut self,
        default: Option<&V::Field>,
        text: String,
        pos: usize,
    ) -> Result<Query<V::Field>, SearchError> {
        self.count_clause(pos)?;
        Ok(match default {
            None => Query::AnyField(Condition::Equals(Value::Text(text))),
            Some(f) => Query::Field {
                field: f.clone(),
                condition: Condition::Equals(typed_value::<V>(f, text, pos)?),
            },
        })
    }

    /// Reads an unquoted term: literal characters (with `\` escapes), `*`, `?`.
    fn read_term(&mut self, mode: TermMode) -> Result<Vec<PatternPart>, SearchError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, '(' | ')' | '"' | '[' | ']' | '{' | '}') {
                break;
            }
            if c == ':' && mode == TermMode::Name {
                break;
            }
            match c {
                '\\' => {
                    let p = self.pos;
                    self.pos += 1;
                    match self.peek() {
                        Some(e) => lit.push(e),
                        None => {
                            return Err(SearchError::syntax(
                                p,
                                "'\\' at the end of the query: it must escape a character",
                            ));
                        }
                    }
                }
                '*' | '?' => {
                    if !lit.is_empty() {
                        parts.push(PatternPart::Literal(std::mem::take(&mut lit)));
                    }
                    parts.push(if c == '*' {
                        PatternPart::AnyChars
                    } else {
                        PatternPart::AnyChar
                    });
                }
                '^' => {
                    return Err(SearchError::new(
                        SearchErrorKind::Unsupported,
                        Some(self.pos),
                        "boosting with '^' is not supported (escape it as \\^ to search for it)",
                    ));
                }
                '~' => {
                    return Err(SearchError::new(
                        SearchErrorKind::Unsupported,
                        Some(self.pos),
                        "fuzzy and proximity search with '~' are not supported (escape it as \\~ to search for it)",
                    ));
                }
                _ => lit.push(c),
            }
            self.pos += 1;
        }
        if !lit.is_empty() {
            parts.push(PatternPart::Literal(lit));
        }
        Ok(parts)
    }

    /// Reads `"…"` (cursor on the opening quote); `\` escapes any character.
    fn read_quoted(&mut self) -> Result<String, SearchError> {
        let open = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(SearchError::syntax(
                        self.pos,
                        format!(
                            "expected '\"' to close the quoted value opened at position {open}"
                        ),
                    ));
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some('\\') => {
                    self.pos += 1;
                    if let Some(c) = self.peek() {
                        s.push(c);
                        self.pos += 1;
                    }
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

/// The text of a pattern without wildcards, `None` if it has any.
fn literal(parts: &[PatternPart]) -> Option<String> {
    let mut s = String::new();
    for p in parts {
        match p {
            PatternPart::Literal(l) => s.push_str(l),
            _ => return None,
        }
    }
    Some(s)
}

pub(super) fn field_from_name(name: &str, pos: usize) -> Result<Field, SearchError> {
    if let Some(f) = Field::from_name(name) {
        return Ok(f);
    }
    let shown = shorten(name);
    let keys = name.split('.').count() - 1;
    let (kind, msg) = if name == "app_metadata" || name == "user_metadata" {
        (
            SearchErrorKind::Unsupported,
            format!("search a path inside {name}, e.g. {name}.plan"),
        )
    } else if (name.starts_with("app_metadata.") || name.starts_with("user_metadata."))
        && keys > MAX_PATH_KEYS
    {
        (
            SearchErrorKind::TooComplex,
            format!(
                "the metadata path '{shown}' has {keys} keys; at most {MAX_PATH_KEYS} are searchable"
            ),
        )
    } else if name.starts_with("app_metadata.") || name.starts_with("user_metadata.") {
        (
            SearchErrorKind::UnknownField,
            format!(
                "invalid metadata path '{shown}': use keys made of letters, digits, '_' and '-', separated by '.'"
            ),
        )
    } else {
        (
            SearchErrorKind::UnknownField,
            format!("unknown field '{shown}'; searchable fields are: {FIELD_LIST}"),
        )
    };
    Err(SearchError::new(kind, Some(pos), msg))
}

fn typed_value<V: Vocabulary>(
    field: &V::Field,
    text: String,
    pos: usize,
) -> Result<Value, SearchError> {
    let invalid = |msg: String| {
        Err(SearchError::new(
            SearchErrorKind::InvalidValue,
            Some(pos),
            msg,
        ))
    };
    match V::kind(field) {
        FieldKind::Text
        | FieldKind::CaseInsensitiveText
        | FieldKind::AppMetadata
        | FieldKind::UserMetadata => Ok(Value::Text(text)),
        FieldKind::Date => match DateValue::parse(&text) {
            Some(d) => Ok(Value::Date(d)),
            None => invalid(format!(
                "'{}' is not a valid date for {field}: use YYYY-MM-DD or an ISO-8601 date-time such as 2024-01-31T12:00:00Z",
                shorten(&text)
            )),
        },
        FieldKind::Integer => match text.parse::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => invalid(format!("'{}' is not an integer ({field})", shorten(&text))),
        },
        FieldKind::Boolean => match text.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => invalid(format!(
                "{field} is either true or false, not '{}'",
                shorten(&text)
            )),
        },
    }
}

fn typed_bound<V: Vocabulary>(
    field: &V::Field,
    b: Bound<(String, usize)>,
) -> Result<Bound<Value>, SearchError> {
    Ok(match b {
        Bound::Included((v, p)) => Bound::Included(typed_value::<V>(field, v, p)?),
        Bound::Excluded((v, p)) => Bound::Excluded(typed_value::<V>(field, v, p)?),
        Bound::Unbounded => Bound::Unbounded,
    })
}

/// Whether `s` is a number literal that metadata values are compared with
/// numerically: `-?digits(.digits)?([eE][+-]?digits)?`, at most 32
/// characters, exponent at most 300 in magnitude (so every backend casts it
/// to a finite number).
pub fn is_number_literal(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 32 {
        return false;
    }
    let mut i = usize::from(b[0] == b'-');
    let run = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if run(&mut i) == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if run(&mut i) == 0 {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        if run(&mut i) == 0 || i - start > 3 {
            return false;
        }
        let exp: u32 = s[start..i].parse().unwrap_or(u32::MAX);
        if exp > 300 {
            return false;
        }
    }
    i == b.len()
}

/// Cuts long user input quoted in error messages.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 60 {
        s.to_owned()
    } else {
        let head: String = s.chars().take(57).collect();
        format!("{head}...")
    }
}

/// Combines juxtaposed clauses with Lucene's occur rules (default operator OR).
fn combine<F>(items: Vec<(Occur, Query<F>)>) -> Query<F> {
    let has_must = items.iter().any(|(o, _)| *o == Occur::Must);
    let mut conj = Vec::new();
    let mut should = Vec::new();
    for (o, q) in items {
        match o {
            Occur::Must => conj.push(q),
            Occur::MustNot => conj.push(not(q)),
            Occur::Should => should.push(q),
        }
    }
    if !has_must && !should.is_empty() {
        conj.push(or(should));
    }
    and(conj)
}

fn and<F>(qs: Vec<Query<F>>) -> Query<F> {
    let mut out = Vec::new();
    for q in qs {
        match q {
            Query::And(v) => out.extend(v),
            Query::MatchAll => {}
            q => out.push(q),
        }
    }
    match out.len() {
        0 => Query::MatchAll,
        1 => out.pop().unwrap_or(Query::MatchAll),
        _ => Query::And(out),
    }
}

fn or<F>(qs: Vec<Query<F>>) -> Query<F> {
    let mut out = Vec::new();
    for q in qs {
        match q {
            Query::Or(v) => out.extend(v),
            Query::MatchAll => return Query::MatchAll,
            q => out.push(q),
        }
    }
    match out.len() {
        0 => Query::MatchAll,
        1 => out.pop().unwrap_or(Query::MatchAll),
        _ => Query::Or(out),
    }
}

fn not<F>(q: Query<F>) -> Query<F> {
    match q {
        Query::Not(inner) => *inner,
        q => Query::Not(Box::new(q)),
    }
}
