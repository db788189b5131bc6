#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! `GET /api/v2/logs` and `GET /api/v2/logs/{id}` on a log longer than any
//! page: an event is found by its id however old it is, totals are counted
//! only up to the search window, and paging stops at the window.

#[macro_use]
mod common;

use common::{Backend, Harness};
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use tern_core::model::LogEvent;

/// More events than the old bounded scan of `GET /logs/{id}` read (10 000).
const EVENTS: usize = 10_050;

async fn old_events_are_found_and_totals_are_bounded(b: Backend) {
    let h = Harness::start_with(b, |c| c.search_window = 1000).await;
    let t = h.admin_token().await;
    let st = h.state();
    let oldest = LogEvent::new("fp", "the oldest event");
    st.store.append_log(st.tid(), &oldest).await.unwrap();
    futures_util::stream::iter(0..EVENTS)
        .map(|i| async move {
            let ev = LogEvent::new("s", format!("event {i}"));
            st.store.append_log(st.tid(), &ev).await.unwrap();
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;

    let (s, got) = h
        .api(&t, Method::GET, &format!("/logs/{}", oldest.id), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["log_id"], oldest.id.as_str(), "{got}");
    assert_eq!(got["description"], "the oldest event");
    let (s, e) = h
        .api(&t, Method::GET, "/logs/90020991231nothing", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    assert_eq!(e["errorCode"], "inexistent_log", "{e}");

    // Totals stop at the window; a type filter counts its own events.
    let (s, page) = h
        .api(
            &t,
            Method::GET,
            "/logs?per_page=10&include_totals=true",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1000, "{}", page["total"]);
    assert_eq!(page["logs"].as_array().unwrap().len(), 10);
    let (s, page) = h
        .api(&t, Method::GET, "/logs?q=type:fp&include_totals=true", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1, "{page}");
    // The last page inside the window is served, the next one refused.
    let (s, page) = h
        .api(&t, Method::GET, "/logs?per_page=100&page=9", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page.as_array().unwrap().len(), 100);
    let (s, e) = h
        .api(&t, Method::GET, "/logs?per_page=100&page=10", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["message"].as_str().unwrap().contains("first 1000"), "{e}");
    h.stop().await;
}

/// `GET /logs?from=&take=` as a log exporter calls it, and the `next` link
/// it answers: the array and the `Link` header's URL (relative to `/api/v2`).
async fn checkpoint(h: &Harness, t: &str, query: &str) -> (StatusCode, serde_json::Value, String) {
    let r = h
        .http
        .get(format!("{}/api/v2/logs{query}", h.base))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let link = r
        .headers()
        .get("link")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, r.json().await.unwrap(), link)
}

fn log_ids(page: &serde_json::Value) -> Vec<String> {
    page.as_array()
        .unwrap_or_else(|| panic!("not an array: {page}"))
        .iter()
        .map(|e| e["log_id"].as_str().unwrap().to_string())
        .collect()
}

/// Auth0's checkpoint mode, the way log exporters read the log: `from` a
/// log id, the events after it oldest first, `take` at a time, other
/// parameters ignored, and a `Link` header whose `next` is the following
/// request (the same one when nothing newer exists yet).
async fn read_by_checkpoint(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let st = h.state();
    let mut written = Vec::new();
    for i in 0..5 {
        let ev = LogEvent::new(if i % 2 == 0 { "s" } else { "fp" }, format!("event {i}"));
        st.store.append_log(st.tid(), &ev).await.unwrap();
        written.push(ev.id);
    }

    let (s, page, link) =
        checkpoint(&h, &t, &format!("?from={}&take=2&q=type:fp", written[0])).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(log_ids(&page), written[1..3], "oldest first, q ignored");
    let next = format!("?from={}&take=2", written[2]);
    assert_eq!(
        link,
        format!(r#"<{}/api/v2/logs{next}>; rel="next""#, st.public_url)
    );
    let (_, page, link) = checkpoint(&h, &t, &next).await;
    assert_eq!(log_ids(&page), written[3..5]);
    let last = format!("?from={}&take=2", written[4]);
    assert!(link.contains(&format!("/api/v2/logs{last}>")), "{link}");
    let (s, page, link) = checkpoint(&h, &t, &last).await;
    assert_eq!((s, page), (StatusCode::OK, serde_json::json!([])));
    assert!(
        link.contains(&format!("/api/v2/logs{last}>")),
        "nothing newer: the same request again: {link}"
    );
    // Newer events are found from there on; `take` defaults to 50.
    let ev = LogEvent::new("s", "later");
    st.store.append_log(st.tid(), &ev).await.unwrap();
    let (_, page, _) = checkpoint(&h, &t, &format!("?from={}", written[4])).await;
    assert_eq!(log_ids(&page), vec![ev.id.clone()]);
    let (_, page, _) = checkpoint(&h, &t, &format!("?from={}", written[0])).await;
    assert_eq!(log_ids(&page).len(), 5);

    // Bad input: 400 in Auth0's envelope, saying what to do.
    for (query, fragment) in [
        ("?from=90020991231nothing", "from"),
        (&format!("?from={}&take=101", written[0]) as &str, "take"),
        (&format!("?from={}&take=0", written[0]), "take"),
    ] {
        let (s, e, _) = checkpoint(&h, &t, query).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {e}");
        assert_eq!(e["errorCode"], "invalid_query_string", "{e}");
        assert!(e["message"].as_str().unwrap().contains(fragment), "{e}");
    }
    // Another tenant's event is not a checkpoint here.
    let tenant = tern_core::model::Tenant {
        id: "ten_other".into(),
        name: "other".into(),
        created_at: tern_core::clock::now_iso(),
    };
    st.store.insert_tenant(&tenant).await.unwrap();
    let other = LogEvent::new("s", "elsewhere");
    st.store.append_log(&tenant.id, &other).await.unwrap();
    let (s, _, _) = checkpoint(&h, &t, &format!("?from={}", other.id)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    h.stop().await;
}

both_backends!(
    old_events_are_found_and_totals_are_bounded,
    read_by_checkpoint
);
