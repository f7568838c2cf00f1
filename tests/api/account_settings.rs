//! `/settings/account`: changing one's password (which signs out every other
//! session at once) and email address, each only with the current password.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{csrf_in, location, on_every_database};

on_every_database! {
    async fn a_password_change_needs_the_old_one_and_signs_out_every_other_session(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("nadia").await;
        let laptop = app.browser();
        assert_eq!(laptop.sign_in("nadia", "long enough").await.status(), StatusCode::SEE_OTHER);
        let phone = app.script();
        phone.json_sign_in("nadia", "long enough").await;
        assert_eq!(phone.get("/files").await.status(), StatusCode::OK);

        let wrong = script.post_json("/settings/password", &csrf, json!({"current_password": "not the one", "new_password": "a new long one"})).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.json::<Value>().await.unwrap()["error"]["code"], "invalid_credentials");
        let short = script.post_json("/settings/password", &csrf, json!({"current_password": "long enough", "new_password": "short"})).await;
        assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(short.json::<Value>().await.unwrap()["error"]["field"], "new_password");
        assert_eq!(phone.get("/files").await.status(), StatusCode::OK, "a refused change ends nothing");

        let changed = script.post_json("/settings/password", &csrf, json!({"current_password": "long enough", "new_password": "a new long one"})).await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(changed.json::<Value>().await.unwrap()["other_sessions_ended"], 2);
        // At once: the other sessions are gone, this one stays.
        assert_eq!(phone.get("/files").await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(location(&laptop.get("/dashboard").await), "/auth/login?next=%2Fdashboard");
        assert_eq!(script.get("/files").await.status(), StatusCode::OK);
        let old = app.script();
        let old_csrf = old.csrf("/auth/login").await;
        let refused = old.post_json("/auth/login", &old_csrf, json!({"username": "nadia", "password": "long enough"})).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "the old password is refused");
        app.script().json_sign_in("nadia", "a new long one").await;

        // The form, as a browser without JavaScript sends it.
        let browser = app.browser();
        browser.sign_in("nadia", "a new long one").await;
        let page = browser.get("/settings/account").await.text().await.unwrap();
        assert!(page.contains("Change password") && page.contains("nadia@example.com"));
        let form = browser.post_form("/settings/password", &[("current_password", "wrong"), ("new_password", "whatever long"), ("csrf_token", &csrf_in(&page))]).await;
        assert_eq!(form.status(), StatusCode::UNAUTHORIZED);
        assert!(form.text().await.unwrap().contains("Incorrect username or password."));
        let form = browser.post_form("/settings/password", &[("current_password", "a new long one"), ("new_password", "the third one"), ("csrf_token", &csrf_in(&page))]).await;
        assert_eq!(form.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&form), "/settings/account");
        assert_eq!(script.get("/files").await.status(), StatusCode::UNAUTHORIZED, "the first script's session ended too");
        assert_eq!(browser.get("/settings/account").await.status(), StatusCode::OK);
    }

    async fn an_email_change_needs_the_password_and_a_free_address(db) {
        let app = db.spawn().await;
        app.signed_in_script("olga").await;
        let (script, csrf) = app.signed_in_script("pavel").await;
        let wrong = script.post_json("/settings/email", &csrf, json!({"email": "pavel@new.example", "password": "not it"})).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let taken = script.post_json("/settings/email", &csrf, json!({"email": "OLGA@example.com", "password": "long enough"})).await;
        assert_eq!(taken.status(), StatusCode::CONFLICT);
        assert_eq!(taken.json::<Value>().await.unwrap()["error"]["code"], "email_taken");
        let invalid = script.post_json("/settings/email", &csrf, json!({"email": "not an address", "password": "long enough"})).await;
        assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let changed = script.post_json("/settings/email", &csrf, json!({"email": "pavel@new.example", "password": "long enough"})).await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(changed.json::<Value>().await.unwrap()["user"]["email"], "pavel@new.example");
        let account: Value = script.get("/settings/account").await.json().await.unwrap();
        assert_eq!(account["user"]["email"], "pavel@new.example");
        // Signing in by email follows the change.
        app.script().json_sign_in("Pavel@New.Example", "long enough").await;
        let old = app.script();
        let old_csrf = old.csrf("/auth/login").await;
        let refused = old.post_json("/auth/login", &old_csrf, json!({"username": "pavel@example.com", "password": "long enough"})).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        // The old address is free again.
        let olga = app.script();
        let csrf = olga.json_sign_in("olga", "long enough").await;
        let moved = olga.post_json("/settings/email", &csrf, json!({"email": "pavel@example.com", "password": "long enough"})).await;
        assert_eq!(moved.status(), StatusCode::OK);
    }

    async fn api_tokens_cannot_change_the_password_or_email(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("quinn").await;
        let made: Value = script.post_json("/settings/tokens", &csrf, json!({"name": "ci"})).await.json().await.unwrap();
        let bearer = format!("Bearer {}", made["token"].as_str().unwrap());
        for (path, body) in [("/settings/password", json!({"current_password": "long enough", "new_password": "taken over"})), ("/settings/email", json!({"email": "evil@example.com", "password": "long enough"}))] {
            let refused = crate::helpers::http_client().post(app.url(path)).header("authorization", &bearer).header("accept", "application/json").json(&body).send().await.unwrap();
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        }
        app.script().json_sign_in("quinn", "long enough").await;
    }
}
