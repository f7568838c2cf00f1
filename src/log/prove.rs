//! Inclusion and consistency proofs, read from the stored subtree hashes.

use sea_orm::DbErr;

use crate::db;
use crate::proofs::tlog::Hash;
use crate::proofs::tlog::stored::Plan;

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
