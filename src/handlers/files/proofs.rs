//! One file's proofs, for the standard tools and for `securestamp verify`:
//! `/files/{id}/timestamp.tsr` (`openssl ts -verify`),
//! `/files/{id}/signature.asc` (`gpg --verify`) and `/files/{id}/receipt`.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{parse_id, rfc3339};
use crate::db;
use crate::db::files::File;
use crate::domain::{FileName, content_disposition};
use crate::error::AppError;
use crate::proofs::receipt::{self, LogProof, OpenPgpProof, Receipt, ReceiptFile, Rfc3161Proof};
use crate::proofs::tlog::proof::TlogProof;
use crate::state::AppState;
use crate::transparency;
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

pub async fn receipt(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let file = owned(&state, &user, &id).await?;
    let origin = origin(&headers, visitor.secure);
    let log = match file.log_entry_id {
        Some(entry_id) => Some(log_proof(&state, entry_id, &origin).await?),
        // Stored before the log existed: a version 1 receipt, without it.
        None => None,
    };
    let document = Receipt {
        format: receipt::FORMAT.into(),
        version: if log.is_some() { receipt::VERSION } else { 1 },
        file: ReceiptFile {
            name: file.original_filename.clone(),
            size: u64::try_from(file.size).unwrap_or_default(),
            sha256: file.sha256.trim().to_owned(),
        },
        uploaded_at: rfc3339(&file),
        rfc3161: Rfc3161Proof {
            reply: STANDARD.encode(&file.timestamp_reply),
            certificate_chain: state.tsa_chain.to_string(),
            certificate_chain_url: format!("{origin}/keys/tsa-chain.pem"),
        },
        openpgp: OpenPgpProof {
            signature: file.openpgp_signature.clone(),
            fingerprint: state.signers.openpgp.fingerprint(),
            user_id: state.signers.openpgp.user_id(),
            public_key: state.openpgp_public.to_string(),
            public_key_url: format!("{origin}/keys/openpgp.asc"),
        },
        log,
    };
    let json = serde_json::to_vec_pretty(&document).map_err(|e| AppError::Internal(e.into()))?;
    Ok(attachment(json, "application/json", &file, ".receipt"))
}

/// The entry's inclusion proof in the latest checkpoint. An entry not yet in
/// the tree gets a round and a moment; if it is still waiting, the client is
/// told to come back rather than given a receipt without the proof.
async fn log_proof(state: &AppState, entry_id: i64, origin: &str) -> Result<LogProof, AppError> {
    let mut placed = db::log::entry(&state.db, entry_id).await?;
    if matches!(placed, Some((None, _))) {
        state.log.settle(Duration::from_secs(3)).await;
        placed = db::log::entry(&state.db, entry_id).await?;
    }
    let (index, entry) = match placed {
        Some((Some(index), entry)) => (index, entry),
        Some((None, _)) => return Err(AppError::NotReady { retry_after: 1 }),
        None => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "file's log entry {entry_id} is missing"
            )));
        }
    };
    let head = db::log::head(&state.db).await?;
    let checkpoint = head.checkpoint.ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("a placed entry without a checkpoint"))
    })?;
    let size = head.frontier.size();
    let hashes = transparency::inclusion_proof(&state.db, index, size, size)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(LogProof {
        entry: String::from_utf8(entry)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("a log entry is not text")))?,
        proof: TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint,
        }
        .encode(),
        verifier_key: state.log.verifier_key().to_owned(),
        verifier_key_url: format!("{origin}/keys/log.vkey"),
        log_url: format!("{origin}/log"),
    })
}

/// The site's origin as the client reached it, for absolute key URLs.
fn origin(headers: &HeaderMap, secure: bool) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("localhost");
    format!("{}://{host}", if secure { "https" } else { "http" })
}
