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

both_backends!(old_events_are_found_and_totals_are_bounded);
