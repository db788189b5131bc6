//! The Management API's log listing parameters (`GET /api/v2/logs`,
//! `GET /api/v2/users/{id}/logs`): the subset of Auth0's log search Tern
//! answers from an index, `sort` and `fields`. Each refusal names what was
//! wrong and what is accepted.

/// The fields Auth0's log `sort` and `fields` patterns name.
pub const LOG_FIELDS: &[&str] = &[
    "date",
    "connection",
    "client_id",
    "client_name",
    "ip",
    "user_id",
    "user_name",
    "description",
    "user_agent",
    "type",
    "details",
    "strategy",
    "strategy_type",
];

/// A parsed `q`: every term must hold (terms are joined by `AND`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSearch {
    /// `type:<code>`.
    pub kind: Option<String>,
    /// `user_id:"<id>"`.
    pub user_id: Option<String>,
}

/// Parse a log search: `type:<code>` and `user_id:"<id>"` (values quoted or
/// not), one of each at most, joined by `AND`. Empty: everything.
pub fn parse_log_search(q: &str) -> Result<LogSearch, String> {
    let mut out = LogSearch::default();
    let q = q.trim();
    if q.is_empty() {
        return Ok(out);
    }
    for term in q.split(" AND ").map(str::trim) {
        let unsupported = || {
            format!(
                "log search supports type:<code> and user_id:\"<id>\", joined by AND; got '{}'",
                shorten(term)
            )
        };
        let (field, value) = term.split_once(':').ok_or_else(unsupported)?;
        let value = unquote(value).ok_or_else(unsupported)?;
        let slot = match field {
            "type" => {
                if !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(format!(
                        "'{}' is not a log event type (letters, digits and '_')",
                        shorten(value)
                    ));
                }
                &mut out.kind
            }
            "user_id" => &mut out.user_id,
            _ => return Err(unsupported()),
        };
        if slot.replace(value.to_string()).is_some() {
            return Err(format!("{field} is given twice; a log event has one"));
        }
    }
    Ok(out)
}

/// A value as written, or between double quotes (no quote inside); never
/// empty.
fn unquote(v: &str) -> Option<&str> {
    let v = match v.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"')?,
        None => v,
    };
    (!v.is_empty() && !v.contains('"') && !v.contains(char::is_whitespace)).then_some(v)
}

/// At most 60 characters of something quoted back in a message.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// `sort`: whether the listing is oldest first. Only the date orders Tern's
/// log (the order events were written); Auth0's other sort fields are
/// refused by name.
pub fn parse_log_sort(sort: Option<&str>) -> Result<bool, String> {
    let Some(sort) = sort.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(false);
    };
    let malformed = || {
        format!(
            "'{}' is not a sort: use a field and 1 (ascending) or -1 (descending), e.g. date:-1",
            shorten(sort)
        )
    };
    let (field, direction) = sort.split_once(':').ok_or_else(malformed)?;
    let ascending = match direction {
        "1" => true,
        "-1" => false,
        _ => return Err(malformed()),
    };
    match field {
        "date" => Ok(ascending),
        f if LOG_FIELDS.contains(&f) => Err(format!(
            "sorting logs by {f} is not supported; sort by date:1 or date:-1"
        )),
        _ => Err(malformed()),
    }
}

/// `fields`: each must be one of [`LOG_FIELDS`] (`log_id` too: it is
/// always kept, so a reader can page on).
pub fn check_log_fields(fields: &[String]) -> Result<(), String> {
    match fields
        .iter()
        .find(|f| f.as_str() != "log_id" && !LOG_FIELDS.contains(&f.as_str()))
    {
        Some(f) => Err(format!(
            "'{}' is not a log field; fields are: {}",
            shorten(f),
            LOG_FIELDS.join(", ")
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(kind: Option<&str>, user: Option<&str>) -> LogSearch {
        LogSearch {
            kind: kind.map(str::to_string),
            user_id: user.map(str::to_string),
        }
    }

    #[test]
    fn searches_by_type_and_user() {
        assert_eq!(parse_log_search(" ").unwrap(), search(None, None));
        assert_eq!(
            parse_log_search("type:fp").unwrap(),
            search(Some("fp"), None)
        );
        assert_eq!(
            parse_log_search("type:\"s\"").unwrap(),
            search(Some("s"), None)
        );
        assert_eq!(
            parse_log_search("user_id:\"auth0|abc\" AND type:s").unwrap(),
            search(Some("s"), Some("auth0|abc"))
        );
        assert_eq!(
            parse_log_search("user_id:auth0|abc").unwrap(),
            search(None, Some("auth0|abc"))
        );
    }

    #[test]
    fn refuses_what_it_cannot_answer_and_says_what_it_can() {
        for (q, says) in [
            ("date:[2020 TO *]", "supports type:<code> and user_id"),
            ("type:s OR type:f", "supports type:<code>"),
            ("type:s type:f", "supports type:<code>"),
            ("type:", "supports type:<code>"),
            ("user_id:\"a b\"", "supports type:<code>"),
            ("type:s AND type:f", "type is given twice"),
            ("type:s-x", "is not a log event type"),
            ("user_id:\"unterminated", "supports type:<code>"),
        ] {
            let e = parse_log_search(q).unwrap_err();
            assert!(e.contains(says), "{q}: {e}");
        }
        let long = format!("ip:{}", "1".repeat(500));
        assert!(parse_log_search(&long).unwrap_err().len() < 200);
    }

    #[test]
    fn sorts_by_date_only() {
        assert!(!parse_log_sort(None).unwrap());
        assert!(parse_log_sort(Some("date:1")).unwrap());
        assert!(!parse_log_sort(Some("date:-1")).unwrap());
        assert!(
            parse_log_sort(Some("type:1"))
                .unwrap_err()
                .contains("sorting logs by type is not supported")
        );
        for bad in ["date:2", "date", "nope:1", "date:-1:1"] {
            assert!(
                parse_log_sort(Some(bad))
                    .unwrap_err()
                    .contains("is not a sort"),
                "{bad}"
            );
        }
    }

    #[test]
    fn fields_are_log_fields() {
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_log_fields(&f(&["date", "type", "log_id"])).is_ok());
        assert!(
            check_log_fields(&f(&["date", "password"]))
                .unwrap_err()
                .contains("'password' is not a log field")
        );
    }
}
