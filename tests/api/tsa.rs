//! `POST /tsa` against the real OpenSSL client: `openssl ts -query` makes the
//! requests and `openssl ts -verify` judges the replies.

use std::path::Path;
use std::process::Command;

use reqwest::StatusCode;

use crate::helpers::{Backend, Database, TestApp};

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success() && !text.contains("FAILED"), text)
}

async fn post_query(app: &TestApp, query: Vec<u8>) -> reqwest::Response {
    crate::helpers::http_client()
        .post(app.url("/tsa"))
        .header("content-type", "application/timestamp-query")
        .body(query)
        .send()
        .await
        .unwrap()
}

/// The TSA's chain, and its first certificate alone (for tokens without one).
/// Asserts that `response` has `status` and, as its body, a `rejection`
/// reply that OpenSSL reads, whose status string contains `says`.
async fn assert_rejection(response: reqwest::Response, status: StatusCode, says: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/timestamp-reply"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("reply.tsr"),
        response.bytes().await.unwrap(),
    )
    .unwrap();
    let (_, text) = openssl(dir.path(), &["ts", "-reply", "-in", "reply.tsr", "-text"]);
    assert!(
        text.contains("Status: Rejected") && text.contains(says),
        "{status}: {text}"
    );
}

async fn fetch_chain(app: &TestApp, dir: &Path) {
    let chain = crate::helpers::http_client()
        .get(app.url("/keys/tsa-chain.pem"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        chain.headers()["content-type"],
        "application/pem-certificate-chain"
    );
    let pem = chain.text().await.unwrap();
    std::fs::write(dir.join("chain.pem"), &pem).unwrap();
    let end = "-----END CERTIFICATE-----";
    let first = &pem[..pem.find(end).unwrap() + end.len()];
    std::fs::write(dir.join("tsa.pem"), format!("{first}\n")).unwrap();
}

async fn app() -> (Database, TestApp) {
    let db = Database::create(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let app = db.spawn().await;
    (db, app)
}

#[tokio::test]
async fn openssl_verifies_tokens_for_every_request_shape() {
    let (_db, app) = app().await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("report.pdf"), b"%PDF-1.7 the report").unwrap();
    fetch_chain(&app, dir).await;
    for digest in ["-sha256", "-sha384", "-sha512"] {
        for cert in [true, false] {
            for nonce in [true, false] {
                let mut args = vec![
                    "ts",
                    "-query",
                    "-data",
                    "report.pdf",
                    digest,
                    "-out",
                    "q.tsq",
                ];
                if cert {
                    args.push("-cert");
                }
                if !nonce {
                    args.push("-no_nonce");
                }
                assert!(openssl(dir, &args).0);
                let reply = post_query(&app, std::fs::read(dir.join("q.tsq")).unwrap()).await;
                assert_eq!(reply.status(), StatusCode::OK);
                assert_eq!(
                    reply.headers()["content-type"],
                    "application/timestamp-reply"
                );
                std::fs::write(dir.join("r.tsr"), reply.bytes().await.unwrap()).unwrap();
                let case = format!("{digest} cert={cert} nonce={nonce}");
                let mut verify = vec!["ts", "-verify", "-in", "r.tsr", "-CAfile", "chain.pem"];
                if !cert {
                    verify.extend(["-untrusted", "tsa.pem"]);
                }
                let (ok, text) = openssl(dir, &[&verify[..], &["-queryfile", "q.tsq"]].concat());
                assert!(ok, "{case} -queryfile: {text}");
                let (ok, text) = openssl(dir, &[&verify[..], &["-data", "report.pdf"]].concat());
                assert!(ok, "{case} -data: {text}");
            }
        }
    }
    // -digest, with the hex of the file's SHA-256.
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        b"%PDF-1.7 the report",
    ));
    assert!(
        openssl(
            dir,
            &[
                "ts", "-query", "-digest", &digest, "-sha256", "-cert", "-out", "q.tsq"
            ]
        )
        .0
    );
    let reply = post_query(&app, std::fs::read(dir.join("q.tsq")).unwrap()).await;
    std::fs::write(dir.join("r.tsr"), reply.bytes().await.unwrap()).unwrap();
    let (ok, text) = openssl(
        dir,
        &[
            "ts",
            "-verify",
            "-digest",
            &digest,
            "-in",
            "r.tsr",
            "-CAfile",
            "chain.pem",
        ],
    );
    assert!(ok, "{text}");
}

#[tokio::test]
async fn tampered_data_foreign_roots_and_wrong_nonces_fail_verification() {
    let (_db, app) = app().await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("data.bin"), b"the original").unwrap();
    std::fs::write(dir.join("tampered.bin"), b"the 0riginal").unwrap();
    fetch_chain(&app, dir).await;
    assert!(
        openssl(
            dir,
            &[
                "ts", "-query", "-data", "data.bin", "-sha256", "-cert", "-out", "q.tsq"
            ]
        )
        .0
    );
    assert!(
        openssl(
            dir,
            &[
                "ts",
                "-query",
                "-data",
                "data.bin",
                "-sha256",
                "-cert",
                "-out",
                "other.tsq"
            ]
        )
        .0
    );
    let reply = post_query(&app, std::fs::read(dir.join("q.tsq")).unwrap()).await;
    std::fs::write(dir.join("r.tsr"), reply.bytes().await.unwrap()).unwrap();
    let verify = ["ts", "-verify", "-in", "r.tsr", "-CAfile", "chain.pem"];
    assert!(
        openssl(dir, &[&verify[..], &["-data", "data.bin"]].concat()).0,
        "the genuine file verifies"
    );
    assert!(
        !openssl(dir, &[&verify[..], &["-data", "tampered.bin"]].concat()).0,
        "a changed byte fails"
    );
    assert!(
        !openssl(dir, &[&verify[..], &["-queryfile", "other.tsq"]].concat()).0,
        "another nonce fails"
    );

    let (made, text) = openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=Foreign",
            "-keyout",
            "foreign.key",
            "-out",
            "foreign.pem",
            "-days",
            "2",
        ],
    );
    assert!(made, "{text}");
    let (ok, _) = openssl(
        dir,
        &[
            "ts",
            "-verify",
            "-in",
            "r.tsr",
            "-CAfile",
            "foreign.pem",
            "-data",
            "data.bin",
        ],
    );
    assert!(!ok, "another root does not vouch for this TSA");
}

#[tokio::test]
async fn malformed_or_unsupported_requests_get_rejections_or_client_errors() {
    let (_db, app) = app().await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("data.bin"), b"data").unwrap();

    let garbage = post_query(&app, b"\x30\x03\x02\x01\x07not der at all".to_vec()).await;
    assert_eq!(
        garbage.status(),
        StatusCode::OK,
        "a TSP-level refusal is still a reply"
    );
    std::fs::write(dir.join("garbage.tsr"), garbage.bytes().await.unwrap()).unwrap();
    let (_, text) = openssl(dir, &["ts", "-reply", "-in", "garbage.tsr", "-text"]);
    assert!(
        text.contains("Status: Rejected") && text.contains("wrong format"),
        "{text}"
    );

    assert!(
        openssl(
            dir,
            &[
                "ts", "-query", "-data", "data.bin", "-sha1", "-out", "sha1.tsq"
            ]
        )
        .0
    );
    let sha1 = post_query(&app, std::fs::read(dir.join("sha1.tsq")).unwrap()).await;
    std::fs::write(dir.join("sha1.tsr"), sha1.bytes().await.unwrap()).unwrap();
    let (_, text) = openssl(dir, &["ts", "-reply", "-in", "sha1.tsr", "-text"]);
    assert!(
        text.contains("Status: Rejected") && text.contains("unrecognized or unsupported algorithm"),
        "{text}"
    );

    // A client that would take a page (or anything) still gets replies.
    let http = crate::helpers::http_client_builder()
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("text/html, */*"),
        )]))
        .build()
        .unwrap();
    let wrong_type = http
        .post(app.url("/tsa"))
        .header("content-type", "application/octet-stream")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_rejection(
        wrong_type,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "application/timestamp-query",
    )
    .await;
    // The media type decides, whatever its case and parameters.
    let with_parameters = http
        .post(app.url("/tsa"))
        .header(
            "content-type",
            "Application/TimeStamp-Query; charset=binary",
        )
        .body(std::fs::read(dir.join("sha1.tsq")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(with_parameters.status(), StatusCode::OK);
    assert_eq!(
        with_parameters.headers()["content-type"],
        "application/timestamp-reply"
    );
    let prefixed = http
        .post(app.url("/tsa"))
        .header("content-type", "application/timestamp-query-not")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_rejection(
        prefixed,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "timestamp-query",
    )
    .await;
    let huge = http
        .post(app.url("/tsa"))
        .header("content-type", "application/timestamp-query")
        .body(vec![0x30; 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_rejection(
        huge,
        StatusCode::PAYLOAD_TOO_LARGE,
        "larger than this server accepts",
    )
    .await;
    let empty = post_query(&app, Vec::new()).await;
    assert_eq!(empty.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_service_can_be_closed_to_strangers_and_is_rate_limited() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let app = db
        .spawn_with(&[("TSA_PUBLIC", "false"), ("TSA_RATE", "1")])
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d"), b"d").unwrap();
    assert!(
        openssl(
            dir.path(),
            &["ts", "-query", "-data", "d", "-sha256", "-out", "q.tsq"]
        )
        .0
    );
    let query = std::fs::read(dir.path().join("q.tsq")).unwrap();
    assert_rejection(
        post_query(&app, query.clone()).await,
        StatusCode::UNAUTHORIZED,
        "Sign in",
    )
    .await;

    let (script, csrf) = app.signed_in_script("tim").await;
    // A signed-in session may stamp, without a CSRF token (as any client may when the TSA is public).
    let with_session = script
        .http
        .post(script.url("/tsa"))
        .header("content-type", "application/timestamp-query")
        .body(query.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(with_session.status(), StatusCode::OK);
    assert!(with_session.headers().get("set-cookie").is_none());
    let created: serde_json::Value = script
        .post_json(
            "/settings/tokens",
            &csrf,
            serde_json::json!({"name": "tsa"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", created["token"].as_str().unwrap());
    let mut replies = Vec::new();
    for _ in 0..4 {
        let reply = crate::helpers::http_client()
            .post(app.url("/tsa"))
            .header("authorization", &bearer)
            .header("content-type", "application/timestamp-query")
            .body(query.clone())
            .send()
            .await
            .unwrap();
        replies.push(reply);
    }
    assert_eq!(replies[0].status(), StatusCode::OK);
    let last = replies.pop().unwrap();
    assert!(last.headers().contains_key("retry-after"));
    assert_rejection(last, StatusCode::TOO_MANY_REQUESTS, "Too many").await;
    let unknown = crate::helpers::http_client()
        .post(app.url("/tsa"))
        .header("authorization", "Bearer not-a-token")
        .header("content-type", "application/timestamp-query")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
}
