//! Registering, signing in and out, in a browser and from a script.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{location, on_every_database};

on_every_database! {
    async fn a_browser_registers_signs_in_sees_the_dashboard_and_signs_out(db) {
        let app = db.spawn().await;
        let browser = app.browser();

        browser.register("alice", "alice@example.com", "correct horse battery").await;
        let login_page = browser.get("/auth/login").await.text().await.unwrap();
        assert!(login_page.contains("Your account is ready"), "the flash message is shown once");
        let again = browser.get("/auth/login").await.text().await.unwrap();
        assert!(!again.contains("Your account is ready"), "and only once");

        let signed_in = browser.sign_in("alice", "correct horse battery").await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&signed_in), "/dashboard");

        let dashboard = browser.get("/dashboard").await;
        assert_eq!(dashboard.status(), StatusCode::OK);
        let page = dashboard.text().await.unwrap();
        assert!(page.contains("alice") && page.contains("Your files"), "{page}");

        let csrf = crate::helpers::csrf_in(&page);
        let signed_out = browser.post_form("/auth/logout", &[("csrf_token", &csrf)]).await;
        assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
        let after = browser.get("/dashboard").await;
        assert_eq!(after.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&after), "/auth/login?next=%2Fdashboard");
        assert_eq!(db.count("sessions").await, 0, "the session row is gone");
    }

    async fn a_script_registers_and_signs_in_with_json(db) {
        let app = db.spawn().await;
        let script = app.script();
        let csrf = script.csrf("/auth/login").await;

        let created = script
            .post_json("/auth/register", &csrf, json!({"username": "bot", "email": "bot@example.com", "password": "long enough"}))
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let body: Value = created.json().await.unwrap();
        assert_eq!(body["user"]["username"], "bot");
        assert!(body["user"].get("password_hash").is_none());

        let signed_in = script.post_json("/auth/login", &csrf, json!({"username": "BOT", "password": "long enough"})).await;
        assert_eq!(signed_in.status(), StatusCode::OK);
        let body: Value = signed_in.json().await.unwrap();
        let session_csrf = body["csrf_token"].as_str().unwrap().to_owned();
        assert_ne!(session_csrf, csrf, "signing in binds a new token to the new session");

        let dashboard: Value = script.get("/dashboard").await.json().await.unwrap();
        assert_eq!(dashboard["user"]["email"], "bot@example.com");
        assert_eq!(dashboard["files"], json!([]));

        let stale = script.post_json("/auth/logout", &csrf, json!({})).await;
        assert_eq!(stale.status(), StatusCode::FORBIDDEN, "the pre-session token is no longer valid");
        let signed_out = script.post_json("/auth/logout", &session_csrf, json!({})).await;
        assert_eq!(signed_out.status(), StatusCode::OK);

        let refused = script.get("/dashboard").await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated");
    }

    async fn users_sign_in_with_their_email_in_any_case(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        browser.register("Carol", "Carol@Example.com", "password one two").await;
        let response = browser.sign_in("carol@EXAMPLE.com", "password one two").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let page = browser.get("/dashboard").await.text().await.unwrap();
        assert!(page.contains("Carol"));
    }

    async fn duplicate_usernames_and_emails_are_conflicts(db) {
        let app = db.spawn().await;
        let script = app.script();
        let csrf = script.csrf("/auth/register").await;
        let register = |username: &'static str, email: &'static str| {
            script.post_json("/auth/register", &csrf, json!({"username": username, "email": email, "password": "long enough"}))
        };
        assert_eq!(register("dave", "dave@example.com").await.status(), StatusCode::CREATED);

        let same_name = register("DAVE", "other@example.com").await;
        assert_eq!(same_name.status(), StatusCode::CONFLICT);
        assert_eq!(same_name.json::<Value>().await.unwrap()["error"]["code"], "username_taken");

        let same_email = register("david", "Dave@Example.com").await;
        assert_eq!(same_email.status(), StatusCode::CONFLICT);
        assert_eq!(same_email.json::<Value>().await.unwrap()["error"]["code"], "email_taken");
        assert_eq!(db.count("users").await, 1);

        let browser = app.browser();
        let csrf = browser.csrf("/auth/register").await;
        let page = browser
            .post_form("/auth/register", &[("username", "dave"), ("email", "x@example.com"), ("password", "long enough"), ("csrf_token", &csrf)])
            .await;
        assert_eq!(page.status(), StatusCode::CONFLICT);
        assert!(page.text().await.unwrap().contains("already taken"));
        assert_eq!(db.count("users").await, 1);
    }

    async fn wrong_passwords_and_unknown_users_get_the_same_answer(db) {
        let app = db.spawn().await;
        let script = app.script();
        let csrf = script.csrf("/auth/login").await;
        script
            .post_json("/auth/register", &csrf, json!({"username": "erin", "email": "erin@example.com", "password": "the right one"}))
            .await;

        let wrong = script.post_json("/auth/login", &csrf, json!({"username": "erin", "password": "the wrong one"})).await;
        let unknown = script.post_json("/auth/login", &csrf, json!({"username": "nobody", "password": "the wrong one"})).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.json::<Value>().await.unwrap(), unknown.json::<Value>().await.unwrap());
        assert_eq!(db.count("sessions").await, 0);

        let browser = app.browser();
        let page = browser.sign_in("erin", "the wrong one").await;
        assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
        assert!(page.text().await.unwrap().contains("Incorrect username or password."));
    }

    async fn quotes_and_sql_metacharacters_are_stored_literally(db) {
        let app = db.spawn().await;
        let script = app.script();
        let csrf = script.csrf("/auth/register").await;
        let username = r#"O'Brien";--DROP"#;
        let email = "o'brien+x@example.com";
        let password = r#"pa'ss"word; DROP TABLE users;--"#;
        let created = script
            .post_json("/auth/register", &csrf, json!({"username": username, "email": email, "password": password}))
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);

        let signed_in = script.post_json("/auth/login", &csrf, json!({"username": username, "password": password})).await;
        assert_eq!(signed_in.status(), StatusCode::OK);
        let dashboard: Value = script.get("/dashboard").await.json().await.unwrap();
        assert_eq!(dashboard["user"]["username"], username);
        assert_eq!(dashboard["user"]["email"], email);
        assert_eq!(db.count("users").await, 1);

        let browser = app.browser();
        browser.sign_in(email, password).await;
        let page = browser.get("/dashboard").await.text().await.unwrap();
        assert!(!page.contains(username), "the name is escaped in HTML");
        assert!(page.contains("O&#39;Brien&#34;;--DROP") || page.contains("O&#x27;Brien&quot;;--DROP"), "{page}");
    }
}

on_every_database! {
    async fn repeated_failures_for_one_name_are_rate_limited(db) {
        crate::helpers::clear_of_window_edges().await;
        let app = db.spawn().await;
        let script = app.script();
        let csrf = script.csrf("/auth/login").await;
        script
            .post_json("/auth/register", &csrf, json!({"username": "nina", "email": "nina@example.com", "password": "the right one"}))
            .await;
        for _ in 0..10 {
            let wrong = script.post_json("/auth/login", &csrf, json!({"username": "nina", "password": "a wrong one"})).await;
            assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        }
        let limited = script.post_json("/auth/login", &csrf, json!({"username": "NINA", "password": "the right one"})).await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
        assert!(limited.headers().contains_key("retry-after"));
        assert_eq!(limited.json::<Value>().await.unwrap()["error"]["code"], "rate_limited");
        assert_eq!(db.count("sessions").await, 0);

        // Another process sees the same counter; another name is unaffected.
        let second = db.spawn().await;
        let other = second.script();
        let csrf = other.csrf("/auth/login").await;
        let elsewhere = other.post_json("/auth/login", &csrf, json!({"username": "nina", "password": "the right one"})).await;
        assert_eq!(elsewhere.status(), StatusCode::TOO_MANY_REQUESTS);
        let stranger = other.post_json("/auth/login", &csrf, json!({"username": "nobody", "password": "whatever"})).await;
        assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);

        // The window passes.
        db.execute("UPDATE rate_limits SET window_start = window_start - 3600").await;
        let later = other.post_json("/auth/login", &csrf, json!({"username": "nina", "password": "the right one"})).await;
        assert_eq!(later.status(), StatusCode::OK);
    }
}

on_every_database! {
    async fn guesses_sent_all_at_once_are_counted_before_any_is_checked(db) {
        crate::helpers::clear_of_window_edges().await;
        let app = db.spawn().await;
        let script = app.script();
        let csrf = script.csrf("/auth/login").await;
        script
            .post_json("/auth/register", &csrf, json!({"username": "rita", "email": "rita@example.com", "password": "the right one"}))
            .await;
        let guess = json!({"username": "rita", "password": "a wrong one"});
        let guesses = (0..60).map(|_| script.post_json("/auth/login", &csrf, guess.clone()));
        let answers = futures_util::future::join_all(guesses).await;
        let mut checked = 0;
        for answer in answers {
            match answer.status() {
                StatusCode::UNAUTHORIZED => checked += 1,
                // Refused unchecked: the limit, or hashing workers too busy.
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {}
                other => panic!("a guess got {other}"),
            }
        }
        assert!(checked <= 10, "{checked} guesses were checked, the limit is 10");
        // Whatever was not checked for being busy may still be tried.
        for _ in checked..10 {
            let wrong = script.post_json("/auth/login", &csrf, guess.clone()).await;
            assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        }
        let right = json!({"username": "rita", "password": "the right one"});
        let limited = script.post_json("/auth/login", &csrf, right).await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
        assert_eq!(db.count("sessions").await, 0);
    }
}

on_every_database! {
    async fn username_and_email_share_one_allowance(db) {
        crate::helpers::clear_of_window_edges().await;
        let app = db.spawn().await;
        let script = app.script();
        let csrf = script.csrf("/auth/login").await;
        script
            .post_json("/auth/register", &csrf, json!({"username": "sara", "email": "sara@example.com", "password": "the right one"}))
            .await;
        for login in ["sara", "SARA@example.com"].iter().cycle().take(10) {
            let wrong = script.post_json("/auth/login", &csrf, json!({"username": login, "password": "a wrong one"})).await;
            assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        }
        for login in ["sara", "sara@example.com"] {
            let limited = script.post_json("/auth/login", &csrf, json!({"username": login, "password": "the right one"})).await;
            assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "{login}");
        }
    }
}

/// Names that would pass for `alice` are hers (and so taken) or refused;
/// she signs in by any form of her name.
#[tokio::test]
async fn names_that_look_like_another_are_the_same_name_or_refused() {
    let Some(db) = crate::helpers::Database::create(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let app = db.spawn().await;
    let script = app.script();
    let csrf = script.csrf("/auth/register").await;
    let register = |name: &str, n: usize| json!({"username": name, "email": format!("a{n}@example.com"), "password": "long enough"});
    let created = script
        .post_json("/auth/register", &csrf, register("alice", 0))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    for (n, same) in ["ａｌｉｃｅ", "ALICE", "alice\u{feff}"]
        .into_iter()
        .enumerate()
    {
        let answer = script
            .post_json("/auth/register", &csrf, register(same, n + 1))
            .await;
        assert!(
            matches!(
                answer.status(),
                StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY
            ),
            "{same:?}: {}",
            answer.status()
        );
    }
    for (n, lookalike) in [
        "\u{430}lice",
        "\u{3164}\u{3164}\u{3164}",
        "\u{2800}\u{2800}\u{2800}",
    ]
    .into_iter()
    .enumerate()
    {
        let answer = script
            .post_json("/auth/register", &csrf, register(lookalike, n + 10))
            .await;
        assert_eq!(
            answer.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{lookalike:?}"
        );
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_field");
    }
    assert_eq!(db.count("users").await, 1);
    let signed_in = script
        .post_json(
            "/auth/login",
            &csrf,
            json!({"username": "ａｌｉｃｅ", "password": "long enough"}),
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::OK);
}

/// More sign-ins at once than there are password workers and queue places:
/// the extra ones are refused at once with 503 and `Retry-After`, none waits
/// holding memory, and the right password still signs in afterwards.
#[tokio::test]
async fn sign_ins_beyond_the_password_workers_are_refused_with_retry_after() {
    let Some(db) = crate::helpers::Database::create(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let app = db
        .spawn_with(&[("PASSWORD_WORKERS", "1"), ("PASSWORD_QUEUE", "1")])
        .await;
    let script = app.script();
    let csrf = script.csrf("/auth/login").await;
    let body =
        json!({"username": "olga", "email": "olga@example.com", "password": "the right one"});
    let created = script.post_json("/auth/register", &csrf, body).await;
    assert_eq!(created.status(), StatusCode::CREATED);

    let attempt = json!({"username": "olga", "password": "the right one"});
    let attempts = (0..8).map(|_| script.post_json("/auth/login", &csrf, attempt.clone()));
    let answers = futures_util::future::join_all(attempts).await;
    let mut refused = 0;
    for answer in answers {
        match answer.status() {
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                assert_eq!(answer.headers()["retry-after"], "1");
                let body: Value = answer.json().await.unwrap();
                assert_eq!(body["error"]["code"], "service_unavailable");
            }
            other => panic!("unexpected {other}"),
        }
    }
    // One worker and one place in its queue: at most two of eight get in.
    assert!(refused >= 6, "{refused} of 8 refused");

    // The workers carry on: the right password signs in once the crowd is
    // gone (a busy answer may still come while a loaded machine catches up,
    // so a few are allowed, each after its `Retry-After`).
    let later = app.script();
    let csrf = later.csrf("/auth/login").await;
    for _ in 0..5 {
        let signed_in = later.post_json("/auth/login", &csrf, attempt.clone()).await;
        let status = signed_in.status();
        let body = signed_in.text().await.unwrap_or_default();
        match status {
            StatusCode::OK => return,
            StatusCode::SERVICE_UNAVAILABLE => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await
            }
            other => panic!("a sign-in after the crowd got {other}: {body}"),
        }
    }
    panic!("the password workers stayed busy after every sign-in had been answered");
}
