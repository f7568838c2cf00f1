//! `GET /files/{id}`: one file's details.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::{file_json, parse_id, view};
use crate::db;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::pages::FilePage;
use crate::web::{CurrentUser, Format, Visitor};

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let file = db::files::find(&state.db, user.id, parse_id(&id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(match format {
        Format::Json => Json(file_json(&file)).into_response(),
        Format::Html => FilePage {
            layout: visitor.layout(&state, file.original_filename.clone()),
            file: view(&file),
            fingerprint: state.signers.openpgp.fingerprint(),
        }
        .into_response(),
    })
}
