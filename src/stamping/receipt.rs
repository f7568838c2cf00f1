//! A file's receipt: the proofs stored with it, the public keys that check
//! them, and its log entry's inclusion proof in the latest checkpoint.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sea_orm::DbErr;

use crate::db;
use crate::db::files::File;
use crate::proofs::receipt::{self, LogProof, OpenPgpProof, Receipt, ReceiptFile, Rfc3161Proof};
use crate::proofs::tlog::proof::TlogProof;
use crate::state::AppState;
use crate::time::rfc3339;

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The file's entry is not in the tree yet: the client comes back shortly
    /// rather than getting a receipt without the log's proof.
    #[error("the file's log entry is not sequenced yet")]
    NotReady,
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("{0}")]
    Broken(String),
}

/// The receipt of `file`; `origin` (`https://host`) makes the key URLs absolute.
pub async fn assemble(
    state: &AppState,
    file: &File,
    origin: &str,
) -> Result<Receipt, ReceiptError> {
    let log = match file.log_entry_id {
        Some(entry_id) => Some(log_proof(state, entry_id, origin).await?),
        // Stored before the log existed: a version 1 receipt, without it.
        None => None,
    };
    Ok(Receipt {
        format: receipt::FORMAT.into(),
        version: if log.is_some() { receipt::VERSION } else { 1 },
        file: ReceiptFile {
            name: file.original_filename.clone(),
            size: u64::try_from(file.size).unwrap_or_default(),
            sha256: file.sha256.trim().to_owned(),
        },
        uploaded_at: rfc3339(file.uploaded_at.and_utc()),
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
    })
}

/// The entry's inclusion proof in the latest checkpoint.
async fn log_proof(
    state: &AppState,
    entry_id: i64,
    origin: &str,
) -> Result<LogProof, ReceiptError> {
    let (index, entry) = match state.log.entry(entry_id).await? {
        Some((Some(index), entry)) => (index, entry),
        Some((None, _)) => return Err(ReceiptError::NotReady),
        None => {
            return Err(ReceiptError::Broken(format!(
                "file's log entry {entry_id} is missing"
            )));
        }
    };
    let head = db::log::head(&state.db).await?;
    let checkpoint = head
        .checkpoint
        .ok_or_else(|| ReceiptError::Broken("a placed entry without a checkpoint".into()))?;
    let size = head.frontier.size();
    let hashes = crate::log::inclusion_proof(&state.db, index, size, size)
        .await
        .map_err(|e| ReceiptError::Broken(e.to_string()))?;
    Ok(LogProof {
        entry: String::from_utf8(entry)
            .map_err(|_| ReceiptError::Broken("a log entry is not text".into()))?,
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
