//! The transparency log: its entries, the hashes of its tree, and its head.
//!
//! - `log_entries`: one row per stamp, written with the stamp; `leaf_index`
//!   stays NULL until the sequencer places the entry in the tree.
//! - `log_nodes`: the hash of every perfect subtree, keyed by height and
//!   position; written once, never changed.
//! - `log_state`: one row, the tree's size, its frontier and its latest
//!   signed checkpoint; locking it makes a process the sequencer.
//! - `files.log_entry_id`: the entry of each upload's stamp.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LogEntries {
    Table,
    Id,
    LeafIndex,
    LeafHash,
    Body,
}

#[derive(DeriveIden)]
enum LogNodes {
    Table,
    Level,
    Idx,
    Hash,
}

#[derive(DeriveIden)]
enum LogState {
    Table,
    Id,
    Size,
    Frontier,
    Checkpoint,
}

#[derive(DeriveIden, Clone, Copy)]
enum Files {
    Table,
    LogEntryId,
}

/// A SHA-256 hash: fixed-width binary where the database has it.
fn hash<T: IntoIden>(backend: DbBackend, name: T) -> ColumnDef {
    let mut column = ColumnDef::new(name);
    match backend {
        DbBackend::MySql => column.custom("BINARY(32)"),
        _ => column.blob(),
    };
    column
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();

        let mut entries = Table::create();
        entries
            .table(LogEntries::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(LogEntries::Id)
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(LogEntries::LeafIndex)
                    .big_integer()
                    .null()
                    .unique_key(),
            )
            .col(hash(backend, LogEntries::LeafHash).not_null())
            .col(ColumnDef::new(LogEntries::Body).blob().not_null());
        manager
            .create_table(types::table_options(backend, &mut entries))
            .await?;
        if !manager
            .has_index("log_entries", "log_entries_leaf_hash_idx")
            .await?
        {
            manager
                .create_index(
                    Index::create()
                        .name("log_entries_leaf_hash_idx")
                        .table(LogEntries::Table)
                        .col(LogEntries::LeafHash)
                        .to_owned(),
                )
                .await?;
        }

        let mut nodes = Table::create();
        nodes
            .table(LogNodes::Table)
            .if_not_exists()
            .col(ColumnDef::new(LogNodes::Level).small_integer().not_null())
            .col(ColumnDef::new(LogNodes::Idx).big_integer().not_null())
            .col(hash(backend, LogNodes::Hash).not_null())
            .primary_key(Index::create().col(LogNodes::Level).col(LogNodes::Idx));
        manager
            .create_table(types::table_options(backend, &mut nodes))
            .await?;

        let mut state = Table::create();
        state
            .table(LogState::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(LogState::Id)
                    .integer()
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(LogState::Size).big_integer().not_null())
            .col(ColumnDef::new(LogState::Frontier).blob().not_null())
            .col(ColumnDef::new(LogState::Checkpoint).text().null());
        manager
            .create_table(types::table_options(backend, &mut state))
            .await?;
        // The one row; a rerun after a partial migration finds it there.
        let insert = match backend {
            DbBackend::MySql => {
                "INSERT IGNORE INTO log_state (id, size, frontier) VALUES (1, 0, ?)"
            }
            DbBackend::Postgres => {
                "INSERT INTO log_state (id, size, frontier) VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING"
            }
            _ => {
                "INSERT INTO log_state (id, size, frontier) VALUES (1, 0, ?) ON CONFLICT (id) DO NOTHING"
            }
        };
        manager
            .get_connection()
            .execute_raw(Statement::from_sql_and_values(
                backend,
                insert,
                [Vec::<u8>::new().into()],
            ))
            .await?;

        if !manager
            .has_column("files", Files::LogEntryId.to_string())
            .await?
        {
            manager
                .alter_table(
                    Table::alter()
                        .table(Files::Table)
                        .add_column(ColumnDef::new(Files::LogEntryId).big_integer().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
