//! `GET /files/{id}/delete` (the confirmation page), `POST /files/{id}/delete`
//! (its form) and `DELETE /files/{id}` (JSON).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::parse_id;
use crate::error::AppError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::vault;
use crate::web::pages::{ConfirmPage, FlashKind};
use crate::web::{CurrentUser, Format, Visitor};

/// Asks before deleting: a page of its own, so a stray click deletes nothing.
pub async fn confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let file = crate::db::files::find(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(ConfirmPage {
        layout: visitor.layout(&state, "Delete file"),
        question: format!("Delete “{}”?", file.original_filename),
        consequences: vec![
            "The file and its contents leave this server, and this cannot be undone.".into(),
            "Its stamp stays in the transparency log, which only ever grows: a receipt you downloaded still proves the file existed, if you keep the file.".into(),
        ],
        action: format!("/files/{}/delete", id.0),
        confirm: "Delete file",
        back: format!("/files/{}", id.0),
    }
    .into_response())
}

#[utoipa::path(
    delete,
    path = "/files/{id}",
    operation_id = "delete_file",
    tag = "files",
    summary = "Delete a file",
    description = "Its content leaves storage; its stamp stays in the append-only log, so a \
receipt already downloaded still proves the file existed.",
    params(("id" = i32, Path, description = "The file's id.")),
    responses(
        (status = NO_CONTENT, description = "Deleted."),
        (status = NOT_FOUND, description = "No such file, or not the user's.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let name = crate::db::files::find(&state.db, user.id, id)
        .await?
        .map(|file| file.original_filename);
    if !vault::delete(&state.db, &state.storage, user.id, id).await? {
        return Err(AppError::NotFound);
    }
    let detail = name.map(|name| format!("file {}: {name}", id.0));
    crate::accounts::audit(
        &state,
        user.id,
        "file_deleted",
        detail.as_deref(),
        &visitor.client,
    )
    .await?;
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

/// `POST /files/{id}/delete`: the confirmation page's form, which works
/// without JavaScript.
#[utoipa::path(
    post,
    path = "/files/{id}/delete",
    operation_id = "delete_file_from_form",
    tag = "files",
    summary = "Delete a file, from a form",
    description = "The same as `DELETE /files/{id}`, for HTML forms: a browser is sent on to \
the dashboard.",
    params(("id" = i32, Path, description = "The file's id.")),
    responses(
        (status = NO_CONTENT, description = "Deleted."),
        (status = SEE_OTHER, description = "Deleted; a browser goes on to the dashboard."),
        (status = NOT_FOUND, description = "No such file, or not the user's.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
)]
pub async fn delete_from_form(
    state: State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    id: Path<String>,
) -> Result<Response, AppError> {
    delete(state, user, visitor, format, id).await
}
