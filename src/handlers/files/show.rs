//! `GET /files/{id}`: one file's details.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::{FileObject, parse_id, view};
use crate::db;
use crate::error::AppError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::web::pages::{FilePage, LogPlace};
use crate::web::{CurrentUser, Format, Visitor};

#[utoipa::path(
    get,
    path = "/files/{id}",
    operation_id = "get_file",
    tag = "files",
    summary = "One file",
    params(("id" = i32, Path, description = "The file's id.")),
    responses(
        (status = OK, description = "The file.", body = FileObject),
        (status = NOT_FOUND, description = "No such file, or not the user's.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])),
)]
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
        Format::Json => Json(FileObject::from(&file)).into_response(),
        Format::Html => FilePage {
            layout: visitor.layout(&state, file.original_filename.clone()),
            log: log_place(&state, file.log_entry_id).await?,
            log_origin: state.log.origin().to_owned(),
            file: view(&file),
            fingerprint: state.signers.openpgp.fingerprint(),
        }
        .into_response(),
    })
}

/// The entry's index and the latest checkpoint's size, once the sequencer
/// has placed it (a moment after the upload) and a checkpoint covers it.
async fn log_place(state: &AppState, entry: Option<i64>) -> Result<Option<LogPlace>, AppError> {
    let Some(entry) = entry else {
        return Ok(None);
    };
    let Some((Some(index), _)) = state.log.entry(entry).await? else {
        return Ok(None);
    };
    let head = db::log::head(&state.db).await?;
    let tree_size = head.frontier.size();
    Ok((head.checkpoint.is_some() && index < tree_size).then_some(LogPlace { index, tree_size }))
}
