//! `GET/POST /upload`: one or more files in one multipart request, stored
//! atomically.
//!
//! Each part streams to staging while it is hashed, so memory does not grow
//! with file size; each staged file is written and synced in the background
//! from the moment it is received, which lets the disk commit many small
//! files at once while the next ones come in. At most [`SETTLING`] are on
//! their way at once, which bounds the files held open. A part whose
//! extension is refused is refused from its headers, before its body is
//! read; one whose content contradicts its extension, from its first
//! bytes. Only when every part has been received does [`vault::store`]
//! commit them all, in one transaction; any failure before that drops the
//! staged files, which deletes them.

use axum::Json;
use axum::extract::multipart::Field;
use axum::extract::{Extension, FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::{FileObject, file_objects, human_size};
use crate::config::AllowedExtensions;
use crate::content_type::{self, SNIFF_LEN};
use crate::db;
use crate::db::files::FILE_ROW_COST;
use crate::domain::{FieldError, FileName};
use crate::error::AppError;
use crate::openapi::ErrorBody;
use crate::proofs::openpgp::StreamingSignature;
use crate::stamping::{self, Received};
use crate::state::AppState;
use crate::vault::{self, UploadKey};
use crate::web::csrf::DeferredCsrf;
use crate::web::pages::{FlashKind, UploadPage};
use crate::web::{CurrentUser, Format, Visitor};

/// Staged files on their way to being durable at once, and so the most
/// held open at a time.
const SETTLING: usize = 64;

/// A client's name for one upload, so that its retry stores nothing twice
/// (the IETF httpapi draft's header, as Stripe and others use it).
const IDEMPOTENCY_KEY: &str = "idempotency-key";
const IDEMPOTENT_REPLAYED: axum::http::HeaderName =
    axum::http::HeaderName::from_static("idempotent-replayed");

/// A CSRF token is under a hundred characters; past this a field is not one.
const CSRF_FIELD_LIMIT: usize = 4096;

/// What an upload may be, and the CSRF token a session's upload needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadLimits {
    csrf_token: String,
    /// The largest request body, in bytes.
    max_content_length: u64,
    allowed_extensions: Extensions,
}

/// The file extensions an upload may have.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Extensions {
    /// `"*"`: any.
    Any(&'static str),
    /// Only these, lower-case, without the dot.
    Only(Vec<String>),
}

/// The multipart form `POST /upload` takes.
#[derive(Debug, ToSchema)]
pub struct UploadForm {
    /// One part named `files` for each file, with its file name.
    #[schema(value_type = Vec<String>, format = Binary)]
    pub files: Vec<Vec<u8>>,
    /// With the session cookie: the session's CSRF token (or send `X-CSRF-Token`).
    pub csrf_token: Option<String>,
}

/// Every file of the upload, stored and stamped.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    files: Vec<FileObject>,
}

#[utoipa::path(
    get,
    path = "/upload",
    operation_id = "upload_form",
    tag = "files",
    summary = "What an upload may be",
    responses((status = OK, description = "The limits and the CSRF token.", body = UploadLimits)),
    security(("bearer" = []), ("session" = [])),
)]
pub async fn form(
    State(state): State<AppState>,
    _user: CurrentUser,
    visitor: Visitor,
    format: Format,
) -> Response {
    match format {
        Format::Json => Json(UploadLimits {
            csrf_token: visitor.csrf_token.clone(),
            max_content_length: state.config.max_content_length,
            allowed_extensions: match &state.config.allowed_extensions {
                AllowedExtensions::Any => Extensions::Any("*"),
                AllowedExtensions::Only(set) => Extensions::Only(set.iter().cloned().collect()),
            },
        })
        .into_response(),
        Format::Html => page(&state, &visitor, None).into_response(),
    }
}

fn page(state: &AppState, visitor: &Visitor, error: Option<String>) -> UploadPage {
    let (extensions, accept, extension_list) = match &state.config.allowed_extensions {
        AllowedExtensions::Any => ("any type".to_owned(), String::new(), String::new()),
        AllowedExtensions::Only(set) => (
            set.iter().cloned().collect::<Vec<_>>().join(", "),
            set.iter()
                .map(|e| format!(".{e}"))
                .collect::<Vec<_>>()
                .join(","),
            set.iter().cloned().collect::<Vec<_>>().join(","),
        ),
    };
    UploadPage {
        layout: visitor.layout(state, "Upload files"),
        error,
        max_bytes: state.config.max_content_length,
        extension_list,
        max_size: human_size(i64::try_from(state.config.max_content_length).unwrap_or(i64::MAX)),
        extensions,
        accept,
        script: crate::web::assets::upload_script_url(),
    }
}

#[utoipa::path(
    post,
    path = "/upload",
    operation_id = "upload",
    tag = "files",
    summary = "Upload one or more files, atomically",
    description = "Either every file is stored, recorded and stamped, or none is, and the \
error names the file refused and why. The body streams to storage while it is hashed.",
    params((
        "Idempotency-Key" = Option<String>, Header,
        description = "Names this upload, so that a retry within a day answers the first \
result (with `Idempotent-Replayed: true`) and stores nothing twice. 1 to 255 visible ASCII \
characters; with a session, send the CSRF token as `X-CSRF-Token`.",
    )),
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses(
        (status = CREATED, description = "Every file stored and stamped.", body = Uploaded,
            headers(("idempotent-replayed" = bool, description = "`true` on the answer to a retry."))),
        (status = BAD_REQUEST, description = "The body is not a multipart form, or the `Idempotency-Key` is malformed.", body = ErrorBody),
        (status = CONFLICT, description = "The `Idempotency-Key` named an upload whose files are all deleted (`idempotency_key_in_use`).", body = ErrorBody),
        (status = PAYLOAD_TOO_LARGE, description = "Past `MAX_CONTENT_LENGTH`, or more files than one upload holds (`too_many_files`).", body = ErrorBody),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "An extension, or a content that contradicts it, is refused.", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "No file, or an unusable file name.", body = ErrorBody),
        (status = INSUFFICIENT_STORAGE, description = "The storage quota is used up (`quota_exceeded`), or the disk is full (`storage_full`).", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
)]
pub async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    deferred: Option<Extension<DeferredCsrf>>,
    request: Request,
) -> Result<Response, AppError> {
    let started = std::time::Instant::now();
    let key = match request.headers().get(IDEMPOTENCY_KEY) {
        None => None,
        Some(value) => Some(UploadKey::parse(value.as_bytes()).ok_or_else(|| {
            AppError::BadRequest(format!(
                "The Idempotency-Key header must be 1 to {} visible ASCII characters.",
                UploadKey::MAX_LEN
            ))
        })?),
    };
    // The answer to a retry is given before the body is read: the request
    // must have passed its CSRF check already, by header or bearer token.
    if key.is_some() && deferred.is_some() {
        return Err(AppError::Csrf(
            "With Idempotency-Key, send the security token in the X-CSRF-Token header.",
        ));
    }
    // A retry of an upload that was stored: its first answer, nothing stored again.
    if let Some(key) = &key
        && let Some(files) = vault::stored_with(&state.db, user.id, key).await?
    {
        tracing::info!(user_id = user.id, "answered a retried upload");
        return replay(&state, &visitor, format, &files);
    }
    // Dropped with the request should its client go away, which undoes it.
    let mut early = vault::EarlyContents::new(&state.db);
    let deferred = deferred.map(|Extension(d)| d);
    let outcome = receive(&state, &user, deferred, request, &mut early).await;
    let received = match outcome {
        Ok(received) => received,
        Err(error) => {
            early.undo().await;
            return refuse(&state, &visitor, format, error);
        }
    };
    let received_in = started.elapsed();
    let (uploads, stamped_at) = match stamping::stamp_all(&state.signers, received).await {
        Ok(stamped) => stamped,
        Err(error) => {
            early.undo().await;
            return Err(error.into());
        }
    };
    let stamped_in = started.elapsed() - received_in;
    let uploaded_at = chrono::DateTime::<chrono::Utc>::from(stamped_at).naive_utc();
    let quota = state.config.user_quota_bytes;
    let outcome = vault::store(
        &state.db,
        &state.storage,
        user.id,
        vault::Uploads {
            files: uploads,
            early,
        },
        uploaded_at,
        quota,
        key.as_ref(),
    )
    .await;
    let files = match (outcome, &key) {
        (Ok(files), _) => files,
        // A retry sent while the first was still on its way won the race:
        // its answer is this one's.
        (Err(vault::VaultError::KeyUsed), Some(key)) => {
            let files = vault::stored_with(&state.db, user.id, key).await?;
            return replay(&state, &visitor, format, &files.unwrap_or_default());
        }
        (Err(error), _) => return refuse(&state, &visitor, format, error.into()),
    };
    tracing::info!(
        user_id = user.id,
        count = files.len(),
        ?received_in,
        ?stamped_in,
        stored_in = ?(started.elapsed() - received_in - stamped_in),
        "files stored"
    );
    Ok(stored(&state, &visitor, format, &files, false))
}

/// The first answer again, to a retry of a stored upload: unless its files
/// have all been deleted since.
fn replay(
    state: &AppState,
    visitor: &Visitor,
    format: Format,
    files: &[db::files::File],
) -> Result<Response, AppError> {
    if files.is_empty() {
        return Err(vault::VaultError::KeyUsed.into());
    }
    Ok(stored(state, visitor, format, files, true))
}

/// The answer to a stored upload; a `replayed` one says so in
/// `Idempotent-Replayed`.
fn stored(
    state: &AppState,
    visitor: &Visitor,
    format: Format,
    files: &[db::files::File],
    replayed: bool,
) -> Response {
    let mut response = match format {
        Format::Json => (
            StatusCode::CREATED,
            Json(Uploaded {
                files: file_objects(files),
            }),
        )
            .into_response(),
        Format::Html => {
            let message = match files {
                [one] => format!("Uploaded “{}”.", one.original_filename),
                many => format!("Uploaded {} files.", many.len()),
            };
            crate::handlers::auth::redirect_with_flash(
                state,
                visitor.secure,
                "/dashboard",
                FlashKind::Success,
                message,
            )
        }
    };
    if replayed {
        response.headers_mut().insert(
            IDEMPOTENT_REPLAYED,
            axum::http::HeaderValue::from_static("true"),
        );
    }
    response
}

/// Browsers get the form again with the reason; scripts get the error.
fn refuse(
    state: &AppState,
    visitor: &Visitor,
    format: Format,
    error: AppError,
) -> Result<Response, AppError> {
    match (format, &error) {
        (
            Format::Html,
            AppError::UnsupportedMediaType(_)
            | AppError::Invalid(_)
            | AppError::QuotaExceeded
            | AppError::TooManyFiles { .. }
            | AppError::PayloadTooLarge,
        ) => {
            let page = page(state, visitor, Some(error.to_string()));
            Ok((error.status(), page).into_response())
        }
        _ => Err(error),
    }
}

/// Reads every part and stages every file; nothing is committed here but
/// the small contents in `early`, which no file uses yet.
async fn receive(
    state: &AppState,
    user: &CurrentUser,
    deferred: Option<DeferredCsrf>,
    request: Request,
    early: &mut vault::EarlyContents,
) -> Result<Vec<Received>, AppError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > state.config.max_content_length) {
        return Err(AppError::PayloadTooLarge);
    }
    let request = crate::web::multipart::limit_part_headers(request);
    let mut multipart = Multipart::from_request(request, state).await.map_err(|_| {
        AppError::UnsupportedMediaType(
            "Send the files as multipart/form-data, in parts named `files`.".into(),
        )
    })?;
    let mut token_checked = deferred.is_none();
    let quota = state.config.user_quota_bytes;
    let mut used = match quota {
        Some(_) => db::files::usage(&state.db, user.id).await?.charged(),
        None => 0,
    };
    let max_files = state.config.max_files_per_upload;
    let mut parts = 0usize;
    let mut uploads = Vec::new();
    while let Some(mut field) = multipart.next_field().await? {
        // Every part is counted, named `files` or not: each costs a row or
        // at least a parse, and the token is one part more.
        parts += 1;
        if parts > max_files.saturating_add(1) {
            return Err(AppError::TooManyFiles { max: max_files });
        }
        match field.name() {
            Some("csrf_token") if !token_checked => {
                let presented = crate::web::multipart::read_text(&mut field, CSRF_FIELD_LIMIT)
                    .await?
                    .ok_or(AppError::PayloadTooLarge)?;
                if !deferred.as_ref().is_some_and(|d| d.accepts(&presented)) {
                    return Err(AppError::Csrf(
                        "The security token is invalid or expired. Reload the page and try again.",
                    ));
                }
                token_checked = true;
            }
            Some("files") => {
                if !token_checked {
                    return Err(AppError::Csrf(
                        "The security token must come before the files.",
                    ));
                }
                // A file input left empty is sent as a part without a name.
                let Some(name) = field
                    .file_name()
                    .filter(|n| !n.is_empty())
                    .map(FileName::parse)
                else {
                    continue;
                };
                if uploads.len() == max_files {
                    return Err(AppError::TooManyFiles { max: max_files });
                }
                // The quota is checked exactly when the files are stored; here
                // only a content that cannot fit is cut short.
                let room = quota.map(|q| q.saturating_sub(used.saturating_add(FILE_ROW_COST)));
                let upload = receive_file(state, field, name, room).await?;
                early.write(&upload.staged);
                used = used.saturating_add(upload.staged.size + FILE_ROW_COST);
                uploads.push(upload);
                if let Some(oldest) = uploads.len().checked_sub(SETTLING + 1) {
                    uploads[oldest].staged.settle().await?;
                }
            }
            _ => {}
        }
    }
    if !token_checked {
        return Err(AppError::Csrf(
            "The request is missing its security token. Reload the page and try again.",
        ));
    }
    if uploads.is_empty() {
        return Err(FieldError::new("files", "Choose at least one file to upload.").into());
    }
    for upload in &mut uploads {
        upload.staged.settle().await?;
    }
    Ok(uploads)
}

/// Streams one part to staging; `room` is what is left of the user's quota.
async fn receive_file(
    state: &AppState,
    mut field: Field<'_>,
    name: FileName,
    room: Option<u64>,
) -> Result<Received, AppError> {
    let extension = name.extension();
    let allowed = match &extension {
        Some(extension) => state.config.allowed_extensions.allows(extension),
        None => state.config.allowed_extensions == AllowedExtensions::Any,
    };
    if !allowed {
        let what = extension.map_or("files without an extension".to_owned(), |e| {
            format!("files ending in .{e}")
        });
        return Err(AppError::UnsupportedMediaType(format!(
            "“{name}” was refused: {what} are not accepted here."
        )));
    }
    let mut staging = state.storage.stage();
    let mut head: Vec<u8> = Vec::new();
    let mut content_type = None;
    while let Some(chunk) = field.chunk().await? {
        if content_type.is_none() {
            head.extend_from_slice(&chunk[..chunk.len().min(SNIFF_LEN - head.len())]);
            if head.len() >= SNIFF_LEN {
                content_type = Some(decide(&name, &head)?);
            }
        }
        staging.write(&chunk).await?;
        if room.is_some_and(|room| staging.size() > room) {
            return Err(AppError::QuotaExceeded);
        }
    }
    let content_type = match content_type {
        Some(decided) => decided,
        None => decide(&name, &head)?,
    };
    // One SHA-256 pass gives the content hash and starts the OpenPGP signature.
    let signature = StreamingSignature::from_data_hash(staging.hash_state());
    Ok(Received {
        name,
        content_type,
        staged: staging.finish().await?,
        signature,
    })
}

fn decide(name: &FileName, head: &[u8]) -> Result<String, AppError> {
    content_type::decide(name, head).map_err(|mismatch| {
        AppError::UnsupportedMediaType(format!("“{name}” was refused: {mismatch}."))
    })
}
