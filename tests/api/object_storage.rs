//! Contents in an S3-compatible bucket: a real Garage node on loopback
//! (`.ci/run` starts one and names it in `SECURESTAMP_TEST_S3_*`). Each test
//! works under a prefix of its own and looks at the bucket behind the
//! server's back, pending multipart uploads included.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use object_store::ObjectStore;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, Database, Process, in_ci, on_every_database};

/// The test bucket, under a prefix of this test's own.
pub struct TestBucket {
    name: String,
    prefix: String,
    endpoint: String,
    region: String,
    key_id: String,
    secret: String,
    store: AmazonS3,
}

impl TestBucket {
    /// `None` (with a note) without a store on a developer's machine; under
    /// `CI=true` that is a failure.
    pub fn create() -> Option<TestBucket> {
        let var = |name: &str| std::env::var(format!("SECURESTAMP_TEST_S3_{name}")).ok();
        let (Some(name), Some(endpoint), Some(region), Some(key_id), Some(secret)) = (
            var("BUCKET"),
            var("ENDPOINT"),
            var("REGION"),
            var("ACCESS_KEY_ID"),
            var("SECRET_ACCESS_KEY"),
        ) else {
            assert!(
                !in_ci(),
                "no object store: SECURESTAMP_TEST_S3_* are unset (CI requires one)"
            );
            eprintln!("skipped: no object store (SECURESTAMP_TEST_S3_* are unset)");
            return None;
        };
        let store = client(&name, &endpoint, &region, &key_id, &secret);
        Some(TestBucket {
            prefix: format!("test-{}", hex::encode(rand::random::<[u8; 6]>())),
            name,
            endpoint,
            region,
            key_id,
            secret,
            store,
        })
    }

    /// What the server is given to use this bucket, through `endpoint`.
    pub fn vars_via(&self, endpoint: &str) -> Vec<(&'static str, String)> {
        vec![
            ("STORAGE_URL", format!("s3://{}/{}", self.name, self.prefix)),
            ("AWS_ENDPOINT_URL", endpoint.to_owned()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_ACCESS_KEY_ID", self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("ALLOWED_EXTENSIONS", "*".to_owned()),
        ]
    }

    pub fn vars(&self) -> Vec<(&'static str, String)> {
        self.vars_via(&self.endpoint)
    }

    /// The keys under `prefix/folder/`, relative to the prefix.
    pub async fn keys(&self, folder: &str) -> Vec<String> {
        self.keys_with(&self.store, folder).await
    }

    async fn keys_with(&self, store: &AmazonS3, folder: &str) -> Vec<String> {
        let under = object_store::path::Path::from(format!("{}/{folder}", self.prefix));
        let found: Vec<_> = store
            .list(Some(&under))
            .try_collect()
            .await
            .expect("list the bucket");
        let mut keys: Vec<String> = found
            .into_iter()
            .map(|meta| meta.location.to_string()[self.prefix.len() + 1..].to_owned())
            .collect();
        keys.sort();
        keys
    }

    /// [`TestBucket::keys`], for callers outside a runtime's async code.
    pub fn keys_blocking(&self, folder: &str) -> Vec<String> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime")
                        .block_on(self.keys_with(&self.own_client(), folder))
                })
                .join()
                .expect("listing the bucket")
        })
    }

    /// Multipart uploads begun under the prefix and neither completed nor
    /// aborted (S3's ListMultipartUploads, which object_store does not offer).
    pub fn pending_uploads(&self) -> usize {
        let output = std::process::Command::new("curl")
            .args([
                "-sf",
                "--aws-sigv4",
                &format!("aws:amz:{}:s3", self.region),
                "--user",
                &format!("{}:{}", self.key_id, self.secret),
                "-H",
                "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                // Sorted and with `=`, as curl's signature expects them.
                &format!(
                    "{}/{}?prefix={}%2F&uploads=",
                    self.endpoint, self.name, self.prefix
                ),
            ])
            .output()
            .expect("curl");
        assert!(output.status.success(), "ListMultipartUploads failed");
        String::from_utf8_lossy(&output.stdout)
            .matches("<Upload>")
            .count()
    }

    /// Deletes what the test left under its prefix.
    pub async fn empty(&self) {
        self.empty_with(&self.store).await;
    }

    async fn empty_with(&self, store: &AmazonS3) {
        for key in self.keys_with(store, "").await {
            let key = object_store::path::Path::from(format!("{}/{key}", self.prefix));
            let _ = object_store::ObjectStoreExt::delete(store, &key).await;
        }
    }

    /// A client for a runtime of the caller's own.
    fn own_client(&self) -> AmazonS3 {
        client(
            &self.name,
            &self.endpoint,
            &self.region,
            &self.key_id,
            &self.secret,
        )
    }
}

impl Drop for TestBucket {
    /// Deletes what the test left under its prefix.
    fn drop(&mut self) {
        std::thread::scope(|scope| {
            scope.spawn(|| {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    runtime.block_on(self.empty_with(&self.own_client()));
                }
            });
        });
    }
}

/// A client of the test bucket. Each runtime needs its own: pooled
/// connections belong to the runtime that made them.
fn client(name: &str, endpoint: &str, region: &str, key_id: &str, secret: &str) -> AmazonS3 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    AmazonS3Builder::new()
        .with_bucket_name(name)
        .with_endpoint(endpoint)
        .with_region(region)
        .with_access_key_id(key_id)
        .with_secret_access_key(secret)
        .with_allow_http(true)
        .build()
        .expect("a client for the test bucket")
}

/// Bytes that differ from any other test's.
fn contents(size: usize, seed: u8) -> Vec<u8> {
    (0..size)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_be_bytes()[0] ^ seed)
        .collect()
}

/// Waits up to five seconds for `check` to hold.
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

const MIB: usize = 1 << 20;

/// A file's receipt, once its log entry has been sequenced.
async fn receipt(http: &reqwest::Client, url: &str) -> bytes::Bytes {
    for _ in 0..100 {
        let answer = http.get(url).send().await.unwrap();
        if answer.status() != StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(answer.status(), StatusCode::OK, "{url}");
            return answer.bytes().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no receipt at {url}");
}

on_every_database! {
    async fn files_are_stored_once_served_with_ranges_and_deleted_in_the_bucket(db) {
        let Some(bucket) = TestBucket::create() else { return };
        let vars = bucket.vars();
        let vars: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let app = db.spawn_with(&vars).await;
        let (script, csrf) = app.signed_in_script("olga").await;
        // Three parts and a bit: a multipart upload; and a small file twice.
        let large = contents(3 * 8 * MIB + 12_345, 1);
        // Too large to be kept in the database, small enough to be sent whole.
        let small = contents(200_000, 2);
        let uploaded = script
            .upload(&csrf, &[("large.bin", &large), ("a.txt", &small), ("b.txt", &small)])
            .await;
        assert_eq!(uploaded.status(), StatusCode::CREATED);
        let body: Value = uploaded.json().await.unwrap();
        let ids: Vec<i64> = body["files"].as_array().unwrap().iter().map(|f| f["id"].as_i64().unwrap()).collect();

        let objects = bucket.keys("objects").await;
        assert_eq!(objects.len(), 2, "one object per content: {objects:?}");
        assert!(eventually(async || bucket.keys("staging").await.is_empty()).await, "nothing stays staged");
        assert_eq!(bucket.pending_uploads(), 0);
        assert!(eventually(async || db.count("object_uploads").await == 0).await);
        assert!(app.stored_files("staging").is_empty(), "no small file stays aside");

        let download = |id: i64| format!("/files/{id}/download");
        let whole = script.get(&download(ids[0])).await;
        assert_eq!(whole.status(), StatusCode::OK);
        let etag = whole.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(etag, format!("\"{}\"", body["files"][0]["sha256"].as_str().unwrap()));
        assert!(whole.bytes().await.unwrap() == large);
        let ranged = script.http.get(script.url(&download(ids[0]))).header("range", "bytes=8388600-8388619").send().await.unwrap();
        assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(ranged.headers()["content-range"], format!("bytes 8388600-8388619/{}", large.len()).as_str());
        assert_eq!(ranged.bytes().await.unwrap(), large[8388600..8388620]);
        let tail = script.http.get(script.url(&download(ids[1]))).header("range", "bytes=-5").send().await.unwrap();
        assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(tail.bytes().await.unwrap(), small[small.len() - 5..]);
        let beyond = script.http.get(script.url(&download(ids[1]))).header("range", "bytes=200000-").send().await.unwrap();
        assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(beyond.headers()["content-range"], "bytes */200000");
        let head = script.http.head(script.url(&download(ids[0]))).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()["content-length"], large.len().to_string().as_str());
        assert!(head.bytes().await.unwrap().is_empty());
        let cached = script.http.get(script.url(&download(ids[0]))).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

        // The receipt of the large file verifies against its bytes.
        let receipt = receipt(&script.http, &script.url(&format!("/files/{}/receipt", ids[0]))).await;
        let checked: Value = script.verify(&receipt, "large.bin", &large).await.json().await.unwrap();
        assert_eq!(checked["all_hold"], true, "{checked}");

        // The shared content goes with the last file that uses it.
        let delete = |id: i64| script.http.delete(script.url(&format!("/files/{id}"))).header("x-csrf-token", &csrf).send();
        assert_eq!(delete(ids[1]).await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(bucket.keys("objects").await.len(), 2);
        assert_eq!(script.get(&download(ids[2])).await.bytes().await.unwrap(), small);
        assert_eq!(delete(ids[2]).await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(delete(ids[0]).await.unwrap().status(), StatusCode::NO_CONTENT);
        assert!(bucket.keys("objects").await.is_empty(), "deleted contents leave the bucket");
        bucket.empty().await;
    }
}

/// Sends `sent` bytes of a file and then nothing, never ending the request.
fn stalled_upload(
    base: &str,
    csrf: &str,
    cookie_jar: &reqwest::Client,
    sent: usize,
) -> tokio::task::JoinHandle<()> {
    let head = contents(sent, 9);
    let stream = futures_util::StreamExt::chain(
        futures_util::stream::iter([Ok::<_, std::io::Error>(head)]),
        futures_util::stream::pending(),
    );
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream))
        .file_name("stalled.bin");
    let form = reqwest::multipart::Form::new().part("files", part);
    let request = cookie_jar
        .post(format!("{base}/upload"))
        .header("x-csrf-token", csrf)
        .multipart(form);
    tokio::spawn(async move {
        let _ = request.send().await;
    })
}

#[tokio::test]
async fn an_aborted_upload_leaves_no_object_and_no_pending_multipart_upload() {
    let Some(bucket) = TestBucket::create() else {
        return;
    };
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let vars = bucket.vars();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let app = db.spawn_with(&vars).await;
    let (script, csrf) = app.signed_in_script("pia").await;
    let stalled = stalled_upload(&app.url(""), &csrf, &script.http, 20 * MIB);
    // Two parts have gone out: the multipart upload is under way.
    let begun = eventually(async || bucket.pending_uploads() == 1).await;
    assert!(begun, "the upload began in the bucket");
    assert_eq!(db.count("object_uploads").await, 1);
    stalled.abort();
    let cleared = eventually(async || bucket.pending_uploads() == 0).await;
    assert!(cleared, "the abandoned multipart upload is aborted at once");
    assert!(eventually(async || db.count("object_uploads").await == 0).await);
    assert!(
        bucket
            .keys("")
            .await
            .iter()
            .all(|key| !key.starts_with("objects/") && !key.starts_with("staging/"))
    );
    let listed: Value = script.get("/files").await.json().await.unwrap();
    assert_eq!(listed["files"].as_array().unwrap().len(), 0);
    bucket.empty().await;
}

#[tokio::test]
async fn a_bucket_that_cannot_be_used_stops_start_up_saying_why() {
    let Some(bucket) = TestBucket::create() else {
        return;
    };
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let start = |changes: Vec<(&'static str, String)>| {
        let mut vars = bucket.vars();
        vars.retain(|(name, _)| !changes.iter().any(|(changed, _)| changed == name));
        vars.extend(changes);
        let dir = tempfile::tempdir().unwrap();
        vars.extend([
            ("DATABASE_URL", db.url.clone()),
            ("SECRET_KEY", crate::helpers::SECRET.to_owned()),
            ("BIND", "127.0.0.1:0".to_owned()),
            ("DATA_DIR", dir.path().join("data").display().to_string()),
            (
                "UPLOAD_FOLDER",
                dir.path().join("uploads").display().to_string(),
            ),
        ]);
        async move {
            let config = securestamp::config::Config::from_vars(|name| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
            })
            .unwrap();
            config.prepare_directories().unwrap();
            let refused = securestamp::startup::Application::build(config)
                .await
                .err()
                .expect("start-up is refused");
            drop(dir);
            format!("{refused:#}")
        }
    };
    let missing = start(vec![("STORAGE_URL", "s3://no-such-bucket-here/x".into())]).await;
    assert!(missing.starts_with("STORAGE_URL: "), "{missing}");
    assert!(missing.contains("no such bucket"), "{missing}");
    let refused = start(vec![("AWS_SECRET_ACCESS_KEY", "0".repeat(64))]).await;
    assert!(refused.contains("refused these credentials"), "{refused}");
    assert!(
        !refused.contains(&"0".repeat(64)),
        "the secret is not shown: {refused}"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = start(vec![("AWS_ENDPOINT_URL", nowhere)]).await;
    assert!(unreachable.contains("cannot be reached"), "{unreachable}");
}

/// A TCP relay to the store that the test can cut and mend.
struct Relay {
    address: std::net::SocketAddr,
    open: Arc<AtomicBool>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn to(target: &str) -> Relay {
        let target = url::Url::parse(target).unwrap();
        let target = format!("{}:{}", target.host_str().unwrap(), target.port().unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = Relay {
            address: listener.local_addr().unwrap(),
            open: Arc::new(AtomicBool::new(true)),
            connections: Arc::default(),
        };
        let (open, connections) = (relay.open.clone(), relay.connections.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !open.load(Ordering::SeqCst) {
                    continue;
                }
                let target = target.clone();
                connections.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut store) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut store).await;
                    }
                }));
            }
        });
        relay
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn mend(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn an_unreachable_store_answers_503_quickly_and_is_used_again_without_a_restart() {
    let Some(bucket) = TestBucket::create() else {
        return;
    };
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let relay = Relay::to(&bucket.endpoint).await;
    let vars = bucket.vars_via(&format!("http://{}", relay.address));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let app = db.spawn_with(&vars).await;
    let (script, csrf) = app.signed_in_script("quinn").await;
    // Too large to be kept in the database: these go to the store.
    let stored = contents(200_000, 5);
    let before = script.upload(&csrf, &[("before.bin", &stored)]).await;
    assert_eq!(before.status(), StatusCode::CREATED);
    let before: Value = before.json().await.unwrap();
    let id = before["files"][0]["id"].as_i64().unwrap();

    relay.cut();
    let started = Instant::now();
    let refused = script
        .upload(&csrf, &[("during.bin", &contents(200_000, 6))])
        .await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "service_unavailable");
    let download = script.get(&format!("/files/{id}/download")).await;
    assert_eq!(download.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "refused within seconds: {:?}",
        started.elapsed()
    );
    let listed: Value = script.get("/files").await.json().await.unwrap();
    assert_eq!(
        listed["files"].as_array().unwrap().len(),
        1,
        "the refused upload stored nothing"
    );
    // A small file is kept in the database: stored while the store is away.
    let small = script
        .upload(&csrf, &[("small.txt", b"kept in the database")])
        .await;
    assert_eq!(small.status(), StatusCode::CREATED);

    relay.mend();
    let after = script
        .upload(&csrf, &[("after.bin", &contents(200_000, 7))])
        .await;
    assert_eq!(after.status(), StatusCode::CREATED);
    let download = script.get(&format!("/files/{id}/download")).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.bytes().await.unwrap() == stored);
    bucket.empty().await;
}

#[tokio::test]
async fn two_processes_on_postgres_and_garage_serve_one_site_and_a_killed_upload_is_swept() {
    let Some(bucket) = TestBucket::create() else {
        return;
    };
    let Some(db) = Database::create(Backend::Postgres).await else {
        return;
    };
    let vars = bucket.vars();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // The second machine gets the first one's keys, as `keys export`/`import` carry them.
    let mut first = Process::start(&db, first_dir.path(), &vars).await;
    copy_folder(
        &first_dir.path().join("data/keys"),
        &second_dir.path().join("data/keys"),
    );
    let second = Process::start(&db, second_dir.path(), &vars).await;

    let on_first = first.script();
    let csrf = on_first.new_account("rosa").await;
    let content = contents(9 * MIB, 4);
    let uploaded = on_first.upload(&csrf, &[("report.bin", &content)]).await;
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let id = uploaded.json::<Value>().await.unwrap()["files"][0]["id"]
        .as_i64()
        .unwrap();

    // The session made on the first works on the second, which serves the file.
    // Cookies belong to the host, not the port: the same client reaches the second.
    let on_second = crate::helpers::Client::at(second.base.clone(), true);
    let download = on_first
        .http
        .get(format!("{}/files/{id}/download", second.base))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.bytes().await.unwrap() == content);
    let receipt = receipt(
        &on_first.http,
        &format!("{}/files/{id}/receipt", second.base),
    )
    .await;
    let checked: Value = on_second
        .verify(&receipt, "report.bin", &content)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(checked["all_hold"], true, "{checked}");
    assert_eq!(checked["issued_by_this_server"], true, "{checked}");
    // One log: a monitor of each sees the same checkpoint grow consistently.
    let state = tempfile::tempdir().unwrap();
    for base in [&first.base, &second.base] {
        let state = state.path().join("monitor.state");
        let (code, text) =
            crate::monitor::monitor(&[base, "--state", state.to_str().unwrap()]).await;
        assert_eq!(code, Some(0), "the monitor of {base}: {text}");
    }

    // The first dies mid-upload, its multipart upload begun.
    let stalled = stalled_upload(&first.base, &csrf, &on_first.http, 20 * MIB);
    // Begun and recorded: the store's upload exists before its row does, but
    // no part is sent before the row is written.
    assert!(
        eventually(async || bucket.pending_uploads() == 1 && db.count("object_uploads").await == 1)
            .await,
        "the upload began"
    );
    first.kill();
    stalled.abort();
    assert_eq!(
        bucket.pending_uploads(),
        1,
        "a killed process aborts nothing"
    );
    assert_eq!(db.count("object_uploads").await, 1);
    // An hour later, the next start's sweep finds its row and aborts it.
    db.execute("UPDATE object_uploads SET touched_at = touched_at - 7200")
        .await;
    let restarted = Process::start(&db, first_dir.path(), &vars).await;
    assert!(
        eventually(async || bucket.pending_uploads() == 0).await,
        "the sweep aborts the upload"
    );
    assert!(eventually(async || db.count("object_uploads").await == 0).await);
    assert!(bucket.keys("staging").await.is_empty());
    assert_eq!(
        bucket.keys("objects").await.len(),
        1,
        "only the acknowledged content"
    );
    drop((restarted, second));
    bucket.empty().await;
}

fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn storage_migrate_moves_local_contents_into_the_bucket_and_resumes() {
    let Some(bucket) = TestBucket::create() else {
        return;
    };
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Contents too large to be kept in the database, which move with it.
    let files: [(&str, Vec<u8>); 4] = [
        ("small.bin", contents(200_000, 8)),
        ("large.bin", contents(10 * MIB + 3, 7)),
        ("copy.bin", contents(200_000, 8)),
        ("tiny.txt", b"kept in the database".to_vec()),
    ];
    let allow_any = [("ALLOWED_EXTENSIONS", "*")];
    let server = Process::start(&db, dir.path(), &allow_any).await;
    let script = server.script();
    let csrf = script.new_account("sven").await;
    let parts: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let uploaded = script.upload(&csrf, &parts).await;
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let uploaded: Value = uploaded.json().await.unwrap();
    drop(server);

    let mut vars = bucket.vars();
    vars.extend([
        ("DATABASE_URL", db.url.clone()),
        ("SECRET_KEY", crate::helpers::SECRET.to_owned()),
        ("DATA_DIR", dir.path().join("data").display().to_string()),
        (
            "UPLOAD_FOLDER",
            dir.path().join("uploads").display().to_string(),
        ),
    ]);
    let vars_ref: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let migrate = || crate::startup::securestamp(dir.path(), &["storage", "migrate"], &vars_ref);
    let first = migrate();
    let said = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        first.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        said.contains("sent 2 content(s)") && said.contains("0 already"),
        "{said}"
    );
    assert_eq!(bucket.keys("objects").await.len(), 2);

    // An interrupted run: one content is not there yet; the next run sends only it.
    let gone = object_store::path::Path::from(format!(
        "{}/{}",
        bucket.prefix,
        bucket.keys("objects").await[0]
    ));
    object_store::ObjectStoreExt::delete(&bucket.store, &gone)
        .await
        .unwrap();
    let again = migrate();
    let said = String::from_utf8_lossy(&again.stdout).into_owned();
    assert!(again.status.success(), "{said}");
    assert!(
        said.contains("sent 1 content(s)") && said.contains("1 already"),
        "{said}"
    );
    assert!(bucket.keys("staging").await.is_empty());

    // A damaged local copy is refused, not sent.
    let objects = dir.path().join("uploads/objects");
    let fake = "00".repeat(32);
    std::fs::create_dir_all(objects.join("00")).unwrap();
    std::fs::write(objects.join("00").join(&fake), b"not what its name says").unwrap();
    let damaged = migrate();
    assert!(!damaged.status.success());
    assert!(String::from_utf8_lossy(&damaged.stdout).contains("damaged, not sent"));
    std::fs::remove_file(objects.join("00").join(&fake)).unwrap();

    // Served from the bucket alone now: the local contents go.
    std::fs::remove_dir_all(&objects).unwrap();
    let mut with_bucket: Vec<(&str, &str)> = bucket_vars(&vars_ref);
    with_bucket.extend(allow_any);
    let server = Process::start(&db, dir.path(), &with_bucket).await;
    let script = server.script();
    script.json_sign_in("sven", "long enough").await;
    for (file, (name, bytes)) in uploaded["files"].as_array().unwrap().iter().zip(&files) {
        let id = file["id"].as_i64().unwrap();
        let download = script.get(&format!("/files/{id}/download")).await;
        assert_eq!(download.status(), StatusCode::OK, "{name}");
        assert!(download.bytes().await.unwrap() == *bytes, "{name}");
    }
    bucket.empty().await;
}

/// The object storage variables among `vars`.
fn bucket_vars<'a>(vars: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    vars.iter()
        .filter(|(name, _)| name.starts_with("AWS_") || *name == "STORAGE_URL")
        .copied()
        .collect()
}

#[tokio::test]
async fn a_staged_object_waiting_for_the_rest_of_its_request_is_kept_alive() {
    let Some(bucket) = TestBucket::create() else {
        return;
    };
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let _migrated = db.spawn().await;
    let vars = bucket.vars();
    let mut all = vars.clone();
    all.extend([
        ("SECRET_KEY", crate::helpers::SECRET.to_owned()),
        ("DATA_DIR", db.data_dir().display().to_string()),
    ]);
    let config = securestamp::config::Config::from_vars(|name| {
        all.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    })
    .unwrap();
    let spill = tempfile::tempdir().unwrap();
    let disk = securestamp::storage::Disk::open(spill.path())
        .await
        .unwrap();
    let store = securestamp::storage::Bucket::new(
        config.object_storage.as_ref().unwrap(),
        disk,
        db.connect().await,
    )
    .unwrap();
    let storage = securestamp::storage::Storage::Bucket(store);

    // A large file done, waiting while the request's next file arrives.
    let mut staging = storage.stage();
    staging.write(&contents(9 * MIB, 5)).await.unwrap();
    let staged = staging.finish().await.unwrap();
    assert_eq!(bucket.keys("staging").await.len(), 1);
    // Hours later, by its row; the keep-alive touches it, so the sweep spares it.
    db.execute("UPDATE object_uploads SET touched_at = touched_at - 7200")
        .await;
    assert_eq!(storage.keep_alive().await.unwrap(), 1);
    let swept = storage
        .sweep_staging(Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(swept, 0, "the live object is not swept");
    assert_eq!(bucket.keys("staging").await.len(), 1);
    // Once its request gives up, it goes, and is no longer kept alive.
    drop(staged);
    assert!(eventually(async || bucket.keys("staging").await.is_empty()).await);
    assert!(eventually(async || db.count("object_uploads").await == 0).await);
    assert_eq!(storage.keep_alive().await.unwrap(), 0);
}
