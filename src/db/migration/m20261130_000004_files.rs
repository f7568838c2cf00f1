//! The `files` table as the original spec defined it (`filename` is the stored
//! name, `file_path` where the content lies), plus the content's hash, size and
//! type, and `blobs`: one row per stored content, counting the files that use it.
//!
//! Rows written by the original application keep NULL in the new columns;
//! the application lists only files that have them.

use sea_orm_migration::prelude::*;

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Files {
    Table,
    Id,
    Filename,
    OriginalFilename,
    UserId,
    UploadedAt,
    FilePath,
    Sha256,
    Size,
    ContentType,
}

#[derive(DeriveIden)]
enum Blobs {
    Table,
    Sha256,
    Size,
    Refcount,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        if !manager.has_table("files").await? {
            let mut table = Table::create();
            table
                .table(Files::Table)
                .col(
                    ColumnDef::new(Files::Id)
                        .integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(Files::Filename).string_len(255).not_null())
                .col(
                    ColumnDef::new(Files::OriginalFilename)
                        .string_len(255)
                        .not_null(),
                )
                .col(ColumnDef::new(Files::UserId).integer().not_null())
                .col(types::instant(backend, Files::UploadedAt).not_null())
                .col(ColumnDef::new(Files::FilePath).string_len(255).not_null())
                .foreign_key(
                    ForeignKey::create()
                        .name("files_user_id_fk")
                        .from(Files::Table, Files::UserId)
                        .to(Users::Table, Users::Id),
                );
            manager
                .create_table(types::table_options(backend, &mut table))
                .await?;
        }
        let added = [
            (
                Files::Sha256,
                ColumnDef::new(Files::Sha256).char_len(64).null().to_owned(),
            ),
            (
                Files::Size,
                ColumnDef::new(Files::Size).big_integer().null().to_owned(),
            ),
            (
                Files::ContentType,
                ColumnDef::new(Files::ContentType)
                    .string_len(255)
                    .null()
                    .to_owned(),
            ),
        ];
        types::add_missing_columns(manager, Files::Table, added.into()).await?;
        // The per-user listing walks this index newest first.
        if !manager.has_index("files", "files_user_id_id_idx").await? {
            manager
                .create_index(
                    Index::create()
                        .name("files_user_id_id_idx")
                        .table(Files::Table)
                        .col(Files::UserId)
                        .col(Files::Id)
                        .to_owned(),
                )
                .await?;
        }
        let mut blobs = Table::create();
        blobs
            .table(Blobs::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(Blobs::Sha256)
                    .char_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(Blobs::Size).big_integer().not_null())
            .col(ColumnDef::new(Blobs::Refcount).big_integer().not_null());
        manager
            .create_table(types::table_options(backend, &mut blobs))
            .await
    }
}
