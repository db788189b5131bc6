#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The Management API's view of users' refresh tokens on both backends:
//! `/users/{id}/refresh-tokens`, `/refresh-tokens`, `/grants` and
//! `/device-credentials` list the grants holding live tokens and revoke
//! them; a revocation is refused at `/oauth/token` at once, touches no other
//! user's or tenant's tokens, and is logged (`srrt`). A token shows the
//! address and `User-Agent` its family was made from and last used from
//! (a proxy's `X-Forwarded-For` believed only from the trusted proxy), and
//! the `refresh_token_metadata` an operator wrote, which rotations keep.
//! Real HTTP, real password logins.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{Backend, Harness};
use reqwest::header::USER_AGENT;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tern_core::grants::{Grant, GrantDetails, RefreshToken};
use tern_core::model::Tenant;

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";
const PASSWORD: &str = "Correct-Horse-7-Battery";
const API: &str = "https://api.example/";
/// The one trusted proxy: requests from it carry the client's address in
/// `X-Forwarded-For`; the test's other requests come from 127.0.0.1.
const PROXY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A server with users Ada and Bob, and an application allowed the password
/// and refresh token grants (`refresh_token` settings from `extra`).
struct World {
    h: Harness,
    admin: String,
    app: (String, String),
    ada: String,
    bob: String,
}

impl World {
    async fn start(b: Backend, extra: Value) -> Self {
        let h = Harness::start_with(b, |c| {
            c.http.trusted_proxies = vec![PROXY.to_string()];
        })
        .await;
        let admin = h.admin_token().await;
        let ada = h.create_user(&admin, ADA, PASSWORD).await["user_id"]
            .as_str()
            .unwrap()
            .to_string();
        let bob = h.create_user(&admin, BOB, PASSWORD).await["user_id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut body = json!({"name": "Mobile", "app_type": "native",
            "grant_types": ["password", "refresh_token"]});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let c = h.client_on(&admin, &h.info.connection_id, body).await;
        let app = (
            c["client_id"].as_str().unwrap().to_string(),
            c["client_secret"].as_str().unwrap().to_string(),
        );
        Self {
            h,
            admin,
            app,
            ada,
            bob,
        }
    }

    fn app(&self) -> (&str, &str) {
        (&self.app.0, &self.app.1)
    }

    /// A login of `email` with `offline_access`; its refresh token.
    async fn login(&self, email: &str, extra: Value) -> String {
        let t = self
            .h
            .offline_login(self.app(), email, PASSWORD, extra)
            .await;
        t["refresh_token"].as_str().unwrap().to_string()
    }

    /// The status of exchanging `token`, and the error code if refused.
    async fn exchange(&self, token: &str) -> (StatusCode, Option<String>) {
        let (s, b) = self.h.refresh_grant(self.app(), token).await;
        (s, b["error"].as_str().map(str::to_string))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.h.api(&self.admin, Method::GET, path, None).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.h.api(&self.admin, Method::DELETE, path, None).await
    }

    /// The ids of the user's listed refresh tokens.
    async fn token_ids(&self, user: &str) -> Vec<String> {
        let (s, page) = self.get(&format!("/users/{user}/refresh-tokens")).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        ids(&page["tokens"])
    }

    /// `POST /oauth/token` with `body` (the application's credentials
    /// added) from `proxy` (else straight from 127.0.0.1), sending
    /// `X-Forwarded-For: forwarded_for` and `User-Agent: user_agent`.
    async fn token_from(
        &self,
        proxy: bool,
        forwarded_for: &str,
        user_agent: &str,
        mut body: Value,
    ) -> Value {
        body["client_id"] = json!(self.app.0);
        body["client_secret"] = json!(self.app.1);
        let mut http = reqwest::Client::builder();
        if proxy {
            http = http.local_address(PROXY);
        }
        let r = http
            .build()
            .unwrap()
            .post(format!("{}/oauth/token", self.h.base))
            .header("x-forwarded-for", forwarded_for)
            .header(USER_AGENT, user_agent)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// The user's one listed refresh token.
    async fn only_token(&self, user: &str) -> Value {
        let (s, page) = self.get(&format!("/users/{user}/refresh-tokens")).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(page["tokens"].as_array().unwrap().len(), 1, "{page}");
        page["tokens"][0].clone()
    }

    /// How many `srrt` events the tenant log holds.
    async fn revocations_logged(&self) -> usize {
        let (s, logs) = self.get("/logs?q=type:srrt&per_page=100").await;
        assert_eq!(s, StatusCode::OK, "{logs}");
        logs.as_array().unwrap().len()
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

const OK: (StatusCode, Option<String>) = (StatusCode::OK, None);

fn refused() -> (StatusCode, Option<String>) {
    (StatusCode::FORBIDDEN, Some("invalid_grant".into()))
}

async fn user_tokens_listed_paged_and_revoked(b: Backend) {
    let w = World::start(b, json!({})).await;
    let first = w.login(ADA, json!({})).await;
    let second = w.login(ADA, json!({})).await;
    let bobs = w.login(BOB, json!({})).await;

    let listed = w.token_ids(&w.ada).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let (s, page) = w.get(&format!("/users/{}/refresh-tokens", w.ada)).await;
    assert_eq!(s, StatusCode::OK);
    let t = &page["tokens"][0];
    assert_eq!(t["user_id"], w.ada.as_str());
    assert_eq!(t["client_id"], w.app.0.as_str());
    assert_eq!(t["rotating"], false);
    assert_eq!(t["session_id"], Value::Null);
    assert!(t["created_at"].as_str().unwrap().ends_with('Z'), "{t}");
    assert_eq!(t["expires_at"], Value::Null, "non-expiring: {t}");
    assert_eq!(t["last_exchanged_at"], Value::Null, "never used: {t}");
    assert_eq!(
        t["resource_servers"][0]["scopes"], "openid offline_access",
        "{t}"
    );
    assert!(page.get("next").is_none(), "{page}");

    // Checkpoint paging: one at a time, in id order.
    let path = format!("/users/{}/refresh-tokens?take=1", w.ada);
    let (_, one) = w.get(&path).await;
    assert_eq!(ids(&one["tokens"]), listed[..1]);
    let next = one["next"].as_str().unwrap();
    let (_, two) = w.get(&format!("{path}&from={next}")).await;
    assert_eq!(ids(&two["tokens"]), listed[1..]);
    assert!(two.get("next").is_none(), "{two}");
    let (s, e) = w
        .get(&format!("/users/{}/refresh-tokens?take=0", w.ada))
        .await;
    assert_eq!(
        (s, &e["errorCode"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_query_string"))
    );

    // A token in use shows its last exchange; one by id; the EA listing.
    assert_eq!(w.exchange(&first).await, OK);
    let (s, one) = w.get(&format!("/refresh-tokens/{}", listed[0])).await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert_eq!(one["id"], listed[0].as_str());
    let (_, all) = w
        .get(&format!(
            "/refresh-tokens?user_id={}&client_id={}",
            w.ada, w.app.0
        ))
        .await;
    assert_eq!(ids(&all["refresh_tokens"]), listed);
    let used = all["refresh_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["last_exchanged_at"].is_string())
        .count();
    assert_eq!(used, 1, "{all}");
    let (_, none) = w
        .get(&format!(
            "/refresh-tokens?user_id={}&client_id=other",
            w.ada
        ))
        .await;
    assert_eq!(ids(&none["refresh_tokens"]), Vec::<String>::new());
    let (s, _) = w.get("/refresh-tokens").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Revoking one by id: that family is refused, the other still works.
    // Which login's value the first id belongs to is not visible (values
    // are stored hashed): revoke by id, and exactly one of them is refused.
    let (which, other) = (listed[0].clone(), listed[1].clone());
    let (s, _) = w.delete(&format!("/refresh-tokens/{which}")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let outcomes = [w.exchange(&first).await, w.exchange(&second).await];
    assert!(
        outcomes.contains(&refused()) && outcomes.contains(&OK),
        "{outcomes:?}"
    );
    assert_eq!(w.token_ids(&w.ada).await, vec![other]);
    let (s, e) = w.get(&format!("/refresh-tokens/{which}")).await;
    assert_eq!(
        (s, &e["errorCode"]),
        (StatusCode::NOT_FOUND, &json!("inexistent_refresh_token"))
    );
    assert_eq!(w.revocations_logged().await, 1);
    // Again, or an unknown id: accepted, nothing changes (as Auth0).
    let (s, _) = w.delete(&format!("/refresh-tokens/{which}")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = w.delete("/refresh-tokens/gr_unknown").await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(w.revocations_logged().await, 1);

    // Revoking all of Ada's: both refused; Bob's untouched.
    let (s, _) = w.delete(&format!("/users/{}/refresh-tokens", w.ada)).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(w.exchange(&first).await, refused());
    assert_eq!(w.exchange(&second).await, refused());
    assert_eq!(w.token_ids(&w.ada).await, Vec::<String>::new());
    assert_eq!(w.exchange(&bobs).await, OK);
    assert_eq!(w.token_ids(&w.bob).await.len(), 1);
    assert_eq!(w.revocations_logged().await, 2);

    for path in [
        "/users/auth0|nobody/refresh-tokens",
        "/refresh-tokens?user_id=auth0|nobody",
    ] {
        let (s, e) = w.get(path).await;
        assert_eq!(
            (s, &e["errorCode"]),
            (StatusCode::NOT_FOUND, &json!("inexistent_user")),
            "{path}"
        );
    }
    let (s, _) = w.delete("/users/auth0|nobody/refresh-tokens").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    w.h.stop().await;
}

async fn rotation_keeps_the_id_and_revocation_reaches_the_newest(b: Backend) {
    let rotating = json!({"refresh_token": {
        "rotation_type": "rotating", "expiration_type": "expiring",
        "token_lifetime": 1000, "idle_token_lifetime": 100}});
    let w = World::start(b, rotating).await;
    let first = w.login(ADA, json!({})).await;
    let before = w.token_ids(&w.ada).await;
    let (s, t) = w.h.refresh_grant(w.app(), &first).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let newest = t["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(w.token_ids(&w.ada).await, before, "one family, one id");
    let (_, one) = w.get(&format!("/refresh-tokens/{}", before[0])).await;
    assert_eq!(one["rotating"], true);
    assert!(one["last_exchanged_at"].is_string(), "{one}");
    assert!(
        one["expires_at"].is_string() && one["idle_expires_at"].is_string(),
        "{one}"
    );
    let (_, creds) = w
        .get(&format!(
            "/device-credentials?user_id={}&type=rotating_refresh_token",
            w.ada
        ))
        .await;
    assert_eq!(creds.as_array().unwrap().len(), 1, "{creds}");
    assert_eq!(creds[0]["type"], "rotating_refresh_token");

    // An expired family is not listed (the injectable clock, no sleep).
    w.h.state().clock.advance(101);
    assert_eq!(w.token_ids(&w.ada).await, Vec::<String>::new());
    let (s, _) = w.get(&format!("/refresh-tokens/{}", before[0])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    w.h.state().clock.advance(-101);

    let (s, _) = w.delete(&format!("/refresh-tokens/{}", before[0])).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(w.exchange(&newest).await, refused());
    w.h.stop().await;
}

async fn bulk_revocation(b: Backend) {
    let w = World::start(b, json!({})).await;
    let ada1 = w.login(ADA, json!({})).await;
    let ada2 = w.login(ADA, json!({})).await;
    let bobs = w.login(BOB, json!({})).await;
    let listed = w.token_ids(&w.ada).await;
    let revoke = |body: Value| {
        let w = &w;
        async move {
            w.h.api(&w.admin, Method::POST, "/refresh-tokens/revoke", Some(body))
                .await
        }
    };
    for bad in [
        json!({}),
        json!({"ids": []}),
        json!({"ids": ["x"], "user_id": w.ada}),
        json!({"user_id": ""}),
        json!({"unknown": 1}),
    ] {
        let (s, e) = revoke(bad.clone()).await;
        assert_eq!(
            (s, &e["errorCode"]),
            (StatusCode::BAD_REQUEST, &json!("invalid_body")),
            "{bad}"
        );
    }
    let (s, e) = revoke(json!({"user_id": "auth0|nobody"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");

    let (s, _) = revoke(json!({"ids": [listed[0], "gr_unknown"]})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(w.token_ids(&w.ada).await, listed[1..]);
    let (s, _) = revoke(json!({"user_id": w.ada, "client_id": w.app.0})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(w.exchange(&ada1).await, refused());
    assert_eq!(w.exchange(&ada2).await, refused());
    assert_eq!(w.exchange(&bobs).await, OK);
    let (s, _) = revoke(json!({"client_id": w.app.0})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(w.exchange(&bobs).await, refused());
    w.h.stop().await;
}

async fn grants_listed_filtered_and_deleted(b: Backend) {
    let w = World::start(b, json!({})).await;
    let (s, e) =
        w.h.api(
            &w.admin,
            Method::POST,
            "/resource-servers",
            Some(json!({"name": "Things", "identifier": API, "allow_offline_access": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let plain = w.login(ADA, json!({})).await;
    let for_api = w.login(ADA, json!({"audience": API})).await;
    let bobs = w.login(BOB, json!({})).await;

    let (s, all) = w.get(&format!("/grants?user_id={}", w.ada)).await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    assert_eq!(all[0]["clientID"], w.app.0.as_str());
    assert_eq!(all[0]["user_id"], w.ada.as_str());
    let (_, api) = w.get(&format!("/grants?audience={API}")).await;
    assert_eq!(api.as_array().unwrap().len(), 1, "{api}");
    assert_eq!(api[0]["audience"], API);
    let api_grant = api[0]["id"].as_str().unwrap().to_string();
    let (_, paged) = w
        .get(&format!(
            "/grants?client_id={}&per_page=2&page=1&include_totals=true",
            w.app.0
        ))
        .await;
    assert_eq!(
        (
            paged["total"].as_u64(),
            paged["grants"].as_array().map(Vec::len)
        ),
        (Some(3), Some(1)),
        "{paged}"
    );

    let (s, _) = w.delete(&format!("/grants/{api_grant}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(w.exchange(&for_api).await, refused());
    assert_eq!(w.exchange(&plain).await, OK);
    let (s, _) = w.delete("/grants/gr_unknown").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = w.delete("/grants").await;
    assert_eq!(
        (s, &e["errorCode"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_query_string"))
    );
    let (s, _) = w.delete(&format!("/grants?user_id={}", w.bob)).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(w.exchange(&bobs).await, refused());
    assert_eq!(w.exchange(&plain).await, OK);
    let (_, left) = w.get("/grants").await;
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    w.h.stop().await;
}

async fn device_credentials_listed_and_deleted(b: Backend) {
    let w = World::start(b, json!({})).await;
    let token = w.login(ADA, json!({})).await;
    w.login(BOB, json!({})).await;
    let (s, creds) = w
        .get(&format!(
            "/device-credentials?user_id={}&type=refresh_token",
            w.ada
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{creds}");
    assert_eq!(creds.as_array().unwrap().len(), 1, "{creds}");
    let c = &creds[0];
    assert_eq!(
        (&c["type"], &c["user_id"], &c["client_id"]),
        (&json!("refresh_token"), &json!(w.ada), &json!(w.app.0))
    );
    let id = c["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("dcr_") && id.len() == 20, "{id}");
    let (_, totals) = w
        .get("/device-credentials?include_totals=true&fields=id&per_page=1")
        .await;
    assert_eq!(totals["total"], 2, "{totals}");
    assert_eq!(
        totals["device_credentials"][0].as_object().unwrap().len(),
        1,
        "{totals}"
    );
    for kind in ["public_key", "rotating_refresh_token"] {
        let (_, none) = w
            .get(&format!(
                "/device-credentials?user_id={}&type={kind}",
                w.ada
            ))
            .await;
        assert_eq!(none, json!([]), "{kind}");
    }
    let (s, _) = w.get("/device-credentials?type=password").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, e) = w.delete("/device-credentials/gr_notacredential").await;
    assert_eq!(
        (s, &e["errorCode"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_uri"))
    );
    let (s, _) = w.delete(&format!("/device-credentials/{id}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(w.exchange(&token).await, refused());
    // Deleting it again, or an id nobody holds, is accepted as Auth0's (no
    // 404 in its OpenAPI), and changes nothing.
    for again in [id.as_str(), "dcr_AAAAAAAAAAAAAAAA"] {
        let (s, e) = w.delete(&format!("/device-credentials/{again}")).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{again}: {e}");
    }
    assert_eq!(w.token_ids(&w.bob).await.len(), 1);
    w.h.stop().await;
}

/// A grant with a live token for `user_id` in another tenant of the same
/// store (Tern serves one tenant per instance; the store scopes every row).
async fn foreign_grant(h: &Harness, user_id: &str) -> String {
    let tenant = Tenant {
        id: "ten_other".into(),
        name: "other".into(),
        created_at: tern_core::clock::now_iso(),
    };
    h.state().store.insert_tenant(&tenant).await.unwrap();
    let metadata = [("owner".to_string(), "other tenant".to_string())].into();
    let id = "gr_foreign0000000000000000";
    live_grant(h, &tenant.id, id, user_id, "other-app", metadata).await;
    id.into()
}

/// Store grant `id` of `user_id` through `client_id` in `tenant`, with a
/// live, non-rotating refresh token: a user who cannot sign in where the
/// test could ask for one (an operator, another tenant's user) holding one.
async fn live_grant(
    h: &Harness,
    tenant: &str,
    id: &str,
    user_id: &str,
    client_id: &str,
    metadata: std::collections::BTreeMap<String, String>,
) {
    let store = &h.state().store;
    let now = h.state().now();
    let grant = Grant {
        id: id.into(),
        client_id: client_id.into(),
        user_id: user_id.into(),
        created_at: now,
        revoked_at: None,
        details: GrantDetails {
            scope: vec!["offline_access".into()],
            audience: None,
            sid: None,
            auth_time: now,
            amr: vec![],
            revoked_reason: None,
            made_from: Default::default(),
        },
        metadata,
    };
    store.insert_grant(tenant, &grant).await.unwrap();
    let token = RefreshToken {
        token_hash: format!("{id:f<64}"),
        grant_id: grant.id.clone(),
        parent_hash: None,
        client_id: grant.client_id.clone(),
        created_at: now,
        expires_at: None,
        idle_expires_at: None,
        used_at: None,
        rotating: false,
        last_seen: Default::default(),
    };
    store.insert_refresh_token(tenant, &token).await.unwrap();
}

/// An operator's refresh tokens, grants and device credentials are theirs
/// to list, but revoking or relabelling them is a change to an operator:
/// it needs every Management API scope, as ending their sessions does
/// (`session_admin.rs`). A refused bulk revocation revokes nothing, not
/// even the other users' tokens it named; one that reaches no operator
/// passes with the same token.
async fn an_operators_tokens_need_every_scope_to_revoke(b: Backend) {
    let w = World::start(b, json!({})).await;
    w.h.console_operator("ops@example.com", "Operator-Pass-42!")
        .await;
    let (s, users) = w.get("/users-by-email?email=ops@example.com").await;
    assert_eq!(s, StatusCode::OK, "{users}");
    let op = users[0]["user_id"].as_str().unwrap().to_string();
    let console = "tern-console";
    let op_grant = "gr_operator000000000000000";
    let tenant = w.h.state().tid().to_string();
    live_grant(&w.h, &tenant, op_grant, &op, console, Default::default()).await;
    let (s, creds) = w.get(&format!("/device-credentials?user_id={op}")).await;
    assert_eq!(s, StatusCode::OK, "{creds}");
    let op_cred = creds[0]["id"].as_str().unwrap().to_string();
    let adas = w.login(ADA, json!({})).await;
    let ada_grant = w.token_ids(&w.ada).await.remove(0);

    let scoped =
        w.h.scoped_token(&[
            "delete:refresh_tokens",
            "update:refresh_tokens",
            "delete:device_credentials",
            "delete:grants",
        ])
        .await;
    for (method, path, body) in [
        (Method::DELETE, format!("/users/{op}/refresh-tokens"), None),
        (Method::DELETE, format!("/refresh-tokens/{op_grant}"), None),
        (
            Method::PATCH,
            format!("/refresh-tokens/{op_grant}"),
            Some(json!({"refresh_token_metadata": {"a": "b"}})),
        ),
        (
            Method::POST,
            "/refresh-tokens/revoke".into(),
            Some(json!({"ids": [ada_grant, op_grant]})),
        ),
        (
            Method::POST,
            "/refresh-tokens/revoke".into(),
            Some(json!({"user_id": op})),
        ),
        (
            Method::POST,
            "/refresh-tokens/revoke".into(),
            Some(json!({"client_id": console})),
        ),
        (
            Method::DELETE,
            format!("/device-credentials/{op_cred}"),
            None,
        ),
        (Method::DELETE, format!("/grants/{op_grant}"), None),
        (Method::DELETE, format!("/grants?user_id={op}"), None),
    ] {
        let (s, e) = w.h.api(&scoped, method.clone(), &path, body).await;
        assert_eq!(
            (s, &e["errorCode"]),
            (StatusCode::FORBIDDEN, &json!("insufficient_scope")),
            "{method} {path}: {e}"
        );
        assert!(
            e["message"].as_str().unwrap().contains("tern-operators"),
            "{e}"
        );
    }
    let (s, kept) = w.get(&format!("/refresh-tokens/{op_grant}")).await;
    assert_eq!(s, StatusCode::OK, "the operator's token is live: {kept}");
    assert!(
        kept.get("refresh_token_metadata")
            .is_none_or(|m| m == &json!({})),
        "{kept}"
    );
    assert_eq!(w.exchange(&adas).await, OK, "nothing half-revoked");

    // Reaching no operator, the same token revokes.
    let (s, e) =
        w.h.api(
            &scoped,
            Method::POST,
            "/refresh-tokens/revoke",
            Some(json!({"client_id": w.app.0})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{e}");
    assert_eq!(w.exchange(&adas).await, refused());
    // Every scope revokes the operator's.
    let (s, _) = w.delete(&format!("/refresh-tokens/{op_grant}")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = w.get(&format!("/refresh-tokens/{op_grant}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    w.h.stop().await;
}

async fn scoped_to_the_tenant_and_the_scopes(b: Backend) {
    let w = World::start(b, json!({})).await;
    let token = w.login(ADA, json!({})).await;
    let foreign = foreign_grant(&w.h, &w.ada).await;
    let (s, e) = w.get(&format!("/refresh-tokens/{foreign}")).await;
    assert_eq!(
        (s, &e["errorCode"]),
        (StatusCode::NOT_FOUND, &json!("inexistent_refresh_token"))
    );
    let (s, e) =
        w.h.api(
            &w.admin,
            Method::PATCH,
            &format!("/refresh-tokens/{foreign}"),
            Some(json!({"refresh_token_metadata": {"owner": "us"}})),
        )
        .await;
    assert_eq!(
        (s, &e["errorCode"]),
        (StatusCode::NOT_FOUND, &json!("inexistent_refresh_token"))
    );
    let kept = w.h.state().store.get_grant("ten_other", &foreign).await;
    assert_eq!(
        kept.unwrap()
            .unwrap()
            .metadata
            .get("owner")
            .map(String::as_str),
        Some("other tenant")
    );
    assert_eq!(w.token_ids(&w.ada).await.len(), 1, "only this tenant's");
    let (_, grants) = w.get("/grants").await;
    assert!(!ids(&grants).contains(&foreign), "{grants}");
    // A token naming other scopes reaches none of these endpoints.
    let narrow = w.h.scoped_token(&["read:users"]).await;
    let user_path = format!("/users/{}/refresh-tokens", w.ada);
    for (method, path, scope) in [
        (Method::GET, user_path.as_str(), "read:refresh_tokens"),
        (Method::DELETE, user_path.as_str(), "delete:refresh_tokens"),
        (Method::GET, "/refresh-tokens/gr_x", "read:refresh_tokens"),
        (
            Method::PATCH,
            "/refresh-tokens/gr_x",
            "update:refresh_tokens",
        ),
        (
            Method::DELETE,
            "/refresh-tokens/gr_x",
            "delete:refresh_tokens",
        ),
        (
            Method::POST,
            "/refresh-tokens/revoke",
            "delete:refresh_tokens",
        ),
        (Method::GET, "/grants", "read:grants"),
        (Method::DELETE, "/grants/gr_x", "delete:grants"),
        (
            Method::GET,
            "/device-credentials",
            "read:device_credentials",
        ),
        (
            Method::DELETE,
            "/device-credentials/dcr_0000000000000000",
            "delete:device_credentials",
        ),
    ] {
        let body = match method {
            Method::POST => Some(json!({"user_id": w.ada})),
            Method::PATCH => Some(json!({"refresh_token_metadata": null})),
            _ => None,
        };
        let (s, e) = w.h.api(&narrow, method.clone(), path, body).await;
        assert_eq!(
            (s, &e["errorCode"]),
            (StatusCode::FORBIDDEN, &json!("insufficient_scope")),
            "{method} {path}"
        );
        assert!(e["message"].as_str().unwrap().contains(scope), "{e}");
    }
    assert_eq!(w.exchange(&token).await, OK);

    // Revocations reach this tenant's grants only; a device credential of
    // another tenant is, here, one nobody holds: accepted, nothing changes.
    let foreign_credential = tern_core::grants::device_credential_id(&foreign);
    for path in [
        format!("/refresh-tokens/{foreign}"),
        format!("/grants/{foreign}"),
        format!("/users/{}/refresh-tokens", w.ada),
        format!("/device-credentials/{foreign_credential}"),
    ] {
        w.delete(&path).await;
    }
    let other =
        w.h.state()
            .store
            .get_grant("ten_other", &foreign)
            .await
            .unwrap();
    assert_eq!(
        other.unwrap().revoked_at,
        None,
        "another tenant's grant stays"
    );
    let (s, _) = w.delete("/device-credentials/dcr_foreign000000000").await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    w.h.stop().await;
}

async fn device_recorded_where_the_family_was_made_and_last_used(b: Backend) {
    let w = World::start(b, json!({})).await;
    let login = json!({"grant_type": "password", "username": ADA, "password": PASSWORD,
                       "scope": "openid offline_access"});
    let t = w
        .token_from(true, "198.51.100.1", "Mobile/1.0", login)
        .await;
    let token = t["refresh_token"].as_str().unwrap();
    let made = w.only_token(&w.ada).await;
    assert_eq!(
        made["device"],
        json!({"initial_ip": "198.51.100.1", "initial_user_agent": "Mobile/1.0",
               "last_ip": "198.51.100.1", "last_user_agent": "Mobile/1.0"}),
        "{made}"
    );

    // Exchanged elsewhere by a client sending an overlong user agent.
    let refresh = json!({"grant_type": "refresh_token", "refresh_token": token});
    let long = format!("Mobile/2.0 ({})", "x".repeat(400));
    w.token_from(true, "203.0.113.5", &long, refresh.clone())
        .await;
    let used = w.only_token(&w.ada).await;
    let cut: String = long.chars().take(256).collect();
    assert_eq!(
        used["device"],
        json!({"initial_ip": "198.51.100.1", "initial_user_agent": "Mobile/1.0",
               "last_ip": "203.0.113.5", "last_user_agent": cut}),
        "{used}"
    );

    // Straight from 127.0.0.1, not the proxy: its `X-Forwarded-For` is
    // the client's own claim and is not believed.
    w.token_from(false, "192.0.2.66", "Direct/1.0", refresh)
        .await;
    let direct = w.only_token(&w.ada).await;
    assert_eq!(direct["device"]["last_ip"], "127.0.0.1", "{direct}");
    assert_eq!(
        direct["device"]["last_user_agent"], "Direct/1.0",
        "{direct}"
    );
    assert_eq!(direct["device"]["initial_ip"], "198.51.100.1", "{direct}");
    w.h.stop().await;
}

async fn metadata_patched_and_kept_through_rotation(b: Backend) {
    let rotating = json!({"refresh_token": {
        "rotation_type": "rotating", "expiration_type": "non-expiring"}});
    let w = World::start(b, rotating).await;
    let first = w.login(ADA, json!({})).await;
    w.login(BOB, json!({})).await;
    let id = w.token_ids(&w.ada).await[0].clone();
    let path = format!("/refresh-tokens/{id}");
    let patch = |body: Option<Value>| {
        let (w, path) = (&w, &path);
        async move { w.h.api(&w.admin, Method::PATCH, path, body).await }
    };

    let labels = json!({"device_name": "Ada's phone", "ticket": "T-9"});
    let (s, got) = patch(Some(json!({"refresh_token_metadata": labels}))).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(
        (&got["id"], &got["refresh_token_metadata"]),
        (&json!(id), &labels)
    );
    assert_eq!(
        got,
        w.only_token(&w.ada).await,
        "the list shows what PATCH returned"
    );
    assert_eq!(
        w.only_token(&w.bob).await["refresh_token_metadata"],
        json!({})
    );

    // A rotation replaces the token, not the family's metadata; the
    // family's latest device is the rotating request's.
    let rotated = w
        .token_from(
            true,
            "203.0.113.9",
            "Mobile/3.0",
            json!({"grant_type": "refresh_token", "refresh_token": first}),
        )
        .await;
    assert_ne!(rotated["refresh_token"], json!(first));
    let (s, after) = w.get(&path).await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(after["refresh_token_metadata"], labels, "{after}");
    assert_eq!(after["device"]["last_ip"], "203.0.113.9", "{after}");
    assert_eq!(after["device"]["initial_ip"], "127.0.0.1", "{after}");

    let (s, got) = patch(Some(json!({"refresh_token_metadata": null}))).await;
    assert_eq!(
        (s, &got["refresh_token_metadata"]),
        (StatusCode::OK, &json!({}))
    );
    patch(Some(json!({"refresh_token_metadata": labels}))).await;
    let (s, got) = patch(Some(json!({"refresh_token_metadata": {}}))).await;
    assert_eq!(
        (s, &got["refresh_token_metadata"]),
        (StatusCode::OK, &json!({}))
    );
    patch(Some(json!({"refresh_token_metadata": labels}))).await;

    let over: serde_json::Map<String, Value> =
        (0..26).map(|i| (format!("k{i}"), json!("v"))).collect();
    for (body, says) in [
        (json!({"refresh_token_metadata": over}), "26 properties"),
        (
            json!({"refresh_token_metadata": {"note": "v".repeat(256)}}),
            "'refresh_token_metadata.note' must be at most 255 characters",
        ),
        (
            json!({"refresh_token_metadata": {"on": true}}),
            "'refresh_token_metadata.on' must be a string",
        ),
        (
            json!({"refresh_token_metadata": {}, "rotating": false}),
            "Additional properties not allowed: rotating",
        ),
        (json!({}), "minimum 1"),
    ] {
        let (s, e) = patch(Some(body.clone())).await;
        assert_eq!(
            (s, &e["errorCode"]),
            (StatusCode::BAD_REQUEST, &json!("invalid_body")),
            "{body}"
        );
        assert!(e["message"].as_str().unwrap().contains(says), "{body}: {e}");
    }
    let (s, _) = patch(None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, kept) = w.get(&path).await;
    assert_eq!(
        kept["refresh_token_metadata"], labels,
        "refusals change nothing"
    );

    // Unknown or revoked: Auth0's 404.
    let (s, e) =
        w.h.api(
            &w.admin,
            Method::PATCH,
            "/refresh-tokens/gr_unknown",
            Some(json!({"refresh_token_metadata": null})),
        )
        .await;
    assert_eq!(
        (s, &e["errorCode"]),
        (StatusCode::NOT_FOUND, &json!("inexistent_refresh_token"))
    );
    w.delete(&path).await;
    let (s, _) = patch(Some(json!({"refresh_token_metadata": null}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    w.h.stop().await;
}

/// The keys of each token of a page.
fn keys_of(tokens: &Value) -> Vec<Vec<String>> {
    tokens
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {tokens}"))
        .iter()
        .map(|t| {
            let mut k: Vec<String> = t.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        })
        .collect()
}

/// `fields`/`include_fields` on `GET /refresh-tokens`, the one refresh token
/// read whose parameters Auth0's OAS lists them for, as other Tern lists
/// apply them; the page's `next` is not a token's field and stays.
async fn listing_shows_the_fields_asked_for(b: Backend) {
    let w = World::start(b, json!({})).await;
    w.login(ADA, json!({})).await;
    w.login(ADA, json!({})).await;
    let base = format!("/refresh-tokens?user_id={}", w.ada);

    let (s, page) = w.get(&format!("{base}&fields=id,user_id&take=1")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(
        keys_of(&page["refresh_tokens"]),
        vec![vec!["id", "user_id"]]
    );
    assert!(page["next"].is_string(), "{page}");
    let (_, rest) = w
        .get(&format!(
            "{base}&fields=id&include_fields=true&take=1&from={}",
            page["next"].as_str().unwrap()
        ))
        .await;
    assert_eq!(keys_of(&rest["refresh_tokens"]), vec![vec!["id"]]);
    assert_ne!(
        rest["refresh_tokens"][0]["id"],
        page["refresh_tokens"][0]["id"]
    );

    let (_, all) = w.get(&base).await;
    let (_, without) = w
        .get(&format!(
            "{base}&fields=device,resource_servers&include_fields=false"
        ))
        .await;
    for (full, cut) in all["refresh_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .zip(without["refresh_tokens"].as_array().unwrap())
    {
        let mut expected = full.clone();
        let m = expected.as_object_mut().unwrap();
        m.remove("device");
        m.remove("resource_servers");
        assert_eq!(cut, &expected);
    }

    let (s, e) = w.get(&format!("{base}&fields=id&include_fields=yes")).await;
    assert_eq!(
        (s, &e["errorCode"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_query_string"))
    );
    w.h.stop().await;
}

/// Auth0's OpenAPI lists form bodies for `PATCH /refresh-tokens/{id}` and
/// `POST /refresh-tokens/revoke` too: bracket syntax for the metadata
/// object and the list of ids.
async fn metadata_patched_and_tokens_revoked_by_form(b: Backend) {
    let w = World::start(b, json!({})).await;
    w.login(ADA, json!({})).await;
    w.login(ADA, json!({})).await;
    let listed = w.token_ids(&w.ada).await;
    let path = format!("/refresh-tokens/{}", listed[0]);
    let (s, got) =
        w.h.api_form(
            &w.admin,
            Method::PATCH,
            &path,
            "refresh_token_metadata[device_name]=Ada%27s+phone",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(
        got["refresh_token_metadata"],
        json!({"device_name": "Ada's phone"})
    );
    let (s, e) =
        w.h.api_form(&w.admin, Method::PATCH, &path, "rotating=false")
            .await;
    assert_eq!(
        (s, &e["errorCode"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_body")),
        "{e}"
    );

    let form = format!("ids[]={}&ids[]=gr_unknown", listed[0]);
    let (s, e) =
        w.h.api_form(&w.admin, Method::POST, "/refresh-tokens/revoke", &form)
            .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{e}");
    assert_eq!(w.token_ids(&w.ada).await, listed[1..]);
    w.h.stop().await;
}

both_backends!(
    metadata_patched_and_tokens_revoked_by_form,
    listing_shows_the_fields_asked_for,
    user_tokens_listed_paged_and_revoked,
    rotation_keeps_the_id_and_revocation_reaches_the_newest,
    bulk_revocation,
    grants_listed_filtered_and_deleted,
    device_credentials_listed_and_deleted,
    scoped_to_the_tenant_and_the_scopes,
    device_recorded_where_the_family_was_made_and_last_used,
    metadata_patched_and_kept_through_rotation,
    an_operators_tokens_need_every_scope_to_revoke,
);
