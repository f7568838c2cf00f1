//! Schema migrations, embedded in the binary and applied at start and by
//! `securestamp db upgrade`. A migration that has landed is never edited: add a new one.
//!
//! The same statements must be right on SQLite, MySQL/MariaDB and PostgreSQL;
//! [`types`] holds the column types that differ.

mod m20261130_000001_users;
mod m20261130_000002_sessions;
mod m20261130_000003_rate_limits;
mod m20261130_000004_files;
mod m20261130_000005_api_tokens;
mod m20261130_000006_file_proofs;
mod m20261130_000007_transparency_log;
mod m20261203_000008_log_leaves;
mod m20261204_000009_upload_keys;
mod m20261205_000010_imported_files;
mod m20261207_000011_object_uploads;
mod m20261207_000012_two_factor;
mod m20261207_000013_account_activity;
mod m20261207_000014_registration;
mod m20261208_000015_inline_contents;
pub mod types;

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261130_000001_users::Migration),
            Box::new(m20261130_000002_sessions::Migration),
            Box::new(m20261130_000003_rate_limits::Migration),
            Box::new(m20261130_000004_files::Migration),
            Box::new(m20261130_000005_api_tokens::Migration),
            Box::new(m20261130_000006_file_proofs::Migration),
            Box::new(m20261130_000007_transparency_log::Migration),
            Box::new(m20261203_000008_log_leaves::Migration),
            Box::new(m20261204_000009_upload_keys::Migration),
            Box::new(m20261205_000010_imported_files::Migration),
            Box::new(m20261207_000011_object_uploads::Migration),
            Box::new(m20261207_000012_two_factor::Migration),
            Box::new(m20261207_000013_account_activity::Migration),
            Box::new(m20261207_000014_registration::Migration),
            Box::new(m20261208_000015_inline_contents::Migration),
        ]
    }
}
