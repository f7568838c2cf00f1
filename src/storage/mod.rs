//! File contents on the local disk, content-addressed by SHA-256.
//!
//! Layout under `UPLOAD_FOLDER`: `staging/` holds uploads in progress,
//! `objects/ab/abcdef…` the stored contents, named by their hash.
//!
//! An upload is written and hashed in one pass. Its bytes gather in a
//! buffer of [`WRITE_BUFFER`]; a file that fits is written with one call when
//! it ends, a larger one streams to its staging file through that buffer,
//! and asks the disk every [`WRITEBACK_EVERY`] to start writing, so that the
//! final sync has little left. Durability is grouped:
//! [`sync_staged`] syncs many staged files at once (the filesystem commits
//! their journal entries together), and [`Placing`] renames contents into
//! `objects/` (same filesystem, so each rename is atomic) and then syncs each
//! folder it touched once. A [`StagedFile`] that is dropped without being
//! placed deletes itself, so an aborted request leaves no bytes behind.
//!
//! Which objects may exist is decided by the `blobs` table ([`crate::vault`]):
//! this module only moves bytes.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::task::JoinHandle;

use crate::domain::ContentHash;

/// Bytes gathered before they reach the kernel; a file this small is written
/// with one call.
const WRITE_BUFFER: usize = 1 << 20;
/// After this many bytes, an upload asks the disk to start writing what it
/// has so far (a `sync_data` on the blocking pool, not waited for), so that
/// the disk works while the rest arrives instead of all at the final sync.
const WRITEBACK_EVERY: u64 = 64 << 20;

#[derive(Clone, Debug)]
pub struct Storage {
    root: PathBuf,
}

impl Storage {
    /// Creates the layout under `root` if needed.
    pub async fn open(root: &Path) -> io::Result<Storage> {
        // Owner-only from the top: no other account reaches a stored file.
        let folders = [root.to_owned(), root.join("staging"), root.join("objects")];
        tokio::task::spawn_blocking(move || {
            folders
                .iter()
                .try_for_each(|folder| crate::owner_only::create_folder(folder))
        })
        .await
        .map_err(io::Error::other)??;
        Ok(Storage {
            root: root.to_owned(),
        })
    }

    /// Starts receiving a new upload; its staging file is made when the
    /// first buffer is full or the upload ends.
    pub fn stage(&self) -> Staging {
        let name: [u8; 16] = rand::random();
        let path = self
            .root
            .join("staging")
            .join(format!("{}.part", hex::encode(name)));
        Staging {
            path,
            head: Vec::new(),
            stream: None,
            hasher: Sha256::new(),
            size: 0,
            written_back: 0,
            writing_back: None,
        }
    }

    /// Where an object lies, relative to the storage root (the `file_path` column).
    pub fn relative_path(hash: &ContentHash) -> String {
        format!("objects/{}/{}", &hash.as_str()[..2], hash.as_str())
    }

    pub fn path_of(&self, hash: &ContentHash) -> PathBuf {
        self.root.join(Self::relative_path(hash))
    }

    /// Starts moving staged files into `objects/`.
    pub fn placing(&self) -> Placing<'_> {
        Placing {
            storage: self,
            folders: BTreeSet::new(),
        }
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

/// An upload being received: bytes go to the hash and to a buffer; once
/// they outgrow it, to the staging file through it.
pub struct Staging {
    path: PathBuf,
    /// The bytes so far, while they fit in one buffer.
    head: Vec<u8>,
    /// The staging file, once they did not.
    stream: Option<Stream>,
    hasher: Sha256,
    size: u64,
    /// Bytes received when the last writeback began.
    written_back: u64,
    writing_back: Option<JoinHandle<io::Result<()>>>,
}

/// A staging file being written.
struct Stream {
    file: BufWriter<tokio::fs::File>,
    /// The same file, for early writeback and the final sync.
    sync: Arc<std::fs::File>,
    guard: TempPath,
}

/// Makes the staging file at `path` with `bytes` in it, on the blocking
/// pool. The guard is made with the file, on that thread, so that an upload
/// abandoned meanwhile still has the file deleted when the result is dropped.
async fn create(path: PathBuf, bytes: Vec<u8>) -> io::Result<(std::fs::File, TempPath)> {
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(crate::owner_only::FILE_MODE)
            .open(&path)?;
        let guard = TempPath(Some(path));
        file.write_all(&bytes)?;
        Ok((file, guard))
    })
    .await
    .map_err(io::Error::other)?
}

impl Staging {
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None if self.head.len() + chunk.len() <= WRITE_BUFFER => {
                self.head.extend_from_slice(chunk);
                return Ok(());
            }
            None => {
                let head = std::mem::take(&mut self.head);
                let (file, guard) = create(self.path.clone(), head).await?;
                let sync = Arc::new(file.try_clone()?);
                self.stream.insert(Stream {
                    file: BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(file)),
                    sync,
                    guard,
                })
            }
        };
        stream.file.write_all(chunk).await?;
        if self.size - self.written_back >= WRITEBACK_EVERY
            && self
                .writing_back
                .as_ref()
                .is_none_or(|task| task.is_finished())
        {
            // The handles share one open file, so a write error is reported
            // to whichever syncs first: it must not be dropped.
            let file = Arc::clone(&stream.sync);
            self.settle_writeback().await?;
            self.written_back = self.size;
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

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Writes what is left: a file that fit in the buffer, with one call.
    /// The bytes are then the kernel's, not yet durable: [`sync_staged`]
    /// makes them so.
    pub async fn finish(mut self) -> io::Result<StagedFile> {
        let (file, guard) = match self.stream.take() {
            Some(mut stream) => {
                stream.file.flush().await?;
                self.settle_writeback().await?;
                (stream.sync, stream.guard)
            }
            None => {
                let head = std::mem::take(&mut self.head);
                let (file, guard) = create(std::mem::take(&mut self.path), head).await?;
                (Arc::new(file), guard)
            }
        };
        let digest: [u8; 32] = self.hasher.finalize().into();
        Ok(StagedFile {
            hash: ContentHash::from_digest(&digest),
            size: self.size,
            unsynced: Some(file),
            guard,
        })
    }
}

/// A received upload waiting to be placed.
pub struct StagedFile {
    pub hash: ContentHash,
    pub size: u64,
    /// Its open file until [`sync_staged`] has made it durable.
    unsynced: Option<Arc<std::fs::File>>,
    guard: TempPath,
}

impl StagedFile {
    /// Whether its bytes have been synced to disk.
    pub fn is_durable(&self) -> bool {
        self.unsynced.is_none()
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
        if let Some(handle) = file.unsynced.take() {
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

/// Staged files moved to their object paths; [`Placing::sync`] makes the
/// moves durable, one sync per folder.
pub struct Placing<'a> {
    storage: &'a Storage,
    folders: BTreeSet<PathBuf>,
}

impl Placing<'_> {
    /// Moves durable staged files to their object paths, with one hop to
    /// the blocking pool for all of them. A content whose object already
    /// exists is not moved (its staged copy is deleted). The caller must hold
    /// every content's `blobs` row lock. Stops at the first error; what was
    /// moved until then is in [`Moved::placed`] either way.
    pub async fn place_all(&mut self, files: Vec<StagedFile>) -> Moved {
        let targets: Vec<PathBuf> = files
            .iter()
            .map(|f| self.storage.path_of(&f.hash))
            .collect();
        for target in &targets {
            // An object that was already there may have been placed by a
            // process that died before syncing its folder: sync it either way.
            let folder = target.parent().expect("object paths have a parent");
            self.folders.insert(folder.to_owned());
        }
        let moving = tokio::task::spawn_blocking(move || {
            let mut placed = Vec::new();
            for (mut file, target) in files.into_iter().zip(targets) {
                let moved = move_into_place(&mut file, &target);
                match moved {
                    Ok(true) => placed.push(file.hash.clone()),
                    Ok(false) => {}
                    Err(error) => {
                        return Moved {
                            placed,
                            outcome: Err(error),
                        };
                    }
                }
            }
            Moved {
                placed,
                outcome: Ok(()),
            }
        });
        moving.await.unwrap_or_else(|error| Moved {
            placed: Vec::new(),
            outcome: Err(io::Error::other(error)),
        })
    }

    /// Syncs every folder an object was moved into, all at once.
    pub async fn sync(self) -> io::Result<()> {
        let mut syncs = tokio::task::JoinSet::new();
        for folder in self.folders {
            syncs.spawn_blocking(move || std::fs::File::open(folder)?.sync_all());
        }
        all_of(syncs).await
    }
}

/// What [`Placing::place_all`] did: the contents it moved into place, and
/// whether it got through all of them.
pub struct Moved {
    pub placed: Vec<ContentHash>,
    pub outcome: io::Result<()>,
}

/// Renames one staged file to `target`, unless an object is there already;
/// `true` if it moved. Blocking.
fn move_into_place(file: &mut StagedFile, target: &Path) -> io::Result<bool> {
    if !file.is_durable() {
        let handle = file
            .unsynced
            .take()
            .expect("an unsynced file has its handle");
        handle.sync_data()?;
    }
    if target.try_exists()? {
        return Ok(false);
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(crate::owner_only::FOLDER_MODE)
        .create(target.parent().expect("object paths have a parent"))?;
    std::fs::rename(file.guard.path(), target)?;
    file.guard.0 = None;
    Ok(true)
}

/// Deletes the file at its path when dropped, unless the path was taken.
struct TempPath(Option<PathBuf>);

impl TempPath {
    fn path(&self) -> &Path {
        self.0
            .as_deref()
            .expect("a staged file has its path until it is placed")
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
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
        let mut staging = storage.stage();
        staging.write(bytes).await.unwrap();
        staging.finish().await.unwrap()
    }

    async fn place(storage: &Storage, file: StagedFile) -> bool {
        let mut placing = storage.placing();
        let moved = placing.place_all(vec![file]).await;
        moved.outcome.unwrap();
        placing.sync().await.unwrap();
        moved.placed.len() == 1
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
        assert!(place(&storage, file).await);
        assert_eq!(std::fs::read(storage.path_of(&hash)).unwrap(), b"hello");
        assert!(staging_is_empty(dir.path()));

        let again = staged(&storage, b"hello").await;
        assert!(
            !place(&storage, again).await,
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
        let mut staging = storage.stage();
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
        let mut live = storage.stage();
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
        let mut staging = storage.stage();
        staging.write(b"half").await.unwrap();
        drop(staging);
        drop(staged(&storage, b"whole").await);
        assert!(staging_is_empty(dir.path()));

        // Abandoned after outgrowing the buffer, with a staging file on disk.
        let mut staging = storage.stage();
        staging.write(&vec![7; WRITE_BUFFER + 10]).await.unwrap();
        assert!(!staging_is_empty(dir.path()), "the file was made");
        drop(staging);
        assert!(staging_is_empty(dir.path()));
    }

    #[tokio::test]
    async fn staged_files_are_synced_together_and_placed_in_shared_folders() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).await.unwrap();
        let mut files = Vec::new();
        for n in 0..40u32 {
            files.push(staged(&storage, &n.to_be_bytes()).await);
        }
        assert!(files.iter().all(|f| !f.is_durable()));
        sync_staged(files.iter_mut()).await.unwrap();
        assert!(files.iter().all(StagedFile::is_durable));
        let hashes: Vec<ContentHash> = files.iter().map(|f| f.hash.clone()).collect();
        let mut placing = storage.placing();
        let moved = placing.place_all(files).await;
        moved.outcome.unwrap();
        assert_eq!(moved.placed, hashes);
        let folders = placing.folders.len();
        assert!(folders <= 40 && folders > 1, "{folders}");
        placing.sync().await.unwrap();
        for (n, hash) in hashes.iter().enumerate() {
            let bytes = std::fs::read(storage.path_of(hash)).unwrap();
            assert_eq!(bytes, (n as u32).to_be_bytes());
        }
        assert!(staging_is_empty(dir.path()));
    }
}
