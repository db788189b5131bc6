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

/// How many times a checkpoint reader asks again, 50 ms apart, before the
/// test gives up: PostgreSQL holds back events younger than a transaction
/// open anywhere in the cluster, which the tests share with other work (a
/// migration over a million rows holds one for about a minute).
const PATIENCE: usize = 2_400;

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

/// `GET /logs?from=…&take=…` and its `Link` header's `next` (at the public
/// URL, https, which the test's plain-HTTP server answers at `h.base`).
async fn read_on(h: &Harness, t: &str, url: &str) -> (Vec<String>, String) {
    let r = h.http.get(url).bearer_auth(t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let next = r.headers()["link"].to_str().unwrap().to_string();
    let events: Vec<serde_json::Value> = r.json().await.unwrap();
    let ids = events
        .iter()
        .map(|e| e["log_id"].as_str().unwrap().to_string())
        .collect();
    let next = next
        .strip_prefix('<')
        .and_then(|n| n.strip_suffix(">; rel=\"next\""))
        .unwrap_or_else(|| panic!("not a next link: {next}"));
    let path = next
        .strip_prefix(&h.info.audience)
        .unwrap_or_else(|| panic!("not under the Management API: {next}"));
    (ids, format!("{}/api/v2/{path}", h.base))
}

/// A reader of the log by checkpoint (as log-streaming tools are) gets every
/// event written after its checkpoint once, in the order written, following
/// the `Link` header; one whose checkpoint was purged resumes after it; `q`
/// and `sort` are ignored beside `from`, as Auth0 documents.
async fn a_checkpoint_reads_on_once_in_write_order(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let st = h.state();
    let mut written = Vec::new();
    for i in 0..120 {
        let ev = LogEvent::new(if i % 2 == 0 { "s" } else { "fp" }, format!("event {i}"));
        st.store.append_log(st.tid(), &ev).await.unwrap();
        written.push(ev.id);
    }
    let mut url = format!(
        "{}/api/v2/logs?from={}&take=50&q=type:s&sort=date:-1",
        h.base, written[9]
    );
    let mut read = Vec::new();
    // PostgreSQL may hold back events younger than a transaction open
    // elsewhere in the cluster: an empty page then means "not yet", and
    // the reader asks again, as an exporter does.
    for round in 0.. {
        assert!(round < PATIENCE, "the reader never caught up: {read:?}");
        let (ids, next) = read_on(&h, &t, &url).await;
        assert!(ids.len() <= 50);
        if ids.is_empty() {
            assert_eq!(
                next,
                url.replace("&q=type:s&sort=date:-1", ""),
                "an empty page reads on from the same place"
            );
            if written[10..].iter().all(|w| read.contains(w)) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        }
        assert!(
            next.ends_with(&format!("from={}&take=50", ids.last().unwrap())),
            "{next}"
        );
        read.extend(ids);
        url = next;
    }
    // Whatever the tenant wrote besides (the admin token's own events).
    read.retain(|id| written.contains(id));
    assert_eq!(read, written[10..].to_vec());

    // The checkpoint purged: the reader resumes after it, not from the start.
    // (Dated long ago, so retention's purge takes it alone.)
    let mut gone = LogEvent::new("s", "checkpoint, then purged");
    gone.date = "2000-01-01T00:00:00.000Z".into();
    st.store.append_log(st.tid(), &gone).await.unwrap();
    let after = LogEvent::new("s", "after the purged checkpoint");
    st.store.append_log(st.tid(), &after).await.unwrap();
    assert_eq!(
        st.store
            .purge_logs(st.tid(), "2001-01-01T00:00:00.000Z", 10)
            .await
            .unwrap(),
        1
    );
    let resume = format!("{}/api/v2/logs?from={}", h.base, gone.id);
    let mut ids = Vec::new();
    for _ in 0..PATIENCE {
        ids = read_on(&h, &t, &resume).await.0;
        if !ids.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ids.first(), Some(&after.id), "{ids:?}");

    // `take` is Auth0's 1 to 100.
    for take in ["0", "101", "x"] {
        let (s, e) = h
            .api(
                &t,
                Method::GET,
                &format!("/logs?from={}&take={take}", written[0]),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "take={take}: {e}");
    }
    h.stop().await;
}

/// Every event written after `from` (by `written`'s ids), read on along the
/// `Link` header until each of `want` has come: PostgreSQL holds back the
/// events of transactions younger than one still open anywhere in the
/// cluster (other tests' included), so the reader keeps polling, as an
/// exporter does. Returns the ids read, in order, with repeats.
async fn read_until(h: &Harness, t: &str, url: &mut String, want: &[String]) -> Vec<String> {
    let mut read = Vec::new();
    for _ in 0..PATIENCE {
        let (ids, next) = read_on(h, t, url).await;
        *url = next;
        let empty = ids.is_empty();
        read.extend(ids.into_iter().filter(|id| want.contains(id)));
        if want.iter().all(|w| read.contains(w)) {
            return read;
        }
        if empty {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    panic!("the reader never read {want:?}; read {read:?}");
}

/// PostgreSQL takes `seq` at insert and commits in any order: an event
/// written by a transaction still open (A) has a lower `seq` than one
/// written and committed after it (B). A checkpoint reader that was given
/// B and then read on from B would never see A. The reader must get both,
/// each once, whatever the order of commits.
async fn a_checkpoint_never_skips_an_event_committed_late(b: Backend) {
    use sqlx::Connection as _;
    assert_eq!(
        b,
        Backend::Postgres,
        "SQLite has one writer: commits are in seq order"
    );
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let st = h.state();
    let start = LogEvent::new("s", "the exporter's checkpoint");
    st.store.append_log(st.tid(), &start).await.unwrap();
    let mut url = format!("{}/api/v2/logs?from={}&take=2", h.base, start.id);

    // A: written in a transaction that stays open (a second connection,
    // the store's own insert statement).
    sqlx::any::install_default_drivers();
    let mut other = sqlx::AnyConnection::connect(&h.pg.as_ref().unwrap().url())
        .await
        .unwrap();
    let late = LogEvent::new("fp", "written first, committed last");
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query(
        "INSERT INTO logs (tenant_id, id, type, date, body, user_id) VALUES ($1, $2, $3, $4, $5, NULL)",
    )
    .bind(st.tid())
    .bind(&late.id)
    .bind(&late.kind)
    .bind(&late.date)
    .bind(serde_json::to_string(&late).unwrap())
    .execute(&mut other)
    .await
    .unwrap();
    // B: written and committed after A was written.
    let early = LogEvent::new("s", "written second, committed first");
    st.store.append_log(st.tid(), &early).await.unwrap();

    // The exporter reads while A is open: whatever it gets, it must not
    // have moved past A.
    let (ids, next) = read_on(&h, &t, &url).await;
    assert!(!ids.contains(&late.id), "A is not committed: {ids:?}");
    url = next;

    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    let want = [late.id.clone(), early.id.clone()];
    let mut read: Vec<String> = ids.into_iter().filter(|id| want.contains(id)).collect();
    read.extend(read_until(&h, &t, &mut url, &want).await);
    read.sort();
    let mut expected = want.to_vec();
    expected.sort();
    assert_eq!(read, expected, "every event exactly once");
    h.stop().await;
}

/// A user's events through `GET /users/{id}/logs` and `q=user_id:"…"`,
/// read through the log's user index (migration 0046): those a login wrote
/// (one statement with the user's row, `record_login`) and those written
/// alone; sorted, paged, counted and projected with Auth0's parameters.
async fn a_users_events_are_found_by_the_user(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let app = h.password_client(&t).await;
    let ada = h
        .create_user(&t, "ada@example.com", "Corr3ct-horse-battery")
        .await;
    let ada_id = ada["user_id"].as_str().unwrap().to_string();
    let bob = h
        .create_user(&t, "bob@example.com", "Corr3ct-horse-battery")
        .await;
    let bob_id = bob["user_id"].as_str().unwrap().to_string();
    let (s, tok) = h
        .password_grant_from(
            (&app.0, &app.1),
            "ada@example.com",
            "Corr3ct-horse-battery",
            "203.0.113.7",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    let st = h.state();
    for (i, user) in [&ada_id, &bob_id, &ada_id].into_iter().enumerate() {
        let mut ev = LogEvent::new("fp", format!("wrong password {i}"));
        ev.user_id = Some(user.clone());
        st.store.append_log(st.tid(), &ev).await.unwrap();
    }

    let (s, page) = h
        .api(&t, Method::GET, &format!("/users/{ada_id}/logs"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let described = |page: &serde_json::Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["type"].as_str().unwrap(),
                    e["user_id"].as_str().unwrap()
                )
            })
            .collect()
    };
    let ada_s = format!("s {ada_id}");
    let ada_fp = format!("fp {ada_id}");
    assert_eq!(
        described(&page),
        [ada_fp.clone(), ada_fp.clone(), ada_s.clone()],
        "newest first"
    );
    assert_eq!(page[0]["description"], "wrong password 2");
    let (s, page) = h
        .api(
            &t,
            Method::GET,
            &format!("/users/{ada_id}/logs?sort=date:1&per_page=2&page=0&include_totals=true"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 3, "{page}");
    assert_eq!(described(&page["logs"]), [ada_s, ada_fp], "oldest first");

    // The same through the tenant log's search, with a type, and projected.
    let q = format!("user_id:\"{ada_id}\" AND type:fp");
    let (s, page) = h
        .api(
            &t,
            Method::GET,
            &format!("/logs?q={}&fields=type,date", urlencoding::encode(&q)),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let first = page[0].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["date", "log_id", "type"], "the id stays: {page}");
    assert_eq!(page.as_array().unwrap().len(), 2);

    // `read:logs_users` alone reads a user's events; another scope does not.
    let users_only = h.scoped_token(&["read:logs_users"]).await;
    let (s, page) = h
        .api(
            &users_only,
            Method::GET,
            &format!("/users/{bob_id}/logs"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(described(&page), [format!("fp {bob_id}")]);
    // As Auth0's OAS has it, it reads the tenant log and one event too.
    let (s, page) = h
        .api(&users_only, Method::GET, "/logs?q=type:fp", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let one = page[0]["log_id"].as_str().unwrap().to_string();
    let (s, got) = h
        .api(&users_only, Method::GET, &format!("/logs/{one}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    let other = h.scoped_token(&["read:users"]).await;
    for path in [
        format!("/users/{bob_id}/logs"),
        "/logs".to_string(),
        format!("/logs/{one}"),
    ] {
        let (s, e) = h.api(&other, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {e}");
    }

    // The log outlives the user: a deleted user's events are still theirs;
    // an id that never had any has none.
    let (s, _) = h
        .api(&t, Method::DELETE, &format!("/users/{bob_id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, page) = h
        .api(
            &t,
            Method::GET,
            &format!("/users/{bob_id}/logs?q=ignored"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(described(&page).contains(&format!("fp {bob_id}")), "{page}");
    let (s, page) = h
        .api(&t, Method::GET, "/users/auth0%7Cnobody/logs", None)
        .await;
    assert_eq!((s, page), (StatusCode::OK, serde_json::json!([])));

    // Refusals name what is wrong.
    for (path, says) in [
        (
            format!("/users/{ada_id}/logs?sort=type:1"),
            "sorting logs by type is not supported",
        ),
        ("/logs?sort=date:2".to_string(), "is not a sort"),
        (
            "/logs?fields=date,secret".to_string(),
            "'secret' is not a log field",
        ),
        (
            "/logs?q=hostname:example.com".to_string(),
            "do not record hostname",
        ),
    ] {
        let (s, e) = h.api(&t, Method::GET, &path, None).await;
        assert!(
            s == StatusCode::BAD_REQUEST || s == StatusCode::NOT_FOUND,
            "{path}: {s} {e}"
        );
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(says), "{path}: {message}");
    }
    h.stop().await;
}

/// An event dated `date` (its id beginning with that time, as every id
/// does), `n` making the id unique.
fn dated(n: usize, kind: &str, date: &str, description: &str) -> LogEvent {
    let at =
        time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339).unwrap();
    LogEvent {
        id: format!("{}{n:08}", at.unix_timestamp_nanos()),
        date: date.into(),
        ..LogEvent::new(kind, description)
    }
}

/// Auth0's log search (`q`): a date range (inclusive, exclusive, open),
/// a day, `OR`, `NOT`, an ip exact and as a prefix, the other fields,
/// `_exists_`, with `sort`, paging, totals, `fields` and the `type`
/// shorthand; what it does not answer is a 400 naming it.
async fn a_search_reads_auth0s_log_query(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let st = h.state();
    let mut e = vec![
        dated(0, "s", "2020-11-30T23:59:59.999Z", "Login succeeded"),
        dated(
            1,
            "fp",
            "2020-12-01T00:00:00.000Z",
            "Wrong email or password.",
        ),
        dated(2, "f", "2020-12-01T12:00:00.000Z", "Failed"),
        dated(
            3,
            "fp",
            "2020-12-02T23:59:59.999Z",
            "Wrong email or password!",
        ),
        dated(4, "s", "2020-12-03T00:00:00.000Z", "Login succeeded"),
    ];
    e[0].ip = Some("198.51.100.1".into());
    e[0].user_name = Some("ada@example.com".into());
    e[0].client_id = Some("cli_A".into());
    e[0].connection = Some("Username-Password-Authentication".into());
    e[1].ip = Some("203.0.113.7".into());
    e[1].user_name = Some("ada@example.com".into());
    e[2].ip = Some("203.0.113.8".into());
    e[3].ip = Some("203.0.113.7".into());
    e[3].user_name = Some("bob@example.com".into());
    e[3].client_name = Some("Admin App".into());
    e[3].connection_id = Some("con_x".into());
    for ev in &e {
        st.store.append_log(st.tid(), ev).await.unwrap();
    }
    let which = |page: &serde_json::Value| -> Vec<usize> {
        page.as_array()
            .unwrap_or_else(|| panic!("not a list: {page}"))
            .iter()
            .map(|v| {
                let id = v["log_id"].as_str().unwrap();
                e.iter()
                    .position(|x| x.id == id)
                    .unwrap_or_else(|| panic!("not a test event: {v}"))
            })
            .collect()
    };
    let get = |query: String| {
        let h = &h;
        let t = &t;
        async move {
            let (s, page) = h.api(t, Method::GET, &format!("/logs?{query}"), None).await;
            assert_eq!(s, StatusCode::OK, "{query}: {page}");
            page
        }
    };
    let q = |q: &str| format!("q={}", urlencoding::encode(q));
    for (query, expected) in [
        ("date:[2020-12-01 TO 2020-12-02]", vec![3, 2, 1]),
        (
            "date:{2020-12-01T00:00:00.000Z TO 2020-12-03T00:00:00.000Z}",
            vec![3, 2],
        ),
        ("date:[* TO 2020-12-01T00:00:00.000Z]", vec![1, 0]),
        ("date:2020-12-01", vec![2, 1]),
        ("date:[2020-12-02 TO *] AND type:s", vec![4]),
        ("type:s OR type:fp", vec![4, 3, 1, 0]),
        (
            "NOT type:fp AND date:[2020-11-01 TO 2020-12-31]",
            vec![4, 2, 0],
        ),
        ("ip:\"203.0.113.7\"", vec![3, 1]),
        ("ip:203.0.113.*", vec![3, 2, 1]),
        (
            "NOT ip:203.0.113.* AND date:[2020-01-01 TO 2020-12-31]",
            vec![4, 0],
        ),
        ("user_name:\"ada@example.com\"", vec![1, 0]),
        ("description:\"Wrong email or password.\"", vec![1]),
        ("client_name:\"Admin App\" OR connection_id:con_x", vec![3]),
        (
            "client_id:cli_A AND connection:Username-Password-Authentication",
            vec![0],
        ),
        (
            "_exists_:user_name AND date:[2020-01-01 TO 2020-12-31]",
            vec![3, 1, 0],
        ),
        (
            "(type:f OR type:s) AND NOT date:[2020-12-03 TO *]",
            vec![2, 0],
        ),
        // Terms without a field: Auth0's bare-term fields (user_name,
        // connection, client_name, type, ip, log_id) equal to the term or,
        // `term*`, beginning with it; the description containing it. Each
        // within 2020, which only this test's events are.
        ("fp AND date:[2020-01-01 TO 2020-12-31]", vec![3, 1]),
        (
            "ada@example.com AND date:[2020-01-01 TO 2020-12-31]",
            vec![1, 0],
        ),
        ("\"Admin App\" AND date:[2020-01-01 TO 2020-12-31]", vec![3]),
        (
            "203.0.113.* AND date:[2020-01-01 TO 2020-12-31]",
            vec![3, 2, 1],
        ),
        (
            "\"Wrong email\" AND date:[2020-01-01 TO 2020-12-31]",
            vec![3, 1],
        ),
        ("Login AND date:[2020-01-01 TO 2020-12-31]", vec![4, 0]),
        // Case-sensitive, as every log field.
        ("login AND date:[2020-01-01 TO 2020-12-31]", vec![]),
        (
            "NOT Wrong AND date:[2020-01-01 TO 2020-12-31]",
            vec![4, 2, 0],
        ),
        ("Username-Password-Authentication OR 198.51.100.1", vec![0]),
    ] {
        assert_eq!(which(&get(q(query)).await), expected, "{query}");
    }
    let one = format!("log_id:{}", e[2].id);
    assert_eq!(which(&get(q(&one)).await), [2]);

    // Oldest first, paged and counted; the `type` shorthand on top of `q`;
    // `fields`.
    let range = q("date:[2020-12-01 TO 2020-12-02]");
    assert_eq!(which(&get(format!("{range}&sort=date:1")).await), [1, 2, 3]);
    let page = get(format!("{range}&per_page=1&page=1&include_totals=true")).await;
    assert_eq!(page["total"], 3, "{page}");
    assert_eq!(which(&page["logs"]), [2]);
    assert_eq!(which(&get(format!("{range}&type=fp")).await), [3, 1]);
    let page = get(format!("{range}&fields=type,date")).await;
    let mut keys: Vec<&str> = page[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["date", "log_id", "type"], "{page}");

    // Refused, by name.
    for (query, says) in [
        ("hostname:example.com", "do not record hostname"),
        ("nope:1", "unknown field 'nope'"),
        ("ip:*113.7", "only as a trailing *"),
        ("*113.7", "only as a trailing *"),
        ("date:[2020-12-01 TO tomorrow]", "not a valid date"),
        ("type:[a TO b]", "ranges are only supported on date"),
        ("type:s AND (type:f", "Syntax error"),
    ] {
        let (s, err) = h
            .api(&t, Method::GET, &format!("/logs?{}", q(query)), None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {err}");
        assert_eq!(err["errorCode"], "invalid_query_string", "{err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
    }
    h.stop().await;
}

/// A log search takes one of the search turns and is answered Auth0's 503
/// once it has waited past the search deadline; a listing without `q`
/// (an index walk) and a checkpoint read do not wait for a turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_search_takes_a_turn_and_times_out() {
    let h = Harness::start_with(Backend::Sqlite, |c| c.search.timeout_ms = 300).await;
    let t = h.admin_token().await;
    let held = h
        .state()
        .searches
        .clone()
        .acquire_many_owned(u32::try_from(tern_server::user_search::SEARCHES_AT_ONCE).unwrap())
        .await
        .unwrap();
    let (s, e) = h
        .api(&t, Method::GET, "/logs?q=ip:%22203.0.113.7%22", None)
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    assert_eq!(e["errorCode"], "query_timeout", "{e}");
    for path in ["/logs?type=seccft", "/logs?from=1&take=1"] {
        let (s, page) = h.api(&t, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {page}");
    }
    drop(held);
    let (s, page) = h
        .api(&t, Method::GET, "/logs?q=ip:%22203.0.113.7%22", None)
        .await;
    assert_eq!((s, page), (StatusCode::OK, serde_json::json!([])));
    h.stop().await;
}

both_backends!(
    old_events_are_found_and_totals_are_bounded,
    a_checkpoint_reads_on_once_in_write_order,
    a_users_events_are_found_by_the_user,
    a_search_reads_auth0s_log_query
);

mod postgres_only {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_checkpoint_never_skips_an_event_committed_late() {
        super::a_checkpoint_never_skips_an_event_committed_late(super::Backend::Postgres).await
    }
}
