//! A minimal browser for protocol tests: follows nothing by itself, keeps
//! cookies the way a browser would for one site (by name, deleted on
//! `Max-Age=0`, `Secure` ones kept although the test speaks plain http to
//! the listener), and lets a test forge or drop cookies on purpose.
//! Playwright and Chromium are in `tests/browser.rs`; this is for the
//! many small checks that need no rendering.

use std::collections::BTreeMap;

use base64::Engine;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, REFRESH, SET_COOKIE};

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// Where the answer sends the browser: a redirect's `Location`, or the
    /// URL of a page's `Refresh: 0; url=…` (which Tern answers where a
    /// redirect would end a form's post at a site its page did not allow).
    pub fn location(&self) -> Option<String> {
        let header = |name| self.headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(to) = header(LOCATION) {
            return Some(to.to_string());
        }
        let refresh = header(REFRESH)?;
        let (_, url) = refresh.split_once("url=")?;
        Some(url.to_string())
    }
    /// The `Set-Cookie` line for `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// A query parameter of the Location.
    pub fn location_param(&self, key: &str) -> Option<String> {
        let loc = self.location()?;
        let url = url::Url::parse(&loc)
            .or_else(|_| url::Url::parse(&format!("http://x{loc}")))
            .ok()?;
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }
}

pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub jar: BTreeMap<String, String>,
    /// Sent with every request (e.g. the `X-Forwarded-For` of a proxy in
    /// front of Tern).
    pub headers: HeaderMap,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
            jar: BTreeMap::new(),
            headers: HeaderMap::new(),
        }
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn absorb(&mut self, r: reqwest::Response) -> Answer {
        let status = r.status();
        let headers = r.headers().clone();
        for c in headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") || value.is_empty() {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), value.to_string());
            }
        }
        let body = r.text().await.unwrap_or_default();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path_or_url: &str) -> Answer {
        let r = self
            .http
            .get(self.url(path_or_url))
            .headers(self.headers.clone())
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.absorb(r).await
    }

    pub async fn post_form(&mut self, path_or_url: &str, fields: &[(&str, &str)]) -> Answer {
        let r = self
            .http
            .post(self.url(path_or_url))
            .headers(self.headers.clone())
            .header(COOKIE, self.cookie_header())
            .form(fields)
            .send()
            .await
            .unwrap();
        self.absorb(r).await
    }

    /// Post a multipart form (a file upload) as this browser, with its
    /// cookies; the answer, not followed.
    pub async fn post_multipart(
        &mut self,
        path_or_url: &str,
        form: reqwest::multipart::Form,
    ) -> Answer {
        let r = self
            .http
            .post(self.url(path_or_url))
            .headers(self.headers.clone())
            .header(COOKIE, self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.absorb(r).await
    }

    /// Post the hosted login form of `page` (a `/u/login` page) with a
    /// username and password; the answer, not followed.
    pub async fn submit_login(&mut self, page: &Answer, username: &str, password: &str) -> Answer {
        let state = form_state(&page.body);
        self.post_form(
            &format!("/u/login?state={state}"),
            &[
                ("state", &state),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// The code flow's sign-in as a browser makes it: `/authorize` for
    /// `client_id` (`response_type=code`, `scope`, a fixed `state`) → the
    /// hosted login page → `username` and `password` → Tern's redirects.
    /// The answer is the last one: the redirect to `redirect_uri` holding
    /// the `code`, or a page when refused. The session cookie stays in the jar.
    pub async fn code_sign_in(
        &mut self,
        client_id: &str,
        redirect_uri: &str,
        scope: &str,
        username: &str,
        password: &str,
    ) -> Answer {
        let a = self
            .get(&authorize_path(client_id, redirect_uri, scope, &[]))
            .await;
        let page = self.follow(a).await;
        assert_eq!(page.status, StatusCode::OK, "the login page: {}", page.body);
        let posted = self.submit_login(&page, username, password).await;
        self.follow(posted).await
    }

    /// Whether this browser's next `/authorize` for `client_id` signs it
    /// in silently (a code for `redirect_uri`) rather than showing the
    /// login page (anything else fails the test).
    pub async fn signs_in_silently(&mut self, client_id: &str, redirect_uri: &str) -> bool {
        let a = self
            .get(&authorize_path(client_id, redirect_uri, "openid", &[]))
            .await;
        if a.location_param("code").is_some() {
            return true;
        }
        let page = self.follow(a).await;
        assert!(
            page.body.contains("name=\"password\""),
            "neither a code nor the login page: {}",
            page.body
        );
        false
    }

    /// Sign in at the console as a browser does: `/console/login` sends
    /// it to Tern's login (`/authorize`), the hosted form takes the
    /// password, and the redirects end at `/console/callback`, whose page
    /// carries the console cookie. The answer is the last one (the
    /// callback's page, or the login page again when refused).
    pub async fn console_sign_in(&mut self, email: &str, password: &str) -> Answer {
        let login = self.get("/console/login").await;
        let page = self.follow(login).await;
        if !page.body.contains("name=\"state\"") {
            return page;
        }
        let posted = self.submit_login(&page, email, password).await;
        self.follow(posted).await
    }

    /// Follow Tern's own redirects (relative, or under the base — also
    /// as the https public URL the tests' plain listener stands behind)
    /// until an answer that is not one, or a redirect elsewhere (the
    /// application).
    pub async fn follow(&mut self, mut a: Answer) -> Answer {
        let public = self.base.replacen("http://", "https://", 1);
        for _ in 0..10 {
            let Some(mut loc) = a.location() else {
                return a;
            };
            if let Some(path) = loc.strip_prefix(&public) {
                loc = path.to_string();
            }
            if !(loc.starts_with('/') || loc.starts_with(&self.base)) {
                return a;
            }
            a = self.get(&loc).await;
        }
        a
    }
}

/// `/authorize?response_type=code&…` for `client_id`, with `extra`
/// parameters (e.g. `prompt=none`).
pub fn authorize_path(
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut url = url::Url::parse("http://x/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", "app-state")
        .extend_pairs(extra);
    format!("/authorize?{}", url.query().unwrap())
}

/// A PKCE pair: (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier = tern_core::ids::ticket_token();
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref());
    (verifier, challenge)
}

/// The claims of a JWT (not verified: tests that need verification use the
/// JWKS or a client library).
pub fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The value of the first hidden field `name` on a page.
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let i = html.find(&needle)?;
    let rest = &html[i + needle.len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The console's CSRF token in a page's form.
pub fn csrf(html: &str) -> String {
    field_value(html, "csrf").expect("a csrf field")
}

/// The `state` field of a hosted page's form.
pub fn form_state(html: &str) -> String {
    let i = html.find("name=\"state\" value=\"").expect("a state field");
    let rest = &html[i + "name=\"state\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}
