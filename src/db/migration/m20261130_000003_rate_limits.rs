//! The `rate_limits` table: counters shared by every process, one row per bucket.

use sea_orm_migration::prelude::*;

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RateLimits {
    Table,
    Bucket,
    WindowStart,
    Hits,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let mut table = Table::create();
        table
            .table(RateLimits::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(RateLimits::Bucket)
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(RateLimits::WindowStart)
                    .big_integer()
                    .not_null(),
            )
            .col(ColumnDef::new(RateLimits::Hits).big_integer().not_null());
        manager
            .create_table(types::table_options(backend, &mut table))
            .await
    }
}
