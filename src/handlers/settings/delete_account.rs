//! `/settings/account/delete`: deleting the account, asked on a page of its
//! own, with the password and (when it is on) a second-factor code. The
//! files leave storage; their stamps stay in the append-only transparency
//! log, which holds hashes only, and receipts already given out still verify.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts;
use crate::domain::Password;
use crate::error::AppError;
use crate::handlers::auth::redirect_with_flash;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::web::cookies::{self, Name};
use crate::web::pages::{DeleteAccountPage, FlashKind};
use crate::web::{CurrentUser, Format, Input, Visitor};

fn session_only(user: &CurrentUser) -> Result<(), AppError> {
    super::session_only(
        user,
        "An account is deleted from a signed-in session, not with a token.",
    )
}

async fn page(
    state: &AppState,
    visitor: &Visitor,
    user: &CurrentUser,
    error: Option<String>,
) -> Result<DeleteAccountPage, AppError> {
    Ok(DeleteAccountPage {
        layout: visitor.layout(state, "Delete account"),
        username: user.username.clone(),
        two_factor: crate::two_factor::is_on(state, user.id).await?,
        error,
    })
}

/// The page that asks.
pub async fn confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
) -> Result<Response, AppError> {
    session_only(&user)?;
    Ok(page(&state, &visitor, &user, None).await?.into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct DeleteAccountForm {
    password: String,
    /// With two-factor sign-in on: a code from the app, or a recovery code.
    code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDeleted {
    /// How many files left storage.
    files_deleted: u64,
}

#[utoipa::path(
    post,
    path = "/settings/account/delete",
    operation_id = "delete_account",
    tag = "accounts",
    summary = "Delete the account",
    description = "Its files are deleted from storage, then the account, its sessions, tokens, second factor and activity. The files' stamps stay in the transparency log (hashes only); receipts given out still verify.",
    request_body(content(
        (DeleteAccountForm = "application/json"),
        (DeleteAccountForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = OK, description = "Deleted.", body = AccountDeleted),
        (status = SEE_OTHER, description = "Deleted; a browser goes to the home page, signed out."),
        (status = UNAUTHORIZED, description = "The password (`invalid_credentials`) or the code (`invalid_code`) is wrong.", body = ErrorBody),
        (status = FORBIDDEN, description = "Asked with an API token.", body = ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "Too many wrong passwords for this account.", body = ErrorBody, headers(("retry-after" = u64))),
    ),
    security(("session" = [], "csrf" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Input(form): Input<DeleteAccountForm>,
) -> Result<Response, AppError> {
    session_only(&user)?;
    let outcome = async {
        let password = Password::parse_attempt(form.password)?;
        accounts::delete_account(&state, user.id, &password, &form.code, &visitor.client).await
    }
    .await;
    let files = match (outcome, format) {
        (Ok(files), _) => files,
        (Err(error), Format::Html) if super::shown_on_the_page(&error) => {
            let page = page(&state, &visitor, &user, Some(error.to_string())).await?;
            return Ok((error.status(), page).into_response());
        }
        (Err(error), _) => return Err(error),
    };
    let mut response = match format {
        Format::Json => Json(AccountDeleted {
            files_deleted: files,
        })
        .into_response(),
        Format::Html => redirect_with_flash(
            &state,
            visitor.secure,
            "/",
            FlashKind::Success,
            format!(
                "Your account and its {files} file(s) were deleted. Their time-stamps stay in the public transparency log, which holds only hashes."
            ),
        ),
    };
    cookies::set(
        &mut response,
        &cookies::removal(Name::Session, visitor.secure),
    );
    Ok(response)
}
