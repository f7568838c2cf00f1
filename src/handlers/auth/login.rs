//! `GET/POST /auth/login`: sign in by username or email.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::UserObject;
use crate::accounts::{self, SignInStep, SignedIn};
use crate::auth::tokens::CsrfBinding;
use crate::domain::{FieldError, NextPath, Password};
use crate::error::AppError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;
use crate::web::cookies::{self, Name};
use crate::web::pages::{FlashKind, LoginPage};
use crate::web::{Format, Input, Visitor};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct NextQuery {
    /// Where to go after signing in: a path on this site.
    next: Option<String>,
}

/// What a script needs before it signs in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignInForm {
    /// Sent back with the sign-in, as the form field `csrf_token` or the `X-CSRF-Token` header.
    csrf_token: String,
    /// Who is signed in already, if anyone.
    user: Option<UserObject>,
}

/// A session begun: its cookie is set, and its writes need this CSRF token.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedInAnswer {
    user: UserObject,
    /// For `X-CSRF-Token` on this session's writes.
    csrf_token: String,
}

/// The sign-in form; a signed-in visitor goes straight on. JSON clients get the
/// CSRF token they must send with the sign-in.
#[utoipa::path(
    get,
    path = "/auth/login",
    operation_id = "login_form",
    tag = "accounts",
    summary = "The CSRF token a sign-in needs",
    params(NextQuery),
    responses((status = OK, description = "The token to send with the sign-in.", body = SignInForm)),
)]
pub async fn form(
    State(state): State<AppState>,
    visitor: Visitor,
    format: Format,
    Query(query): Query<NextQuery>,
) -> Response {
    let next = query.next.as_deref().and_then(NextPath::parse);
    match (format, &visitor.user) {
        (Format::Json, user) => Json(SignInForm {
            csrf_token: visitor.csrf_token.clone(),
            user: user.as_ref().map(UserObject::from),
        })
        .into_response(),
        (Format::Html, Some(_)) => {
            Redirect::to(next.as_ref().map_or("/dashboard", NextPath::as_str)).into_response()
        }
        (Format::Html, None) => LoginPage {
            layout: visitor.layout(&state, "Sign in"),
            username: String::new(),
            next: next.map(|n| n.as_str().to_owned()),
            error: None,
        }
        .into_response(),
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct LoginForm {
    /// The username or the email address.
    username: String,
    password: String,
    /// Where a browser goes next: a path on this site.
    next: Option<String>,
}

/// Signs in by username or email; the answer sets the session cookie.
#[utoipa::path(
    post,
    path = "/auth/login",
    operation_id = "login",
    tag = "accounts",
    summary = "Sign in",
    request_body(content(
        (LoginForm = "application/json"),
        (LoginForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = OK, description = "Signed in.", body = SignedInAnswer, headers(("set-cookie" = String, description = "The session cookie."))),
        (status = ACCEPTED, description = "The password is right and the account signs in with a second factor: send its code with this ticket to `/auth/login/second-factor`.", body = super::second_factor::SecondFactorRequired),
        (status = UNAUTHORIZED, description = "Wrong username or password.", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "A field is empty or too long.", body = ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "Too many attempts for this account.", body = ErrorBody, headers(("retry-after" = u64))),
        (status = SERVICE_UNAVAILABLE, description = "Too many sign-ins at once.", body = ErrorBody, headers(("retry-after" = u64))),
    ),
    security(("csrf" = [])),
)]
pub async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    format: Format,
    Input(form): Input<LoginForm>,
) -> Result<Response, AppError> {
    let next = form.next.as_deref().and_then(NextPath::parse);
    let refuse = |error: AppError| match format {
        Format::Json => Err(error),
        Format::Html => {
            let page = LoginPage {
                layout: visitor.layout(&state, "Sign in"),
                username: form.username.clone(),
                next: next.as_ref().map(|n| n.as_str().to_owned()),
                error: Some(error.to_string()),
            };
            Ok((error.status(), page).into_response())
        }
    };
    let login = form.username.trim();
    if login.is_empty() {
        return refuse(FieldError::new("username", "Enter your username or email.").into());
    }
    let password = match Password::parse_attempt(form.password.clone()) {
        Ok(password) => password,
        Err(error) => return refuse(error.into()),
    };
    let step = accounts::sign_in(
        &state,
        login,
        &password,
        visitor.session_id.as_deref(),
        &visitor.client,
    )
    .await;
    match step {
        Ok(SignInStep::Done(signed_in)) => Ok(signed_in_response(
            &state, &visitor, format, signed_in, next,
        )),
        Ok(SignInStep::SecondFactor { ticket }) => Ok(super::second_factor::ask(
            &state, &visitor, format, ticket, next, None,
        )),
        Err(error @ (AppError::RateLimited { .. } | AppError::InvalidCredentials)) => refuse(error),
        Err(error) => Err(error),
    }
}

/// A new session's answer: its cookie, and the CSRF token (JSON) or the way
/// on to `next` (a browser).
pub(super) fn signed_in_response(
    state: &AppState,
    visitor: &Visitor,
    format: Format,
    signed_in: SignedIn,
    next: Option<NextPath>,
) -> Response {
    let SignedIn { user, session } = signed_in;
    let user = CurrentUser {
        id: user.id,
        username: user.username,
        email: user.email,
        api_token: None,
    };
    let mut response = match format {
        Format::Json => (
            StatusCode::OK,
            Json(SignedInAnswer {
                user: UserObject::from(&user),
                csrf_token: state.secrets.csrf_token(CsrfBinding::Session(&session)),
            }),
        )
            .into_response(),
        Format::Html => super::redirect_with_flash(
            state,
            visitor.secure,
            next.as_ref().map_or("/dashboard", NextPath::as_str),
            FlashKind::Success,
            format!("Welcome, {}.", user.username),
        ),
    };
    let cookie = cookies::build(
        Name::Session,
        session.expose().to_owned(),
        visitor.secure,
        Some(state.config.session_lifetime),
    );
    cookies::set(&mut response, &cookie);
    // This browser is known to the account from now on: strangers' failures
    // do not hold up its sign-ins.
    let device = crate::throttle::device_cookie_value(&state.secrets, &visitor.client, user.id);
    let device = cookies::build(
        Name::KnownDevice,
        device,
        visitor.secure,
        Some(crate::throttle::KNOWN_DEVICE_LIFETIME),
    );
    cookies::set(&mut response, &device);
    response
}
