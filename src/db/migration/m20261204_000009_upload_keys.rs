//! The `upload_keys` table: the `Idempotency-Key`s of stored uploads, so that
//! a retry answers the first result instead of storing the files again.

use sea_orm_migration::prelude::*;

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UploadKeys {
    Table,
    UserId,
    KeyHash,
    FileIds,
    CreatedAt,
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
        let mut table = Table::create();
        table
            .table(UploadKeys::Table)
            .if_not_exists()
            .col(ColumnDef::new(UploadKeys::UserId).integer().not_null())
            .col(ColumnDef::new(UploadKeys::KeyHash).char_len(64).not_null())
            .col(ColumnDef::new(UploadKeys::FileIds).text().not_null())
            .col(
                ColumnDef::new(UploadKeys::CreatedAt)
                    .big_integer()
                    .not_null(),
            )
            .primary_key(
                Index::create()
                    .name("upload_keys_pk")
                    .col(UploadKeys::UserId)
                    .col(UploadKeys::KeyHash),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("upload_keys_user_id_fk")
                    .from(UploadKeys::Table, UploadKeys::UserId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager
            .create_table(types::table_options(backend, &mut table))
            .await?;
        if !manager
            .has_index("upload_keys", "upload_keys_created_at_idx")
            .await?
        {
            manager
                .create_index(
                    Index::create()
                        .name("upload_keys_created_at_idx")
                        .table(UploadKeys::Table)
                        .col(UploadKeys::CreatedAt)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
