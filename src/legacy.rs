//! Moving in from the original Flask application: its `users` and `files`
//! tables are adopted in place by the migrations; this imports the files its
//! rows name from its upload folder, one at a time.
//!
//! Each file is read once, hashed, signed and stored as an upload is, and
//! stamped at the moment of its import: nothing proves it existed earlier, so
//! the time the old application recorded is kept beside the proofs, marked
//! as its claim. A row whose file cannot be found or read is left as it is,
//! for a later run; the old files themselves are never changed or removed.

use std::path::{Path, PathBuf};

use tokio::io::AsyncReadExt;

use crate::content_type::{self, SNIFF_LEN};
use crate::db::files::{self, LegacyFile};
use crate::domain::FileName;
use crate::proofs::openpgp::StreamingSignature;
use crate::stamping::{self, Received};
use crate::startup::Vault;
use crate::vault;

/// Read from an old file at a time.
const CHUNK: usize = 1 << 20;

/// What one run did.
#[derive(Debug, Default)]
pub struct Imported {
    pub files: usize,
    pub bytes: u64,
    /// Rows whose file was not found or could not be read: id and why.
    pub left: Vec<(i32, String)>,
}

/// Imports every file of the original application's that has no proofs yet.
/// `folder` is where it kept them (its `UPLOAD_FOLDER`); the stored
/// `file_path` is tried first, as that application saw it, from the working
/// directory.
pub async fn import_files(vault: &Vault, folder: &Path) -> anyhow::Result<Imported> {
    let mut done = Imported::default();
    let mut after = 0;
    while let Some(row) = files::next_legacy(&vault.db, after).await? {
        after = row.id;
        let Some(path) = locate(&row, folder) else {
            let why = format!("not found at {} nor in {}", row.file_path, folder.display());
            done.left.push((row.id, why));
            continue;
        };
        match import_one(vault, &row, &path).await {
            Ok(Some(size)) => {
                tracing::info!(file_id = row.id, user_id = row.user_id, size, path = %path.display(), "imported");
                done.files += 1;
                done.bytes += size;
            }
            // Another run imported it meanwhile.
            Ok(None) => {}
            Err(Failure::Unreadable(error)) => {
                done.left
                    .push((row.id, format!("{}: {error}", path.display())));
            }
            Err(Failure::Fatal(error)) => return Err(error),
        }
    }
    Ok(done)
}

/// The old file: its recorded path, else its stored name in `folder`.
fn locate(row: &LegacyFile, folder: &Path) -> Option<PathBuf> {
    let recorded = PathBuf::from(&row.file_path);
    let by_name = |name: &str| {
        // A stored name is one path component; anything else names no file here.
        let name = Path::new(name).file_name()?;
        Some(folder.join(name))
    };
    [
        Some(recorded.clone()),
        by_name(&row.filename),
        by_name(&row.file_path),
    ]
    .into_iter()
    .flatten()
    .find(|path| path.is_file())
}

enum Failure {
    /// The old file could not be read: the row waits for a later run.
    Unreadable(std::io::Error),
    /// The vault could not take it (database, storage, signing): stop.
    Fatal(anyhow::Error),
}

/// Stores and stamps one old file; its size, or `None` if it was imported
/// by another run first.
async fn import_one(vault: &Vault, row: &LegacyFile, path: &Path) -> Result<Option<u64>, Failure> {
    let fatal = |error: std::io::Error| Failure::Fatal(error.into());
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(Failure::Unreadable)?;
    let name = FileName::parse(&row.original_filename);
    let mut staging = vault.storage.stage();
    let mut head = Vec::new();
    let mut buffer = vec![0; CHUNK];
    loop {
        let read = file.read(&mut buffer).await.map_err(Failure::Unreadable)?;
        if read == 0 {
            break;
        }
        if head.len() < SNIFF_LEN {
            head.extend_from_slice(&buffer[..read.min(SNIFF_LEN - head.len())]);
        }
        staging.write(&buffer[..read]).await.map_err(fatal)?;
    }
    // The old application accepted what it accepted: a content its name
    // does not describe is kept, as a plain stream of bytes.
    let content_type = content_type::decide(&name, &head)
        .unwrap_or_else(|_| "application/octet-stream".to_owned());
    let signature = StreamingSignature::from_data_hash(staging.hash_state());
    let size = staging.size();
    let received = Received {
        name,
        content_type,
        staged: staging.finish().await.map_err(fatal)?,
        signature,
    };
    let (mut uploads, stamped_at) = stamping::stamp_all(&vault.signers, vec![received])
        .await
        .map_err(|error| Failure::Fatal(error.into()))?;
    let upload = uploads.pop().expect("one file in, one stamped");
    let uploaded_at = chrono::DateTime::<chrono::Utc>::from(stamped_at).naive_utc();
    let adopted = vault::adopt(&vault.db, &vault.storage, row, upload, uploaded_at)
        .await
        .map_err(|error| Failure::Fatal(error.into()))?;
    Ok(adopted.then_some(size))
}
