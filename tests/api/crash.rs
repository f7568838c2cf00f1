//! Faults: the server process is killed (SIGKILL) in the middle of
//! concurrent uploads, round after round, or asked to stop (SIGTERM) during
//! one. Whatever it acknowledged survives with its contents and its proofs;
//! nothing half-stored or left behind outlives a restart.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;

use crate::helpers::{Client, Process, on_every_database};

const ROUNDS: usize = 3;
const UPLOADERS: usize = 6;

/// What a file named `name` holds: its name over and over, so that a torn or
/// swapped content shows; every third file is large enough to be staged on disk.
fn contents(name: &str) -> Vec<u8> {
    let size = if name.len().is_multiple_of(3) {
        300 * 1024
    } else {
        2 * 1024
    };
    name.bytes().cycle().take(size).collect()
}

/// The two files one upload request carries.
fn pair(request: &str) -> [String; 2] {
    [format!("{request}-a.txt"), format!("{request}-b.txt")]
}

/// Uploads pairs until the server is gone; answers the acknowledged files' ids by name.
async fn upload_until_killed(
    script: Arc<Client>,
    csrf: Arc<str>,
    prefix: String,
) -> HashMap<String, i64> {
    let mut acknowledged = HashMap::new();
    for n in 0.. {
        let names = pair(&format!("{prefix}-{n}"));
        let bodies = names.clone().map(|name| contents(&name));
        let files = [
            (names[0].as_str(), bodies[0].as_slice()),
            (names[1].as_str(), bodies[1].as_slice()),
        ];
        let Ok(response) = script.try_upload(&csrf, &files).await else {
            break;
        };
        let status = response.status();
        let Ok(json) = response.json::<serde_json::Value>().await else {
            break; // Killed while answering: unknown, like an unanswered one.
        };
        assert_eq!(status, StatusCode::CREATED, "{json}");
        for file in json["files"].as_array().unwrap() {
            let name = file["original_filename"].as_str().unwrap().to_owned();
            acknowledged.insert(name, file["id"].as_i64().unwrap());
        }
    }
    acknowledged
}

/// Every file of the signed-in user, name → id, following the pages.
async fn all_files(script: &Client) -> HashMap<String, i64> {
    let mut found = HashMap::new();
    let mut page = "/files?limit=100".to_owned();
    loop {
        let listed: serde_json::Value = script.get(&page).await.json().await.unwrap();
        for file in listed["files"].as_array().unwrap() {
            let name = file["original_filename"].as_str().unwrap().to_owned();
            found.insert(name, file["id"].as_i64().unwrap());
        }
        match listed["next"].as_str() {
            Some(next) => page = next.to_owned(),
            None => return found,
        }
    }
}

/// Sends a body that stops after `sent` bytes and never ends, so that the
/// server holds a staged file for it; the request is left hanging.
fn stalled_upload(script: &Client, csrf: &str, sent: usize) -> tokio::task::JoinHandle<()> {
    let head = b"stalled ".repeat(sent / 8);
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(head)])
        .chain(futures_util::stream::pending());
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream))
        .file_name("stalled.txt");
    let form = reqwest::multipart::Form::new().part("files", part);
    let request = script
        .http
        .post(script.url("/upload"))
        .header("x-csrf-token", csrf)
        .multipart(form);
    tokio::spawn(async move {
        let _ = request.send().await;
    })
}

/// Runs `securestamp log monitor` against the server, keeping its state in `state`.
async fn monitor(base: &str, state: &std::path::Path) {
    let state = state.join("monitor.state");
    let (code, text) = crate::monitor::monitor(&[base, "--state", state.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "the monitor: {text}");
}

/// `securestamp verify` on a file and its receipt, as a checker would.
async fn verify(script: &Client, id: i64, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, contents(name)).unwrap();
    let receipt = dir.path().join("receipt");
    let mut answer = script.get(&format!("/files/{id}/receipt")).await;
    for _ in 0..100 {
        if answer.status() != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        // Its log entry is still being sequenced.
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = script.get(&format!("/files/{id}/receipt")).await;
    }
    assert_eq!(answer.status(), StatusCode::OK, "the receipt of {name}");
    std::fs::write(&receipt, answer.bytes().await.unwrap()).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_securestamp"))
        .arg("verify")
        .args([&file, &receipt])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&output.stdout)
    );
}

on_every_database! {
    async fn a_server_killed_mid_upload_loses_nothing_it_acknowledged_and_keeps_nothing_half_stored(db) {
        let dir = tempfile::tempdir().unwrap();
        let monitor_state = tempfile::tempdir().unwrap();
        let mut acknowledged: HashMap<String, i64> = HashMap::new();
        let mut last_of_round = Vec::new();
        for round in 0..ROUNDS {
            let mut server = Process::start(&db, dir.path(), &[]).await;
            monitor(&server.base, monitor_state.path()).await;
            let script = Arc::new(server.script());
            let csrf: Arc<str> = match round {
                0 => script.new_account("kim").await,
                _ => script.json_sign_in("kim", "long enough").await,
            }
            .into();
            let stalled = stalled_upload(&script, &csrf, 4 << 20);
            let uploaders: Vec<_> = (0..UPLOADERS)
                .map(|task| {
                    let prefix = format!("r{round}-t{task}");
                    tokio::spawn(upload_until_killed(script.clone(), csrf.clone(), prefix))
                })
                .collect();
            // Each round dies at another point of its uploads.
            tokio::time::sleep(Duration::from_millis(800 + 250 * round as u64)).await;
            server.kill();
            stalled.abort();
            let mut this_round = HashMap::new();
            for uploader in uploaders {
                this_round.extend(uploader.await.unwrap());
            }
            assert!(!this_round.is_empty(), "round {round} acknowledged nothing");
            let newest = this_round.iter().max_by_key(|(_, id)| **id).unwrap();
            last_of_round.push((newest.0.clone(), *newest.1));
            acknowledged.extend(this_round);
        }

        // What the killed uploads staged is swept once it has sat for an hour.
        let staging = dir.path().join("uploads").join("staging");
        let staged: Vec<_> = std::fs::read_dir(&staging).unwrap().flatten().collect();
        assert!(!staged.is_empty(), "the stalled upload had staged bytes");
        let long_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 60 * 60);
        for entry in &staged {
            let file = std::fs::File::options().write(true).open(entry.path()).unwrap();
            file.set_modified(long_ago).unwrap();
        }

        let server = Process::start(&db, dir.path(), &[]).await;
        monitor(&server.base, monitor_state.path()).await;
        let script = server.script();
        script.json_sign_in("kim", "long enough").await;
        let stored = all_files(&script).await;
        for (name, id) in &acknowledged {
            assert_eq!(stored.get(name), Some(id), "{name} was acknowledged");
        }
        // Unacknowledged uploads were in flight at a kill: at most one per
        // uploader and round, and stored whole or not at all.
        let requests: HashSet<&str> = stored.keys().map(|name| &name[..name.len() - 6]).collect();
        let phantoms = requests
            .iter()
            .filter(|request| !acknowledged.contains_key(&pair(request)[0]))
            .count();
        assert!(phantoms <= ROUNDS * UPLOADERS, "{phantoms} unacknowledged uploads stored");
        for request in &requests {
            for name in pair(request) {
                assert!(stored.contains_key(&name), "{name}: half of an upload is stored");
            }
        }
        for (name, id) in &stored {
            let download = script.get(&format!("/files/{id}/download")).await;
            assert_eq!(download.status(), StatusCode::OK, "{name}");
            assert!(download.bytes().await.unwrap() == contents(name), "{name}: contents differ");
        }
        for (name, id) in &last_of_round {
            verify(&script, *id, name).await;
        }
        let mut left = usize::MAX;
        for _ in 0..100 {
            left = std::fs::read_dir(&staging).unwrap().count();
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(left, 0, "staged files of killed uploads are swept at start");
    }
}

/// A body of `chunks` × 64 KiB, one chunk every 50 ms.
fn slow_body(chunks: usize) -> reqwest::Body {
    let chunk = vec![b's'; 64 * 1024];
    let stream = futures_util::stream::unfold(0, move |sent| {
        let chunk = chunk.clone();
        async move {
            if sent == chunks {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            Some((Ok::<_, std::io::Error>(chunk), sent + 1))
        }
    });
    reqwest::Body::wrap_stream(stream)
}

/// SIGTERM while an upload is still arriving: the server stops taking new
/// connections, finishes that upload (acknowledged, stamped) and exits cleanly.
#[tokio::test]
async fn sigterm_during_an_upload_finishes_it_then_exits() {
    let db = crate::helpers::Database::create(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Process::start(&db, dir.path(), &[]).await;
    let script = server.script();
    let csrf = script.new_account("lee").await;
    let chunks = 30;
    let part = reqwest::multipart::Part::stream(slow_body(chunks)).file_name("slow.txt");
    let upload = script
        .http
        .post(script.url("/upload"))
        .header("x-csrf-token", &csrf)
        .multipart(reqwest::multipart::Form::new().part("files", part))
        .send();
    let upload = tokio::spawn(upload);
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.terminate();

    let answer = upload
        .await
        .unwrap()
        .expect("an answer, not a cut connection");
    assert_eq!(answer.status(), StatusCode::CREATED);
    let json: serde_json::Value = answer.json().await.unwrap();
    let id = json["files"][0]["id"].as_i64().unwrap();
    let status = server.exited(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status}");

    let server = Process::start(&db, dir.path(), &[]).await;
    let script = server.script();
    script.json_sign_in("lee", "long enough").await;
    let download = script.get(&format!("/files/{id}/download")).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.bytes().await.unwrap() == vec![b's'; chunks * 64 * 1024]);
    let receipt = script.get(&format!("/files/{id}/receipt")).await;
    assert_eq!(receipt.status(), StatusCode::OK);
}
