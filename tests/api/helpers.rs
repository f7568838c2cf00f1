//! The test harness: a real server on port 0 with a temporary data directory
//! and a fresh database per test, and HTTP clients that behave like a browser
//! (cookie jar, CSRF token scraped from the form) or like a script (JSON).

use std::collections::HashMap;
use std::net::SocketAddr;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use reqwest::{Response, StatusCode, redirect};
use sea_orm::{ConnectionTrait, Statement};
use securestamp::config::Config;
use securestamp::startup::Application;
use tokio::sync::oneshot;

pub const SECRET: &str = "test secret key that is long enough for HMAC keys";

/// The databases the account tests run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MariaDb,
    Postgres,
}

/// Runs each test body once per database: `name::sqlite`, `name::mariadb`, `name::postgres`.
macro_rules! on_every_database {
    ($(async fn $name:ident($db:ident) $body:block)*) => {
        $(crate::helpers::on_every_database!(@one $name $db $body {});)*
    };
    // One test's module, with `extra` tests beside the three databases'.
    (@one $name:ident $db:ident $body:block { $($extra:item)* }) => {
        mod $name {
            use super::*;

            async fn run($db: crate::helpers::Database) $body

            #[tokio::test]
            async fn sqlite() {
                if let Some(db) = crate::helpers::Database::create(crate::helpers::Backend::Sqlite).await { run(db).await }
            }

            #[tokio::test]
            async fn mariadb() {
                if let Some(db) = crate::helpers::Database::create(crate::helpers::Backend::MariaDb).await { run(db).await }
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(db) = crate::helpers::Database::create(crate::helpers::Backend::Postgres).await { run(db).await }
            }

            $($extra)*
        }
    };
}
pub(crate) use on_every_database;

/// [`on_every_database`], and once more on SQLite with the contents in the
/// test bucket (`name::bucket`) instead of on the local disk.
macro_rules! on_every_storage {
    ($(async fn $name:ident($db:ident) $body:block)*) => {
        $(crate::helpers::on_every_database!(@one $name $db $body {
            #[tokio::test]
            async fn bucket() {
                let Some(bucket) = crate::object_storage::TestBucket::create() else { return };
                if let Some(db) = crate::helpers::Database::create(crate::helpers::Backend::Sqlite).await {
                    run(db.with_bucket(bucket)).await
                }
            }
        });)*
    };
}
pub(crate) use on_every_storage;

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits, if need be, until the sign-in allowances' fixed windows (a quarter
/// of an hour, a day) have a minute left to run, so that a test counting
/// attempts sees them all fall in one window.
pub async fn clear_of_window_edges() {
    const MARGIN: u64 = 60;
    let now = unix_now();
    let left = [15 * 60, 24 * 60 * 60]
        .into_iter()
        .map(|window| window - now % window)
        .filter(|&left| left < MARGIN)
        .max();
    if let Some(left) = left {
        tokio::time::sleep(std::time::Duration::from_secs(left + 1)).await;
    }
}

/// The code an authenticator app shows for `secret` (base32) at `time`.
pub fn totp_code(secret: &str, time: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("a base32 secret");
    totp_rs::Builder::new()
        .with_secret(secret.as_bytes().to_vec())
        .with_account_name("test")
        .build()
        .expect("an authenticator")
        .generate(time)
        .to_string()
}

/// An HTTP client for the tests. reqwest runs on rustls with the process's
/// crypto provider (as the server's object storage client does), so one is
/// installed first.
pub fn http_client() -> reqwest::Client {
    http_client_builder().build().expect("HTTP client")
}

pub fn http_client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::ClientBuilder::new()
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

/// A database of its own for one test: a temporary SQLite file, or a freshly
/// created MariaDB/PostgreSQL database that is dropped when this is dropped.
pub struct Database {
    /// The test bucket its servers keep their contents in, if not the disk.
    pub bucket: Option<std::sync::Arc<crate::object_storage::TestBucket>>,
    pub backend: Backend,
    /// What the server is given as `DATABASE_URL`.
    pub url: String,
    admin: Option<(String, String)>,
    pub dir: tempfile::TempDir,
}

impl Database {
    /// `None` (with a note) when the server is unreachable on a developer's
    /// machine; under `CI=true` that is a failure instead.
    pub async fn create(backend: Backend) -> Option<Database> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let name = format!(
            "securestamp_test_{}",
            hex::encode(rand::random::<[u8; 6]>())
        );
        let admin_url = match backend {
            Backend::Sqlite => {
                let url = format!("sqlite:{}", dir.path().join("test.sqlite3").display());
                return Some(Database {
                    bucket: None,
                    backend,
                    url,
                    admin: None,
                    dir,
                });
            }
            Backend::MariaDb => std::env::var("TEST_MYSQL_URL")
                .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
            Backend::Postgres => std::env::var("TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        };
        let admin = match Database::connect_admin(&admin_url).await {
            Ok(admin) => admin,
            Err(error) if !in_ci() => {
                eprintln!("skipped: {backend:?} is unreachable at {admin_url}: {error}");
                return None;
            }
            Err(error) => {
                panic!("{backend:?} is unreachable at {admin_url} (CI requires it): {error}")
            }
        };
        let backend_kind = admin.get_database_backend();
        admin
            .execute_raw(Statement::from_string(
                backend_kind,
                format!("CREATE DATABASE {name}"),
            ))
            .await
            .expect("create the test database");
        let _ = admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("admin URL");
        url.set_path(&name);
        Some(Database {
            bucket: None,
            backend,
            url: url.to_string(),
            admin: Some((admin_url, name)),
            dir,
        })
    }

    /// A database the test runs itself (nothing is created or dropped).
    pub fn existing(backend: Backend, url: String) -> Database {
        Database {
            bucket: None,
            backend,
            url,
            admin: None,
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    async fn connect_admin(url: &str) -> Result<sea_orm::DatabaseConnection, sea_orm::DbErr> {
        let mut options = sea_orm::ConnectOptions::new(url.to_owned());
        options
            .connect_timeout(std::time::Duration::from_secs(3))
            .sqlx_logging(false);
        Database::connect_with(options).await
    }

    async fn connect_with(
        options: sea_orm::ConnectOptions,
    ) -> Result<sea_orm::DatabaseConnection, sea_orm::DbErr> {
        sea_orm::Database::connect(options).await
    }

    /// A direct connection, for looking behind the server's back.
    pub async fn connect(&self) -> sea_orm::DatabaseConnection {
        let url = match self.backend {
            Backend::Sqlite => format!("{}?mode=rwc", self.url.replacen("sqlite:", "sqlite://", 1)),
            _ => self.url.clone(),
        };
        let mut options = sea_orm::ConnectOptions::new(url);
        options.sqlx_logging(false);
        sea_orm::Database::connect(options)
            .await
            .expect("connect to the test database")
    }

    /// Runs one statement directly against the database.
    pub async fn execute(&self, sql: &str) {
        let db = self.connect().await;
        db.execute_unprepared(sql).await.expect(sql);
        let _ = db.close().await;
    }

    /// `SELECT COUNT(*)` of a table.
    pub async fn count(&self, table: &str) -> i64 {
        self.count_where(table, "").await
    }

    /// `SELECT COUNT(*)` of the rows of a table that meet `condition`
    /// (all of them when it is empty).
    pub async fn count_where(&self, table: &str, condition: &str) -> i64 {
        let condition = match condition {
            "" => String::new(),
            condition => format!(" WHERE {condition}"),
        };
        let db = self.connect().await;
        let backend = db.get_database_backend();
        let row = db
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT COUNT(*) AS n FROM {table}{condition}"),
            ))
            .await
            .expect("count query")
            .expect("one row");
        let _ = db.close().await;
        row.try_get::<i64>("", "n").expect("a count")
    }

    /// The `DATA_DIR` its servers share: their keys live there.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    /// Its servers keep their contents in `bucket`.
    pub fn with_bucket(mut self, bucket: crate::object_storage::TestBucket) -> Database {
        self.bucket = Some(std::sync::Arc::new(bucket));
        self
    }

    /// Starts a server on this database.
    pub async fn spawn(&self) -> TestApp {
        self.spawn_with(&[]).await
    }

    /// Starts a server on this database with extra configuration variables.
    pub async fn spawn_with(&self, extra: &[(&str, &str)]) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        let mut vars: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), self.url.clone()),
            ("SECRET_KEY".into(), SECRET.into()),
            ("BIND".into(), "127.0.0.1:0".into()),
            // One deployment: every server on this database shares its keys.
            (
                "DATA_DIR".into(),
                self.dir.path().join("data").display().to_string(),
            ),
            (
                "UPLOAD_FOLDER".into(),
                data_dir.path().join("uploads").display().to_string(),
            ),
        ]);
        if let Some(bucket) = &self.bucket {
            vars.extend(
                bucket
                    .vars()
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), value)),
            );
            // The disk's default list, as on the disk.
            vars.remove("ALLOWED_EXTENSIONS");
        }
        for (name, value) in extra {
            vars.insert((*name).into(), (*value).into());
        }
        let config = Config::from_vars(|name| vars.get(name).cloned()).expect("test configuration");
        config.prepare_directories().expect("test directories");
        let app = Application::build(config).await.expect("the server starts");
        let address = app.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        TestApp {
            address,
            _stop: stop,
            data_dir,
            bucket: self.bucket.clone(),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.admin.take() else {
            return;
        };
        let backend = self.backend;
        // Drop runs inside the test's runtime, which cannot be blocked on; a
        // thread with a runtime of its own does the cleanup.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let Ok(admin) = Database::connect_admin(&admin_url).await else {
                    return;
                };
                let kind = admin.get_database_backend();
                // The server under test may still hold a transaction (its log's
                // sequencer runs in the background), and this thread blocks the
                // runtime it would finish on: end its connections first, as
                // PostgreSQL's FORCE does.
                if backend == Backend::MariaDb {
                    let list = format!(
                        "SELECT CAST(id AS SIGNED) AS id FROM information_schema.processlist WHERE db = '{name}'"
                    );
                    if let Ok(rows) = admin
                        .query_all_raw(Statement::from_string(kind, list))
                        .await
                    {
                        for row in rows {
                            if let Ok(id) = row.try_get::<i64>("", "id") {
                                let _ = admin
                                    .execute_raw(Statement::from_string(kind, format!("KILL {id}")))
                                    .await;
                            }
                        }
                    }
                    // Should one slip through, give up on the drop rather than wait forever.
                    let timeout = "SET SESSION lock_wait_timeout = 30";
                    let _ = admin.execute_raw(Statement::from_string(kind, timeout)).await;
                }
                let sql = match backend {
                    Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    _ => format!("DROP DATABASE IF EXISTS {name}"),
                };
                let _ = admin.execute_raw(Statement::from_string(kind, sql)).await;
                let _ = admin.close().await;
            });
        });
        let _ = cleanup.join();
    }
}

/// A running server; it stops when this is dropped.
pub struct TestApp {
    pub address: SocketAddr,
    _stop: oneshot::Sender<()>,
    data_dir: tempfile::TempDir,
    bucket: Option<std::sync::Arc<crate::object_storage::TestBucket>>,
}

impl TestApp {
    /// The server's `UPLOAD_FOLDER`.
    pub fn uploads(&self) -> std::path::PathBuf {
        self.data_dir.path().join("uploads")
    }

    /// What is stored under `<folder>` (`staging` or `objects`): files under
    /// `UPLOAD_FOLDER`, and with a bucket its keys there too (as paths under
    /// `UPLOAD_FOLDER`).
    pub fn stored_files(&self, folder: &str) -> Vec<std::path::PathBuf> {
        fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found)
                } else {
                    found.push(path)
                }
            }
        }
        let mut found = Vec::new();
        walk(&self.uploads().join(folder), &mut found);
        if let Some(bucket) = &self.bucket {
            // The disk keeps no objects then: only small uploads waiting.
            found.retain(|_| folder == "staging");
            let keys = bucket.keys_blocking(folder);
            found.extend(keys.iter().map(|key| self.uploads().join(key)));
        }
        found
    }

    /// How many contents are stored: objects in storage, and small
    /// contents kept in the database.
    pub async fn stored_contents(&self, db: &Database) -> usize {
        let inline = db.count_where("blobs", "content IS NOT NULL").await;
        self.stored_files("objects").len() + inline as usize
    }

    /// A script signed in as a new user `name`, with its session's CSRF token.
    pub async fn signed_in_script(&self, name: &str) -> (Client, String) {
        let script = self.script();
        let csrf = script.new_account(name).await;
        (script, csrf)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// A browser: keeps cookies, sends `Origin` and `Sec-Fetch-Site` on
    /// writes, never follows redirects by itself (tests assert them).
    pub fn browser(&self) -> Client {
        Client::new(self, false)
    }

    /// A script that asks for JSON.
    pub fn script(&self) -> Client {
        Client::new(self, true)
    }
}

/// A `securestamp serve` process of its own, with `DATA_DIR` and
/// `UPLOAD_FOLDER` under `dir`; killed (SIGKILL) when dropped.
pub struct Process {
    child: std::process::Child,
    pub base: String,
}

impl Process {
    /// Starts the server and waits until `/readyz` answers.
    pub async fn start(db: &Database, dir: &std::path::Path, extra: &[(&str, &str)]) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_securestamp"));
        command
            .env_clear()
            .env("DATABASE_URL", &db.url)
            .env("SECRET_KEY", SECRET)
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("DATA_DIR", dir.join("data"))
            .env("UPLOAD_FOLDER", dir.join("uploads"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (name, value) in extra {
            command.env(name, value);
        }
        let mut process = Process {
            child: command.spawn().expect("the securestamp binary"),
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = crate::helpers::http_client();
        for _ in 0..400 {
            if let Ok(response) = http.get(format!("{}/readyz", process.base)).send().await
                && response.status() == StatusCode::OK
            {
                return process;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!("the server exited at start: {status}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        process.kill();
        panic!("the server did not come up");
    }

    /// A script that asks for JSON.
    pub fn script(&self) -> Client {
        Client::at(self.base.clone(), true)
    }

    /// SIGKILL, and waits for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM: the server finishes what it is doing and exits.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits (without blocking the runtime) until the process has exited.
    pub async fn exited(&mut self, within: std::time::Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("the server's status") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server still runs after {within:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Client {
    pub http: reqwest::Client,
    base: String,
    json: bool,
}

impl Client {
    fn new(app: &TestApp, json: bool) -> Client {
        Client::at(app.url(""), json)
    }

    /// A client of the server at `base` (`http://host:port`).
    pub fn at(base: String, json: bool) -> Client {
        Client::at_with_headers(base, json, &[])
    }

    /// [`Client::at`], sending `headers` with every request as well (a
    /// `User-Agent`, an `X-Forwarded-For`).
    pub fn at_with_headers(base: String, json: bool, extra: &[(&str, &str)]) -> Client {
        let mut headers = HeaderMap::new();
        if json {
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        } else {
            headers.insert(
                ACCEPT,
                HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
            );
        }
        for (name, value) in extra {
            let name =
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).expect("a header name");
            headers.insert(name, HeaderValue::from_str(value).expect("a header value"));
        }
        let http = crate::helpers::http_client_builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .default_headers(headers)
            .build()
            .expect("HTTP client");
        Client { http, base, json }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.expect("GET")
    }

    /// Submits a form as a browser does (same-origin headers included).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .header("origin", self.base.clone())
            .header("sec-fetch-site", "same-origin")
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    /// Posts JSON with the CSRF header.
    pub async fn post_json(&self, path: &str, csrf: &str, body: serde_json::Value) -> Response {
        self.http
            .post(self.url(path))
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
            .await
            .expect("POST")
    }

    /// Registers `name` (password "long enough") and signs in as it, through
    /// the JSON API; answers the session's CSRF token.
    pub async fn new_account(&self, name: &str) -> String {
        let csrf = self.csrf("/auth/login").await;
        let body = serde_json::json!({"username": name, "email": format!("{name}@example.com"), "password": "long enough"});
        let created = self.post_json("/auth/register", &csrf, body).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        self.json_sign_in(name, "long enough").await
    }

    /// Signs in through the JSON API; answers the session's CSRF token.
    pub async fn json_sign_in(&self, name: &str, password: &str) -> String {
        let csrf = self.csrf("/auth/login").await;
        let body = serde_json::json!({"username": name, "password": password});
        let signed_in = self.post_json("/auth/login", &csrf, body).await;
        assert_eq!(signed_in.status(), StatusCode::OK, "sign-in as {name}");
        let body: serde_json::Value = signed_in.json().await.unwrap();
        body["csrf_token"]
            .as_str()
            .expect("a session token")
            .to_owned()
    }

    /// Checks `content` against `receipt` at `POST /verify`.
    pub async fn verify(&self, receipt: &[u8], name: &str, content: &[u8]) -> Response {
        let form = reqwest::multipart::Form::new()
            .part(
                "receipt",
                reqwest::multipart::Part::bytes(receipt.to_vec()).file_name("receipt"),
            )
            .part(
                "file",
                reqwest::multipart::Part::bytes(content.to_vec()).file_name(name.to_owned()),
            );
        self.http
            .post(self.url("/verify"))
            .multipart(form)
            .send()
            .await
            .expect("POST /verify")
    }

    /// Uploads `(name, bytes)` files in one request, with the CSRF header.
    pub async fn upload(&self, csrf: &str, files: &[(&str, &[u8])]) -> Response {
        self.try_upload(csrf, files).await.expect("upload")
    }

    /// [`Client::upload`], which may find the server gone.
    pub async fn try_upload(
        &self,
        csrf: &str,
        files: &[(&str, &[u8])],
    ) -> reqwest::Result<Response> {
        let mut form = reqwest::multipart::Form::new();
        for (name, bytes) in files {
            form = form.part(
                "files",
                reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
            );
        }
        self.try_upload_form(csrf, form).await
    }

    /// [`Client::upload`] with an `Idempotency-Key`.
    pub async fn upload_with_key(
        &self,
        csrf: &str,
        key: &str,
        files: &[(&str, &[u8])],
    ) -> Response {
        let mut form = reqwest::multipart::Form::new();
        for (name, bytes) in files {
            form = form.part(
                "files",
                reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
            );
        }
        self.http
            .post(self.url("/upload"))
            .header("x-csrf-token", csrf)
            .header("idempotency-key", key)
            .multipart(form)
            .send()
            .await
            .expect("upload")
    }

    /// `POST /upload` of a form built by the test, parts of any name.
    pub async fn upload_form(&self, csrf: &str, form: reqwest::multipart::Form) -> Response {
        self.try_upload_form(csrf, form).await.expect("upload")
    }

    async fn try_upload_form(
        &self,
        csrf: &str,
        form: reqwest::multipart::Form,
    ) -> reqwest::Result<Response> {
        self.http
            .post(self.url("/upload"))
            .header("x-csrf-token", csrf)
            .multipart(form)
            .send()
            .await
    }

    /// The CSRF token of the form on `path` (HTML) or from its JSON answer.
    pub async fn csrf(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        if self.json {
            let body: serde_json::Value = response.json().await.expect("JSON");
            body["csrf_token"]
                .as_str()
                .expect("csrf_token in the answer")
                .to_owned()
        } else {
            csrf_in(&response.text().await.expect("page"))
        }
    }

    /// Registers through the HTML form; asserts success.
    pub async fn register(&self, username: &str, email: &str, password: &str) {
        let csrf = self.csrf("/auth/register").await;
        let response = self
            .post_form(
                "/auth/register",
                &[
                    ("username", username),
                    ("email", email),
                    ("password", password),
                    ("csrf_token", &csrf),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "registration of {username}"
        );
    }

    /// Signs in through the HTML form and returns the answer.
    pub async fn sign_in(&self, login: &str, password: &str) -> Response {
        let csrf = self.csrf("/auth/login").await;
        self.post_form(
            "/auth/login",
            &[
                ("username", login),
                ("password", password),
                ("csrf_token", &csrf),
            ],
        )
        .await
    }
}

/// The value of the first `csrf_token` hidden field in a page.
pub fn csrf_in(html: &str) -> String {
    let pattern = regex_lite::Regex::new(r#"name="csrf_token"\s+value="([^"]+)""#).unwrap();
    pattern
        .captures(html)
        .unwrap_or_else(|| panic!("no csrf_token field in the page:\n{html}"))[1]
        .to_owned()
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// All `Set-Cookie` headers of a response.
pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok().map(str::to_owned))
        .collect()
}
