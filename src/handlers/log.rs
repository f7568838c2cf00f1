//! The transparency log, published per C2SP tlog-tiles under `/log`:
//! `/log/checkpoint` (the latest signed checkpoint), `/log/tile/<L>/<N>[.p/<W>]`
//! (hash tiles) and `/log/tile/entries/<N>[.p/<W>]` (entry bundles); plus JSON
//! conveniences for clients without tile logic, `/log/proof/inclusion` and
//! `/log/proof/consistency`, and the verifier key at `/keys/log.vkey`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db;
use crate::db::log::Head;
use crate::error::AppError;
use crate::log::{ProveError, consistency_proof, inclusion_proof};
use crate::openapi::ErrorBody;
use crate::proofs::tlog::Hash;
use crate::proofs::tlog::tiles::{self, Tile};
use crate::state::AppState;

/// Tiles and bundles never change once they exist.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The checkpoint moves on; the spec asks that it not be cached beyond a few seconds.
const SHORT_LIVED: &str = "public, max-age=2";

/// The current head and its checkpoint.
async fn head(state: &AppState) -> Result<(Head, String), AppError> {
    state
        .log
        .signed_head()
        .await?
        .ok_or(AppError::NotReady { retry_after: 1 })
}

#[utoipa::path(
    get,
    path = "/log/checkpoint",
    operation_id = "log_checkpoint",
    tag = "log",
    summary = "The log's latest signed checkpoint",
    description = "A C2SP tlog-checkpoint in a signed note, signed with the key at \
`/keys/log.vkey`. Hash tiles and entry bundles are under `/log/tile/` (C2SP tlog-tiles).",
    responses((status = OK, description = "The checkpoint note.", body = String, content_type = "text/plain; charset=utf-8")),
)]
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, AppError> {
    let (_, checkpoint) = head(&state).await?;
    Ok(with_headers(
        checkpoint,
        "text/plain; charset=utf-8",
        SHORT_LIVED,
    ))
}

#[utoipa::path(
    get,
    path = "/keys/log.vkey",
    operation_id = "log_verifier_key",
    tag = "log",
    summary = "The log's signed-note verifier key",
    responses((status = OK, description = "The key, in the signed-note verifier key format.", body = String, content_type = "text/plain; charset=utf-8")),
)]
pub async fn verifier_key(State(state): State<AppState>) -> Response {
    with_headers(
        format!("{}\n", state.log.verifier_key()),
        "text/plain; charset=utf-8",
        "public, max-age=3600",
    )
}

pub async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, AppError> {
    let tile = Tile::parse(&path).ok_or(AppError::NotFound)?;
    let (head, _) = head(&state).await?;
    if !tile.exists_in(head.size()) {
        return Err(AppError::NotFound);
    }
    let body = match tile {
        Tile::Hashes { .. } => {
            let (level, range) = tile.nodes().ok_or(AppError::NotFound)?;
            let expected = range.end - range.start;
            let hashes = db::log::node_range(&state.db, level, range).await?;
            if hashes.len() as u64 != expected {
                return Err(missing());
            }
            hashes.concat()
        }
        Tile::Entries { index, width } => {
            let start = index * tiles::WIDTH;
            let entries = db::log::entry_range(&state.db, start..start + u64::from(width)).await?;
            if entries.len() != usize::from(width) {
                return Err(missing());
            }
            tiles::bundle(entries.iter().map(Vec::as_slice))
        }
    };
    Ok(with_headers(body, "application/octet-stream", IMMUTABLE))
}

fn missing() -> AppError {
    AppError::internal("the log's stored hashes or entries are incomplete")
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The entry's position…
    index: Option<u64>,
    /// …or its leaf hash, hex.
    leaf_hash: Option<String>,
    /// Defaults to the current size.
    tree_size: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct InclusionProof {
    index: u64,
    tree_size: u64,
    /// RFC 6962 `PATH(index, D[tree_size])`, base64, leaf's sibling first.
    proof: Vec<String>,
    /// The signed checkpoint, when `tree_size` is the current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint: Option<String>,
}

#[utoipa::path(
    get,
    path = "/log/proof/inclusion",
    operation_id = "log_inclusion_proof",
    tag = "log",
    summary = "An entry's inclusion proof",
    description = "For clients without tile logic; the tiles give the same hashes.",
    params(InclusionQuery),
    responses(
        (status = OK, description = "The proof.", body = InclusionProof),
        (status = BAD_REQUEST, description = "Neither or both of `index` and `leaf_hash`, or out of range.", body = ErrorBody),
        (status = NOT_FOUND, description = "No entry has that leaf hash.", body = ErrorBody),
    ),
)]
pub async fn inclusion(
    State(state): State<AppState>,
    Query(query): Query<InclusionQuery>,
) -> Result<Json<InclusionProof>, AppError> {
    let (head, checkpoint) = head(&state).await?;
    let index = match (query.index, query.leaf_hash) {
        (Some(index), None) => index,
        (None, Some(hash)) => {
            let hash: Hash = hex::decode(hash.trim())
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| {
                    AppError::BadRequest("leaf_hash must be 64 hexadecimal digits.".into())
                })?;
            db::log::index_of(&state.db, &hash)
                .await?
                .ok_or(AppError::NotFound)?
        }
        _ => {
            return Err(AppError::BadRequest(
                "Give either index or leaf_hash.".into(),
            ));
        }
    };
    let size = query.tree_size.unwrap_or(head.size());
    let proof = inclusion_proof(&state.db, index, size, head.size())
        .await
        .map_err(proof_error)?;
    Ok(Json(InclusionProof {
        index,
        tree_size: size,
        proof: base64_all(&proof),
        checkpoint: (size == head.size()).then_some(checkpoint),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size.
    from: u64,
    /// The newer; defaults to the current size.
    to: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsistencyProof {
    from: u64,
    to: u64,
    /// RFC 6962 `PROOF(from, D[to])`, base64.
    proof: Vec<String>,
    /// The signed checkpoint, when `to` is the current size.
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint: Option<String>,
}

#[utoipa::path(
    get,
    path = "/log/proof/consistency",
    operation_id = "log_consistency_proof",
    tag = "log",
    summary = "A proof that one tree size extends another",
    params(ConsistencyQuery),
    responses(
        (status = OK, description = "The proof.", body = ConsistencyProof),
        (status = BAD_REQUEST, description = "A size out of range.", body = ErrorBody),
    ),
)]
pub async fn consistency(
    State(state): State<AppState>,
    Query(query): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, AppError> {
    let (head, checkpoint) = head(&state).await?;
    let to = query.to.unwrap_or(head.size());
    let proof = consistency_proof(&state.db, query.from, to, head.size())
        .await
        .map_err(proof_error)?;
    Ok(Json(ConsistencyProof {
        from: query.from,
        to,
        proof: base64_all(&proof),
        checkpoint: (to == head.size()).then_some(checkpoint),
    }))
}

fn proof_error(error: ProveError) -> AppError {
    match error {
        ProveError::Db(error) => error.into(),
        ProveError::OutOfRange { size } => AppError::BadRequest(format!(
            "Out of range: the tree asked about has {size} entries."
        )),
        ProveError::Missing => missing(),
    }
}

fn base64_all(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|hash| STANDARD.encode(hash)).collect()
}

fn with_headers(
    body: impl IntoResponse,
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
