//! The screens: login, signup, password reset, and the pages that hand an
//! authorization response to the application (`form_post`, `web_message`).
//!
//! Forms keep Auth0's field names (`state`, `username`, `email`, `password`)
//! so automation written for Universal Login (and the OpenID conformance
//! suite's browser steps) finds them; every input has a label, errors are
//! announced (`role=alert`) and tied to the field they concern, and the
//! first field has focus.

use axum::http::StatusCode;
use maud::{Markup, html};

use super::catalogue::{Lang, Msg, text};
use super::{Page, form_target};
use crate::authorize::response::AuthorizationResponse;

/// `{app}` filled in.
fn with_app(lang: Lang, msg: Msg, app: &str) -> String {
    text(lang, msg).replace("{app}", app)
}

fn alert(error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error {
            div.alert id="form-error" role="alert" { (e) }
        }
    }
}

/// What the login and signup screens show besides their fields.
pub struct ScreenContext<'a> {
    /// Language.
    pub lang: Lang,
    /// The transaction (`state` of the form).
    pub state: &'a str,
    /// The application's name.
    pub app: &'a str,
    /// An error from the previous attempt.
    pub error: Option<&'a str>,
    /// Whether the connection accepts sign-ups.
    pub signup_allowed: bool,
    /// Whether the connection has usernames.
    pub usernames: bool,
    /// The callback, for the CSP's `form-action` (the form's post ends there
    /// after two redirects, which the browser checks too).
    pub redirect_uri: &'a str,
}

impl ScreenContext<'_> {
    fn page(&self, status: StatusCode, title: Msg, content: Markup) -> Page {
        Page {
            status,
            lang: self.lang,
            title: text(self.lang, title).to_string(),
            content,
            form_targets: form_target(self.redirect_uri).into_iter().collect(),
            scripts: Vec::new(),
            frame_ancestor: None,
        }
    }
}

/// `/u/login`.
pub fn login(c: &ScreenContext<'_>, status: StatusCode, username: &str) -> Page {
    let l = c.lang;
    let invalid = c.error.is_some();
    let (label, kind) = if c.usernames {
        (Msg::EmailOrUsernameLabel, "text")
    } else {
        (Msg::EmailLabel, "email")
    };
    let content = html! {
        h1 { (text(l, Msg::LoginTitle)) }
        p.sub { (with_app(l, Msg::LoginSubtitle, c.app)) }
        (alert(c.error))
        form method="post" action={ "/u/login?state=" (c.state) } {
            input type="hidden" name="state" value=(c.state);
            label for="username" { (text(l, label)) }
            input #username name="username" type=(kind) value=(username) autocomplete="username"
                autocapitalize="none" spellcheck="false" required autofocus
                aria-invalid=(if invalid { "true" } else { "false" })
                aria-describedby=[invalid.then_some("form-error")];
            label for="password" { (text(l, Msg::PasswordLabel)) }
            input #password name="password" type="password" autocomplete="current-password" required
                aria-invalid=(if invalid { "true" } else { "false" });
            button.primary.login-submit type="submit" name="action" value="default" { (text(l, Msg::ContinueButton)) }
        }
        div.links {
            p { a href={ "/u/reset-password/request?state=" (c.state) } { (text(l, Msg::ForgotPassword)) } }
            @if c.signup_allowed {
                p { (text(l, Msg::NoAccount)) " " a href={ "/u/signup?state=" (c.state) } { (text(l, Msg::SignupLink)) } }
            }
        }
    };
    c.page(status, Msg::LoginTitle, content)
}

/// `/u/mfa-otp-challenge`: the code of the user's authenticator app.
pub fn mfa_otp(c: &ScreenContext<'_>, status: StatusCode) -> Page {
    let l = c.lang;
    let invalid = c.error.is_some();
    let content = html! {
        h1 { (text(l, Msg::MfaTitle)) }
        p.sub { (with_app(l, Msg::MfaText, c.app)) }
        (alert(c.error))
        form method="post" action={ "/u/mfa-otp-challenge?state=" (c.state) } {
            input type="hidden" name="state" value=(c.state);
            label for="code" { (text(l, Msg::MfaCodeLabel)) }
            input #code name="code" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6"
                autocomplete="one-time-code" required autofocus
                aria-invalid=(if invalid { "true" } else { "false" })
                aria-describedby=[invalid.then_some("form-error")];
            button.primary type="submit" name="action" value="default" { (text(l, Msg::ContinueButton)) }
        }
    };
    c.page(status, Msg::MfaTitle, content)
}

/// What the enrolment page shows: the seed as text and as a QR code of
/// its `otpauth://` URI (an SVG made on the server: no script, no image
/// request).
pub struct Enrolment<'a> {
    /// The seed, Base32, grouped by four for typing.
    pub secret: &'a str,
    /// The `otpauth://` URI.
    pub uri: &'a str,
    /// The QR code of `uri`, an `<svg>` element.
    pub qr_svg: &'a str,
}

/// `/u/mfa-otp-enrollment-qr`: enrol an authenticator app, then its first code.
pub fn mfa_otp_enrolment(c: &ScreenContext<'_>, status: StatusCode, e: &Enrolment<'_>) -> Page {
    let l = c.lang;
    let invalid = c.error.is_some();
    let content = html! {
        h1 { (text(l, Msg::EnrolTitle)) }
        p.sub { (with_app(l, Msg::EnrolText, c.app)) }
        (alert(c.error))
        figure.qr role="img" aria-label=(text(l, Msg::EnrolQrLabel)) { (maud::PreEscaped(e.qr_svg)) }
        p { (text(l, Msg::EnrolSecretLabel)) }
        p { code #secret { (e.secret) } }
        form method="post" action={ "/u/mfa-otp-enrollment-qr?state=" (c.state) } {
            input type="hidden" name="state" value=(c.state);
            label for="code" { (text(l, Msg::EnrolCodeLabel)) }
            input #code name="code" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6"
                autocomplete="one-time-code" required autofocus
                aria-invalid=(if invalid { "true" } else { "false" })
                aria-describedby=[invalid.then_some("form-error")];
            button.primary type="submit" name="action" value="default" { (text(l, Msg::ContinueButton)) }
        }
    };
    c.page(status, Msg::EnrolTitle, content)
}

/// `/u/signup`.
pub fn signup(
    c: &ScreenContext<'_>,
    status: StatusCode,
    email: &str,
    username: &str,
    hint: Option<String>,
) -> Page {
    let l = c.lang;
    let invalid = c.error.is_some();
    let content = html! {
        h1 { (text(l, Msg::SignupTitle)) }
        p.sub { (with_app(l, Msg::SignupSubtitle, c.app)) }
        (alert(c.error))
        form method="post" action={ "/u/signup?state=" (c.state) } {
            input type="hidden" name="state" value=(c.state);
            label for="email" { (text(l, Msg::EmailLabel)) }
            input #email name="email" type="email" value=(email) autocomplete="email" autocapitalize="none"
                spellcheck="false" required autofocus
                aria-invalid=(if invalid { "true" } else { "false" })
                aria-describedby=[invalid.then_some("form-error")];
            @if c.usernames {
                label for="username" { (text(l, Msg::UsernameLabel)) }
                input #username name="username" type="text" value=(username) autocomplete="username"
                    autocapitalize="none" spellcheck="false" required;
            }
            label for="password" { (text(l, Msg::PasswordLabel)) }
            input #password name="password" type="password" autocomplete="new-password" required
                aria-describedby=[hint.as_ref().map(|_| "password-hint")];
            @if let Some(h) = hint {
                p.hint #password-hint { (text(l, Msg::PasswordHint)) " " (h) }
            }
            button.primary type="submit" name="action" value="default" { (text(l, Msg::SignupButton)) }
        }
        div.links {
            p { (text(l, Msg::HaveAccount)) " " a href={ "/u/login?state=" (c.state) } { (text(l, Msg::LoginLink)) } }
        }
    };
    c.page(status, Msg::SignupTitle, content)
}

/// `/u/reset-password/request`: the email form, or (`sent`) what happens next.
pub fn reset_request(c: &ScreenContext<'_>, status: StatusCode, email: &str, sent: bool) -> Page {
    let l = c.lang;
    let invalid = c.error.is_some();
    let content = html! {
        h1 { (text(l, Msg::ResetRequestTitle)) }
        @if sent {
            div.note role="status" { (text(l, Msg::ResetRequestSent)) }
        } @else {
            p.sub { (text(l, Msg::ResetRequestText)) }
            (alert(c.error))
            form method="post" action={ "/u/reset-password/request?state=" (c.state) } {
                input type="hidden" name="state" value=(c.state);
                label for="email" { (text(l, Msg::EmailLabel)) }
                input #email name="email" type="email" value=(email) autocomplete="email" autocapitalize="none"
                    spellcheck="false" required autofocus
                    aria-invalid=(if invalid { "true" } else { "false" })
                    aria-describedby=[invalid.then_some("form-error")];
                button.primary type="submit" name="action" value="default" { (text(l, Msg::ResetRequestButton)) }
            }
        }
        div.links {
            p { a href={ "/u/login?state=" (c.state) } { (text(l, Msg::BackToLogin)) } }
        }
    };
    c.page(status, Msg::ResetRequestTitle, content)
}

/// The page that posts an authorization response to the callback
/// (`response_mode=form_post`). It submits itself; without JavaScript the
/// button does.
pub fn form_post(r: &AuthorizationResponse) -> Page {
    let fields = r.params.iter().map(|(k, v)| (*k, v.as_str()));
    let mut page = auto_post(&r.redirect_uri, fields);
    page.form_targets = form_target(&r.redirect_uri).into_iter().collect();
    page
}

/// A page that posts `fields` (and `marker=1`) to Tern's own `action` at
/// once: a POST another site made, sent again from Tern's origin so the
/// browser adds its same-site cookies. Its answer may redirect to the
/// login's `callback`, which the page's `form-action` must allow (the
/// browser checks a form's redirects too).
pub fn self_post(action: &str, fields: &[(String, String)], marker: &str, callback: &str) -> Page {
    let fields = fields.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let mut page = auto_post(action, fields.chain([(marker, "1")]));
    page.form_targets = form_target(callback).into_iter().collect();
    page
}

/// The page that sends the browser on to `location`, a site a post-login
/// action chose (`api.redirect.sendUserTo`). Not a redirect: the answer
/// ends a form's post (the password, a factor, `/continue`), and a
/// browser stops a form's redirects to any origin the form's page did not
/// allow (`form-action`) — which a site chosen at login time cannot be.
/// The caller sends `location` in a `Refresh` header too, which a browser
/// follows as a navigation of its own; the link serves if it does not.
pub fn leave(location: &str) -> Page {
    redirecting(
        html! { p.text { a href=(location) { (text(Lang::En, Msg::ContinueToApp)) } } },
        Vec::new(),
    )
}

/// A "Signing you in…" page around `body`, running `scripts`.
fn redirecting(body: Markup, scripts: Vec<String>) -> Page {
    Page {
        status: StatusCode::OK,
        lang: Lang::En,
        title: text(Lang::En, Msg::RedirectingText).to_string(),
        content: html! {
            h1 { (text(Lang::En, Msg::RedirectingText)) }
            (body)
        },
        form_targets: Vec::new(),
        scripts,
        frame_ancestor: None,
    }
}

/// A page whose form posts `fields` to `action` as it loads (the button
/// does without JavaScript); a form target beyond Tern is the caller's to
/// allow.
fn auto_post<'a>(action: &str, fields: impl Iterator<Item = (&'a str, &'a str)>) -> Page {
    const SUBMIT: &str = "document.forms[0].submit();";
    let form = html! {
        form method="post" action=(action) {
            @for (k, v) in fields {
                input type="hidden" name=(k) value=(v);
            }
            noscript { button type="submit" { (text(Lang::En, Msg::ContinueToApp)) } }
        }
    };
    redirecting(form, vec![SUBMIT.to_string()])
}

/// The page that hands an authorization response to the application's
/// window (`response_mode=web_message`, in a hidden iframe or a popup), to
/// the callback's origin only.
pub fn web_message(r: &AuthorizationResponse) -> Page {
    let response: serde_json::Map<String, serde_json::Value> = r
        .params
        .iter()
        .map(|(k, v)| ((*k).to_string(), serde_json::Value::String(v.clone())))
        .collect();
    let message = serde_json::json!({"type": "authorization_response", "response": response});
    // JSON inside a script: `<` escaped so no value can close the element.
    let json = |v: &serde_json::Value| v.to_string().replace('<', "\\u003c");
    let origin = serde_json::Value::String(r.web_origin.clone().unwrap_or_default());
    let script = format!(
        "(function(){{var m={};var t=window.opener||window.parent;t.postMessage(m,{});}})();",
        json(&message),
        json(&origin)
    );
    Page {
        status: StatusCode::OK,
        lang: Lang::En,
        title: text(Lang::En, Msg::RedirectingText).to_string(),
        content: html! { p.text { (text(Lang::En, Msg::RedirectingText)) } },
        form_targets: Vec::new(),
        scripts: vec![script],
        frame_ancestor: r.web_origin.clone(),
    }
}
