//! Files moved in from the original application: `imported` marks them, and
//! `legacy_uploaded_at` keeps the upload time that application recorded,
//! which no proof covers (their proofs date from the import).

use sea_orm_migration::prelude::*;

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Files {
    Table,
    Imported,
    LegacyUploadedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let added = [
            (
                Files::Imported,
                ColumnDef::new(Files::Imported)
                    .boolean()
                    .not_null()
                    .default(false)
                    .to_owned(),
            ),
            (
                Files::LegacyUploadedAt,
                types::instant(backend, Files::LegacyUploadedAt)
                    .null()
                    .to_owned(),
            ),
        ];
        types::add_missing_columns(manager, Files::Table, added.into()).await?;
        Ok(())
    }
}
