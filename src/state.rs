//! [`AppState`]: what every handler can reach, built once at start.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::{Keys, PasswordHasher};
use crate::config::Config;
use crate::storage::Storage;

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub keys: Arc<Keys>,
    pub passwords: PasswordHasher,
    pub storage: Storage,
}
