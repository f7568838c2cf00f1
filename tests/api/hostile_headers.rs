//! Headers a client chooses: `Host`, `X-Request-Id`, `Authorization` of other
//! schemes, and bodies whose parse errors would tell too much.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, Database};

async fn sqlite() -> Database {
    Database::create(Backend::Sqlite)
        .await
        .expect("SQLite is always available")
}

/// A receipt names its keys under `PUBLIC_URL`, whatever `Host` the request
/// claimed; without it, a `Host` that is not a plain `host[:port]` is not used.
#[tokio::test]
async fn receipts_name_their_keys_under_the_public_url_not_the_requests_host() {
    let db = sqlite().await;
    for (public, host, expected) in [
        (
            Some("https://vault.example"),
            "evil.example",
            "https://vault.example/keys/",
        ),
        (None, "a/b@evil.example", "http://localhost/keys/"),
    ] {
        let app = match public {
            Some(url) => db.spawn_with(&[("PUBLIC_URL", url)]).await,
            None => db.spawn().await,
        };
        let (script, csrf) = app
            .signed_in_script(&format!("hal{}", public.is_some() as u8))
            .await;
        let stored: Value = script
            .upload(&csrf, &[("note.txt", b"a note")])
            .await
            .json()
            .await
            .unwrap();
        let link = stored["files"][0]["links"]["receipt"]
            .as_str()
            .unwrap()
            .to_owned();
        let receipt = loop {
            let answer = script
                .http
                .get(app.url(&link))
                .header("host", host)
                .send()
                .await
                .unwrap();
            match answer.status() {
                StatusCode::OK => break answer.json::<Value>().await.unwrap(),
                // The log has not taken the entry in yet.
                StatusCode::SERVICE_UNAVAILABLE => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                other => panic!("the receipt answered {other}"),
            }
        };
        for url in [
            &receipt["rfc3161"]["certificate_chain_url"],
            &receipt["openpgp"]["public_key_url"],
        ] {
            assert!(
                url.as_str().unwrap().starts_with(expected),
                "{url} for Host {host}"
            );
        }
    }
}

/// A short, plain `X-Request-Id` is echoed; a long or odd one is replaced by
/// an id of the server's own.
#[tokio::test]
async fn only_a_short_plain_request_id_is_echoed() {
    let db = sqlite().await;
    let app = db.spawn().await;
    let http = crate::helpers::http_client();
    let echoed = |sent: String| {
        let request = http.get(app.url("/healthz")).header("x-request-id", sent);
        async move {
            let answer = request.send().await.unwrap();
            answer.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(
        echoed("trace-42:abc.DEF_9".into()).await,
        "trace-42:abc.DEF_9"
    );
    for odd in [
        "x".repeat(65),
        "<script>alert(1)</script>".into(),
        "a b".into(),
    ] {
        let answered = echoed(odd.clone()).await;
        assert_ne!(answered, odd);
        assert!(
            answered.len() == 36 && answered.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
            "{answered}"
        );
    }
}

/// A JSON body that does not fit is refused in plain words, naming none of
/// the server's types or parser internals.
#[tokio::test]
async fn malformed_json_is_refused_without_the_parsers_words() {
    let db = sqlite().await;
    let app = db.spawn().await;
    let script = app.script();
    let csrf = script.csrf("/auth/login").await;
    for body in [json!({"username": 5, "password": []}), json!([1, 2])] {
        let answer = script.post_json("/auth/login", &csrf, body).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let body: Value = answer.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        for internal in [
            "deserialize",
            "invalid type",
            "expected",
            "LoginForm",
            "line 1",
            "column",
        ] {
            assert!(!message.contains(internal), "{message}");
        }
    }
    let broken = script
        .http
        .post(app.url("/auth/login"))
        .header("x-csrf-token", &csrf)
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    let body: Value = broken.json().await.unwrap();
    assert_eq!(body["error"]["message"], "The body is not valid JSON.");
}

/// A proxy's `Authorization: Basic …` is not an API token: the session
/// cookie still counts.
#[tokio::test]
async fn an_authorization_header_of_another_scheme_leaves_the_session_alone() {
    let db = sqlite().await;
    let app = db.spawn().await;
    let browser = app.browser();
    browser
        .register("ivy", "ivy@example.com", "long enough")
        .await;
    browser.sign_in("ivy", "long enough").await;
    let page = browser
        .http
        .get(app.url("/dashboard"))
        .header("authorization", "Basic cHJveHk6c2VjcmV0")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("ivy"));
    // A bearer token is still judged as one.
    let bearer = browser
        .http
        .get(app.url("/dashboard"))
        .header("authorization", "Bearer not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
}

/// With an idle timeout under a minute, a session in use is kept alive: its
/// activity is written often enough.
#[tokio::test]
async fn a_short_idle_timeout_does_not_end_a_session_in_use() {
    let db = sqlite().await;
    let app = db.spawn_with(&[("SESSION_IDLE_TIMEOUT", "4s")]).await;
    let browser = app.browser();
    browser
        .register("jan", "jan@example.com", "long enough")
        .await;
    browser.sign_in("jan", "long enough").await;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            browser.get("/dashboard").await.status(),
            StatusCode::OK,
            "a session in use"
        );
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        browser.get("/dashboard").await.status(),
        StatusCode::SEE_OTHER,
        "and an idle one ends"
    );
}
