//! The `object_uploads` table: what an upload has begun in object storage and
//! not yet finished with (a multipart upload, or a staged object waiting to be
//! placed), so that whatever a dead process began can be found and removed.
//! Object stores cannot be asked for them reliably: S3's listing of pending
//! multipart uploads is not offered by every store or client.

use sea_orm_migration::prelude::*;

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ObjectUploads {
    Table,
    ObjectKey,
    UploadId,
    TouchedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let mut table = Table::create();
        table
            .table(ObjectUploads::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(ObjectUploads::ObjectKey)
                    .string_len(255)
                    .not_null()
                    .primary_key(),
            )
            // The store's id of a multipart upload; NULL once it is complete
            // and the object is there.
            .col(ColumnDef::new(ObjectUploads::UploadId).text().null())
            .col(
                ColumnDef::new(ObjectUploads::TouchedAt)
                    .big_integer()
                    .not_null(),
            );
        manager
            .create_table(types::table_options(backend, &mut table))
            .await?;
        if !manager
            .has_index("object_uploads", "object_uploads_touched_at_idx")
            .await?
        {
            manager
                .create_index(
                    Index::create()
                        .name("object_uploads_touched_at_idx")
                        .table(ObjectUploads::Table)
                        .col(ObjectUploads::TouchedAt)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
