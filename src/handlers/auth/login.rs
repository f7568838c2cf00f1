//! `GET/POST /auth/login`: sign in by username or email.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::user_json;
use crate::accounts::{self, SignedIn};
use crate::auth::tokens::CsrfBinding;
use crate::domain::{FieldError, NextPath, Password};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::CurrentUser;
use crate::web::cookies::{self, Name};
use crate::web::pages::{FlashKind, LoginPage};
use crate::web::{Format, Input, Visitor};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextQuery {
    next: Option<String>,
}

/// The sign-in form; a signed-in visitor goes straight on. JSON clients get the
/// CSRF token they must send with the sign-in.
pub async fn form(
    State(state): State<AppState>,
    visitor: Visitor,
    format: Format,
    Query(query): Query<NextQuery>,
) -> Response {
    let next = query.next.as_deref().and_then(NextPath::parse);
    match (format, &visitor.user) {
        (Format::Json, user) => Json(json!({
            "csrf_token": visitor.csrf_token,
            "user": user.as_ref().map(user_json),
        }))
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

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
    let signed_in =
        accounts::sign_in(&state, login, &password, visitor.session_id.as_deref()).await;
    let SignedIn { user, session } = match signed_in {
        Ok(signed_in) => signed_in,
        Err(error @ (AppError::RateLimited { .. } | AppError::InvalidCredentials)) => {
            return refuse(error);
        }
        Err(error) => return Err(error),
    };
    let user = CurrentUser {
        id: user.id,
        username: user.username,
        email: user.email,
        api_token: None,
    };
    let mut response = match format {
        Format::Json => (
            StatusCode::OK,
            Json(json!({
                "user": user_json(&user),
                "csrf_token": state.secrets.csrf_token(CsrfBinding::Session(&session)),
            })),
        )
            .into_response(),
        Format::Html => super::redirect_with_flash(
            &state,
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
    Ok(response)
}
