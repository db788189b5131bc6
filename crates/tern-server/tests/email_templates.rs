#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Email templates over HTTP (`/api/v2/email-templates`, Auth0's shapes and
//! scopes) and the mail they make: the automatic verification mail after a
//! signup and `POST /users` (Auth0's `verify_email` rule), a disabled
//! `verify_email` template, Liquid rendering with a working link, a
//! template that fails to render falling back to the built-in mail, the
//! welcome mail after a signup or its verification, and the render budget.

mod common;
mod reset_support;

use std::time::{Duration, Instant};

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use reset_support::*;
use serde_json::{Value, json};
use tern_core::mail::OutboxMessage;

/// Auth0's example template (Management API docs, `POST /email-templates`),
/// with Liquid variables Auth0 documents.
fn verify_template(enabled: bool) -> Value {
    json!({
        "template": "verify_email",
        "body": "<html><body><p>Hi {{ user.email }},</p><a href=\"{{ url }}\">Verify your account for {{ application.name }}</a></body></html>",
        "from": "Support <support@example.com>",
        "resultUrl": "https://app.example/verified",
        "subject": "Verify {{ user.email }}",
        "syntax": "liquid",
        "urlLifetimeInSeconds": 3600,
        "enabled": enabled
    })
}

/// Wait until the automatic mails started so far have been sent.
async fn background_done(h: &Harness) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.state().mail_lane.pending() > 0 {
        assert!(Instant::now() < deadline, "background mail still pending");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The verification mails in the outbox to `to`.
async fn verification_mails(h: &Harness, to: &str) -> Vec<OutboxMessage> {
    outbox(h)
        .await
        .into_iter()
        .filter(|m| m.kind == "verification_email" && m.to == to)
        .collect()
}

async fn email_verified(h: &Harness, t: &str, id: &str) -> Value {
    let path = format!("/users/{}", urlencoding::encode(id));
    h.api(t, Method::GET, &path, None).await.1["email_verified"].clone()
}

/// Store `template` (which must be accepted), then sign `email` up through
/// a new application; the application's id and the new user's id.
async fn template_then_signup(
    h: &Harness,
    t: &str,
    template: Value,
    email: &str,
) -> (String, String) {
    let (s, e) = h
        .api(t, Method::POST, "/email-templates", Some(template))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (client_id, _) = h.password_client(t).await;
    let (s, u) = h
        .signup_from(&client_id, email, "Sign-up-pa55word", "10.0.0.2")
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let id = format!("auth0|{}", u["_id"].as_str().unwrap());
    (client_id, id)
}

/// Create, read, change and replace templates with Auth0's codes; each
/// operation needs its own scope.
async fn api_round_trip_and_scopes(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (s, e) = h
        .api(&t, Method::GET, "/email-templates/verify_email", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    assert_eq!(e["errorCode"], "inexistent_email_template");
    let (s, e) = h.api(&t, Method::GET, "/email-templates/nope", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");

    let (s, created) = h
        .api(
            &t,
            Method::POST,
            "/email-templates",
            Some(verify_template(true)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    assert_eq!(created["template"], "verify_email");
    assert_eq!(created["includeEmailInRedirect"], true);
    let (s, e) = h
        .api(
            &t,
            Method::POST,
            "/email-templates",
            Some(verify_template(true)),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (s, got) = h
        .api(&t, Method::GET, "/email-templates/verify_email", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, created);

    // Refusals a template author can act on.
    for (bad, fragment) in [
        (json!({"from": "not an address"}), "not an email address"),
        (json!({"body": "{% if %}"}), "not valid Liquid"),
        (json!({"template": "reset_email"}), "does not match"),
        (
            json!({"colour": "red"}),
            "Additional properties not allowed",
        ),
    ] {
        let (s, e) = h
            .api(
                &t,
                Method::PATCH,
                "/email-templates/verify_email",
                Some(bad),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert!(e["message"].as_str().unwrap().contains(fragment), "{e}");
    }
    let (s, patched) = h
        .api(
            &t,
            Method::PATCH,
            "/email-templates/verify_email",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["enabled"], false);
    assert_eq!(patched["subject"], created["subject"]);
    let mut whole = verify_template(true);
    whole["subject"] = json!("Please verify");
    let (s, put) = h
        .api(
            &t,
            Method::PUT,
            "/email-templates/verify_email",
            Some(whole),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{put}");
    assert_eq!(put["subject"], "Please verify");
    let (s, e) = h
        .api(
            &t,
            Method::PUT,
            "/email-templates/verify_email",
            Some(json!({"template": "verify_email"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let mut reset = verify_template(true);
    reset["template"] = json!("reset_email");
    let (s, e) = h
        .api(
            &t,
            Method::PUT,
            "/email-templates/reset_email",
            Some(reset.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");

    // Scopes, as the OAS's `security` blocks.
    let read = h.scoped_token(&["read:email_templates"]).await;
    let (s, _) = h
        .api(&read, Method::GET, "/email-templates/verify_email", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    for (method, path, body) in [
        (Method::POST, "/email-templates", reset.clone()),
        (
            Method::PATCH,
            "/email-templates/verify_email",
            json!({"enabled": true}),
        ),
        (
            Method::PUT,
            "/email-templates/verify_email",
            verify_template(true),
        ),
    ] {
        let (s, e) = h.api(&read, method, path, Some(body)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {e}");
    }
    let create = h.scoped_token(&["create:email_templates"]).await;
    let (s, e) = h
        .api(&create, Method::GET, "/email-templates/verify_email", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, e) = h
        .api(
            &create,
            Method::PATCH,
            "/email-templates/verify_email",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, e) = h
        .api(&create, Method::POST, "/email-templates", Some(reset))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let update = h.scoped_token(&["update:email_templates"]).await;
    let (s, e) = h
        .api(
            &update,
            Method::PATCH,
            "/email-templates/reset_email",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    h.stop().await;
}

/// A signup and `POST /users` each send one verification mail whose link
/// verifies; `verify_email: false` sends none, `true` sends one even to a
/// verified address.
async fn creation_sends_a_working_verification_mail(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (client_id, _) = h.password_client(&t).await;
    let (s, u) = h
        .signup_from(
            &client_id,
            "sig@example.com",
            "Sign-up-pa55word",
            "10.0.0.1",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let signed_up = format!("auth0|{}", u["_id"].as_str().unwrap());
    let api_user = |body: Value| h.api(&t, Method::POST, "/users", Some(body));
    let (s, created) = api_user(json!({"connection": "Username-Password-Authentication",
        "email": "api@example.com", "password": "Api-pa55word"}))
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let (s, _) = api_user(json!({"connection": "Username-Password-Authentication",
        "email": "quiet@example.com", "password": "Api-pa55word", "verify_email": false}))
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = api_user(json!({"connection": "Username-Password-Authentication",
        "email": "known@example.com", "password": "Api-pa55word", "email_verified": true}))
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = api_user(json!({"connection": "Username-Password-Authentication",
        "email": "again@example.com", "password": "Api-pa55word", "email_verified": true,
        "verify_email": true}))
    .await;
    assert_eq!(s, StatusCode::CREATED);
    background_done(&h).await;

    for (to, id) in [
        ("sig@example.com", signed_up.as_str()),
        ("api@example.com", created["user_id"].as_str().unwrap()),
    ] {
        let mails = verification_mails(&h, to).await;
        assert_eq!(mails.len(), 1, "{to}: {mails:?}");
        assert_eq!(mails[0].subject, "Verify your email");
        assert!(mails[0].html.is_none());
        assert_eq!(email_verified(&h, &t, id).await, false);
        let (s, _, page) = confirm_link(&link_in(&h, &mails[0].text)).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(page.contains("Your email was verified."), "{page}");
        assert_eq!(email_verified(&h, &t, id).await, true);
    }
    assert!(verification_mails(&h, "quiet@example.com").await.is_empty());
    assert!(verification_mails(&h, "known@example.com").await.is_empty());
    assert_eq!(verification_mails(&h, "again@example.com").await.len(), 1);
    h.stop().await;
}

/// A disabled `verify_email` template: no mail after a signup or
/// `POST /users`; `POST /jobs/verification-email` still sends (the
/// built-in mail, the template being off).
async fn disabled_template_stops_only_the_automatic_mail(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (_, id) = template_then_signup(&h, &t, verify_template(false), "off@example.com").await;
    let (s, _) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(json!({"connection": "Username-Password-Authentication",
            "email": "off2@example.com", "password": "Api-pa55word", "verify_email": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    background_done(&h).await;
    assert!(outbox(&h).await.is_empty());

    let (s, job) = h
        .api(
            &t,
            Method::POST,
            "/jobs/verification-email",
            Some(json!({"user_id": id})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    let mails = verification_mails(&h, "off@example.com").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "Verify your email");
    let (s, _, _) = confirm_link(&link_in(&h, &mails[0].text)).await;
    assert_eq!(
        s,
        StatusCode::FOUND,
        "the template's resultUrl applies to its links"
    );
    assert_eq!(email_verified(&h, &t, &id).await, true);
    h.stop().await;
}

/// An enabled Liquid template makes the subject, the HTML body (with a text
/// part) and the sender; its link verifies and sends the user to
/// `resultUrl` with the email (`includeEmailInRedirect` defaults to true).
/// The `reset_email` template makes the reset mail the same way.
async fn liquid_template_renders_a_working_link(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (client_id, id) =
        template_then_signup(&h, &t, verify_template(true), "liquid@example.com").await;
    background_done(&h).await;
    let mails = verification_mails(&h, "liquid@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let m = &mails[0];
    assert_eq!(m.subject, "Verify liquid@example.com");
    assert_eq!(m.from.as_deref(), Some("Support <support@example.com>"));
    let html = m.html.as_deref().unwrap();
    assert!(html.contains("<p>Hi liquid@example.com,</p>"), "{html}");
    assert!(html.contains("Verify your account for app</a>"), "{html}");
    let href_start = html.find("href=\"").unwrap() + 6;
    let href = &html[href_start..href_start + html[href_start..].find('"').unwrap()];
    assert!(
        m.text.contains(href),
        "the text part carries the link: {}",
        m.text
    );
    let (s, headers, _) = confirm_link(&link_in(&h, href)).await;
    assert_eq!(s, StatusCode::FOUND);
    let location = headers["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://app.example/verified?email=liquid%40example.com&")
            && location.contains("success=true"),
        "{location}"
    );
    assert_eq!(email_verified(&h, &t, &id).await, true);

    let mut reset = verify_template(true);
    reset["template"] = json!("reset_email");
    reset["subject"] = json!("Reset for {{ user.email }}");
    let (s, e) = h
        .api(&t, Method::POST, "/email-templates", Some(reset))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, _, _) = request_reset(
        &h,
        &client_id,
        "Username-Password-Authentication",
        "liquid@example.com",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let resets: Vec<_> = outbox(&h)
        .await
        .into_iter()
        .filter(|m| m.kind == "password_reset")
        .collect();
    assert_eq!(resets.len(), 1);
    assert_eq!(resets[0].subject, "Reset for liquid@example.com");
    assert!(
        resets[0]
            .html
            .as_deref()
            .unwrap()
            .contains("/lo/reset?ticket=")
    );
    h.stop().await;
}

/// A template that fails when rendered (an `include`: Tern reads no
/// partials) leaves the built-in mail, which still verifies; a `w` event
/// says why.
async fn broken_template_falls_back_and_logs(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let mut broken = verify_template(true);
    broken["body"] = json!("<p>{% include 'header' %}</p><a href=\"{{ url }}\">Verify</a>");
    let (s, e) = h
        .api(&t, Method::POST, "/email-templates", Some(broken))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, created) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(json!({"connection": "Username-Password-Authentication",
            "email": "broken@example.com", "password": "Api-pa55word"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    background_done(&h).await;
    let mails = verification_mails(&h, "broken@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].subject, "Verify your email");
    assert!(mails[0].html.is_none() && mails[0].from.is_none());
    let (s, _, _) = confirm_link(&link_in(&h, &mails[0].text)).await;
    assert_eq!(s, StatusCode::FOUND);
    assert_eq!(
        email_verified(&h, &t, created["user_id"].as_str().unwrap()).await,
        true
    );
    let warnings = logs(&h, &t, "w").await;
    assert!(
        any_describes(
            &warnings,
            &["verify_email could not be rendered", "built-in mail"]
        ),
        "{warnings:?}"
    );
    h.stop().await;
}

/// Brute-force protection's unblock mail in the words of the
/// `blocked_account` template, with the unblock link.
async fn blocked_account_template_makes_the_unblock_mail(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let mut blocked = verify_template(true);
    blocked["template"] = json!("blocked_account");
    blocked["subject"] = json!("Blocked: {{ user.email }}");
    blocked["body"] = json!("<a href=\"{{ url }}\">Unblock</a> on {{ application.name }}");
    let (s, e) = h
        .api(&t, Method::POST, "/email-templates", Some(blocked))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    h.create_user(&t, "bob@example.com", "Right-pa55word").await;
    let (cid, secret) = h.password_client(&t).await;
    for _ in 0..10 {
        let (s, _) = h
            .password_grant_from(
                (&cid, &secret),
                "bob@example.com",
                "wrong-password",
                "10.0.0.9",
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let mails: Vec<_> = outbox(&h)
        .await
        .into_iter()
        .filter(|m| m.kind == "account_unblock")
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].subject, "Blocked: bob@example.com");
    let html = mails[0].html.as_deref().unwrap();
    assert!(
        html.contains("/lo/unblock?ticket=") && html.ends_with("Unblock</a> on app"),
        "{html}"
    );
    assert!(
        mails[0].text.contains("/lo/unblock?ticket="),
        "{}",
        mails[0].text
    );
    h.stop().await;
}

/// The tenant's support address and page reach a template as Auth0's
/// `support_email` and `support_url`; a support page that is not a web URL
/// is refused and changes nothing.
async fn support_settings_reach_the_template(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let settings = json!({"friendly_name": "Acme", "support_email": "help@acme.example",
                          "support_url": "https://help.acme.example/contact"});
    let (s, e) = h
        .api(&t, Method::PATCH, "/tenants/settings", Some(settings))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["support_url"], "https://help.acme.example/contact");
    let bad = json!({"support_url": "javascript:alert(1)"});
    let (s, e) = h
        .api(&t, Method::PATCH, "/tenants/settings", Some(bad))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("support_url"),
        "{e}"
    );
    let (_, now) = h.api(&t, Method::GET, "/tenants/settings", None).await;
    assert_eq!(now["support_url"], "https://help.acme.example/contact");

    let mut template = verify_template(true);
    template["body"] = json!(
        "<p><a href=\"{{ url }}\">Verify</a> for {{ friendly_name }}. \
        Help: <a href=\"{{ support_url }}\">{{ support_email }}</a></p>"
    );
    template_then_signup(&h, &t, template, "help@example.com").await;
    background_done(&h).await;
    let mails = verification_mails(&h, "help@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let html = mails[0].html.as_deref().unwrap();
    assert!(
        html.contains(
            "for Acme. Help: <a href=\"https://help.acme.example/contact\">help@acme.example</a>"
        ),
        "{html}"
    );
    h.stop().await;
}

/// An enabled `welcome_email` template with the variables Auth0 offers it.
fn welcome_template(enabled: bool) -> Value {
    json!({
        "template": "welcome_email",
        "body": "<p>Welcome {{ user.email }} to {{ application.name }} by {{ friendly_name }}. Help: {{ support_email }}</p>",
        "from": "Hello <hello@example.com>",
        "subject": "Welcome, {{ user.email }}",
        "syntax": "liquid",
        "enabled": enabled
    })
}

/// The welcome mails in the outbox to `to`.
async fn welcome_mails(h: &Harness, to: &str) -> Vec<OutboxMessage> {
    outbox(h)
        .await
        .into_iter()
        .filter(|m| m.kind == "welcome_email" && m.to == to)
        .collect()
}

async fn store_template(h: &Harness, t: &str, template: Value) {
    let (s, e) = h
        .api(t, Method::POST, "/email-templates", Some(template))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
}

/// Users no signup made, whom no welcome greets: `made@example.com` by
/// `POST /users` and `imported@example.com` by an import (its id returned).
async fn made_and_imported(h: &Harness, t: &str) -> String {
    let (s, _) = h
        .api(
            t,
            Method::POST,
            "/users",
            Some(json!({"connection": "Username-Password-Authentication",
            "email": "made@example.com", "password": "Api-pa55word"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let job = h
        .import_rows(t, &json!([{"email": "imported@example.com"}]))
        .await;
    assert_eq!(job["summary"]["inserted"], 1, "{job}");
    let (_, found) = h
        .api(
            t,
            Method::GET,
            "/users-by-email?email=imported%40example.com",
            None,
        )
        .await;
    found[0]["user_id"].as_str().unwrap().to_string()
}

/// With the verification email off (a disabled `verify_email` template),
/// a signup is welcomed at once, in the template's words; a user made by
/// `POST /users` or an import is not.
async fn welcome_follows_the_signup_when_verification_is_off(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let settings = json!({"friendly_name": "Acme", "support_email": "help@acme.example"});
    let (s, e) = h
        .api(&t, Method::PATCH, "/tenants/settings", Some(settings))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    store_template(&h, &t, welcome_template(true)).await;
    template_then_signup(&h, &t, verify_template(false), "new@example.com").await;
    made_and_imported(&h, &t).await;
    background_done(&h).await;

    let mails = welcome_mails(&h, "new@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let m = &mails[0];
    assert_eq!(m.subject, "Welcome, new@example.com");
    assert_eq!(m.from.as_deref(), Some("Hello <hello@example.com>"));
    assert_eq!(
        m.html.as_deref(),
        Some("<p>Welcome new@example.com to app by Acme. Help: help@acme.example</p>")
    );
    assert!(
        m.text.contains("Welcome new@example.com to app"),
        "{}",
        m.text
    );
    assert!(verification_mails(&h, "new@example.com").await.is_empty());
    assert!(welcome_mails(&h, "made@example.com").await.is_empty());
    assert!(welcome_mails(&h, "imported@example.com").await.is_empty());
    h.stop().await;
}

/// With the verification email on (here Tern's built-in one), a signup is
/// welcomed only once its address is verified, and only once; a user made
/// by `POST /users` or an import who verifies is not welcomed.
async fn welcome_follows_the_verification_when_it_is_on(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    store_template(&h, &t, welcome_template(true)).await;
    let (client_id, _) = h.password_client(&t).await;
    let (s, u) = h
        .signup_from(
            &client_id,
            "wait@example.com",
            "Sign-up-pa55word",
            "10.0.0.3",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let imported = made_and_imported(&h, &t).await;
    let (s, job) = h
        .api(
            &t,
            Method::POST,
            "/jobs/verification-email",
            Some(json!({"user_id": imported})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    background_done(&h).await;
    assert!(welcome_mails(&h, "wait@example.com").await.is_empty());

    for to in [
        "wait@example.com",
        "made@example.com",
        "imported@example.com",
    ] {
        let mails = verification_mails(&h, to).await;
        assert_eq!(mails.len(), 1, "{to}: {mails:?}");
        let link = link_in(&h, &mails[0].text);
        let (s, _, page) = confirm_link(&link).await;
        assert_eq!(s, StatusCode::OK, "{to}: {page}");
        // A used link verifies nothing more, and welcomes no one twice.
        confirm_link(&link).await;
    }
    background_done(&h).await;
    let mails = welcome_mails(&h, "wait@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].subject, "Welcome, wait@example.com");
    assert!(welcome_mails(&h, "made@example.com").await.is_empty());
    assert!(welcome_mails(&h, "imported@example.com").await.is_empty());
    h.stop().await;
}

/// No welcome without a template, nor with a disabled one: Tern has no
/// built-in welcome mail.
async fn no_welcome_without_an_enabled_template(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    template_then_signup(&h, &t, verify_template(false), "absent@example.com").await;
    store_template(&h, &t, welcome_template(false)).await;
    let (client_id, _) = h.password_client(&t).await;
    let (s, u) = h
        .signup_from(
            &client_id,
            "off@example.com",
            "Sign-up-pa55word",
            "10.0.0.4",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    background_done(&h).await;
    assert!(outbox(&h).await.is_empty(), "{:?}", outbox(&h).await);
    h.stop().await;
}

/// A template looping a hundred million times is refused when saved (400,
/// saying why); one stored before the budget existed ends at the budget
/// when sent: the verification mail falls back to the built-in one, the
/// welcome is not sent, and each failure is a `w` naming its template.
async fn runaway_templates_are_refused_and_end_at_the_budget(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let runaway = "<a href=\"{{ url }}\">Verify</a>{% for i in (1..100000000) %}{% endfor %}";
    let mut verify = verify_template(true);
    verify["body"] = json!(runaway);
    let (s, e) = h
        .api(&t, Method::POST, "/email-templates", Some(verify.clone()))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("within Tern's limits") && message.contains("10000 times"),
        "{e}"
    );
    let (s, _) = h
        .api(&t, Method::GET, "/email-templates/verify_email", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing stored");
    store_template(&h, &t, verify_template(true)).await;
    let (s, e) = h
        .api(
            &t,
            Method::PATCH,
            "/email-templates/verify_email",
            Some(json!({"subject": "{% for i in (1..5000) %}{% for j in (1..5000) %}{% endfor %}{% endfor %}"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");

    // Stored behind the API's back, as a template saved before the budget.
    let st = h.state();
    let mut stored = tern_core::email_templates::from_request(
        &verify,
        tern_core::email_templates::TemplateWrite::Create,
        None,
        None,
    )
    .unwrap();
    st.store
        .update_email_template(st.tid(), &stored)
        .await
        .unwrap();
    let mut welcome = welcome_template(true);
    welcome["body"] = json!(format!("Hi{}", "{% for i in (1..100000000) %}{% endfor %}"));
    stored = tern_core::email_templates::from_request(
        &welcome,
        tern_core::email_templates::TemplateWrite::Create,
        None,
        None,
    )
    .unwrap();
    assert!(
        st.store
            .insert_email_template(st.tid(), &stored)
            .await
            .unwrap()
    );

    let (client_id, _) = h.password_client(&t).await;
    let (s, u) = h
        .signup_from(
            &client_id,
            "loop@example.com",
            "Sign-up-pa55word",
            "10.0.0.5",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    background_done(&h).await;
    let mails = verification_mails(&h, "loop@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].subject, "Verify your email", "the built-in mail");
    let (s, _, _) = confirm_link(&link_in(&h, &mails[0].text)).await;
    assert_eq!(s, StatusCode::FOUND);
    background_done(&h).await;
    assert!(welcome_mails(&h, "loop@example.com").await.is_empty());
    let warnings = logs(&h, &t, "w").await;
    for name in ["verify_email", "welcome_email"] {
        assert!(
            any_describes(
                &warnings,
                &[&format!("{name} could not be rendered"), "too much work"]
            ),
            "{name}: {warnings:?}"
        );
    }
    h.stop().await;
}

both_backends!(
    blocked_account_template_makes_the_unblock_mail,
    api_round_trip_and_scopes,
    creation_sends_a_working_verification_mail,
    disabled_template_stops_only_the_automatic_mail,
    liquid_template_renders_a_working_link,
    broken_template_falls_back_and_logs,
    support_settings_reach_the_template,
    welcome_follows_the_signup_when_verification_is_off,
    welcome_follows_the_verification_when_it_is_on,
    no_welcome_without_an_enabled_template,
    runaway_templates_are_refused_and_end_at_the_budget,
);
