//! Deleting an account: asked with the password and the second factor; its
//! files leave storage (a content another account stored stays), its
//! receipts still verify, the log keeps its entries.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Client, on_every_database};

async fn receipt(client: &Client, id: i64) -> Vec<u8> {
    for _ in 0..100 {
        let answer = client.get(&format!("/files/{id}/receipt")).await;
        if answer.status() == StatusCode::OK {
            return answer.bytes().await.unwrap().to_vec();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no receipt for file {id}");
}

on_every_database! {
    async fn a_deleted_accounts_files_leave_storage_and_its_receipts_still_verify(db) {
        let app = db.spawn().await;
        let (carla, csrf) = app.signed_in_script("carla").await;
        let (dario, dario_csrf) = app.signed_in_script("dario").await;
        let stored = carla.upload(&csrf, &[("mine.txt", b"only carla has this"), ("shared.txt", b"both have this")]).await;
        assert_eq!(stored.status(), StatusCode::CREATED);
        let stored: Value = stored.json().await.unwrap();
        let mine = stored["files"][0]["id"].as_i64().unwrap();
        assert_eq!(dario.upload(&dario_csrf, &[("copy.txt", b"both have this")]).await.status(), StatusCode::CREATED);
        let kept_receipt = receipt(&carla, mine).await;
        let entries = db.count("log_entries").await;

        // Two-factor sign-in on: deleting asks for a code as well.
        let setup: Value = carla.post_json("/settings/two-factor/setup", &csrf, json!({})).await.json().await.unwrap();
        let code = crate::helpers::totp_code(setup["secret"].as_str().unwrap(), crate::helpers::unix_now());
        let confirmed: Value = carla.post_json("/settings/two-factor/confirm", &csrf, json!({"code": code})).await.json().await.unwrap();
        let recovery = confirmed["recovery_codes"][0].as_str().unwrap().to_owned();

        let delete = |password: &str, code: &str| carla.post_json("/settings/account/delete", &csrf, json!({"password": password, "code": code}));
        assert_eq!(delete("not it", &recovery).await.status(), StatusCode::UNAUTHORIZED);
        let no_code = delete("long enough", "").await;
        assert_eq!(no_code.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(no_code.json::<Value>().await.unwrap()["error"]["code"], "invalid_code");
        assert_eq!(db.count("users").await, 2, "nothing deleted yet");

        let deleted = delete("long enough", &recovery).await;
        assert_eq!(deleted.status(), StatusCode::OK);
        assert_eq!(deleted.json::<Value>().await.unwrap()["files_deleted"], 2);
        assert_eq!(carla.get("/files").await.status(), StatusCode::UNAUTHORIZED, "its session is gone");
        let again = Client::at(app.url(""), true);
        let login_csrf = again.csrf("/auth/login").await;
        let refused = again.post_json("/auth/login", &login_csrf, json!({"username": "carla", "password": "long enough"})).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

        // Its own content left storage; the one dario stored too stayed.
        assert_eq!(app.stored_contents(&db).await, 1);
        let listed: Value = dario.get("/files").await.json().await.unwrap();
        let copy = listed["files"][0]["id"].as_i64().unwrap();
        let download = dario.get(&format!("/files/{copy}/download")).await;
        assert_eq!(download.bytes().await.unwrap(), &b"both have this"[..]);
        for table in ["totp_credentials", "recovery_codes"] {
            assert_eq!(db.count(table).await, 0, "{table} went with the account");
        }
        assert_eq!(db.count("users").await, 1);

        // The log keeps every entry, and the kept receipt still verifies.
        assert_eq!(db.count("log_entries").await, entries);
        let verdict: Value = dario.verify(&kept_receipt, "mine.txt", b"only carla has this").await.json().await.unwrap();
        assert_eq!(verdict["all_hold"], true, "{verdict}");
        assert_eq!(verdict["issued_by_this_server"], true);
    }
}

on_every_database! {
    async fn deleting_an_account_is_asked_on_a_page_of_its_own_and_works_without_javascript(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        browser.register("elio", "elio@example.com", "long enough").await;
        browser.sign_in("elio", "long enough").await;
        let page = browser.get("/settings/account").await.text().await.unwrap();
        assert!(page.contains(r#"href="/settings/account/delete""#));
        let page = browser.get("/settings/account/delete").await.text().await.unwrap();
        assert!(page.contains("stay in the public transparency log"), "{page}");
        assert!(!page.contains(r#"id="code""#), "no code is asked without two-factor sign-in");
        let csrf = crate::helpers::csrf_in(&page);
        let wrong = browser.post_form("/settings/account/delete", &[("csrf_token", &csrf), ("password", "nope")]).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert!(wrong.text().await.unwrap().contains("Incorrect"));
        let deleted = browser.post_form("/settings/account/delete", &[("csrf_token", &csrf), ("password", "long enough")]).await;
        assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
        assert_eq!(crate::helpers::location(&deleted), "/");
        let home = browser.get("/").await.text().await.unwrap();
        assert!(home.contains("were deleted"), "{home}");
        assert_eq!(browser.get("/dashboard").await.status(), StatusCode::SEE_OTHER, "signed out");
        assert_eq!(db.count("users").await, 0);
    }
}
