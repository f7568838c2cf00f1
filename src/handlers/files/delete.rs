//! `POST /files/{id}/delete` (HTML form) and `DELETE /files/{id}` (JSON).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::parse_id;
use crate::error::AppError;
use crate::state::AppState;
use crate::vault;
use crate::web::pages::FlashKind;
use crate::web::{CurrentUser, Format, Visitor};

pub async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    if !vault::delete(&state.db, &state.storage, user.id, id).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(user_id = user.id, file_id = id.0, "file deleted");
    Ok(match format {
        Format::Json => StatusCode::NO_CONTENT.into_response(),
        Format::Html => crate::handlers::auth::redirect_with_flash(
            &state,
            visitor.secure,
            "/dashboard",
            FlashKind::Success,
            "The file was deleted.",
        ),
    })
}
