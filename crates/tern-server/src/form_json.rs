//! A Management API form body (`application/x-www-form-urlencoded`) read as
//! the JSON object the same request would send, with the bracket syntax of
//! `qs` (which Auth0's form bodies follow): `m[k]=v` sets key `k` of object
//! `m`; `a[]=v` appends to list `a`; `a[0][k]=v` builds a list of objects,
//! numeric indexes naming items in order of first appearance (as `qs`
//! compacts them); a repeated plain key (`a=x&a=y`) becomes a list. Every
//! leaf is a string: a form has no other type.

use serde_json::{Map, Value};

/// Nesting a key may express past its name; deeper is refused, so a hostile
/// body cannot build a deep structure (bodies are size-limited already).
pub const MAX_DEPTH: usize = 5;

/// The most pairs a form may carry: a Management API body names a few
/// fields, and each pair looks for its siblings among those before it, so
/// an unbounded count would cost time quadratic in it.
pub const MAX_PAIRS: usize = 1000;

/// Why a form could not be read as an object; the message names the key.
#[derive(Debug, PartialEq, Eq)]
pub struct FormError(pub String);

/// A parsed form before it becomes JSON: a key's values, or its children in
/// order of first appearance.
enum Node {
    Values(Vec<String>),
    Keys(Vec<(String, Node)>),
}

/// Read decoded form pairs as a JSON object.
pub fn to_json(pairs: Vec<(String, String)>) -> Result<Value, FormError> {
    if pairs.len() > MAX_PAIRS {
        return Err(FormError(format!(
            "the form has {} fields; at most {MAX_PAIRS} are read (send JSON for larger bodies)",
            pairs.len()
        )));
    }
    let mut root = Node::Keys(Vec::new());
    for (key, value) in pairs {
        let path = key_path(&key).ok_or_else(|| {
            FormError(format!(
                "the form key '{key}' is not a name followed by at most {MAX_DEPTH} [key] or [] parts"
            ))
        })?;
        insert(&mut root, &path, value).map_err(|()| {
            FormError(format!(
                "the form key '{key}' contradicts another key of the body (a value and an object, or a list and an object)"
            ))
        })?;
    }
    Ok(render(root))
}

/// `a[b][]` → `["a", "b", ""]`; `None` for stray brackets or too deep a key.
fn key_path(key: &str) -> Option<Vec<&str>> {
    let (head, mut rest) = key.find('[').map_or((key, ""), |i| key.split_at(i));
    if head.is_empty() || head.contains(']') {
        return None;
    }
    let mut path = vec![head];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        if inner[..end].contains('[') {
            return None;
        }
        path.push(&inner[..end]);
        rest = &inner[end + 1..];
    }
    (path.len() <= MAX_DEPTH + 1).then_some(path)
}

fn is_index(part: &str) -> bool {
    part.bytes().all(|b| b.is_ascii_digit())
}

fn insert(node: &mut Node, path: &[&str], value: String) -> Result<(), ()> {
    let Node::Keys(children) = node else {
        return Err(());
    };
    let Some((part, rest)) = path.split_first() else {
        return Err(());
    };
    // `[]` always starts a new item; any other part finds its earlier self.
    let found = if part.is_empty() {
        None
    } else {
        children.iter().position(|(k, _)| k == part)
    };
    let child = match found {
        Some(i) => &mut children[i].1,
        None => {
            let fresh = if rest.is_empty() {
                Node::Values(Vec::new())
            } else {
                Node::Keys(Vec::new())
            };
            children.push(((*part).to_string(), fresh));
            &mut children.last_mut().ok_or(())?.1
        }
    };
    match (rest.is_empty(), child) {
        (true, Node::Values(values)) => {
            values.push(value);
            Ok(())
        }
        (false, child @ Node::Keys(_)) => insert(child, rest, value),
        _ => Err(()),
    }
}

/// Keys that are all indexes (or `[]`) make a list, others an object; one
/// value is a string, repeated values a list of strings.
fn render(node: Node) -> Value {
    match node {
        Node::Values(mut values) if values.len() == 1 => Value::String(values.remove(0)),
        Node::Values(values) => Value::Array(values.into_iter().map(Value::String).collect()),
        Node::Keys(children)
            if !children.is_empty() && children.iter().all(|(k, _)| is_index(k)) =>
        {
            Value::Array(children.into_iter().map(|(_, n)| render(n)).collect())
        }
        Node::Keys(children) => Value::Object(
            children
                .into_iter()
                .map(|(k, n)| (k, render(n)))
                .collect::<Map<String, Value>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(form: &[(&str, &str)]) -> Result<Value, FormError> {
        to_json(
            form.iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        )
    }

    #[test]
    fn shapes() {
        let cases: &[(&[(&str, &str)], Value)] = &[
            (&[("name", "admin")], json!({"name": "admin"})),
            (
                &[("m[a]", "1"), ("m[b]", "2")],
                json!({"m": {"a": "1", "b": "2"}}),
            ),
            (
                &[("ids[]", "x"), ("ids[]", "y")],
                json!({"ids": ["x", "y"]}),
            ),
            (&[("ids", "x"), ("ids", "y")], json!({"ids": ["x", "y"]})),
            (
                &[("ids[3]", "x"), ("ids[7]", "y")],
                json!({"ids": ["x", "y"]}),
            ),
            (
                &[
                    ("p[0][n]", "read"),
                    ("p[0][r]", "api"),
                    ("p[1][n]", "write"),
                    ("p[1][r]", "api"),
                ],
                json!({"p": [{"n": "read", "r": "api"}, {"n": "write", "r": "api"}]}),
            ),
            (&[("m[a b]", "c d")], json!({"m": {"a b": "c d"}})),
        ];
        for (form, want) in cases {
            assert_eq!(read(form).as_ref(), Ok(want), "{form:?}");
        }
    }

    #[test]
    fn refusals() {
        let cases: &[&[(&str, &str)]] = &[
            &[("m", "x"), ("m[a]", "y")],
            &[("m[a]", "y"), ("m", "x")],
            &[("[a]", "x")],
            &[("a[b", "x")],
            &[("a]b", "x")],
            &[("a[b]c", "x")],
            &[("a[1][2][3][4][5][6]", "x")],
        ];
        for form in cases {
            assert!(read(form).is_err(), "{form:?}");
        }
        let many: Vec<(String, String)> = (0..=MAX_PAIRS)
            .map(|i| (format!("a[{i}]"), "x".to_string()))
            .collect();
        assert!(
            to_json(many[1..].to_vec()).is_ok(),
            "the limit itself is read"
        );
        assert!(to_json(many).is_err(), "one past the limit is refused");
    }
}
