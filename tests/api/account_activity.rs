//! Where an account is signed in, ending those sessions, and the audit
//! trail of what happened to it, with addresses told by trusted proxies only.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Client, on_every_database};

/// A JSON client that names itself `device` and, when given, says it is
/// forwarding for `forwarded_for`.
fn client(base: &str, device: &str, forwarded_for: Option<&str>) -> Client {
    let mut headers = vec![("user-agent", device)];
    headers.extend(forwarded_for.map(|address| ("x-forwarded-for", address)));
    Client::at_with_headers(base.to_owned(), true, &headers)
}

async fn sessions(client: &Client) -> Vec<Value> {
    let listed = client.get("/settings/sessions").await;
    assert_eq!(listed.status(), StatusCode::OK);
    listed.json::<Value>().await.unwrap()["sessions"]
        .as_array()
        .unwrap()
        .clone()
}

async fn events(client: &Client) -> Vec<Value> {
    let listed = client.get("/settings/activity").await;
    assert_eq!(listed.status(), StatusCode::OK);
    listed.json::<Value>().await.unwrap()["events"]
        .as_array()
        .unwrap()
        .clone()
}

on_every_database! {
    async fn sessions_are_listed_with_their_device_and_ended_at_once(db) {
        let app = db.spawn().await;
        let base = app.url("");
        let laptop = client(&base, "Laptop Firefox", None);
        let laptop_csrf = laptop.new_account("wanda").await;
        let phone = client(&base, "Phone Safari", None);
        phone.json_sign_in("wanda", "long enough").await;

        let listed = sessions(&laptop).await;
        assert_eq!(listed.len(), 2);
        let mine = listed.iter().find(|s| s["current"] == true).unwrap();
        assert_eq!(mine["device"], "Laptop Firefox");
        assert_eq!(mine["client_address"], "127.0.0.1");
        let theirs = listed.iter().find(|s| s["current"] == false).unwrap();
        assert_eq!(theirs["device"], "Phone Safari");
        assert!(theirs["signed_in_at"].as_str().unwrap().ends_with('Z'));

        // Ending the phone's session signs it out at its next request.
        let id = theirs["id"].as_str().unwrap();
        let ended = laptop.post_json(&format!("/settings/sessions/{id}/end"), &laptop_csrf, json!({})).await;
        assert_eq!(ended.status(), StatusCode::NO_CONTENT);
        assert_eq!(phone.get("/files").await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(laptop.get("/files").await.status(), StatusCode::OK);
        let again = laptop.post_json(&format!("/settings/sessions/{id}/end"), &laptop_csrf, json!({})).await;
        assert_eq!(again.status(), StatusCode::NOT_FOUND);

        // Another account's session cannot be ended, nor even seen.
        let stranger = client(&base, "Stranger", None);
        let stranger_csrf = stranger.new_account("xena").await;
        let own = sessions(&laptop).await[0]["id"].as_str().unwrap().to_owned();
        let refused = stranger.post_json(&format!("/settings/sessions/{own}/end"), &stranger_csrf, json!({})).await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        assert_eq!(sessions(&stranger).await.len(), 1);

        // Signing out everywhere ends this session too.
        phone.json_sign_in("wanda", "long enough").await;
        let everywhere = laptop.post_json("/settings/sessions/end-all", &laptop_csrf, json!({})).await;
        assert_eq!(everywhere.status(), StatusCode::OK);
        assert_eq!(everywhere.json::<Value>().await.unwrap()["sessions_ended"], 2);
        assert_eq!(laptop.get("/files").await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(phone.get("/files").await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(stranger.get("/files").await.status(), StatusCode::OK);
    }
}

on_every_database! {
    async fn the_audit_trail_records_each_event_with_its_address_and_device(db) {
        let app = db.spawn().await;
        let base = app.url("");
        let me = client(&base, "Desk", None);
        let csrf = me.new_account("yusuf").await;

        // A wrong password, from an address a trusted proxy (loopback) names.
        let proxied = client(&base, "Proxied", Some("198.51.100.4, 203.0.113.9"));
        let login_csrf = proxied.csrf("/auth/login").await;
        let refused = proxied.post_json("/auth/login", &login_csrf, json!({"username": "yusuf", "password": "not it"})).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

        let token = me.post_json("/settings/tokens", &csrf, json!({"name": "backup script"})).await;
        let token_id = token.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let revoked = me.http.delete(me.url(&format!("/settings/tokens/{token_id}"))).header("x-csrf-token", &csrf).send().await.unwrap();
        assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
        let changed = me.post_json("/settings/email", &csrf, json!({"email": "yusuf@example.org", "password": "long enough"})).await;
        assert_eq!(changed.status(), StatusCode::OK);
        let changed = me.post_json("/settings/password", &csrf, json!({"current_password": "long enough", "new_password": "longer still"})).await;
        assert_eq!(changed.status(), StatusCode::OK);
        let stored: Value = me.upload(&csrf, &[("minutes.txt", b"kept a moment")]).await.json().await.unwrap();
        let file = stored["files"][0]["id"].as_i64().unwrap();
        let deleted = me.http.delete(me.url(&format!("/files/{file}"))).header("x-csrf-token", &csrf).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

        let mut trail = events(&me).await;
        assert_eq!(trail[0]["event"], "file_deleted");
        assert_eq!(trail[0]["detail"], format!("file {file}: minutes.txt"));
        trail.remove(0);
        let kinds: Vec<&str> = trail.iter().map(|e| e["event"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["password_changed", "email_changed", "token_revoked", "token_created", "sign_in_refused", "signed_in"],
            "newest first: {trail:?}"
        );
        let refusal = &trail[4];
        assert_eq!(refusal["client_address"], "203.0.113.9", "the hop the trusted proxy saw, not the forged one");
        assert_eq!(refusal["device"], "Proxied");
        assert_eq!(refusal["detail"], "wrong password");
        assert_eq!(trail[5]["client_address"], "127.0.0.1");
        assert_eq!(trail[5]["device"], "Desk");
        assert_eq!(trail[3]["detail"], "backup script");
        assert_eq!(trail[1]["detail"], "from yusuf@example.com to yusuf@example.org");
        assert!(trail[0]["at"].as_str().unwrap().ends_with('Z'));

        // Each account sees only its own trail.
        let other = client(&base, "Other", None);
        other.new_account("zora").await;
        let theirs = events(&other).await;
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0]["event"], "signed_in");
    }
}

on_every_database! {
    async fn forwarded_addresses_are_believed_only_from_trusted_proxies(db) {
        let app = db.spawn_with(&[("TRUSTED_PROXIES", "none")]).await;
        let base = app.url("");
        let me = client(&base, "Desk", Some("203.0.113.9"));
        me.new_account("abel").await;
        let listed = sessions(&me).await;
        assert_eq!(listed[0]["client_address"], "127.0.0.1");
        assert_eq!(events(&me).await[0]["client_address"], "127.0.0.1");
    }
}

on_every_database! {
    async fn two_factor_changes_and_session_ends_are_in_the_trail_and_the_pages_show_them(db) {
        let app = db.spawn().await;
        let base = app.url("");
        let me = client(&base, "Desk", None);
        let csrf = me.new_account("bruno").await;
        let setup: Value = me.post_json("/settings/two-factor/setup", &csrf, json!({})).await.json().await.unwrap();
        let code = crate::helpers::totp_code(setup["secret"].as_str().unwrap(), crate::helpers::unix_now());
        let confirmed: Value = me.post_json("/settings/two-factor/confirm", &csrf, json!({"code": code})).await.json().await.unwrap();
        let recovery = confirmed["recovery_codes"][0].as_str().unwrap().to_owned();
        let off = me.post_json("/settings/two-factor/disable", &csrf, json!({"password": "long enough", "code": recovery})).await;
        assert_eq!(off.status(), StatusCode::OK);
        let kinds: Vec<String> = events(&me).await.iter().map(|e| e["event"].as_str().unwrap().to_owned()).collect();
        assert_eq!(kinds[..2], ["two_factor_off", "two_factor_on"]);

        // The pages, as a browser sees them.
        let browser = app.browser();
        browser.sign_in("bruno", "long enough").await;
        let page = browser.get("/settings/sessions").await.text().await.unwrap();
        assert!(page.contains("Desk") && page.contains("(this one)"), "{page}");
        let page = browser.get("/settings/activity").await.text().await.unwrap();
        assert!(page.contains("Two-factor sign-in turned on") && page.contains("127.0.0.1"), "{page}");
        let page = browser.get("/settings/account").await.text().await.unwrap();
        assert!(page.contains(r#"href="/settings/sessions""#) && page.contains(r#"href="/settings/activity""#));
    }
}
