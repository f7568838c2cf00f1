//! One site on several machines: processes with data directories of their
//! own, one database, and the signing keys carried over with
//! `securestamp keys export` and `keys import`.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, Database, Process, SECRET};
use crate::startup::securestamp;

/// The variables `Process::start` gives a server in `dir`.
fn vars_for(db: &Database, dir: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", db.url.clone()),
        ("SECRET_KEY", SECRET.to_owned()),
        ("DATA_DIR", dir.join("data").display().to_string()),
        ("UPLOAD_FOLDER", dir.join("uploads").display().to_string()),
    ]
}

fn keys(
    dir: &std::path::Path,
    args: &[&str],
    vars: &[(&'static str, String)],
) -> std::process::Output {
    let vars: Vec<(&str, &str)> = vars
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let mut all = vec!["keys"];
    all.extend_from_slice(args);
    securestamp(dir, &all, &vars)
}

#[tokio::test]
async fn two_machines_with_their_own_data_directories_serve_one_site() {
    use std::os::unix::fs::PermissionsExt;
    let Some(db) = Database::create(Backend::Postgres).await else {
        return;
    };
    let (first_dir, second_dir, stranger_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let first = Process::start(&db, first_dir.path(), &[]).await;
    let (first_vars, second_vars) = (
        vars_for(&db, first_dir.path()),
        vars_for(&db, second_dir.path()),
    );

    // The keys leave the first machine in one owner-only archive...
    let archive = first_dir.path().join("keys.tar");
    let exported = keys(
        first_dir.path(),
        &["export", archive.to_str().unwrap()],
        &first_vars,
    );
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    assert_eq!(
        std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let again = keys(
        first_dir.path(),
        &["export", archive.to_str().unwrap()],
        &first_vars,
    );
    assert!(!again.status.success(), "an archive is never overwritten");

    // ...and land on the second, once; a different set is refused there.
    let imported = keys(
        second_dir.path(),
        &["import", archive.to_str().unwrap()],
        &second_vars,
    );
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let twice = keys(
        second_dir.path(),
        &["import", archive.to_str().unwrap()],
        &second_vars,
    );
    assert!(twice.status.success(), "the same keys again change nothing");
    let stranger_vars = vars_for(&db, stranger_dir.path());
    let other = stranger_dir.path().join("other.tar");
    assert!(
        keys(
            stranger_dir.path(),
            &["export", other.to_str().unwrap()],
            &stranger_vars
        )
        .status
        .success()
    );
    let refused = keys(
        second_dir.path(),
        &["import", other.to_str().unwrap()],
        &second_vars,
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("holds other keys"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    for file in [
        "tsa/key.pem",
        "openpgp/secret.asc",
        "log/key",
        "log/key.vkey",
    ] {
        let at = |dir: &tempfile::TempDir| {
            std::fs::read(dir.path().join("data/keys").join(file)).unwrap()
        };
        assert_eq!(
            at(&first_dir),
            at(&second_dir),
            "{file} is the first machine's"
        );
        let mode = std::fs::metadata(second_dir.path().join("data/keys").join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    // An archive that is not one, or whose keys do not load, lands nothing.
    let broken = stranger_dir.path().join("broken.tar");
    std::fs::write(&broken, b"not an archive at all").unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let fresh_vars = vars_for(&db, fresh.path());
    assert!(
        !keys(
            fresh.path(),
            &["import", broken.to_str().unwrap()],
            &fresh_vars
        )
        .status
        .success()
    );
    let mut wrong_user = fresh_vars.clone();
    wrong_user.push(("GPG_USER", "Someone Else <else@example.com>".into()));
    let mismatch = keys(
        fresh.path(),
        &["import", archive.to_str().unwrap()],
        &wrong_user,
    );
    assert!(!mismatch.status.success());
    assert!(!fresh.path().join("data/keys").exists(), "nothing landed");

    // A session made on one machine works on the other; an upload through
    // one is listed and verified, as this server's, through the other.
    let second = Process::start(&db, second_dir.path(), &[]).await;
    let script = first.script();
    let csrf = script.new_account("mallory").await;
    let uploaded = script
        .upload(&csrf, &[("minutes.txt", b"what was agreed")])
        .await;
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let id = uploaded.json::<Value>().await.unwrap()["files"][0]["id"]
        .as_i64()
        .unwrap();
    // Cookies belong to the host, not the port: the same client reaches the second.
    let listed = script
        .http
        .get(format!("{}/files", second.base))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed["files"][0]["id"], id);
    let receipt = script
        .http
        .get(format!("{}/files/{id}/receipt", second.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let at_second = crate::helpers::Client::at(second.base.clone(), true);
    let checked: Value = at_second
        .verify(&receipt, "minutes.txt", b"what was agreed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(checked["issued_by_this_server"], true, "{checked}");
    assert_eq!(checked["all_hold"], true, "{checked}");

    // One log: both publish the same checkpoint once the entry is in it.
    let mut same = false;
    for _ in 0..100 {
        let a = crate::helpers::http_client()
            .get(format!("{}/log/checkpoint", first.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let b = crate::helpers::http_client()
            .get(format!("{}/log/checkpoint", second.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if a == b && a.lines().nth(1) == Some("1") {
            same = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(same, "both machines publish one checkpoint of one entry");
}

/// Carrying keys needs neither `SECRET_KEY` nor an upload folder: an
/// operator's shell on another machine has only the data directory.
#[tokio::test]
async fn keys_are_exported_without_secret_key_or_upload_folder() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    drop(db.spawn().await);
    let cwd = tempfile::tempdir().unwrap();
    let archive = cwd.path().join("keys.tar");
    let vars = [
        ("DATABASE_URL", db.url.clone()),
        ("DATA_DIR", db.data_dir().display().to_string()),
    ];
    let exported = keys(cwd.path(), &["export", archive.to_str().unwrap()], &vars);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    assert!(archive.exists());
    assert!(
        !cwd.path().join("uploads").exists(),
        "no upload folder is made"
    );
    let listed = securestamp(cwd.path(), &["user", "list"], &[("DATABASE_URL", &db.url)]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
}
