//! Personal API tokens: created and revoked in the browser, used by scripts.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{csrf_in, location, on_every_database};

fn token_in(html: &str) -> String {
    let pattern = regex_lite::Regex::new(r"(sst_[A-Za-z0-9_-]{43})").unwrap();
    pattern.captures(html).expect("the new token is shown")[1].to_owned()
}

on_every_database! {
    async fn a_token_made_in_the_browser_works_for_scripts_until_revoked(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        browser.register("cleo", "cleo@example.com", "long enough").await;
        browser.sign_in("cleo", "long enough").await;
        let csrf = csrf_in(&browser.get("/settings/tokens").await.text().await.unwrap());
        let created = browser.post_form("/settings/tokens", &[("name", "backup script"), ("csrf_token", &csrf)]).await;
        // Post, redirect, show once: reloading the page makes no second token.
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&created), "/settings/tokens");
        assert!(!created.text().await.unwrap().contains("sst_"), "the token is not in the POST's answer");
        let shown = browser.get("/settings/tokens").await.text().await.unwrap();
        let token = token_in(&shown);
        assert!(shown.contains(&format!("Authorization: Bearer {token}")), "with a curl example");
        assert_eq!(db.count("api_tokens").await, 1);
        let listing = browser.get("/settings/tokens").await.text().await.unwrap();
        assert!(listing.contains("backup script") && !listing.contains(&token), "shown once, never again");
        assert_eq!(db.count("api_tokens").await, 1);

        // The script needs no cookie and no CSRF token.
        let script = crate::helpers::http_client();
        let bearer = format!("Bearer {token}");
        let form = reqwest::multipart::Form::new()
            .part("files", reqwest::multipart::Part::bytes(b"%PDF-1.7\n".to_vec()).file_name("a.pdf"))
            .part("files", reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("b.txt"));
        let uploaded = script.post(app.url("/upload")).header("authorization", &bearer).header("accept", "application/json").multipart(form).send().await.unwrap();
        assert_eq!(uploaded.status(), StatusCode::CREATED);
        let body: Value = uploaded.json().await.unwrap();
        let id = body["files"][1]["id"].as_i64().unwrap();
        let listed: Value = script.get(app.url("/files")).header("authorization", &bearer).header("accept", "application/json").send().await.unwrap().json().await.unwrap();
        assert_eq!(listed["files"].as_array().unwrap().len(), 2);
        let content = script.get(app.url(&format!("/files/{id}/download"))).header("authorization", &bearer).send().await.unwrap();
        assert_eq!(content.bytes().await.unwrap(), "hello");
        let deleted = script.delete(app.url(&format!("/files/{id}"))).header("authorization", &bearer).header("accept", "application/json").send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

        // Revoked in the browser: refused at once.
        let page = browser.get("/settings/tokens").await.text().await.unwrap();
        let token_id = regex_lite::Regex::new(r"/settings/tokens/(\d+)/revoke").unwrap().captures(&page).unwrap()[1].to_owned();
        let revoked = browser.post_form(&format!("/settings/tokens/{token_id}/revoke"), &[("csrf_token", &csrf_in(&page))]).await;
        assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&revoked), "/settings/tokens");
        let refused = script.get(app.url("/files")).header("authorization", &bearer).header("accept", "application/json").send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert!(refused.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "invalid_token");
    }

    async fn tokens_are_stored_hashed_and_confined_to_their_owner(db) {
        let app = db.spawn().await;
        let (owner, owner_csrf) = app.signed_in_script("dora").await;
        let created = owner.post_json("/settings/tokens", &owner_csrf, serde_json::json!({"name": "ci"})).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let created: Value = created.json().await.unwrap();
        let token = created["token"].as_str().unwrap().to_owned();
        assert_eq!(db.count("api_tokens").await, 1);
        let listed: Value = owner.get("/settings/tokens").await.json().await.unwrap();
        assert!(listed["tokens"][0].get("token").is_none());
        assert!(!listed.to_string().contains(&token));

        let (other, other_csrf) = app.signed_in_script("eddy").await;
        let stored: Value = other.upload(&other_csrf, &[("theirs.txt", b"theirs")]).await.json().await.unwrap();
        let theirs = stored["files"][0]["id"].as_i64().unwrap();

        let http = crate::helpers::http_client();
        let with = |token: &str, path: &str| {
            http.get(app.url(path)).header("authorization", format!("Bearer {token}")).header("accept", "application/json").send()
        };
        assert_eq!(with(&token, &format!("/files/{theirs}")).await.unwrap().status(), StatusCode::NOT_FOUND);
        assert_eq!(with(&token, "/settings/tokens").await.unwrap().status(), StatusCode::FORBIDDEN, "a token cannot manage tokens");
        for bad in ["sst_nope", "not-a-token", &format!("{}x", &token[..token.len() - 1])] {
            assert_eq!(with(bad, "/files").await.unwrap().status(), StatusCode::UNAUTHORIZED, "{bad}");
        }
        let basic = http.get(app.url("/files")).header("authorization", "Basic Zm9vOmJhcg==").header("accept", "application/json").send().await.unwrap();
        assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    }
}
