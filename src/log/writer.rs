//! Group commit: the writers that store queued `/tsa` entries, many to one
//! multi-row `INSERT`.

use super::{GROUP, TransparencyLog};
use crate::db;
use crate::proofs::tlog::Hash;

impl TransparencyLog {
    pub(super) async fn write(self) {
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
