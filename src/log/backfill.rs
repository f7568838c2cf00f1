//! Entries for files stored by a version without the log.

use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};

use crate::db;
use crate::proofs::tlog::entry::stamp_entry;
use crate::proofs::tlog::leaf_hash;

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
