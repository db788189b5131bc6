#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Password resets end to end over HTTP: `/dbconnections/change_password`
//! (including users only the legacy store knows: a lazy reset), the mail in
//! the outbox, the reset page, and `/api/v2/tickets/password-change`.

mod common;
mod reset_support;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use reset_support::*;
use serde_json::{Value, json};

const SENT: &str = "We've just sent you an email to reset your password.";

/// A legacy user who never logged in resets their password: the request
/// asks get_user and writes no user; the mailed link creates the user from
/// that profile with the new password (one insert), and from then on they
/// log in locally (the legacy store is not asked again).
async fn lazy_reset_end_to_end(b: Backend) {
    let legacy = legacy_store();
    let h = Harness::start(b).await;
    let app = legacy_connection(&h, &legacy).await;
    let t = app.token.clone();

    let (s, ct, text) = request_reset(&h, &app.client_id, "legacy-db", "Old1@Legacy.example").await;
    assert_eq!((s, text.as_str()), (StatusCode::OK, SENT));
    assert!(ct.starts_with("text/plain"), "{ct}");

    // Nothing is written before the link is used.
    let stored = || async {
        h.state()
            .store
            .get_user(h.state().tid(), "auth0|1")
            .await
            .unwrap()
    };
    assert_eq!(stored().await, None, "the request creates no user");

    // The mail is in the outbox (no SMTP configured), with a working link.
    let mails = outbox(&h).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        (mails[0].to.as_str(), mails[0].kind.as_str()),
        ("old1@legacy.example", "password_reset")
    );
    let link = link_in(&h, &mails[0].text);
    let ticket = ticket_of(&link);
    assert!(ticket.len() >= 40, "{ticket}");

    let (s, headers, html) = open_link(&link).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!html.contains("<script"), "no script on the page");
    assert!(html.contains("old1@legacy.example"));
    assert!(html.contains(&format!("name=\"ticket\" value=\"{ticket}\"")));
    assert!(
        html.contains("upper case letters"),
        "the policy is explained"
    );

    // Mistakes send the form back with the reason; nothing is used up.
    let (s, _, html) = submit(&h, &ticket, "Corr3ct-horse", "Corr3ct-h0rse").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("The two passwords differ"), "{html}");
    let (s, _, html) = submit(&h, &ticket, "weakpassword", "weakpassword").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("Password is too weak"), "{html}");

    assert_eq!(stored().await, None, "mistakes create no user");

    let (s, headers, html) = submit(&h, &ticket, "Corr3ct-horse", "Corr3ct-horse").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("Your password has been changed"), "{html}");
    assert_eq!(headers["cache-control"], "no-store");
    // Created now, from the legacy profile, with the new password.
    let user = stored().await.expect("created by the link");
    assert_eq!(user.source, tern_core::model::UserSource::LazyReset);
    assert_eq!(user.email.as_deref(), Some("old1@legacy.example"));
    assert_eq!(user.app_metadata.get("plan"), Some(&json!("gold")));
    let verdict =
        tern_core::login::verify_password(Some(&user), "Corr3ct-horse", &h.state().policy);
    assert!(
        matches!(verdict, tern_core::login::Verdict::Valid { .. }),
        "{verdict:?}"
    );

    // Single use.
    let (s, _, html) = submit(&h, &ticket, "An0ther-horse", "An0ther-horse").await;
    assert_eq!(s, StatusCode::GONE);
    assert!(html.contains("already been used"), "{html}");
    let (s, _, _) = open_link(&link).await;
    assert_eq!(s, StatusCode::GONE);

    // Simultaneous requests for one legacy user mail one link and create
    // nobody before it is used.
    let before = resets_done(&h).await;
    let reset4 = || change_password(&h, &app.client_id, "legacy-db", "old4@legacy.example");
    let (a, b2, c, d) = tokio::join!(reset4(), reset4(), reset4(), reset4());
    for (s, _, text) in [a, b2, c, d] {
        assert_eq!((s, text.as_str()), (StatusCode::OK, SENT));
    }
    wait_resets(&h, before + 4).await;
    let (_, same) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=old4%40legacy.example",
            None,
        )
        .await;
    assert_eq!(same, json!([]), "{same}");
    let to_old4 = outbox(&h)
        .await
        .iter()
        .filter(|m| m.to == "old4@legacy.example")
        .count();
    assert_eq!(
        to_old4, 1,
        "at most one reset mail per user a minute (issue 12)"
    );

    // A Management API ticket for a legacy-only user works the same: no
    // user until its link is used, then one insert with the password; the
    // link mailed to the same user is closed by it.
    let (s, b) = h
        .api(
            &t,
            Method::POST,
            "/tickets/password-change",
            Some(json!({"email": "old4@legacy.example", "connection_id": app.connection_id})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let st = h.state();
    assert_eq!(st.store.get_user(st.tid(), "auth0|4").await.unwrap(), None);
    let api_ticket = ticket_of(b["ticket"].as_str().unwrap());
    let (s, _, html) = submit(&h, &api_ticket, "Ap1-ticket-pass", "Ap1-ticket-pass").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let old4 = st
        .store
        .get_user(st.tid(), "auth0|4")
        .await
        .unwrap()
        .expect("created by the link");
    assert!(old4.credential.is_some());
    let mailed = outbox(&h)
        .await
        .iter()
        .filter(|m| m.to == "old4@legacy.example")
        .map(|m| ticket_of(&link_in(&h, &m.text)))
        .collect::<Vec<_>>();
    let (s, _, _) = submit(&h, &mailed[0], "Th1rd-pass-word", "Th1rd-pass-word").await;
    assert_eq!(s, StatusCode::GONE, "the other link closed");

    // The legacy store goes away: the reset user logs in with the new
    // password, locally; the legacy password no longer works.
    psql(&legacy.url(), "DROP TABLE users");
    assert_eq!(
        login(
            &h,
            &app,
            "legacy-db",
            "old1@legacy.example",
            "Corr3ct-horse"
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        login(&h, &app, "legacy-db", "old1@legacy.example", "hello").await,
        StatusCode::FORBIDDEN
    );

    // Same answer for an unknown email and for a legacy failure; no mail, no user.
    let (s, _, text) = request_reset(&h, &app.client_id, "legacy-db", "old2@legacy.example").await;
    assert_eq!((s, text.as_str()), (StatusCode::OK, SENT));
    assert_eq!(
        outbox(&h).await.len(),
        2,
        "no mail when the legacy store fails"
    );
    let (_, none) = h.api(&t, Method::GET, "/users/auth0%7C2", None).await;
    assert_eq!(none["statusCode"], 404);
    let fcpr = logs(&h, &t, "fcpr").await;
    assert!(
        any_describes(
            &fcpr,
            &["could not be asked (get_user)", "\"users\" does not exist"]
        ),
        "{fcpr:?}"
    );

    // A user Tern knows gets a link without asking the legacy store.
    let (s, _, _) = request_reset(&h, &app.client_id, "legacy-db", "old1@legacy.example").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(outbox(&h).await.len(), 3);
    let scpr = logs(&h, &t, "scpr").await;
    let for_old1: Vec<_> = scpr.iter().filter(|e| e["user_id"] == "auth0|1").collect();
    assert_eq!((scpr.len(), for_old1.len()), (3, 2), "{scpr:?}"); // three of the four simultaneous requests were throttled (fcpr)
    // Newest first: the local request, then the lazy reset.
    assert_eq!(
        for_old1[0]["description"],
        "Success Change Password Request"
    );
    assert!(
        for_old1[1]["description"]
            .as_str()
            .unwrap()
            .contains("the link creates them from its get_user profile")
    );
    let scp = logs(&h, &t, "scp").await;
    assert_eq!(scp.len(), 2, "old1's link and old4's Management API ticket");
    assert!(
        !logs(&h, &t, "fcp").await.is_empty(),
        "the weak password was logged"
    );
    h.stop().await;
}

/// The Management API's tickets: by user_id or by email and connection,
/// `result_url` with Auth0's query, `mark_email_as_verified`, expiry, one
/// reset closing the user's other links, concurrent use, errors.
async fn tickets_api(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    let app = LegacyApp {
        token: t.clone(),
        client_id: cid,
        client_secret: secret,
        connection_id: h.info.connection_id.clone(),
    };
    let db = "Username-Password-Authentication";
    // An apostrophe is valid in an email, and must be escaped in the page.
    let u = h
        .create_user(&t, "o'hara@example.com", "Old-pa55word")
        .await;
    let user_id = u["user_id"].as_str().unwrap().to_string();
    assert_eq!(u["email_verified"], false);

    let ticket = |body: Value| h.api(&t, Method::POST, "/tickets/password-change", Some(body));
    let (s, body) = ticket(
        json!({"user_id": user_id, "result_url": "https://app.example/done?from=reset",
        "mark_email_as_verified": true, "includeEmailInRedirect": true, "ttl_sec": 3600}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (link, token) = ticket_link(&h, &body, "/lo/reset");
    // Only the token's SHA-256 is stored.
    let store = &h.state().store;
    assert!(
        store
            .get_password_ticket(h.state().tid(), &token)
            .await
            .unwrap()
            .is_none()
    );
    let hash = tern_server::reset::token_hash(&token);
    assert!(
        store
            .get_password_ticket(h.state().tid(), &hash)
            .await
            .unwrap()
            .is_some()
    );

    let (s, headers, html) = open_link(&link).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("o&#39;hara@example.com") && !html.contains("o'hara"),
        "{html}"
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("form-action 'self' https://app.example"),
        "the redirect target is allowed after the post"
    );

    // A second link for the same user; the first reset closes it.
    let (_, second) =
        ticket(json!({"email": "O'Hara@example.com", "connection_id": h.info.connection_id})).await;
    let second = ticket_of(second["ticket"].as_str().unwrap());

    let (s, headers, _) = submit(&h, &token, "N3w-password", "N3w-password").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let location = headers["location"].to_str().unwrap();
    assert_eq!(
        location,
        "https://app.example/done?from=reset&success=true&message=You+can+now+login+to+the+application+with+the+new+password.&email=o%27hara%40example.com"
    );
    let (_, u) = h
        .api(
            &t,
            Method::GET,
            &format!("/users/{}", urlencoding::encode(&user_id)),
            None,
        )
        .await;
    assert_eq!(u["email_verified"], true);
    assert_eq!(
        login(&h, &app, db, "o'hara@example.com", "N3w-password").await,
        StatusCode::OK
    );
    assert_eq!(
        login(&h, &app, db, "o'hara@example.com", "Old-pa55word").await,
        StatusCode::FORBIDDEN
    );
    let (s, _, html) = submit(&h, &second, "Th1rd-password", "Th1rd-password").await;
    assert_eq!(s, StatusCode::GONE, "{html}");

    // Of two concurrent submissions of one link, exactly one sets the password.
    let (_, body) = ticket(json!({"user_id": user_id})).await;
    let race = ticket_of(body["ticket"].as_str().unwrap());
    let (a, b2) = tokio::join!(
        submit(&h, &race, "Rac3-one-pw", "Rac3-one-pw"),
        submit(&h, &race, "Rac3-two-pw", "Rac3-two-pw")
    );
    let mut statuses = [a.0, b2.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::GONE]);
    let winner = if a.0 == StatusCode::OK {
        "Rac3-one-pw"
    } else {
        "Rac3-two-pw"
    };
    assert_eq!(
        login(&h, &app, db, "o'hara@example.com", winner).await,
        StatusCode::OK
    );

    // Expiry.
    let (_, body) = ticket(json!({"user_id": user_id, "ttl_sec": 1})).await;
    let short = body["ticket"]
        .as_str()
        .unwrap()
        .replacen(&h.state().public_url, &h.base, 1);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (s, _, html) = open_link(&short).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(html.contains("expired"), "{html}");

    // Unknown and missing tickets.
    let (s, _, html) = open_link(&format!("{}/lo/reset?ticket=nope", h.base)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(html.contains("not valid"));
    let (s, _, _) = open_link(&format!("{}/lo/reset", h.base)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = submit(&h, "nope", "x", "x").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = browser()
        .post(format!("{}/lo/reset", h.base))
        .json(&json!({"ticket": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "only the page's form");

    // Errors in Auth0's envelope.
    let cases = [
        (json!({}), 400, "Missing required property: user_id"),
        (
            json!({"user_id": user_id, "email": "a@b.co", "connection_id": h.info.connection_id}),
            400,
            "not both",
        ),
        (json!({"email": "a@b.co"}), 400, "go together"),
        (
            json!({"user_id": "auth0|nobody"}),
            404,
            "The user does not exist.",
        ),
        (
            json!({"email": "nobody@example.com", "connection_id": h.info.connection_id}),
            404,
            "The user does not exist.",
        ),
        (
            json!({"email": "a@b.co", "connection_id": "con_0000000000000000"}),
            400,
            "does not exist",
        ),
        (
            json!({"email": "a@b.co", "connection_id": "bad"}),
            400,
            "pattern",
        ),
        (
            json!({"user_id": user_id, "result_url": "javascript:alert(1)"}),
            400,
            "http or https",
        ),
        (json!({"user_id": user_id, "ttl_sec": -5}), 400, "ttl_sec"),
        (
            json!({"user_id": user_id, "client_id": "nope"}),
            400,
            "The client does not exist",
        ),
        (
            json!({"user_id": user_id, "organization_id": "org_1"}),
            400,
            "Additional properties not allowed",
        ),
    ];
    for (body, status, msg) in cases {
        let (s, r) = ticket(body.clone()).await;
        assert_eq!(s.as_u16(), status, "{body}: {r}");
        assert!(r["message"].as_str().unwrap().contains(msg), "{body}: {r}");
        assert_eq!(r["statusCode"], status);
    }
    let limited = h
        .m2m_token(
            &h.info.client_id,
            &h.info.client_secret,
            &h.info.audience,
            Some("read:users"),
        )
        .await;
    let (s, r) = h
        .api(
            &limited,
            Method::POST,
            "/tickets/password-change",
            Some(json!({"user_id": user_id})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(r["errorCode"], "insufficient_scope");

    // change_password refuses malformed requests in the OAuth envelope.
    for (body, msg) in [
        (
            json!({"client_id": app.client_id, "connection": db}),
            "Missing required parameter: email",
        ),
        (
            json!({"client_id": app.client_id, "connection": db, "email": "nope"}),
            "not a valid address",
        ),
        (
            json!({"client_id": "nobody", "connection": db, "email": "a@b.co"}),
            "Unknown client",
        ),
        (
            json!({"client_id": app.client_id, "connection": "nope", "email": "a@b.co"}),
            "does not exist",
        ),
        (
            json!({"client_id": app.client_id, "connection": db, "email": "a@b.co", "password": "x"}),
            "Unknown parameter: password",
        ),
    ] {
        let r = h
            .http
            .post(format!("{}/dbconnections/change_password", h.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"], "invalid_request", "{body}: {e}");
        assert!(
            e["error_description"].as_str().unwrap().contains(msg),
            "{body}: {e}"
        );
    }
    h.stop().await;
}

/// `/u/reset-password` is a hosted page like `/u/login`: the tenant's
/// branding, the catalogue's sentences in the language of `ui_locales`
/// (kept across the post) or `Accept-Language`, no script, no framing,
/// `no-store`; the same ticket on `/lo/reset` keeps the classic page.
async fn hosted_reset_page_is_branded_and_translated(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    h.create_user(&t, "lin@example.com", "Old-pa55word").await;
    let (s, body) = h
        .api(
            &t,
            Method::PATCH,
            "/branding",
            Some(json!({"logo_url": "https://cdn.example/logo.png", "colors": {"primary": "#0b6e4f"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    request_reset(
        &h,
        &cid,
        "Username-Password-Authentication",
        "lin@example.com",
    )
    .await;
    let mails = outbox(&h).await;
    let ticket = ticket_of(&link_in(&h, &mails[0].text));
    let hosted = format!("{}/u/reset-password?ticket={ticket}", h.base);

    let r = browser()
        .get(format!("{hosted}&ui_locales=fr-CA"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let headers = r.headers().clone();
    let html = r.text().await.unwrap();
    assert!(html.contains("lang=\"fr\""), "{html}");
    assert!(
        html.contains("Choisissez un nouveau mot de passe"),
        "{html}"
    );
    assert!(html.contains("lin@example.com"));
    assert!(
        html.contains("https://cdn.example/logo.png"),
        "the tenant's logo"
    );
    assert!(html.contains("--primary:#0b6e4f"), "the tenant's colour");
    assert!(html.contains("name=\"ui_locales\" value=\"fr\""));
    assert!(!html.contains("<script"), "no script");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'none'"),
        "{csp}"
    );
    // Accept-Language alone picks French too; English otherwise.
    let r = browser()
        .get(&hosted)
        .header("accept-language", "fr;q=0.9, en;q=0.5")
        .send()
        .await
        .unwrap();
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Choisissez un nouveau mot de passe")
    );
    let html = browser()
        .get(&hosted)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Choose a new password"), "{html}");

    // A mistake: the form again, in the form's language.
    let post = |fields: Vec<(&'static str, String)>| {
        let url = format!("{}/u/reset-password", h.base);
        async move {
            let r = browser().post(url).form(&fields).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (s, html) = post(vec![
        ("ticket", ticket.clone()),
        ("ui_locales", "fr".into()),
        ("newPassword", "Corr3ct-horse".into()),
        ("confirmNewPassword", "Corr3ct-h0rse".into()),
    ])
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("Les deux mots de passe diffèrent"), "{html}");
    assert!(html.contains("role=\"alert\""));
    let (s, html) = post(vec![
        ("ticket", ticket.clone()),
        ("ui_locales", "fr".into()),
        ("newPassword", "Corr3ct-horse".into()),
        ("confirmNewPassword", "Corr3ct-horse".into()),
    ])
    .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("Mot de passe modifié"), "{html}");
    assert!(html.contains("https://cdn.example/logo.png"));
    // Used: the hosted page says so in French, the classic one in English.
    let r = browser()
        .get(format!("{hosted}&ui_locales=fr"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    assert!(r.text().await.unwrap().contains("a déjà servi"));
    let (s, _, html) = open_link(&format!("{}/lo/reset?ticket={ticket}", h.base)).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(
        html.contains("already been used") && !html.contains("cdn.example"),
        "{html}"
    );
    let r = browser()
        .get(format!(
            "{}/u/reset-password?ticket=nope&ui_locales=fr",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("Lien non valide"));
    assert_eq!(
        login(
            &h,
            &LegacyApp {
                token: t.clone(),
                client_id: cid.clone(),
                client_secret: secret.clone(),
                connection_id: String::new()
            },
            "Username-Password-Authentication",
            "lin@example.com",
            "Corr3ct-horse"
        )
        .await,
        StatusCode::OK
    );
    h.stop().await;
}

both_backends!(
    lazy_reset_end_to_end,
    tickets_api,
    hosted_reset_page_is_branded_and_translated
);
