//! Small contents written to their `blobs` rows while the rest of their
//! upload is still arriving.
//!
//! A content kept in the database ([`crate::storage::INLINE_MAX`]) is
//! written, with a count of no files, in short commits of whatever has
//! arrived, on a task of its own. Writing a hundred such contents and
//! syncing them takes longer than receiving them; done this way it happens
//! while the client sends, and the transaction that stores the files has
//! only their rows left to write.
//!
//! A row counting no files is garbage until that transaction counts them,
//! so one that is collected meanwhile (by [`super::collect_garbage`], or by
//! another upload's clean-up) loses nothing: the transaction finds its bytes
//! missing and writes them again from memory. An upload that fails, or whose
//! client goes away, deletes the rows it wrote that no file uses; a crash
//! leaves them to garbage collection.

use std::collections::BTreeSet;

use bytes::Bytes;
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::db;
use crate::domain::ContentHash;
use crate::storage::StagedFile;

/// The contents of one upload written ahead of its transaction.
pub struct EarlyContents {
    db: DatabaseConnection,
    queue: Option<mpsc::UnboundedSender<(ContentHash, Bytes)>>,
    writer: Option<JoinHandle<BTreeSet<ContentHash>>>,
    /// What the writer stored, once [`EarlyContents::written`] has waited for it.
    written: BTreeSet<ContentHash>,
    /// Whether the rows are the vault's now (or deleted): nothing to undo.
    settled: bool,
}

impl EarlyContents {
    pub fn new(db: &DatabaseConnection) -> EarlyContents {
        EarlyContents {
            db: db.clone(),
            queue: None,
            writer: None,
            written: BTreeSet::new(),
            settled: false,
        }
    }

    /// Starts writing the file's content to its row, if it is one kept in
    /// the database. The queue holds a reference to bytes held anyway, so
    /// it adds nothing to the memory they are counted in.
    pub fn write(&mut self, file: &StagedFile) {
        let Some(bytes) = file.inline_bytes() else {
            return;
        };
        let queue = self.queue.get_or_insert_with(|| {
            let (queue, queued) = mpsc::unbounded_channel();
            self.writer = Some(tokio::spawn(write_all(self.db.clone(), queued)));
            queue
        });
        // The writer runs until the queue closes ([`EarlyContents::written`]).
        let _ = queue.send((file.hash.clone(), bytes));
    }

    /// Waits for what is on its way, and tells which contents have their
    /// rows, with their bytes, now (unless collected since).
    pub(super) async fn written(&mut self) -> &BTreeSet<ContentHash> {
        self.queue = None;
        // Kept until it has answered: a request dropped while waiting here
        // leaves it to [`Drop`] to wait for.
        if let Some(writer) = &mut self.writer {
            self.written = writer.await.unwrap_or_default();
            self.writer = None;
        }
        &self.written
    }

    /// The transaction that counts the files using these contents committed.
    pub(super) fn committed(&mut self) {
        self.settled = true;
    }

    /// Deletes the rows written here that no file uses.
    pub async fn undo(&mut self) {
        self.written().await;
        self.settled = true;
        delete_unused(&self.db, &self.written).await;
    }
}

impl Drop for EarlyContents {
    /// A request dropped midway (its client went away) undoes its writes
    /// on a task of its own.
    fn drop(&mut self) {
        if self.settled || (self.writer.is_none() && self.written.is_empty()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let db = self.db.clone();
        let writer = self.writer.take();
        let mut written = std::mem::take(&mut self.written);
        runtime.spawn(async move {
            if let Some(writer) = writer {
                written = writer.await.unwrap_or_default();
            }
            delete_unused(&db, &written).await;
        });
    }
}

/// Writes what has queued, in one short commit per round, until the queue
/// closes; returns the contents it wrote. A failed write is left for the
/// transaction that stores the files, which writes what is missing.
async fn write_all(
    db: DatabaseConnection,
    mut queued: mpsc::UnboundedReceiver<(ContentHash, Bytes)>,
) -> BTreeSet<ContentHash> {
    let mut written = BTreeSet::new();
    let mut batch = Vec::new();
    while queued.recv_many(&mut batch, db::CHUNK).await > 0 {
        // Rows are taken in hash order, as every writer of `blobs` takes them.
        batch.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        batch.dedup_by(|a, b| a.0 == b.0);
        let claims: Vec<db::blobs::Claim> = batch
            .iter()
            .map(|(hash, bytes)| db::blobs::Claim {
                hash,
                size: bytes.len() as u64,
                content: Some(bytes),
            })
            .collect();
        match db::blobs::write_contents(&db, &claims).await {
            Ok(()) => written.extend(batch.drain(..).map(|(hash, _)| hash)),
            Err(error) => {
                tracing::debug!(%error, "small contents left for their upload's commit");
                batch.clear();
            }
        }
    }
    written
}

async fn delete_unused(db: &DatabaseConnection, hashes: &BTreeSet<ContentHash>) {
    let hashes: Vec<&ContentHash> = hashes.iter().collect();
    if let Err(error) = db::blobs::delete_unused_contents(db, &hashes).await {
        tracing::warn!(%error, "small contents left for garbage collection");
    }
}
