//! `GET/POST /verify`: check a file against its receipt in the browser, or
//! from a script. No account is needed and nothing is stored: the file streams
//! through the same checks `securestamp verify` runs, against this server's
//! own keys (those at `/keys/…`), never the copies inside the receipt: a
//! receipt another instance made with keys of its own fails here, and the
//! answer says first whether the receipt names this server's keys at all.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::multipart::Field;
use axum::extract::{ConnectInfo, FromRequest, Multipart, Request, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio_util::io::{StreamReader, SyncIoBridge};
use utoipa::ToSchema;

use crate::domain::FieldError;
use crate::error::AppError;
use crate::openapi::ErrorBody;
use crate::proofs::receipt::Receipt;
use crate::proofs::verification::{self, Report, TrustedKeys};
use crate::state::AppState;
use crate::web::multipart::{read_bytes, read_text};
use crate::web::pages::{CheckView, VerifyPage};
use crate::web::{Format, Visitor};

/// A receipt is a few kilobytes.
const RECEIPT_LIMIT: usize = 1 << 20;
/// 64 hexadecimal digits, and room for spaces around them.
const SHA256_FIELD_LIMIT: usize = 1024;

pub async fn form(State(state): State<AppState>, visitor: Visitor) -> Response {
    page(&state, &visitor, None, None).into_response()
}

/// What a receipt proves about a file, checked against this server's keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyAnswer {
    /// The outcome in one plain sentence.
    summary: String,
    /// Whether the receipt names this server's keys; if not, nothing else here counts.
    issued_by_this_server: bool,
    /// Whether every check holds.
    all_hold: bool,
    checks: Vec<CheckAnswer>,
    /// Proofs that need the file itself, when only its SHA-256 was sent.
    not_checked: Vec<NotChecked>,
}

/// One proof's verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckAnswer {
    /// `SHA-256`, `RFC 3161 time-stamp`, `OpenPGP signature` or `transparency log`.
    proof: &'static str,
    holds: bool,
    /// What holds, or why not.
    detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotChecked {
    proof: &'static str,
    /// Why it could not be checked.
    detail: String,
}

/// The multipart form `POST /verify` takes: the receipt first, then the file
/// (or, instead of the file, its SHA-256).
#[derive(Debug, ToSchema)]
pub struct VerifyForm {
    /// The receipt, as downloaded from `/files/{id}/receipt`.
    #[schema(value_type = String, format = Binary)]
    pub receipt: Vec<u8>,
    /// The file; it streams through the checks and is not kept.
    #[schema(value_type = Option<String>, format = Binary)]
    pub file: Option<Vec<u8>>,
    /// The file's SHA-256 in hex, instead of the file.
    pub sha256: Option<String>,
}

#[utoipa::path(
    post,
    path = "/verify",
    operation_id = "verify",
    tag = "verification",
    summary = "Check a file against its receipt",
    description = "No account needed, and nothing is stored. Every proof is checked against \
this server's own published keys, never those inside the receipt.",
    request_body(content = inline(VerifyForm), content_type = "multipart/form-data"),
    responses(
        (status = OK, description = "Checked; `all_hold` says whether the receipt holds.", body = VerifyAnswer),
        (status = PAYLOAD_TOO_LARGE, description = "Past `MAX_CONTENT_LENGTH`.", body = ErrorBody),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "Not a multipart form.", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "No receipt, an unreadable one, or neither file nor SHA-256; `field` names which.", body = ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "This address has used its budget for now.", body = ErrorBody, headers(("retry-after" = u64))),
    ),
)]
pub async fn check(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    visitor: Visitor,
    format: Format,
    request: Request,
) -> Result<Response, AppError> {
    state.spend_public_budget(visitor.client.address.unwrap_or(peer.ip()))?;
    let outcome = receive(&state, request).await;
    Ok(match (format, outcome) {
        (Format::Json, Ok(checked)) => Json(VerifyAnswer {
            summary: checked.summary(),
            issued_by_this_server: checked.ours,
            all_hold: checked.report.all_hold(),
            checks: checked
                .report
                .checks
                .iter()
                .map(|check| CheckAnswer {
                    proof: check.proof,
                    holds: check.outcome.is_ok(),
                    detail: detail(&check.outcome),
                })
                .collect(),
            not_checked: checked
                .report
                .not_checked
                .iter()
                .map(|check| NotChecked {
                    proof: check.proof,
                    detail: detail(&check.outcome),
                })
                .collect(),
        })
        .into_response(),
        (Format::Json, Err(error)) => return Err(error),
        (Format::Html, Ok(checked)) => page(&state, &visitor, Some(checked), None).into_response(),
        (
            Format::Html,
            Err(
                error
                @ (AppError::Invalid(_) | AppError::PayloadTooLarge | AppError::BadRequest(_)),
            ),
        ) => {
            let page = page(&state, &visitor, None, Some(error.to_string()));
            (error.status(), page).into_response()
        }
        (Format::Html, Err(error)) => return Err(error),
    })
}

/// A report, and whether the receipt names this server's keys.
struct Checked {
    report: Report,
    ours: bool,
    /// When the receipt says the file was stamped (RFC 3339).
    stamped_at: String,
}

impl Checked {
    /// What the checks mean for the person holding the file, in one plain
    /// sentence; the details follow it.
    fn summary(&self) -> String {
        let report = &self.report;
        let holds = |proof: &str| {
            report
                .checks
                .iter()
                .any(|check| check.proof == proof && check.outcome.is_ok())
        };
        if !self.ours {
            return "These proofs were not made by this server, so they prove nothing here.".into();
        }
        if !holds("SHA-256") {
            return "This is not the file this receipt covers.".into();
        }
        let failed = report.checks.iter().filter(|c| c.outcome.is_err()).count();
        if failed > 0 {
            return format!(
                "This is the file the receipt covers, but {} of its proofs {} not hold: do not rely on this receipt.",
                in_words(failed),
                if failed == 1 { "does" } else { "do" }
            );
        }
        let proofs = report.checks.len().saturating_sub(1);
        let when = chrono::DateTime::parse_from_rfc3339(&self.stamped_at).map_or_else(
            |_| self.stamped_at.clone(),
            |time| {
                time.with_timezone(&chrono::Utc)
                    .format("%-d %B %Y at %H:%M:%S UTC")
                    .to_string()
            },
        );
        let mut sentence = format!(
            "This file existed, unchanged, on {when}: checked against {} independent proofs.",
            in_words(proofs)
        );
        if !report.not_checked.is_empty() {
            sentence.push_str(" Some proofs could not be checked without the file itself.");
        }
        sentence
    }
}

fn in_words(n: usize) -> String {
    match n {
        1 => "one".into(),
        2 => "two".into(),
        3 => "three".into(),
        4 => "four".into(),
        n => n.to_string(),
    }
}

/// This server's public keys, which every check here trusts.
fn own_keys(state: &AppState) -> TrustedKeys {
    TrustedKeys {
        tsa_chain: Some(state.tsa_chain.to_string()),
        openpgp_key: Some(state.openpgp_public.to_string()),
        log_key: Some(state.log.verifier_key().to_owned()),
    }
}

/// Whether the receipt names this server's keys: its TSA chain, OpenPGP
/// fingerprint and (when it has a log entry) log key are this server's.
fn names_our_keys(state: &AppState, receipt: &Receipt) -> bool {
    let squeezed = |text: &str| text.split_whitespace().collect::<String>();
    let fingerprint = state.signers.openpgp.fingerprint();
    squeezed(&receipt.rfc3161.certificate_chain) == squeezed(&state.tsa_chain)
        && receipt
            .openpgp
            .fingerprint
            .eq_ignore_ascii_case(&fingerprint)
        && receipt
            .log
            .as_ref()
            .is_none_or(|log| log.verifier_key.trim() == state.log.verifier_key())
}

/// Reads the receipt (which must come first), then streams the file through
/// verification, or, given only a `sha256` field, checks what a hash can show.
async fn receive(state: &AppState, request: Request) -> Result<Checked, AppError> {
    let request = crate::web::multipart::limit_part_headers(request);
    let mut multipart = Multipart::from_request(request, state).await.map_err(|_| {
        AppError::UnsupportedMediaType(
            "Send the receipt and the file as multipart/form-data.".into(),
        )
    })?;
    let mut receipt = None;
    let mut sha256 = None;
    while let Some(mut field) = multipart.next_field().await? {
        match field.name() {
            Some("receipt") => {
                let bytes = read_bytes(&mut field, RECEIPT_LIMIT)
                    .await?
                    .ok_or_else(|| {
                        FieldError::new("receipt", "That is too large to be a receipt.")
                    })?;
                let parsed = Receipt::parse(&bytes)
                    .map_err(|e| FieldError::new("receipt", format!("{e}.")))?;
                receipt = Some(parsed);
            }
            Some("sha256") => {
                let not_a_hash =
                    || FieldError::new("sha256", "A SHA-256 is 64 hexadecimal digits.");
                let text = read_text(&mut field, SHA256_FIELD_LIMIT)
                    .await?
                    .ok_or_else(not_a_hash)?;
                let text = text.trim().to_ascii_lowercase();
                if !text.is_empty() {
                    let digest = crate::domain::ContentHash::parse(&text)
                        .and_then(|hash| hex::decode(hash.as_str()).ok()?.try_into().ok())
                        .ok_or_else(not_a_hash)?;
                    sha256 = Some(digest);
                }
            }
            // A file input left empty arrives as a part without a file name.
            Some("file") if field.file_name().is_some_and(|name| !name.is_empty()) => {
                let Some(receipt) = receipt.take() else {
                    return Err(
                        FieldError::new("receipt", "Send the receipt before the file.").into(),
                    );
                };
                let ours = names_our_keys(state, &receipt);
                let stamped_at = receipt.uploaded_at.clone();
                let report = stream_through_verification(field, receipt, own_keys(state)).await?;
                return Ok(Checked {
                    report,
                    ours,
                    stamped_at,
                });
            }
            _ => {}
        }
    }
    match (receipt, sha256) {
        (Some(receipt), Some(sha256)) => Ok(Checked {
            ours: names_our_keys(state, &receipt),
            report: verification::verify_hash(&sha256, &receipt, &own_keys(state)),
            stamped_at: receipt.uploaded_at,
        }),
        (None, _) => Err(FieldError::new("receipt", "Choose the receipt.").into()),
        (Some(_), None) => {
            Err(FieldError::new("file", "Choose the file, or give its SHA-256.").into())
        }
    }
}

/// The checks read synchronously; the upload arrives asynchronously. A
/// bounded channel joins them, so the file is never held in memory.
async fn stream_through_verification(
    mut field: Field<'_>,
    receipt: Receipt,
    keys: TrustedKeys,
) -> Result<Report, AppError> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
    let chunks = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    let reader = SyncIoBridge::new(StreamReader::new(chunks));
    let checks = tokio::task::spawn_blocking(move || verification::verify(reader, &receipt, &keys));
    let fed = async {
        while let Some(chunk) = field.chunk().await? {
            if sender.send(Ok(chunk)).await.is_err() {
                break;
            }
        }
        Ok::<_, AppError>(())
    }
    .await;
    drop(sender);
    let report = checks.await?;
    fed.map(|()| report)
}

fn detail(outcome: &Result<String, String>) -> String {
    match outcome {
        Ok(detail) | Err(detail) => detail.clone(),
    }
}

fn page(
    state: &AppState,
    visitor: &Visitor,
    checked: Option<Checked>,
    error: Option<String>,
) -> VerifyPage {
    let foreign = checked.as_ref().is_some_and(|checked| !checked.ours);
    let summary = checked.as_ref().map(Checked::summary).unwrap_or_default();
    let report = checked.map(|checked| checked.report);
    let checked = report.is_some();
    let all_hold = report.as_ref().is_some_and(Report::all_hold);
    let not_checked = report
        .iter()
        .flat_map(|report| &report.not_checked)
        .map(|check| format!("{}: {}", check.proof, detail(&check.outcome)))
        .collect();
    VerifyPage {
        layout: visitor.layout(state, "Verify a file"),
        checks: report
            .into_iter()
            .flat_map(|report| report.checks)
            .map(|check| CheckView {
                proof: check.proof,
                holds: check.outcome.is_ok(),
                detail: detail(&check.outcome),
            })
            .collect(),
        checked,
        summary,
        foreign,
        all_hold,
        not_checked,
        error,
    }
}
