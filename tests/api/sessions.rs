//! Sessions live in the database: shared by processes, renewed at sign-in,
//! ended by idleness, age or sign-out.

use reqwest::StatusCode;

use crate::helpers::{location, on_every_database, set_cookies};

fn session_cookie(cookies: &[String]) -> Option<String> {
    cookies
        .iter()
        .find(|cookie| cookie.starts_with("session=") || cookie.starts_with("__Host-session="))
        .map(|cookie| cookie.split(';').next().unwrap_or_default().to_owned())
}

on_every_database! {
    async fn signing_in_issues_a_new_session_and_retires_the_old_one(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        browser.register("ivy", "ivy@example.com", "long enough").await;
        let first = session_cookie(&set_cookies(&browser.sign_in("ivy", "long enough").await)).unwrap();
        // Signing in again while signed in (the form's token is then the session's).
        let csrf = crate::helpers::csrf_in(&browser.get("/dashboard").await.text().await.unwrap());
        let again = browser
            .post_form("/auth/login", &[("username", "ivy"), ("password", "long enough"), ("csrf_token", &csrf)])
            .await;
        let second = session_cookie(&set_cookies(&again)).unwrap();
        assert_ne!(first, second);
        assert_eq!(db.count("sessions").await, 1, "the earlier session was deleted");

        let replay = app.browser();
        let response = replay.http.get(replay.url("/dashboard")).header("cookie", first).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "the old token no longer signs in");
    }

    async fn a_session_is_shared_by_every_process_on_the_database(db) {
        let one = db.spawn().await;
        let two = db.spawn().await;
        let browser = one.browser();
        browser.register("jack", "jack@example.com", "long enough").await;
        let cookie = session_cookie(&set_cookies(&browser.sign_in("jack", "long enough").await)).unwrap();

        let elsewhere = two.browser();
        let page = elsewhere.http.get(elsewhere.url("/dashboard")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let csrf = crate::helpers::csrf_in(&page.text().await.unwrap());
        let out = elsewhere
            .http
            .post(elsewhere.url("/auth/logout"))
            .header("cookie", &cookie)
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), StatusCode::SEE_OTHER, "a token issued by one process is accepted by another");
        assert_eq!(browser.get("/dashboard").await.status(), StatusCode::SEE_OTHER, "signed out everywhere");
    }

    async fn idle_and_expired_sessions_end(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        browser.register("kim", "kim@example.com", "long enough").await;
        browser.sign_in("kim", "long enough").await;
        assert_eq!(browser.get("/dashboard").await.status(), StatusCode::OK);

        // Idle for three hours (the default idle timeout is two).
        db.execute("UPDATE sessions SET last_seen_at = last_seen_at - 10800").await;
        let response = browser.get("/dashboard").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(set_cookies(&response).iter().any(|c| c.starts_with("session=;")), "the dead cookie is cleared");

        browser.sign_in("kim", "long enough").await;
        db.execute("UPDATE sessions SET expires_at = created_at").await;
        assert_eq!(browser.get("/dashboard").await.status(), StatusCode::SEE_OTHER, "past its lifetime");
    }

    async fn cookies_are_secure_and_host_prefixed_over_https(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        browser.register("lee", "lee@example.com", "long enough").await;
        let browser = app.browser();
        let page = browser.http.get(browser.url("/auth/login")).header("x-forwarded-proto", "https").send().await.unwrap();
        let presession = set_cookies(&page);
        assert!(presession.iter().any(|c| c.starts_with("__Host-presession=") && c.contains("Secure")), "{presession:?}");
        let csrf = crate::helpers::csrf_in(&page.text().await.unwrap());
        let cookie = presession[0].split(';').next().unwrap().to_owned();
        let response = browser
            .http
            .post(browser.url("/auth/login"))
            .header("x-forwarded-proto", "https")
            .header("cookie", cookie)
            .form(&[("username", "lee"), ("password", "long enough"), ("csrf_token", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let session = set_cookies(&response).into_iter().find(|c| c.starts_with("__Host-session=")).expect("a session cookie");
        for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(session.contains(attribute), "{session} lacks {attribute}");
        }
        assert!(!session.contains("Domain"), "__Host- cookies carry no Domain");
    }

    async fn pages_that_need_a_session_send_browsers_to_sign_in(db) {
        let app = db.spawn().await;
        let response = app.browser().get("/dashboard?tab=1").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/auth/login?next=%2Fdashboard%3Ftab%3D1");
    }
}

/// Only a proxy in `TRUSTED_PROXIES` is believed when it says the client came
/// over https: from anyone else the header changes no cookie.
#[tokio::test]
async fn forwarded_https_is_believed_from_trusted_proxies_only() {
    let db = crate::helpers::Database::create(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    for (trusted, secure) in [("127.0.0.1", true), ("192.0.2.1, 10.0.0.0/8", false)] {
        let app = db.spawn_with(&[("TRUSTED_PROXIES", trusted)]).await;
        for (name, value) in [
            ("x-forwarded-proto", "https"),
            ("forwarded", "for=192.0.2.60;proto=https"),
        ] {
            let browser = app.browser();
            let page = browser
                .http
                .get(browser.url("/auth/login"))
                .header(name, value)
                .send()
                .await
                .unwrap();
            let cookies = set_cookies(&page);
            let presession = cookies
                .iter()
                .find(|c| c.contains("presession="))
                .expect("a pre-session cookie");
            assert_eq!(
                presession.starts_with("__Host-presession="),
                secure,
                "{trusted} / {name}: {presession}"
            );
            assert_eq!(
                presession.contains("Secure"),
                secure,
                "{trusted} / {name}: {presession}"
            );
        }
    }
}
