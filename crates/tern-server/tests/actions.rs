#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Post-login Actions end to end, on both backends: created, deployed and
//! bound through the Management API (bodies as Auth0's docs and OAS show
//! them), then run in the real QuickJS sandbox by real logins over HTTP —
//! the password-realm grant and the hosted `/authorize` code flow.

mod common;

use common::browser::{Browser, claims};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";
const REALM: &str = "Username-Password-Authentication";
const CALLBACK: &str = "https://app.example/callback";

/// The custom-claims example of Auth0's docs, reading a secret.
const CLAIMS_ACTION: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://myapp.example';
  api.idToken.setCustomClaim(`${namespace}/roles`, ['admin', 'editor']);
  api.accessToken.setCustomClaim(`${namespace}/plan`, event.secrets.PLAN);
  api.idToken.setCustomClaim(`${namespace}/connection`, event.connection.name);
  api.idToken.setCustomClaim(`${namespace}/client`, event.client.client_id);
  // Restricted claims are ignored, as Auth0 ignores them.
  api.idToken.setCustomClaim('iss', 'https://evil.example/');
  api.accessToken.setCustomClaim('sub', 'someone-else');
};
"#;

struct Setup {
    h: Harness,
    t: String,
    app: (String, String),
}

async fn setup(b: Backend) -> Setup {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    h.create_user(&t, EMAIL, PASSWORD).await;
    let app = h.password_client(&t).await;
    Setup { h, t, app }
}

impl Setup {
    /// Create an action (Auth0's body) and answer it.
    async fn create(&self, name: &str, code: &str, extra: Value) -> Value {
        let mut body = json!({
            "name": name,
            "supported_triggers": [{"id": "post-login", "version": "v3"}],
            "code": code,
            "runtime": "node22",
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let (s, a) = self
            .h
            .api(&self.t, Method::POST, "/actions/actions", Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        a
    }

    async fn deploy(&self, id: &str) -> Value {
        let (s, v) = self
            .h
            .api(
                &self.t,
                Method::POST,
                &format!("/actions/actions/{id}/deploy"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        v
    }

    /// Bind actions by name, in this order.
    async fn bind(&self, names: &[&str]) -> Value {
        let bindings: Vec<Value> = names
            .iter()
            .map(|n| json!({"ref": {"type": "action_name", "value": n}, "display_name": n}))
            .collect();
        let (s, b) = self
            .h
            .api(
                &self.t,
                Method::PATCH,
                "/actions/triggers/post-login/bindings",
                Some(json!({"bindings": bindings})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }

    async fn login(&self) -> (StatusCode, Value) {
        self.h
            .token(json!({
                "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
                "realm": REALM,
                "username": EMAIL,
                "password": PASSWORD,
                "scope": "openid profile email",
                "client_id": self.app.0,
                "client_secret": self.app.1,
            }))
            .await
    }

    /// Exchange a code of the web application; the ID token's claims.
    async fn exchange(&self, client_id: &str, secret: &str, code: &str) -> Value {
        let (s, tokens) = self
            .h
            .token(
                json!({"grant_type": "authorization_code", "client_id": client_id,
                          "client_secret": secret, "code": code, "redirect_uri": CALLBACK}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{tokens}");
        claims(tokens["id_token"].as_str().unwrap())
    }

    /// A regular web application of the connection, for the code flow:
    /// its client id and secret.
    async fn web_client(&self) -> (String, String) {
        let web = self
            .h
            .client_on(
                &self.t,
                &self.h.info.connection_id,
                json!({"name": "Web", "app_type": "regular_web", "callbacks": [CALLBACK],
                       "grant_types": ["authorization_code"], "token_endpoint_auth_method": "client_secret_post"}),
            )
            .await;
        (
            web["client_id"].as_str().unwrap().to_string(),
            web["client_secret"].as_str().unwrap().to_string(),
        )
    }

    async fn failures(&self) -> Vec<Value> {
        let (_, logs) = self
            .h
            .api(&self.t, Method::GET, "/logs?q=type:f&per_page=50", None)
            .await;
        logs.as_array().cloned().unwrap_or_default()
    }
}

async fn custom_claims_reach_both_tokens(b: Backend) {
    let x = setup(b).await;
    let a = x
        .create(
            "add-claims",
            CLAIMS_ACTION,
            json!({"secrets": [{"name": "PLAN", "value": "s3cr3t-plan-pro"}]}),
        )
        .await;
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "Auth0's uuid form: {id}");
    // The secret is answered by name only, never its value.
    assert_eq!(a["secrets"][0]["name"], "PLAN");
    let (_, got) =
        x.h.api(&x.t, Method::GET, &format!("/actions/actions/{id}"), None)
            .await;
    assert!(!got.to_string().contains("s3cr3t-plan-pro"), "{got}");
    assert_eq!(got["secrets"][0]["name"], "PLAN");
    assert_eq!(got["all_changes_deployed"], false);
    // Not deployed: it cannot be bound.
    let (s, e) =
        x.h.api(
            &x.t,
            Method::PATCH,
            "/actions/triggers/post-login/bindings",
            Some(json!({"bindings": [{"ref": {"type": "action_id", "value": id}}]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["message"].as_str().unwrap().contains("deploy"), "{e}");
    let v = x.deploy(&id).await;
    assert_eq!(v["number"], 1);
    assert_eq!(v["deployed"], true);
    x.bind(&["add-claims"]).await;
    let (_, listed) =
        x.h.api(
            &x.t,
            Method::GET,
            "/actions/triggers/post-login/bindings",
            None,
        )
        .await;
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["bindings"][0]["action"]["id"], id.as_str());
    assert!(!listed.to_string().contains("s3cr3t-plan-pro"));

    let (s, tokens) = x.login().await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let idt = claims(tokens["id_token"].as_str().unwrap());
    let at = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        idt["https://myapp.example/roles"],
        json!(["admin", "editor"])
    );
    assert_eq!(idt["https://myapp.example/connection"], REALM);
    assert_eq!(idt["https://myapp.example/client"], x.app.0.as_str());
    assert_eq!(at["https://myapp.example/plan"], "s3cr3t-plan-pro");
    assert_eq!(idt["iss"], format!("{}/", x.h.state().public_url));
    assert_ne!(at["sub"], "someone-else");
    assert_eq!(at["sub"], idt["sub"]);

    // Editing the draft changes nothing until the next deploy.
    let (s, u) = x
        .h
        .api(
            &x.t,
            Method::PATCH,
            &format!("/actions/actions/{id}"),
            Some(json!({"code": "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://myapp.example/v', 2); };"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["all_changes_deployed"], false);
    let (_, tokens) = x.login().await;
    let idt = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        idt["https://myapp.example/roles"],
        json!(["admin", "editor"])
    );
    assert!(idt.get("https://myapp.example/v").is_none(), "{idt}");
    assert_eq!(x.deploy(&id).await["number"], 2);
    let (_, tokens) = x.login().await;
    let idt = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(idt["https://myapp.example/v"], 2);
    assert!(idt.get("https://myapp.example/roles").is_none(), "{idt}");
    x.h.stop().await;
}

async fn deny_refuses_with_the_reason_and_logs_a_failure(b: Backend) {
    let x = setup(b).await;
    let a = x
        .create(
            "deny-ada",
            r#"exports.onExecutePostLogin = async (event, api) => {
                 if (event.user.email === 'ada@example.com') {
                   api.access.deny('Ada may not sign in to this app.');
                 }
               };"#,
            json!({"deploy": true}),
        )
        .await;
    assert_eq!(a["all_changes_deployed"], true, "{a}");
    x.bind(&["deny-ada"]).await;
    let (s, body) = x.login().await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "access_denied");
    assert_eq!(
        body["error_description"],
        "Ada may not sign in to this app."
    );
    assert!(body.get("access_token").is_none());
    let f = x.failures().await;
    assert!(
        f.iter()
            .any(|e| e["description"] == "Ada may not sign in to this app."
                && e["user_id"].is_string()),
        "{f:?}"
    );
    // A refused login is not a successful one: no `s` event, not counted.
    let (_, ok) =
        x.h.api(&x.t, Method::GET, "/logs?q=type:s&per_page=50", None)
            .await;
    assert_eq!(ok.as_array().map(Vec::len), Some(0), "{ok}");
    let (_, users) =
        x.h.api(
            &x.t,
            Method::GET,
            &format!("/users-by-email?email={EMAIL}"),
            None,
        )
        .await;
    assert_eq!(users[0]["logins_count"], 0, "{users}");
    x.h.stop().await;
}

async fn metadata_persists_and_actions_run_in_order(b: Backend) {
    let x = setup(b).await;
    x.create(
        "first",
        r#"exports.onExecutePostLogin = async (event, api) => {
             api.user.setAppMetadata('plan', 'pro');
             api.user.setUserMetadata('theme', 'dark');
             api.idToken.setCustomClaim('https://myapp.example/order', ['first']);
           };"#,
        json!({"deploy": true}),
    )
    .await;
    x.create(
        "second",
        r#"exports.onExecutePostLogin = async (event, api) => {
             // The first action's metadata is visible here, as in Auth0.
             api.idToken.setCustomClaim('https://myapp.example/order',
               ['first', 'second:' + event.user.app_metadata.plan]);
             api.idToken.setCustomClaim('https://myapp.example/count', event.stats.logins_count);
           };"#,
        json!({"deploy": true}),
    )
    .await;
    x.bind(&["first", "second"]).await;
    let (s, tokens) = x.login().await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let idt = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        idt["https://myapp.example/order"],
        json!(["first", "second:pro"])
    );
    let (_, users) =
        x.h.api(
            &x.t,
            Method::GET,
            &format!("/users-by-email?email={EMAIL}"),
            None,
        )
        .await;
    assert_eq!(users[0]["app_metadata"]["plan"], "pro", "{users}");
    assert_eq!(users[0]["user_metadata"]["theme"], "dark", "{users}");
    // The order is the binding's: reversed, the second runs first.
    x.bind(&["second", "first"]).await;
    let (_, tokens) = x.login().await;
    let idt = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(idt["https://myapp.example/order"], json!(["first"]));
    x.h.stop().await;
}

async fn a_throwing_action_fails_the_login_cleanly(b: Backend) {
    let x = setup(b).await;
    x.create(
        "broken",
        r#"exports.onExecutePostLogin = async (event, api) => {
             throw new Error('upstream CRM unreachable');
           };"#,
        json!({"deploy": true}),
    )
    .await;
    x.bind(&["broken"]).await;
    let (s, body) = x.login().await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "access_denied");
    assert!(body.get("access_token").is_none(), "{body}");
    let f = x.failures().await;
    assert!(
        f.iter().any(|e| e["description"]
            .as_str()
            .is_some_and(|d| d.contains("broken") && d.contains("upstream CRM unreachable"))),
        "{f:?}"
    );
    // The server is still well: unbinding lets the user in again.
    x.bind(&[]).await;
    let (s, _) = x.login().await;
    assert_eq!(s, StatusCode::OK);
    x.h.stop().await;
}

async fn code_flow_carries_the_claims_and_a_deny_redirects(b: Backend) {
    let x = setup(b).await;
    let (client_id, secret) = x.web_client().await;
    x.create(
        "browser",
        r#"exports.onExecutePostLogin = async (event, api) => {
             if (event.request.query && event.user.app_metadata.blocked_by_action) {
               api.access.deny('Blocked by policy.');
             }
             api.idToken.setCustomClaim('https://myapp.example/protocol', event.transaction.protocol);
           };"#,
        json!({"deploy": true}),
    )
    .await;
    x.bind(&["browser"]).await;
    let mut br = Browser::new(&x.h.base);
    let done = br
        .code_sign_in(&client_id, CALLBACK, "openid", EMAIL, PASSWORD)
        .await;
    let code = done.location_param("code").expect("a code");
    let idt = x.exchange(&client_id, &secret, &code).await;
    assert_eq!(idt["https://myapp.example/protocol"], "oidc-basic-profile");
    // Silent authentication from the session runs them too.
    let silent = br
        .get(&common::browser::authorize_path(
            &client_id,
            CALLBACK,
            "openid",
            &[("prompt", "none")],
        ))
        .await;
    let code = silent.location_param("code").expect("a silent code");
    let idt = x.exchange(&client_id, &secret, &code).await;
    assert_eq!(idt["https://myapp.example/protocol"], "oidc-basic-profile");

    // A deny sends the browser back with Auth0's error and no code.
    let (_, users) =
        x.h.api(
            &x.t,
            Method::GET,
            &format!("/users-by-email?email={EMAIL}"),
            None,
        )
        .await;
    let uid = users[0]["user_id"].as_str().unwrap();
    x.h.api(
        &x.t,
        Method::PATCH,
        &format!("/users/{}", urlencoding(uid)),
        Some(json!({"app_metadata": {"blocked_by_action": true}})),
    )
    .await;
    // The finished login above left its success event and count.
    assert_eq!(x.events("s", uid).await, 1);
    let (_, before) =
        x.h.api(
            &x.t,
            Method::GET,
            &format!("/users/{}", urlencoding(uid)),
            None,
        )
        .await;
    assert_eq!(before["logins_count"], 1, "{before}");
    let done = Browser::new(&x.h.base)
        .code_sign_in(&client_id, CALLBACK, "openid", EMAIL, PASSWORD)
        .await;
    // The refused login is no success: the actions' `f` event alone.
    assert_eq!(x.events("s", uid).await, 1);
    let (_, after) =
        x.h.api(
            &x.t,
            Method::GET,
            &format!("/users/{}", urlencoding(uid)),
            None,
        )
        .await;
    assert_eq!(after["logins_count"], 1, "{after}");
    assert_eq!(after["last_login"], before["last_login"]);
    assert!(
        x.failures()
            .await
            .iter()
            .any(|e| e["description"] == "Blocked by policy." && e["user_id"] == uid)
    );
    assert!(
        done.location_param("code").is_none(),
        "{:?}",
        done.location()
    );
    assert_eq!(
        done.location_param("error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        done.location_param("error_description").as_deref(),
        Some("Blocked by policy.")
    );
    x.h.stop().await;
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn scopes_triggers_and_deletes_follow_auth0(b: Backend) {
    let x = setup(b).await;
    let a = x
        .create(
            "keep",
            "exports.onExecutePostLogin = async () => {};",
            json!({"deploy": true}),
        )
        .await;
    let id = a["id"].as_str().unwrap().to_string();
    // Each operation needs its own scope (OAS `security`).
    let read = x.h.scoped_token(&["read:actions"]).await;
    let (s, _) =
        x.h.api(
            &read,
            Method::POST,
            "/actions/actions",
            Some(json!({"name": "n", "supported_triggers": [{"id": "post-login"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) =
        x.h.api(
            &read,
            Method::POST,
            &format!("/actions/actions/{id}/deploy"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) =
        x.h.api(
            &read,
            Method::PATCH,
            "/actions/triggers/post-login/bindings",
            Some(json!({"bindings": []})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) =
        x.h.api(
            &read,
            Method::DELETE,
            &format!("/actions/actions/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, list) = x.h.api(&read, Method::GET, "/actions/actions", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["total"], 1);
    assert_eq!(list["per_page"], 20);
    let create = x.h.scoped_token(&["create:actions"]).await;
    let (s, _) =
        x.h.api(&create, Method::GET, "/actions/actions", None)
            .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Other triggers are refused with what is supported.
    let (s, e) =
        x.h.api(
            &x.t,
            Method::GET,
            "/actions/triggers/credentials-exchange/bindings",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().unwrap().contains("post-login"), "{e}");
    let (s, e) =
        x.h.api(
            &x.t,
            Method::POST,
            "/actions/actions",
            Some(json!({"name": "m2m", "supported_triggers": [{"id": "credentials-exchange"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    // npm modules cannot be installed; only the sandbox's are accepted.
    let (s, e) = x
        .h
        .api(&x.t, Method::POST, "/actions/actions", Some(json!({"name": "deps", "supported_triggers": [{"id": "post-login"}], "dependencies": [{"name": "lodash", "version": "4.17.21"}]})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["message"].as_str().unwrap().contains("lodash"), "{e}");
    // A duplicate name is a conflict.
    let (s, _) =
        x.h.api(
            &x.t,
            Method::POST,
            "/actions/actions",
            Some(json!({"name": "keep", "supported_triggers": [{"id": "post-login"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // A bound action is deleted only with force, which unbinds it.
    x.bind(&["keep"]).await;
    let (s, e) =
        x.h.api(
            &x.t,
            Method::DELETE,
            &format!("/actions/actions/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, _) =
        x.h.api(
            &x.t,
            Method::DELETE,
            &format!("/actions/actions/{id}?force=true"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, listed) =
        x.h.api(
            &x.t,
            Method::GET,
            "/actions/triggers/post-login/bindings",
            None,
        )
        .await;
    assert_eq!(listed["bindings"], json!([]), "{listed}");
    let (s, _) =
        x.h.api(&x.t, Method::GET, &format!("/actions/actions/{id}"), None)
            .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    x.h.stop().await;
}

async fn refresh_exchanges_run_the_actions_too(b: Backend) {
    let x = setup(b).await;
    let c = x
        .h
        .client_on(
            &x.t,
            &x.h.info.connection_id,
            json!({"name": "Mobile", "app_type": "native", "grant_types": ["password", "refresh_token"]}),
        )
        .await;
    let app = (
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
    );
    x.create(
        "on-refresh",
        r#"exports.onExecutePostLogin = async (event, api) => {
             if (event.transaction.protocol === 'oauth2-refresh-token' && event.user.app_metadata.cut_off) {
               api.access.deny('Access revoked.');
             }
             api.idToken.setCustomClaim('https://myapp.example/protocol', event.transaction.protocol);
           };"#,
        json!({"deploy": true}),
    )
    .await;
    x.bind(&["on-refresh"]).await;
    let tokens = x.h.offline_login(app, EMAIL, PASSWORD, json!({})).await;
    let idt = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(idt["https://myapp.example/protocol"], "oauth2-password");
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (s, refreshed) = x.h.refresh_grant(app, rt).await;
    assert_eq!(s, StatusCode::OK, "{refreshed}");
    let idt = claims(refreshed["id_token"].as_str().unwrap());
    assert_eq!(
        idt["https://myapp.example/protocol"],
        "oauth2-refresh-token"
    );
    let uid = idt["sub"].as_str().unwrap();
    let (s, _) =
        x.h.api(
            &x.t,
            Method::PATCH,
            &format!("/users/{}", urlencoding(uid)),
            Some(json!({"app_metadata": {"cut_off": true}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let rt = refreshed["refresh_token"].as_str().unwrap_or(rt);
    let (s, denied) = x.h.refresh_grant(app, rt).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{denied}");
    assert_eq!(denied["error"], "access_denied");
    assert_eq!(denied["error_description"], "Access revoked.");
    x.h.stop().await;
}

/// `event.authorization.roles` names the user's roles (RBAC), so an action
/// can gate on them: a role given through the Management API is seen at the
/// next login, and one taken away is no longer.
async fn the_event_carries_the_users_roles(b: Backend) {
    let x = setup(b).await;
    x.create(
        "by-role",
        r#"exports.onExecutePostLogin = async (event, api) => {
             api.idToken.setCustomClaim('https://myapp.example/my-roles', event.authorization.roles);
             if (!event.authorization.roles.includes('member')) {
               api.access.deny('Members only.');
             }
           };"#,
        json!({"deploy": true}),
    )
    .await;
    x.bind(&["by-role"]).await;
    let (s, denied) = x.login().await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{denied}");
    assert_eq!(denied["error_description"], "Members only.");

    let (s, role) =
        x.h.api(
            &x.t,
            Method::POST,
            "/roles",
            Some(json!({"name": "member"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{role}");
    let role_id = role["id"].as_str().unwrap().to_string();
    let (_, users) =
        x.h.api(
            &x.t,
            Method::GET,
            &format!("/users-by-email?email={EMAIL}"),
            None,
        )
        .await;
    let uid = users[0]["user_id"].as_str().unwrap().to_string();
    let roles_of = format!("/users/{}/roles", urlencoding(&uid));
    let body = json!({"roles": [role_id]});
    let (s, e) =
        x.h.api(&x.t, Method::POST, &roles_of, Some(body.clone()))
            .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, tokens) = x.login().await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let idt = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(idt["https://myapp.example/my-roles"], json!(["member"]));

    let (s, e) = x.h.api(&x.t, Method::DELETE, &roles_of, Some(body)).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, denied) = x.login().await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{denied}");
    x.h.stop().await;
}

/// A one-request HTTP server on 127.0.0.1 that tells the test when the
/// request arrived and answers only once the test lets it: a way to hold
/// an action mid-run (its `fetch` waits) while the test changes the user.
async fn gate() -> (
    String,
    tokio::sync::oneshot::Receiver<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/gate", listener.local_addr().unwrap());
    let (arrived_tx, arrived) = tokio::sync::oneshot::channel();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf).await.unwrap();
        arrived_tx.send(()).unwrap();
        released.await.unwrap();
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .await
            .unwrap();
    });
    (url, arrived, release)
}

async fn metadata_edited_while_an_action_runs_is_kept(b: Backend) {
    let x = setup(b).await;
    let (url, arrived, release) = gate().await;
    x.create(
        "slow",
        &format!(
            r#"exports.onExecutePostLogin = async (event, api) => {{
                 api.user.setAppMetadata('last_region', 'eu');
                 api.user.setAppMetadata('stale', null);
                 await fetch('{url}');
               }};"#
        ),
        json!({"deploy": true}),
    )
    .await;
    x.bind(&["slow"]).await;
    let (_, users) =
        x.h.api(
            &x.t,
            Method::GET,
            &format!("/users-by-email?email={EMAIL}"),
            None,
        )
        .await;
    let user_path = format!(
        "/users/{}",
        urlencoding(users[0]["user_id"].as_str().unwrap())
    );
    let (s, e) =
        x.h.api(
            &x.t,
            Method::PATCH,
            &user_path,
            Some(json!({"app_metadata": {"stale": 1}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");

    // The login's action has read the user and waits in its fetch while an
    // administrator changes the same metadata document.
    let login = {
        let x = &x;
        async move { x.login().await }
    };
    let edit = async {
        arrived.await.unwrap();
        let (s, e) =
            x.h.api(
                &x.t,
                Method::PATCH,
                &user_path,
                Some(json!({"app_metadata": {"plan": "pro"}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{e}");
        release.send(()).unwrap();
    };
    let ((s, tokens), ()) = tokio::join!(login, edit);
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let (_, user) = x.h.api(&x.t, Method::GET, &user_path, None).await;
    // The action's keys are written into the document as it is now: the
    // administrator's `plan` survives, the action's removal still applies.
    assert_eq!(
        user["app_metadata"],
        json!({"last_region": "eu", "plan": "pro"}),
        "{user}"
    );
    x.h.stop().await;
}

const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";

/// The most common Auth0 Action: MFA for the users flagged so. It also
/// counts its runs in the metadata and shows the methods it saw.
const REQUIRE_MFA: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  if (event.user.app_metadata.mfa_required) {
    api.multifactor.enable('any', { allowRememberBrowser: true });
  }
  api.user.setAppMetadata('runs', (event.user.app_metadata.runs || 0) + 1);
  api.idToken.setCustomClaim('https://myapp.example/methods', event.authentication.methods.map((m) => m.name));
};
"#;

impl Setup {
    async fn user_id(&self, email: &str) -> String {
        let (_, users) = self
            .h
            .api(
                &self.t,
                Method::GET,
                &format!("/users-by-email?email={email}"),
                None,
            )
            .await;
        users[0]["user_id"].as_str().unwrap().to_string()
    }

    async fn app_metadata(&self, uid: &str) -> Value {
        let (s, u) = self
            .h
            .api(
                &self.t,
                Method::GET,
                &format!("/users/{}", urlencoding(uid)),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{u}");
        u["app_metadata"].clone()
    }

    async fn flag_for_mfa(&self, uid: &str) {
        let (s, u) = self
            .h
            .api(
                &self.t,
                Method::PATCH,
                &format!("/users/{}", urlencoding(uid)),
                Some(json!({"app_metadata": {"mfa_required": true}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{u}");
    }

    /// The tenant log's events of `kind` for the user.
    async fn events(&self, kind: &str, uid: &str) -> usize {
        let (_, logs) = self
            .h
            .api(
                &self.t,
                Method::GET,
                &format!("/logs?q=type:{kind}&per_page=100"),
                None,
            )
            .await;
        logs.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["user_id"] == uid)
            .count()
    }
}

/// `api.multifactor.enable('any')` on the password-realm grant: the
/// tenant's policy is off and the user has no factor, yet the answer is
/// `mfa_required` (enrol first) with no tokens and nothing of the run kept;
/// the `mfa-otp` grant with the first code of the enrolment then gives the
/// tokens of the actions' second run, which saw `mfa`. The success event of
/// the password is logged once. An unflagged login is as before.
async fn an_action_requires_mfa_on_the_password_grant(b: Backend) {
    let x = setup(b).await;
    let (s, c) =
        x.h.api(
            &x.t,
            Method::PATCH,
            &format!("/clients/{}", x.app.0),
            Some(json!({"grant_types": ["password", "http://auth0.com/oauth/grant-type/password-realm", MFA_OTP]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    x.create("require-mfa", REQUIRE_MFA, json!({"deploy": true}))
        .await;
    x.bind(&["require-mfa"]).await;
    let uid = x.user_id(EMAIL).await;

    let (s, tokens) = x.login().await;
    assert_eq!(s, StatusCode::OK, "unflagged: {tokens}");
    let idt = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(idt["https://myapp.example/methods"], json!(["pwd"]));
    assert_eq!(x.app_metadata(&uid).await["runs"], 1);

    x.flag_for_mfa(&uid).await;
    let successes = x.events("s", &uid).await;
    let (s, b) = x.login().await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("mfa_required")),
        "{b}"
    );
    assert!(b.get("access_token").is_none(), "{b}");
    assert_eq!(b["mfa_requirements"], json!({"enroll": [{"type": "otp"}]}));
    assert_eq!(x.app_metadata(&uid).await["runs"], 1, "the run is not kept");
    assert_eq!(
        x.events("s", &uid).await,
        successes,
        "recorded once the factor is passed"
    );
    let token = b["mfa_token"].as_str().unwrap().to_string();

    let r =
        x.h.http
            .post(format!("{}/mfa/associate", x.h.base))
            .bearer_auth(&token)
            .json(&json!({"authenticator_types": ["otp"]}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let secret = r.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let code = common::totp(&common::base32(&secret), x.h.state().now(), 6);
    let (s, tokens) =
        x.h.token(json!({"grant_type": MFA_OTP, "client_id": x.app.0,
                          "client_secret": x.app.1, "mfa_token": token, "otp": code}))
            .await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let idt = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(idt["amr"], json!(["mfa"]));
    assert_eq!(idt["https://myapp.example/methods"], json!(["pwd", "mfa"]));
    assert_eq!(x.app_metadata(&uid).await["runs"], 2);
    assert_eq!(x.events("s", &uid).await, successes + 1, "one success");
    // The token, within its lifetime, finishes another login with a new
    // code: a login of its own in the log.
    x.h.state().clock.advance(30);
    let code = common::totp(&common::base32(&secret), x.h.state().now(), 6);
    let (s, again) =
        x.h.token(json!({"grant_type": MFA_OTP, "client_id": x.app.0,
                          "client_secret": x.app.1, "mfa_token": token, "otp": code}))
            .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(x.events("s", &uid).await, successes + 2);

    // A login the actions refuse once the factor is passed is not a
    // successful one: the password step's record, held by the token, is
    // never written.
    x.create(
        "deny-after-mfa",
        r#"exports.onExecutePostLogin = async (event, api) => {
             if (event.authentication.methods.some((m) => m.name === 'mfa')) api.access.deny('not today');
           };"#,
        json!({"deploy": true}),
    )
    .await;
    x.bind(&["require-mfa", "deny-after-mfa"]).await;
    let successes = x.events("s", &uid).await;
    let (s, b) = x.login().await;
    assert_eq!(
        (s, b["mfa_requirements"].clone()),
        (
            StatusCode::FORBIDDEN,
            json!({"challenge": [{"type": "otp"}]})
        ),
        "{b}"
    );
    x.h.state().clock.advance(30);
    let code = common::totp(&common::base32(&secret), x.h.state().now(), 6);
    let (s, denied) =
        x.h.token(
            json!({"grant_type": MFA_OTP, "client_id": x.app.0, "client_secret": x.app.1,
                          "mfa_token": b["mfa_token"], "otp": code}),
        )
        .await;
    assert_eq!(
        (s, denied["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("access_denied")),
        "{denied}"
    );
    assert_eq!(x.events("s", &uid).await, successes, "no success recorded");
    x.h.stop().await;
}

/// A provider Tern lacks (`duo`) fails the action: the login is refused
/// and the tenant log says why, rather than let through without a factor.
async fn an_unsupported_mfa_provider_fails_the_login(b: Backend) {
    let x = setup(b).await;
    x.create(
        "duo",
        "exports.onExecutePostLogin = async (event, api) => { api.multifactor.enable('duo'); };",
        json!({"deploy": true}),
    )
    .await;
    x.bind(&["duo"]).await;
    let (s, b) = x.login().await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("access_denied")),
        "{b}"
    );
    let f = x.failures().await;
    assert!(
        f.iter().any(|e| e["description"]
            .as_str()
            .is_some_and(|d| d.contains("api.multifactor.enable('duo')"))),
        "{f:?}"
    );
    x.h.stop().await;
}

/// The seed the hosted enrolment page shows as text (grouped by four).
fn shown_secret(html: &str) -> String {
    let start = html.find("id=\"secret\">").expect("the key as text") + 12;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].replace(' ', "")
}

/// On the hosted enrolment page `page` of transaction `state`, enter the
/// first code of the key it shows; the redirect to the application.
async fn enrol_on_page(
    x: &Setup,
    br: &mut Browser,
    page: &common::browser::Answer,
) -> common::browser::Answer {
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let state = common::browser::form_state(&page.body);
    let seed = common::base32(&shown_secret(&page.body));
    let code = common::totp(&seed, x.h.state().now(), 6);
    let posted = br
        .post_form(
            &format!("/u/mfa-otp-enrollment-qr?state={state}"),
            &[("state", &state), ("code", &code)],
        )
        .await;
    assert_eq!(
        posted.location().as_deref(),
        Some(format!("/authorize/resume?state={state}").as_str())
    );
    br.follow(posted).await
}

/// In the browser: a flagged user's password login goes to the MFA step
/// (enrolment, having no factor) before any code, and the code after it
/// carries `amr: ["mfa"]` and the claims of a run that saw `mfa`. A
/// session opened with the password alone, for a user flagged later, does
/// not give a code silently (`interaction_required`) and steps up to MFA.
async fn an_action_sends_the_browser_to_mfa(b: Backend) {
    let x = setup(b).await;
    let (client_id, secret) = x.web_client().await;
    x.create("require-mfa", REQUIRE_MFA, json!({"deploy": true}))
        .await;
    x.bind(&["require-mfa"]).await;
    let uid = x.user_id(EMAIL).await;
    x.flag_for_mfa(&uid).await;

    let mut br = Browser::new(&x.h.base);
    let page = br
        .code_sign_in(&client_id, CALLBACK, "openid", EMAIL, PASSWORD)
        .await;
    assert!(page.location_param("code").is_none(), "no code before MFA");
    let done = enrol_on_page(&x, &mut br, &page).await;
    let code = done.location_param("code").expect("a code after MFA");
    let idt = x.exchange(&client_id, &secret, &code).await;
    assert_eq!(idt["amr"], json!(["mfa"]));
    assert_eq!(idt["https://myapp.example/methods"], json!(["pwd", "mfa"]));
    assert_eq!(
        x.app_metadata(&uid).await["runs"],
        1,
        "the first run is not kept"
    );

    // A session without `mfa`: another user, flagged after signing in.
    let other = "grace@example.com";
    x.h.create_user(&x.t, other, PASSWORD).await;
    let other_id = x.user_id(other).await;
    let mut br = Browser::new(&x.h.base);
    let done = br
        .code_sign_in(&client_id, CALLBACK, "openid", other, PASSWORD)
        .await;
    assert!(
        done.location_param("code").is_some(),
        "{:?}",
        done.location()
    );
    x.flag_for_mfa(&other_id).await;
    let silent = br
        .get(&common::browser::authorize_path(
            &client_id,
            CALLBACK,
            "openid",
            &[("prompt", "none")],
        ))
        .await;
    assert!(
        silent.location_param("code").is_none(),
        "{:?}",
        silent.location()
    );
    assert_eq!(
        silent.location_param("error").as_deref(),
        Some("interaction_required")
    );
    let again = br
        .get(&common::browser::authorize_path(
            &client_id,
            CALLBACK,
            "openid",
            &[],
        ))
        .await;
    assert!(
        again
            .location()
            .is_some_and(|l| l.starts_with("/u/mfa-otp-enrollment-qr?state=")),
        "{:?}",
        again.location()
    );
    let page = br.follow(again).await;
    let done = enrol_on_page(&x, &mut br, &page).await;
    let code = done.location_param("code").expect("a code after MFA");
    let idt = x.exchange(&client_id, &secret, &code).await;
    assert_eq!(idt["sub"], other_id.as_str());
    assert_eq!(idt["amr"], json!(["mfa"]));
    // That session now did MFA: the action does not ask again.
    let silent = br
        .get(&common::browser::authorize_path(
            &client_id,
            CALLBACK,
            "openid",
            &[("prompt", "none")],
        ))
        .await;
    assert!(
        silent.location_param("code").is_some(),
        "{:?}",
        silent.location()
    );
    x.h.stop().await;
}

/// A refresh of a login that never passed a factor, for a user flagged
/// since: `mfa_required` with an `mfa_token` (as Auth0 answers), not new
/// tokens; the refresh token is not spent by it.
async fn a_refresh_without_mfa_is_asked_for_it(b: Backend) {
    let x = setup(b).await;
    let c = x
        .h
        .client_on(
            &x.t,
            &x.h.info.connection_id,
            json!({"name": "Mobile", "app_type": "native", "grant_types": ["password", "refresh_token", MFA_OTP]}),
        )
        .await;
    let app = (
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
    );
    x.create("require-mfa", REQUIRE_MFA, json!({"deploy": true}))
        .await;
    x.bind(&["require-mfa"]).await;
    let tokens = x.h.offline_login(app, EMAIL, PASSWORD, json!({})).await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    x.flag_for_mfa(&x.user_id(EMAIL).await).await;
    for _ in 0..2 {
        let (s, b) = x.h.refresh_grant(app, rt).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("mfa_required")),
            "{b}"
        );
        assert!(
            b["mfa_token"].is_string() && b.get("access_token").is_none(),
            "{b}"
        );
    }
    x.h.stop().await;
}

/// A password changed while its user's hosted login waits at the MFA step
/// stays changed: the login's deferred record (its `s` event, its count)
/// is written when the login finishes, but not the rehash of the old
/// password it carries (the user's bcrypt hash, from an independent
/// implementation, is upgraded at a login), which would undo the change.
async fn a_password_changed_while_at_mfa_stays(b: Backend) {
    let x = setup(b).await;
    let (client_id, _) = x.web_client().await;
    x.create("require-mfa", REQUIRE_MFA, json!({"deploy": true}))
        .await;
    x.bind(&["require-mfa"]).await;
    let email = "imported@example.com";
    x.h.import_rows(
        &x.t,
        &json!([{"email": email, "email_verified": true,
                  "password_hash": bcrypt::hash(PASSWORD, 4).unwrap()}]),
    )
    .await;
    let uid = x.user_id(email).await;
    x.flag_for_mfa(&uid).await;

    let mut br = Browser::new(&x.h.base);
    let page = br
        .code_sign_in(&client_id, CALLBACK, "openid", email, PASSWORD)
        .await;
    assert!(page.location_param("code").is_none(), "no code before MFA");
    let changed = "Changed-Horse-8-Battery";
    let (s, u) =
        x.h.api(
            &x.t,
            Method::PATCH,
            &format!("/users/{}", urlencoding(&uid)),
            Some(json!({"password": changed})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let done = enrol_on_page(&x, &mut br, &page).await;
    assert!(
        done.location_param("code").is_some(),
        "{:?}",
        done.location()
    );
    assert_eq!(x.events("s", &uid).await, 1, "the login is recorded");

    let realm_login = |password: &'static str| {
        x.h.token(json!({
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "realm": REALM, "username": email, "password": password,
            "scope": "openid", "client_id": x.app.0, "client_secret": x.app.1,
        }))
    };
    // The new password is the user's (the action asks it for a factor);
    // the old one is wrong.
    let (s, r) = realm_login(changed).await;
    assert_eq!(
        (s, r["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("mfa_required")),
        "{r}"
    );
    let (s, r) = realm_login(PASSWORD).await;
    assert_eq!(
        (s, r["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{r}"
    );
    x.h.stop().await;
}

both_backends!(
    custom_claims_reach_both_tokens,
    deny_refuses_with_the_reason_and_logs_a_failure,
    metadata_persists_and_actions_run_in_order,
    a_throwing_action_fails_the_login_cleanly,
    code_flow_carries_the_claims_and_a_deny_redirects,
    scopes_triggers_and_deletes_follow_auth0,
    refresh_exchanges_run_the_actions_too,
    the_event_carries_the_users_roles,
    metadata_edited_while_an_action_runs_is_kept,
    an_action_requires_mfa_on_the_password_grant,
    an_unsupported_mfa_provider_fails_the_login,
    an_action_sends_the_browser_to_mfa,
    a_refresh_without_mfa_is_asked_for_it,
    a_password_changed_while_at_mfa_stays,
);
