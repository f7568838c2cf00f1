//! Security headers, error shapes, the onion address and the health probes.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, Database};

async fn sqlite() -> Database {
    Database::create(Backend::Sqlite)
        .await
        .expect("SQLite is always available")
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let db = sqlite().await;
    let app = db.spawn().await;
    let browser = app.browser();
    for path in [
        "/",
        "/auth/login",
        "/auth/register",
        "/dashboard",
        "/no/such/page",
        "/healthz",
    ] {
        let response = browser.get(path).await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header("cache-control"), "no-store", "{path}");
        assert!(!header("x-request-id").is_empty(), "{path}");
    }
}

#[tokio::test]
async fn pages_use_no_inline_script_or_style() {
    let db = sqlite().await;
    let app = db.spawn().await;
    let browser = app.browser();
    // Scripts only from files of our own, each an empty element with a src.
    let external =
        regex_lite::Regex::new(r#"<script src="/static/[a-z]+\.js\?v=[0-9a-f]+" defer></script>"#)
            .unwrap();
    for path in ["/", "/auth/login", "/auth/register", "/missing"] {
        let html = browser.get(path).await.text().await.unwrap();
        let rest = external.replace_all(&html, "");
        assert!(
            !rest.contains("<script") && !html.contains("<style") && !html.contains("style="),
            "{path}"
        );
    }
    let css = browser.get("/static/style.css").await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

#[tokio::test]
async fn the_onion_address_is_announced_on_every_page() {
    let db = sqlite().await;
    let onion = "http://securestampexampleonionaddressxxxxxxxxxxxxxxxxxxxxxxx.onion";
    let app = db.spawn_with(&[("ONION_URL", onion)]).await;
    let response = app.browser().get("/auth/login?next=%2Fdashboard").await;
    assert_eq!(
        response.headers()["onion-location"],
        format!("{onion}/auth/login?next=%2Fdashboard")
    );
    assert!(
        response.text().await.unwrap().contains(onion),
        "and shown in the footer"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_clients_format() {
    let db = sqlite().await;
    let app = db.spawn().await;
    let missing = app.script().get("/nothing/here").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"]["code"],
        "not_found"
    );

    let page = app.browser().get("/nothing/here").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let script = app.script();
    let wrong_method = script
        .http
        .put(script.url("/dashboard"))
        .header("x-csrf-token", "x")
        .send()
        .await
        .unwrap();
    assert!(matches!(
        wrong_method.status(),
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::FORBIDDEN
    ));
    let body: Value = wrong_method.json().await.unwrap();
    assert!(body["error"]["code"].is_string());
}

#[tokio::test]
async fn health_probes_report_the_process_and_the_database() {
    let db = sqlite().await;
    let app = db.spawn().await;
    let live = app.script().get("/healthz").await;
    assert_eq!(live.status(), StatusCode::OK);
    let ready: Value = app.script().get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["database"], "ok");
}
