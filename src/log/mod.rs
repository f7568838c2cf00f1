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

mod backfill;
mod prove;
mod sequencer;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend, DbErr};
use tokio::sync::{Mutex, Notify, mpsc, oneshot, watch};

use crate::db;
use crate::db::log::Head;
use crate::keys::LogKeys;
use crate::proofs::tlog::note::NoteSigner;
use crate::proofs::tlog::{Hash, leaf_hash};

pub use backfill::log_earlier_files;
pub use prove::{ProveError, consistency_proof, inclusion_proof};

/// The longest an entry waits for a round when nobody asks for one.
pub const INTERVAL: Duration = Duration::from_millis(500);
/// How long a request waits for a round before its client is told to come back.
const PATIENCE: Duration = Duration::from_secs(3);
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
    async fn settle(&self, patience: Duration) {
        let mut rounds = self.inner.rounds.subscribe();
        let now = *rounds.borrow_and_update();
        self.inner.wake.notify_one();
        // The round under way may have looked before our entries were there; the next one will not.
        let _ = tokio::time::timeout(patience, rounds.wait_for(|done| *done >= now + 2)).await;
    }

    /// The head and its signed checkpoint. Right after a first start the
    /// first checkpoint may still be on its way: the caller waits for a round.
    pub async fn signed_head(&self) -> Result<Option<(Head, String)>, DbErr> {
        let head = db::log::head(&self.inner.db).await?;
        if let Some(checkpoint) = head.checkpoint.clone() {
            return Ok(Some((head, checkpoint)));
        }
        self.settle(PATIENCE).await;
        let head = db::log::head(&self.inner.db).await?;
        Ok(head.checkpoint.clone().map(|checkpoint| (head, checkpoint)))
    }

    /// An entry by id: its index once placed, and its body. An entry not yet
    /// in the tree gets a round and a moment before the answer.
    pub async fn entry(&self, id: i64) -> Result<Option<(Option<u64>, Vec<u8>)>, DbErr> {
        let found = db::log::entry(&self.inner.db, id).await?;
        if !matches!(found, Some((None, _))) {
            return Ok(found);
        }
        self.settle(PATIENCE).await;
        db::log::entry(&self.inner.db, id).await
    }

    /// One round; how many entries it placed.
    async fn round(&self) -> Result<usize, DbErr> {
        let _turn = self.sqlite_turn().await;
        sequencer::sequence_once(&self.inner.db, &self.inner.signer, self.batch()).await
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
}
