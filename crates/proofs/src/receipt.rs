//! The receipt: one versioned JSON document holding every proof of one file,
//! with the public keys needed to check them offline. `docs/RECEIPT.md`
//! describes each field.

use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "securestamp-receipt";
/// The version this program writes: 2 adds the transparency log's proof.
pub const VERSION: u32 = 2;

/// An instant as receipts (and the server's file objects) write it: RFC 3339
/// in UTC with microseconds, so that equal instants compare as equal strings.
pub fn rfc3339(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Receipt {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`]; a reader refuses versions it does not know.
    pub version: u32,
    pub file: ReceiptFile,
    /// The instant both proofs state (RFC 3339, UTC), the token's `genTime`.
    pub uploaded_at: String,
    pub rfc3161: Rfc3161Proof,
    pub openpgp: OpenPgpProof,
    /// Present from version 2 on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogProof>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReceiptFile {
    pub name: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Rfc3161Proof {
    /// The DER `TimeStampResp`, standard base64: a `.tsr` file.
    pub reply: String,
    /// The TSA certificate and its root, PEM, as served when the receipt was made.
    pub certificate_chain: String,
    /// Where the server publishes that chain.
    pub certificate_chain_url: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct OpenPgpProof {
    /// The ASCII-armored detached signature over the file's bytes.
    pub signature: String,
    /// The signing key's v4 fingerprint, upper-case hex.
    pub fingerprint: String,
    pub user_id: String,
    /// The ASCII-armored public key, as served when the receipt was made.
    pub public_key: String,
    /// Where the server publishes that key.
    pub public_key_url: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogProof {
    /// The log's entry for the token, exactly the bytes whose RFC 6962 leaf
    /// hash is in the tree (UTF-8 text; see `proofs::tlog::entry`).
    pub entry: String,
    /// A `c2sp.org/tlog-proof@v1` inclusion proof of the entry, with the
    /// signed checkpoint it leads to.
    pub proof: String,
    /// The log's C2SP verifier key, `<origin>+<key id>+<base64 key>`.
    pub verifier_key: String,
    /// Where the server publishes that key.
    pub verifier_key_url: String,
    /// The log's C2SP tlog-tiles prefix (`…/checkpoint`, `…/tile/…`).
    pub log_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("not a SecureStamp receipt: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("not a SecureStamp receipt (format `{0}`)")]
    WrongFormat(String),
    #[error("receipt version {0} is not one this program understands")]
    UnknownVersion(u32),
}

impl Receipt {
    /// Reads a receipt, refusing other documents and unknown versions.
    pub fn parse(json: &[u8]) -> Result<Receipt, ReceiptError> {
        let receipt: Receipt = serde_json::from_slice(json)?;
        if receipt.format != FORMAT {
            return Err(ReceiptError::WrongFormat(receipt.format));
        }
        if !(1..=VERSION).contains(&receipt.version) {
            return Err(ReceiptError::UnknownVersion(receipt.version));
        }
        Ok(receipt)
    }
}
