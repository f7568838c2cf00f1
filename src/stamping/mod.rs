//! Issuing an upload's proofs: an RFC 3161 token over its SHA-256 and an
//! OpenPGP signature over its bytes, both stating the same instant, which
//! becomes the file's `uploaded_at`; and the transparency log's entry for
//! the token, stored with the file.

pub mod receipt;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::domain::FileName;
use crate::proofs::openpgp::{self, StreamingSignature};
use crate::proofs::tlog::entry::stamp_entry;
use crate::proofs::tsa::{Authority, HashAlgorithm, StampRequest};
use crate::storage::StagedFile;
use crate::vault::{FileRecord, Upload};

/// The server's signers, shared by every request.
#[derive(Clone)]
pub struct Signers {
    pub tsa: Arc<Authority>,
    pub openpgp: Arc<openpgp::SigningKey>,
}

/// A file received in full: staged, typed, and hashed for its signature.
pub struct Received {
    pub name: FileName,
    pub content_type: String,
    pub staged: StagedFile,
    pub signature: StreamingSignature,
}

#[derive(Debug, thiserror::Error)]
pub enum StampError {
    #[error("time-stamping failed: {0}")]
    Tsa(#[from] crate::proofs::tsa::TsaError),
    #[error("OpenPGP signing failed: {0}")]
    OpenPgp(#[from] openpgp::OpenPgpError),
    #[error("the stamping task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Stamps every file at one instant (whole seconds, as `genTime` has them)
/// and returns them ready for the vault, in their order, with that instant.
pub async fn stamp_all(
    signers: &Signers,
    received: Vec<Received>,
) -> Result<(Vec<Upload>, SystemTime), StampError> {
    let now = whole_seconds(SystemTime::now());
    // Two signatures per file: cheap, but a thousand files are worth a thread
    // per core.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = received.len().div_ceil(FILES_PER_THREAD).clamp(1, cores);
    let per_thread = received.len().div_ceil(threads);
    let mut rest = received;
    let mut tasks = Vec::with_capacity(threads);
    while !rest.is_empty() {
        let later = rest.split_off(per_thread.min(rest.len()));
        let files = std::mem::replace(&mut rest, later);
        let signers = signers.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            files
                .into_iter()
                .map(|file| stamp_one(&signers, file, now))
                .collect::<Result<Vec<_>, StampError>>()
        }));
    }
    let mut uploads = Vec::new();
    for task in tasks {
        uploads.extend(task.await??);
    }
    Ok((uploads, now))
}

/// Files stamped on one thread before another is worth starting.
const FILES_PER_THREAD: usize = 32;

fn stamp_one(signers: &Signers, file: Received, now: SystemTime) -> Result<Upload, StampError> {
    let request = StampRequest {
        algorithm: HashAlgorithm::Sha256,
        digest: hex::decode(file.staged.hash.as_str()).expect("a content hash is hex"),
        nonce: None,
        include_certificate: true,
    };
    let stamp = signers.tsa.stamp(&request, now, rand::random())?;
    let signature = file.signature.finish(&signers.openpgp, now)?;
    Ok(Upload {
        record: FileRecord {
            name: file.name,
            content_type: file.content_type,
            timestamp_reply: stamp.response,
            openpgp_signature: signature,
            log_entry: stamp_entry(stamp.gen_time, &stamp.token),
        },
        staged: file.staged,
    })
}

fn whole_seconds(time: SystemTime) -> SystemTime {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(seconds)
}
