//! What a user sees of their account's activity: each session's device and
//! address (`sessions.device`, `sessions.client_address`), and the audit
//! trail (`audit_events`: sign-ins and refusals, second-factor, token,
//! password, email and session changes, with time, address and device).

use sea_orm_migration::prelude::*;

use super::types;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Sessions {
    Table,
    Device,
    ClientAddress,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    UserId,
    Event,
    Detail,
    ClientAddress,
    Device,
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
        let added = [
            (
                Sessions::Device,
                ColumnDef::new(Sessions::Device)
                    .string_len(255)
                    .null()
                    .to_owned(),
            ),
            (
                Sessions::ClientAddress,
                ColumnDef::new(Sessions::ClientAddress)
                    .string_len(64)
                    .null()
                    .to_owned(),
            ),
        ];
        types::add_missing_columns(manager, Sessions::Table, added.into()).await?;

        let mut events = Table::create();
        events
            .table(AuditEvents::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(AuditEvents::Id)
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(ColumnDef::new(AuditEvents::UserId).integer().not_null())
            .col(ColumnDef::new(AuditEvents::Event).string_len(40).not_null())
            .col(ColumnDef::new(AuditEvents::Detail).string_len(255).null())
            .col(
                ColumnDef::new(AuditEvents::ClientAddress)
                    .string_len(64)
                    .null(),
            )
            .col(ColumnDef::new(AuditEvents::Device).string_len(255).null())
            .col(
                ColumnDef::new(AuditEvents::CreatedAt)
                    .big_integer()
                    .not_null(),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("audit_events_user_id_fk")
                    .from(AuditEvents::Table, AuditEvents::UserId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager
            .create_table(types::table_options(backend, &mut events))
            .await?;
        if !manager
            .has_index("audit_events", "audit_events_user_id_idx")
            .await?
        {
            manager
                .create_index(
                    Index::create()
                        .name("audit_events_user_id_idx")
                        .table(AuditEvents::Table)
                        .col(AuditEvents::UserId)
                        .col(AuditEvents::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
