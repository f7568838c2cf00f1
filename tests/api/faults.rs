//! Faults: the disk that holds the database, or the one that holds the
//! contents, fills up.
//!
//! Needs a small filesystem of its own to fill, named by
//! `SECURESTAMP_TEST_SMALL_FS` (a directory on it; `.ci/run` mounts one).
//! Skipped without it, except under `CI=true`.

use reqwest::StatusCode;

use crate::helpers::{Backend, Database, in_ci};
use crate::private_postgres::PrivatePostgres;

const SMALL_FS: &str = "SECURESTAMP_TEST_SMALL_FS";

fn small_fs() -> Option<std::path::PathBuf> {
    match std::env::var_os(SMALL_FS) {
        Some(dir) => Some(dir.into()),
        None if in_ci() => panic!("{SMALL_FS} is not set (CI requires a small filesystem)"),
        None => None,
    }
}

/// Free bytes on the filesystem holding `dir`.
fn available(dir: &std::path::Path) -> u64 {
    let output = std::process::Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .expect("df");
    let text = String::from_utf8(output.stdout).unwrap();
    text.lines().last().unwrap().trim().parse().unwrap()
}

/// One filesystem to fill, one test at a time.
static SMALL_FS_IN_USE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Which of the server's folders sits on the small filesystem.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnSmallDisk {
    /// `DATABASE_URL`'s SQLite file and `DATA_DIR`; contents elsewhere.
    Database,
    /// `UPLOAD_FOLDER`; the database elsewhere.
    Contents,
    /// The whole cluster of a PostgreSQL server of the test's own (write-ahead
    /// log and all); `DATA_DIR` and contents elsewhere.
    PostgresCluster,
}

#[tokio::test]
async fn a_full_database_disk_refuses_uploads_and_loses_none_it_acknowledged() {
    fill_up(OnSmallDisk::Database).await;
}

/// PostgreSQL answers a full disk with `disk_full` (or, where its write-ahead
/// log cannot grow, by restarting): either way the upload is refused, nothing
/// it acknowledged is lost, and it takes uploads again once there is room.
#[tokio::test]
async fn a_full_postgresql_disk_refuses_uploads_and_loses_none_it_acknowledged() {
    fill_up(OnSmallDisk::PostgresCluster).await;
}

#[tokio::test]
async fn a_full_upload_disk_refuses_uploads_and_loses_none_it_acknowledged() {
    fill_up(OnSmallDisk::Contents).await;
}

/// Uploads until the small disk is full: refusals are 507 `storage_full`,
/// reads go on, uploads resume once there is room again without a restart,
/// nothing is left staged, and every acknowledged file survives a restart.
async fn fill_up(small: OnSmallDisk) {
    let Some(root) = small_fs() else {
        return;
    };
    let _alone = SMALL_FS_IN_USE.lock().await;
    let dir = tempfile::tempdir_in(&root).expect("a folder on the small filesystem");
    // The rest goes to the big disk, and everything outlives the first server.
    let big = tempfile::tempdir().unwrap();
    let (state, contents) = match small {
        OnSmallDisk::Database => (dir.path(), big.path()),
        OnSmallDisk::Contents => (big.path(), dir.path()),
        OnSmallDisk::PostgresCluster => (big.path(), big.path()),
    };
    let mut _postgres = None;
    let db = if small == OnSmallDisk::PostgresCluster {
        // In the filesystem's root: the cluster's own folder is the postgres
        // user's, and `dir` is not open to it.
        let Some(cluster) = PrivatePostgres::start_in(&root) else {
            return;
        };
        let db = Database::existing(Backend::Postgres, cluster.url());
        _postgres = Some(cluster);
        db
    } else {
        let url = format!("sqlite:{}", state.join("db.sqlite3").display());
        Database::existing(Backend::Sqlite, url)
    };
    let data = state.join("data").display().to_string();
    let uploads = contents.join("uploads").display().to_string();
    let vars = [
        ("DATABASE_URL", db.url.as_str()),
        ("DATA_DIR", data.as_str()),
        ("UPLOAD_FOLDER", uploads.as_str()),
    ];
    let app = db.spawn_with(&vars).await;
    let (script, csrf) = app.signed_in_script("alice").await;

    // Leave about half a megabyte to grow into.
    let filler = dir.path().join("filler");
    let room = available(dir.path()).saturating_sub(512 * 1024);
    std::fs::write(&filler, vec![0u8; room as usize]).expect("the filler");

    let mut acknowledged = Vec::new();
    let mut refused = 0;
    // Contents too large to be kept in the database when storage is what fills.
    let padding = match small {
        OnSmallDisk::Contents => 160 * 1024,
        _ => 16 * 1024,
    };
    for i in 0..400 {
        let body = format!("file {i}\n{}", "x".repeat(padding));
        let response = script
            .upload(&csrf, &[(&format!("f{i}.txt"), body.as_bytes())])
            .await;
        match response.status() {
            StatusCode::CREATED => {
                let json: serde_json::Value = response.json().await.unwrap();
                acknowledged.push((json["files"][0]["id"].as_i64().unwrap(), body));
            }
            StatusCode::INSUFFICIENT_STORAGE => {
                let json: serde_json::Value = response.json().await.unwrap();
                assert_eq!(json["error"]["code"], "storage_full");
                refused += 1;
                if refused == 5 {
                    break;
                }
            }
            // PostgreSQL that cannot grow its write-ahead log stops and
            // restarts its sessions (a PANIC): the database is away a moment.
            StatusCode::SERVICE_UNAVAILABLE if small == OnSmallDisk::PostgresCluster => {
                let json: serde_json::Value = response.json().await.unwrap();
                assert_eq!(json["error"]["code"], "service_unavailable");
                eprintln!("upload {i}: 503");
                refused += 1;
                if refused == 5 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            other => panic!(
                "upload {i} answered {other}: {}",
                response.text().await.unwrap()
            ),
        }
    }
    assert_eq!(refused, 5, "the disk never filled");
    assert!(!acknowledged.is_empty());
    eprintln!(
        "{} uploads acknowledged before the disk filled",
        acknowledged.len()
    );
    if small == OnSmallDisk::PostgresCluster {
        // Should PostgreSQL have restarted its sessions, it takes a moment.
        for _ in 0..30 {
            if script.get("/readyz").await.status() == StatusCode::OK {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
    // Reads go on while the disk is full, and no refused upload left bytes behind.
    let (first, body) = &acknowledged[0];
    let page = script.get(&format!("/files/{first}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let download = script.get(&format!("/files/{first}/download")).await;
    assert_eq!(&download.text().await.unwrap(), body);
    let staged = std::fs::read_dir(contents.join("uploads").join("staging"))
        .unwrap()
        .count();
    assert_eq!(staged, 0, "refused uploads leave nothing staged");

    // Space comes back: uploads are accepted again without a restart.
    std::fs::remove_file(&filler).unwrap();
    let body = "after the disk had room again\n".to_owned();
    let response = script
        .upload(&csrf, &[("again.txt", body.as_bytes())])
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let json: serde_json::Value = response.json().await.unwrap();
    acknowledged.push((json["files"][0]["id"].as_i64().unwrap(), body));
    drop(app);

    // Every acknowledged file is there after a restart, contents and all.
    let app = db.spawn_with(&vars).await;
    let script = app.script();
    let login = script.csrf("/auth/login").await;
    let signed_in = script
        .post_json(
            "/auth/login",
            &login,
            serde_json::json!({"username": "alice", "password": "long enough"}),
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    for (id, body) in &acknowledged {
        let download = script.get(&format!("/files/{id}/download")).await;
        assert_eq!(download.status(), StatusCode::OK, "file {id}");
        assert_eq!(&download.text().await.unwrap(), body, "file {id}");
    }
}
