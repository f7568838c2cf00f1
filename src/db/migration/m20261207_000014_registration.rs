//! Who may have an account: `users.disabled_at` (an operator's `securestamp
//! user disable`; such an account cannot sign in) and `invites` (single-use
//! codes for `REGISTRATION=invite`, kept as SHA-256 hashes).

use sea_orm_migration::prelude::*;

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    DisabledAt,
}

#[derive(DeriveIden)]
enum Invites {
    Table,
    CodeHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let added = [(
            Users::DisabledAt,
            ColumnDef::new(Users::DisabledAt)
                .big_integer()
                .null()
                .to_owned(),
        )];
        types::add_missing_columns(manager, Users::Table, added.into()).await?;
        let mut invites = Table::create();
        invites
            .table(Invites::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(Invites::CodeHash)
                    .char_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(Invites::CreatedAt).big_integer().not_null())
            .col(ColumnDef::new(Invites::ExpiresAt).big_integer().not_null())
            .col(ColumnDef::new(Invites::UsedAt).big_integer().null());
        manager
            .create_table(types::table_options(backend, &mut invites))
            .await
    }
}
