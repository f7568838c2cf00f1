//! Small contents kept in the database: `blobs.content` holds a content of up
//! to [`crate::storage::INLINE_MAX`] bytes, so that a request's small files
//! become durable with its transaction's one commit instead of a sync each.
//! NULL for a content in storage (every content stored before this).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Blobs {
    Table,
    Content,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let added = [(
            Blobs::Content,
            types::bytes(backend, Blobs::Content).null().to_owned(),
        )];
        types::add_missing_columns(manager, Blobs::Table, added.into()).await?;
        if backend == DbBackend::Postgres {
            // Contents are mostly compressed or random already: stored out of
            // line as they are, without a compression attempt each.
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE blobs ALTER COLUMN content SET STORAGE EXTERNAL")
                .await?;
        }
        Ok(())
    }
}
