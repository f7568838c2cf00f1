//! The sequencer: a loop in every process, one round at a time across all of
//! them under the head row's lock.

use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};

use super::{INTERVAL, TransparencyLog};
use crate::db;
use crate::proofs::tlog::checkpoint::Checkpoint;
use crate::proofs::tlog::note::NoteSigner;

impl TransparencyLog {
    pub(super) async fn sequence(self) {
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
}

/// Places waiting entries in the tree and signs the new checkpoint, in one
/// transaction holding the head's lock.
pub(super) async fn sequence_once(
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
        placed.push(db::log::Placed {
            id: *id,
            leaf_hash: *leaf,
            index: frontier.size(),
        });
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
