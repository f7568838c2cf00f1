//! Any body posted as a multipart form to `POST /upload` (by a signed-in
//! token holder) or `POST /verify` (by anyone), through the real router on a
//! SQLite database: the answer is 201 or a client error with the contract's
//! JSON error, never a 5xx or a panic, and every name that gets stored is a
//! safe one. The input's first byte picks the route; the boundary is fixed.
//! Run with `cargo fuzz run http_forms`.
#![no_main]

use std::net::SocketAddr;
use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use securestamp::auth::tokens::ApiTokenSecret;
use securestamp::config::Config;
use securestamp::domain::{Email, Password, Username};
use securestamp::startup::Application;
use tower::ServiceExt;

struct Harness {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    token: String,
    _dir: tempfile::TempDir,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a data directory");
    let vars = [
        ("SECRET_KEY", "fuzzing secret key that is long enough for HMAC".to_owned()),
        ("BIND", "127.0.0.1:0".to_owned()),
        ("DATA_DIR", dir.path().join("data").display().to_string()),
        ("UPLOAD_FOLDER", dir.path().join("uploads").display().to_string()),
        ("MAX_CONTENT_LENGTH", "1MiB".to_owned()),
        ("TSA_RATE", "1000000".to_owned()),
        ("RUST_LOG", "off".to_owned()),
    ];
    let lookup = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
    let config = Config::from_vars(lookup).expect("a configuration");
    config.prepare_directories().expect("directories");
    let (router, token) = runtime.block_on(async {
        let app = Application::build(config).await.expect("the server builds");
        let state = app.state();
        let user = securestamp::db::users::create(
            &state.db,
            &Username::parse("fuzz").unwrap(),
            &Email::parse("fuzz@example.com").unwrap(),
            state.passwords.hash(&Password::parse_new("a long enough password".into()).unwrap()).await.unwrap(),
        )
        .await
        .expect("a user");
        let secret = ApiTokenSecret::generate();
        securestamp::db::api_tokens::create(&state.db, user.id, "fuzz", secret.hash(), 0)
            .await
            .expect("a token");
        (app.router(), secret.expose().to_owned())
    });
    Harness { runtime, router, token, _dir: dir }
});

fuzz_target!(|input: &[u8]| {
    let Some((&route, body)) = input.split_first() else {
        return;
    };
    let harness = &*HARNESS;
    let upload = route % 2 == 0;
    let mut request = Request::post(if upload { "/upload" } else { "/verify" })
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .header("accept", "application/json");
    if upload {
        request = request.header("authorization", format!("Bearer {}", harness.token));
    }
    let mut request = request.body(Body::from(body.to_vec())).unwrap();
    // What the connection loop records for every connection.
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 40000))));
    let (status, answer) = harness.runtime.block_on(async {
        let response = harness.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, bytes)
    });
    assert!(!status.is_server_error(), "{status}: {}", String::from_utf8_lossy(&answer));
    let json: serde_json::Value = serde_json::from_slice(&answer).expect("a JSON answer");
    if status == StatusCode::CREATED && upload {
        for file in json["files"].as_array().expect("the stored files") {
            let name = file["original_filename"].as_str().expect("a name");
            assert!(!name.is_empty() && !name.contains(['/', '\\']), "{name:?}");
            assert!(!name.chars().any(char::is_control), "{name:?}");
        }
    } else if status.is_client_error() {
        assert!(json["error"]["code"].is_string(), "{json}");
    }
});
