//! The pages in headless Chromium, driven through playwright-core by the
//! scripts in `tests/browser/`: the upload page with JavaScript on, and the
//! layout at phone widths and with JavaScript off.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use crate::helpers::{Backend, Database};

fn browser_tools() -> Option<&'static str> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let ready = node
        && Path::new(&chromium).exists()
        && Path::new(dir).join("node_modules/playwright-core").exists();
    ready.then_some(dir)
}

/// The tools' folder, or `None` (with a note) off CI when they are missing;
/// under CI their absence fails the test.
fn browser_tools_or_skip() -> Option<&'static str> {
    let dir = browser_tools();
    if dir.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs node, chromium and `npm ci --prefix tests/browser`"
        );
        eprintln!("skipped: node, chromium or tests/browser/node_modules is missing");
    }
    dir
}

/// Runs `node SCRIPT ARGS…` in the tools' folder, within three minutes, and
/// checks that it passed: a zero exit and `passed` in what it printed, whose
/// output the failure shows.
async fn run_script(dir: &str, script: &str, args: &[&OsStr]) {
    let run = tokio::process::Command::new("node")
        .current_dir(dir)
        .arg(script)
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser run finishes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("passed"),
        "{script} {args:?}: {stdout}\n{stderr}"
    );
}

#[tokio::test]
async fn the_upload_page_shows_progress_cancels_and_reports_refusals_in_a_browser() {
    let Some(dir) = browser_tools_or_skip() else {
        return;
    };
    let db = Database::create(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    // Room for one 80 MiB file in an upload, not two.
    let app = db.spawn_with(&[("MAX_CONTENT_LENGTH", "100MiB")]).await;
    app.browser()
        .register("gwen", "gwen@example.com", "long enough")
        .await;
    let work = tempfile::tempdir().unwrap();
    let base = app.url("");
    let args: [&OsStr; 4] = [
        base.as_ref(),
        "gwen".as_ref(),
        "long enough".as_ref(),
        work.path().as_os_str(),
    ];
    run_script(dir, "upload.js", &args).await;
    assert_eq!(
        db.count("files").await,
        3,
        "only the finished uploads were stored: two picked, one dropped"
    );
    assert!(
        app.stored_files("staging").is_empty(),
        "the cancelled upload left nothing"
    );
}

/// The pages at 1280, 360 and 320 px and with JavaScript off (driven by
/// `tests/browser/layout.js`): nothing scrolls sideways, Download stays on
/// screen, times are local with UTC on hover; without JavaScript a new token
/// is shown once, the receipt comes first, /verify's verdict is plain, and
/// Delete asks first.
#[tokio::test]
async fn the_pages_fit_a_phone_and_deleting_asks_first_without_javascript() {
    let Some(dir) = browser_tools_or_skip() else {
        return;
    };
    let db = Database::create(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let app = db.spawn().await;
    let (script, csrf) = app.signed_in_script("hana").await;
    let long = format!("{}.txt", "a-rather-long-file-name-".repeat(4));
    let stored = script
        .upload(&csrf, &[(long.as_str(), b"wide"), ("short.txt", b"narrow")])
        .await;
    assert_eq!(stored.status(), reqwest::StatusCode::CREATED);
    let stored: serde_json::Value = stored.json().await.unwrap();
    let id = stored["files"][0]["id"].as_i64().unwrap().to_string();
    let base = app.url("");
    // The password `signed_in_script` gives its accounts.
    let args: [&OsStr; 4] = [
        base.as_ref(),
        "hana".as_ref(),
        "long enough".as_ref(),
        id.as_ref(),
    ];
    run_script(dir, "layout.js", &args).await;
    assert_eq!(
        db.count("files").await,
        1,
        "the file deleted without JavaScript is gone"
    );
}

/// A new user's whole journey (`tests/browser/journey.js`), by keyboard where
/// a person types, once with JavaScript and once without. The run with
/// JavaScript takes the README's screenshots when `SECURESTAMP_SCREENSHOTS`
/// names a folder (`docs/`).
#[tokio::test]
async fn a_new_users_whole_journey_works_with_and_without_javascript() {
    let Some(dir) = browser_tools_or_skip() else {
        return;
    };
    let db = Database::create(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let app = db.spawn().await;
    let base = app.url("");
    let shots = std::env::var_os("SECURESTAMP_SCREENSHOTS");
    for javascript in ["on", "off"] {
        // Not deleted on failure: a failing step's screenshot stays there.
        let work = tempfile::tempdir().unwrap().keep();
        let mut args: Vec<&OsStr> = vec![base.as_ref(), javascript.as_ref(), work.as_os_str()];
        if let (Some(shots), "on") = (&shots, javascript) {
            args.push(shots.as_os_str());
        }
        run_script(dir, "journey.js", &args).await;
        let _ = std::fs::remove_dir_all(&work);
    }
    assert_eq!(
        db.count("files").await,
        4,
        "three and three uploaded, one of each run deleted"
    );
}

/// Two-factor sign-in with JavaScript off (`tests/browser/two_factor.js`):
/// the set-up page with its QR code, the recovery codes, the page that asks
/// for the code at sign-in, each audited with axe-core at 360 px.
#[tokio::test]
async fn two_factor_sign_in_is_set_up_and_used_without_javascript() {
    let Some(dir) = browser_tools_or_skip() else {
        return;
    };
    let db = Database::create(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let app = db.spawn().await;
    let _ = app.signed_in_script("ines").await;
    let base = app.url("");
    let args: [&OsStr; 3] = [base.as_ref(), "ines".as_ref(), "long enough".as_ref()];
    run_script(dir, "two_factor.js", &args).await;
    assert_eq!(db.count("totp_credentials").await, 1);
}
