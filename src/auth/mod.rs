//! Authentication mechanics with no HTTP or SQL in them: password hashing,
//! session tokens and CSRF tokens.

pub mod legacy_hash;
pub mod password;
pub mod tokens;

pub use password::{HashError, HashingLimits, PasswordHasher, Verdict};
pub use tokens::{ApiTokenSecret, Secrets, SessionToken};
