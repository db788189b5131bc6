#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The OpenAPI document at `/api/v2/openapi.json`: served without a token,
//! OpenAPI 3.1, with the instance's URLs, and in step with the route table.
//!
//! The route table is read from the source of `routes/mod.rs`, so a route
//! added there without a `#[utoipa::path]` (or the reverse) fails here; each
//! documented operation is then called to check the server really routes it.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ROUTES_SRC: &str = include_str!("../src/routes/mod.rs");
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// The text from `start` to its matching `)` (`start` is just past a `(`).
fn until_close(s: &str) -> &str {
    let mut depth = 1;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &s[..i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses in routes/mod.rs");
}

/// Every (method, path) routed by `pub fn <name>()` in routes/mod.rs, and how
/// many `.route(` calls it has.
fn routes_of(name: &str) -> (BTreeSet<(String, String)>, usize) {
    let start = ROUTES_SRC
        .find(&format!("pub fn {name}("))
        .unwrap_or_else(|| panic!("routes/mod.rs has no `pub fn {name}`"));
    let body = &ROUTES_SRC[start..];
    let body = &body[..body.find("\n}\n").expect("end of function")];
    let mut out = BTreeSet::new();
    let mut calls = 0;
    let mut rest = body;
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        calls += 1;
        let args = until_close(rest);
        let q1 = args.find('"').expect("route path literal");
        let q2 = q1 + 1 + args[q1 + 1..].find('"').expect("end of path literal");
        let path = &args[q1 + 1..q2];
        let routers = &args[q2 + 1..];
        let before = out.len();
        for m in METHODS {
            for (k, _) in routers.match_indices(&format!("{m}(")) {
                // `get(`, `.get(`, `routing::get(`, but not `x::forget(`.
                let prev = routers[..k].chars().next_back();
                if !prev.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    out.insert((m.to_string(), path.to_string()));
                }
            }
        }
        assert!(out.len() > before, "no method router found for {path}");
    }
    (out, calls)
}

/// (method, path) of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((m.to_string(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn route_table_parser_sees_every_route() {
    let (management, m_calls) = routes_of("management_router");
    let (public, p_calls) = routes_of("public_router");
    assert_eq!(
        ROUTES_SRC.matches(".route(").count(),
        m_calls + p_calls,
        "routes/mod.rs has routes outside management_router and public_router: teach this test about them"
    );
    assert!(management.contains(&("get".to_string(), "/users/{id}".to_string())));
    assert!(management.contains(&("delete".to_string(), "/connections/{id}/users".to_string())));
    assert!(public.contains(&("post".to_string(), "/userinfo".to_string())));
}

async fn fetch_document(h: &Harness) -> Value {
    let r = h
        .http
        .get(format!("{}/api/v2/openapi.json", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "served without a token");
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "{ct}");
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_matches_the_router() {
    let h = Harness::start(Backend::Sqlite).await;
    let doc = fetch_document(&h).await;
    let public_url = h.state().public_url.clone();

    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "openapi: {version}");
    assert_eq!(
        doc["servers"][0]["url"],
        json!(format!("{public_url}/api/v2"))
    );

    // The router and the document list the same operations.
    let (management, _) = routes_of("management_router");
    let (public, _) = routes_of("public_router");
    let mut expected = management.clone();
    expected.extend(public.iter().cloned());
    // Mounted in app.rs, outside the authenticated router.
    expected.insert(("get".into(), "/openapi.json".into()));
    let in_doc = documented(&doc);
    let missing: Vec<_> = expected.difference(&in_doc).collect();
    let phantom: Vec<_> = in_doc.difference(&expected).collect();
    assert!(
        missing.is_empty() && phantom.is_empty(),
        "routed but not documented: {missing:?}; documented but not routed: {phantom:?}"
    );

    let mut operation_ids = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let is_public = public.iter().any(|(_, p)| p == path);
        // Public endpoints live at the bare public URL, not under /api/v2.
        if is_public {
            assert_eq!(item["servers"][0]["url"], json!(public_url), "{path}");
        } else {
            assert!(item.get("servers").is_none(), "{path}");
        }
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let what = format!("{} {path}", m.to_uppercase());
            if let Some(prev) = operation_ids.insert(op["operationId"].to_string(), what.clone()) {
                panic!(
                    "operationId {} used by {prev} and {what}",
                    op["operationId"]
                );
            }
            let responses = op["responses"].as_object().unwrap();
            assert!(
                // A form post succeeds with a redirect (303 See Other).
                responses.keys().any(|s| s.starts_with('2') || s == "303"),
                "{what}: no success response"
            );
            // /api/v2 answers Auth0's Management envelope, the OAuth-style
            // endpoints theirs; the rest (discovery, download links) either.
            let oauth_style = ["/oauth/", "/userinfo", "/dbconnections/"]
                .iter()
                .any(|p| path.starts_with(p));
            // Hosted pages (`/lo/…`, `/u/…`, the browser flow's endpoints)
            // are read by people: their errors are pages too.
            let hosted_page = [
                "/lo/",
                "/u/",
                "/authorize",
                "/continue",
                "/v2/logout",
                "/oidc/logout",
            ]
            .iter()
            .any(|p| path.starts_with(p));
            for (status, r) in responses {
                if hosted_page && (status.starts_with('4') || status.starts_with('5')) {
                    assert!(
                        r["content"].get("text/html").is_some(),
                        "{what} {status}: a hosted page answers text/html"
                    );
                } else if status.starts_with('4') || status.starts_with('5') {
                    let schema = r["content"]["application/json"]["schema"]["$ref"]
                        .as_str()
                        .unwrap_or_default();
                    let ok = if !is_public {
                        schema.ends_with("/ApiErrorBody")
                    } else if oauth_style {
                        schema.ends_with("/OAuthErrorBody")
                    } else {
                        schema.ends_with("/ApiErrorBody") || schema.ends_with("/OAuthErrorBody")
                    };
                    assert!(ok, "{what} {status}: error body {schema:?}");
                }
            }
            if management.contains(&(m.to_string(), path.clone())) {
                for status in ["401", "403", "429"] {
                    assert!(responses.contains_key(status), "{what}: no {status}");
                }
                let scopes = op["security"][0]["bearerAuth"].as_array();
                assert!(
                    scopes.is_some_and(|s| !s.is_empty()),
                    "{what}: no bearerAuth scopes"
                );
            }
        }
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    h.stop().await;
}

/// Each documented operation reaches a handler: no 405, and not the 404 of
/// the fallbacks (whose code is `not_found`). Ids are made up, so deletes
/// touch nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed() {
    let h = Harness::start(Backend::Sqlite).await;
    let token = h.admin_token().await;
    let doc = fetch_document(&h).await;
    let (public, _) = routes_of("public_router");
    for (method, path) in documented(&doc) {
        let url_path = path.replace("{id}", "tern-openapi-probe") + "?email=nobody%40example.com";
        let prefix = if public.iter().any(|(_, p)| *p == path) {
            ""
        } else {
            "/api/v2"
        };
        let r = h
            .http
            .request(
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                format!("{}{prefix}{url_path}", h.base),
            )
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let what = format!("{} {prefix}{path}", method.to_uppercase());
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
        assert!(status.as_u16() < 500, "{what}: {status} {body}");
        assert!(
            body["errorCode"] != "not_found" && body["error"] != "not_found",
            "{what} fell through to a fallback: {status} {body}"
        );
    }
    h.stop().await;
}
