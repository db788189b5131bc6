#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The zero-code `auth0` connector, end to end: users of an old "Auth0
//! tenant" move to Tern at their first login, keeping their `user_id`.
//!
//! The real Auth0 is outside our control, so the source tenant is a second,
//! real Tern server started here: Tern speaks Auth0's `/oauth/token`
//! (password-realm, client credentials), `/userinfo`, `/api/v2/users` and
//! `/api/v2/users-by-email` wire format, which the official SDK tests check
//! against Auth0's own clients (`tests/sdk.rs`). Users are seeded there
//! through its Management API with known passwords and metadata.

mod common;
mod reset_support;

use common::legacy::{PASSWORD_REALM, REALM, legacy_connection_with, login, refused_connector};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use reset_support::{link_in, outbox, request_reset, submit, ticket_of};
use serde_json::{Value, json};

/// The source tenant's database connection.
const SOURCE_REALM: &str = "Username-Password-Authentication";

/// The old tenant: a server, the client Tern uses there, and its users.
struct Source {
    h: Harness,
    token: String,
    client_id: String,
    client_secret: String,
}

/// A user seeded in the source tenant.
struct Seeded {
    id: String,
    email: String,
    password: String,
    created_at: String,
}

impl Source {
    /// A source tenant with one client allowed the password-realm grant on
    /// its database connection and the Management API's `read:users` and
    /// `update:users` (for `mark_migrated`).
    async fn start(b: Backend) -> Self {
        let h = Harness::start(b).await;
        let token = h.admin_token().await;
        let c = h
            .client_on(
                &token,
                &h.info.connection_id.clone(),
                json!({"name": "tern-migration", "app_type": "regular_web",
                       "grant_types": [PASSWORD_REALM, "password", "client_credentials"]}),
            )
            .await;
        let client_id = c["client_id"].as_str().unwrap().to_string();
        let (s, g) = h
            .api(&token, Method::POST, "/client-grants", Some(json!({"client_id": client_id, "audience": h.info.audience, "scope": ["read:users", "update:users"]})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{g}");
        Self {
            client_secret: c["client_secret"].as_str().unwrap().to_string(),
            client_id,
            token,
            h,
        }
    }

    async fn seed(&self, local: &str, extra: Value) -> Seeded {
        let email = format!("{local}@old-tenant.example");
        let password = format!("Old-Tenant-{local}-9!");
        let mut body = json!({"connection": SOURCE_REALM, "email": email, "password": password,
            "verify_email": false, "app_metadata": {"plan": "gold", "roles": ["editor"]},
            "user_metadata": {"lang": "fr"}});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let (s, u) = self
            .h
            .api(&self.token, Method::POST, "/users", Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        Seeded {
            id: u["user_id"].as_str().unwrap().to_string(),
            email,
            password,
            created_at: u["created_at"].as_str().unwrap().to_string(),
        }
    }

    /// Client-credentials tokens the source tenant issued to Tern's client
    /// (its `seccft` log events).
    async fn tokens_issued_to_tern(&self) -> usize {
        let (s, logs) = self
            .h
            .api(
                &self.token,
                Method::GET,
                "/logs?q=type:seccft&per_page=100",
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{logs}");
        logs.as_array()
            .unwrap()
            .iter()
            .filter(|l| l["client_id"] == self.client_id.as_str())
            .count()
    }
}

/// The new tenant's `legacy-users` connection fed by the source tenant, and
/// an application allowed the password grants on it: (connection id,
/// client id, secret).
async fn new_tenant(h: &Harness, t: &str, source: &Source) -> (String, String, String) {
    new_tenant_with(h, t, source, json!({})).await
}

/// [`new_tenant`] with more connector settings.
async fn new_tenant_with(
    h: &Harness,
    t: &str,
    source: &Source,
    extra: Value,
) -> (String, String, String) {
    let mut connector = json!({"type": "auth0", "base_url": source.h.base,
        "client_id": source.client_id, "realm": SOURCE_REALM, "mark_migrated": true,
        // The source server's public URL differs from the address it
        // listens on, as a custom domain differs from the tenant's
        // canonical domain.
        "audience": source.h.info.audience});
    if let (Value::Object(c), Value::Object(e)) = (&mut connector, extra) {
        c.extend(e);
    }
    legacy_connection_with(
        h,
        t,
        connector,
        json!({"AUTH0_CLIENT_SECRET": source.client_secret}),
    )
    .await
}

async fn stored(h: &Harness, id: &str) -> Option<tern_core::model::User> {
    h.state().store.get_user(h.state().tid(), id).await.unwrap()
}

async fn stored_by_email(h: &Harness, email: &str) -> usize {
    h.state()
        .store
        .users_by_email(h.state().tid(), email)
        .await
        .unwrap()
        .len()
}

/// First logins migrate with the same user_id, metadata, verification and
/// creation time; wrong passwords and unknown users store nothing; the
/// Management token is fetched once; migrated users no longer need the
/// source tenant.
async fn users_move_from_the_old_tenant(b: Backend) {
    let source = Source::start(b).await;
    let ada = source.seed("ada", json!({"email_verified": true})).await;
    let bob = source.seed("bob", json!({"email_verified": false})).await;
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (_, cid, secret) = new_tenant(&h, &t, &source).await;
    let issued_before = source.tokens_issued_to_tern().await;

    // Wrong password and unknown user: the old tenant's invalid_grant,
    // nothing stored.
    for (user, password) in [
        (ada.email.as_str(), "not-her-password"),
        ("nobody@old-tenant.example", "Whatever-123!"),
    ] {
        let (s, body) = login(&h, &cid, &secret, user, password).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("invalid_grant")),
            "{user}: {body}"
        );
        assert_eq!(stored_by_email(&h, user).await, 0);
    }

    for (u, verified) in [(&ada, true), (&bob, false)] {
        let (s, body) = login(&h, &cid, &secret, &u.email, &u.password).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let user = stored(&h, &u.id).await.expect("migrated with the same id");
        assert!(u.id.starts_with("auth0|"), "{}", u.id);
        assert_eq!(user.connection_name, REALM);
        assert_eq!(user.email.as_deref(), Some(u.email.as_str()));
        assert_eq!(user.email_verified, verified);
        assert_eq!(user.app_metadata["plan"], "gold");
        assert_eq!(user.app_metadata["roles"], json!(["editor"]));
        assert_eq!(user.user_metadata["lang"], "fr");
        assert_eq!(user.created_at, u.created_at, "created_at comes over");
        // The token's subject is the old id: apps keep working.
        let info: Value = h
            .http
            .get(format!("{}/userinfo", h.base))
            .bearer_auth(body["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["sub"], u.id.as_str(), "{info}");
    }
    // The old tenant was told (mark_migrated), and one Management token
    // served both migrations and both marks.
    for u in [&ada, &bob] {
        let (s, old) = source
            .h
            .api(
                &source.token,
                Method::GET,
                &format!("/users/{}", urlencoding::encode(&u.id)),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{old}");
        assert_eq!(old["app_metadata"]["tern_migrated"], true, "{old}");
        assert_eq!(old["app_metadata"]["plan"], "gold", "{old}");
    }
    assert_eq!(source.tokens_issued_to_tern().await - issued_before, 1);

    // Migrated users log in with the source tenant gone; others cannot.
    let carol = source.seed("carol", json!({})).await;
    source.h.stop().await;
    let (s, body) = login(&h, &cid, &secret, &ada.email, &ada.password).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = login(&h, &cid, &secret, &ada.email, "wrong-Password-1").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = login(&h, &cid, &secret, &carol.email, &carol.password).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(stored(&h, &carol.id).await, None);
    h.stop().await;
}

/// Signup and password reset ask the old tenant (get_user through
/// `users-by-email`, limited to the realm's connection).
async fn signup_and_reset_ask_the_old_tenant(b: Backend) {
    let source = Source::start(b).await;
    let dora = source.seed("dora", json!({"email_verified": true})).await;
    let erin = source.seed("erin", json!({})).await;
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (conn_id, cid, _) = new_tenant(&h, &t, &source).await;
    h.merge_connection_options(&t, &conn_id, json!({"disable_signup": false}))
        .await;

    let signup = |email: String| {
        h.http
            .post(format!("{}/dbconnections/signup", h.base))
            .json(&json!({"client_id": cid, "connection": REALM, "email": email, "password": "Fresh-Pass-1!"}))
            .send()
    };
    let r = signup(dora.email.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error_description"],
        "The user already exists"
    );
    assert_eq!(stored(&h, &dora.id).await, None);
    let r = signup("newcomer@example.com".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);

    // A reset for a user only the old tenant knows: the link creates the
    // user from the old profile, with the same id and the new password.
    let (s, _, text) = request_reset(&h, &cid, REALM, &erin.email).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(
        stored(&h, &erin.id).await,
        None,
        "the request creates no user"
    );
    let mail = outbox(&h)
        .await
        .into_iter()
        .find(|m| m.to == erin.email)
        .expect("a reset mail");
    let ticket = ticket_of(&link_in(&h, &mail.text));
    let (s, _, html) = submit(&h, &ticket, "N3w-horse-battery", "N3w-horse-battery").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let user = stored(&h, &erin.id).await.expect("created by the link");
    assert_eq!(user.app_metadata["plan"], "gold");

    // The console shows the connector (no form to overwrite it with) and
    // its Test looks a user up in the old tenant; the secret stays hidden.
    let mut b = h
        .console_operator("ops@example.com", "Operator-Pass-42")
        .await;
    let base = format!("/console/connections/{conn_id}/connector");
    let page = b.get(&base).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("another Auth0 tenant"), "{}", page.body);
    assert!(page.body.contains(&source.client_id));
    assert!(!page.body.contains("Save the connector"));
    assert!(!page.body.contains(&source.client_secret));
    let token = common::browser::csrf(&page.body);
    let found = b
        .post_form(
            &format!("{base}/test"),
            &[("csrf", &token), ("email", &dora.email)],
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(
        found.body.contains("Found") && found.body.contains(&dora.email),
        "{}",
        found.body
    );
    assert!(!found.body.contains(&source.client_secret));
    h.stop().await;
    source.h.stop().await;
}

/// Tenant log descriptions of failed logins (`f`).
async fn failed_logins(h: &Harness, t: &str) -> Vec<String> {
    common::legacy::log_descriptions(h, t, "f").await
}

/// Users the old tenant will not hand over stay there, and the tenant log
/// says why: blocked users, and a Management token without `read:users`.
async fn refusals_are_explained(b: Backend) {
    let source = Source::start(b).await;
    let fay = source.seed("fay", json!({})).await;
    let gus = source.seed("gus", json!({})).await;
    let (s, u) = source
        .h
        .api(
            &source.token,
            Method::PATCH,
            &format!("/users/{}", urlencoding::encode(&gus.id)),
            Some(json!({"blocked": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (_, cid, secret) = new_tenant(&h, &t, &source).await;

    let (s, body) = login(&h, &cid, &secret, &gus.email, &gus.password).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(stored(&h, &gus.id).await, None);
    let logged = failed_logins(&h, &t).await;
    assert!(
        logged
            .iter()
            .any(|d| d.contains("blocked in the source Auth0 tenant")),
        "{logged:?}"
    );

    // The grant loses read:users: the password is right, yet nothing is
    // migrated without the user's metadata; the log says which scope.
    let (_, grants) = source
        .h
        .api(
            &source.token,
            Method::GET,
            &format!("/client-grants?client_id={}", source.client_id),
            None,
        )
        .await;
    let grant = grants[0]["id"].as_str().unwrap();
    let (s, g) = source
        .h
        .api(
            &source.token,
            Method::PATCH,
            &format!("/client-grants/{grant}"),
            Some(json!({"scope": ["read:clients"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{g}");
    let (s, body) = login(&h, &cid, &secret, &fay.email, &fay.password).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(stored(&h, &fay.id).await, None);
    let logged = failed_logins(&h, &t).await;
    assert!(
        logged.iter().any(|d| d.contains("needs read:users")),
        "{logged:?}"
    );
    // Neither secret nor password is in what the log says.
    for d in &logged {
        assert!(
            !d.contains(&source.client_secret) && !d.contains(&fay.password),
            "{d}"
        );
    }
    h.stop().await;
    source.h.stop().await;
}

/// The old tenant asks for a second factor (`mfa_required`): by default
/// the user is not migrated (the password alone would move an account its
/// factor protects); with `migrate_mfa_users` the user migrates (found
/// through the Management API) and the factors stay behind.
async fn mfa_in_the_old_tenant_is_refused_unless_allowed(b: Backend) {
    let source = Source::start(b).await;
    for (path, body) in [
        ("/guardian/factors/otp", json!({"enabled": true})),
        ("/guardian/policies", json!(["all-applications"])),
    ] {
        let (s, r) = source
            .h
            .api(&source.token, Method::PUT, path, Some(body))
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
    }
    source
        .h
        .merge_connection_options(
            &source.token,
            &source.h.info.connection_id,
            json!({"requires_username": true}),
        )
        .await;
    let hana = source
        .seed(
            "hana",
            json!({"email_verified": true, "username": "hana_old"}),
        )
        .await;
    let ivan = source.seed("ivan", json!({"username": "ivan'old"})).await;
    // The old tenant does ask for MFA now.
    let (s, r) = source
        .h
        .token(json!({"grant_type": PASSWORD_REALM, "realm": SOURCE_REALM,
            "client_id": source.client_id, "client_secret": source.client_secret,
            "username": hana.email, "password": hana.password, "scope": "openid"}))
        .await;
    assert_eq!(
        (s, r["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("mfa_required")),
        "{r}"
    );
    // By default such a user stays: the password alone would move an
    // account a second factor protects. The log says why.
    let strict = Harness::start(b).await;
    let st = strict.admin_token().await;
    let (_, scid, ssecret) = new_tenant(&strict, &st, &source).await;
    let (s, body) = login(&strict, &scid, &ssecret, &hana.email, &hana.password).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(stored(&strict, &hana.id).await.is_none());
    let logged = failed_logins(&strict, &st).await;
    assert!(
        logged
            .iter()
            .any(|d| d.contains("second factor") && d.contains("migrate_mfa_users")),
        "{logged:?}"
    );
    strict.stop().await;

    // With `migrate_mfa_users`, they move on their password.
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (_, cid, secret) =
        new_tenant_with(&h, &t, &source, json!({"migrate_mfa_users": true})).await;

    let (s, body) = login(&h, &cid, &secret, &hana.email, "Wrong-Password-1!").await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{body}"
    );
    let (s, body) = login(&h, &cid, &secret, &hana.email, &hana.password).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let user = stored(&h, &hana.id)
        .await
        .expect("migrated with the same id");
    assert!(user.email_verified);
    assert!(user.mfa_factors.is_empty(), "{:?}", user.mfa_factors);
    assert_eq!(user.username.as_deref(), Some("hana_old"));
    // A login by username under MFA: the user is found by a v3 search
    // (`username:"…"`; the phrase's escaping is the unit test's).
    let (s, body) = login(&h, &cid, &secret, "ivan'old", &ivan.password).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let user = stored(&h, &ivan.id)
        .await
        .expect("migrated with the same id");
    assert_eq!(user.email.as_deref(), Some(ivan.email.as_str()));
    h.stop().await;
    source.h.stop().await;
}

/// Bad configurations are refused with a message naming what to fix.
async fn configuration_is_checked(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let secret = json!({"AUTH0_CLIENT_SECRET": "s3cret"});
    for (connector, configuration, needle) in [
        (
            json!({"type": "auth0", "domain": "acme.eu.auth0.com", "client_id": "c"}),
            json!({}),
            "options.configuration.AUTH0_CLIENT_SECRET",
        ),
        (
            json!({"type": "auth0", "client_id": "c"}),
            secret.clone(),
            "domain is required",
        ),
        (
            json!({"type": "auth0", "domain": "https://acme.eu.auth0.com/", "client_id": "c"}),
            secret.clone(),
            "bare host name",
        ),
        (
            json!({"type": "auth0", "domain": "acme.eu.auth0.com"}),
            secret.clone(),
            "client_id",
        ),
    ] {
        let msg = refused_connector(&h, &t, &connector, &configuration).await;
        assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
        assert!(!msg.contains("s3cret"), "{msg}");
    }
    h.stop().await;
}

/// The old tenant counts a failed login against the user's address, not
/// Tern's: the connector sends `auth0-forwarded-for`, which an old-tenant
/// client with "Trust Token Endpoint IP Header" honours — else every user's
/// failures would count against the one address Tern calls from.
async fn the_old_tenant_sees_the_users_address(b: Backend) {
    let source = Source::start(b).await;
    let ada = source.seed("ada", json!({})).await;
    let trusted = json!({"is_token_endpoint_ip_header_trusted": true});
    let (s, c) = source
        .h
        .api(
            &source.token,
            Method::PATCH,
            &format!("/clients/{}", source.client_id),
            Some(trusted.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (_, cid, secret) = new_tenant(&h, &t, &source).await;
    // The application in front of Tern forwards its user's address too.
    let (s, c) = h
        .api(&t, Method::PATCH, &format!("/clients/{cid}"), Some(trusted))
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let r = reqwest::Client::new()
        .post(format!("{}/oauth/token", h.base))
        .header("auth0-forwarded-for", "203.0.113.7")
        .json(
            &json!({"grant_type": PASSWORD_REALM, "realm": REALM, "client_id": cid,
            "client_secret": secret, "username": ada.email, "password": "not-her-password"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (s, logs) = source
        .h
        .api(
            &source.token,
            Method::GET,
            "/logs?q=type:fp&per_page=100",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{logs}");
    let ips: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["ip"].as_str())
        .collect();
    assert_eq!(ips, ["203.0.113.7"], "{logs}");
    h.stop().await;
    source.h.stop().await;
}

both_backends!(
    the_old_tenant_sees_the_users_address,
    users_move_from_the_old_tenant,
    signup_and_reset_ask_the_old_tenant,
    refusals_are_explained,
    mfa_in_the_old_tenant_is_refused_unless_allowed,
    configuration_is_checked
);
