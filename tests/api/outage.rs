//! Faults: the database goes away mid-traffic and comes back.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{Backend, Database};
use crate::private_postgres::PrivatePostgres;

/// Once a request has found the database gone, the ones after it are answered
/// 503 with `Retry-After` at once (not after the pool's five-second wait);
/// what needs no database goes on answering; nothing is half-stored; and
/// everything works again by itself soon after the database is back.
#[tokio::test]
async fn while_the_database_is_down_requests_fail_fast_and_recover_by_themselves() {
    let Some(postgres) = PrivatePostgres::start() else {
        return;
    };
    let db = Database::existing(Backend::Postgres, postgres.url());
    let app = db.spawn().await;
    let (script, csrf) = app.signed_in_script("dora").await;
    let before = b"stored before the outage\n";
    let stored = script.upload(&csrf, &[("before.txt", before)]).await;
    assert_eq!(stored.status(), StatusCode::CREATED);
    let stored: serde_json::Value = stored.json().await.unwrap();
    let id = stored["files"][0]["id"].as_i64().unwrap();

    postgres.stop();
    // The first request finds out, within the pool's acquire timeout.
    let refused = script
        .upload(&csrf, &[("during.txt", b"during the outage")])
        .await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "service_unavailable");
    // From then on no request waits for the database.
    for path in ["/dashboard", &format!("/files/{id}"), "/log/checkpoint"] {
        let started = Instant::now();
        let answer = script.get(path).await;
        let waited = started.elapsed();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(answer.headers()["retry-after"], "1", "{path}");
        assert!(
            waited < Duration::from_secs(1),
            "{path} waited {waited:?} for a database known to be down"
        );
    }
    let browser = app.browser();
    let page = browser.get("/dashboard").await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("temporarily unavailable"),
        "a page for people: {html}"
    );
    for path in ["/healthz", "/keys/openpgp.asc", "/static/style.css"] {
        assert_eq!(script.get(path).await.status(), StatusCode::OK, "{path}");
    }
    // A time-stamp client gets a time-stamp reply, not a page.
    let stamp = crate::helpers::http_client()
        .post(app.url("/tsa"))
        .header("content-type", "application/timestamp-query")
        .header("accept", "*/*")
        .body(vec![0x30, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(stamp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        stamp.headers()["content-type"],
        "application/timestamp-reply"
    );
    assert_eq!(stamp.headers()["retry-after"], "1");
    assert_eq!(
        script.get("/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(
        app.stored_files("staging").is_empty(),
        "a refused upload leaves nothing staged"
    );

    postgres.resume();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = script.get(&format!("/files/{id}/download")).await;
        if answer.status() == StatusCode::OK {
            assert_eq!(&answer.bytes().await.unwrap()[..], before);
            break;
        }
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            Instant::now() < deadline,
            "no recovery 20 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(script.get("/readyz").await.status(), StatusCode::OK);
    let after = script
        .upload(&csrf, &[("after.txt", b"after the outage")])
        .await;
    assert_eq!(after.status(), StatusCode::CREATED);
    let after: serde_json::Value = after.json().await.unwrap();
    let after = after["files"][0]["id"].as_i64().unwrap();
    // Its stamp reaches the log too: the full receipt comes.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let receipt = script.get(&format!("/files/{after}/receipt")).await;
        if receipt.status() == StatusCode::OK {
            break;
        }
        assert_eq!(receipt.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(Instant::now() < deadline, "no receipt after the outage");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Only the acknowledged files are stored.
    let listed: serde_json::Value = script.get("/files").await.json().await.unwrap();
    let names: Vec<&str> = listed["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["original_filename"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!names.contains(&"during.txt"), "{names:?}");
}
