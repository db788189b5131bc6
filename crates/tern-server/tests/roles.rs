#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Roles and permissions (Auth0's RBAC) on both backends: the Management
//! API's `/roles…`, `/users/{id}/roles` and `/users/{id}/permissions`
//! (bodies, statuses, paging, scopes), what they do to user tokens for an
//! API with `enforce_policies` (the `scope` narrowed, the `permissions`
//! claim of `access_token_authz`, a refresh reading permissions again), and
//! that deleting a user, a role, an API or one of its scopes leaves no row
//! naming it. Real HTTP; rows counted in the real database.

mod common;

use common::browser::{Browser, authorize_path, claims};
use common::{Backend, Harness, pairs};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const API: &str = "https://things.example/";
const PASSWORD: &str = "Correct-Horse-7-Battery";
const CALLBACK: &str = "https://app.example/callback";

/// Auth0's `Role` and `PermissionRequestPayload` shapes, from its
/// Management API reference (`POST /api/v2/roles`, `POST
/// /api/v2/roles/{id}/permissions`).
fn permission(name: &str) -> Value {
    json!({"resource_server_identifier": API, "permission_name": name})
}

async fn things_api(h: &Harness, t: &str, extra: Value) -> Value {
    let mut body = json!({
        "name": "Things", "identifier": API, "allow_offline_access": true,
        "scopes": [
            {"value": "read:things", "description": "Read things"},
            {"value": "write:things", "description": "Write things"},
            {"value": "delete:things", "description": "Delete things"},
        ],
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let (s, b) = h
        .api(t, Method::POST, "/resource-servers", Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b
}

async fn role(h: &Harness, t: &str, name: &str) -> String {
    let (s, r) = h
        .api(
            t,
            Method::POST,
            "/roles",
            Some(json!({"name": name, "description": format!("The {name}s")})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    r["id"].as_str().unwrap().to_string()
}

/// A Management API caller: the server and a token.
#[derive(Clone, Copy)]
struct As<'a>(&'a Harness, &'a str);

impl As<'_> {
    /// `method path` with `body`, which must answer `want`; the answer's body.
    async fn send(
        self,
        method: Method,
        path: &str,
        body: Option<Value>,
        want: StatusCode,
    ) -> Value {
        let (s, b) = self.0.api(self.1, method, path, body).await;
        assert_eq!(s, want, "{path}: {b}");
        b
    }

    async fn expect(self, method: Method, path: &str, want: StatusCode) -> Value {
        self.send(method, path, None, want).await
    }

    async fn get(self, path: &str) -> Value {
        self.expect(Method::GET, path, StatusCode::OK).await
    }

    async fn post(self, path: &str, body: Value, want: StatusCode) -> Value {
        self.send(Method::POST, path, Some(body), want).await
    }

    async fn patch(self, path: &str, body: Value, want: StatusCode) -> Value {
        self.send(Method::PATCH, path, Some(body), want).await
    }

    async fn delete(self, path: &str, body: Value, want: StatusCode) -> Value {
        self.send(Method::DELETE, path, Some(body), want).await
    }

    /// Give `user` the `roles` (204).
    async fn give_roles(self, user: &str, roles: &[&str]) {
        let body = json!({"roles": roles});
        let path = format!("/users/{user}/roles");
        self.post(&path, body, StatusCode::NO_CONTENT).await;
    }

    /// Give `owner` (`/roles/{id}` or `/users/{id}`) the named permissions
    /// of the test API (201).
    async fn give(self, owner: &str, names: &[&str]) {
        let body = permissions(names);
        self.post(&format!("{owner}/permissions"), body, StatusCode::CREATED)
            .await;
    }
}

/// `{"permissions": [...]}` naming scopes of the test API.
fn permissions(names: &[&str]) -> Value {
    json!({"permissions": names.iter().map(|n| permission(n)).collect::<Vec<_>>()})
}

fn assert_envelope(b: &Value, status: u16, code: &str) {
    assert_eq!(b["statusCode"], status, "{b}");
    assert_eq!(b["errorCode"], code, "{b}");
    assert!(b["error"].is_string() && b["message"].is_string(), "{b}");
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_string())
        .collect()
}

async fn roles_round_trip(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let admin = As(&h, &t);
    let admin_role = role(&h, &t, "admin").await;
    assert!(
        admin_role.starts_with("rol_") && admin_role.len() == 20,
        "{admin_role}"
    );
    assert!(
        admin_role[4..].chars().all(|c| c.is_ascii_alphanumeric()),
        "{admin_role}"
    );
    role(&h, &t, "Editor").await;
    role(&h, &t, "viewer").await;

    // Bad bodies and a taken name.
    let e = admin
        .post("/roles", json!({"name": "admin"}), StatusCode::CONFLICT)
        .await;
    assert_eq!(e["statusCode"], 409, "{e}");
    let e = admin
        .post(
            "/roles",
            json!({"description": "x"}),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert_envelope(&e, 400, "invalid_body");
    let e = admin
        .post(
            "/roles",
            json!({"name": "x", "color": "red"}),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("color"), "{e}");
    admin
        .post("/roles", json!({"name": ""}), StatusCode::BAD_REQUEST)
        .await;

    // Paging by name, totals, the name filter (any case).
    let all = admin.get("/roles").await;
    assert_eq!(names(&all, "name"), ["Editor", "admin", "viewer"]);
    let page = admin
        .get("/roles?per_page=2&page=1&include_totals=true")
        .await;
    assert_eq!(page["total"], 3, "{page}");
    assert_eq!(page["start"], 2, "{page}");
    assert_eq!(names(&page["roles"], "name"), ["viewer"]);
    let filtered = admin.get("/roles?name_filter=EDIT").await;
    assert_eq!(names(&filtered, "name"), ["Editor"]);
    let (s, e) = h.api(&t, Method::GET, "/roles?per_page=101", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");

    // One role; unknown ids are Auth0's 404.
    let one = admin.get(&format!("/roles/{admin_role}")).await;
    assert_eq!(
        one,
        json!({"id": admin_role, "name": "admin", "description": "The admins"})
    );
    let (s, e) = h.api(&t, Method::GET, "/roles/rol_nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_envelope(&e, 404, "inexistent_role");

    // Update: another role's name is taken; a description changes alone.
    admin
        .patch(
            &format!("/roles/{admin_role}"),
            json!({"name": "viewer"}),
            StatusCode::CONFLICT,
        )
        .await;
    let u = admin
        .patch(
            &format!("/roles/{admin_role}"),
            json!({"description": "All"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(u["name"], "admin");
    assert_eq!(u["description"], "All");
    admin
        .patch(
            "/roles/rol_nope",
            json!({"name": "z"}),
            StatusCode::NOT_FOUND,
        )
        .await;

    // Delete: 200, then gone; again 404.
    let (s, _) = h
        .api(&t, Method::DELETE, &format!("/roles/{admin_role}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h
        .api(&t, Method::GET, &format!("/roles/{admin_role}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, e) = h
        .api(&t, Method::DELETE, &format!("/roles/{admin_role}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    h.stop().await;
}

async fn permissions_and_members(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let admin = As(&h, &t);
    things_api(&h, &t, json!({})).await;
    let reader = role(&h, &t, "reader").await;
    let perms = format!("/roles/{reader}/permissions");

    // A permission must be a scope its API defines.
    let e = admin
        .post(
            &perms,
            json!({"permissions": [permission("fly:things")]}),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert_envelope(&e, 400, "invalid_body");
    assert!(e["message"].as_str().unwrap().contains("fly:things"), "{e}");
    let e = admin.post(&perms, json!({"permissions": [{"resource_server_identifier": "https://nowhere.example/", "permission_name": "read:things"}]}), StatusCode::BAD_REQUEST).await;
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("https://nowhere.example/"),
        "{e}"
    );
    admin.post(&perms, json!({"permissions": [{"resource_server_identifier": h.info.audience, "permission_name": "read:users"}]}), StatusCode::BAD_REQUEST).await;
    admin
        .post(&perms, json!({"permissions": []}), StatusCode::BAD_REQUEST)
        .await;
    admin
        .post(
            "/roles/rol_nope/permissions",
            json!({"permissions": [permission("read:things")]}),
            StatusCode::NOT_FOUND,
        )
        .await;
    // Given twice, held once.
    for _ in 0..2 {
        admin
            .post(
                &perms,
                json!({"permissions": [permission("read:things"), permission("write:things")]}),
                StatusCode::CREATED,
            )
            .await;
    }
    let listed = admin
        .get(&format!("{perms}?include_totals=true&per_page=1"))
        .await;
    assert_eq!(listed["total"], 2, "{listed}");
    assert_eq!(
        listed["permissions"][0],
        json!({"resource_server_identifier": API, "permission_name": "read:things",
               "resource_server_name": "Things", "description": "Read things"})
    );
    admin
        .delete(
            &perms,
            json!({"permissions": [permission("write:things")]}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        names(&admin.get(&perms).await, "permission_name"),
        ["read:things"]
    );

    // Users: by role id (unknown roles refused), then direct permissions.
    let ada = h.create_user(&t, "ada@example.com", PASSWORD).await;
    let ada = ada["user_id"].as_str().unwrap().to_string();
    let e = admin
        .post(
            &format!("/users/{ada}/roles"),
            json!({"roles": ["rol_nope"]}),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("rol_nope"), "{e}");
    admin
        .post(
            "/users/auth0%7Cnobody/roles",
            json!({"roles": [reader]}),
            StatusCode::NOT_FOUND,
        )
        .await;
    admin.give_roles(&ada, &[&reader]).await;
    admin
        .give(&format!("/users/{ada}"), &["read:things", "delete:things"])
        .await;
    let roles = admin.get(&format!("/users/{ada}/roles")).await;
    assert_eq!(names(&roles, "id"), std::slice::from_ref(&reader));

    // Each permission once, with every way it is held.
    let held = admin.get(&format!("/users/{ada}/permissions")).await;
    assert_eq!(
        names(&held, "permission_name"),
        ["delete:things", "read:things"]
    );
    assert_eq!(
        held[0]["sources"],
        json!([{"source_id": "", "source_name": "", "source_type": "DIRECT"}])
    );
    assert_eq!(
        held[1]["sources"],
        json!([{"source_id": "", "source_name": "", "source_type": "DIRECT"},
               {"source_id": reader, "source_name": "reader", "source_type": "ROLE"}])
    );
    assert_eq!(held[1]["resource_server_name"], "Things");

    // A role's users: offset pages with totals, and checkpoint pages.
    let mut ids = vec![ada.clone()];
    for n in ["bo", "cy"] {
        let u = h
            .create_user(&t, &format!("{n}@example.com"), PASSWORD)
            .await;
        ids.push(u["user_id"].as_str().unwrap().to_string());
    }
    admin
        .post(
            &format!("/roles/{reader}/users"),
            json!({"users": ids[1..]}),
            StatusCode::OK,
        )
        .await;
    let e = admin
        .post(
            &format!("/roles/{reader}/users"),
            json!({"users": ["auth0|nobody"]}),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("auth0|nobody"),
        "{e}"
    );
    ids.sort();
    let page = admin
        .get(&format!(
            "/roles/{reader}/users?per_page=2&page=0&include_totals=true"
        ))
        .await;
    assert_eq!(page["total"], 3, "{page}");
    assert_eq!(names(&page["users"], "user_id"), ids[..2]);
    assert!(
        page["users"][0]["email"]
            .as_str()
            .unwrap()
            .ends_with("@example.com")
    );
    let first = admin.get(&format!("/roles/{reader}/users?take=2")).await;
    assert_eq!(names(&first["users"], "user_id"), ids[..2]);
    let next = first["next"].as_str().unwrap();
    let rest = admin
        .get(&format!("/roles/{reader}/users?take=2&from={next}"))
        .await;
    assert_eq!(names(&rest["users"], "user_id"), ids[2..]);
    assert!(rest.get("next").is_none(), "{rest}");
    let (s, e) = h
        .api(
            &t,
            Method::GET,
            &format!("/roles/{reader}/users?from=forged"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    admin
        .expect(Method::GET, "/roles/rol_nope/users", StatusCode::NOT_FOUND)
        .await;

    // Taking the role leaves the direct permissions.
    admin
        .delete(
            &format!("/users/{ada}/roles"),
            json!({"roles": [reader]}),
            StatusCode::NO_CONTENT,
        )
        .await;
    admin
        .delete(
            &format!("/users/{ada}/permissions"),
            json!({"permissions": [permission("delete:things")]}),
            StatusCode::NO_CONTENT,
        )
        .await;
    let held = admin.get(&format!("/users/{ada}/permissions")).await;
    assert_eq!(names(&held, "permission_name"), ["read:things"]);
    assert_eq!(held[0]["sources"][0]["source_type"], "DIRECT");
    h.stop().await;
}

async fn scopes_are_checked(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    things_api(&h, &t, json!({})).await;
    let r = role(&h, &t, "reader").await;
    let user = h.create_user(&t, "ada@example.com", PASSWORD).await;
    let user = user["user_id"].as_str().unwrap().to_string();
    let users_only_token = h.scoped_token(&["read:users"]).await;
    let users_only = As(&h, &users_only_token);
    let read_roles_token = h.scoped_token(&["read:roles"]).await;
    let read_roles = As(&h, &read_roles_token);
    let members_token = h
        .scoped_token(&["create:role_members", "delete:role_members"])
        .await;
    let members = As(&h, &members_token);

    for (path, method) in [
        ("/roles".to_string(), Method::GET),
        (format!("/roles/{r}"), Method::GET),
        (format!("/roles/{r}/permissions"), Method::GET),
        ("/roles".to_string(), Method::POST),
        (format!("/roles/{r}"), Method::DELETE),
    ] {
        let (s, e) = h
            .api(&users_only_token, method, &path, Some(json!({"name": "x"})))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {e}");
        assert_envelope(&e, 403, "insufficient_scope");
    }
    read_roles.get("/roles").await;
    read_roles
        .post("/roles", json!({"name": "x"}), StatusCode::FORBIDDEN)
        .await;
    read_roles
        .post(
            &format!("/roles/{r}/permissions"),
            json!({"permissions": [permission("read:things")]}),
            StatusCode::FORBIDDEN,
        )
        .await;
    read_roles
        .post(
            &format!("/users/{user}/permissions"),
            json!({"permissions": [permission("read:things")]}),
            StatusCode::FORBIDDEN,
        )
        .await;
    // A user's permissions are user data: read:users, not read:roles.
    read_roles
        .expect(
            Method::GET,
            &format!("/users/{user}/permissions"),
            StatusCode::FORBIDDEN,
        )
        .await;
    users_only.get(&format!("/users/{user}/permissions")).await;
    // The role-member scopes give and take roles, and nothing else.
    members.give_roles(&user, &[&r]).await;
    members
        .delete(
            &format!("/users/{user}/roles"),
            json!({"roles": [r]}),
            StatusCode::NO_CONTENT,
        )
        .await;
    members
        .post(
            &format!("/users/{user}/permissions"),
            json!({"permissions": [permission("read:things")]}),
            StatusCode::FORBIDDEN,
        )
        .await;
    members
        .patch(
            &format!("/roles/{r}"),
            json!({"name": "y"}),
            StatusCode::FORBIDDEN,
        )
        .await;
    h.stop().await;
}

struct App {
    id: String,
    secret: String,
}

async fn password_app(h: &Harness, t: &str) -> App {
    let c = h
        .client_on(
            t,
            &h.info.connection_id,
            json!({
                "name": "Web", "app_type": "regular_web",
                "grant_types": ["password", "refresh_token"],
                "token_endpoint_auth_method": "client_secret_post",
            }),
        )
        .await;
    App {
        id: c["client_id"].as_str().unwrap().to_string(),
        secret: c["client_secret"].as_str().unwrap().to_string(),
    }
}

async fn login(h: &Harness, app: &App, scope: &str) -> Value {
    let (s, tokens) = h
        .token(json!({"grant_type": "password", "client_id": app.id, "client_secret": app.secret,
                      "username": "ada@example.com", "password": PASSWORD, "scope": scope, "audience": API}))
        .await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    tokens
}

/// The access token's `scope` claim (which the body's `scope` repeats)
/// and its `permissions` claim, if any.
fn granted(tokens: &Value) -> (String, Option<Value>) {
    let c = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(c["scope"], tokens["scope"], "{c}");
    (
        c["scope"].as_str().unwrap().to_string(),
        c.get("permissions").cloned(),
    )
}

const ASK: &str = "openid offline_access read:things write:things delete:things";

async fn tokens_follow_permissions(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let admin = As(&h, &t);
    let api = things_api(&h, &t, json!({})).await;
    assert_eq!(api["enforce_policies"], false, "{api}");
    assert_eq!(api["token_dialect"], "access_token", "{api}");
    let app = password_app(&h, &t).await;
    let user = h.create_user(&t, "ada@example.com", PASSWORD).await;
    let user = user["user_id"].as_str().unwrap().to_string();

    // Without RBAC: every requested scope the API defines, no claim.
    let (scope, perms) = granted(&login(&h, &app, ASK).await);
    assert_eq!(scope, ASK);
    assert_eq!(perms, None);

    // Dialects Tern does not issue are refused, not ignored.
    let rs = format!("/resource-servers/{}", api["id"].as_str().unwrap());
    for d in ["rfc9068_profile", "rfc9068_profile_authz", "jwt"] {
        let e = admin
            .patch(&rs, json!({"token_dialect": d}), StatusCode::BAD_REQUEST)
            .await;
        assert!(
            e["message"].as_str().unwrap().contains("token_dialect"),
            "{e}"
        );
    }
    let on = admin
        .patch(
            &rs,
            json!({"enforce_policies": true, "token_dialect": "access_token_authz"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(on["enforce_policies"], true, "{on}");

    // RBAC with no permissions: the OpenID scopes only, an empty claim.
    let (scope, perms) = granted(&login(&h, &app, ASK).await);
    assert_eq!(scope, "openid offline_access");
    assert_eq!(perms, Some(json!([])));

    // Through a role and directly: the intersection in `scope`, and every
    // permission held in the claim, requested or not.
    let r = role(&h, &t, "reader").await;
    admin.give(&format!("/roles/{r}"), &["read:things"]).await;
    admin.give_roles(&user, &[&r]).await;
    admin
        .give(&format!("/users/{user}"), &["delete:things"])
        .await;
    let tokens = login(&h, &app, "openid offline_access read:things write:things").await;
    let (scope, perms) = granted(&tokens);
    assert_eq!(scope, "openid offline_access read:things");
    assert_eq!(perms, Some(json!(["delete:things", "read:things"])));

    // The code flow through the hosted login page is narrowed alike.
    let web = h
        .client_on(&t, &h.info.connection_id, json!({
            "name": "Site", "app_type": "regular_web", "callbacks": [CALLBACK],
            "grant_types": ["authorization_code"], "token_endpoint_auth_method": "client_secret_post",
        }))
        .await;
    let mut browser = Browser::new(&h.base);
    let a = browser
        .get(&authorize_path(
            web["client_id"].as_str().unwrap(),
            CALLBACK,
            "openid read:things write:things",
            &[("audience", API)],
        ))
        .await;
    let page = browser.follow(a).await;
    let posted = browser
        .submit_login(&page, "ada@example.com", PASSWORD)
        .await;
    let code = browser
        .follow(posted)
        .await
        .location_param("code")
        .expect("a code");
    let (s, coded) = h
        .token(json!({"grant_type": "authorization_code", "client_id": web["client_id"],
                      "client_secret": web["client_secret"], "code": code, "redirect_uri": CALLBACK}))
        .await;
    assert_eq!(s, StatusCode::OK, "{coded}");
    let (scope, perms) = granted(&coded);
    assert_eq!(scope, "openid read:things");
    assert_eq!(perms, Some(json!(["delete:things", "read:things"])));

    // A refresh reads permissions again: the role taken, its scope goes.
    admin
        .delete(
            &format!("/users/{user}/roles"),
            json!({"roles": [r]}),
            StatusCode::NO_CONTENT,
        )
        .await;
    let (s, refreshed) = h
        .refresh_grant(
            (&app.id, &app.secret),
            tokens["refresh_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{refreshed}");
    let (scope, perms) = granted(&refreshed);
    assert_eq!(scope, "openid offline_access");
    assert_eq!(perms, Some(json!(["delete:things"])));

    // `access_token`: still narrowed, no claim.
    admin
        .patch(
            &rs,
            json!({"token_dialect": "access_token"}),
            StatusCode::OK,
        )
        .await;
    let (scope, perms) = granted(&login(&h, &app, ASK).await);
    assert_eq!(scope, "openid offline_access delete:things");
    assert_eq!(perms, None);

    // Machines are governed by client grants, not by RBAC.
    let m2m = h
        .client_on(&t, &h.info.connection_id, json!({"name": "Worker", "app_type": "non_interactive", "grant_types": ["client_credentials"]}))
        .await;
    let m2m_id = m2m["client_id"].as_str().unwrap();
    admin
        .post(
            "/client-grants",
            json!({"client_id": m2m_id, "audience": API, "scope": ["read:things"]}),
            StatusCode::CREATED,
        )
        .await;
    let machine = h
        .m2m_token(m2m_id, m2m["client_secret"].as_str().unwrap(), API, None)
        .await;
    let c = claims(&machine);
    assert_eq!(c["scope"], "read:things", "{c}");
    h.stop().await;
}

/// Rows of `table` whose `column` is `value`.
async fn rows(db: &mut sqlx::AnyConnection, table: &str, column: &str, value: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .fetch_one(db)
        .await
        .unwrap()
}

async fn deletes_leave_no_orphans(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let admin = As(&h, &t);
    let api = things_api(&h, &t, json!({})).await;
    let rs = format!("/resource-servers/{}", api["id"].as_str().unwrap());
    let r = role(&h, &t, "all").await;
    admin
        .give(
            &format!("/roles/{r}"),
            &["read:things", "write:things", "delete:things"],
        )
        .await;
    let mut users = vec![];
    for n in ["ada", "bo", "cy"] {
        let u = h
            .create_user(&t, &format!("{n}@example.com"), PASSWORD)
            .await;
        let id = u["user_id"].as_str().unwrap().to_string();
        admin.give_roles(&id, &[&r]).await;
        admin
            .give(&format!("/users/{id}"), &["read:things", "write:things"])
            .await;
        users.push(id);
    }
    let mut db = h.database().await;
    assert_eq!(rows(&mut db, "user_roles", "user_id", &users[0]).await, 1);
    assert_eq!(
        rows(&mut db, "user_permissions", "user_id", &users[0]).await,
        2
    );

    // A user deleted by id, and one by email through their connection.
    let (s, _) = h
        .api(&t, Method::DELETE, &format!("/users/{}", users[0]), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let path = format!(
        "/connections/{}/users?email=bo@example.com",
        h.info.connection_id
    );
    let (s, e) = h.api(&t, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    for u in &users[..2] {
        assert_eq!(rows(&mut db, "user_roles", "user_id", u).await, 0, "{u}");
        assert_eq!(
            rows(&mut db, "user_permissions", "user_id", u).await,
            0,
            "{u}"
        );
    }
    assert_eq!(rows(&mut db, "user_roles", "user_id", &users[2]).await, 1);

    // A scope the API stops defining takes the permissions naming it.
    let e = admin.patch(&rs, json!({"scopes": [{"value": "read:things", "description": "Read things"}, {"value": "delete:things", "description": "Delete"}]}), StatusCode::OK).await;
    assert_eq!(e["scopes"].as_array().unwrap().len(), 2, "{e}");
    assert_eq!(
        rows(
            &mut db,
            "role_permissions",
            "permission_name",
            "write:things"
        )
        .await,
        0
    );
    assert_eq!(
        rows(
            &mut db,
            "user_permissions",
            "permission_name",
            "write:things"
        )
        .await,
        0
    );
    assert_eq!(
        rows(
            &mut db,
            "role_permissions",
            "permission_name",
            "read:things"
        )
        .await,
        1
    );

    // A role deleted takes its permissions and its members.
    let (s, _) = h
        .api(&t, Method::DELETE, &format!("/roles/{r}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rows(&mut db, "role_permissions", "role_id", &r).await, 0);
    assert_eq!(rows(&mut db, "user_roles", "role_id", &r).await, 0);

    // An API deleted takes every permission naming it.
    assert_eq!(
        rows(
            &mut db,
            "user_permissions",
            "resource_server_identifier",
            API
        )
        .await,
        1
    );
    let (s, _) = h.api(&t, Method::DELETE, &rs, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        rows(
            &mut db,
            "user_permissions",
            "resource_server_identifier",
            API
        )
        .await,
        0
    );
    assert_eq!(
        rows(
            &mut db,
            "role_permissions",
            "resource_server_identifier",
            API
        )
        .await,
        0
    );
    h.stop().await;
}

/// Auth0's OpenAPI lists form bodies for the role and assignment writes:
/// strings, lists of strings (`users[]`) and lists of objects
/// (`permissions[0][permission_name]`) in bracket syntax.
async fn role_writes_by_form(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    things_api(&h, &t, json!({})).await;
    let ada = h.create_user(&t, "ada@example.com", PASSWORD).await;
    let ada = ada["user_id"].as_str().unwrap().to_string();
    let form = |method: Method, path: String, body: String| {
        let (h, t) = (&h, &t);
        async move { h.api_form(t, method, &path, &body).await }
    };
    let (s, r) = form(
        Method::POST,
        "/roles".into(),
        "name=editor&description=Edits+things".into(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (&r["name"], &r["description"]),
        (&json!("editor"), &json!("Edits things"))
    );
    let id = r["id"].as_str().unwrap().to_string();
    let (s, r) = form(
        Method::PATCH,
        format!("/roles/{id}"),
        "description=Writes".into(),
    )
    .await;
    assert_eq!(
        (s, &r["description"]),
        (StatusCode::OK, &json!("Writes")),
        "{r}"
    );

    let api = urlencoding::encode(API);
    let perms = format!(
        "permissions[0][resource_server_identifier]={api}&permissions[0][permission_name]=read:things\
         &permissions[1][resource_server_identifier]={api}&permissions[1][permission_name]=write:things"
    );
    let (s, e) = form(Method::POST, format!("/roles/{id}/permissions"), perms).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let take = format!(
        "permissions[0][resource_server_identifier]={api}&permissions[0][permission_name]=write:things"
    );
    let (s, e) = form(Method::DELETE, format!("/roles/{id}/permissions"), take).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (_, held) = h
        .api(&t, Method::GET, &format!("/roles/{id}/permissions"), None)
        .await;
    assert_eq!(
        pairs(&held, "resource_server_identifier", "permission_name"),
        [(API.to_string(), "read:things".to_string())]
    );

    let (s, e) = form(
        Method::POST,
        format!("/roles/{id}/users"),
        format!("users[]={}", urlencoding::encode(&ada)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (_, of_user) = h
        .api(&t, Method::GET, &format!("/users/{ada}/roles"), None)
        .await;
    assert_eq!(of_user[0]["id"], id.as_str(), "{of_user}");
    let (s, e) = form(
        Method::DELETE,
        format!("/users/{ada}/roles"),
        format!("roles[]={id}"),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, e) = form(
        Method::POST,
        format!("/users/{ada}/roles"),
        format!("roles={id}"),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a lone plain key is a string, not a list: {e}"
    );
    assert_eq!(e["errorCode"], "invalid_body", "{e}");
    h.stop().await;
}

both_backends!(
    role_writes_by_form,
    roles_round_trip,
    permissions_and_members,
    scopes_are_checked,
    tokens_follow_permissions,
    deletes_leave_no_orphans,
);
