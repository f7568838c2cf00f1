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
use crate::storage::{self, Bucket, Storage};
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

    let head = request.method() == axum::http::Method::HEAD;
    let range = request.headers().get(header::RANGE).cloned();
    // A small content may be kept in the database, with its row.
    let inline = match not_modified || file.size as u64 > storage::INLINE_MAX {
        true => None,
        false => db::blobs::inline_content(&state.db, &hash).await?,
    };
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else if let Some(content) = inline {
        ranged(Source::Inline(content), file.size as u64, head, range).await?
    } else {
        match &state.storage {
            Storage::Disk(disk) => {
                // ServeFile answers HEAD and Range (206, 416) itself.
                let Ok(served) = ServeFile::new(disk.path_of(&hash)).oneshot(request).await;
                if served.status() == StatusCode::NOT_FOUND {
                    return Err(missing(file.id));
                }
                served.map(axum::body::Body::new)
            }
            Storage::Bucket(bucket) => {
                ranged(Source::Bucket(bucket, &hash), file.size as u64, head, range)
                    .await
                    .map_err(|error| match error.kind() {
                        std::io::ErrorKind::NotFound => missing(file.id),
                        _ => error.into(),
                    })?
            }
        }
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

fn missing(id: i32) -> AppError {
    AppError::internal(format!("the content of file {id} is missing from storage"))
}

/// Where [`ranged`] reads a content that is not a file on the disk.
enum Source<'a> {
    Bucket(&'a Bucket, &'a ContentHash),
    /// A small content, kept in the database.
    Inline(Vec<u8>),
}

/// Answers as ServeFile does for the disk: HEAD without a body, one range
/// as 206, several or an unsatisfiable one as 416.
async fn ranged(
    source: Source<'_>,
    size: u64,
    head: bool,
    range: Option<HeaderValue>,
) -> std::io::Result<Response> {
    let range = range.as_ref().and_then(|value| value.to_str().ok());
    let range = match range.map(|r| http_range_header::parse_range_header(r)?.validate(size)) {
        None => None,
        Some(Ok(ranges)) if ranges.len() == 1 => Some(ranges[0].clone()),
        Some(_) => {
            let mut refused = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            let whole = HeaderValue::from_str(&format!("bytes */{size}")).expect("digits");
            refused.headers_mut().insert(header::CONTENT_RANGE, whole);
            return Ok(refused);
        }
    };
    let (status, length) = match &range {
        Some(range) => (StatusCode::PARTIAL_CONTENT, range.end() - range.start() + 1),
        None => (StatusCode::OK, size),
    };
    let body = match head || length == 0 {
        true => axum::body::Body::empty(),
        false => {
            let bytes = range.clone().map(|r| *r.start()..*r.end() + 1);
            match source {
                Source::Bucket(bucket, hash) => {
                    axum::body::Body::from_stream(bucket.read(hash, bytes).await?)
                }
                Source::Inline(mut content) => {
                    if let Some(bytes) = bytes {
                        content.truncate(bytes.end as usize);
                        content.drain(..bytes.start as usize);
                    }
                    axum::body::Body::from(content)
                }
            }
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some(range) = range {
        let value = format!("bytes {}-{}/{size}", range.start(), range.end());
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&value).expect("digits"),
        );
    }
    Ok(response)
}
