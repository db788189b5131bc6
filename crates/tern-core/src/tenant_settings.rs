//! The tenant's settings that the browser flows read (Auth0's
//! `TenantSettings`, the part Tern acts on) and the branding of the hosted
//! pages (Auth0's `/branding`, plus a stylesheet of the tenant's own).

use serde::{Deserialize, Serialize};

use crate::url_match::{UrlRule, check_stored_url};

/// Auth0's default `session_lifetime`, in hours.
pub const DEFAULT_SESSION_LIFETIME_HOURS: f64 = 168.0;
/// Auth0's default `idle_session_lifetime`, in hours.
pub const DEFAULT_IDLE_SESSION_LIFETIME_HOURS: f64 = 72.0;

/// Tenant settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// The name the hosted pages show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    /// Hours a session lives, used or not.
    #[serde(default = "default_session_lifetime")]
    pub session_lifetime: f64,
    /// Hours a session lives without use.
    #[serde(default = "default_idle_session_lifetime")]
    pub idle_session_lifetime: f64,
    /// Where `/v2/logout` may return to when no `client_id` is given.
    #[serde(default)]
    pub allowed_logout_urls: Vec<String>,
    /// Where a browser goes when a login page is opened without a
    /// transaction (a bookmark) and the application has no login URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_redirection_uri: Option<String>,
    /// Support address (the email templates' `support_email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_email: Option<String>,
    /// Support page (the email templates' `support_url`); http(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_url: Option<String>,
}

fn default_session_lifetime() -> f64 {
    DEFAULT_SESSION_LIFETIME_HOURS
}

fn default_idle_session_lifetime() -> f64 {
    DEFAULT_IDLE_SESSION_LIFETIME_HOURS
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            friendly_name: None,
            session_lifetime: DEFAULT_SESSION_LIFETIME_HOURS,
            idle_session_lifetime: DEFAULT_IDLE_SESSION_LIFETIME_HOURS,
            allowed_logout_urls: Vec::new(),
            default_redirection_uri: None,
            support_email: None,
            support_url: None,
        }
    }
}

/// Auth0's bounds on session lifetimes: at most a year (enterprise cap),
/// at least a minute.
const MAX_SESSION_HOURS: f64 = 8760.0;
const MIN_SESSION_HOURS: f64 = 1.0 / 60.0;

impl TenantSettings {
    /// Check what a caller set; the message names the property.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("session_lifetime", self.session_lifetime),
            ("idle_session_lifetime", self.idle_session_lifetime),
        ] {
            if !v.is_finite() || !(MIN_SESSION_HOURS..=MAX_SESSION_HOURS).contains(&v) {
                return Err(format!(
                    "{name} must be a number of hours between 0.0167 (one minute) and {MAX_SESSION_HOURS}"
                ));
            }
        }
        if self.idle_session_lifetime > self.session_lifetime {
            return Err("idle_session_lifetime cannot be longer than session_lifetime".into());
        }
        // Both end up in a `Location` header: a `javascript:` or a URL the
        // parser would read differently is refused here, once.
        if let Some(u) = &self.default_redirection_uri {
            check_stored_url(u, UrlRule::Https)
                .map_err(|m| format!("default_redirection_uri {m}"))?;
        }
        // Put into mail as a link: a web URL only.
        if let Some(u) = &self.support_url {
            check_stored_url(u, UrlRule::Web).map_err(|m| format!("support_url {m}"))?;
        }
        for u in &self.allowed_logout_urls {
            check_stored_url(u, UrlRule::WebWithWildcard)
                .map_err(|m| format!("allowed_logout_urls {m}: {u:?}"))?;
        }
        Ok(())
    }

    /// Absolute session lifetime in seconds.
    pub fn session_secs(&self) -> i64 {
        hours_to_secs(self.session_lifetime)
    }

    /// Idle session lifetime in seconds.
    pub fn idle_session_secs(&self) -> i64 {
        hours_to_secs(self.idle_session_lifetime)
    }
}

fn hours_to_secs(h: f64) -> i64 {
    // Bounded by validate(): at most a year, so the cast cannot overflow.
    #[allow(clippy::cast_possible_truncation)]
    let secs = (h * 3600.0).round() as i64;
    secs
}

/// The look of the hosted pages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    /// Accent and background colours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colors: Option<BrandingColors>,
    /// Logo shown above the forms (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// Favicon (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub favicon_url: Option<String>,
    /// Auth0's custom font: accepted and kept, not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font: Option<serde_json::Value>,
    /// Tern extension: a stylesheet (https) loaded after Tern's own, for
    /// whatever the colours cannot say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tern_stylesheet_url: Option<String>,
}

/// Branding colours.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandingColors {
    /// Accent colour (buttons, links, focus), `#rgb` or `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// Page background colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_background: Option<String>,
}

/// An `#rgb` / `#rrggbb` colour as (r, g, b).
pub fn parse_hex_color(s: &str) -> Option<(u8, u8, u8)> {
    let hex = s.strip_prefix('#')?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize, n: usize| u8::from_str_radix(hex.get(i..i + n)?, 16).ok();
    match hex.len() {
        3 => Some((digit(0, 1)? * 17, digit(1, 1)? * 17, digit(2, 1)? * 17)),
        6 => Some((digit(0, 2)?, digit(2, 2)?, digit(4, 2)?)),
        _ => None,
    }
}

impl Branding {
    /// Check what a caller set: colours in `#rgb`/`#rrggbb` form, URLs
    /// absolute https (a stylesheet or logo over http would be mixed content
    /// and tamperable).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(c) = &self.colors {
            for (name, v) in [
                ("colors.primary", &c.primary),
                ("colors.page_background", &c.page_background),
            ] {
                if let Some(v) = v
                    && parse_hex_color(v).is_none()
                {
                    return Err(format!("{name} must be a colour like #1f5fbf"));
                }
            }
        }
        for (name, v) in [
            ("logo_url", &self.logo_url),
            ("favicon_url", &self.favicon_url),
            ("tern_stylesheet_url", &self.tern_stylesheet_url),
        ] {
            if let Some(u) = v {
                check_stored_url(u, UrlRule::Https).map_err(|m| format!("{name} {m}"))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_in_seconds_and_bounds() {
        let s = TenantSettings::default();
        assert_eq!(s.session_secs(), 168 * 3600);
        assert_eq!(s.idle_session_secs(), 72 * 3600);
        assert!(s.validate().is_ok());
        let bad = TenantSettings {
            idle_session_lifetime: 200.0,
            ..TenantSettings::default()
        };
        assert!(bad.validate().is_err());
        let nan = TenantSettings {
            session_lifetime: f64::NAN,
            ..TenantSettings::default()
        };
        assert!(nan.validate().is_err());
    }

    #[test]
    fn the_support_url_is_a_web_url() {
        let with = |u: &str| TenantSettings {
            support_url: Some(u.into()),
            ..TenantSettings::default()
        };
        assert!(with("https://help.example.com/").validate().is_ok());
        assert!(with("http://help.example.com/").validate().is_ok());
        for u in [
            "javascript:alert(1)",
            "mailto:help@example.com",
            "help.example.com",
            "https://help.ex\nample.com/",
        ] {
            let err = with(u).validate().unwrap_err();
            assert!(err.starts_with("support_url"), "{u}: {err}");
        }
    }

    #[test]
    fn redirection_and_logout_urls_are_web_urls() {
        let with = |redirect: &str, logout: &str| TenantSettings {
            default_redirection_uri: Some(redirect.into()),
            allowed_logout_urls: vec![logout.into()],
            ..TenantSettings::default()
        };
        assert!(
            with("https://app.example/login", "https://*.example.com/bye")
                .validate()
                .is_ok()
        );
        for (redirect, logout) in [
            ("javascript:alert(1)", "https://app.example/bye"),
            ("http://app.example/login", "https://app.example/bye"),
            ("https://app.ex\nample/login", "https://app.example/bye"),
            ("https://app.example/login", "javascript:alert(1)"),
            ("https://app.example/login", "myapp://bye"),
            ("https://app.example/login", "https://app.example/\tbye"),
        ] {
            let err = with(redirect, logout).validate().unwrap_err();
            assert!(
                err.starts_with("default_redirection_uri")
                    || err.starts_with("allowed_logout_urls"),
                "{err}"
            );
        }
    }

    #[test]
    fn colours_and_urls() {
        assert_eq!(parse_hex_color("#fff"), Some((255, 255, 255)));
        assert_eq!(parse_hex_color("#1f5fbf"), Some((0x1f, 0x5f, 0xbf)));
        assert_eq!(parse_hex_color("1f5fbf"), None);
        assert_eq!(parse_hex_color("#12345"), None);
        assert_eq!(parse_hex_color("#ggg"), None);
        let b = Branding {
            logo_url: Some("http://cdn.example/logo.png".into()),
            ..Branding::default()
        };
        assert!(b.validate().is_err());
        let b = Branding {
            favicon_url: Some("https://cdn.ex\nample/f.ico".into()),
            ..Branding::default()
        };
        assert!(b.validate().is_err());
        let b = Branding {
            tern_stylesheet_url: Some("https://cdn.example/x.css".into()),
            colors: Some(BrandingColors {
                primary: Some("#123".into()),
                page_background: Some("red; }".into()),
            }),
            ..Branding::default()
        };
        assert!(b.validate().is_err());
    }
}
