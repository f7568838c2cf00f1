//! The circuit in front of the database: once a request has found the
//! database unreachable, the requests after it are answered 503 at once
//! instead of each waiting out the pool's acquire timeout, until a probe in
//! the background reaches the database again.
//!
//! This is one process's knowledge of its own connections, not shared state:
//! every process trips and closes its circuit by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::DatabaseConnection;

/// How often the probe tries the database while the circuit is open.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// A probe that takes longer than this counts as a failure: the pool's own
/// acquire timeout is far longer, and while it waits visitors get 503 anyway.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Cheap to clone: every clone is the same circuit.
#[derive(Clone, Default)]
pub struct Circuit {
    open: Arc<AtomicBool>,
}

impl Circuit {
    /// Whether requests that need the database should be refused now.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Opens the circuit after the database was found unreachable, and starts
    /// the probe that closes it again; a circuit already open is left alone.
    pub fn trip(&self, db: &DatabaseConnection) {
        if self.open.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::warn!("the database is unreachable: answering 503 until it is back");
        let circuit = self.clone();
        let db = db.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                let reached = tokio::time::timeout(PROBE_TIMEOUT, db.ping()).await;
                if matches!(reached, Ok(Ok(()))) {
                    break;
                }
            }
            circuit.open.store(false, Ordering::Release);
            tracing::info!("the database is reachable again");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tripped_circuit_closes_once_the_database_answers() {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        let circuit = Circuit::default();
        assert!(!circuit.is_open());
        circuit.trip(&db);
        assert!(circuit.is_open(), "open right after the trip");
        tokio::time::timeout(Duration::from_secs(5), async {
            while circuit.is_open() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the probe reaches the database and closes the circuit");
    }

    #[tokio::test]
    async fn the_circuit_stays_open_while_the_database_is_gone() {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        let circuit = Circuit::default();
        db.clone().close().await.unwrap();
        circuit.trip(&db);
        tokio::time::sleep(PROBE_EVERY * 4).await;
        assert!(circuit.is_open(), "no probe could reach a closed pool");
    }
}
