//! One file's proofs, for the standard tools and for `securestamp verify`:
//! `/files/{id}/timestamp.tsr` (`openssl ts -verify`),
//! `/files/{id}/signature.asc` (`gpg --verify`) and `/files/{id}/receipt`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::parse_id;
use crate::db;
use crate::db::files::File;
use crate::domain::{FileName, content_disposition};
use crate::error::AppError;
use crate::openapi::ErrorBody;
use crate::stamping::receipt;
use crate::state::AppState;
use crate::web::{CurrentUser, Visitor};

async fn owned(state: &AppState, user: &CurrentUser, id: &str) -> Result<File, AppError> {
    db::files::find(&state.db, user.id, parse_id(id)?)
        .await?
        .ok_or(AppError::NotFound)
}

/// An attachment named after the file, with a suffix.
fn attachment(
    body: impl IntoResponse,
    content_type: &'static str,
    file: &File,
    suffix: &str,
) -> Response {
    let mut response = body.into_response();
    let name = FileName::parse(&format!("{}{suffix}", file.original_filename));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[utoipa::path(
    get,
    path = "/files/{id}/timestamp.tsr",
    operation_id = "get_timestamp",
    tag = "files",
    summary = "The file's RFC 3161 timestamp reply",
    description = "Check it with `openssl ts -verify -data FILE -in file.tsr -CAfile tsa-chain.pem`.",
    params(("id" = i32, Path, description = "The file's id.")),
    responses(
        (status = OK, description = "The DER `TimeStampResp`.", body = [u8], content_type = "application/timestamp-reply"),
        (status = NOT_FOUND, description = "No such file, or not the user's.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])),
)]
pub async fn timestamp(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let file = owned(&state, &user, &id).await?;
    Ok(attachment(
        file.timestamp_reply.clone(),
        "application/timestamp-reply",
        &file,
        ".tsr",
    ))
}

#[utoipa::path(
    get,
    path = "/files/{id}/signature.asc",
    operation_id = "get_signature",
    tag = "files",
    summary = "The file's OpenPGP signature, ASCII-armoured",
    description = "Check it with `gpg --verify file.asc FILE` after importing `/keys/openpgp.asc`.",
    params(("id" = i32, Path, description = "The file's id.")),
    responses(
        (status = OK, description = "The detached signature over the content.", body = String, content_type = "application/pgp-signature"),
        (status = NOT_FOUND, description = "No such file, or not the user's.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])),
)]
pub async fn signature(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let file = owned(&state, &user, &id).await?;
    Ok(attachment(
        file.openpgp_signature.clone(),
        "application/pgp-signature",
        &file,
        ".asc",
    ))
}

#[utoipa::path(
    get,
    path = "/files/{id}/receipt",
    operation_id = "get_receipt",
    tag = "files",
    summary = "All of the file's proofs in one receipt",
    description = "The receipt format is described in docs/RECEIPT.md; `/verify` and \
`securestamp verify FILE RECEIPT` check it.",
    params(("id" = i32, Path, description = "The file's id.")),
    responses(
        (status = OK, description = "The receipt.", body = serde_json::Value, content_type = "application/json"),
        (status = NOT_FOUND, description = "No such file, or not the user's.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])),
)]
pub async fn receipt(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let file = owned(&state, &user, &id).await?;
    let origin = origin(&state.config, &headers, visitor.secure);
    let document = receipt::assemble(&state, &file, &origin).await?;
    let json = serde_json::to_vec_pretty(&document).map_err(|e| AppError::Internal(e.into()))?;
    Ok(attachment(json, "application/json", &file, ".receipt"))
}

/// The site's origin for the receipt's absolute key URLs: the onion
/// address to a visitor who came through it, else `PUBLIC_URL`. Without
/// `PUBLIC_URL`, the request's `Host` if it is a plain `host[:port]`.
fn origin(config: &crate::config::Config, headers: &HeaderMap, secure: bool) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            host.parse::<axum::http::uri::Authority>()
                .is_ok_and(|authority| authority.as_str() == *host && !host.contains('@'))
        });
    let onion = config
        .onion_url
        .as_ref()
        .filter(|onion| host.is_some_and(|host| host.split(':').next() == onion.host_str()));
    if let Some(url) = onion.or(config.public_url.as_ref()) {
        return url.as_str().trim_end_matches('/').to_owned();
    }
    let host = host.unwrap_or("localhost");
    format!("{}://{host}", if secure { "https" } else { "http" })
}
