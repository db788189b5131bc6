#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Roles and permissions in the console, on both backends: the roles list
//! (filter, paging, permission counts), creating and editing a role, its
//! permissions and users tabs, the user page's roles and permissions, and
//! the role's deletion. Every form needs the session's CSRF token; what
//! the forms change is read back through the Management API; bad input is
//! refused on the page with nothing written; every change is logged with
//! the operator as actor; names and descriptions are escaped.

mod common;

use common::browser::{Browser, csrf};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OPERATOR: &str = "ops@example.com";
const OPERATOR_PASSWORD: &str = "Operator-Pass-42";
const ORDERS: &str = "https://orders.example/";
const SCRIPT_NAME: &str = "<script>alert(1)</script>";

/// An API with two scopes; `a@shop.example` in one connection and
/// `b@shop.example` in two. The users' ids: a, b (shop), b (other).
async fn world(h: &Harness, t: &str) -> (String, String, String) {
    let (s, api) = h
        .api(
            t,
            Method::POST,
            "/resource-servers",
            Some(json!({"name": "Orders", "identifier": ORDERS,
                "scopes": [{"value": "read:orders"}, {"value": "write:orders"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{api}");
    let mut ids = Vec::new();
    for (connection, email) in [
        ("shop-users", "a@shop.example"),
        ("shop-users", "b@shop.example"),
        ("other-users", "b@shop.example"),
    ] {
        let (_, _) = h
            .api(
                t,
                Method::POST,
                "/connections",
                Some(json!({"name": connection, "strategy": "auth0"})),
            )
            .await;
        let (s, u) = h
            .api(
                t,
                Method::POST,
                "/users",
                Some(json!({"connection": connection, "email": email, "password": "Correct-Horse-7-Battery"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        ids.push(u["user_id"].as_str().unwrap().to_string());
    }
    (ids[0].clone(), ids[1].clone(), ids[2].clone())
}

async fn get_json(h: &Harness, t: &str, path: &str) -> Value {
    let (s, v) = h.api(t, Method::GET, path, None).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    v
}

/// The ids in a list of objects under `key`.
fn ids(list: &Value, key: &str) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o[key].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// A form the console refuses (status and what the page says); the page
/// itself is returned for more checks.
async fn refused(
    op: &mut Browser,
    url: &str,
    fields: &[(&str, &str)],
    status: StatusCode,
    says: &str,
) -> String {
    let a = op.post_form(url, fields).await;
    assert_eq!(a.status, status, "{url}: {}", a.body);
    assert!(a.body.contains(says), "{url} says {says}: {}", a.body);
    a.body
}

fn permission(scope: &str) -> String {
    json!([ORDERS, scope]).to_string()
}

async fn roles_by_form(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let (a, b_shop, b_other) = world(&h, &t).await;
    let mut op = h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let list = op.get("/console/roles").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body
            .contains("href=\"/console/roles\" aria-current=\"page\"")
    );
    let token = csrf(&list.body);

    // Create: without the token nothing is made; an empty name is refused
    // on the page; a name with markup is escaped everywhere.
    let forged = op.post_form("/console/roles", &[("name", "Clerks")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    refused(
        &mut op,
        "/console/roles",
        &[("csrf", &token), ("name", "  "), ("description", "kept")],
        StatusCode::BAD_REQUEST,
        "must not be empty",
    )
    .await;
    assert_eq!(get_json(&h, &t, "/roles").await, json!([]));
    let made = op
        .post_form(
            "/console/roles",
            &[
                ("csrf", &token),
                ("name", SCRIPT_NAME),
                ("description", "<b>bold</b>"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let roles = get_json(&h, &t, "/roles").await;
    let role = roles[0]["id"].as_str().unwrap().to_string();
    assert_eq!(roles[0]["name"], SCRIPT_NAME);
    let url = format!("/console/roles/{role}");
    assert_eq!(made.location().unwrap(), format!("{url}?done=created"));
    for page in ["/console/roles", url.as_str()] {
        let body = op.get(page).await.body;
        assert!(
            body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}: {body}"
        );
        assert!(!body.contains(SCRIPT_NAME), "{page}");
        assert!(!body.contains("<b>bold</b>"), "{page}");
    }
    refused(
        &mut op,
        "/console/roles",
        &[("csrf", &token), ("name", SCRIPT_NAME)],
        StatusCode::CONFLICT,
        "Create a role",
    )
    .await;

    // Edit.
    let saved = op
        .post_form(
            &url,
            &[
                ("csrf", &token),
                ("name", "Order clerks"),
                ("description", "Take orders"),
            ],
        )
        .await;
    assert_eq!(saved.location().unwrap(), format!("{url}?done=saved"));
    let r = get_json(&h, &t, &format!("/roles/{role}")).await;
    assert_eq!(
        (r["name"].as_str(), r["description"].as_str()),
        (Some("Order clerks"), Some("Take orders"))
    );
    refused(
        &mut op,
        &url,
        &[("csrf", &token), ("name", ""), ("description", "gone")],
        StatusCode::BAD_REQUEST,
        "must not be empty",
    )
    .await;
    assert_eq!(get_json(&h, &t, &format!("/roles/{role}")).await, r);

    // Permissions: a scope of the API is offered and given; the Management
    // API's are neither offered nor accepted, nor a scope the API lacks.
    let perms = format!("{url}/permissions");
    let tab = op.get(&perms).await.body;
    assert!(tab.contains("Orders: read:orders"), "{tab}");
    let system = get_json(&h, &t, "/resource-servers").await[0]["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!tab.contains(&system), "{tab}");
    let forged = op
        .post_form(&perms, &[("permission", &permission("read:orders"))])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let sys = json!([system, "read:users"]).to_string();
    for (value, says) in [
        (permission("delete:orders"), "defines no permission"),
        (sys, "client grants"),
        ("not json".to_string(), "Choose an API"),
    ] {
        refused(
            &mut op,
            &perms,
            &[("csrf", &token), ("permission", &value)],
            StatusCode::BAD_REQUEST,
            says,
        )
        .await;
    }
    assert_eq!(
        get_json(&h, &t, &format!("/roles/{role}/permissions")).await,
        json!([])
    );
    let given = op
        .post_form(
            &perms,
            &[("csrf", &token), ("permission", &permission("read:orders"))],
        )
        .await;
    assert_eq!(
        given.location().unwrap(),
        format!("{perms}?done=permission-added")
    );
    let held = get_json(&h, &t, &format!("/roles/{role}/permissions")).await;
    assert_eq!(held[0]["permission_name"], "read:orders", "{held}");
    assert_eq!(held.as_array().unwrap().len(), 1);
    let tab = op.get(&perms).await.body;
    assert!(tab.contains("<code>read:orders</code>"), "{tab}");
    assert!(
        !tab.contains("Orders: read:orders"),
        "a held scope is not offered again"
    );
    let list = op.get("/console/roles").await.body;
    assert!(list.contains("<td class=\"num\">1</td>"), "{list}");

    // Users: an email names every user with it; an unknown entry refuses
    // the whole addition.
    let users = format!("{url}/users");
    let page = refused(
        &mut op,
        &users,
        &[
            ("csrf", &token),
            ("users", "a@shop.example\nnobody@shop.example"),
        ],
        StatusCode::BAD_REQUEST,
        "no user of this tenant has the id or email nobody@shop.example",
    )
    .await;
    assert!(
        page.contains("a@shop.example\nnobody@shop.example</textarea>"),
        "what was typed stays"
    );
    refused(
        &mut op,
        &users,
        &[("csrf", &token), ("users", " \n ")],
        StatusCode::BAD_REQUEST,
        "at least one",
    )
    .await;
    assert_eq!(
        get_json(&h, &t, &format!("/roles/{role}/users")).await,
        json!([])
    );
    let forged = op.post_form(&users, &[("users", &a)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let added = op
        .post_form(
            &users,
            &[("csrf", &token), ("users", &format!("B@shop.example, {a}"))],
        )
        .await;
    assert_eq!(
        added.location().unwrap(),
        format!("{users}?done=users-added")
    );
    let members = get_json(&h, &t, &format!("/roles/{role}/users")).await;
    let mut want = vec![a.clone(), b_shop.clone(), b_other.clone()];
    want.sort();
    assert_eq!(ids(&members, "user_id"), want);
    let removed = op
        .post_form(
            &format!("{users}/remove"),
            &[("csrf", &token), ("user_id", &b_other)],
        )
        .await;
    assert_eq!(
        removed.location().unwrap(),
        format!("{users}?done=user-removed")
    );
    let members = get_json(&h, &t, &format!("/roles/{role}/users")).await;
    assert_eq!(members.as_array().unwrap().len(), 2, "{members}");
    let tab = op.get(&users).await.body;
    assert!(tab.contains("2 user(s) hold this role."), "{tab}");

    // Taking the permission back.
    let taken = op
        .post_form(
            &format!("{perms}/remove"),
            &[("csrf", &token), ("permission", &permission("read:orders"))],
        )
        .await;
    assert_eq!(
        taken.location().unwrap(),
        format!("{perms}?done=permission-removed")
    );
    assert_eq!(
        get_json(&h, &t, &format!("/roles/{role}/permissions")).await,
        json!([])
    );

    for what in [
        "Console: role created",
        "Console: role saved",
        "Console: role permission added",
        "Console: role permission removed",
        "Console: role users added",
        "Console: role user removed",
    ] {
        h.console_log(&t, "sapi", what, OPERATOR).await;
    }
    h.stop().await;
}

async fn a_users_roles_on_their_page(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let (a, _, _) = world(&h, &t).await;
    let mut roles = Vec::new();
    for name in ["Clerks", "Support"] {
        let (_, r) = h
            .api(&t, Method::POST, "/roles", Some(json!({"name": name})))
            .await;
        roles.push(r["id"].as_str().unwrap().to_string());
    }
    let (s, _) = h
        .api(&t, Method::POST, &format!("/roles/{}/permissions", roles[0]),
            Some(json!({"permissions": [{"resource_server_identifier": ORDERS, "permission_name": "read:orders"}]})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let both = json!({"permissions": [{"resource_server_identifier": ORDERS, "permission_name": "read:orders"},
        {"resource_server_identifier": ORDERS, "permission_name": "write:orders"}]});
    let (s, _) = h
        .api(
            &t,
            Method::POST,
            &format!("/users/{a}/permissions"),
            Some(both),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut op = h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let page = format!("/console/users/{}", urlencoding::encode(&a));
    let body = op.get(&page).await.body;
    let token = csrf(&body);
    assert!(body.contains("The user holds no role."), "{body}");
    assert!(
        body.contains("<option value=\"") && body.contains(">Clerks</option>"),
        "{body}"
    );

    // Assign: without the token, an unknown role, then Clerks.
    let assign = format!("{page}/roles");
    let forged = op.post_form(&assign, &[("role_id", &roles[0])]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    refused(
        &mut op,
        &assign,
        &[("csrf", &token), ("role_id", "rol_nope")],
        StatusCode::BAD_REQUEST,
        "the role 'rol_nope' does not exist",
    )
    .await;
    // Tampered or stale forms: the user's page, the reason in the section
    // the form belongs to, nothing changed.
    let before_roles = get_json(&h, &t, &format!("/users/{a}/roles")).await;
    let before_perms = get_json(&h, &t, &format!("/users/{a}/permissions")).await;
    let remove_role = format!("{page}/roles/remove");
    let remove_perm = format!("{page}/permissions/remove");
    for (url, fields, section, says) in [
        (
            &assign,
            vec![("csrf", token.as_str()), ("role_id", "rol_nope")],
            "roles",
            "Nothing was changed: the role 'rol_nope' does not exist.",
        ),
        (
            &assign,
            vec![("csrf", token.as_str())],
            "roles",
            "Nothing was changed: choose a role to assign.",
        ),
        (
            &assign,
            vec![("csrf", token.as_str()), ("role_id", "  ")],
            "roles",
            "Nothing was changed: choose a role to assign.",
        ),
        (
            &remove_role,
            vec![("csrf", token.as_str())],
            "roles",
            "Nothing was changed: the form names no role to remove.",
        ),
        (
            &remove_perm,
            vec![("csrf", token.as_str()), ("permission", "not json")],
            "permissions",
            "Nothing was changed: the form names no permission to remove.",
        ),
        (
            &remove_perm,
            vec![("csrf", token.as_str())],
            "permissions",
            "Nothing was changed: the form names no permission to remove.",
        ),
    ] {
        let answer = op.post_form(url, &fields).await;
        let body = &answer.body;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{url} {fields:?}: {body}"
        );
        assert!(
            !body.contains("The change was refused"),
            "not the generic page: {body}"
        );
        let (roles_part, perms_part) = body
            .split_once("id=\"permissions-heading\"")
            .unwrap_or_else(|| panic!("the user's page: {body}"));
        let roles_part = roles_part.split_once("id=\"roles-heading\"").unwrap().1;
        let (here, elsewhere) = if section == "roles" {
            (roles_part, perms_part)
        } else {
            (perms_part, roles_part)
        };
        let alert = format!("role=\"alert\">{says}</p>");
        assert!(
            here.contains(&alert),
            "{says} in the {section} section: {body}"
        );
        assert!(!elsewhere.contains("role=\"alert\""), "{body}");
    }
    assert_eq!(
        get_json(&h, &t, &format!("/users/{a}/roles")).await,
        before_roles
    );
    assert_eq!(
        get_json(&h, &t, &format!("/users/{a}/permissions")).await,
        before_perms
    );
    let done = op
        .post_form(&assign, &[("csrf", &token), ("role_id", &roles[0])])
        .await;
    assert_eq!(
        done.location().unwrap(),
        format!("{page}?done=role-assigned")
    );
    let held = get_json(&h, &t, &format!("/users/{a}/roles")).await;
    assert_eq!(ids(&held, "id"), vec![roles[0].clone()]);

    // Permissions with their sources: read:orders directly and through
    // Clerks, write:orders directly.
    let body = op.get(&done.location().unwrap()).await.body;
    assert!(body.contains("The role is assigned."), "{body}");
    let perms = body.split("id=\"user-permissions\"").nth(1).unwrap();
    assert!(
        perms.contains("through the role <a href=\"/console/roles/"),
        "{perms}"
    );
    assert_eq!(perms.matches("directly").count(), 2, "{perms}");

    // Removing a direct permission leaves the one through the role.
    let remove = format!("{page}/permissions/remove");
    let done = op
        .post_form(
            &remove,
            &[("csrf", &token), ("permission", &permission("read:orders"))],
        )
        .await;
    assert_eq!(
        done.location().unwrap(),
        format!("{page}?done=permission-removed")
    );
    let held = get_json(&h, &t, &format!("/users/{a}/permissions")).await;
    let sources: Vec<(String, Value)> = held
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["permission_name"].as_str().unwrap().to_string(),
                p["sources"].clone(),
            )
        })
        .collect();
    assert_eq!(sources.len(), 2, "{held}");
    assert_eq!(sources[0].1[0]["source_type"], "ROLE", "{held}");
    assert_eq!(sources[1].1[0]["source_type"], "DIRECT", "{held}");

    // Removing the role.
    let done = op
        .post_form(
            &format!("{page}/roles/remove"),
            &[("csrf", &token), ("role_id", &roles[0])],
        )
        .await;
    assert_eq!(
        done.location().unwrap(),
        format!("{page}?done=role-removed")
    );
    assert_eq!(
        get_json(&h, &t, &format!("/users/{a}/roles")).await,
        json!([])
    );
    for what in [
        "Console: user role assigned",
        "Console: user permission removed",
        "Console: user role removed",
    ] {
        let e = h.console_log(&t, "sapi", what, OPERATOR).await;
        assert_eq!(e["user_id"], a.as_str(), "{e}");
    }
    h.stop().await;
}

async fn a_role_list_pages_and_filters(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    for i in 0..53 {
        let (s, r) = h
            .api(
                &t,
                Method::POST,
                "/roles",
                Some(json!({"name": format!("role-{i:02}")})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
    }
    let (_, r) = h
        .api(
            &t,
            Method::POST,
            "/roles",
            Some(json!({"name": "Support desk"})),
        )
        .await;
    let support = r["id"].as_str().unwrap().to_string();
    let mut op = h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let first = op.get("/console/roles").await.body;
    let rows = |body: &str| body.matches("<a href=\"/console/roles/rol_").count();
    assert_eq!(rows(&first), 50, "{first}");
    assert!(first.contains("54 role(s)"));
    assert!(
        first.contains("rel=\"next\" href=\"/console/roles?name_filter=&amp;page=1\""),
        "{first}"
    );
    let second = op.get("/console/roles?name_filter=&page=1").await.body;
    assert_eq!(rows(&second), 4, "{second}");
    assert!(second.contains("rel=\"prev\""), "{second}");
    assert!(!second.contains("rel=\"next\""));
    let filtered = op.get("/console/roles?name_filter=SUPP").await.body;
    assert_eq!(rows(&filtered), 1, "{filtered}");
    assert!(filtered.contains(&format!("/console/roles/{support}")));
    let none = op.get("/console/roles?name_filter=zzz&page=x").await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(
        none.body.contains("No role's name contains this."),
        "{}",
        none.body
    );
    h.stop().await;
}

async fn a_role_deletion_names_what_is_lost(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let (a, b_shop, _) = world(&h, &t).await;
    let (_, r) = h
        .api(&t, Method::POST, "/roles", Some(json!({"name": "Clerks"})))
        .await;
    let role = r["id"].as_str().unwrap().to_string();
    h.api(&t, Method::POST, &format!("/roles/{role}/permissions"),
        Some(json!({"permissions": [{"resource_server_identifier": ORDERS, "permission_name": "write:orders"}]})))
        .await;
    h.api(
        &t,
        Method::POST,
        &format!("/roles/{role}/users"),
        Some(json!({"users": [a, b_shop]})),
    )
    .await;
    let mut op = h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let url = format!("/console/roles/{role}/delete");
    assert!(
        op.get(&format!("/console/roles/{role}"))
            .await
            .body
            .contains(&format!("href=\"{url}\""))
    );
    let confirm = op.get(&url).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm
            .body
            .contains("id=\"lost-members\"><strong>2</strong> users"),
        "{}",
        confirm.body
    );
    assert!(confirm.body.contains("write:orders"), "{}", confirm.body);
    let token = csrf(&confirm.body);
    let forged = op.post_form(&url, &[("confirm", "yes")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let unticked = op.post_form(&url, &[("csrf", &token)]).await;
    assert_eq!(unticked.location().as_deref(), Some(url.as_str()));
    assert_eq!(
        get_json(&h, &t, &format!("/roles/{role}")).await["name"],
        "Clerks"
    );
    let done = op
        .post_form(&url, &[("csrf", &token), ("confirm", "yes")])
        .await;
    assert_eq!(
        done.location().as_deref(),
        Some("/console/roles?done=deleted")
    );
    let (s, _) = h
        .api(&t, Method::GET, &format!("/roles/{role}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        get_json(&h, &t, &format!("/users/{a}/roles")).await,
        json!([])
    );
    assert_eq!(
        get_json(&h, &t, &format!("/users/{a}/permissions")).await,
        json!([])
    );
    let gone = op.get(&url).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    h.console_log(&t, "sapi", "Console: role deleted", OPERATOR)
        .await;
    h.stop().await;
}

/// The user ids listed in a role's members table, in page order.
fn member_ids(body: &str) -> Vec<String> {
    let table = body
        .split("<table id=\"members\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or("");
    table
        .split("<td><code>")
        .skip(1)
        .map(|c| c.split("</code>").next().unwrap().to_string())
        .collect()
}

/// The `href` of the pager's link `rel` (`next` or `prev`), if shown.
fn pager_link(body: &str, rel: &str) -> Option<String> {
    let at = body.find(&format!("rel=\"{rel}\" href=\""))?;
    let rest = &body[at + rel.len() + 13..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

/// A role held by 120 of 150 users: its users tab shows them 50 at a time in user-id order, walking
/// the next links reaches every member exactly once, the previous links
/// walk back to the same pages, and a page past the end lists nobody.
async fn a_roles_users_page_past_fifty(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let rows: Vec<Value> = (0..150)
        .map(|i| json!({"email": format!("m{i:03}@members.example"), "email_verified": true}))
        .collect();
    let imported = h.import_rows(&t, &Value::from(rows)).await;
    assert_eq!(imported["summary"]["inserted"], 150, "{imported}");
    let mut all = Vec::new();
    for page in 0..2 {
        let list = get_json(&h, &t, &format!("/users?per_page=100&page={page}")).await;
        all.extend(
            list.as_array()
                .unwrap()
                .iter()
                .filter(|u| {
                    u["email"]
                        .as_str()
                        .unwrap_or("")
                        .ends_with("@members.example")
                })
                .map(|u| u["user_id"].as_str().unwrap().to_string()),
        );
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 150, "{all:?}");
    // Every fifth user is left out of the role: 120 members.
    let mut members: Vec<String> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 != 4)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(members.len(), 120);
    let (_, r) = h
        .api(&t, Method::POST, "/roles", Some(json!({"name": "Members"})))
        .await;
    let role = r["id"].as_str().unwrap().to_string();
    let (s, v) = h
        .api(
            &t,
            Method::POST,
            &format!("/roles/{role}/users"),
            Some(json!({"users": members})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    members.sort();

    let mut op = h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let first = format!("/console/roles/{role}/users");
    let mut url = Some(first.clone());
    let mut pages = Vec::new();
    let mut seen = Vec::new();
    while let Some(u) = url {
        let p = op.get(&u).await;
        assert_eq!(p.status, StatusCode::OK, "{u}");
        assert!(p.body.contains("120 user(s) hold this role."), "{u}");
        let listed = member_ids(&p.body);
        assert!(listed.len() <= 50, "{u}: {}", listed.len());
        seen.extend(listed);
        url = pager_link(&p.body, "next");
        pages.push((u, p.body));
        assert!(pages.len() <= 4, "more pages than 120 members need");
    }
    assert_eq!(
        pages
            .iter()
            .map(|(_, b)| member_ids(b).len())
            .collect::<Vec<_>>(),
        [50, 50, 20]
    );
    assert_eq!(seen, members, "every member once, in user-id order");
    // Back from the last page, the same pages again.
    assert_eq!(pager_link(&pages[0].1, "prev"), None);
    for i in 1..pages.len() {
        let back = pager_link(&pages[i].1, "prev").unwrap();
        assert_eq!(
            member_ids(&op.get(&back).await.body),
            member_ids(&pages[i - 1].1),
            "{back}"
        );
    }
    let past = op.get(&format!("{first}?page=7")).await;
    assert_eq!(past.status, StatusCode::OK);
    assert!(member_ids(&past.body).is_empty());
    assert!(past.body.contains("No user holds this role on this page."));
    assert!(pager_link(&past.body, "prev").is_some());
    assert!(pager_link(&past.body, "next").is_none());
    h.stop().await;
}

both_backends!(
    roles_by_form,
    a_users_roles_on_their_page,
    a_role_list_pages_and_filters,
    a_role_deletion_names_what_is_lost,
    a_roles_users_page_past_fifty,
);
