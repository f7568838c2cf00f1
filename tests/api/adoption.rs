//! Moving in from the original Flask application: its MariaDB database,
//! made with its own `CREATE TABLE` statements, and its files on disk.
//! After `db upgrade` and `db import-files`, its users sign in with their
//! Werkzeug passwords and find every file, under its old id, with proofs.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, Client, Database, Process, SECRET};
use crate::startup::{FLASK_SCHEMA, securestamp};

/// What the original application stored: its row's `filename`, the
/// `file_path` it recorded, and the bytes.
struct OldFile {
    filename: &'static str,
    original: &'static str,
    /// Relative to the folder it ran in, or absolute when it starts with `/`.
    file_path: String,
    uploaded_at: Option<&'static str>,
    content: &'static [u8],
}

#[tokio::test]
async fn the_original_applications_files_are_imported_with_proofs_and_none_is_lost() {
    let Some(db) = Database::create(Backend::MariaDb).await else {
        return;
    };
    for statement in FLASK_SCHEMA.split(';').filter(|s| !s.trim().is_empty()) {
        db.execute(statement).await;
    }
    let dir = db.dir.path();
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(dir.join("uploads")).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let old = [
        // As it recorded them: the upload folder joined with the stored name.
        OldFile {
            filename: "1a2b_report.pdf",
            original: "report.pdf",
            file_path: "uploads/1a2b_report.pdf".into(),
            uploaded_at: Some("2024-02-03 04:05:06"),
            content: b"%PDF-1.4\nthe annual report",
        },
        // An absolute path elsewhere on the machine.
        OldFile {
            filename: "3c4d_notes.txt",
            original: "notes.txt",
            file_path: elsewhere.join("3c4d_notes.txt").display().to_string(),
            uploaded_at: None,
            content: b"meeting notes",
        },
        // A path from a machine it ran on before: found by its stored name.
        OldFile {
            filename: "5e6f_photo.txt",
            original: "photo.txt",
            file_path: "/srv/old-host/uploads/5e6f_photo.txt".into(),
            uploaded_at: Some("2024-05-06 07:08:09"),
            content: b"not really a photo",
        },
        // Not on this disk yet.
        OldFile {
            filename: "7a8b_later.txt",
            original: "later.txt",
            file_path: "uploads/7a8b_later.txt".into(),
            uploaded_at: None,
            content: b"arrives later",
        },
    ];
    for (i, file) in old.iter().enumerate() {
        let at = file
            .uploaded_at
            .map_or("NULL".to_owned(), |at| format!("'{at}'"));
        db.execute(&format!(
            "INSERT INTO files (filename, original_filename, user_id, uploaded_at, file_path) VALUES ('{}', '{}', 1, {at}, '{}')",
            file.filename, file.original, file.file_path
        ))
        .await;
        let on_disk = match i {
            0 => dir.join(&file.file_path),
            1 => elsewhere.join(file.filename),
            2 => dir.join("uploads").join(file.filename),
            _ => continue,
        };
        std::fs::write(on_disk, file.content).unwrap();
    }
    let data = dir.join("data");
    let uploads = dir.join("uploads");
    let vars = [
        ("DATABASE_URL", db.url.as_str()),
        ("SECRET_KEY", SECRET),
        ("DATA_DIR", data.to_str().unwrap()),
        ("UPLOAD_FOLDER", uploads.to_str().unwrap()),
    ];
    let upgraded = securestamp(dir, &["db", "upgrade"], &vars);
    assert!(
        upgraded.status.success(),
        "{}",
        String::from_utf8_lossy(&upgraded.stderr)
    );

    // Three files can be read; the fourth's row is kept and named.
    let first = securestamp(dir, &["db", "import-files"], &vars);
    let said = String::from_utf8_lossy(&first.stdout);
    assert_eq!(
        first.status.code(),
        Some(1),
        "{said}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(said.contains("imported 3 file(s)"), "{said}");
    assert!(said.contains("left file 4:"), "{said}");
    assert_eq!(db.count("files").await, 4, "no row is lost");

    // Once it is in place, a second run imports it, and a third finds nothing to do.
    std::fs::write(dir.join(&old[3].file_path), old[3].content).unwrap();
    let second = securestamp(dir, &["db", "import-files"], &vars);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(String::from_utf8_lossy(&second.stdout).contains("imported 1 file(s)"));
    let third = securestamp(dir, &["db", "import-files"], &vars);
    assert!(third.status.success());
    assert!(String::from_utf8_lossy(&third.stdout).contains("imported 0 file(s)"));
    for (i, file) in old.iter().enumerate() {
        let path = match i {
            1 => elsewhere.join(file.filename),
            2 => uploads.join(file.filename),
            _ => dir.join(&file.file_path),
        };
        assert_eq!(
            std::fs::read(path).unwrap(),
            file.content,
            "the old files are left as they were"
        );
    }

    // The old user signs in with the Werkzeug password and finds them all.
    let server = Process::start(&db, dir, &[]).await;
    let script = server.script();
    script
        .json_sign_in("legacy@example.com", "correct horse")
        .await;
    let listed: Value = script.get("/files").await.json().await.unwrap();
    let files = listed["files"].as_array().unwrap();
    assert_eq!(files.len(), 4, "{listed}");
    for (file, id) in files.iter().zip([4, 3, 2, 1]) {
        assert_eq!(file["id"], id, "each keeps its id");
        assert_eq!(file["imported"], true);
        let old = &old[id as usize - 1];
        assert_eq!(file["original_filename"], old.original);
        assert_eq!(file["size"], old.content.len());
        let claimed = old
            .uploaded_at
            .map(|at| format!("{}Z", at.replace(' ', "T")));
        assert_eq!(
            file["legacy_uploaded_at"]
                .as_str()
                .map(|at| at.replace(".000000", "")),
            claimed
        );
        let content = script
            .get(&format!("/files/{id}/download"))
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(&content[..], old.content);
        let receipt = script
            .get(&format!("/files/{id}/receipt"))
            .await
            .bytes()
            .await
            .unwrap();
        let checked: Value = script
            .verify(&receipt, old.original, old.content)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(checked["all_hold"], true, "{checked}");
    }

    // The file page says what the proofs do and do not cover.
    let browser = Client::at(server.base.clone(), false);
    assert_eq!(
        browser.sign_in("Legacy", "correct horse").await.status(),
        StatusCode::SEE_OTHER
    );
    let page = browser.get("/files/1").await.text().await.unwrap();
    assert!(page.contains("Imported from the earlier SecureStamp, which recorded its upload on 2024-02-03 04:05:06 UTC"), "{page}");
    assert!(page.contains("nothing proves it existed before"));
    let dashboard = browser.get("/dashboard").await.text().await.unwrap();
    assert_eq!(dashboard.matches(">Imported</span>").count(), 4);
}
