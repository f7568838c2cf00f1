//! The lookup from a leaf hash to its place in the tree moves from an index
//! on `log_entries` to `log_leaves`, which the sequencer fills a round at a
//! time. A stamp's entry then appends to `log_entries` and its primary key
//! only, instead of adding a key at a random place in an index of hashes as
//! part of the stamp's reply.
//!
//! - `log_leaves`: `(leaf_hash, leaf_index)`, both the key (on SQLite a
//!   table without row ids, on MySQL the clustered index), written once per
//!   placed entry and never changed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LogEntries {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let create = match backend {
            DbBackend::MySql => {
                "CREATE TABLE IF NOT EXISTS log_leaves (leaf_hash BINARY(32) NOT NULL, \
                 leaf_index BIGINT NOT NULL, PRIMARY KEY (leaf_hash, leaf_index)) ENGINE=InnoDB"
            }
            DbBackend::Postgres => {
                "CREATE TABLE IF NOT EXISTS log_leaves (leaf_hash BYTEA NOT NULL, \
                 leaf_index BIGINT NOT NULL, PRIMARY KEY (leaf_hash, leaf_index))"
            }
            _ => {
                "CREATE TABLE IF NOT EXISTS log_leaves (leaf_hash BLOB NOT NULL, \
                 leaf_index INTEGER NOT NULL, PRIMARY KEY (leaf_hash, leaf_index)) WITHOUT ROWID"
            }
        };
        let connection = manager.get_connection();
        connection.execute_unprepared(create).await?;
        // The entries already placed; a rerun after a partial migration adds none twice.
        connection
            .execute_unprepared(
                "INSERT INTO log_leaves (leaf_hash, leaf_index) \
                 SELECT e.leaf_hash, e.leaf_index FROM log_entries e \
                 WHERE e.leaf_index IS NOT NULL AND NOT EXISTS \
                 (SELECT 1 FROM log_leaves l WHERE l.leaf_hash = e.leaf_hash AND l.leaf_index = e.leaf_index)",
            )
            .await?;
        if manager
            .has_index("log_entries", "log_entries_leaf_hash_idx")
            .await?
        {
            manager
                .drop_index(
                    Index::drop()
                        .name("log_entries_leaf_hash_idx")
                        .table(LogEntries::Table)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
