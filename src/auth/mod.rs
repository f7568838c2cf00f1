//! Authentication mechanics with no HTTP or SQL in them: password hashing,
//! session tokens, CSRF tokens and the cross-site request check.

pub mod csrf;
pub mod legacy_hash;
pub mod password;
pub mod tokens;

pub use password::{PasswordHasher, Verdict};
pub use tokens::{ApiTokenSecret, Keys, SessionToken};
