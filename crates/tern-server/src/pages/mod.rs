//! The hosted pages' look: one layout (logo, card, form), Tern's stylesheet
//! with the tenant's branding on top, the message catalogue, and the headers
//! every page carries — `no-store`, no framing (`frame-ancestors 'none'`,
//! `X-Frame-Options: DENY`), and a Content-Security-Policy that allows only
//! the page's own inline style and script (by hash), the branding's logo,
//! favicon and stylesheet origins, and form posts to Tern itself and the
//! application's callback.
//!
//! The pages need no JavaScript: every screen is a form.

pub mod catalogue;
pub mod forms;
pub mod qr;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use tern_core::tenant_settings::{Branding, parse_hex_color};
use tern_core::url_match::{UrlRule, check_stored_url, origin_of};

use self::catalogue::{Lang, Msg, text};
use crate::state::AppState;

/// What every page of a tenant shares: its branding and name.
#[derive(Debug, Clone)]
pub struct Look {
    /// Colours, logo, stylesheet.
    pub branding: Branding,
    /// The tenant's friendly name (shown when there is no logo).
    pub name: String,
}

impl Look {
    /// The tenant's look; a storage failure falls back to Tern's own.
    pub async fn load(s: &AppState) -> Self {
        let branding = s.store.get_branding(s.tid()).await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "could not read the branding");
            Branding::default()
        });
        let name = s
            .store
            .get_tenant_settings(s.tid())
            .await
            .ok()
            .and_then(|t| t.friendly_name)
            .unwrap_or_else(|| s.tenant.name.clone());
        Self { branding, name }
    }
}

/// One page to render.
pub struct Page {
    /// HTTP status.
    pub status: StatusCode,
    /// Language of the page.
    pub lang: Lang,
    /// The `<title>` (and usually the heading).
    pub title: String,
    /// The card's content.
    pub content: Markup,
    /// Origins (or schemes, `myapp:`) a form on the page may lead to besides Tern.
    pub form_targets: Vec<String>,
    /// Inline scripts (the auto-submitting `form_post` and `web_message` pages).
    pub scripts: Vec<String>,
    /// The one origin that may frame the page (`web_message` answers in
    /// the application's iframe); `None`: no framing at all.
    pub frame_ancestor: Option<String>,
}

impl Page {
    /// A page with a heading and one paragraph.
    pub fn message(status: StatusCode, lang: Lang, title: Msg, body: &str) -> Self {
        let title = text(lang, title).to_string();
        Self {
            status,
            lang,
            content: html! { h1 { (title) } p.text { (body) } },
            title,
            form_targets: Vec::new(),
            scripts: Vec::new(),
            frame_ancestor: None,
        }
    }
}

/// Tern's stylesheet (the console builds on it).
pub const BASE_CSS: &str = ":root{--primary:#3451b2;--on-primary:#ffffff;--link:#3451b2;--page-bg:#eef1f6;\
--text:#1b1f29;--muted:#535b69;--border:#b9c0cc;--error:#a4231c;--error-bg:#fdeceb;--ok:#1d5a34;--ok-bg:#e6f4ea}\
*{box-sizing:border-box}\
html{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",sans-serif;font-size:16px;line-height:1.5;color:var(--text);background:var(--page-bg)}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1.5rem}\
main{width:100%;max-width:25rem;background:#fff;border-radius:14px;box-shadow:0 1px 3px rgba(20,30,60,.08),0 12px 32px rgba(20,30,60,.12);padding:2.5rem 2rem 2rem}\
.brand{text-align:center;margin:0 0 1.5rem}\
.brand img{max-height:56px;max-width:200px}\
.brand .mark{display:inline-block;font-weight:700;font-size:1.05rem;letter-spacing:.03em;color:var(--muted)}\
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .5rem;text-align:center}\
.sub,.text{color:var(--muted);margin:0 0 1.5rem;text-align:center}\
.text{text-align:left}\
label{display:block;font-weight:600;font-size:.93rem;margin:1.1rem 0 .35rem}\
input[type=email],input[type=text],input[type=password]{display:block;width:100%;padding:.75rem .85rem;font:inherit;color:var(--text);background:#fff;border:1px solid var(--border);border-radius:8px}\
input:focus{outline:3px solid var(--primary);outline-offset:1px;border-color:var(--primary)}\
input[aria-invalid=true]{border-color:var(--error)}\
button{display:block;width:100%;margin-top:1.6rem;padding:.8rem 1rem;font:inherit;font-weight:600;color:var(--on-primary);background:var(--primary);border:0;border-radius:8px;cursor:pointer}\
button:hover{filter:brightness(.93)}\
button:focus-visible{outline:3px solid var(--text);outline-offset:2px}\
a{color:var(--link);text-underline-offset:.15em}\
a:focus-visible{outline:3px solid var(--primary);outline-offset:2px;border-radius:2px}\
.alert{background:var(--error-bg);color:var(--error);border-radius:8px;padding:.75rem .9rem;margin:0 0 .5rem;font-size:.95rem}\
.note{background:var(--ok-bg);color:var(--ok);border-radius:8px;padding:.75rem .9rem;margin:0 0 .5rem;font-size:.95rem}\
.hint{color:var(--muted);font-size:.85rem;margin:.45rem 0 0}\
.links{margin-top:1.4rem;text-align:center;font-size:.93rem}\
.links p{margin:.45rem 0}\
.qr{margin:0 auto 1rem;width:200px;max-width:100%}.qr svg{display:block;width:100%;height:auto}\
#secret{display:block;text-align:center;font-size:1.05rem;letter-spacing:.08em;word-break:break-all}\
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}";

/// WCAG relative luminance of an sRGB colour.
fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// WCAG contrast ratio of two colours.
fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The branding's colours as CSS variables. Text on the primary colour is
/// white or near-black, whichever contrasts more; links use the primary
/// colour only when it is readable on white (WCAG AA, 4.5:1).
fn brand_css(b: &Branding) -> Option<String> {
    let colors = b.colors.as_ref()?;
    let mut css = String::new();
    if let Some(p) = colors
        .primary
        .as_deref()
        .and_then(|p| parse_hex_color(p).map(|rgb| (p, rgb)))
    {
        let (hex, rgb) = p;
        let on = if contrast(rgb, (255, 255, 255)) >= contrast(rgb, (27, 31, 41)) {
            "#ffffff"
        } else {
            "#1b1f29"
        };
        let link = if contrast(rgb, (255, 255, 255)) >= 4.5 {
            hex
        } else {
            "#1b1f29"
        };
        css.push_str(&format!("--primary:{hex};--on-primary:{on};--link:{link};"));
    }
    if let Some(bg) = colors
        .page_background
        .as_deref()
        .filter(|c| parse_hex_color(c).is_some())
    {
        css.push_str(&format!("--page-bg:{bg};"));
    }
    (!css.is_empty()).then(|| format!(":root{{{css}}}"))
}

/// A CSP hash source for an inline style or script.
pub fn sha256_source(s: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(d.as_ref())
    )
}

/// A CSP source for a form target: the origin of an http(s) URL, or the
/// scheme of a native application's custom-scheme callback (`myapp:`),
/// which browsers otherwise refuse as the redirect answering the login
/// form. Never a scheme the browser runs itself (`javascript:`, `data:`):
/// a callback stored before such schemes were refused is left out, and the
/// form cannot lead there.
pub fn form_target(url: &str) -> Option<String> {
    let scheme = url.split_once(':')?.0.to_ascii_lowercase();
    if scheme == "http" || scheme == "https" {
        return origin_of(url);
    }
    check_stored_url(url, UrlRule::Callback)
        .ok()
        .map(|()| format!("{scheme}:"))
}

/// A branding URL the page may use: one whose origin the CSP can name
/// (a value stored before URLs were checked is left off the page).
fn branding_url(url: Option<&str>) -> Option<(&str, String)> {
    let url = url?;
    origin_of(url).map(|origin| (url, origin))
}

/// Render a page with the tenant's look and the security headers.
pub fn render(look: &Look, page: Page) -> Response {
    let brand = brand_css(&look.branding);
    let b = &look.branding;
    let mut style_src = vec![sha256_source(BASE_CSS)];
    if let Some(css) = &brand {
        style_src.push(sha256_source(css));
    }
    let stylesheet = branding_url(b.tern_stylesheet_url.as_deref());
    let logo = branding_url(b.logo_url.as_deref());
    let favicon = branding_url(b.favicon_url.as_deref());
    if let Some((_, o)) = &stylesheet {
        style_src.push(o.clone());
    }
    let img_src: Vec<String> = [&logo, &favicon]
        .into_iter()
        .flatten()
        .map(|(_, o)| o.clone())
        .collect();
    let mut form_action = vec!["'self'".to_string()];
    form_action.extend(page.form_targets.iter().cloned());
    let script_src: Vec<String> = page.scripts.iter().map(|s| sha256_source(s)).collect();
    let csp = format!(
        "default-src 'none'; style-src {}; img-src {}; script-src {}; form-action {}; frame-ancestors {}; base-uri 'none'",
        style_src.join(" "),
        if img_src.is_empty() {
            "'none'".to_string()
        } else {
            img_src.join(" ")
        },
        if script_src.is_empty() {
            "'none'".to_string()
        } else {
            script_src.join(" ")
        },
        form_action.join(" "),
        page.frame_ancestor.as_deref().unwrap_or("'none'"),
    );
    let markup = html! {
        (DOCTYPE)
        html lang=(page.lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                meta name="referrer" content="no-referrer";
                title { (page.title) " · " (look.name) }
                @if let Some((f, _)) = favicon { link rel="icon" href=(f); }
                style { (PreEscaped(BASE_CSS)) }
                @if let Some(css) = &brand { style { (PreEscaped(css)) } }
                @if let Some((u, _)) = stylesheet { link rel="stylesheet" href=(u); }
            }
            body {
                main {
                    div.brand {
                        @if let Some((logo, _)) = logo {
                            img src=(logo) alt=(look.name);
                        } @else {
                            span.mark { (look.name) }
                        }
                    }
                    (page.content)
                }
                @for script in &page.scripts { script { (PreEscaped(script)) } }
            }
        }
    };
    secured_html(
        page.status,
        markup.into_string(),
        &csp,
        page.frame_ancestor.is_none(),
    )
}

/// The policy a page gets when its own cannot be sent: nothing loads, runs,
/// submits or frames it. The page is unstyled, never unprotected.
pub const FALLBACK_CSP: &str =
    "default-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The page's CSP as a header value, or [`FALLBACK_CSP`] (and `false`)
/// when a character in it cannot go in a header: a page is never sent
/// without a policy.
pub fn csp_header(csp: &str) -> (HeaderValue, bool) {
    match HeaderValue::from_str(csp) {
        Ok(v) => (v, true),
        Err(_) => {
            tracing::error!(
                csp,
                "a page's CSP is not a valid header; sending the fallback"
            );
            (HeaderValue::from_static(FALLBACK_CSP), false)
        }
    }
}

/// An HTML answer with the headers every page carries: `no-store`, no
/// sniffing, no referrer, the page's CSP (or [`FALLBACK_CSP`]) and, unless
/// it may be framed, `X-Frame-Options: DENY`.
pub fn secured_html(status: StatusCode, body: String, csp: &str, deny_framing: bool) -> Response {
    let (csp, own) = csp_header(csp);
    // The fallback frames nowhere: neither does the older header.
    let deny_framing = deny_framing || !own;
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if deny_framing {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_core::tenant_settings::BrandingColors;

    #[test]
    fn text_on_the_primary_colour_stays_readable() {
        let b = |primary: &str| Branding {
            colors: Some(BrandingColors {
                primary: Some(primary.into()),
                page_background: None,
            }),
            ..Branding::default()
        };
        let dark = brand_css(&b("#0b3d91")).unwrap_or_default();
        assert!(
            dark.contains("--on-primary:#ffffff") && dark.contains("--link:#0b3d91"),
            "{dark}"
        );
        let light = brand_css(&b("#ffd43b")).unwrap_or_default();
        assert!(
            light.contains("--on-primary:#1b1f29") && light.contains("--link:#1b1f29"),
            "{light}"
        );
        assert!(contrast((255, 255, 255), (0, 0, 0)) > 20.9);
    }

    #[test]
    fn form_targets_are_origins_or_schemes() {
        assert_eq!(
            form_target("https://app.example/cb?x").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            form_target("com.example.app://callback").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(form_target("no scheme"), None);
        assert_eq!(form_target("javascript:alert(document.domain)//"), None);
        assert_eq!(form_target("data:text/html,x"), None);
        assert_eq!(form_target("https://app.ex\nample/cb"), None);
    }

    #[test]
    fn a_page_whose_csp_cannot_be_sent_gets_the_fallback_and_no_framing() {
        let resp = secured_html(
            StatusCode::OK,
            String::new(),
            "default-src 'none'; img-src https://a\nb",
            false,
        );
        let h = resp.headers();
        assert_eq!(
            h.get(header::CONTENT_SECURITY_POLICY)
                .and_then(|v| v.to_str().ok()),
            Some(FALLBACK_CSP)
        );
        assert_eq!(
            h.get(header::X_FRAME_OPTIONS).and_then(|v| v.to_str().ok()),
            Some("DENY")
        );
    }
}
