//! File contents, content-addressed by SHA-256: on the local disk
//! ([`Disk`], under `UPLOAD_FOLDER`) or in an S3-compatible bucket
//! ([`Bucket`], `STORAGE_URL`). Both keep a content at
//! `objects/ab/abcdef…` (under the bucket's prefix), so the `file_path`
//! column means the same on either.
//!
//! An upload is written and hashed in one pass ([`Staging`]), becomes a
//! [`StagedFile`], is made durable in the background ([`StagedFile::settle`]) and is then
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

/// The largest content kept in the database rather than in storage
/// ([`StagedFile::inline_content`]). A request's small files then become
/// durable with its transaction's one commit, where each file would
/// otherwise cost a sync of its own and a sync of its folder: on a disk
/// whose syncs are slow, tens of milliseconds for a hundred files against
/// one. SQLite's own measurements find contents of this size read faster
/// from the database than from files, and PostgreSQL and MySQL keep them
/// out of line like any large value.
pub const INLINE_MAX: u64 = 128 * 1024;

/// The bytes of small contents held in memory at once, by every request of
/// the process together, until their transactions commit. Past it, small
/// contents go to storage like large ones: memory stays bounded however
/// many files arrive.
const INLINE_BUDGET: usize = 64 << 20;
static INLINE_HELD: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(INLINE_BUDGET);

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
    /// Starts receiving a new upload; a small one may end up kept in the
    /// database ([`INLINE_MAX`]).
    pub fn stage(&self) -> Staging {
        Staging {
            hasher: Sha256::new(),
            size: 0,
            may_inline: true,
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
    /// Whether a small content may be kept in the database.
    may_inline: bool,
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

    /// Sends what is left; the content is then staged, and on the disk on
    /// its way to being durable: [`StagedFile::settle`] waits for it.
    pub async fn finish(mut self) -> io::Result<StagedFile> {
        let staged = match self.keep_inline() {
            Some(inline) => Staged::Inline(inline),
            None => match self.sink {
                Sink::Disk(staging) => Staged::Disk(staging.finish().await?),
                Sink::Bucket(staging) => Staged::Bucket(staging.finish().await?),
            },
        };
        let digest: [u8; 32] = self.hasher.finalize().into();
        Ok(StagedFile {
            hash: ContentHash::from_digest(&digest),
            size: self.size,
            staged,
        })
    }
}

impl Staging {
    /// Sends the content to storage whatever its size.
    #[cfg(test)]
    pub(crate) fn bound_for_storage(mut self) -> Staging {
        self.may_inline = false;
        self
    }

    /// A small content's bytes, to be stored with its row, while the budget
    /// has room for them.
    fn keep_inline(&mut self) -> Option<Inline> {
        if !self.may_inline || self.size > INLINE_MAX {
            return None;
        }
        let held = INLINE_HELD
            .try_acquire_many(u32::try_from(self.size).ok()?)
            .ok()?;
        let bytes = match &mut self.sink {
            Sink::Disk(staging) => staging.take_small(),
            Sink::Bucket(staging) => staging.take_small(),
        }?;
        Some(Inline {
            bytes: bytes.into(),
            _held: held,
        })
    }
}

/// A small content held in memory until its row is stored.
pub(crate) struct Inline {
    bytes: bytes::Bytes,
    /// Its share of [`INLINE_BUDGET`], given back when it is dropped.
    _held: tokio::sync::SemaphorePermit<'static>,
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
    /// Small enough to be kept in the database, with its row.
    Inline(Inline),
}

impl StagedFile {
    /// Whether its bytes are durable where they are staged (a bucket's are
    /// once sent; a small one kept in memory goes with its row).
    #[cfg(test)]
    pub fn is_durable(&self) -> bool {
        match &self.staged {
            Staged::Disk(staged) => staged.is_durable(),
            Staged::Bucket(_) | Staged::Inline(_) => true,
        }
    }

    /// The bytes of a content small enough to be stored in the database,
    /// with its row ([`INLINE_MAX`]); `None` for one that goes to storage.
    pub fn inline_content(&self) -> Option<&[u8]> {
        self.inline().map(|bytes| &bytes[..])
    }

    /// [`StagedFile::inline_content`], shared rather than borrowed. Its
    /// share of the budget stays with this file.
    pub fn inline_bytes(&self) -> Option<bytes::Bytes> {
        self.inline().cloned()
    }

    fn inline(&self) -> Option<&bytes::Bytes> {
        match &self.staged {
            Staged::Inline(inline) => Some(&inline.bytes),
            _ => None,
        }
    }

    /// Waits until its bytes are durable where they are staged: on the
    /// disk, each file is written and synced on the blocking pool from the
    /// moment it is received, so the files of a request are synced
    /// together, while the next ones arrive.
    pub async fn settle(&mut self) -> io::Result<()> {
        match &mut self.staged {
            Staged::Disk(staged) => staged.settle().await,
            Staged::Bucket(_) | Staged::Inline(_) => Ok(()),
        }
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
        // A content kept in the database has nothing to move.
        match self {
            Placing::Disk(placing) => {
                let files = files
                    .into_iter()
                    .filter_map(|file| match file.staged {
                        Staged::Disk(staged) => Some((file.hash, staged)),
                        Staged::Bucket(_) => unreachable!("staged by another storage"),
                        Staged::Inline(_) => None,
                    })
                    .collect();
                placing.place_all(files).await
            }
            Placing::Bucket(bucket) => {
                let files = files
                    .into_iter()
                    .filter_map(|file| match file.staged {
                        Staged::Bucket(staged) => Some((file.hash, staged)),
                        Staged::Disk(_) => unreachable!("staged by another storage"),
                        Staged::Inline(_) => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn staged_files(root: &std::path::Path) -> usize {
        std::fs::read_dir(root.join("staging")).unwrap().count()
    }

    async fn staged(storage: &Storage, size: u64) -> StagedFile {
        let mut staging = storage.stage();
        staging.write(&vec![7; size as usize]).await.unwrap();
        let mut file = staging.finish().await.unwrap();
        file.settle().await.unwrap();
        file
    }

    #[tokio::test]
    async fn small_contents_are_kept_for_the_database_while_the_budget_has_room() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::Disk(Disk::open(dir.path()).await.unwrap());

        let small = staged(&storage, INLINE_MAX).await;
        assert_eq!(
            small.inline_content(),
            Some(&vec![7; INLINE_MAX as usize][..])
        );
        assert_eq!(staged_files(dir.path()), 0, "nothing of it on the disk");
        let large = staged(&storage, INLINE_MAX + 1).await;
        assert!(large.inline_content().is_none());
        assert_eq!(staged_files(dir.path()), 1);
        drop((small, large));

        // With the budget taken, a small content goes to storage too.
        let all = INLINE_HELD
            .acquire_many(INLINE_BUDGET as u32)
            .await
            .unwrap();
        let small = staged(&storage, 10).await;
        assert!(small.inline_content().is_none());
        assert_eq!(staged_files(dir.path()), 1);
        drop((small, all));
        assert!(staged(&storage, 10).await.inline_content().is_some());
        assert_eq!(staged_files(dir.path()), 0);
    }
}
