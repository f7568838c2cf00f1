//! The `sessions` table: sign-ins shared by every process through the database.

use sea_orm_migration::prelude::*;

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
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
            .table(Sessions::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(Sessions::Id)
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(Sessions::UserId).integer().not_null())
            .col(ColumnDef::new(Sessions::CreatedAt).big_integer().not_null())
            .col(
                ColumnDef::new(Sessions::LastSeenAt)
                    .big_integer()
                    .not_null(),
            )
            .col(ColumnDef::new(Sessions::ExpiresAt).big_integer().not_null())
            .foreign_key(
                ForeignKey::create()
                    .name("sessions_user_id_fk")
                    .from(Sessions::Table, Sessions::UserId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager
            .create_table(types::table_options(backend, &mut table))
            .await?;
        for (name, column) in [
            ("sessions_user_id_idx", Sessions::UserId),
            ("sessions_expires_at_idx", Sessions::ExpiresAt),
        ] {
            if !manager.has_index("sessions", name).await? {
                manager
                    .create_index(
                        Index::create()
                            .name(name)
                            .table(Sessions::Table)
                            .col(column)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
