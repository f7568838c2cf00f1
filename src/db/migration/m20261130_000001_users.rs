//! The `users` table as the original spec defined it, plus case-folded keys.
//!
//! A database created by the original application already has `users`: then
//! only the new columns are added and filled in.

use sea_orm_migration::prelude::*;

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    Username,
    Email,
    PasswordHash,
    CreatedAt,
    UsernameKey,
    EmailKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        if !manager.has_table("users").await? {
            let mut table = Table::create();
            table
                .table(Users::Table)
                .col(
                    ColumnDef::new(Users::Id)
                        .integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Users::Username)
                        .string_len(80)
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(Users::Email)
                        .string_len(120)
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(Users::PasswordHash)
                        .string_len(255)
                        .not_null(),
                )
                .col(types::instant(backend, Users::CreatedAt).not_null());
            manager
                .create_table(types::table_options(backend, &mut table))
                .await?;
        }
        for (column, source, length, index) in [
            (
                Users::UsernameKey,
                Users::Username,
                80,
                "users_username_key_unique",
            ),
            (Users::EmailKey, Users::Email, 120, "users_email_key_unique"),
        ] {
            if !manager.has_column("users", column.to_string()).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Users::Table)
                            .add_column(ColumnDef::new(column).string_len(length).null())
                            .to_owned(),
                    )
                    .await?;
            }
            // Rows written by the original application: SQL's LOWER folds
            // ASCII everywhere, which is what those rows hold in practice.
            manager
                .exec_stmt(
                    Query::update()
                        .table(Users::Table)
                        .value(column, Func::lower(Expr::col(source)))
                        .and_where(Expr::col(column).is_null())
                        .to_owned(),
                )
                .await?;
            if !manager.has_index("users", index).await? {
                manager
                    .create_index(
                        Index::create()
                            .name(index)
                            .table(Users::Table)
                            .col(column)
                            .unique()
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
