//! Each file's proofs, on its own row so that a file and its proofs are
//! written in one statement: the RFC 3161 reply (DER) and the OpenPGP
//! detached signature (ASCII armor).

use sea_orm_migration::prelude::*;

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Files {
    Table,
    TimestampReply,
    OpenpgpSignature,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let added = [
            (
                Files::TimestampReply,
                types::bytes(backend, Files::TimestampReply)
                    .null()
                    .to_owned(),
            ),
            (
                Files::OpenpgpSignature,
                ColumnDef::new(Files::OpenpgpSignature)
                    .text()
                    .null()
                    .to_owned(),
            ),
        ];
        types::add_missing_columns(manager, Files::Table, added.into()).await?;
        Ok(())
    }
}
