//! `GET/POST /auth/logout`: end the session (the POST needs its CSRF token).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::db;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::cookies::{self, Name};
use crate::web::pages::FlashKind;
use crate::web::{Format, Visitor};

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
        Format::Json => Json(json!({ "signed_out": true })).into_response(),
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
