//! `GET/HEAD /files/{id}/download`: the content, streamed, with Range support.
//!
//! Always an attachment, never rendered: with `nosniff` and a sandboxing CSP,
//! an uploaded HTML or SVG file cannot run in this origin even if opened.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::parse_id;
use crate::db;
use crate::domain::{ContentHash, FileName, content_disposition};
use crate::error::AppError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;

const SANDBOX: &str = "default-src 'none'; sandbox";

#[utoipa::path(
    method(get, head),
    path = "/files/{id}/download",
    operation_id = "download_file",
    tag = "files",
    summary = "The file's content",
    description = "Always an attachment, with its stored content type. `Range` gives 206 \
(or 416); the `ETag` is the SHA-256, and `If-None-Match` with it gives 304.",
    params(("id" = i32, Path, description = "The file's id.")),
    responses(
        (status = OK, description = "The whole content.", body = [u8], content_type = "application/octet-stream",
            headers(("etag" = String, description = "The quoted SHA-256 of the content."))),
        (status = PARTIAL_CONTENT, description = "The range asked for.", body = [u8], content_type = "application/octet-stream"),
        (status = NOT_MODIFIED, description = "The `If-None-Match` tag is the content's."),
        (status = NOT_FOUND, description = "No such file, or not the user's.", body = ErrorBody),
        (status = RANGE_NOT_SATISFIABLE, description = "The range lies outside the content."),
    ),
    security(("bearer" = []), ("session" = [])),
)]
pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let file = db::files::find(&state.db, user.id, parse_id(&id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    let hash = ContentHash::parse(file.sha256.trim())
        .ok_or_else(|| AppError::internal(format!("file {} has a malformed hash", file.id)))?;
    let etag = format!("\"{hash}\"");
    let not_modified = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });

    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        // ServeFile answers HEAD and Range (206, 416) itself.
        let Ok(served) = ServeFile::new(state.storage.path_of(&hash))
            .oneshot(request)
            .await;
        if served.status() == StatusCode::NOT_FOUND {
            return Err(AppError::internal(format!(
                "the content of file {} is missing from storage",
                file.id
            )));
        }
        served.map(axum::body::Body::new)
    };
    let headers = response.headers_mut();
    let disposition = content_disposition(&FileName::parse(&file.original_filename));
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is a valid header"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SANDBOX),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(response)
}
