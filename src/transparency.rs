//! The transparency log as a service: recording entries durably, and
//! sequencing them into the Merkle tree, shared through the database by
//! every `securestamp` process.
//!
//! - Uploads record their entry in the transaction that stores the file.
//!   `POST /tsa` hands its entry to [`TransparencyLog::append`], which groups
//!   the entries of concurrent requests into one multi-row `INSERT` (group
//!   commit) and answers only once they are stored: no token leaves without
//!   its entry.
//! - Each process runs a sequencer loop. A round locks `log_state`'s row
//!   (so one process at a time extends the tree; the others queue on the
//!   lock), places waiting entries after the current size, stores the
//!   hashes of the subtrees they complete, signs a checkpoint and commits,
//!   all in one transaction. A round runs at least every
//!   [`INTERVAL`], and at once when a request asks for it.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend, DbErr, TransactionTrait};
use tokio::sync::{Mutex, Notify, mpsc, oneshot, watch};

use crate::db;
use crate::keys::LogKeys;
use crate::proofs::tlog::checkpoint::Checkpoint;
use crate::proofs::tlog::entry::stamp_entry;
use crate::proofs::tlog::note::NoteSigner;
use crate::proofs::tlog::stored::Plan;
use crate::proofs::tlog::{Hash, leaf_hash};

/// The longest an entry waits for a round when nobody asks for one.
pub const INTERVAL: Duration = Duration::from_millis(500);
/// Entries placed per round; more wait for the next round, which follows at
/// once. A round on SQLite holds the only write lock, which every upload and
/// stamp is then waiting for, so rounds there stay short (about 5 ms).
const BATCH: u32 = 20_000;
const SQLITE_BATCH: u32 = 1_000;
/// Entries stored per group commit.
const GROUP: usize = 2_000;
/// Group commits in flight at once, per process, where the database takes
/// concurrent writers. SQLite takes one writer at a time: there a second one
/// would only sleep in SQLite's busy handler.
const WRITERS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("the log's writer has stopped")]
    Stopped,
}

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct TransparencyLog {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    signer: NoteSigner,
    verifier_key: String,
    /// Wakes the sequencer loop for a round now.
    wake: Notify,
    /// How many rounds this process's loop has finished.
    rounds: watch::Sender<u64>,
    queue: mpsc::Sender<Queued>,
    /// Taken by the writers in turn, each draining what has queued.
    queued: Mutex<mpsc::Receiver<Queued>>,
    /// On SQLite, held by whichever of this process's log writers and
    /// sequencer is writing, so that they queue here instead of in SQLite's
    /// busy handler, which sleeps for up to 100 ms at a time.
    sqlite_writes: Option<Mutex<()>>,
}

struct Queued {
    leaf: Hash,
    entry: Vec<u8>,
    stored: oneshot::Sender<Result<(), String>>,
}

impl TransparencyLog {
    pub fn new(db: DatabaseConnection, keys: LogKeys) -> TransparencyLog {
        let (queue, queued) = mpsc::channel(GROUP * WRITERS);
        let sqlite_writes =
            (db.get_database_backend() == DbBackend::Sqlite).then(|| Mutex::new(()));
        TransparencyLog {
            inner: Arc::new(Inner {
                sqlite_writes,
                db,
                signer: keys.signer,
                verifier_key: keys.verifier_key,
                wake: Notify::new(),
                rounds: watch::Sender::new(0),
                queue,
                queued: Mutex::new(queued),
            }),
        }
    }

    /// The log's name: its checkpoints' origin line and its key's name.
    pub fn origin(&self) -> &str {
        self.inner.signer.name()
    }

    /// `<origin>+<key id>+<base64 key>`, as C2SP verifiers take it.
    pub fn verifier_key(&self) -> &str {
        &self.inner.verifier_key
    }

    /// Starts this process's sequencer loop and group-commit writers.
    pub fn spawn(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = vec![tokio::spawn(self.clone().sequence())];
        let writers = if self.inner.sqlite_writes.is_some() {
            1
        } else {
            WRITERS
        };
        for _ in 0..writers {
            tasks.push(tokio::spawn(self.clone().write()));
        }
        tasks
    }

    /// Stores `entry` to be placed in the log; returns once it is durable.
    pub async fn append(&self, entry: Vec<u8>) -> Result<(), LogError> {
        let (stored, done) = oneshot::channel();
        let queued = Queued {
            leaf: leaf_hash(&entry),
            entry,
            stored,
        };
        self.inner
            .queue
            .send(queued)
            .await
            .map_err(|_| LogError::Stopped)?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(LogError::Db(DbErr::Custom(message))),
            Err(_) => Err(LogError::Stopped),
        }
    }

    /// Asks for a round and waits (at most `patience`) until one that began
    /// after this call has finished, in this process. Entries committed
    /// before the call are then placed, unless that round failed.
    pub async fn settle(&self, patience: Duration) {
        let mut rounds = self.inner.rounds.subscribe();
        let now = *rounds.borrow_and_update();
        self.inner.wake.notify_one();
        // The round under way may have looked before our entries were there; the next one will not.
        let _ = tokio::time::timeout(patience, rounds.wait_for(|done| *done >= now + 2)).await;
    }

    /// One round; how many entries it placed.
    pub async fn round(&self) -> Result<usize, DbErr> {
        let _turn = self.sqlite_turn().await;
        sequence_once(&self.inner.db, &self.inner.signer, self.batch()).await
    }

    fn batch(&self) -> u32 {
        if self.inner.sqlite_writes.is_some() {
            SQLITE_BATCH
        } else {
            BATCH
        }
    }

    /// This process's turn to write, on SQLite; nothing elsewhere.
    async fn sqlite_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.inner.sqlite_writes {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    async fn sequence(self) {
        loop {
            let more = match self.round().await {
                Ok(placed) => placed == self.batch() as usize,
                Err(error) => {
                    tracing::warn!(%error, "could not extend the transparency log; will retry");
                    false
                }
            };
            self.inner.rounds.send_modify(|done| *done += 1);
            if !more {
                tokio::select! {
                    () = self.inner.wake.notified() => {}
                    () = tokio::time::sleep(INTERVAL) => {}
                }
            }
        }
    }

    async fn write(self) {
        loop {
            let mut batch = Vec::new();
            {
                let mut queued = self.inner.queued.lock().await;
                if queued.recv_many(&mut batch, GROUP).await == 0 {
                    return;
                }
                // Requests that are ready to run may be about to append: let
                // them, and take what they add, so that one write carries them
                // all. Idle, this costs nothing; under load it is what makes
                // the groups (without it they average under two entries).
                while batch.len() < GROUP {
                    tokio::task::yield_now().await;
                    let before = batch.len();
                    while batch.len() < GROUP {
                        match queued.try_recv() {
                            Ok(more) => batch.push(more),
                            Err(_) => break,
                        }
                    }
                    if batch.len() == before {
                        break;
                    }
                }
            }
            let rows: Vec<(Hash, Vec<u8>)> = batch
                .iter_mut()
                .map(|queued| (queued.leaf, std::mem::take(&mut queued.entry)))
                .collect();
            let outcome = {
                let _turn = self.sqlite_turn().await;
                db::log::insert_entries(&self.inner.db, &rows).await
            }
            .map_err(|error| error.to_string());
            if let Err(error) = &outcome {
                tracing::warn!(%error, entries = rows.len(), "could not record log entries");
            }
            for queued in batch {
                let _ = queued.stored.send(outcome.clone());
            }
        }
    }
}

/// Gives files stored before the log existed their entries, a batch at a
/// time; how many it gave. Each file's entry and link are one transaction,
/// and a file another process links first keeps that entry only.
pub async fn log_earlier_files(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let (mut logged, mut after) = (0, 0);
    loop {
        let batch = db::files::unlogged(db, after, 500).await?;
        if batch.is_empty() {
            return Ok(logged);
        }
        for (file_id, reply) in batch {
            after = file_id;
            let Ok((token, gen_time)) = crate::proofs::tsa::token_of(&reply) else {
                tracing::warn!(
                    file_id,
                    "a file's time-stamp reply is unreadable; not logged"
                );
                continue;
            };
            let entry = stamp_entry(gen_time, &token);
            let txn = db.begin().await?;
            let entry_id = db::log::insert_entry(&txn, &leaf_hash(&entry), &entry).await?;
            if db::files::link_log_entry(&txn, file_id, entry_id).await? {
                txn.commit().await?;
                logged += 1;
            } else {
                txn.rollback().await?;
            }
        }
    }
}

/// Places waiting entries in the tree and signs the new checkpoint, in one
/// transaction holding the head's lock.
async fn sequence_once(
    db: &DatabaseConnection,
    signer: &NoteSigner,
    batch: u32,
) -> Result<usize, DbErr> {
    if !db::log::has_work(db).await? {
        return Ok(0);
    }
    let started = std::time::Instant::now();
    let txn = db.begin().await?;
    let head = db::log::lock_head(&txn).await?;
    let pending = db::log::pending(&txn, batch).await?;
    if pending.is_empty() && head.checkpoint.is_some() {
        txn.rollback().await?;
        return Ok(0);
    }
    let mut frontier = head.frontier;
    let mut placed = Vec::with_capacity(pending.len());
    let mut completed = Vec::with_capacity(pending.len() * 2);
    for (id, leaf) in &pending {
        placed.push((*id, frontier.size()));
        frontier.push(*leaf, &mut completed);
    }
    db::log::place(&txn, &placed).await?;
    db::log::store_nodes(&txn, &completed).await?;
    let checkpoint = Checkpoint {
        origin: signer.name().to_owned(),
        size: frontier.size(),
        root: frontier.root(),
    }
    .sign(signer)
    .map_err(|error| DbErr::Custom(format!("cannot sign the checkpoint: {error}")))?;
    db::log::save_head(&txn, &frontier, &checkpoint).await?;
    txn.commit().await?;
    if !pending.is_empty() {
        tracing::debug!(
            placed = pending.len(),
            size = frontier.size(),
            took = ?started.elapsed(),
            "extended the transparency log"
        );
    }
    Ok(pending.len())
}

/// Why a proof could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("the log has {size} entries")]
    OutOfRange { size: u64 },
    #[error("a stored hash the proof needs is missing")]
    Missing,
}

/// `PATH(index, D[size])` from the stored hashes: one read of O(log n) rows.
pub async fn inclusion_proof(
    db: &impl sea_orm::ConnectionTrait,
    index: u64,
    size: u64,
    current: u64,
) -> Result<Vec<Hash>, ProveError> {
    prove(db, Plan::inclusion(index, size), size, current).await
}

/// `PROOF(old_size, D[size])` from the stored hashes.
pub async fn consistency_proof(
    db: &impl sea_orm::ConnectionTrait,
    old_size: u64,
    size: u64,
    current: u64,
) -> Result<Vec<Hash>, ProveError> {
    prove(db, Plan::consistency(old_size, size), size, current).await
}

/// A proof about the tree of `size` leaves, which must exist (`current` is the log's size).
async fn prove(
    db: &impl sea_orm::ConnectionTrait,
    plan: Result<Plan, crate::proofs::tlog::ProofError>,
    size: u64,
    current: u64,
) -> Result<Vec<Hash>, ProveError> {
    if size > current {
        return Err(ProveError::OutOfRange { size: current });
    }
    let plan = plan.map_err(|_| ProveError::OutOfRange { size })?;
    let stored = db::log::nodes(db, &plan.nodes()).await?;
    plan.assemble(|node| stored.get(&node).copied())
        .ok_or(ProveError::Missing)
}
