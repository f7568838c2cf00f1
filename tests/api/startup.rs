//! The binary itself: start-up refusals, `db upgrade`, and the original
//! application's `.env` and database.

use std::process::{Command, Output};
use std::time::Duration;

use crate::helpers::{Backend, Database, SECRET};

pub(crate) fn securestamp(dir: &std::path::Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_securestamp"));
    command
        .current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (name, value) in vars {
        command.env(name, value);
    }
    command.output().expect("run securestamp")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The last line of stderr: the one that explains the refusal.
fn refusal(output: &Output) -> String {
    stderr(output).lines().last().unwrap_or_default().to_owned()
}

#[test]
fn a_bad_database_url_stops_start_up_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    for (url, expected) in [
        ("oracle://db/x", "unsupported database"),
        ("mysql://root@127.0.0.1:1/nothing", "cannot connect"),
        ("postgres://", "no host"),
    ] {
        let output = securestamp(
            dir.path(),
            &["serve"],
            &[("DATABASE_URL", url), ("SECRET_KEY", SECRET)],
        );
        assert!(!output.status.success(), "{url} must not start");
        let line = refusal(&output);
        assert!(
            line.starts_with("error: DATABASE_URL: ") && line.contains(expected),
            "{url}: {line}"
        );
    }
}

#[test]
fn other_bad_values_name_their_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value) in [
        ("BIND", "not-an-address"),
        ("MAX_CONTENT_LENGTH", "lots"),
        ("ONION_URL", "https://example.com"),
        ("ALLOWED_EXTENSIONS", "../exe"),
        ("SECURESTAMP_ENV", "staging"),
        ("SESSION_IDLE_TIMEOUT", "forever"),
        ("PASSWORD_WORKERS", "0"),
        ("PASSWORD_QUEUE", "many"),
        ("KEY_PASSPHRASE_FILE", "/nonexistent/passphrase"),
    ] {
        let output = securestamp(
            dir.path(),
            &["serve"],
            &[(name, value), ("SECRET_KEY", SECRET)],
        );
        assert!(!output.status.success());
        assert!(
            refusal(&output).starts_with(&format!("error: {name}: ")),
            "{name}: {}",
            stderr(&output)
        );
    }
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, b"").unwrap();
    let output = securestamp(
        dir.path(),
        &["db", "upgrade"],
        &[
            ("UPLOAD_FOLDER", blocked.to_str().unwrap()),
            ("SECRET_KEY", SECRET),
        ],
    );
    assert!(
        refusal(&output).starts_with("error: UPLOAD_FOLDER: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn production_refuses_to_start_without_a_secret_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = securestamp(dir.path(), &["serve"], &[]);
    assert!(!output.status.success());
    assert!(
        refusal(&output).starts_with("error: SECRET_KEY: required in production"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("data/secret_key").exists());
}

#[test]
fn help_and_version_answer() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["db", "--help"],
        &["db", "upgrade", "--help"],
    ] {
        let output = securestamp(dir.path(), args, &[]);
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage: securestamp"),
            "{args:?}"
        );
    }
    let version = securestamp(dir.path(), &["--version"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("securestamp {}", env!("CARGO_PKG_VERSION"))
    );
}

async fn upgrade_twice(backend: Backend) {
    let Some(db) = Database::create(backend).await else {
        return;
    };
    let vars = [("DATABASE_URL", db.url.as_str()), ("SECRET_KEY", SECRET)];
    let first = securestamp(db.dir.path(), &["db", "upgrade"], &vars);
    assert!(first.status.success(), "{}", stderr(&first));
    let all =
        <securestamp::db::migration::Migrator as sea_orm_migration::MigratorTrait>::migrations()
            .len();
    assert!(
        String::from_utf8_lossy(&first.stdout).contains(&format!("applied {all} migration(s)"))
    );
    let second = securestamp(db.dir.path(), &["db", "upgrade"], &vars);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        String::from_utf8_lossy(&second.stdout).trim(),
        "database is up to date"
    );
}

#[tokio::test]
async fn db_upgrade_twice_is_a_no_op_the_second_time_on_sqlite() {
    upgrade_twice(Backend::Sqlite).await;
}

#[tokio::test]
async fn db_upgrade_twice_is_a_no_op_the_second_time_on_mariadb() {
    upgrade_twice(Backend::MariaDb).await;
}

#[tokio::test]
async fn db_upgrade_twice_is_a_no_op_the_second_time_on_postgres() {
    upgrade_twice(Backend::Postgres).await;
}

/// The tables as the original Flask-SQLAlchemy application created them.
pub(crate) const FLASK_SCHEMA: &str = "
    CREATE TABLE users (
        id INTEGER NOT NULL AUTO_INCREMENT,
        username VARCHAR(80) NOT NULL,
        email VARCHAR(120) NOT NULL,
        password_hash VARCHAR(128),
        created_at DATETIME,
        PRIMARY KEY (id),
        UNIQUE (username),
        UNIQUE (email)
    );
    CREATE TABLE files (
        id INTEGER NOT NULL AUTO_INCREMENT,
        filename VARCHAR(255) NOT NULL,
        original_filename VARCHAR(255) NOT NULL,
        user_id INTEGER NOT NULL,
        uploaded_at DATETIME,
        file_path VARCHAR(255) NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(user_id) REFERENCES users (id)
    );
    INSERT INTO users (username, email, password_hash, created_at)
        VALUES ('Legacy', 'Legacy@Example.com',
            'pbkdf2:sha256:1000$saltsaltsalt1234$c3bfd9f93b4a7b6ef4eb3898aa7b46584a72c32701847460b4b20dfa19270c64',
            '2024-01-02 03:04:05');
";

#[tokio::test]
async fn the_original_env_file_starts_the_service_on_an_existing_mariadb_database() {
    let Some(db) = Database::create(Backend::MariaDb).await else {
        return;
    };
    for statement in FLASK_SCHEMA.split(';').filter(|s| !s.trim().is_empty()) {
        db.execute(statement).await;
    }
    let dir = db.dir.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.join(".env"),
        format!(
            "FLASK_APP=app.py\nFLASK_ENV=development\nSECRET_KEY=dev-secret-key-change-in-production\n\
             DATABASE_URL={}\nUPLOAD_FOLDER=uploads\nBIND=127.0.0.1:{port}\n",
            db.url
        ),
    )
    .unwrap();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_securestamp"))
        .current_dir(dir)
        .env_clear()
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = crate::helpers::http_client_builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let mut ready = None;
    for _ in 0..100 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            ready = Some(response.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The original application's user signs in with the password it chose there.
    let signed_in = legacy_sign_in(&client, &base).await;
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        ready,
        Some(reqwest::StatusCode::OK),
        "the service came up on the original .env"
    );
    assert_eq!(
        signed_in,
        Some(reqwest::StatusCode::OK),
        "the legacy user signs in"
    );
    assert!(dir.join("uploads").is_dir());

    // The existing user was kept, given its case-folded keys, and moved to Argon2id.
    let legacy = db.connect().await;
    use sea_orm::{ConnectionTrait, Statement};
    let row = legacy
        .query_one_raw(Statement::from_string(
            legacy.get_database_backend(),
            "SELECT username, username_key, email_key, password_hash FROM users WHERE id = 1",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<String>("", "username").unwrap(), "Legacy");
    assert_eq!(row.try_get::<String>("", "username_key").unwrap(), "legacy");
    assert_eq!(
        row.try_get::<String>("", "email_key").unwrap(),
        "legacy@example.com"
    );
    let hash = row.try_get::<String>("", "password_hash").unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

async fn legacy_sign_in(client: &reqwest::Client, base: &str) -> Option<reqwest::StatusCode> {
    let page = client
        .get(format!("{base}/auth/login"))
        .header("accept", "application/json")
        .send()
        .await
        .ok()?;
    let csrf = page.json::<serde_json::Value>().await.ok()?["csrf_token"]
        .as_str()?
        .to_owned();
    let body = serde_json::json!({"username": "legacy@example.com", "password": "correct horse"});
    let answer = client
        .post(format!("{base}/auth/login"))
        .header("accept", "application/json")
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .ok()?;
    Some(answer.status())
}

/// Folders and files left open to other accounts (by an older version, or
/// copied in) are closed at start; what the server makes is its user's only.
#[tokio::test]
async fn the_data_the_server_keeps_is_readable_by_its_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let open = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let uploads = root.path().join("uploads");
    let sqlite = data.join("db.sqlite3");
    let url = format!("sqlite:{}", sqlite.display());
    let db = Database::existing(Backend::Sqlite, url.clone());
    let vars = [
        ("DATABASE_URL", url.as_str()),
        ("DATA_DIR", data.to_str().unwrap()),
        ("UPLOAD_FOLDER", uploads.to_str().unwrap()),
    ];
    // As a first start with a umask of 022 would have left them.
    for folder in [&data, &uploads] {
        std::fs::create_dir(folder).unwrap();
        open(folder, 0o755);
    }
    let app = db.spawn_with(&vars).await;
    let (script, csrf) = app.signed_in_script("wendy").await;
    // Too large to be kept in the database: a file in storage.
    let stored = script
        .upload(&csrf, &[("mine.txt", &vec![b'n'; 200 * 1024])])
        .await;
    assert_eq!(stored.status(), reqwest::StatusCode::CREATED);
    drop(app);
    for folder in [
        &data,
        &uploads,
        &uploads.join("objects"),
        &uploads.join("staging"),
    ] {
        assert_eq!(mode(folder), 0o700, "{}", folder.display());
    }
    assert_eq!(mode(&sqlite), 0o600);
    let objects: Vec<_> = walk(&uploads.join("objects"));
    assert_eq!(objects.len(), 1);
    assert_eq!(mode(&objects[0]), 0o600);
    for folder in objects[0]
        .ancestors()
        .skip(1)
        .take_while(|f| f.starts_with(&uploads))
    {
        assert_eq!(mode(folder), 0o700, "{}", folder.display());
    }

    // Opened up again by hand: the next start closes them.
    for file in [&data, &uploads] {
        open(file, 0o755);
    }
    open(&sqlite, 0o644);
    let _app = db.spawn_with(&vars).await;
    assert_eq!(
        (mode(&data), mode(&uploads), mode(&sqlite)),
        (0o700, 0o700, 0o600)
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
