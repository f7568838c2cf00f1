//! File contents on the local disk, content-addressed by SHA-256.
//!
//! Layout under `UPLOAD_FOLDER`: `staging/` holds uploads in progress,
//! `objects/ab/abcdef…` the stored contents, named by their hash. A staged
//! file is written and hashed in one pass (the disk is asked to start
//! writing every 64 MiB, so the final fsync has little left), fsynced, then renamed into
//! `objects/` (same filesystem, so the rename is atomic) and the directory
//! fsynced. A [`StagedFile`] that is dropped without being placed deletes
//! itself, so an aborted request leaves no bytes behind.
//!
//! Which objects may exist is decided by the `blobs` table ([`crate::vault`]):
//! this module only moves bytes.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::domain::ContentHash;

/// Writes are gathered into blocks of this size before they reach the kernel.
const WRITE_BUFFER: usize = 1 << 20;
/// After this many bytes, an upload asks the disk to start writing what it
/// has so far (a `sync_data` on the blocking pool, not waited for), so that
/// the disk works while the rest arrives instead of all at the final fsync.
const WRITEBACK_EVERY: u64 = 64 << 20;

#[derive(Clone, Debug)]
pub struct Storage {
    root: PathBuf,
}

impl Storage {
    /// Creates the layout under `root` if needed.
    pub async fn open(root: &Path) -> io::Result<Storage> {
        tokio::fs::create_dir_all(root.join("staging")).await?;
        tokio::fs::create_dir_all(root.join("objects")).await?;
        Ok(Storage {
            root: root.to_owned(),
        })
    }

    /// Starts writing a new upload.
    pub async fn stage(&self) -> io::Result<Staging> {
        let name: [u8; 16] = rand::random();
        let path = self
            .root
            .join("staging")
            .join(format!("{}.part", hex::encode(name)));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        let writeback = Arc::new(file.try_clone().await?.into_std().await);
        Ok(Staging {
            file: BufWriter::with_capacity(WRITE_BUFFER, file),
            guard: TempPath(Some(path)),
            hasher: Sha256::new(),
            size: 0,
            writeback,
            written_back: 0,
            writing_back: None,
        })
    }

    /// Where an object lies, relative to the storage root (the `file_path` column).
    pub fn relative_path(hash: &ContentHash) -> String {
        format!("objects/{}/{}", &hash.as_str()[..2], hash.as_str())
    }

    pub fn path_of(&self, hash: &ContentHash) -> PathBuf {
        self.root.join(Self::relative_path(hash))
    }

    /// Moves a staged file to its object path. Returns `true` if it was
    /// placed, `false` if the object already existed (the staged copy is then
    /// deleted). The caller must hold the content's `blobs` row lock.
    pub async fn place(&self, mut staged: StagedFile) -> io::Result<bool> {
        let target = self.path_of(&staged.hash);
        if tokio::fs::try_exists(&target).await? {
            return Ok(false);
        }
        let directory = target
            .parent()
            .expect("object paths have a parent")
            .to_owned();
        tokio::fs::create_dir_all(&directory).await?;
        let source = staged.guard.0.take().expect("a staged file has a path");
        if let Err(error) = tokio::fs::rename(&source, &target).await {
            staged.guard.0 = Some(source);
            return Err(error);
        }
        sync_directory(directory).await?;
        Ok(true)
    }

    /// Deletes an object; one that is already gone is not an error.
    pub async fn remove(&self, hash: &ContentHash) -> io::Result<()> {
        match tokio::fs::remove_file(self.path_of(hash)).await {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    /// Objects in one of the 256 `objects/xx` folders last modified before
    /// `min_age` ago. Callers go folder by folder, so memory stays bounded.
    pub async fn old_objects_in(
        &self,
        folder: u8,
        min_age: Duration,
    ) -> io::Result<Vec<ContentHash>> {
        let dir = self.root.join("objects").join(format!("{folder:02x}"));
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let cutoff = SystemTime::now() - min_age;
        let mut found = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            let old = entry.metadata().await?.modified()? <= cutoff;
            if let Some(hash) = entry
                .file_name()
                .to_str()
                .and_then(ContentHash::parse)
                .filter(|_| old)
            {
                found.push(hash);
            }
        }
        Ok(found)
    }

    /// Deletes staged files untouched for `idle`: uploads whose process died.
    /// A live upload writes continuously, so its file is never that old.
    pub async fn sweep_staging(&self, idle: Duration) -> io::Result<usize> {
        let mut entries = tokio::fs::read_dir(self.root.join("staging")).await?;
        let cutoff = SystemTime::now() - idle;
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await? {
            let modified = entry.metadata().await?.modified()?;
            if modified < cutoff && tokio::fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// An upload being written: bytes go to disk and into the hash together.
pub struct Staging {
    file: BufWriter<tokio::fs::File>,
    guard: TempPath,
    hasher: Sha256,
    size: u64,
    /// The same file, for early writeback.
    writeback: Arc<std::fs::File>,
    /// Bytes received when the last writeback began.
    written_back: u64,
    writing_back: Option<tokio::task::JoinHandle<io::Result<()>>>,
}

impl Staging {
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        self.size += chunk.len() as u64;
        if self.size - self.written_back >= WRITEBACK_EVERY
            && self
                .writing_back
                .as_ref()
                .is_none_or(|task| task.is_finished())
        {
            // The two handles share one open file, so a write error is
            // reported to whichever syncs first: it must not be dropped.
            self.settle_writeback().await?;
            self.written_back = self.size;
            let file = Arc::clone(&self.writeback);
            self.writing_back = Some(tokio::task::spawn_blocking(move || file.sync_data()));
        }
        Ok(())
    }

    /// Waits for the early writeback under way, and reports its error.
    async fn settle_writeback(&mut self) -> io::Result<()> {
        match self.writing_back.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }

    /// The SHA-256 state over the bytes so far, for a signature that goes on
    /// from the same data ([`crate::proofs::openpgp::StreamingSignature::from_data_hash`]).
    pub fn hash_state(&self) -> Sha256 {
        self.hasher.clone()
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Flushes and fsyncs: after this the bytes survive a crash.
    pub async fn finish(mut self) -> io::Result<StagedFile> {
        self.file.flush().await?;
        self.settle_writeback().await?;
        self.file.get_mut().sync_all().await?;
        let digest: [u8; 32] = self.hasher.finalize().into();
        Ok(StagedFile {
            hash: ContentHash::from_digest(&digest),
            size: self.size,
            guard: self.guard,
        })
    }
}

/// A complete, durable upload waiting to be placed.
pub struct StagedFile {
    pub hash: ContentHash,
    pub size: u64,
    guard: TempPath,
}

/// Deletes the file at its path when dropped, unless the path was taken.
struct TempPath(Option<PathBuf>);

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// fsync of a directory makes a rename in it durable.
async fn sync_directory(directory: PathBuf) -> io::Result<()> {
    tokio::task::spawn_blocking(move || std::fs::File::open(directory)?.sync_all())
        .await
        .map_err(io::Error::other)?
}

/// Whether an I/O error means the disk (or the user's disk quota) is full.
pub fn is_full(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn staged(storage: &Storage, bytes: &[u8]) -> StagedFile {
        let mut staging = storage.stage().await.unwrap();
        staging.write(bytes).await.unwrap();
        staging.finish().await.unwrap()
    }

    fn staging_is_empty(root: &Path) -> bool {
        std::fs::read_dir(root.join("staging"))
            .unwrap()
            .next()
            .is_none()
    }

    #[tokio::test]
    async fn content_is_hashed_while_written_and_placed_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).await.unwrap();
        let file = staged(&storage, b"hello").await;
        let hash = file.hash.clone();
        assert_eq!(
            hash.as_str(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert!(storage.place(file).await.unwrap());
        assert_eq!(std::fs::read(storage.path_of(&hash)).unwrap(), b"hello");
        assert!(staging_is_empty(dir.path()));

        let again = staged(&storage, b"hello").await;
        assert!(
            !storage.place(again).await.unwrap(),
            "identical content is stored once"
        );
        assert!(
            staging_is_empty(dir.path()),
            "the duplicate staged copy is gone"
        );
    }

    #[tokio::test]
    async fn large_uploads_are_written_back_early_and_stay_whole() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).await.unwrap();
        let block: Vec<u8> = (0..WRITE_BUFFER).map(|i| (i % 251) as u8).collect();
        let blocks = (2 * WRITEBACK_EVERY) as usize / WRITE_BUFFER + 1;
        let mut staging = storage.stage().await.unwrap();
        let mut expected = Sha256::new();
        let mut began = Vec::new();
        for _ in 0..blocks {
            staging.write(&block).await.unwrap();
            expected.update(&block);
            began.push(staging.written_back);
        }
        began.dedup();
        // The first starts on time; a later one waits for the one before.
        assert_eq!(began[..2], [0, WRITEBACK_EVERY], "{began:?}");
        let file = staging.finish().await.unwrap();
        assert_eq!(file.hash.as_str(), hex::encode(expected.finalize()));
        assert_eq!(file.size, (blocks * WRITE_BUFFER) as u64);
    }

    #[tokio::test]
    async fn staged_files_of_dead_processes_are_swept_but_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).await.unwrap();
        let mut live = storage.stage().await.unwrap();
        live.write(b"in progress").await.unwrap();
        let dead = dir.path().join("staging/dead.part");
        std::fs::write(&dead, b"left by a crash").unwrap();
        let day_ago = SystemTime::now() - Duration::from_secs(24 * 3600);
        std::fs::File::options()
            .write(true)
            .open(&dead)
            .unwrap()
            .set_modified(day_ago)
            .unwrap();

        assert_eq!(
            storage
                .sweep_staging(Duration::from_secs(3600))
                .await
                .unwrap(),
            1
        );
        assert!(!dead.exists());
        live.write(b" still").await.unwrap();
        assert!(live.finish().await.is_ok(), "the live upload is untouched");
    }

    #[tokio::test]
    async fn abandoned_uploads_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).await.unwrap();
        let mut staging = storage.stage().await.unwrap();
        staging.write(b"half").await.unwrap();
        drop(staging);
        drop(staged(&storage, b"whole").await);
        assert!(staging_is_empty(dir.path()));
    }
}
