//! `/settings/*`: the signed-in user's own settings.

pub mod tokens;
