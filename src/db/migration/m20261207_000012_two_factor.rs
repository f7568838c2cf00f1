//! Two-factor sign-in: `totp_credentials` (one authenticator per user, its
//! secret sealed, pending until a code confirms it, and the last time step
//! accepted, so that a code is taken once) and `recovery_codes` (single-use,
//! kept as SHA-256 hashes).

use sea_orm_migration::prelude::*;

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TotpCredentials {
    Table,
    UserId,
    SealedSecret,
    ConfirmedAt,
    LastStep,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    UserId,
    CodeHash,
    UsedAt,
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
        let mut credentials = Table::create();
        credentials
            .table(TotpCredentials::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(TotpCredentials::UserId)
                    .integer()
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(TotpCredentials::SealedSecret)
                    .string_len(255)
                    .not_null(),
            )
            .col(
                ColumnDef::new(TotpCredentials::ConfirmedAt)
                    .big_integer()
                    .null(),
            )
            .col(
                ColumnDef::new(TotpCredentials::LastStep)
                    .big_integer()
                    .not_null(),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("totp_credentials_user_id_fk")
                    .from(TotpCredentials::Table, TotpCredentials::UserId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager
            .create_table(types::table_options(backend, &mut credentials))
            .await?;
        let mut codes = Table::create();
        codes
            .table(RecoveryCodes::Table)
            .if_not_exists()
            .col(ColumnDef::new(RecoveryCodes::UserId).integer().not_null())
            .col(
                ColumnDef::new(RecoveryCodes::CodeHash)
                    .char_len(64)
                    .not_null(),
            )
            .col(ColumnDef::new(RecoveryCodes::UsedAt).big_integer().null())
            .primary_key(
                Index::create()
                    .name("recovery_codes_pk")
                    .col(RecoveryCodes::UserId)
                    .col(RecoveryCodes::CodeHash),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("recovery_codes_user_id_fk")
                    .from(RecoveryCodes::Table, RecoveryCodes::UserId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager
            .create_table(types::table_options(backend, &mut codes))
            .await
    }
}
