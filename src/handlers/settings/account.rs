//! `/settings/account`: the signed-in user's password and email address.
//!
//! Both changes need the current password, checked under the sign-in
//! throttle, and a browser session: an API token cannot change them.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts;
use crate::domain::{Email, Password};
use crate::error::AppError;
use crate::handlers::auth::{UserObject, redirect_with_flash};
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::web::pages::{AccountPage, FlashKind};
use crate::web::{CurrentUser, Format, Input, Visitor};

/// The session the change is made from, which stays signed in.
fn session_of(user: &CurrentUser, visitor: &Visitor) -> Result<String, AppError> {
    super::session_only(
        user,
        "The password and email are changed from a signed-in session, not with a token.",
    )?;
    visitor.session_id.clone().ok_or(AppError::Unauthenticated)
}

fn page(
    state: &AppState,
    visitor: &Visitor,
    user: &CurrentUser,
    password_error: Option<String>,
    email_error: Option<String>,
) -> AccountPage {
    AccountPage {
        layout: visitor.layout(state, "Account"),
        username: user.username.clone(),
        email: user.email.clone(),
        password_error,
        email_error,
    }
}

/// The signed-in account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountAnswer {
    user: UserObject,
}

#[utoipa::path(
    get,
    path = "/settings/account",
    operation_id = "account",
    tag = "accounts",
    summary = "The signed-in account",
    responses((status = OK, description = "The account.", body = AccountAnswer)),
    security(("bearer" = []), ("session" = [])),
)]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
) -> Response {
    match format {
        Format::Json => Json(AccountAnswer {
            user: (&user).into(),
        })
        .into_response(),
        Format::Html => page(&state, &visitor, &user, None, None).into_response(),
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewPassword {
    current_password: String,
    /// At least 8 characters.
    new_password: String,
}

/// Which sessions a password change ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChanged {
    /// How many other sessions were signed out.
    other_sessions_ended: u64,
}

#[utoipa::path(
    post,
    path = "/settings/password",
    operation_id = "change_password",
    tag = "accounts",
    summary = "Change the password",
    description = "Every other session of the account ends at once; this one stays.",
    request_body(content(
        (NewPassword = "application/json"),
        (NewPassword = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = OK, description = "Changed.", body = PasswordChanged),
        (status = SEE_OTHER, description = "Changed; a browser goes back to the account page."),
        (status = UNAUTHORIZED, description = "The current password is wrong (`invalid_credentials`).", body = ErrorBody),
        (status = FORBIDDEN, description = "Asked with an API token.", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "The new password is too short or too long.", body = ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "Too many wrong passwords for this account.", body = ErrorBody, headers(("retry-after" = u64))),
    ),
    security(("session" = [], "csrf" = [])),
)]
pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Input(form): Input<NewPassword>,
) -> Result<Response, AppError> {
    let session = session_of(&user, &visitor)?;
    let outcome = async {
        let current = Password::parse_attempt(form.current_password)
            .map_err(|e| crate::domain::FieldError::new("current_password", e.message))?;
        let new = Password::parse_new(form.new_password)
            .map_err(|e| crate::domain::FieldError::new("new_password", e.message))?;
        accounts::change_password(&state, user.id, &current, &new, &session, &visitor.client).await
    }
    .await;
    let outcome = outcome.map(|ended| {
        let json = Json(PasswordChanged {
            other_sessions_ended: ended,
        });
        (
            json.into_response(),
            "Your password was changed, and every other session was signed out.".to_owned(),
        )
    });
    answer(&state, &visitor, &user, format, Form::Password, outcome)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewEmail {
    email: String,
    /// The account's password.
    password: String,
}

#[utoipa::path(
    post,
    path = "/settings/email",
    operation_id = "change_email",
    tag = "accounts",
    summary = "Change the email address",
    request_body(content(
        (NewEmail = "application/json"),
        (NewEmail = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = OK, description = "Changed.", body = AccountAnswer),
        (status = SEE_OTHER, description = "Changed; a browser goes back to the account page."),
        (status = UNAUTHORIZED, description = "The password is wrong (`invalid_credentials`).", body = ErrorBody),
        (status = FORBIDDEN, description = "Asked with an API token.", body = ErrorBody),
        (status = CONFLICT, description = "Another account has that email (`email_taken`).", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "Not an email address.", body = ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "Too many wrong passwords for this account.", body = ErrorBody, headers(("retry-after" = u64))),
    ),
    security(("session" = [], "csrf" = [])),
)]
pub async fn change_email(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Input(form): Input<NewEmail>,
) -> Result<Response, AppError> {
    session_of(&user, &visitor)?;
    let outcome = async {
        let email = Email::parse(&form.email)?;
        let password = Password::parse_attempt(form.password)?;
        accounts::change_email(&state, user.id, &password, &email, &visitor.client).await?;
        Ok::<_, AppError>(email)
    }
    .await;
    let outcome = outcome.map(|email| {
        let json = Json(AccountAnswer {
            user: UserObject {
                id: user.id,
                username: user.username.clone(),
                email: email.as_str().to_owned(),
            },
        });
        (
            json.into_response(),
            format!("Your email is now {}.", email.as_str()),
        )
    });
    answer(&state, &visitor, &user, format, Form::Email, outcome)
}

/// The two forms of the page.
enum Form {
    Password,
    Email,
}

/// A change's answer: its JSON, or for a browser the account page again,
/// with a message on top once it is made, or beside its form when refused.
fn answer(
    state: &AppState,
    visitor: &Visitor,
    user: &CurrentUser,
    format: Format,
    form: Form,
    outcome: Result<(Response, String), AppError>,
) -> Result<Response, AppError> {
    match (format, outcome) {
        (Format::Json, Ok((json, _))) => Ok(json),
        (Format::Html, Ok((_, message))) => Ok(redirect_with_flash(
            state,
            visitor.secure,
            "/settings/account",
            FlashKind::Success,
            message,
        )),
        (Format::Html, Err(error)) if super::shown_on_the_page(&error) => {
            let message = Some(error.to_string());
            let page = match form {
                Form::Password => page(state, visitor, user, message, None),
                Form::Email => page(state, visitor, user, None, message),
            };
            Ok((error.status(), page).into_response())
        }
        (_, Err(error)) => Err(error),
    }
}
