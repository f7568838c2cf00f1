//! `/settings/*`: the signed-in user's own settings.

pub mod account;
pub mod tokens;
