//! `GET/POST /auth/register`: create an account.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::UserObject;
use crate::accounts;
use crate::domain::{Email, FieldError, Password, Username};
use crate::error::AppError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::web::pages::{FieldErrors, FlashKind, RegisterPage};
use crate::web::{Format, Input, Visitor};

/// What a script needs before it registers.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterFormAnswer {
    /// Sent back with the registration, as the form field `csrf_token` or the `X-CSRF-Token` header.
    csrf_token: String,
}

/// An account made; it signs in next.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    user: UserObject,
}

#[utoipa::path(
    get,
    path = "/auth/register",
    operation_id = "register_form",
    tag = "accounts",
    summary = "The CSRF token a registration needs",
    params(InviteQuery),
    responses((status = OK, description = "The token to send with the registration.", body = RegisterFormAnswer)),
)]
pub async fn form(
    State(state): State<AppState>,
    visitor: Visitor,
    format: Format,
    Query(query): Query<InviteQuery>,
) -> Response {
    match format {
        Format::Json => Json(RegisterFormAnswer {
            csrf_token: visitor.csrf_token.clone(),
        })
        .into_response(),
        Format::Html if visitor.user.is_some() => Redirect::to("/dashboard").into_response(),
        Format::Html => RegisterPage {
            layout: visitor.layout(&state, "Create account"),
            username: String::new(),
            email: String::new(),
            errors: FieldErrors::default(),
            error: None,
            registration: state.config.registration,
            invite: query.invite.unwrap_or_default(),
        }
        .into_response(),
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct InviteQuery {
    /// An invite code, filled into the form (`REGISTRATION=invite`).
    invite: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RegisterForm {
    /// Letters, digits and `._-` of one script; compared without case or width.
    username: String,
    email: String,
    password: String,
    /// With `REGISTRATION=invite`: the invite code.
    invite: String,
}

#[utoipa::path(
    post,
    path = "/auth/register",
    operation_id = "register",
    tag = "accounts",
    summary = "Create an account",
    request_body(content(
        (RegisterForm = "application/json"),
        (RegisterForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = CREATED, description = "The account exists; sign in next.", body = Registered),
        (status = FORBIDDEN, description = "Registration is closed, or by invitation and the invite is missing, used or expired.", body = ErrorBody),
        (status = CONFLICT, description = "The username or the email is taken (`username_taken`, `email_taken`).", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "A field is not acceptable; `field` names it.", body = ErrorBody),
    ),
    security(("csrf" = [])),
)]
pub async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    format: Format,
    Input(form): Input<RegisterForm>,
) -> Result<Response, AppError> {
    let username = Username::parse(&form.username);
    let email = Email::parse(&form.email);
    let password = Password::parse_new(form.password.clone());
    let show_form = |status: StatusCode, errors: FieldErrors, error: Option<String>| {
        let page = RegisterPage {
            layout: visitor.layout(&state, "Create account"),
            username: form.username.clone(),
            email: form.email.clone(),
            errors,
            error,
            registration: state.config.registration,
            invite: form.invite.clone(),
        };
        (status, page).into_response()
    };
    let (username, email, password) = match (username, email, password) {
        (Ok(username), Ok(email), Ok(password)) => (username, email, password),
        (username, email, password) => {
            let errors = FieldErrors {
                username: username.err().map(|e| e.message),
                email: email.err().map(|e| e.message),
                password: password.err().map(|e| e.message),
            };
            return match format {
                Format::Html => Ok(show_form(StatusCode::UNPROCESSABLE_ENTITY, errors, None)),
                Format::Json => Err(first_error(errors).into()),
            };
        }
    };

    let invite = Some(form.invite.as_str()).filter(|code| !code.trim().is_empty());
    let conflict = match accounts::register(&state, &username, &email, &password, invite).await {
        Ok(user) => {
            return Ok(match format {
                Format::Json => (
                    StatusCode::CREATED,
                    Json(Registered {
                        user: UserObject {
                            id: user.id,
                            username: user.username,
                            email: user.email,
                        },
                    }),
                )
                    .into_response(),
                Format::Html => super::redirect_with_flash(
                    &state,
                    visitor.secure,
                    "/auth/login",
                    FlashKind::Success,
                    "Your account is ready. Sign in to continue.",
                ),
            });
        }
        Err(conflict @ AppError::Conflict { .. }) => conflict,
        Err(refused @ AppError::Forbidden(_)) if format == Format::Html => {
            let message = Some(refused.to_string());
            return Ok(show_form(refused.status(), FieldErrors::default(), message));
        }
        Err(error) => return Err(error),
    };
    match format {
        Format::Json => Err(conflict),
        Format::Html => {
            // Shown beside the field that clashes.
            let message = Some(conflict.to_string());
            let errors = match conflict.code() {
                "email_taken" => FieldErrors {
                    email: message,
                    ..FieldErrors::default()
                },
                _ => FieldErrors {
                    username: message,
                    ..FieldErrors::default()
                },
            };
            Ok(show_form(StatusCode::CONFLICT, errors, None))
        }
    }
}

fn first_error(errors: FieldErrors) -> FieldError {
    let FieldErrors {
        username,
        email,
        password,
    } = errors;
    [
        ("username", username),
        ("email", email),
        ("password", password),
    ]
    .into_iter()
    .find_map(|(field, message)| message.map(|m| FieldError::new(field, m)))
    .unwrap_or_else(|| FieldError::new("username", "Invalid input."))
}
