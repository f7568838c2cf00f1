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

/// Refusals a person fixes on the form itself (a field, the password, the
/// code, a name taken, a wait): the page is shown again with the message.
fn shown_on_the_page(error: &AppError) -> bool {
    matches!(
        error,
        AppError::Invalid(_)
            | AppError::InvalidCredentials
            | AppError::InvalidCode(_)
            | AppError::Conflict { .. }
            | AppError::RateLimited { .. }
    )
}
