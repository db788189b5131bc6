#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The console's Actions and Email templates pages over HTTP, on both
//! backends: an operator signed in through Tern's login posts the forms
//! with the CSRF token, and what changed is read back through the
//! Management API (and a real password login running the action in the
//! sandbox, a real signup's mail in the outbox). Refusals show the
//! service's message with nothing stored; no token is 403; a secret's value
//! never appears in a console page after it is saved; every change is in
//! the tenant log with the operator as actor.

mod common;

use common::browser::{Answer, Browser, claims, csrf};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OPERATOR: &str = "ops@example.com";
const OPERATOR_PASSWORD: &str = "Operator-Pass-42";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";
const SECRET: &str = "plan-value-Zq81-never-shown";

/// An action reading a secret into an access-token claim.
const PLAN_ACTION: &str = "exports.onExecutePostLogin = async (event, api) => {\n  api.accessToken.setCustomClaim('https://app.example/plan', event.secrets.PLAN);\n  api.idToken.setCustomClaim('https://app.example/order', (event.user.app_metadata.order || '') + 'plan');\n};\n";

/// An action that records it ran before or after the other.
const ORDER_ACTION: &str = "exports.onExecutePostLogin = async (event, api) => {\n  api.user.setAppMetadata('order', (event.user.app_metadata.order || '') + 'order>');\n};\n";

/// The action's id from a redirect to its page.
fn id_from(a: &Answer) -> String {
    let to = a.location().expect("a redirect");
    let rest = to.strip_prefix("/console/actions/").expect(&to);
    rest.split('?').next().unwrap().to_string()
}

async fn create_action(b: &mut Browser, token: &str, name: &str, code: &str) -> Answer {
    b.post_form(
        "/console/actions",
        &[
            ("csrf", token),
            ("name", name),
            ("code", code),
            ("runtime", "node22"),
            ("dependencies", ""),
        ],
    )
    .await
}

/// The editor form of action `id` as the page holds it, with `extra` fields.
async fn save_action(
    b: &mut Browser,
    token: &str,
    id: &str,
    name: &str,
    code: &str,
    extra: &[(&str, &str)],
) -> Answer {
    post_editor(
        b,
        &format!("/console/actions/{id}"),
        token,
        name,
        code,
        extra,
    )
    .await
}

/// The editor's "Save and deploy": the same fields posted to `/deploy`.
async fn deploy_action(
    b: &mut Browser,
    token: &str,
    id: &str,
    name: &str,
    code: &str,
    extra: &[(&str, &str)],
) -> Answer {
    let url = format!("/console/actions/{id}/deploy");
    post_editor(b, &url, token, name, code, extra).await
}

async fn post_editor(
    b: &mut Browser,
    url: &str,
    token: &str,
    name: &str,
    code: &str,
    extra: &[(&str, &str)],
) -> Answer {
    let mut fields = vec![
        ("csrf", token),
        ("name", name),
        ("code", code),
        ("runtime", "node22"),
        ("dependencies", ""),
    ];
    fields.extend_from_slice(extra);
    b.post_form(url, &fields).await
}

async fn flow(h: &Harness, t: &str) -> Vec<String> {
    let (s, v) = h
        .api(
            t,
            Method::GET,
            "/actions/triggers/post-login/bindings",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["action"]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn post_flow(b: &mut Browser, token: &str, verb: &str, value: &str) -> Answer {
    b.post_form("/console/actions/flow", &[("csrf", token), (verb, value)])
        .await
}

async fn binding_of(h: &Harness, t: &str, action: &str) -> String {
    let (_, v) = h
        .api(
            t,
            Method::GET,
            "/actions/triggers/post-login/bindings",
            None,
        )
        .await;
    v["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["action"]["id"] == action)
        .map(|b| b["id"].as_str().unwrap().to_string())
        .expect("bound")
}

async fn login(h: &Harness, app: &(String, String)) -> (StatusCode, Value) {
    h.token(json!({
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
        "realm": "Username-Password-Authentication",
        "username": EMAIL, "password": PASSWORD, "scope": "openid",
        "client_id": app.0, "client_secret": app.1,
    }))
    .await
}

async fn actions_in_the_console(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    h.create_user(&t, EMAIL, PASSWORD).await;
    let app = h.password_client(&t).await;
    let mut b = h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;

    let list = b.get("/console/actions").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("No action yet"), "{}", list.body);
    let token = csrf(&list.body);

    // Without a session: the sign-in page; with a forged token: 403; nothing made.
    let mut anon = Browser::new(&h.base);
    let a = anon
        .post_form("/console/actions", &[("csrf", "x"), ("name", "n")])
        .await;
    assert_eq!(a.location().as_deref(), Some("/console/login"));
    let forged = create_action(&mut b, "forged", "sneaky", PLAN_ACTION).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A dependency the sandbox cannot provide: the service's message, nothing stored.
    let refused = b
        .post_form(
            "/console/actions",
            &[
                ("csrf", &token),
                ("name", "deps"),
                ("code", PLAN_ACTION),
                ("dependencies", "lodash@4.17.21"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("cannot be installed here"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("lodash@4.17.21"),
        "the form keeps what was typed"
    );
    let (_, all) = h.api(&t, Method::GET, "/actions/actions", None).await;
    assert_eq!(all["total"], 0, "{all}");

    // Created, then a secret added on its page.
    let made = create_action(&mut b, &token, "plan <b>claim</b>", PLAN_ACTION).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let plan = id_from(&made);
    let page = b.get(&format!("/console/actions/{plan}")).await;
    assert!(
        page.body.contains("plan &lt;b&gt;claim&lt;/b&gt;"),
        "names are escaped"
    );
    assert!(page.body.contains("draft"), "{}", page.body);
    let saved = save_action(
        &mut b,
        &token,
        &plan,
        "plan",
        PLAN_ACTION,
        &[("new_secret_0", "PLAN"), ("new_secret_value_0", SECRET)],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, a) = h
        .api(&t, Method::GET, &format!("/actions/actions/{plan}"), None)
        .await;
    assert_eq!(a["name"], "plan");
    assert_eq!(a["secrets"][0]["name"], "PLAN", "{a}");
    let secret_saved_at = a["secrets"][0]["updated_at"].clone();
    // A new secret without a value: said on the page, nothing changed.
    let half = save_action(
        &mut b,
        &token,
        &plan,
        "renamed",
        PLAN_ACTION,
        &[("secret_key_0", "PLAN"), ("new_secret_0", "OTHER")],
    )
    .await;
    assert_eq!(half.status, StatusCode::BAD_REQUEST);
    assert!(
        half.body.contains("Give the secret OTHER a value."),
        "{}",
        half.body
    );
    let (_, a) = h
        .api(&t, Method::GET, &format!("/actions/actions/{plan}"), None)
        .await;
    assert_eq!(a["name"], "plan", "the refused save changed nothing: {a}");
    // Saved again with the value left blank: the stored value is kept.
    let kept = save_action(
        &mut b,
        &token,
        &plan,
        "plan",
        PLAN_ACTION,
        &[("secret_key_0", "PLAN")],
    )
    .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.body);
    let (_, a) = h
        .api(&t, Method::GET, &format!("/actions/actions/{plan}"), None)
        .await;
    assert_eq!(a["secrets"][0]["updated_at"], secret_saved_at, "{a}");

    // Not deployed: the flow refuses it with the service's message.
    let early = post_flow(&mut b, &token, "add", &plan).await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST, "{}", early.body);
    assert!(
        early.body.contains("has not been deployed"),
        "{}",
        early.body
    );
    assert!(flow(&h, &t).await.is_empty());

    // Deployed (a snapshot, as the API's), bound, and a login runs it with the secret.
    let d = deploy_action(
        &mut b,
        &token,
        &plan,
        "plan",
        PLAN_ACTION,
        &[("secret_key_0", "PLAN")],
    )
    .await;
    assert_eq!(d.status, StatusCode::SEE_OTHER, "{}", d.body);
    let (_, a) = h
        .api(&t, Method::GET, &format!("/actions/actions/{plan}"), None)
        .await;
    assert_eq!(a["deployed_version"]["number"], 1, "{a}");
    assert_eq!(a["all_changes_deployed"], true);
    assert_eq!(
        post_flow(&mut b, &token, "add", &plan).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(flow(&h, &t).await, vec![plan.clone()]);
    let (s, tokens) = login(&h, &app).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["https://app.example/plan"], SECRET, "{access}");

    // A second action, added after, then moved up: it runs first.
    let made = create_action(&mut b, &token, "order", ORDER_ACTION).await;
    let order = id_from(&made);
    deploy_action(&mut b, &token, &order, "order", ORDER_ACTION, &[]).await;
    post_flow(&mut b, &token, "add", &order).await;
    assert_eq!(flow(&h, &t).await, vec![plan.clone(), order.clone()]);
    let (_, tokens) = login(&h, &app).await;
    assert_eq!(
        claims(tokens["id_token"].as_str().unwrap())["https://app.example/order"],
        "plan"
    );
    let moved = post_flow(&mut b, &token, "up", &binding_of(&h, &t, &order).await).await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert_eq!(flow(&h, &t).await, vec![order.clone(), plan.clone()]);
    let (_, tokens) = login(&h, &app).await;
    assert!(
        claims(tokens["id_token"].as_str().unwrap())["https://app.example/order"]
            .as_str()
            .unwrap()
            .ends_with("order>plan"),
        "the moved action ran first"
    );
    // A binding that is no longer there (a stale page): nothing changes.
    let stale = post_flow(&mut b, &token, "remove", "no-such-binding").await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(flow(&h, &t).await, vec![order.clone(), plan.clone()]);
    let down = post_flow(&mut b, &token, "down", &binding_of(&h, &t, &order).await).await;
    assert_eq!(down.status, StatusCode::SEE_OTHER);
    assert_eq!(flow(&h, &t).await, vec![plan.clone(), order.clone()]);
    let removed = post_flow(&mut b, &token, "remove", &binding_of(&h, &t, &plan).await).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(flow(&h, &t).await, vec![order.clone()]);
    // Without the token the flow does not change.
    let forged = post_flow(&mut b, "forged", "add", &plan).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(flow(&h, &t).await, vec![order.clone()]);

    // The secret's value is on no console page.
    for path in [
        "/console/actions".to_string(),
        format!("/console/actions/{plan}"),
        format!("/console/actions/{plan}/delete"),
        "/console/actions/flow".to_string(),
        "/console/logs".to_string(),
    ] {
        let p = b.get(&path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert!(!p.body.contains(SECRET), "{path} shows the secret");
    }

    // A secret removed with its box: gone from the action.
    let dropped = save_action(
        &mut b,
        &token,
        &plan,
        "plan",
        PLAN_ACTION,
        &[("secret_key_0", "PLAN"), ("secret_remove_0", "on")],
    )
    .await;
    assert_eq!(dropped.status, StatusCode::SEE_OTHER, "{}", dropped.body);
    let (_, a) = h
        .api(&t, Method::GET, &format!("/actions/actions/{plan}"), None)
        .await;
    assert_eq!(a["secrets"], json!([]), "{a}");

    // Deleted from its confirmation: a bound action is unbound with it.
    let confirm = b.get(&format!("/console/actions/{order}/delete")).await;
    assert!(
        confirm.body.contains("it is removed from it"),
        "{}",
        confirm.body
    );
    let unticked = b
        .post_form(
            &format!("/console/actions/{order}/delete"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(unticked.status, StatusCode::BAD_REQUEST);
    let gone = b
        .post_form(
            &format!("/console/actions/{order}/delete"),
            &[("csrf", &token), ("confirm", "yes")],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    let (s, _) = h
        .api(&t, Method::GET, &format!("/actions/actions/{order}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(flow(&h, &t).await.is_empty());

    // Every change in the tenant log, the operator as actor, no secret value.
    for what in [
        "action created",
        "action saved",
        "action deployed",
        "post-login flow saved",
        "action deleted",
    ] {
        let entry = h
            .console_log(&t, "sapi", &format!("Console: {what}"), OPERATOR)
            .await;
        assert!(!entry.to_string().contains(SECRET), "{entry}");
    }
    h.stop().await;
}

async fn save_template(b: &mut Browser, token: &str, subject: &str, body: &str) -> Answer {
    template_form(
        b,
        "/console/email-templates/verify_email",
        token,
        subject,
        body,
    )
    .await
}

/// The template form's Preview button: the same fields posted to `/preview`.
async fn preview_template(b: &mut Browser, token: &str, subject: &str, body: &str) -> Answer {
    let url = "/console/email-templates/verify_email/preview";
    template_form(b, url, token, subject, body).await
}

async fn template_form(
    b: &mut Browser,
    url: &str,
    token: &str,
    subject: &str,
    body: &str,
) -> Answer {
    b.post_form(
        url,
        &[
            ("csrf", token),
            ("enabled", "on"),
            ("from", "Support <support@example.com>"),
            ("subject", subject),
            ("body", body),
            ("resultUrl", "https://app.example/verified"),
            ("urlLifetimeInSeconds", "3600"),
        ],
    )
    .await
}

async fn email_templates_in_the_console(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let mut b = h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let list = b.get("/console/email-templates").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    for name in [
        "verify_email",
        "reset_email",
        "blocked_account",
        "welcome_email",
    ] {
        assert!(
            list.body
                .contains(&format!("/console/email-templates/{name}\"")),
            "{name}"
        );
    }
    assert_eq!(
        b.get("/console/email-templates/stolen_credentials")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let token = csrf(&list.body);
    let body =
        "<p>Hi {{ user.email }}</p><script>alert(1)</script><a href=\"{{ url }}\">Verify</a>";

    // Liquid that does not parse: said on the page, nothing stored.
    let broken = save_template(&mut b, &token, "Verify {% if %}", body).await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.body);
    assert!(
        broken.body.contains("is not valid Liquid"),
        "{}",
        broken.body
    );
    let (s, _) = h
        .api(&t, Method::GET, "/email-templates/verify_email", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // No token: 403, nothing stored.
    assert_eq!(
        save_template(&mut b, "forged", "x", body).await.status,
        StatusCode::FORBIDDEN
    );
    // A preview of a template never saved: rendered, sandboxed, not stored.
    let unsaved = preview_template(&mut b, &token, "Hi", "<p>Draft for {{ user.name }}</p>").await;
    assert_eq!(unsaved.status, StatusCode::OK, "{}", unsaved.body);
    assert!(
        unsaved
            .header("content-security-policy")
            .unwrap()
            .starts_with("sandbox;")
    );
    assert!(
        unsaved.body.contains("<p>Draft for Jane Doe</p>"),
        "{}",
        unsaved.body
    );
    let (s, _) = h
        .api(&t, Method::GET, "/email-templates/verify_email", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a preview stores nothing");

    // Created (it did not exist), then changed (it does).
    let made = save_template(&mut b, &token, "First {{ user.email }}", body).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let changed = save_template(&mut b, &token, "Console says verify {{ user.email }}", body).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    let (s, stored) = h
        .api(&t, Method::GET, "/email-templates/verify_email", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{stored}");
    assert_eq!(stored["subject"], "Console says verify {{ user.email }}");
    assert_eq!(stored["enabled"], true);
    assert_eq!(stored["urlLifetimeInSeconds"], 3600);
    assert_eq!(stored["resultUrl"], "https://app.example/verified");

    // The page: the body escaped in its textarea, the subject rendered for
    // the sample user, the body only in a sandboxed frame.
    let page = b.get("/console/email-templates/verify_email").await;
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        page.body
            .contains("Console says verify jane.doe@example.com"),
        "{}",
        page.body
    );
    assert!(page.body.contains("sandbox=\"\""), "{}", page.body);
    let preview = b.get("/console/email-templates/verify_email/preview").await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let csp = preview.header("content-security-policy").unwrap();
    assert!(csp.starts_with("sandbox;"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
    assert!(
        preview.body.contains("Hi jane.doe@example.com"),
        "{}",
        preview.body
    );
    let mut anon = Browser::new(&h.base);
    let a = anon
        .get("/console/email-templates/verify_email/preview")
        .await;
    assert_eq!(a.location().as_deref(), Some("/console/login"));

    // The Preview button posts the form into the frame by name.
    assert!(
        page.body.contains("formtarget=\"preview-frame\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("name=\"preview-frame\""),
        "{}",
        page.body
    );
    // Unsaved edits previewed: the form's body, sandboxed, nothing stored.
    let edited = preview_template(
        &mut b,
        &token,
        "Draft subject",
        "<p id=\"draft\">Edited for {{ user.email }}</p><script>alert(2)</script>",
    )
    .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    let csp = edited.header("content-security-policy").unwrap();
    assert!(csp.starts_with("sandbox;"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
    assert!(
        edited
            .body
            .contains("<p id=\"draft\">Edited for jane.doe@example.com</p>"),
        "{}",
        edited.body
    );
    // Refusals are the preview's text, with nothing stored: Liquid that
    // does not parse, a lifetime that is no number, no CSRF token.
    let broken = preview_template(&mut b, &token, "Subject", "<p>{% if %}</p>").await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        broken
            .header("content-security-policy")
            .unwrap()
            .starts_with("sandbox;")
    );
    assert!(
        broken.body.contains("The template does not render: ")
            && broken.body.contains("the body is not valid Liquid"),
        "{}",
        broken.body
    );
    let lifetime = b
        .post_form(
            "/console/email-templates/verify_email/preview",
            &[
                ("csrf", token.as_str()),
                ("body", "<p>x</p>"),
                ("urlLifetimeInSeconds", "soon"),
            ],
        )
        .await;
    assert_eq!(lifetime.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        lifetime.body.contains("whole number of seconds"),
        "{}",
        lifetime.body
    );
    let forged = preview_template(&mut b, "forged", "x", "<p>x</p>").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let other = b
        .post_form(
            "/console/email-templates/stolen_credentials/preview",
            &[("csrf", token.as_str()), ("body", "<p>x</p>")],
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let (_, after) = h
        .api(&t, Method::GET, "/email-templates/verify_email", None)
        .await;
    assert_eq!(after, stored, "previews change nothing stored");
    let saved_preview = b.get("/console/email-templates/verify_email/preview").await;
    assert!(saved_preview.body.contains("Hi jane.doe@example.com"));

    // A signup's automatic mail carries the subject set in the console.
    let (client_id, _) = h.password_client(&t).await;
    let (s, u) = h
        .signup_from(
            &client_id,
            "new@example.com",
            "Sign-up-pa55word",
            "10.0.0.2",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let mail = h.mail_to("new@example.com").await;
    assert_eq!(mail.subject, "Console says verify new@example.com");

    h.console_log(&t, "sapi", "Console: email template saved", OPERATOR)
        .await;
    h.stop().await;
}

/// An action whose access token claim says which version ran.
fn tier_action(tier: &str) -> String {
    format!(
        "exports.onExecutePostLogin = async (event, api) => {{\n  api.accessToken.setCustomClaim('https://app.example/tier', '{tier}');\n}};\n"
    )
}

/// The action as the Management API answers it.
async fn action_of(h: &Harness, t: &str, id: &str) -> Value {
    let (s, a) = h
        .api(t, Method::GET, &format!("/actions/actions/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    a
}

/// "Save and deploy" from the editor: the posted draft is saved, then
/// deployed — what runs is what was in the form, not the draft stored
/// before; a save refused (a bad name, a secret without value, no CSRF
/// token) deploys nothing and stores nothing.
async fn deploy_saves_the_posted_draft_first(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    h.create_user(&t, EMAIL, PASSWORD).await;
    let app = h.password_client(&t).await;
    let mut b = h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let token = csrf(&b.get("/console/actions").await.body);
    let made = create_action(&mut b, &token, "tier", &tier_action("one")).await;
    let id = id_from(&made);
    let page = b.get(&format!("/console/actions/{id}")).await.body;
    assert!(
        page.contains(&format!("formaction=\"/console/actions/{id}/deploy\"")),
        "the deploy button posts the editor: {page}"
    );
    let first = deploy_action(&mut b, &token, &id, "tier", &tier_action("one"), &[]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(
        first.location().unwrap(),
        format!("/console/actions/{id}?done=deployed")
    );
    post_flow(&mut b, &token, "add", &id).await;

    // An edit never saved, deployed: saved first, then what runs.
    let edited = deploy_action(&mut b, &token, &id, "tier two", &tier_action("two"), &[]).await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
    let a = action_of(&h, &t, &id).await;
    assert_eq!(a["name"], "tier two", "{a}");
    assert_eq!(a["code"], tier_action("two"));
    assert_eq!(a["deployed_version"]["code"], tier_action("two"), "{a}");
    assert_eq!(a["deployed_version"]["number"], 2);
    assert_eq!(a["all_changes_deployed"], true);
    let (s, tokens) = login(&h, &app).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["https://app.example/tier"], "two", "{access}");

    // Refused saves: the page says why and keeps what was typed; neither
    // the draft nor what runs changes.
    let three = tier_action("three");
    let no_name = deploy_action(&mut b, &token, &id, " ", &three, &[]).await;
    assert_eq!(no_name.status, StatusCode::BAD_REQUEST, "{}", no_name.body);
    assert!(
        no_name.body.contains("must be 1 to 255 characters"),
        "{}",
        no_name.body
    );
    assert!(no_name.body.contains("&#39;three&#39;") || no_name.body.contains("'three'"));
    let half = deploy_action(
        &mut b,
        &token,
        &id,
        "tier three",
        &three,
        &[("new_secret_0", "LEVEL")],
    )
    .await;
    assert_eq!(half.status, StatusCode::BAD_REQUEST, "{}", half.body);
    assert!(
        half.body.contains("Give the secret LEVEL a value."),
        "{}",
        half.body
    );
    let forged = deploy_action(&mut b, "forged", &id, "tier three", &three, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        action_of(&h, &t, &id).await,
        a,
        "nothing saved nor deployed"
    );
    let (_, tokens) = login(&h, &app).await;
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["https://app.example/tier"], "two", "{access}");

    // An unknown action: its page says so, nothing is made.
    let gone = deploy_action(&mut b, &token, "act_nope", "x", &three, &[]).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    for what in ["Console: action saved", "Console: action deployed"] {
        h.console_log(&t, "sapi", what, OPERATOR).await;
    }
    h.stop().await;
}

/// The welcome template is edited like the others, without the link's
/// fields (it has no link); a template that cannot render within the
/// budget is refused with the reason, nothing stored.
async fn welcome_template_in_the_console(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let mut b = h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let url = "/console/email-templates/welcome_email";
    let page = b.get(url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Welcome email"), "{}", page.body);
    assert!(!page.body.contains("name=\"resultUrl\""), "{}", page.body);
    let token = csrf(&page.body);

    let runaway = "{% for i in (1..100000000) %}{% endfor %}";
    let refused = template_form(&mut b, url, &token, "Welcome", runaway).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("within Tern&#39;s limits")
            || refused.body.contains("within Tern's limits"),
        "{}",
        refused.body
    );
    let (s, _) = h
        .api(&t, Method::GET, "/email-templates/welcome_email", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing stored");

    let body = "<p>Welcome {{ user.name }} to {{ application.name }}</p>";
    let preview = template_form(&mut b, &format!("{url}/preview"), &token, "Hi", body).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(
        preview.body.contains("<p>Welcome Jane Doe to </p>"),
        "{}",
        preview.body
    );
    let saved = template_form(&mut b, url, &token, "Welcome {{ user.email }}", body).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (s, stored) = h
        .api(&t, Method::GET, "/email-templates/welcome_email", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{stored}");
    assert_eq!(stored["enabled"], true);
    assert_eq!(stored["body"], body);
    assert!(stored["resultUrl"].is_null(), "no link fields: {stored}");
    assert!(stored["urlLifetimeInSeconds"].is_null(), "{stored}");
    let page = b.get(url).await;
    assert!(
        page.body.contains("Welcome jane.doe@example.com"),
        "{}",
        page.body
    );
    h.stop().await;
}

both_backends!(
    actions_in_the_console,
    email_templates_in_the_console,
    welcome_template_in_the_console,
    deploy_saves_the_posted_draft_first,
);
