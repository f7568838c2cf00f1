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

pub(crate) mod remote;
mod state;

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::proofs::tlog::checkpoint::Checkpoint;
use crate::proofs::tlog::entry::stated_time;
use crate::proofs::tlog::note::NoteVerifier;
use crate::proofs::tlog::stored::{Frontier, Plan};
use crate::proofs::tlog::{self, Hash};
use remote::Remote;
use state::State;

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
    let remote = Remote::new(log_prefix(&opts.url));
    let previous = State::read(&opts.state)?;
    let in_state = |error: anyhow::Error| error.context(opts.state.display().to_string());

    let key = trusted_key(&opts, &remote, previous.as_ref())?;
    let verifier = NoteVerifier::parse(&key).map_err(|e| anyhow!("the verifier key: {e}"))?;
    let checked_at = Utc::now();
    let note = remote.checkpoint()?;
    let checkpoint = Checkpoint::open(&note, &verifier, verifier.name())
        .map_err(|e| Inconsistent(format!("the checkpoint does not verify: {e}")))?;

    match &previous {
        None => println!(
            "OK  first look at {}: {} entries, root {}",
            checkpoint.origin,
            checkpoint.size,
            STANDARD.encode(checkpoint.root)
        ),
        Some(state) => {
            let root = state.root().map_err(in_state)?;
            check_extends(&remote, &checkpoint, state.size, &root)?;
        }
    }

    // The entries this run reads start after those the previous run read;
    // on a first run (or with a state file of an earlier version), at the end.
    let mut frontier = match previous.as_ref().map(State::frontier).transpose() {
        Ok(Some(Some(frontier))) => frontier,
        Ok(_) => remote.frontier(checkpoint.size)?,
        Err(error) => return Err(in_state(error)),
    };
    let since = match &previous {
        Some(state) => state.checked_at().map_err(in_state)?,
        None => None,
    };
    // An entry the previous run did not see must not state a time from well before it.
    let cutoff = since.and_then(|since| {
        let allowance = chrono::TimeDelta::try_seconds(i64::try_from(opts.late_after).ok()?)?;
        since.checked_sub_signed(allowance)
    });
    let late = read_new_entries(&remote, &mut frontier, &checkpoint, cutoff)?;
    State::new(remote.prefix, key, note, &frontier, checked_at).write(&opts.state)?;
    // Reported once: the state has moved past them.
    match since {
        Some(since) if !late.is_empty() => Err(report_late(&late, since, opts.late_after).into()),
        _ => Ok(()),
    }
}

/// Reads the entries `checkpoint` adds to `frontier`'s tree, which must
/// make its root; returns those stating a time before `cutoff`.
fn read_new_entries(
    remote: &Remote,
    frontier: &mut Frontier,
    checkpoint: &Checkpoint,
    cutoff: Option<DateTime<Utc>>,
) -> anyhow::Result<Vec<(u64, DateTime<Utc>)>> {
    let mut late = Vec::new();
    let read = frontier.size()..checkpoint.size;
    remote.append_entries(frontier, checkpoint.size, |index, entry| {
        let stated = stated_time(entry).map(DateTime::<Utc>::from);
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
    Ok(late)
}

/// The key to check checkpoints with: the one given, else the one the
/// previous run used, else (first run) the one the server publishes.
fn trusted_key(
    opts: &MonitorOpts,
    remote: &Remote,
    previous: Option<&State>,
) -> anyhow::Result<String> {
    let key = match (&opts.key, previous) {
        (Some(key), _) => key_argument(key)?,
        (None, Some(state)) => state.verifier_key.clone(),
        (None, None) => {
            let key = remote.published_key()?;
            eprintln!(
                "note: trusting the key the server publishes, {key}; pass --key to pin one obtained independently"
            );
            key
        }
    };
    if let Some(state) = previous
        && state.verifier_key != key
    {
        return Err(Inconsistent(format!(
            "the log key changed from {} to {key}",
            state.verifier_key
        ))
        .into());
    }
    Ok(key)
}

/// Checks that `checkpoint` extends the tree of `old_size` leaves and root
/// `old_root`, with a consistency proof rebuilt from the hash tiles.
fn check_extends(
    remote: &Remote,
    checkpoint: &Checkpoint,
    old_size: u64,
    old_root: &Hash,
) -> anyhow::Result<()> {
    if checkpoint.size < old_size {
        return Err(Inconsistent(format!(
            "the log shrank from {old_size} to {} entries",
            checkpoint.size
        ))
        .into());
    }
    let plan = Plan::consistency(old_size, checkpoint.size)
        .map_err(|e| anyhow!("consistency proof: {e}"))?;
    let proof = remote.proof(&plan, checkpoint.size)?;
    tlog::verify_consistency(
        old_size,
        checkpoint.size,
        old_root,
        &checkpoint.root,
        &proof,
    )
    .map_err(|e| {
        Inconsistent(format!(
            "the checkpoint of {} entries does not extend the one of {old_size} seen before ({e})",
            checkpoint.size
        ))
    })?;
    if checkpoint.size == old_size {
        println!(
            "OK  {} is unchanged at {old_size} entries",
            checkpoint.origin
        );
    } else {
        println!(
            "OK  {} grew from {old_size} to {} entries, consistently",
            checkpoint.origin, checkpoint.size
        );
    }
    Ok(())
}

/// Prints the first late entries and says how many there are.
fn report_late(late: &[(u64, DateTime<Utc>)], since: DateTime<Utc>, late_after: u64) -> Late {
    let since = since.to_rfc3339_opts(SecondsFormat::Secs, true);
    for (index, stated) in late.iter().take(10) {
        println!(
            "LATE entry {index} states {}, but was not in the log at {since}",
            stated.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
    }
    Late(format!(
        "{} new entries (from entry {}) state a time more than {late_after} s before the last check at {since}",
        late.len(),
        late[0].0
    ))
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
