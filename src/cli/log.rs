//! `securestamp log monitor URL`: watches a transparency log from outside.
//!
//! Each run fetches the log's checkpoint, checks its signature, and checks
//! that it extends the checkpoint the previous run saw (kept in the state
//! file): same size means same root, a larger size needs a consistency
//! proof, a smaller one is a rollback. The proof is rebuilt from the log's
//! C2SP hash tiles, so the tiles every client relies on are checked too and
//! the monitor works against any tlog-tiles log, not only this server.
//!
//! It also reads every entry added since the previous run from the entry
//! bundles and hashes them onto the tree's frontier (kept in the state file
//! too), which must give the new checkpoint's root: what the log publishes
//! as its entries is then exactly what its checkpoints commit to. An entry
//! that first appears after a run but states a time well before it is
//! reported as late: the log exists to make a stamp dated back visible.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::proofs::tlog::checkpoint::Checkpoint;
use crate::proofs::tlog::entry::stated_time;
use crate::proofs::tlog::note::NoteVerifier;
use crate::proofs::tlog::stored::{Frontier, Plan, range_nodes};
use crate::proofs::tlog::tiles::{Tile, WIDTH, tile_for, unbundle};
use crate::proofs::tlog::{self, Hash};

#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LogCommand {
    /// Check that the log at URL only ever grows: exit status 0 if its
    /// checkpoint is signed and extends the last one seen, non-zero otherwise.
    Monitor(MonitorOpts),
}

#[derive(Debug, clap::Args)]
struct MonitorOpts {
    /// The server (`https://vault.example`) or the log's tlog-tiles prefix (`…/log`).
    url: String,
    /// Where the last checkpoint seen is kept between runs.
    #[arg(long, value_name = "FILE", default_value = "log-monitor.json")]
    state: PathBuf,
    /// The log's verifier key (`<origin>+<id>+<key>`, or a file holding it).
    /// Without it, the first run trusts the key the server publishes and
    /// later runs keep using that one.
    #[arg(long, value_name = "VKEY")]
    key: Option<String>,
    /// An entry first seen after a run, stating a time more than this many
    /// seconds before that run, is reported as late (exit status 3).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    late_after: u64,
}

/// What a run leaves for the next.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    log_url: String,
    verifier_key: String,
    size: u64,
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

/// The log served something that is not an extension of what it served before.
#[derive(Debug, thiserror::Error)]
#[error("INCONSISTENT LOG: {0}")]
pub struct Inconsistent(pub String);

/// Entries appeared that state a time well before the previous run: stamps
/// dated back, or (once, documented by the operator) files logged at an upgrade.
#[derive(Debug, thiserror::Error)]
#[error("LATE ENTRIES: {0}")]
pub struct Late(pub String);

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let LogCommand::Monitor(opts) = opts.command;
    monitor(opts)
}

fn monitor(opts: MonitorOpts) -> anyhow::Result<()> {
    // Proxies come from the environment (ALL_PROXY, HTTPS_PROXY), as for curl.
    let http: ureq::Agent = ureq::Agent::config_builder()
        .user_agent(concat!("securestamp-monitor/", env!("CARGO_PKG_VERSION")))
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let prefix = log_prefix(&opts.url);
    let previous = read_state(&opts.state)?;

    let key = match (&opts.key, &previous) {
        (Some(key), _) => key_argument(key)?,
        (None, Some(state)) => state.verifier_key.clone(),
        (None, None) => {
            let server = prefix.trim_end_matches("/log");
            let key = fetch_text(&http, &format!("{server}/keys/log.vkey"))?;
            eprintln!(
                "note: trusting the key the server publishes, {}; pass --key to pin one obtained independently",
                key.trim()
            );
            key.trim().to_owned()
        }
    };
    if let Some(state) = &previous
        && state.verifier_key != key
    {
        return Err(Inconsistent(format!(
            "the log key changed from {} to {key}",
            state.verifier_key
        ))
        .into());
    }
    let verifier = NoteVerifier::parse(&key).map_err(|e| anyhow!("the verifier key: {e}"))?;

    let checked_at = chrono::Utc::now();
    let note = fetch_text(&http, &format!("{prefix}/checkpoint"))?;
    let checkpoint = Checkpoint::open(&note, &verifier, verifier.name())
        .map_err(|e| Inconsistent(format!("the checkpoint does not verify: {e}")))?;

    let tiles = TileCache::new(&http, &prefix);
    match &previous {
        None => println!(
            "OK  first look at {}: {} entries, root {}",
            checkpoint.origin,
            checkpoint.size,
            STANDARD.encode(checkpoint.root)
        ),
        Some(state) => {
            let old_root: Hash = STANDARD
                .decode(&state.root)
                .ok()
                .and_then(|r| r.try_into().ok())
                .ok_or_else(|| anyhow!("{}: the root is malformed", opts.state.display()))?;
            if checkpoint.size < state.size {
                return Err(Inconsistent(format!(
                    "the log shrank from {} to {} entries",
                    state.size, checkpoint.size
                ))
                .into());
            }
            let plan = Plan::consistency(state.size, checkpoint.size)
                .map_err(|e| anyhow!("consistency proof: {e}"))?;
            let proof = tiles.assemble(&plan, checkpoint.size)?;
            tlog::verify_consistency(
                state.size,
                checkpoint.size,
                &old_root,
                &checkpoint.root,
                &proof,
            )
            .map_err(|e| {
                Inconsistent(format!(
                    "the checkpoint of {} entries does not extend the one of {} seen before ({e})",
                    checkpoint.size, state.size
                ))
            })?;
            if checkpoint.size == state.size {
                println!(
                    "OK  {} is unchanged at {} entries",
                    checkpoint.origin, checkpoint.size
                );
            } else {
                println!(
                    "OK  {} grew from {} to {} entries, consistently",
                    checkpoint.origin, state.size, checkpoint.size
                );
            }
        }
    }
    // The entries this run reads start after those the previous run read;
    // on a first run (or with a state file of an earlier version), at the end.
    let mut frontier = match previous
        .as_ref()
        .and_then(|state| state.frontier.as_ref().map(|saved| (state, saved)))
    {
        Some((state, saved)) => saved_frontier(state, saved)
            .with_context(|| format!("{}: the saved frontier", opts.state.display()))?,
        None => tiles.frontier(checkpoint.size)?,
    };
    // Entries the previous run could not have seen must not state a time
    // from well before it.
    let cutoff = match previous
        .as_ref()
        .and_then(|state| state.checked_at.as_deref())
    {
        Some(time) => Some(
            chrono::DateTime::parse_from_rfc3339(time)
                .with_context(|| format!("{}: checked_at", opts.state.display()))?
                .to_utc()
                - chrono::TimeDelta::seconds(i64::try_from(opts.late_after).unwrap_or(i64::MAX)),
        ),
        None => None,
    };
    let mut late = Vec::new();
    let read = frontier.size()..checkpoint.size;
    tiles.append_entries(&mut frontier, checkpoint.size, |index, entry| {
        let stated = stated_time(entry).map(chrono::DateTime::<chrono::Utc>::from);
        if let (Some(stated), Some(cutoff)) = (stated, cutoff)
            && stated < cutoff
        {
            late.push((index, stated));
        }
    })?;
    if frontier.root() != checkpoint.root {
        return Err(Inconsistent(format!(
            "entries {} to {} as served do not hash to the checkpoint's root",
            read.start,
            read.end.saturating_sub(1)
        ))
        .into());
    }
    if !read.is_empty() {
        println!(
            "OK  read entries {} to {}: they make the checkpoint's root",
            read.start,
            read.end - 1
        );
    }
    write_state(
        &opts.state,
        &State {
            log_url: prefix,
            verifier_key: key,
            size: checkpoint.size,
            root: STANDARD.encode(checkpoint.root),
            checkpoint: note,
            frontier: Some(STANDARD.encode(frontier.to_bytes())),
            checked_at: Some(checked_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        },
    )?;
    // Reported once: the state has moved past them.
    if let Some((first, _)) = late.first() {
        let since = previous
            .as_ref()
            .and_then(|state| state.checked_at.clone())
            .unwrap_or_default();
        for (index, stated) in late.iter().take(10) {
            println!(
                "LATE entry {index} states {}, but was not in the log at {since}",
                stated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
        }
        return Err(Late(format!(
            "{} new entries (from entry {first}) state a time more than {} s before the last check at {since}",
            late.len(),
            opts.late_after
        ))
        .into());
    }
    Ok(())
}

/// The frontier a previous run saved, which must make the root it saved.
fn saved_frontier(state: &State, saved: &str) -> anyhow::Result<Frontier> {
    let bytes = STANDARD.decode(saved).map_err(|_| anyhow!("not base64"))?;
    let frontier = Frontier::from_bytes(state.size, &bytes)?;
    if STANDARD.encode(frontier.root()) != state.root {
        return Err(anyhow!("it does not make the root saved with it"));
    }
    Ok(frontier)
}

/// `https://vault.example` → `https://vault.example/log`; a `…/log` URL stays.
fn log_prefix(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with("/log") {
        url.to_owned()
    } else {
        format!("{url}/log")
    }
}

/// A key given on the command line, or the path of a file holding one.
fn key_argument(key: &str) -> anyhow::Result<String> {
    let path = Path::new(key);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(text.trim().to_owned());
    }
    Ok(key.trim().to_owned())
}

fn fetch(http: &ureq::Agent, url: &str) -> anyhow::Result<Vec<u8>> {
    let mut response = http.get(url).call().map_err(|error| match error {
        ureq::Error::StatusCode(status) => anyhow!("{url} answered {status}"),
        error => anyhow!("cannot fetch {url}: {error}"),
    })?;
    response
        .body_mut()
        .read_to_vec()
        .with_context(|| format!("cannot read {url}"))
}

fn fetch_text(http: &ureq::Agent, url: &str) -> anyhow::Result<String> {
    String::from_utf8(fetch(http, url)?).map_err(|_| anyhow!("{url} is not UTF-8 text"))
}

/// Hash tiles fetched once each, for rebuilding a proof's hashes.
struct TileCache<'a> {
    http: &'a ureq::Agent,
    prefix: &'a str,
}

impl<'a> TileCache<'a> {
    fn new(http: &'a ureq::Agent, prefix: &'a str) -> Self {
        TileCache { http, prefix }
    }

    fn assemble(&self, plan: &Plan, size: u64) -> anyhow::Result<Vec<Hash>> {
        let mut tiles: HashMap<Tile, Vec<Hash>> = HashMap::new();
        let mut hashes = HashMap::new();
        for node in plan.nodes() {
            let (tile, within) =
                tile_for(node, size).ok_or_else(|| anyhow!("{node:?} is outside the tree"))?;
            let hashes_of_tile = match tiles.entry(tile) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => entry.insert(self.fetch(tile)?),
            };
            hashes.insert(node, tlog::root(&hashes_of_tile[within]));
        }
        plan.assemble(|node| hashes.get(&node).copied())
            .ok_or_else(|| anyhow!("a proof hash is missing from the tiles"))
    }

    /// The frontier of the tree of `size` leaves, from the hash tiles; the
    /// caller checks its root against a checkpoint.
    fn frontier(&self, size: u64) -> anyhow::Result<Frontier> {
        let mut hashes = Vec::new();
        for node in range_nodes(0, size) {
            let (tile, within) =
                tile_for(node, size).ok_or_else(|| anyhow!("{node:?} is outside the tree"))?;
            hashes.extend(tlog::root(&self.fetch(tile)?[within]));
        }
        Frontier::from_bytes(size, &hashes).map_err(|e| anyhow!("{e}"))
    }

    /// Reads the entries after `frontier`'s up to `size` from the entry
    /// bundles, one bundle at a time, shows each to `each` with its index,
    /// and appends their leaf hashes.
    fn append_entries(
        &self,
        frontier: &mut Frontier,
        size: u64,
        mut each: impl FnMut(u64, &[u8]),
    ) -> anyhow::Result<()> {
        let mut completed = Vec::new();
        while frontier.size() < size {
            let index = frontier.size() / WIDTH;
            let width = (size - index * WIDTH).min(WIDTH) as u16;
            let tile = Tile::Entries { index, width };
            let url = format!("{}/tile/{}", self.prefix, tile.path());
            let bytes = fetch(self.http, &url)?;
            let entries = unbundle(&bytes)
                .filter(|entries| entries.len() == usize::from(width))
                .ok_or_else(|| Inconsistent(format!("{url} is not a bundle of {width} entries")))?;
            let skip = (frontier.size() - index * WIDTH) as usize;
            for entry in &entries[skip..] {
                each(frontier.size(), entry);
                frontier.push(tlog::leaf_hash(entry), &mut completed);
                completed.clear();
            }
        }
        Ok(())
    }

    fn fetch(&self, tile: Tile) -> anyhow::Result<Vec<Hash>> {
        let url = format!("{}/tile/{}", self.prefix, tile.path());
        let bytes = fetch(self.http, &url)?;
        let expected = match tile {
            Tile::Hashes { width, .. } => usize::from(width) * 32,
            Tile::Entries { .. } => unreachable!("only hash tiles are fetched"),
        };
        if bytes.len() != expected {
            return Err(
                Inconsistent(format!("{url} holds {} bytes, not {expected}", bytes.len())).into(),
            );
        }
        Ok(bytes
            .chunks_exact(32)
            .map(|chunk| chunk.try_into().expect("chunks of 32"))
            .collect())
    }
}

fn read_state(path: &Path) -> anyhow::Result<Option<State>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{} is not a monitor state file", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Replaces the state file in one step, so an interrupted run keeps the old one.
fn write_state(path: &Path, state: &State) -> anyhow::Result<()> {
    let temporary = path.with_extension("json.tmp");
    let json = serde_json::to_vec_pretty(state).expect("the state serializes");
    std::fs::write(&temporary, json)
        .and_then(|()| std::fs::rename(&temporary, path))
        .with_context(|| format!("cannot write {}", path.display()))
}
