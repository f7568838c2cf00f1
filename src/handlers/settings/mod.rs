//! `/settings/*`: the signed-in user's own settings.

pub mod account;
pub mod activity;
pub mod delete_account;
pub mod sessions;
pub mod tokens;
pub mod two_factor;

use crate::error::AppError;
use crate::web::CurrentUser;

/// Refuses a request made with an API token, with `refusal`: these settings
/// are changed only from a signed-in session.
fn session_only(user: &CurrentUser, refusal: &'static str) -> Result<(), AppError> {
    match user.api_token {
        Some(_) => Err(AppError::Forbidden(refusal)),
        None => Ok(()),
    }
}
