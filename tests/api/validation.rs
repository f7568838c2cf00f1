//! Bad input: the fitting status, a clear message, and nothing stored.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{location, on_every_database};

on_every_database! {
    async fn malformed_emails_and_short_passwords_are_invalid_fields(db) {
        let app = db.spawn().await;
        let script = app.script();
        let csrf = script.csrf("/auth/register").await;
        for (body, field) in [
            (json!({"username": "gina", "email": "not-an-email", "password": "long enough"}), "email"),
            (json!({"username": "gina", "email": "gina@example.com", "password": "short"}), "password"),
            (json!({"username": "g", "email": "gina@example.com", "password": "long enough"}), "username"),
            (json!({"username": "gi na", "email": "gina@example.com", "password": "long enough"}), "username"),
        ] {
            let response = script.post_json("/auth/register", &csrf, body).await;
            assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let error: Value = response.json().await.unwrap();
            assert_eq!(error["error"]["code"], "invalid_field");
            assert_eq!(error["error"]["field"], field);
            assert!(error["error"]["message"].as_str().unwrap().ends_with('.'));
        }

        let browser = app.browser();
        let csrf = browser.csrf("/auth/register").await;
        let page = browser
            .post_form("/auth/register", &[("username", "gina"), ("email", "nope"), ("password", "short"), ("csrf_token", &csrf)])
            .await;
        assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = page.text().await.unwrap();
        assert!(html.contains("Enter an email address") && html.contains("at least 8 characters"));
        assert!(html.contains(r#"value="gina""#), "what the user typed is kept");
        assert_eq!(db.count("users").await, 0);
    }

    async fn bodies_over_the_limit_are_refused_without_a_server_error(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        let csrf = browser.csrf("/auth/register").await;
        let huge = "x".repeat(10 * 1024 * 1024);
        let response = browser
            .post_form("/auth/register", &[("csrf_token", &csrf), ("username", &huge), ("email", "h@example.com"), ("password", "long enough")])
            .await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

        let script = app.script();
        let csrf = script.csrf("/auth/register").await;
        let response = script
            .post_json("/auth/register", &csrf, json!({"username": "x".repeat(100 * 1024), "email": "h@example.com", "password": "long enough"}))
            .await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "payload_too_large");
        assert_eq!(db.count("users").await, 0);
    }

    async fn sign_in_only_returns_to_paths_on_this_site(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        browser.register("hank", "hank@example.com", "long enough").await;
        for (next, expected) in [
            ("//evil.example", "/dashboard"),
            ("https://evil.example", "/dashboard"),
            ("/\\evil.example", "/dashboard"),
            ("/dashboard?tab=recent", "/dashboard?tab=recent"),
        ] {
            let page = browser.get(&format!("/auth/login?next={}", urlencode(next))).await.text().await.unwrap();
            assert!(!page.contains("evil.example"), "a foreign next is not even put in the form");
            let csrf = crate::helpers::csrf_in(&page);
            let response = browser
                .post_form("/auth/login", &[("username", "hank"), ("password", "long enough"), ("csrf_token", &csrf), ("next", next)])
                .await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            assert_eq!(location(&response), expected, "next={next}");
            let csrf = crate::helpers::csrf_in(&browser.get("/dashboard").await.text().await.unwrap());
            browser.post_form("/auth/logout", &[("csrf_token", &csrf)]).await;
        }
    }

    async fn malformed_and_unsupported_bodies_are_client_errors(db) {
        let app = db.spawn().await;
        let script = app.script();
        let csrf = script.csrf("/auth/login").await;
        let broken = script
            .http
            .post(script.url("/auth/login"))
            .header("x-csrf-token", &csrf)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
        assert_eq!(broken.json::<Value>().await.unwrap()["error"]["code"], "bad_request");
        let xml = script
            .http
            .post(script.url("/auth/login"))
            .header("x-csrf-token", &csrf)
            .header("content-type", "application/xml")
            .body("<login/>")
            .send()
            .await
            .unwrap();
        assert_eq!(xml.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
