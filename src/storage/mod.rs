//! File contents, content-addressed by SHA-256: on the local disk
//! ([`Disk`], under `UPLOAD_FOLDER`) or in an S3-compatible bucket
//! ([`Bucket`], `STORAGE_URL`). Both keep a content at
//! `objects/ab/abcdef…` (under the bucket's prefix), so the `file_path`
//! column means the same on either.
//!
//! An upload is written and hashed in one pass ([`Staging`]), becomes a
//! [`StagedFile`], is made durable ([`sync_staged`], [`Syncing`]) and is then
//! moved into place ([`Placing`]) while the vault holds its `blobs` row. A
//! staged file that is dropped without being placed removes what it left,
//! so an aborted request leaves no bytes behind.
//!
//! Which objects may exist is decided by the `blobs` table ([`crate::vault`]):
//! this module only moves bytes.

mod bucket;
mod disk;

use std::io;
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use bucket::{Bucket, BucketError};
pub use disk::Disk;

use crate::domain::ContentHash;

#[derive(Clone, Debug)]
pub enum Storage {
    Disk(Disk),
    Bucket(Bucket),
}

/// Where a content lies, relative to the storage root or the bucket's prefix
/// (the `file_path` column).
pub fn relative_path(hash: &ContentHash) -> String {
    format!("objects/{}/{}", &hash.as_str()[..2], hash.as_str())
}

impl Storage {
    /// Starts receiving a new upload.
    pub fn stage(&self) -> Staging {
        Staging {
            hasher: Sha256::new(),
            size: 0,
            sink: match self {
                Storage::Disk(disk) => Sink::Disk(disk.stage()),
                Storage::Bucket(bucket) => Sink::Bucket(bucket.stage()),
            },
        }
    }

    /// Starts moving staged files into place.
    pub fn placing(&self) -> Placing<'_> {
        match self {
            Storage::Disk(disk) => Placing::Disk(disk.placing()),
            Storage::Bucket(bucket) => Placing::Bucket(bucket),
        }
    }

    /// Deletes a content; one that is already gone is not an error.
    pub async fn remove(&self, hash: &ContentHash) -> io::Result<()> {
        match self {
            Storage::Disk(disk) => disk.remove(hash).await,
            Storage::Bucket(bucket) => bucket.remove(hash).await,
        }
    }

    /// Contents whose hash begins with the byte `folder`, stored more than
    /// `min_age` ago. Callers go folder by folder, so memory stays bounded.
    pub async fn old_objects_in(
        &self,
        folder: u8,
        min_age: Duration,
    ) -> io::Result<Vec<ContentHash>> {
        match self {
            Storage::Disk(disk) => disk.old_objects_in(folder, min_age).await,
            Storage::Bucket(bucket) => bucket.old_objects_in(folder, min_age).await,
        }
    }

    /// Keeps this process's staged uploads from looking abandoned (see
    /// [`Storage::sweep_staging`]); returns how many it touched.
    pub async fn keep_alive(&self) -> io::Result<usize> {
        match self {
            Storage::Disk(disk) => disk.keep_alive().await,
            Storage::Bucket(bucket) => bucket.keep_alive().await,
        }
    }

    /// Removes what uploads of dead processes left, untouched for `idle`.
    pub async fn sweep_staging(&self, idle: Duration) -> io::Result<usize> {
        match self {
            Storage::Disk(disk) => disk.sweep_staging(idle).await,
            Storage::Bucket(bucket) => bucket.sweep_staging(idle).await,
        }
    }
}

/// An upload being received: every byte goes to the hash and to the backend.
pub struct Staging {
    hasher: Sha256,
    size: u64,
    sink: Sink,
}

enum Sink {
    Disk(disk::Staging),
    Bucket(bucket::Staging),
}

impl Staging {
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        match &mut self.sink {
            Sink::Disk(staging) => staging.write(chunk).await,
            Sink::Bucket(staging) => staging.write(chunk).await,
        }
    }

    /// The SHA-256 state over the bytes so far, for a signature that goes on
    /// from the same data ([`crate::proofs::openpgp::StreamingSignature::from_data_hash`]).
    pub fn hash_state(&self) -> Sha256 {
        self.hasher.clone()
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Sends what is left; the content is then staged, and on the disk not
    /// yet durable: [`sync_staged`] makes it so.
    pub async fn finish(self) -> io::Result<StagedFile> {
        let staged = match self.sink {
            Sink::Disk(staging) => Staged::Disk(staging.finish().await?),
            Sink::Bucket(staging) => Staged::Bucket(staging.finish().await?),
        };
        let digest: [u8; 32] = self.hasher.finalize().into();
        Ok(StagedFile {
            hash: ContentHash::from_digest(&digest),
            size: self.size,
            staged,
        })
    }
}

/// A received upload waiting to be placed.
pub struct StagedFile {
    pub hash: ContentHash,
    pub size: u64,
    pub(crate) staged: Staged,
}

pub(crate) enum Staged {
    Disk(disk::Staged),
    Bucket(bucket::Staged),
}

impl StagedFile {
    /// Whether its bytes are durable where they are staged (a bucket's are
    /// once sent; a small one kept aside on the disk needs no sync, as it is
    /// sent when placed).
    pub fn is_durable(&self) -> bool {
        match &self.staged {
            Staged::Disk(staged) => staged.is_durable(),
            Staged::Bucket(_) => true,
        }
    }
}

/// Makes every one of `files` durable that is not yet. Their syncs run at
/// once, so the filesystem commits them together rather than one journal
/// commit each; each file's handle is closed once it is synced. Callers
/// with many files sync them in groups, which bounds the open handles.
pub async fn sync_staged<'a>(
    files: impl IntoIterator<Item = &'a mut StagedFile>,
) -> io::Result<()> {
    all_of(start_syncs(files)).await
}

/// Starts a sync of every one of `files` not yet durable, each on the
/// blocking pool, and takes its handle.
fn start_syncs<'a>(
    files: impl IntoIterator<Item = &'a mut StagedFile>,
) -> tokio::task::JoinSet<io::Result<()>> {
    let mut syncs = tokio::task::JoinSet::new();
    for file in files {
        if let Staged::Disk(staged) = &mut file.staged
            && let Some(handle) = staged.take_unsynced()
        {
            syncs.spawn_blocking(move || handle.sync_data());
        }
    }
    syncs
}

/// Staged files synced in the background, a group at a time, while the
/// request goes on receiving: at most [`Syncing::IN_FLIGHT`] groups, and so
/// that many groups' files, are open at once. Files handed to it count as
/// durable once [`Syncing::finish`] has returned `Ok`; a caller that gives up
/// drops them with it.
#[derive(Default)]
pub struct Syncing {
    groups: std::collections::VecDeque<tokio::task::JoinSet<io::Result<()>>>,
}

impl Syncing {
    const IN_FLIGHT: usize = 2;

    /// Starts syncing `files`, after waiting for the oldest group if too
    /// many are under way.
    pub async fn start<'a>(
        &mut self,
        files: impl IntoIterator<Item = &'a mut StagedFile>,
    ) -> io::Result<()> {
        if self.groups.len() >= Self::IN_FLIGHT
            && let Some(oldest) = self.groups.pop_front()
        {
            all_of(oldest).await?;
        }
        self.groups.push_back(start_syncs(files));
        Ok(())
    }

    /// Waits for every group; the first error, if any.
    pub async fn finish(self) -> io::Result<()> {
        for group in self.groups {
            all_of(group).await?;
        }
        Ok(())
    }
}

/// Waits for every task, and reports the first error among them.
async fn all_of(mut tasks: tokio::task::JoinSet<io::Result<()>>) -> io::Result<()> {
    let mut outcome = Ok(());
    while let Some(done) = tasks.join_next().await {
        let done = done.map_err(io::Error::other).and_then(|done| done);
        if outcome.is_ok() {
            outcome = done;
        }
    }
    outcome
}

/// Staged files moved into place; [`Placing::sync`] makes the moves durable.
pub enum Placing<'a> {
    Disk(disk::Placing<'a>),
    Bucket(&'a Bucket),
}

impl Placing<'_> {
    /// Moves staged files into place. A content that is there already is
    /// not moved again (its staged copy is removed). The caller must hold
    /// every content's `blobs` row lock. Stops at the first error; what was
    /// placed until then is in [`Moved::placed`] either way.
    pub async fn place_all(&mut self, files: Vec<StagedFile>) -> Moved {
        match self {
            Placing::Disk(placing) => {
                let files = files
                    .into_iter()
                    .map(|file| match file.staged {
                        Staged::Disk(staged) => (file.hash, staged),
                        Staged::Bucket(_) => unreachable!("staged by another storage"),
                    })
                    .collect();
                placing.place_all(files).await
            }
            Placing::Bucket(bucket) => {
                let files = files
                    .into_iter()
                    .map(|file| match file.staged {
                        Staged::Bucket(staged) => (file.hash, staged),
                        Staged::Disk(_) => unreachable!("staged by another storage"),
                    })
                    .collect();
                bucket.place_all(files).await
            }
        }
    }

    /// Makes the placed contents durable: the disk's folders are synced once
    /// each; a bucket's objects are durable once written.
    pub async fn sync(self) -> io::Result<()> {
        match self {
            Placing::Disk(placing) => placing.sync().await,
            Placing::Bucket(_) => Ok(()),
        }
    }
}

/// What [`Placing::place_all`] did: the contents it placed anew, and
/// whether it got through all of them.
pub struct Moved {
    pub placed: Vec<ContentHash>,
    pub outcome: io::Result<()>,
}

/// Whether an I/O error means the disk (or the user's disk quota) is full.
pub fn is_full(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// Whether an I/O error means the object store could not be reached or
/// did not answer as it should: the request may succeed later.
pub fn is_unavailable(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<BucketError>())
}
