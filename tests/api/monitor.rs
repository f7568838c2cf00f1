//! `securestamp log monitor` against a real server: it follows the log,
//! reads every new entry, catches a history or an entry changed behind the
//! server's back, and reports entries that state a time from before its
//! last look.

use securestamp::proofs::tlog::note::NoteVerifier;

use crate::helpers::{Backend, Database, TestApp, on_every_database};
use crate::log::Log;

/// Runs the monitor without blocking the runtime the server under test runs on.
pub async fn monitor(args: &[&str]) -> (Option<i32>, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_securestamp"))
        .args([&["log", "monitor"][..], args].concat())
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

/// A server with a log of `stamps` entries, watched by a monitor whose
/// first run has passed.
struct Watched {
    /// The server runs as long as this is held.
    _app: TestApp,
    log: Log,
    verifier: NoteVerifier,
    url: String,
    dir: tempfile::TempDir,
}

impl Watched {
    async fn start(db: &Database, stamps: u64) -> Watched {
        let app = db.spawn_with(&[("TSA_RATE", "100000")]).await;
        let log = Log::new(app.url(""));
        let verifier = log.verifier().await;
        let url = app.url("");
        let watched = Watched {
            _app: app,
            log,
            verifier,
            url,
            dir: tempfile::tempdir().unwrap(),
        };
        watched.grow_to(stamps).await;
        let (code, text) = watched.monitor(&[]).await;
        assert_eq!(code, Some(0), "{text}");
        assert!(
            text.contains("first look") && text.contains(&format!("{stamps} entries")),
            "{text}"
        );
        watched
    }

    /// Stamps until the log holds `size` entries.
    async fn grow_to(&self, size: u64) {
        let (current, _) = self.log.checkpoint(&self.verifier).await;
        for _ in current.size..size {
            self.log.stamp().await;
        }
        self.log.wait_for(&self.verifier, size).await;
    }

    fn state(&self) -> std::path::PathBuf {
        self.dir.path().join("state.json")
    }

    /// Runs the monitor on this server with its state file, and `extra` arguments.
    async fn monitor(&self, extra: &[&str]) -> (Option<i32>, String) {
        let state = self.state();
        monitor(
            &[
                &[self.url.as_str(), "--state", state.to_str().unwrap()][..],
                extra,
            ]
            .concat(),
        )
        .await
    }
}

/// Changes the test database behind the server's back: `sql`, written with
/// `?` for its one value.
async fn tamper(db: &Database, sql: &str, value: Vec<u8>) {
    let conn = db.connect().await;
    let backend = sea_orm::ConnectionTrait::get_database_backend(&conn);
    let sql = match backend {
        sea_orm::DbBackend::Postgres => sql.replace('?', "$1"),
        _ => sql.to_owned(),
    };
    sea_orm::ConnectionTrait::execute_raw(
        &conn,
        sea_orm::Statement::from_sql_and_values(backend, sql, [value.into()]),
    )
    .await
    .unwrap();
}

on_every_database! {
    async fn the_monitor_follows_the_log_and_catches_a_rewritten_history(db) {
        let watched = Watched::start(&db, 5).await;
        let url = &watched.url;
        let state = watched.state();
        watched.grow_to(8).await;
        // The log's own prefix works as well as the server's address.
        let (code, text) = monitor(&[&format!("{url}/log"), "--state", state.to_str().unwrap()]).await;
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains("grew from 5 to 8 entries"), "{text}");
        let (code, text) = watched.monitor(&[]).await;
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains("unchanged at 8 entries"), "{text}");

        // Someone with the database rewrites the first eight entries' subtree;
        // the server goes on signing checkpoints on top of it.
        tamper(&db, "UPDATE log_state SET frontier = ? WHERE id = 1", vec![0x42u8; 32]).await;
        watched.grow_to(9).await;
        let (code, text) = watched.monitor(&[]).await;
        assert_eq!(code, Some(2), "{text}");
        assert!(text.contains("INCONSISTENT LOG") && text.contains("does not extend"), "{text}");

        // A key other than the log's: its checkpoints do not verify.
        let other = securestamp::proofs::tlog::note::NoteSigner::generate("securestamp.localhost/log").unwrap();
        let fresh = watched.dir.path().join("fresh.json");
        let (code, text) = monitor(&[url, "--state", fresh.to_str().unwrap(), "--key", &other.verifier_key()]).await;
        assert_eq!(code, Some(2), "{text}");
        assert!(text.contains("does not verify"), "{text}");
        // An outage is not an inconsistency.
        let (code, text) = monitor(&["http://127.0.0.1:9", "--state", fresh.to_str().unwrap(), "--key", &other.verifier_key()]).await;
        assert_eq!(code, Some(1), "{text}");
    }
}

on_every_database! {
    async fn the_monitor_reads_every_new_entry_and_catches_a_rewritten_one(db) {
        let watched = Watched::start(&db, 3).await;

        // Into the second entry bundle: the first run's last one is read from its middle.
        watched.grow_to(300).await;
        let (code, text) = watched.monitor(&[]).await;
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains("read entries 3 to 299"), "{text}");

        // Someone with the database rewrites a placed entry: the hash tiles
        // and checkpoints are untouched, the served bundle is not.
        watched.grow_to(302).await;
        let forged = b"securestamp/stamp/v1\ntime 2000-01-01T00:00:00Z\ntoken-sha256 00\n";
        tamper(&db, "UPDATE log_entries SET body = ? WHERE leaf_index = 300", forged.to_vec()).await;
        let (code, text) = watched.monitor(&[]).await;
        assert_eq!(code, Some(2), "{text}");
        assert!(
            text.contains("INCONSISTENT LOG") && text.contains("entries 300 to 301"),
            "{text}"
        );
        // The failed run kept the state of the last good one.
        let state = watched.state();
        let saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        assert_eq!(saved["size"], 300);

        // A state file whose frontier does not make its root is refused, not trusted.
        let mut saved = saved;
        let engine = base64::engine::general_purpose::STANDARD;
        let mut frontier = base64::Engine::decode(&engine, saved["frontier"].as_str().unwrap()).unwrap();
        frontier[0] ^= 1;
        saved["frontier"] = base64::Engine::encode(&engine, frontier).into();
        std::fs::write(&state, serde_json::to_vec(&saved).unwrap()).unwrap();
        let (code, text) = watched.monitor(&[]).await;
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains("does not make the root"), "{text}");
    }
}

#[tokio::test]
async fn the_monitor_reports_entries_that_state_a_time_before_its_last_run() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let watched = Watched::start(&db, 2).await;
    // As if the last run had looked an hour from now: entries stamped now,
    // which it did not see, claim a time long before it, as a stamp dated
    // back and logged after the fact would.
    let look_ahead = || {
        let state = watched.state();
        let mut saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        let later = chrono::Utc::now() + chrono::TimeDelta::hours(1);
        saved["checked_at"] = later
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .into();
        std::fs::write(&state, serde_json::to_vec(&saved).unwrap()).unwrap();
    };
    look_ahead();
    watched.grow_to(4).await;
    let (code, text) = watched.monitor(&[]).await;
    assert_eq!(code, Some(3), "{text}");
    assert!(
        text.contains("LATE entry 2 states") && text.contains("LATE entry 3 states"),
        "{text}"
    );
    assert!(text.contains("2 new entries (from entry 2)"), "{text}");
    // Reported once: the run moved the state past them.
    let (code, text) = watched.monitor(&[]).await;
    assert_eq!(code, Some(0), "{text}");

    // Within a larger allowance, the same lateness passes.
    look_ahead();
    watched.grow_to(6).await;
    let (code, text) = watched.monitor(&["--late-after", "7200"]).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("read entries 4 to 5"), "{text}");
}
