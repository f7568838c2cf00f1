//! The `api_tokens` table: personal tokens for scripts, stored only as hashes.

use sea_orm_migration::prelude::*;

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    CreatedAt,
    LastUsedAt,
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
            .table(ApiTokens::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(ApiTokens::Id)
                    .integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(ColumnDef::new(ApiTokens::UserId).integer().not_null())
            .col(ColumnDef::new(ApiTokens::Name).string_len(100).not_null())
            .col(
                ColumnDef::new(ApiTokens::TokenHash)
                    .char_len(64)
                    .not_null()
                    .unique_key(),
            )
            .col(
                ColumnDef::new(ApiTokens::CreatedAt)
                    .big_integer()
                    .not_null(),
            )
            .col(ColumnDef::new(ApiTokens::LastUsedAt).big_integer().null())
            .foreign_key(
                ForeignKey::create()
                    .name("api_tokens_user_id_fk")
                    .from(ApiTokens::Table, ApiTokens::UserId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager
            .create_table(types::table_options(backend, &mut table))
            .await?;
        if !manager
            .has_index("api_tokens", "api_tokens_user_id_idx")
            .await?
        {
            manager
                .create_index(
                    Index::create()
                        .name("api_tokens_user_id_idx")
                        .table(ApiTokens::Table)
                        .col(ApiTokens::UserId)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
