//! Bad input: the fitting status, a clear message, and nothing stored.

use reqwest::StatusCode;
use serde_json::{Value, json};

use futures_util::StreamExt;

use crate::helpers::{Backend, Client, Database, location, on_every_database};

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

/// A multipart body that sends `head`, then `filler` bytes of `a`, and then
/// never ends: a server that read the field or the headers whole before
/// judging them would never answer.
fn never_ending(head: &str, filler: usize) -> reqwest::Body {
    let head = head.as_bytes().to_vec();
    let filler = futures_util::stream::iter(std::iter::repeat_n(vec![b'a'; 4096], filler / 4096));
    let stream = futures_util::stream::once(async move { head })
        .chain(filler)
        .chain(futures_util::stream::pending())
        .map(Ok::<_, std::io::Error>);
    reqwest::Body::wrap_stream(stream)
}

/// Sends a multipart body that never ends, and waits a while for the answer.
async fn answer_to(
    client: &Client,
    path: &str,
    csrf: Option<&str>,
    body: reqwest::Body,
) -> reqwest::Response {
    let mut request = client
        .http
        .post(client.url(path))
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(body);
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    tokio::time::timeout(std::time::Duration::from_secs(20), request.send())
        .await
        .expect("an answer before the body ends")
        .unwrap()
}

/// The public `POST /verify` reads its `sha256` field with a cap, and a
/// part's headers too: past them it answers at once, while the body is still
/// arriving, instead of holding it.
#[tokio::test]
async fn verify_refuses_a_huge_field_or_part_header_before_reading_it_whole() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let app = db.spawn().await;
    let script = app.script();
    let field = "--XyZ\r\nContent-Disposition: form-data; name=\"sha256\"\r\n\r\n";
    let refused = answer_to(&script, "/verify", None, never_ending(field, 4 << 20)).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["field"], "sha256", "{body}");

    let header = "--XyZ\r\nContent-Disposition: form-data; name=\"receipt\"\r\nX-Padding: ";
    let refused = answer_to(&script, "/verify", None, never_ending(header, 4 << 20)).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
}

/// An upload's deferred `csrf_token` field, and its part headers, are capped
/// the same way; nothing is staged.
#[tokio::test]
async fn upload_refuses_a_huge_token_field_or_part_header_before_reading_it_whole() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let app = db.spawn().await;
    let browser = app.browser();
    browser
        .register("capped", "capped@example.com", "long enough")
        .await;
    assert_eq!(
        browser.sign_in("capped", "long enough").await.status(),
        StatusCode::SEE_OTHER
    );
    let field = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n";
    let refused = answer_to(&browser, "/upload", None, never_ending(field, 4 << 20)).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let header = "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"";
    let refused = answer_to(&browser, "/upload", None, never_ending(header, 4 << 20)).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(app.stored_files("staging").is_empty());
    assert_eq!(db.count("files").await, 0);
}

/// A large upload refused early (its extension, here) gets its answer, not a
/// reset connection: the server reads on for a moment after answering, so
/// that the client's bytes in flight do not make the kernel reset the
/// connection before the answer is read. Sent raw by a client that reads
/// only once it has sent the whole body, as some proxies do, ten times.
#[tokio::test]
async fn a_large_upload_refused_early_still_gets_its_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let app = db.spawn().await;
    let (script, csrf) = app.signed_in_script("lars").await;
    let token = script
        .post_json(
            "/settings/tokens",
            &csrf,
            serde_json::json!({"name": "raw"}),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body_len = 32 << 20;
    for round in 0..10 {
        let mut socket = tokio::net::TcpStream::connect(app.address).await.unwrap();
        let head = format!(
            "POST /upload HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n\
             Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"refused.exe\"\r\n\r\n",
            app.address,
            body_len + 200,
        );
        let sent = async {
            socket.write_all(head.as_bytes()).await?;
            let chunk = vec![b'z'; 64 << 10];
            for _ in 0..(body_len / chunk.len()) {
                socket.write_all(&chunk).await?;
            }
            Ok::<_, std::io::Error>(())
        }
        .await;
        let mut answer = Vec::new();
        let read = socket.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            sent.is_ok() && read.is_ok(),
            "round {round}: sent {sent:?}, read {read:?}"
        );
        assert!(
            answer.starts_with("HTTP/1.1 415"),
            "round {round}: {answer:?}"
        );
    }
}
