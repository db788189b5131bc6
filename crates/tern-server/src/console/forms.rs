//! Form pieces the console's editing pages share: labelled fields (every
//! input has a `<label>`, hints tied by `aria-describedby`), checkboxes,
//! tab bars, the outcome messages after a change, and reading lists typed
//! one per line. Their stylesheet is [`FORMS_CSS`] (in the layout's CSP).

use maud::{Markup, html};
use serde::Deserialize;

use super::csrf;
use super::session::Operator;

/// Styles for forms, tabs, editors and result panels; one column on a phone.
pub const FORMS_CSS: &str = ".console textarea{display:block;width:100%;min-height:16rem;padding:.6rem .7rem;font:.88rem/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--text);border:1px solid var(--border);border-radius:8px;tab-size:2}\
.console textarea.short{min-height:5.5rem;font-family:inherit;font-size:.95rem}\
.console select,.console input[type=number],.console input[type=url]{display:block;width:100%;padding:.65rem .75rem;font:inherit;color:var(--text);border:1px solid var(--border);border-radius:8px;background:#fff}\
.console textarea:focus,.console select:focus{outline:3px solid var(--primary);outline-offset:1px;border-color:var(--primary)}\
.console .check{display:flex;gap:.65rem;align-items:flex-start;margin:.9rem 0}\
.console .check input{width:1.2rem;height:1.2rem;margin:.2rem 0 0;flex:none;accent-color:var(--primary)}\
.console .check label{margin:0}\
.console td input[type=checkbox]{width:1.2rem;height:1.2rem;margin:.6rem 0 0;accent-color:var(--primary)}\
.console .check .hint{margin:.1rem 0 0}\
.console fieldset{border:1px solid #dde1e8;border-radius:10px;padding:.5rem 1rem 1rem;margin:1.2rem 0}\
.console legend{font-weight:700;padding:0 .35rem}\
.console .actions{display:flex;flex-wrap:wrap;gap:.6rem;align-items:center;margin-top:1.3rem}\
.console .actions button,.console button.inline{width:auto;margin:0}\
.console button.secondary{background:#fff;color:var(--primary);border:1px solid var(--primary)}\
.console button.danger{background:var(--error)}\
.console .tabs{display:flex;flex-wrap:wrap;gap:.15rem .3rem;border-bottom:1px solid #dde1e8;margin:0 0 1.2rem;padding:0;list-style:none}\
.console .tabs a{display:block;padding:.5rem .75rem;text-decoration:none;border-bottom:3px solid transparent;color:var(--text)}\
.console .tabs a[aria-current=page]{border-bottom-color:var(--primary);font-weight:600}\
.console .tabs.small a{font-size:.92rem;padding:.35rem .6rem}\
.console .secret{display:block;font:1rem ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all;background:#fff8e1;border:1px solid #c9a227;border-radius:8px;padding:.75rem;margin:.4rem 0 1rem}\
.console .grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:0 1.4rem}\
.console .badge{display:inline-block;font-size:.8rem;padding:.05rem .5rem;border-radius:999px;background:#e8ecf5;color:#2a3550;white-space:nowrap}\
.console .badge.on{background:var(--ok-bg);color:var(--ok)}\
.console .result{border-left:4px solid var(--ok);padding:.1rem 0 .1rem .9rem;margin:1rem 0}\
.console .result.failed{border-left-color:var(--error)}\
.console .head{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:center;gap:.6rem;margin-bottom:1rem}\
.console .head h1{margin:0}\
.console a.button{display:inline-block;padding:.55rem .95rem;background:var(--primary);color:var(--on-primary);border-radius:8px;text-decoration:none;font-weight:600}\
.console a.button:focus-visible{outline:3px solid var(--text);outline-offset:2px}\
.console .crumbs{margin:0 0 .4rem;font-size:.93rem}\
.console iframe.preview{display:block;width:100%;min-height:24rem;border:1px solid #dde1e8;border-radius:8px;background:#fff}";

/// `?done=` after a change: a fixed message per code (never text from the
/// query string itself).
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

impl Done {
    /// From a code read elsewhere in the query.
    pub fn from_code(code: Option<&str>) -> Self {
        Self {
            done: code.map(str::to_string),
        }
    }

    /// The confirmation to show, if the code is one the console sends.
    pub fn message(&self) -> Option<&'static str> {
        Some(match self.done.as_deref()? {
            "created" => "Created.",
            "saved" => "Saved.",
            "deleted" => "Deleted.",
            "deployed" => "Deployed: logins run this version from now on.",
            "scripts-off" => {
                "The login and get_user scripts now answer without the legacy store; import mode stays on."
            }
            "grant-saved" => "The grant is saved.",
            "grant-deleted" => "The grant is deleted.",
            "permission-added" => "The permission is added.",
            "permission-removed" => "The permission is removed.",
            "users-added" => "The users are added.",
            "user-removed" => "The user no longer holds the role.",
            _ => return None,
        })
    }
}

/// The hidden CSRF field every console form carries.
pub fn csrf_field(op: &Operator) -> Markup {
    html! { input type="hidden" name=(csrf::FIELD) value=(op.csrf); }
}

/// A confirmation (polite live region) or nothing.
pub fn note(msg: Option<&str>) -> Markup {
    html! { @if let Some(m) = msg { p.note role="status" { (m) } } }
}

/// A list page (applications, connections, APIs): what it lists.
pub struct ListTable<'a> {
    /// The page's heading.
    pub title: &'a str,
    /// The "create" link: its target and its text.
    pub create: (&'a str, &'a str),
    /// The outcome of the change that led here, if any.
    pub done: Option<&'a str>,
    /// The column headings.
    pub columns: &'a [&'a str],
    /// What to say when there is nothing to list.
    pub empty: &'a str,
}

/// A list page's body: the heading with its "create" link, the outcome
/// note, and a table of `rows` (each a `tr`) — or the empty state.
pub fn list_table(t: &ListTable<'_>, rows: &[Markup]) -> Markup {
    html! {
        div.head { h1 { (t.title) } a.button href=(t.create.0) { (t.create.1) } }
        (note(t.done))
        @if rows.is_empty() {
            p.empty { (t.empty) }
        } @else {
            div.table-wrap { table {
                thead { tr { @for c in t.columns { th scope="col" { (c) } } } }
                tbody { @for r in rows { (r) } }
            } }
        }
    }
}

/// The way to a thing's deletion: a link to its confirmation page
/// (`href` + `/delete`), which names what is lost.
pub fn delete_link(kind: &str, href: &str) -> Markup {
    html! {
        h2 { "Delete" }
        p { a #delete href=(format!("{href}/delete")) { "Delete this " (kind) "…" } }
    }
}

/// An error (assertive live region) or nothing.
pub fn alert(msg: Option<&str>) -> Markup {
    html! { @if let Some(m) = msg { p.alert role="alert" { (m) } } }
}

/// A labelled one-line text input (`id` = `name`).
pub fn text(name: &str, label: &str, value: &str, hint: Option<&str>) -> Markup {
    let hint_id = format!("{name}-hint");
    html! {
        label for=(name) { (label) }
        input #(name) type="text" name=(name) value=(value)
            aria-describedby=[hint.map(|_| hint_id.as_str())];
        @if let Some(h) = hint { p.hint #(hint_id) { (h) } }
    }
}

/// A labelled textarea (`id` = `name`); `code` for monospace editors.
pub fn area(name: &str, label: &str, value: &str, code: bool, hint: Option<&str>) -> Markup {
    let hint_id = format!("{name}-hint");
    html! {
        label for=(name) { (label) }
        textarea #(name) name=(name) class=[(!code).then_some("short")] spellcheck="false"
            aria-describedby=[hint.map(|_| hint_id.as_str())] { (value) }
        @if let Some(h) = hint { p.hint #(hint_id) { (h) } }
    }
}

/// A checkbox with its label and hint; a disabled box says why in its hint.
pub fn check(
    name: &str,
    value: &str,
    label: &str,
    checked: bool,
    hint: Option<&str>,
    disabled: bool,
) -> Markup {
    let id = format!(
        "{name}-{}",
        value.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    let hint_id = format!("{id}-hint");
    html! {
        div.check {
            input #(id) type="checkbox" name=(name) value=(value) checked[checked] disabled[disabled]
                aria-describedby=[hint.map(|_| hint_id.as_str())];
            div {
                label for=(id) { (label) }
                @if let Some(h) = hint { p.hint #(hint_id) { (h) } }
            }
        }
    }
}

/// A tab bar: (href, label, current).
pub fn tabs(label: &str, items: &[(String, &str, bool)], small: bool) -> Markup {
    html! {
        nav aria-label=(label) {
            ul.tabs.small[small] {
                @for (href, text, current) in items {
                    li { @if *current { a href=(href) aria-current="page" { (text) } } @else { a href=(href) { (text) } } }
                }
            }
        }
    }
}

/// A table of stored write-only values by name: each row holds the name
/// (also in the hidden `{prefix}key_N`), a password field `{prefix}value_N`
/// that is never filled (blank keeps the stored value) and a
/// `{prefix}remove_N` box. `heading` names the first column.
pub fn write_only_rows(names: &[String], prefix: &str, heading: &str) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr { th scope="col" { (heading) } th scope="col" { "New value" } th scope="col" { "Remove" } } }
            tbody { @for (i, k) in names.iter().enumerate() { tr {
                th scope="row" { code { (k) } input type="hidden" name=(format!("{prefix}key_{i}")) value=(k); }
                td {
                    label.visually-hidden for=(format!("{prefix}value_{i}")) { "New value for " (k) }
                    input id=(format!("{prefix}value_{i}")) type="password" name=(format!("{prefix}value_{i}"))
                        placeholder="•••••••• (stored, hidden)" autocomplete="new-password";
                }
                td {
                    input id=(format!("{prefix}remove_{i}")) type="checkbox" name=(format!("{prefix}remove_{i}")) value="on";
                    label.visually-hidden for=(format!("{prefix}remove_{i}")) { "Remove " (k) }
                }
            } } }
        } }
    }
}

/// `count` empty rows for new write-only values: a name field
/// `{name_field}_N` labelled `name_label` and a password field
/// `{value_field}_N` beside it (never filled, as [`write_only_rows`]).
pub fn new_write_only_rows(
    count: usize,
    name_field: &str,
    value_field: &str,
    name_label: &str,
) -> Markup {
    html! {
        @for i in 0..count {
            div.grid2 {
                div {
                    label for=(format!("{name_field}_{i}")) { (name_label) }
                    input id=(format!("{name_field}_{i}")) type="text" name=(format!("{name_field}_{i}")) autocomplete="off" spellcheck="false";
                }
                div {
                    label for=(format!("{value_field}_{i}")) { "Value" }
                    input id=(format!("{value_field}_{i}")) type="password" name=(format!("{value_field}_{i}")) autocomplete="new-password";
                }
            }
        }
    }
}

/// The entries of a list typed one per line (or separated by commas),
/// trimmed, blanks dropped.
pub fn lines(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// `rows` as a textarea's content, one per line.
pub fn joined(rows: &[String]) -> String {
    rows.join("\n")
}

/// A message for an operator from a Management API error: Auth0's
/// "Payload validation error: " prefix says nothing to a person.
pub fn api_message(e: &crate::error::ApiError) -> String {
    e.message
        .strip_prefix("Payload validation error: ")
        .unwrap_or(&e.message)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_read_one_per_line_or_comma() {
        assert_eq!(
            lines(" https://a.example/cb \n\nhttps://b.example/cb, https://c.example "),
            vec![
                "https://a.example/cb",
                "https://b.example/cb",
                "https://c.example"
            ]
        );
        assert!(lines("  \n ,").is_empty());
    }

    #[test]
    fn only_known_codes_make_a_message() {
        let d = Done {
            done: Some("saved".into()),
        };
        assert_eq!(d.message(), Some("Saved."));
        let d = Done {
            done: Some("<script>".into()),
        };
        assert_eq!(d.message(), None);
    }
}
