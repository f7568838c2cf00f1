//! `GET/POST /auth/login`: sign in by username or email.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::user_json;
use crate::auth::tokens::CsrfBinding;
use crate::auth::{SessionToken, Verdict};
use crate::db;
use crate::domain::{FieldError, NextPath, Password};
use crate::error::AppError;
use crate::rate_limit::SIGN_IN_FAILURES;
use crate::state::AppState;
use crate::time::{secs, unix_now};
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
    let now = unix_now();
    let throttle_key = login.to_lowercase();
    if SIGN_IN_FAILURES
        .exceeded(&state.db, &throttle_key, now)
        .await?
    {
        tracing::warn!("sign-in refused: too many failures for this name");
        return refuse(AppError::RateLimited {
            retry_after: SIGN_IN_FAILURES.retry_after(now),
        });
    }
    let account = db::users::find_by_login(&state.db, login).await?;
    let stored = account.as_ref().map(|user| user.password_hash.clone());
    // Same work and the same answer whether the account is unknown or the password wrong.
    let verdict = state.passwords.verify(&password, stored).await?;
    let account = match (verdict, account) {
        (Verdict::Accepted | Verdict::AcceptedNeedsRehash, Some(account)) => account,
        _ => {
            tracing::info!("sign-in refused");
            SIGN_IN_FAILURES
                .record(&state.db, &throttle_key, now)
                .await?;
            return refuse(AppError::InvalidCredentials);
        }
    };
    SIGN_IN_FAILURES.reset(&state.db, &throttle_key).await?;
    if verdict == Verdict::AcceptedNeedsRehash {
        let hash = state.passwords.hash(&password).await?;
        db::users::set_password_hash(&state.db, account.id, hash).await?;
        tracing::info!(
            user_id = account.id,
            "moved a legacy password hash to Argon2id"
        );
    }

    // A fresh session id at every sign-in: a token planted before cannot be promoted.
    if let Some(old) = &visitor.session_id {
        db::sessions::delete(&state.db, old).await?;
    }
    let token = SessionToken::generate();
    let lifetime = state.config.session_lifetime;
    db::sessions::create(
        &state.db,
        state.keys.session_id(&token),
        account.id,
        now,
        now.saturating_add(secs(lifetime)),
    )
    .await?;
    tracing::info!(user_id = account.id, "signed in");

    let user = CurrentUser {
        id: account.id,
        username: account.username,
        email: account.email,
        api_token: None,
    };
    let mut response = match format {
        Format::Json => (
            StatusCode::OK,
            Json(json!({
                "user": user_json(&user),
                "csrf_token": state.keys.csrf_token(CsrfBinding::Session(&token)),
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
        token.expose().to_owned(),
        visitor.secure,
        Some(lifetime),
    );
    cookies::set(&mut response, &cookie);
    Ok(response)
}
