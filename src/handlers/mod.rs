//! Request handlers, grouped by resource; `router.rs` maps routes to them.

pub mod auth;
pub mod files;
pub mod health;
pub mod home;
pub mod keys;
pub mod log;
pub mod settings;
pub mod tsa;
pub mod verify;

use crate::error::AppError;

/// Everything the route table does not know.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
