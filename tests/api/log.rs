//! The transparency log: every stamp becomes an entry, the log is served per
//! C2SP tlog-tiles, its checkpoints are signed and only ever extend each
//! other — also when several server processes share one database.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use securestamp::proofs::tlog::checkpoint::Checkpoint;
use securestamp::proofs::tlog::entry::stamp_entry;
use securestamp::proofs::tlog::note::NoteVerifier;
use securestamp::proofs::tlog::tiles::{self, format_index};
use securestamp::proofs::tlog::{Hash, leaf_hash, root, verify_consistency, verify_inclusion};
use serde_json::Value;

use crate::helpers::{Database, Process, on_every_database};

/// A DER `TimeStampReq` for a SHA-256 imprint, asking for the certificate.
pub fn tsa_request(digest: [u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x39, 0x02, 0x01, 0x01, 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
        0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
    ];
    der.extend_from_slice(&digest);
    der.extend_from_slice(&[0x01, 0x01, 0xff]);
    der
}

/// A client of one server's public log endpoints.
#[derive(Clone)]
pub struct Log {
    pub base: String,
    http: reqwest::Client,
}

impl Log {
    pub fn new(base: String) -> Log {
        Log {
            base,
            http: crate::helpers::http_client(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn bytes(&self, path: &str) -> Vec<u8> {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.bytes().await.unwrap().to_vec()
    }

    /// Stamps a random hash through `POST /tsa`; the log entry its token makes.
    pub async fn stamp(&self) -> Vec<u8> {
        let response = self
            .http
            .post(format!("{}/tsa", self.base))
            .header("content-type", "application/timestamp-query")
            .body(tsa_request(rand::random()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let reply = response.bytes().await.unwrap();
        let (token, gen_time) = securestamp::proofs::tsa::token_of(&reply)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&reply)));
        stamp_entry(gen_time, &token)
    }

    pub async fn verifier(&self) -> NoteVerifier {
        let key = String::from_utf8(self.bytes("/keys/log.vkey").await).unwrap();
        NoteVerifier::parse(key.trim()).unwrap()
    }

    /// The current checkpoint, its signature checked.
    pub async fn checkpoint(&self, verifier: &NoteVerifier) -> (Checkpoint, String) {
        let note = String::from_utf8(self.bytes("/log/checkpoint").await).unwrap();
        let checkpoint =
            Checkpoint::open(&note, verifier, verifier.name()).expect("a signed checkpoint");
        (checkpoint, note)
    }

    /// Waits until the log holds at least `size` entries.
    pub async fn wait_for(&self, verifier: &NoteVerifier, size: u64) -> Checkpoint {
        for _ in 0..200 {
            let (checkpoint, _) = self.checkpoint(verifier).await;
            if checkpoint.size >= size {
                return checkpoint;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the log did not reach {size} entries");
    }

    /// Every entry of a tree of `size`, read from entry bundles.
    pub async fn entries(&self, size: u64) -> Vec<Vec<u8>> {
        let mut entries = Vec::new();
        for index in 0..size.div_ceil(tiles::WIDTH) {
            let width = (size - index * tiles::WIDTH).min(tiles::WIDTH);
            let mut path = format!("/log/tile/entries/{}", format_index(index));
            if width < tiles::WIDTH {
                path.push_str(&format!(".p/{width}"));
            }
            let bundle = self.bytes(&path).await;
            let found = tiles::unbundle(&bundle).expect("a well-formed bundle");
            assert_eq!(found.len() as u64, width, "{path}");
            entries.extend(found.into_iter().map(<[u8]>::to_vec));
        }
        entries
    }

    pub async fn consistency(&self, from: u64, to: u64) -> Vec<Hash> {
        let proof: Value = self
            .get(&format!("/log/proof/consistency?from={from}&to={to}"))
            .await
            .json()
            .await
            .unwrap();
        hashes(&proof["proof"])
    }
}

pub fn hashes(list: &Value) -> Vec<Hash> {
    list.as_array()
        .expect("a list of hashes")
        .iter()
        .map(|h| {
            STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

on_every_database! {
    async fn stamps_enter_the_log_and_the_log_is_served_as_tiles(db) {
        let app = db.spawn_with(&[("TSA_RATE", "100000")]).await;
        let log = Log::new(app.url(""));
        let verifier = log.verifier().await;
        assert_eq!(verifier.name(), "securestamp.localhost/log");

        // 300 tokens from /tsa and one upload: one full tile and a partial one.
        let mut expected = Vec::new();
        for _ in 0..300 {
            expected.push(log.stamp().await);
        }
        let (script, csrf) = app.signed_in_script("logger").await;
        let uploaded = script.upload(&csrf, &[("a.txt", b"logged".as_slice())]).await;
        assert_eq!(uploaded.status(), StatusCode::CREATED);
        let size = 301;
        let checkpoint = log.wait_for(&verifier, size).await;
        assert_eq!(checkpoint.size, size);

        let response = log.get("/log/checkpoint").await;
        assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
        assert_eq!(response.headers()["cache-control"], "public, max-age=2");

        // The entry bundles hold each token's entry once; the tiles their leaf hashes.
        let entries = log.entries(size).await;
        let mut seen: HashMap<&[u8], usize> = HashMap::new();
        for entry in &entries {
            *seen.entry(entry.as_slice()).or_default() += 1;
        }
        for entry in &expected {
            assert_eq!(seen.get(entry.as_slice()), Some(&1));
        }
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        assert_eq!(root(&leaves), checkpoint.root);

        let full = log.get("/log/tile/0/000").await;
        assert_eq!(full.status(), StatusCode::OK);
        assert_eq!(full.headers()["content-type"], "application/octet-stream");
        assert_eq!(full.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(full.bytes().await.unwrap().to_vec(), leaves[..256].concat());
        assert_eq!(log.bytes("/log/tile/0/001.p/45").await, leaves[256..].concat());
        // A partial tile of an older size is still there; tiles beyond the tree are not.
        assert_eq!(log.bytes("/log/tile/0/001.p/3").await, leaves[256..259].concat());
        assert_eq!(log.bytes("/log/tile/1/000.p/1").await, root(&leaves[..256]).to_vec());
        for missing in ["/log/tile/0/001", "/log/tile/0/001.p/46", "/log/tile/1/000", "/log/tile/0/1",
                        "/log/tile/entries/002", "/log/tile/0/x000/001"] {
            assert_eq!(log.get(missing).await.status(), StatusCode::NOT_FOUND, "{missing}");
        }

        // The JSON conveniences, by index and by leaf hash.
        let proof: Value = log.get("/log/proof/inclusion?index=7").await.json().await.unwrap();
        assert_eq!(proof["tree_size"], size);
        verify_inclusion(&leaves[7], 7, size, &hashes(&proof["proof"]), &checkpoint.root).unwrap();
        let by_hash: Value = log
            .get(&format!("/log/proof/inclusion?leaf_hash={}&tree_size=100", hex::encode(leaves[42])))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(by_hash["index"], 42);
        assert!(by_hash.get("checkpoint").is_none());
        verify_inclusion(&leaves[42], 42, 100, &hashes(&by_hash["proof"]), &root(&leaves[..100])).unwrap();
        for old in [0, 1, 100, 256, 300, 301] {
            let proof = log.consistency(old, size).await;
            verify_consistency(old, size, &root(&leaves[..old as usize]), &checkpoint.root, &proof).unwrap();
        }
        for bad in ["/log/proof/inclusion?index=301", "/log/proof/inclusion?index=1&tree_size=302",
                    "/log/proof/consistency?from=302", "/log/proof/inclusion?leaf_hash=zz", "/log/proof/inclusion"] {
            assert_eq!(log.get(bad).await.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
        let unknown = format!("/log/proof/inclusion?leaf_hash={}", hex::encode([0u8; 32]));
        assert_eq!(log.get(&unknown).await.status(), StatusCode::NOT_FOUND);
    }
}

/// A `securestamp` process of its own and a client of its log; killed when dropped.
pub struct Server {
    _process: Process,
    pub log: Log,
}

impl Server {
    pub async fn start(db: &Database, data_dir: &std::path::Path) -> Server {
        let process = Process::start(db, data_dir, &[("TSA_RATE", "100000")]).await;
        let log = Log::new(process.base.clone());
        Server {
            _process: process,
            log,
        }
    }
}

on_every_database! {
    async fn two_processes_appending_at_once_keep_one_consistent_log(db) {
        let shared = tempfile::tempdir().unwrap();
        let first = Server::start(&db, shared.path()).await;
        let second = Server::start(&db, shared.path()).await;
        let verifier = first.log.verifier().await;

        // Both stamp from several tasks while a watcher keeps every checkpoint either serves.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watcher = {
            let (logs, verifier, stop) = ([first.log.clone(), second.log.clone()], verifier.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for log in &logs {
                        seen.push(log.checkpoint(&verifier).await.0);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                seen
            })
        };
        let mut stampers = Vec::new();
        for server in [&first, &second] {
            for _ in 0..4 {
                let log = server.log.clone();
                stampers.push(tokio::spawn(async move {
                    let mut made = Vec::new();
                    for _ in 0..40 {
                        made.push(log.stamp().await);
                    }
                    made
                }));
            }
        }
        let mut expected = Vec::new();
        for stamper in stampers {
            expected.extend(stamper.await.unwrap());
        }
        let total = expected.len() as u64;
        let last = first.log.wait_for(&verifier, total).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let seen = watcher.await.unwrap();
        assert_eq!(last.size, total);
        assert_eq!(second.log.checkpoint(&verifier).await.0, last);

        // Every stamp exactly once.
        let entries = second.log.entries(total).await;
        let mut counts: HashMap<&[u8], usize> = HashMap::new();
        for entry in &entries {
            *counts.entry(entry.as_slice()).or_default() += 1;
        }
        assert_eq!(counts.len(), entries.len(), "no entry is in the log twice");
        for entry in &expected {
            assert_eq!(counts.get(entry.as_slice()), Some(&1));
        }
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        assert_eq!(root(&leaves), last.root);

        // Every checkpoint either process served is a prefix of the last one.
        assert!(seen.len() > 4, "the watcher saw the log grow");
        for checkpoint in &seen {
            assert_eq!(root(&leaves[..checkpoint.size as usize]), checkpoint.root);
            let proof = first.log.consistency(checkpoint.size, total).await;
            verify_consistency(checkpoint.size, total, &checkpoint.root, &last.root, &proof).unwrap();
        }
    }
}

on_every_database! {
    async fn files_stored_before_the_log_get_entries_and_full_receipts(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("early").await;
        let stored: Value = script.upload(&csrf, &[("early.txt", b"before the log".as_slice())]).await.json().await.unwrap();
        let receipt_url = stored["files"][0]["links"]["receipt"].as_str().unwrap().to_owned();
        // As a file stored by a version without the log.
        db.execute("UPDATE files SET log_entry_id = NULL").await;
        let receipt: Value = script.get(&receipt_url).await.json().await.unwrap();
        assert_eq!(receipt["version"], 1);
        assert!(receipt.get("log").is_none());

        // A server starting on the database logs it.
        let _second = db.spawn().await;
        let mut receipt = Value::Null;
        for _ in 0..100 {
            receipt = script.get(&receipt_url).await.json().await.unwrap();
            if receipt["version"] == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(receipt["version"], 2, "{receipt}");
        let reply = STANDARD.decode(receipt["rfc3161"]["reply"].as_str().unwrap()).unwrap();
        let (token, gen_time) = securestamp::proofs::tsa::token_of(&reply).unwrap();
        assert_eq!(receipt["log"]["entry"].as_str().unwrap().as_bytes(), stamp_entry(gen_time, &token));
        assert_eq!(db.count("files WHERE log_entry_id IS NULL").await, 0);
    }
}
