//! SeaORM entities: one module per table, mirroring the migrations.

pub mod files;
pub mod sessions;
pub mod users;
