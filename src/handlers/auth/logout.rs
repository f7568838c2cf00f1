//! `GET/POST /auth/logout`: end the session (the POST needs its CSRF token).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::cookies::{self, Name};
use crate::web::pages::FlashKind;
use crate::web::{Format, Visitor};

/// The session is over, and its cookie cleared.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedOut {
    signed_out: bool,
}

#[utoipa::path(
    method(get, post),
    path = "/auth/logout",
    operation_id = "logout",
    tag = "accounts",
    summary = "Sign out",
    description = "Ends the session, if there is one. `POST` needs the session's CSRF token; \
`GET` does the same, for links.",
    responses((status = OK, description = "Signed out, and the session cookie cleared.", body = SignedOut)),
    security(("session" = [], "csrf" = [])),
)]
pub async fn run(
    State(state): State<AppState>,
    visitor: Visitor,
    format: Format,
) -> Result<Response, AppError> {
    if let Some(id) = &visitor.session_id {
        db::sessions::delete(&state.db, id).await?;
        tracing::info!("signed out");
    }
    let mut response = match format {
        Format::Json => Json(SignedOut { signed_out: true }).into_response(),
        Format::Html => super::redirect_with_flash(
            &state,
            visitor.secure,
            "/auth/login",
            FlashKind::Info,
            "You have been signed out.",
        ),
    };
    cookies::set(
        &mut response,
        &cookies::removal(Name::Session, visitor.secure),
    );
    Ok(response)
}
