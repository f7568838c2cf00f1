//! SeaORM entities: one module per table, mirroring the migrations.

pub mod api_tokens;
pub mod files;
pub mod sessions;
pub mod users;
