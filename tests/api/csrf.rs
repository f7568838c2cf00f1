//! Every state-changing request needs its CSRF token and a same-site origin.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::on_every_database;

const FIELDS: [(&str, &str); 3] = [
    ("username", "mallory"),
    ("email", "m@example.com"),
    ("password", "long enough"),
];

on_every_database! {
    async fn a_form_without_its_token_is_refused_and_nothing_is_stored(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        browser.csrf("/auth/register").await;
        let response = browser.post_form("/auth/register", &FIELDS).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.text().await.unwrap().contains("security token"));

        let script = app.script();
        let response = script.http.post(script.url("/auth/register")).json(&json!({"username": "mallory"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "csrf_failed");
        assert_eq!(db.count("users").await, 0);
    }

    async fn a_token_from_another_visitor_is_refused(db) {
        let app = db.spawn().await;
        let attacker = app.browser();
        let victim = app.browser();
        let foreign = attacker.csrf("/auth/register").await;
        victim.csrf("/auth/register").await;
        let mut fields = FIELDS.to_vec();
        fields.push(("csrf_token", &foreign));
        let response = victim.post_form("/auth/register", &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(db.count("users").await, 0);
    }

    async fn cross_site_requests_are_refused_even_with_a_valid_token(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        let csrf = browser.csrf("/auth/register").await;
        let mut fields = FIELDS.to_vec();
        fields.push(("csrf_token", &csrf));
        for (header, value) in [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site"), ("sec-fetch-site", "same-site")] {
            let response = browser.http.post(browser.url("/auth/register")).header(header, value).form(&fields).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{header}: {value}");
        }
        assert_eq!(db.count("users").await, 0);
        let accepted = browser.post_form("/auth/register", &fields).await;
        assert_eq!(accepted.status(), StatusCode::SEE_OTHER, "the same request from the same origin works");
    }

    async fn signing_out_by_post_needs_the_session_token(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        browser.register("frank", "frank@example.com", "long enough").await;
        browser.sign_in("frank", "long enough").await;
        let refused = browser.post_form("/auth/logout", &[("csrf_token", "forged")]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(browser.get("/dashboard").await.status(), StatusCode::OK, "still signed in");
    }
}
