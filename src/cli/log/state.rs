//! What one monitor run leaves for the next, in a JSON file.

use std::path::Path;

use anyhow::{Context, anyhow};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::proofs::tlog::Hash;
use crate::proofs::tlog::stored::Frontier;

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    pub log_url: String,
    pub verifier_key: String,
    pub size: u64,
    /// Base64.
    root: String,
    /// The signed checkpoint as served, for the record.
    checkpoint: String,
    /// Base64 of the hashes of the tree's perfect right-edge subtrees,
    /// largest first: enough to append the next entries and recompute the
    /// root. Absent in state files of earlier versions.
    #[serde(default)]
    frontier: Option<String>,
    /// When the run fetched the checkpoint (RFC 3339, the monitor's clock).
    #[serde(default)]
    checked_at: Option<String>,
}

impl State {
    pub fn new(
        log_url: String,
        verifier_key: String,
        checkpoint: String,
        frontier: &Frontier,
        checked_at: DateTime<Utc>,
    ) -> State {
        State {
            log_url,
            verifier_key,
            size: frontier.size(),
            root: STANDARD.encode(frontier.root()),
            checkpoint,
            frontier: Some(STANDARD.encode(frontier.to_bytes())),
            checked_at: Some(checked_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        }
    }

    pub fn root(&self) -> anyhow::Result<Hash> {
        STANDARD
            .decode(&self.root)
            .ok()
            .and_then(|root| root.try_into().ok())
            .ok_or_else(|| anyhow!("the root is malformed"))
    }

    /// The saved frontier, which must make the saved root; `None` in state
    /// files of earlier versions.
    pub fn frontier(&self) -> anyhow::Result<Option<Frontier>> {
        let Some(saved) = &self.frontier else {
            return Ok(None);
        };
        let bytes = STANDARD
            .decode(saved)
            .map_err(|_| anyhow!("the saved frontier is not base64"))?;
        let frontier = Frontier::from_bytes(self.size, &bytes)?;
        if frontier.root() != self.root()? {
            return Err(anyhow!(
                "the saved frontier does not make the root saved with it"
            ));
        }
        Ok(Some(frontier))
    }

    pub fn checked_at(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        self.checked_at
            .as_deref()
            .map(|time| {
                DateTime::parse_from_rfc3339(time)
                    .map(|time| time.to_utc())
                    .context("checked_at is not an RFC 3339 time")
            })
            .transpose()
    }

    pub fn read(path: &Path) -> anyhow::Result<Option<State>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("{} is not a monitor state file", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Replaces the state file in one step, so an interrupted run keeps the old one.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let temporary = path.with_extension("json.tmp");
        let json = serde_json::to_vec_pretty(self).expect("the state serializes");
        std::fs::write(&temporary, json)
            .and_then(|()| std::fs::rename(&temporary, path))
            .with_context(|| format!("cannot write {}", path.display()))
    }
}
