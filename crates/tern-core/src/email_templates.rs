//! Auth0's email templates (`/api/v2/email-templates`): what an operator may
//! store, and rendering one into a message.
//!
//! A template is Liquid, its body HTML, as Auth0's. The operator writes it,
//! yet rendering stays bounded: no partials or file system (`include` finds
//! nothing), a size limit on what is stored and on what a render writes, a
//! budget of loop iterations (`liquid_budget`), and a render error is the
//! caller's cue to send Tern's built-in message instead (or, for a mail
//! without one, no mail). Values are inserted as they are, not HTML-escaped: Auth0 does
//! not escape them either, and a template that needs it says `| escape`.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::liquid_budget::{Budgeted, OVER_BUDGET};
use crate::{CoreError, CoreResult};

/// Every name Auth0 accepts (`EmailTemplateNameEnum`).
pub const NAMES: &[&str] = &[
    "verify_email",
    "verify_email_by_code",
    "reset_email",
    "reset_email_by_code",
    "welcome_email",
    "blocked_account",
    "stolen_credentials",
    "enrollment_email",
    "mfa_oob_code",
    "user_invitation",
    "change_password",
    "password_reset",
    "async_approval",
];

/// The link that verifies an address (signup, `POST /users`, the job).
pub const VERIFY_EMAIL: &str = "verify_email";
/// The link that sets a new password (change-password requests).
pub const RESET_EMAIL: &str = "reset_email";
/// The link that lifts a brute-force block.
pub const BLOCKED_ACCOUNT: &str = "blocked_account";
/// The greeting after a signup (or after its verification); no link.
pub const WELCOME_EMAIL: &str = "welcome_email";

/// The largest `body` stored, in bytes.
pub const MAX_BODY_BYTES: usize = 100 * 1024;
/// The largest `subject` (and `from`, `resultUrl`) stored, in characters.
pub const MAX_LINE_CHARS: usize = 2048;
/// The most a render may write (subject and body each); past it the render
/// fails and the built-in message is sent.
pub const MAX_RENDERED_BYTES: usize = 512 * 1024;
/// Auth0's longest link lifetime (30 days).
pub const MAX_URL_LIFETIME_SECS: i64 = 30 * 24 * 3600;

/// A stored template, in Auth0's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailTemplate {
    /// Its name (one of [`NAMES`]).
    pub template: String,
    /// HTML body, Liquid.
    pub body: Option<String>,
    /// The sender (an address, checked by the caller).
    pub from: Option<String>,
    /// Where the link's page sends the user afterwards.
    pub result_url: Option<String>,
    /// Subject line, Liquid.
    pub subject: Option<String>,
    /// Always `liquid`.
    pub syntax: Option<String>,
    /// How long the link works.
    pub url_lifetime_in_seconds: Option<i64>,
    /// Add `email=` to the redirect to `resultUrl` (Auth0's default: true).
    #[serde(default = "yes")]
    pub include_email_in_redirect: bool,
    /// Off: Tern sends its built-in message; for `verify_email`, no
    /// automatic verification mail at all (Auth0's switch).
    pub enabled: Option<bool>,
}

fn yes() -> bool {
    true
}

impl EmailTemplate {
    /// Whether the template is to be used (`enabled` unset counts as off,
    /// as Auth0's dashboard shows a template saved without it).
    pub fn is_enabled(&self) -> bool {
        self.enabled == Some(true)
    }
}

/// What a template says of the links it carries, stored whether or not it
/// is enabled (the defaults without one).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSettings {
    /// How long the link works (`urlLifetimeInSeconds`, else `default_ttl`).
    pub ttl_secs: i64,
    /// Where the link's page sends the user afterwards.
    pub result_url: Option<String>,
    /// Add `email=` to that redirect (false without a template, as a ticket's default).
    pub include_email_in_redirect: bool,
}

impl LinkSettings {
    /// The settings of `template`, with `default_ttl` when it names no lifetime.
    pub fn of(template: Option<&EmailTemplate>, default_ttl: i64) -> Self {
        Self {
            ttl_secs: template
                .and_then(|t| t.url_lifetime_in_seconds)
                .filter(|secs| *secs > 0)
                .unwrap_or(default_ttl),
            result_url: template.and_then(|t| t.result_url.clone()),
            include_email_in_redirect: template.is_some_and(|t| t.include_email_in_redirect),
        }
    }
}

/// Which request a body comes from; `POST` and `PUT` need every required
/// field, `PATCH` changes the fields it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateWrite {
    /// `POST /email-templates`.
    Create,
    /// `PUT /email-templates/{templateName}`.
    Replace,
    /// `PATCH /email-templates/{templateName}`.
    Update,
}

const FIELDS: &[&str] = &[
    "template",
    "body",
    "from",
    "resultUrl",
    "subject",
    "syntax",
    "urlLifetimeInSeconds",
    "includeEmailInRedirect",
    "enabled",
];
const REQUIRED: &[&str] = &["template", "body", "from", "subject", "syntax", "enabled"];

/// Refuse a name Auth0 does not know (the path's `templateName`).
pub fn check_name(name: &str) -> CoreResult<()> {
    if NAMES.contains(&name) {
        Ok(())
    } else {
        Err(CoreError::invalid_body(format!(
            "Payload validation error: 'No enum match for: \"{name}\"' on property template (Template name). Allowed: {}.",
            NAMES.join(", ")
        )))
    }
}

/// The template a request body makes: `path` is the path's name (none for
/// `POST`), `current` the stored template (`PATCH` merges onto it). Checks
/// types, lengths, the URL and that the Liquid parses; `from` is left to
/// the caller (an address check needs the mail crate).
pub fn from_request(
    body: &Value,
    write: TemplateWrite,
    path: Option<&str>,
    current: Option<&EmailTemplate>,
) -> CoreResult<EmailTemplate> {
    let obj = body.as_object().ok_or_else(|| {
        CoreError::invalid_body("Payload validation error: 'Expected type object'.")
    })?;
    if let Some(key) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid(format!("Additional properties not allowed: {key}")));
    }
    if write != TemplateWrite::Update
        && let Some(key) = REQUIRED.iter().find(|k| !obj.contains_key(**k))
    {
        return Err(invalid(format!("Missing required property: {key}")));
    }
    let name = match (obj.get("template"), path) {
        (Some(Value::String(n)), p) => {
            check_name(n)?;
            if p.is_some_and(|p| p != n) {
                return Err(invalid(format!(
                    "template '{n}' does not match the template of the path"
                )));
            }
            n.clone()
        }
        (Some(_), _) => return Err(invalid("Expected type string on property template")),
        (None, Some(p)) => p.to_string(),
        (None, None) => return Err(invalid("Missing required property: template")),
    };
    let mut t = match (write, current) {
        (TemplateWrite::Update, Some(c)) => c.clone(),
        _ => EmailTemplate {
            template: name.clone(),
            body: None,
            from: None,
            result_url: None,
            subject: None,
            syntax: Some("liquid".into()),
            url_lifetime_in_seconds: None,
            include_email_in_redirect: true,
            enabled: None,
        },
    };
    t.template = name;
    let text = |key: &str, max: usize| -> CoreResult<Option<Option<String>>> {
        match obj.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) if s.len() > max => Err(invalid(format!(
                "String is too long ({} bytes), maximum {max} on property {key}",
                s.len()
            ))),
            Some(Value::String(s)) if s.contains('\0') => Err(invalid(format!(
                "text must not contain the NUL character (\\u0000) on property {key}"
            ))),
            Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
            Some(_) => Err(invalid(format!("Expected type string on property {key}"))),
        }
    };
    if let Some(v) = text("body", MAX_BODY_BYTES)? {
        t.body = v;
    }
    if let Some(v) = text("subject", MAX_LINE_CHARS)? {
        t.subject = v;
    }
    if let Some(v) = text("from", MAX_LINE_CHARS)? {
        t.from = v.filter(|f| !f.trim().is_empty());
    }
    if let Some(v) = text("resultUrl", MAX_LINE_CHARS)? {
        t.result_url = v.filter(|u| !u.is_empty());
    }
    if let Some(v) = text("syntax", 16)? {
        if v.as_deref().is_some_and(|s| s != "liquid") {
            return Err(invalid("syntax must be 'liquid'"));
        }
        t.syntax = Some("liquid".into());
    }
    match obj.get("urlLifetimeInSeconds") {
        None => {}
        Some(Value::Null) => t.url_lifetime_in_seconds = None,
        Some(Value::Number(n)) => {
            let secs = n.as_f64().unwrap_or(-1.0);
            if !(0.0..=MAX_URL_LIFETIME_SECS as f64).contains(&secs) {
                return Err(invalid(format!(
                    "urlLifetimeInSeconds must be between 0 and {MAX_URL_LIFETIME_SECS}"
                )));
            }
            // Whole seconds; within the range checked above.
            t.url_lifetime_in_seconds = Some(secs as i64);
        }
        Some(_) => {
            return Err(invalid(
                "Expected type number on property urlLifetimeInSeconds",
            ));
        }
    }
    match obj.get("includeEmailInRedirect") {
        None => {}
        Some(Value::Bool(b)) => t.include_email_in_redirect = *b,
        Some(_) => {
            return Err(invalid(
                "Expected type boolean on property includeEmailInRedirect",
            ));
        }
    }
    match obj.get("enabled") {
        None => {}
        Some(Value::Null) => t.enabled = None,
        Some(Value::Bool(b)) => t.enabled = Some(*b),
        Some(_) => return Err(invalid("Expected type boolean on property enabled")),
    }
    if let Some(u) = &t.result_url {
        let ok = url::Url::parse(u)
            .is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some());
        if !ok {
            return Err(invalid(format!(
                "resultUrl '{u}' is not an absolute http(s) URL"
            )));
        }
    }
    for (field, source) in [("subject", &t.subject), ("body", &t.body)] {
        if let Some(src) = source {
            parser().parse(src).map_err(|e| {
                invalid(format!("the {field} is not valid Liquid: {}", one_line(&e)))
            })?;
        }
    }
    Ok(t)
}

fn invalid(what: impl std::fmt::Display) -> CoreError {
    CoreError::invalid_body(format!("Payload validation error: '{what}'."))
}

fn one_line(e: &liquid::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Liquid parser: the standard tags and filters; no partials, so
/// `include` and `render` find nothing and read no file.
fn parser() -> &'static liquid::Parser {
    static PARSER: OnceLock<liquid::Parser> = OnceLock::new();
    PARSER.get_or_init(|| {
        // The loops replace the standard ones: the same tags, counted.
        liquid::ParserBuilder::with_stdlib()
            .block(Budgeted(liquid_lib::stdlib::ForBlock))
            .block(Budgeted(liquid_lib::stdlib::TableRowBlock))
            .build()
            .expect("the standard library's parser builds")
    })
}

/// The values a template sees, as Auth0 names them.
#[derive(Debug, Clone, Default)]
pub struct MailContext {
    /// The link the message carries.
    pub url: String,
    /// The user (Auth0's profile JSON: `email`, `name`, `nickname`,
    /// `user_metadata`, `app_metadata`, …).
    pub user: Value,
    /// The application (`name`, `clientID`), when one is known.
    pub application: Option<(String, String)>,
    /// The connection's name.
    pub connection: Option<String>,
    /// The tenant's name.
    pub tenant: String,
    /// The tenant's friendly name.
    pub friendly_name: Option<String>,
    /// The tenant's support address.
    pub support_email: Option<String>,
    /// The tenant's support page.
    pub support_url: Option<String>,
}

impl MailContext {
    fn globals(&self) -> Value {
        let mut g = Map::new();
        g.insert("url".into(), self.url.clone().into());
        g.insert("user".into(), self.user.clone());
        let (name, client_id) = self.application.clone().unwrap_or_default();
        g.insert(
            "application".into(),
            serde_json::json!({"name": name, "clientID": client_id}),
        );
        g.insert(
            "connection".into(),
            serde_json::json!({"name": self.connection.clone().unwrap_or_default()}),
        );
        g.insert("tenant".into(), self.tenant.clone().into());
        let or_empty = |v: &Option<String>| Value::from(v.clone().unwrap_or_default());
        g.insert("friendly_name".into(), or_empty(&self.friendly_name));
        g.insert("support_email".into(), or_empty(&self.support_email));
        g.insert("support_url".into(), or_empty(&self.support_url));
        Value::Object(g)
    }
}

/// A rendered template.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Subject line (one line: newlines become spaces).
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// The body as plain text, the link always in it.
    pub text: String,
}

/// Why a render failed, in words for a log or an operator.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderError {
    /// The template asked for more work than a render may do (its loops
    /// or its output): any user's data would fail it, so a save refuses it.
    pub over_budget: bool,
    /// What went wrong.
    pub reason: String,
}

impl RenderError {
    fn other(reason: impl Into<String>) -> Self {
        Self {
            over_budget: false,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Render `t`'s subject and body with `ctx`. An error (a template without
/// subject or body, a Liquid error, loops past the budget, output over
/// [`MAX_RENDERED_BYTES`]) says why, for the caller's log.
pub fn render(t: &EmailTemplate, ctx: &MailContext) -> Result<Rendered, RenderError> {
    let (Some(subject), Some(body)) = (&t.subject, &t.body) else {
        return Err(RenderError::other("the template has no subject or no body"));
    };
    let globals =
        liquid::model::to_object(&ctx.globals()).map_err(|e| RenderError::other(one_line(&e)))?;
    let run = |src: &str| -> Result<String, RenderError> {
        let template = parser()
            .parse(src)
            .map_err(|e| RenderError::other(one_line(&e)))?;
        let mut out = Bounded(Vec::new(), false);
        template.render_to(&mut out, &globals).map_err(|e| {
            if out.1 {
                RenderError {
                    over_budget: true,
                    reason: format!(
                        "the rendered template is larger than {MAX_RENDERED_BYTES} bytes"
                    ),
                }
            } else {
                let reason = one_line(&e);
                RenderError {
                    over_budget: reason.contains(OVER_BUDGET),
                    reason,
                }
            }
        })?;
        String::from_utf8(out.0).map_err(|e| RenderError::other(e.to_string()))
    };
    let subject = run(subject)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let html = run(body)?;
    let mut text = html_to_text(&html);
    if !ctx.url.is_empty() && !text.contains(&ctx.url) {
        text.push_str("\n\n");
        text.push_str(&ctx.url);
        text.push('\n');
    }
    Ok(Rendered {
        subject,
        html,
        text,
    })
}

/// A writer that refuses to grow past [`MAX_RENDERED_BYTES`], which ends
/// the render; the flag says it did (liquid's error does not).
struct Bounded(Vec<u8>, bool);

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_RENDERED_BYTES {
            self.1 = true;
            return Err(std::io::Error::other(format!(
                "the rendered template is larger than {MAX_RENDERED_BYTES} bytes"
            )));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The text part of an HTML body: tags dropped (a link's address kept after
/// its label), block ends as line breaks, the common entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut skipping = false; // inside <style> or <script>
    while let Some(open) = rest.find('<') {
        if !skipping {
            out.push_str(&rest[..open]);
        }
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim().to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        if matches!(name, "style" | "script") {
            skipping = !tag.starts_with('/');
        }
        if matches!(name, "br" | "p" | "div" | "tr" | "h1" | "h2" | "h3" | "li")
            && (name == "br" || tag.starts_with('/'))
        {
            out.push('\n');
        }
        if name == "a"
            && let Some(href) = attribute(&rest[open + 1..open + close], "href")
        {
            out.push_str(&format!("[{href}] "));
        }
        rest = &rest[open + close + 1..];
    }
    if !skipping {
        out.push_str(rest);
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let lines: Vec<String> = decoded
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let mut text = String::new();
    let mut blank = false;
    for line in lines {
        if line.is_empty() {
            blank = !text.is_empty();
            continue;
        }
        if blank {
            text.push('\n');
            blank = false;
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// The value of `name="…"` (or `'…'`) in a tag's text, entities of `&`
/// decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let quoted = &tag[at..];
    let quote = quoted.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &quoted[1..];
    let end = value.find(quote)?;
    Some(value[..end].replace("&amp;", "&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(subject: &str, body: &str) -> EmailTemplate {
        from_request(
            &json!({"template": "verify_email", "subject": subject, "body": body,
                    "from": null, "syntax": "liquid", "enabled": true}),
            TemplateWrite::Create,
            None,
            None,
        )
        .unwrap()
    }

    fn ctx() -> MailContext {
        MailContext {
            url: "https://t.example/lo/verify_email?ticket=abc".into(),
            user: json!({"email": "ann@example.com", "name": "Ann <b>", "user_metadata": {"lang": "it"}}),
            application: Some(("Shop".into(), "cid".into())),
            tenant: "acme".into(),
            ..MailContext::default()
        }
    }

    #[test]
    fn variables_render_unescaped_as_auth0() {
        let t = template(
            "Verify {{ user.email }}\nfor {{ application.name }}",
            "<p>{% if user.user_metadata.lang == 'it' %}Ciao{% endif %} {{ user.name }}</p><a href=\"{{ url }}\">Verify</a> {{ tenant }} {{ application.clientID }}",
        );
        let r = render(&t, &ctx()).unwrap();
        assert_eq!(r.subject, "Verify ann@example.com for Shop");
        assert!(r.html.contains("Ciao Ann <b>"), "{}", r.html);
        assert!(
            r.html
                .contains("href=\"https://t.example/lo/verify_email?ticket=abc\"")
        );
        assert!(r.html.ends_with("acme cid"));
        assert!(
            r.text
                .contains("[https://t.example/lo/verify_email?ticket=abc] Verify")
        );
    }

    #[test]
    fn the_escape_filter_is_there_for_templates_that_want_it() {
        let r = render(&template("s", "{{ user.name | escape }}"), &ctx()).unwrap();
        assert_eq!(r.html, "Ann &lt;b&gt;");
        // The text part carries the link even when the body does not.
        assert!(
            r.text
                .ends_with("\n\nhttps://t.example/lo/verify_email?ticket=abc\n")
        );
    }

    #[test]
    fn includes_read_nothing_and_runaway_output_stops() {
        let t = template("s", "{% include 'etc/passwd' %}");
        assert!(render(&t, &ctx()).is_err());
        let big = template(
            "s",
            "{% for i in (1..10000) %}{{ user.email }}{{ user.email }}{{ user.email }}{{ user.email }}{% endfor %}",
        );
        let e = render(&big, &ctx()).unwrap_err();
        assert!(e.reason.contains("larger than") && e.over_budget, "{e}");
    }

    /// Loops that write nothing end at the budget, before their range is
    /// built: huge, nested, or up to `i64::MAX`.
    #[test]
    fn runaway_loops_end_at_the_budget() {
        for body in [
            "{% for i in (1..100000000) %}{% endfor %}",
            "{% for i in (1..9223372036854775807) %}{% endfor %}",
            "{% for i in (1..200) %}{% for j in (1..200) %}{% endfor %}{% endfor %}",
            "{% assign n = 100000000 %}{% for i in (1..n) limit: 2 %}{% endfor %}",
            "{% tablerow i in (1..100000000) %}{% endtablerow %}",
        ] {
            let e = render(&template("s", body), &ctx()).unwrap_err();
            assert!(
                e.over_budget && e.reason.contains(OVER_BUDGET),
                "{body}: {e}"
            );
        }
        // Ordinary loops are untouched: arrays, ranges, limit, else, break.
        let t = template(
            "s",
            "{% for x in user.list limit: 2 %}{{ x }}{% endfor %}|{% for i in (1..3) reversed %}{{ i }}{% endfor %}|{% for x in user.empty %}-{% else %}empty{% endfor %}|{% for i in (1..9) %}{% if i > 2 %}{% break %}{% endif %}{{ forloop.index }}{% endfor %}|{% tablerow i in (1..2) %}{{ i }}{% endtablerow %}",
        );
        let mut c = ctx();
        c.user = json!({"list": ["a", "b", "c"], "empty": []});
        let html = render(&t, &c).unwrap().html;
        assert!(html.starts_with("ab|321|empty|12|"), "{html}");
        assert!(html.contains("<td class=\"col2\">2</td>"), "{html}");
        // A bad range is still the standard tag's error, not the budget's.
        let e = render(
            &template("s", "{% for i in (1..user.email) %}{% endfor %}"),
            &ctx(),
        )
        .unwrap_err();
        assert!(!e.over_budget, "{e}");
    }

    #[test]
    fn requests_are_checked_as_auth0_describes_them() {
        let e = |body: Value, w| from_request(&body, w, None, None).unwrap_err().to_string();
        assert!(
            e(json!({"template": "verify_email"}), TemplateWrite::Create)
                .contains("Missing required property: body")
        );
        assert!(
            e(json!({"template": "nope", "body": "", "from": "", "subject": "", "syntax": "liquid", "enabled": true}), TemplateWrite::Create)
                .contains("No enum match")
        );
        assert!(
            e(
                json!({"template": "verify_email", "colour": 1}),
                TemplateWrite::Update
            )
            .contains("Additional properties not allowed: colour")
        );
        assert!(e(json!({"template": "verify_email", "body": "{% if %}", "from": "", "subject": "", "syntax": "liquid", "enabled": true}), TemplateWrite::Create).contains("not valid Liquid"));
        assert!(
            e(
                json!({"template": "verify_email", "resultUrl": "javascript:alert(1)"}),
                TemplateWrite::Update
            )
            .contains("resultUrl")
        );
        let current = template("a", "b");
        let patched = from_request(
            &json!({"enabled": false, "urlLifetimeInSeconds": 600}),
            TemplateWrite::Update,
            Some("verify_email"),
            Some(&current),
        )
        .unwrap();
        assert_eq!(patched.enabled, Some(false));
        assert_eq!(patched.url_lifetime_in_seconds, Some(600));
        assert_eq!(patched.body.as_deref(), Some("b"));
        assert!(
            from_request(
                &json!({"template": "reset_email"}),
                TemplateWrite::Update,
                Some("verify_email"),
                Some(&current)
            )
            .is_err()
        );
    }
}
