#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The console's user page on both backends, over real HTTP: a user's
//! sessions (made by real sign-ins through `/authorize` and the hosted
//! login) and refresh tokens (real password logins with `offline_access`)
//! are listed and ended from it — the browser is then asked for its
//! password again and the token is refused with `invalid_grant`, while
//! another user's stay good —, the metadata is saved as written (a removed
//! key is gone) through `PATCH /users/{id}`'s rules, bad JSON is refused
//! with nothing changed, the history shows the user's logins, the raw JSON
//! is the Management API's, and no action goes through without the
//! session's CSRF token.

mod common;

use common::browser::{Answer, Browser, claims, csrf};
use common::{Backend, Harness};
use reqwest::header::USER_AGENT;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OPERATOR: &str = "ops@example.com";
const OPERATOR_PASSWORD: &str = "Operator-Pass-42";
const CALLBACK: &str = "https://app.example/callback";
const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";

struct World {
    h: Harness,
    t: String,
    /// The web application: id, secret.
    app: (String, String),
    ada: String,
    bob: String,
}

async fn world(b: Backend) -> World {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let id = |u: Value| u["user_id"].as_str().unwrap().to_string();
    let ada = id(h.create_user(&t, ADA, PASSWORD).await);
    let bob = id(h.create_user(&t, BOB, PASSWORD).await);
    let c = h
        .client_on(
            &t,
            &h.info.connection_id,
            json!({"name": "Web Shop", "app_type": "regular_web", "callbacks": [CALLBACK],
                   "grant_types": ["authorization_code", "refresh_token", "password"],
                   "token_endpoint_auth_method": "client_secret_post"}),
        )
        .await;
    let app = (
        c["client_id"].as_str().unwrap().to_string(),
        c["client_secret"].as_str().unwrap().to_string(),
    );
    World {
        h,
        t,
        app,
        ada,
        bob,
    }
}

impl World {
    fn app(&self) -> (&str, &str) {
        (&self.app.0, &self.app.1)
    }

    /// The console operator's user id.
    async fn operator_id(&self) -> String {
        let (_, found) = self
            .h
            .api(
                &self.t,
                Method::GET,
                &format!("/users-by-email?email={OPERATOR}"),
                None,
            )
            .await;
        found[0]["user_id"].as_str().unwrap().to_string()
    }

    /// A browser signed in as `email` through the code flow; its session
    /// id (the ID token's `sid`) and the tokens its code bought.
    async fn signed_in(&self, email: &str, scope: &str) -> (Browser, String, Value) {
        let mut b = Browser::new(&self.h.base);
        let done = b
            .code_sign_in(&self.app.0, CALLBACK, scope, email, PASSWORD)
            .await;
        let code = done.location_param("code").expect("a code");
        let (s, tokens) = self
            .h
            .token(
                json!({"grant_type": "authorization_code", "client_id": self.app.0,
                          "client_secret": self.app.1, "code": code, "redirect_uri": CALLBACK}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{tokens}");
        let sid = claims(tokens["id_token"].as_str().unwrap())["sid"]
            .as_str()
            .unwrap()
            .to_string();
        (b, sid, tokens)
    }

    /// Whether the browser's next `/authorize` signs it in silently.
    async fn silent(&self, b: &mut Browser) -> bool {
        b.signs_in_silently(&self.app.0, CALLBACK).await
    }

    /// A password login with `offline_access`; its refresh token.
    async fn offline(&self, email: &str) -> String {
        let t = self
            .h
            .offline_login(self.app(), email, PASSWORD, json!({}))
            .await;
        t["refresh_token"].as_str().unwrap().to_string()
    }

    /// Exchanging the refresh token: its status and error code.
    async fn exchange(&self, rt: &str) -> (StatusCode, Option<String>) {
        let (s, b) = self.h.refresh_grant(self.app(), rt).await;
        (s, b["error"].as_str().map(str::to_string))
    }

    /// The grant ids (refresh token ids) of the user's live tokens.
    async fn token_ids(&self, user_id: &str) -> Vec<String> {
        let (s, page) = self
            .h
            .api(
                &self.t,
                Method::GET,
                &format!("/users/{}/refresh-tokens", enc(user_id)),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        page["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    }

    async fn user(&self, id: &str) -> Value {
        let (s, u) = self
            .h
            .api(&self.t, Method::GET, &format!("/users/{}", enc(id)), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{u}");
        u
    }

    /// The `sapi` event the console wrote as `what` about `user_id`.
    async fn logged(&self, what: &str, user_id: &str) -> Value {
        let e = self.h.console_log(&self.t, "sapi", what, OPERATOR).await;
        assert_eq!(e["user_id"], user_id, "{e}");
        e
    }
}

fn enc(id: &str) -> String {
    urlencoding::encode(id).into_owned()
}

fn page_of(id: &str) -> String {
    format!("/console/users/{}", enc(id))
}

/// The part of a page from the element with `id` to the end of its table.
fn table<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("#{id}: {body}"));
    let rest = &body[start..];
    &rest[..rest.find("</table>").unwrap()]
}

/// Post `path` from `op`'s page: refused without the CSRF token (nothing
/// changes, checked by the caller), then sent with it; the answer.
async fn post_checked(
    op: &mut Browser,
    token: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> Answer {
    let forged = op.post_form(path, fields).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{path} without CSRF");
    let mut with = vec![("csrf", token)];
    with.extend_from_slice(fields);
    op.post_form(path, &with).await
}

async fn sessions_and_refresh_tokens_end_from_the_user_page(b: Backend) {
    let w = world(b).await;
    // Ada: two browsers (the first also holding a refresh token from its
    // code) and a password login's refresh token; Bob: one of each.
    let (mut first, first_sid, code_tokens) = w.signed_in(ADA, "openid offline_access").await;
    let code_rt = code_tokens["refresh_token"].as_str().unwrap().to_string();
    let (mut second, second_sid, _) = w.signed_in(ADA, "openid").await;
    let (mut bobs, bob_sid, _) = w.signed_in(BOB, "openid").await;
    let password_rt = w.offline(ADA).await;
    let bob_rt = w.offline(BOB).await;
    let ada_tokens = w.token_ids(&w.ada).await;
    assert_eq!(ada_tokens.len(), 2, "{ada_tokens:?}");
    let bob_tokens = w.token_ids(&w.bob).await;

    let mut op = w.h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let user_page = page_of(&w.ada);
    let page = op.get(&user_page).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let token = csrf(&page.body);
    let sessions = table(&page.body, "sessions");
    for sid in [&first_sid, &second_sid] {
        assert!(
            sessions.contains(&format!("data-session=\"{sid}\"")),
            "{sessions}"
        );
    }
    assert!(sessions.contains("Web Shop"), "the application by name");
    assert!(sessions.contains("password"), "how the user signed in");
    // The browsers signed in from this machine (`device.last_ip`).
    assert!(sessions.contains("<code>127.0.0.1</code>"), "{sessions}");
    assert!(!page.body.contains(&bob_sid), "only Ada's sessions");
    let tokens = table(&page.body, "refresh-tokens");
    for id in &ada_tokens {
        assert!(tokens.contains(&format!("data-token=\"{id}\"")), "{tokens}");
    }
    for id in &bob_tokens {
        assert!(!page.body.contains(id.as_str()), "only Ada's tokens");
    }
    assert!(tokens.contains("<code>127.0.0.1</code>"), "{tokens}");
    // The history: Ada's logins, and nothing of Bob's.
    let history = table(&page.body, "history");
    assert!(history.contains("data-type=\"s\""), "{history}");
    assert!(history.contains("Success Login"), "{history}");
    assert!(
        page.body
            .contains(&format!("href=\"/console/logs?user={}\"", enc(&w.ada))),
        "the log page, filtered for Ada"
    );

    // End the first session: refused without the token, then ended with
    // the refresh token its code bought; the second browser stays.
    let end_first = format!("{user_page}/sessions/{first_sid}/end");
    let forged = op.post_form(&end_first, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(w.silent(&mut first).await, "nothing ended without CSRF");
    let ended = op.post_form(&end_first, &[("csrf", &token)]).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.body);
    assert_eq!(
        ended.location().unwrap(),
        format!("{user_page}?done=session-ended")
    );
    let after = op.follow(ended).await;
    assert!(
        after.body.contains("The session is ended"),
        "{}",
        after.body
    );
    assert!(!after.body.contains(&first_sid));
    assert!(after.body.contains(&second_sid));
    assert!(
        !w.silent(&mut first).await,
        "the first browser signs in again"
    );
    assert_eq!(
        w.exchange(&code_rt).await,
        (StatusCode::FORBIDDEN, Some("invalid_grant".into()))
    );
    assert!(w.silent(&mut second).await, "the second browser stays");
    assert_eq!(w.exchange(&password_rt).await.0, StatusCode::OK);
    w.logged("Console: session ended", &w.ada).await;

    // Bob's session is not Ada's to end, nor an ended one.
    for sid in [&bob_sid, &first_sid] {
        let a = op
            .post_form(
                &format!("{user_page}/sessions/{sid}/end"),
                &[("csrf", &token)],
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{sid}");
    }
    assert!(w.silent(&mut bobs).await);

    // Revoke the password login's token; Bob's is not Ada's to revoke.
    let listed = w.token_ids(&w.ada).await;
    assert_eq!(listed.len(), 1, "the code's token went with its session");
    let revoke = format!("{user_page}/refresh-tokens/{}/revoke", listed[0]);
    let revoked = post_checked(&mut op, &token, &revoke, &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    assert_eq!(
        w.exchange(&password_rt).await,
        (StatusCode::FORBIDDEN, Some("invalid_grant".into()))
    );
    let bobs_token = format!("{user_page}/refresh-tokens/{}/revoke", bob_tokens[0]);
    let a = op.post_form(&bobs_token, &[("csrf", &token)]).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(w.exchange(&bob_rt).await.0, StatusCode::OK);
    w.logged("Console: refresh token revoked", &w.ada).await;

    // End all, revoke all: Ada's go, Bob's stay.
    let again = w.offline(ADA).await;
    let all = post_checked(&mut op, &token, &format!("{user_page}/sessions/end"), &[]).await;
    assert_eq!(
        all.location().unwrap(),
        format!("{user_page}?done=sessions-ended")
    );
    assert!(!w.silent(&mut second).await);
    let all = post_checked(
        &mut op,
        &token,
        &format!("{user_page}/refresh-tokens/revoke"),
        &[],
    )
    .await;
    assert_eq!(
        all.location().unwrap(),
        format!("{user_page}?done=tokens-revoked")
    );
    assert_eq!(
        w.exchange(&again).await,
        (StatusCode::FORBIDDEN, Some("invalid_grant".into()))
    );
    assert!(w.silent(&mut bobs).await, "Bob's session stays");
    assert_eq!(w.exchange(&bob_rt).await.0, StatusCode::OK);
    w.logged("Console: all sessions ended", &w.ada).await;
    w.logged("Console: all refresh tokens revoked", &w.ada)
        .await;
    let last = op.get(&user_page).await;
    assert!(last.body.contains("id=\"no-sessions\""), "{}", last.body);
    assert!(last.body.contains("id=\"no-refresh-tokens\""));

    // Without a console session: to the sign-in page, nothing ended.
    let anon = Browser::new(&w.h.base)
        .post_form(
            &format!("{}/sessions/end", page_of(&w.bob)),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(anon.location().as_deref(), Some("/console/login"));
    assert!(w.silent(&mut bobs).await);
    w.h.stop().await;
}

/// HTML text back to the characters maud escaped.
fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text of the element `<tag id="id" …>…</tag>`, unescaped.
fn text_of(body: &str, tag: &str, id: &str) -> String {
    let start = body
        .find(&format!("<{tag} id=\"{id}\""))
        .unwrap_or_else(|| panic!("#{id}: {body}"));
    let rest = &body[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find(&format!("</{tag}>")).unwrap();
    unescape(&rest[open..close])
}

async fn metadata_is_saved_as_written(b: Backend) {
    let w = world(b).await;
    let (s, _) =
        w.h.api(
            &w.t,
            Method::PATCH,
            &format!("/users/{}", enc(&w.ada)),
            Some(json!({"user_metadata": {"plan": "pro", "team": "eng"},
                        "app_metadata": {"tier": 2}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let before = w.user(&w.ada).await;
    let mut op = w.h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let user_page = page_of(&w.ada);
    let page = op.get(&user_page).await;
    let token = csrf(&page.body);
    let shown: Value =
        serde_json::from_str(&text_of(&page.body, "textarea", "user_metadata")).unwrap();
    assert_eq!(shown, json!({"plan": "pro", "team": "eng"}));
    // The raw JSON is the Management API's user.
    let raw: Value = serde_json::from_str(&text_of(&page.body, "pre", "raw-json")).unwrap();
    assert_eq!(raw, before);

    // Refused, each with its reason on the page and the typed text kept;
    // nothing stored changes.
    let save = format!("{user_page}/metadata");
    for (user_md, app_md, reason) in [
        (
            r#"{"plan": "free""#,
            r#"{"tier": 2}"#,
            "User metadata is not valid JSON",
        ),
        (
            r#"{"plan": "free"}"#,
            "[1, 2]",
            "App metadata must be a JSON object",
        ),
        (r#"{"plan": "free"}"#, r#""gold""#, "not a string"),
        (
            r#"{"plan": "free"}"#,
            r#"{"email": "x@example.com"}"#,
            "reserved key",
        ),
        (r#"{"a.b": 1}"#, r#"{"tier": 2}"#, "must not contain"),
    ] {
        let a = op
            .post_form(
                &save,
                &[
                    ("csrf", &token),
                    ("user_metadata", user_md),
                    ("app_metadata", app_md),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{user_md} {app_md}");
        assert!(a.body.contains("role=\"alert\""), "{}", a.body);
        assert!(a.body.contains("Nothing was saved"), "{}", a.body);
        assert!(unescape(&a.body).contains(reason), "{reason}: {}", a.body);
        assert_eq!(text_of(&a.body, "textarea", "user_metadata"), user_md);
        assert_eq!(w.user(&w.ada).await, before, "{user_md} {app_md}");
    }
    // Without the token: refused, unchanged.
    let forged = op
        .post_form(&save, &[("user_metadata", "{}"), ("app_metadata", "{}")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(w.user(&w.ada).await, before);

    // Saved: "team" removed, "plan" changed, a value with markup in it;
    // the app metadata as it was.
    let written = json!({"plan": "free", "note": "<script>alert(1)</script>"});
    let saved = op
        .post_form(
            &save,
            &[
                ("csrf", &token),
                ("user_metadata", &written.to_string()),
                ("app_metadata", "{\n  \"tier\": 2\n}"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        saved.location().unwrap(),
        format!("{user_page}?done=metadata-saved")
    );
    let after = w.user(&w.ada).await;
    assert_eq!(after["user_metadata"], written);
    assert_eq!(after["app_metadata"], json!({"tier": 2}));
    let e = w.logged("Console: user metadata saved", &w.ada).await;
    assert_eq!(e["details"]["changed"], json!(["user_metadata"]), "{e}");
    let page = op.follow(saved).await;
    assert!(page.body.contains("The metadata is saved."));
    assert!(!page.body.contains("<script>alert(1)</script>"), "escaped");
    let raw: Value = serde_json::from_str(&text_of(&page.body, "pre", "raw-json")).unwrap();
    assert_eq!(raw, after);

    // Blank fields are empty objects; the same text again changes nothing.
    let cleared = op
        .post_form(
            &save,
            &[
                ("csrf", &token),
                ("user_metadata", " "),
                ("app_metadata", "{}"),
            ],
        )
        .await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER, "{}", cleared.body);
    let empty = w.user(&w.ada).await;
    assert_eq!(empty["user_metadata"], json!({}));
    assert_eq!(empty["app_metadata"], json!({}));
    let same = op
        .post_form(
            &save,
            &[
                ("csrf", &token),
                ("user_metadata", "{}"),
                ("app_metadata", ""),
            ],
        )
        .await;
    assert_eq!(
        same.location().unwrap(),
        format!("{user_page}?done=metadata-unchanged")
    );
    assert_eq!(w.user(&w.ada).await, empty);
    w.h.stop().await;
}

/// The operator's own console session is listed on their user page;
/// ending it signs them out of the console.
async fn an_operator_can_end_their_own_console_session(b: Backend) {
    let w = world(b).await;
    let mut op = w.h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let me = w.operator_id().await;
    let user_page = page_of(&me);
    let page = op.get(&user_page).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let sessions = table(&page.body, "sessions");
    assert!(sessions.contains("this console session"), "{sessions}");
    assert!(sessions.contains("Tern Console"), "{sessions}");
    let token = csrf(&page.body);
    let ended = op
        .post_form(&format!("{user_page}/sessions/end"), &[("csrf", &token)])
        .await;
    assert_eq!(ended.location().as_deref(), Some("/console/login"));
    assert!(
        !op.jar.contains_key("__Host-tern_console"),
        "the cookie is cleared"
    );
    w.logged("Console: all sessions ended", &me).await;
    w.h.stop().await;
}

/// The console's own sign-in records where it came from, as the hosted
/// login's do: its session's `device` (the address and `User-Agent` it
/// started from, then each console request's) and its code grant's
/// `made_from`; the operator's user page shows it under "Last seen from".
async fn the_console_records_the_device_of_its_sessions_and_grant(b: Backend) {
    let w = world(b).await;
    w.h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let me = w.operator_id().await;
    // A second sign-in, from a browser that names itself.
    let mut op = Browser::new(&w.h.base);
    op.headers
        .insert(USER_AGENT, "Console-Browser/1.0".parse().unwrap());
    let signed = op.console_sign_in(OPERATOR, OPERATOR_PASSWORD).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);

    // The console session is the row the page marks as this one.
    let page = op.get(&page_of(&me)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let sessions = table(&page.body, "sessions");
    let row = sessions
        .split("<tr")
        .find(|r| r.contains("this console session"))
        .unwrap_or_else(|| panic!("{sessions}"));
    let sid = row
        .split_once("data-session=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .unwrap()
        .0
        .to_string();
    let console_device = || async {
        let (s, x) =
            w.h.api(&w.t, Method::GET, &format!("/sessions/{sid}"), None)
                .await;
        assert_eq!(s, StatusCode::OK, "{x}");
        assert_eq!(x["clients"][0]["client_id"], "tern-console", "{x}");
        x["device"].clone()
    };
    let d = console_device().await;
    assert_eq!(d["initial_ip"], "127.0.0.1", "{d}");
    assert_eq!(d["initial_user_agent"], "Console-Browser/1.0", "{d}");
    assert_eq!(d["last_user_agent"], "Console-Browser/1.0", "{d}");

    // Its code grant too (no refresh token: read from the store).
    let st = w.h.state();
    let grants = st
        .store
        .list_grants(
            st.tid(),
            &tern_core::grants::GrantQuery {
                user_id: Some(&me),
                client_id: Some("tern-console"),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        grants.iter().any(|l| l.grant.details.made_from
            == tern_core::device::Seen::new("127.0.0.1", Some("Console-Browser/1.0"))),
        "{:?}",
        grants
            .iter()
            .map(|l| &l.grant.details.made_from)
            .collect::<Vec<_>>()
    );

    // A console request from an updated browser is the session's last use,
    // shown on the operator's page in the row of this console session.
    op.headers
        .insert(USER_AGENT, "Console-Browser/2.0".parse().unwrap());
    let page = op.get(&page_of(&me)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let d = console_device().await;
    assert_eq!(d["last_user_agent"], "Console-Browser/2.0", "{d}");
    assert_eq!(d["initial_user_agent"], "Console-Browser/1.0", "{d}");
    let sessions = table(&page.body, "sessions");
    let row = sessions
        .split("<tr")
        .find(|r| r.contains("this console session"))
        .unwrap_or_else(|| panic!("{sessions}"));
    assert!(
        row.contains("<code>127.0.0.1</code>") && row.contains("Console-Browser/"),
        "{row}"
    );
    w.h.stop().await;
}

both_backends!(
    the_console_records_the_device_of_its_sessions_and_grant,
    sessions_and_refresh_tokens_end_from_the_user_page,
    metadata_is_saved_as_written,
    an_operator_can_end_their_own_console_session,
);
