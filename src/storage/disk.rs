//! Contents on the local disk, under `UPLOAD_FOLDER`.
//!
//! Layout: `staging/` holds uploads in progress, `objects/ab/abcdef…` the
//! stored contents, named by their hash.
//!
//! An upload's bytes gather in a buffer of [`WRITE_BUFFER`]; a file that
//! fits is written with one call when it ends, a larger one streams to its
//! staging file through that buffer, and asks the disk every
//! [`WRITEBACK_EVERY`] to start writing, so that the final sync has little
//! left. Durability is grouped: each file is written and synced on the
//! blocking pool as soon as its upload ends ([`Staging::finish`]), so the
//! files of a request are synced at once and the filesystem commits their
//! journal entries together; [`Placing`] renames contents into `objects/` (same
//! filesystem, so each rename is atomic) and then syncs each folder it
//! touched once. A [`Staged`] file that is dropped without being placed
//! deletes itself, so an aborted request leaves no bytes behind.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

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
pub struct Disk {
    root: PathBuf,
    /// This process's staging files, which [`Disk::keep_alive`] keeps from
    /// looking abandoned while their requests go on.
    live: Live,
}

/// The staging files of this process that still exist.
type Live = Arc<std::sync::Mutex<BTreeSet<PathBuf>>>;

impl Disk {
    /// Creates the layout under `root` if needed.
    pub async fn open(root: &Path) -> io::Result<Disk> {
        // Owner-only from the top: no other account reaches a stored file.
        let folders = [root.to_owned(), root.join("staging"), root.join("objects")];
        tokio::task::spawn_blocking(move || {
            folders
                .iter()
                .try_for_each(|folder| crate::owner_only::create_folder(folder))
        })
        .await
        .map_err(io::Error::other)??;
        Ok(Disk {
            root: root.to_owned(),
            live: Live::default(),
        })
    }

    /// A new staging file's path; nothing is made yet.
    fn staging_path(&self) -> PathBuf {
        let name: [u8; 16] = rand::random();
        self.root
            .join("staging")
            .join(format!("{}.part", hex::encode(name)))
    }

    /// Starts receiving a new upload; its staging file is made when the
    /// first buffer is full or the upload ends.
    pub fn stage(&self) -> Staging {
        Staging {
            live: Arc::clone(&self.live),
            path: self.staging_path(),
            head: Vec::new(),
            stream: None,
            written: 0,
            written_back: 0,
            writing_back: None,
        }
    }

    /// Writes `bytes` to a new staging file that needs no sync: a copy kept
    /// only until it is sent elsewhere (object storage's small files).
    pub async fn spill(&self, bytes: Vec<u8>) -> io::Result<Staged> {
        let (_, guard) = create(self.staging_path(), bytes, Arc::clone(&self.live)).await?;
        Ok(Staged {
            state: State::Durable(guard),
        })
    }

    pub fn path_of(&self, hash: &ContentHash) -> PathBuf {
        self.root.join(super::relative_path(hash))
    }

    /// Starts moving staged files into `objects/`.
    pub fn placing(&self) -> Placing<'_> {
        Placing {
            disk: self,
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

    /// Marks this process's staging files as modified now: a file that is
    /// complete and waits for the rest of its request (hours, for a large
    /// one after it) is not taken for a dead process's. Called every few
    /// minutes; a file gone meanwhile is no error.
    pub async fn keep_alive(&self) -> io::Result<usize> {
        let paths: Vec<PathBuf> = self
            .live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .cloned()
            .collect();
        tokio::task::spawn_blocking(move || {
            let now = SystemTime::now();
            let touched = paths
                .iter()
                .filter(|path| {
                    std::fs::File::options()
                        .write(true)
                        .open(path)
                        .and_then(|file| file.set_modified(now))
                        .is_ok()
                })
                .count();
            Ok(touched)
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Deletes staged files untouched for `idle`: uploads whose process died.
    /// A live upload writes continuously, and [`Disk::keep_alive`] touches
    /// its files that wait, so they are never that old.
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

/// An upload being received: bytes go to a buffer; once they outgrow it, to
/// the staging file through it.
pub struct Staging {
    live: Live,
    path: PathBuf,
    /// The bytes so far, while they fit in one buffer.
    head: Vec<u8>,
    /// The staging file, once they did not.
    stream: Option<Stream>,
    written: u64,
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
async fn create(
    path: PathBuf,
    bytes: Vec<u8>,
    live: Live,
) -> io::Result<(std::fs::File, TempPath)> {
    tokio::task::spawn_blocking(move || create_blocking(path, bytes, live))
        .await
        .map_err(io::Error::other)?
}

/// [`create`], on the calling thread.
fn create_blocking(
    path: PathBuf,
    bytes: Vec<u8>,
    live: Live,
) -> io::Result<(std::fs::File, TempPath)> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(crate::owner_only::FILE_MODE)
        .open(&path)?;
    let guard = TempPath::new(path, live);
    file.write_all(&bytes)?;
    Ok((file, guard))
}

impl Staging {
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.written += chunk.len() as u64;
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None if self.head.len() + chunk.len() <= WRITE_BUFFER => {
                self.head.extend_from_slice(chunk);
                return Ok(());
            }
            None => {
                let head = std::mem::take(&mut self.head);
                let (file, guard) = create(self.path.clone(), head, Arc::clone(&self.live)).await?;
                let sync = Arc::new(file.try_clone()?);
                self.stream.insert(Stream {
                    file: BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(file)),
                    sync,
                    guard,
                })
            }
        };
        stream.file.write_all(chunk).await?;
        if self.written - self.written_back >= WRITEBACK_EVERY
            && self
                .writing_back
                .as_ref()
                .is_none_or(|task| task.is_finished())
        {
            // The handles share one open file, so a write error is reported
            // to whichever syncs first: it must not be dropped.
            let file = Arc::clone(&stream.sync);
            self.settle_writeback().await?;
            self.written_back = self.written;
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

    /// The whole content, when it has stayed in the buffer: nothing of it
    /// was written out, and nothing is left to remove.
    pub fn take_small(&mut self) -> Option<Vec<u8>> {
        match self.stream {
            None => Some(std::mem::take(&mut self.head)),
            Some(_) => None,
        }
    }

    /// Ends the upload and starts making it durable in the background: a
    /// file that fit in the buffer is written with one call and synced, a
    /// larger one flushed and synced, on the blocking pool while the caller
    /// goes on ([`Staged::settle`] waits for it). So the files of one
    /// request reach the disk together, and the disk commits them together.
    pub async fn finish(mut self) -> io::Result<Staged> {
        let settling = match self.stream.take() {
            Some(mut stream) => {
                stream.file.flush().await?;
                self.settle_writeback().await?;
                let Stream { sync, guard, .. } = stream;
                tokio::task::spawn_blocking(move || {
                    sync.sync_data()?;
                    Ok(guard)
                })
            }
            None => {
                let (path, bytes) = (
                    std::mem::take(&mut self.path),
                    std::mem::take(&mut self.head),
                );
                let live = Arc::clone(&self.live);
                tokio::task::spawn_blocking(move || {
                    let (file, guard) = create_blocking(path, bytes, live)?;
                    file.sync_data()?;
                    Ok(guard)
                })
            }
        };
        Ok(Staged {
            state: State::Settling(settling),
        })
    }
}

/// A received upload's staging file, waiting to be placed.
pub struct Staged {
    state: State,
}

enum State {
    /// Being written or synced on the blocking pool. Its guard comes back
    /// once the file is durable; should the request be dropped first, the
    /// pool drops the guard when the task ends, which deletes the file.
    Settling(JoinHandle<io::Result<TempPath>>),
    /// On the disk, durable (or a copy that needs no sync).
    Durable(TempPath),
    /// Its settling failed: nothing is left of it.
    Failed,
}

impl Staged {
    #[cfg(test)]
    pub fn is_durable(&self) -> bool {
        matches!(self.state, State::Durable(_))
    }

    /// Waits until the file is durable; its error, if it could not be made so.
    pub async fn settle(&mut self) -> io::Result<()> {
        if let State::Settling(task) = &mut self.state {
            match task.await.map_err(io::Error::other).and_then(|done| done) {
                Ok(guard) => self.state = State::Durable(guard),
                Err(error) => {
                    self.state = State::Failed;
                    return Err(error);
                }
            }
        }
        match self.state {
            State::Failed => Err(io::Error::other("the staged file could not be written")),
            _ => Ok(()),
        }
    }

    /// Where it lies in the staging folder, once settled.
    pub fn path(&self) -> &Path {
        match &self.state {
            State::Durable(guard) => guard.path(),
            _ => panic!("a staged file has a path once settled"),
        }
    }
}

/// Staged files moved to their object paths; [`Placing::sync`] makes the
/// moves durable, one sync per folder.
pub struct Placing<'a> {
    disk: &'a Disk,
    folders: BTreeSet<PathBuf>,
}

impl Placing<'_> {
    /// Moves settled staged files to their object paths, with one hop to
    /// the blocking pool for all of them. A content whose object already
    /// exists is not moved (its staged copy is deleted). Stops at the first
    /// error; what was moved until then is in [`super::Moved::placed`] either way.
    pub async fn place_all(&mut self, files: Vec<(ContentHash, Staged)>) -> super::Moved {
        let targets: Vec<PathBuf> = files
            .iter()
            .map(|(hash, _)| self.disk.path_of(hash))
            .collect();
        for target in &targets {
            // An object that was already there may have been placed by a
            // process that died before syncing its folder: sync it either way.
            let folder = target.parent().expect("object paths have a parent");
            self.folders.insert(folder.to_owned());
        }
        let moving = tokio::task::spawn_blocking(move || {
            let mut placed = Vec::new();
            for ((hash, file), target) in files.into_iter().zip(targets) {
                match move_into_place(file, &target) {
                    Ok(true) => placed.push(hash),
                    Ok(false) => {}
                    Err(error) => {
                        return super::Moved {
                            placed,
                            outcome: Err(error),
                        };
                    }
                }
            }
            super::Moved {
                placed,
                outcome: Ok(()),
            }
        });
        moving.await.unwrap_or_else(|error| super::Moved {
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
        super::all_of(syncs).await
    }
}

/// Renames one staged file to `target`, unless an object is there already;
/// `true` if it moved. Blocking.
fn move_into_place(file: Staged, target: &Path) -> io::Result<bool> {
    let State::Durable(mut guard) = file.state else {
        return Err(io::Error::other("a staged file is placed once durable"));
    };
    if target.try_exists()? {
        return Ok(false);
    }
    // The folder is made the first time one of its contents arrives.
    if let Err(error) = std::fs::rename(guard.path(), target) {
        if error.kind() != io::ErrorKind::NotFound {
            return Err(error);
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(crate::owner_only::FOLDER_MODE)
            .create(target.parent().expect("object paths have a parent"))?;
        std::fs::rename(guard.path(), target)?;
    }
    guard.forget();
    Ok(true)
}

/// Deletes the file at its path when dropped, unless it was placed; while
/// it exists it is one of this process's live staging files.
struct TempPath {
    path: Option<PathBuf>,
    live: Live,
}

impl TempPath {
    fn new(path: PathBuf, live: Live) -> TempPath {
        live.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(path.clone());
        TempPath {
            path: Some(path),
            live,
        }
    }

    fn path(&self) -> &Path {
        self.path
            .as_deref()
            .expect("a staged file has its path until it is placed")
    }

    /// The file was moved away: nothing to delete, nothing live.
    fn forget(&mut self) {
        if let Some(path) = self.path.take() {
            self.live
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .remove(&path);
        }
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(path) = self.path.clone() {
            let _ = std::fs::remove_file(&path);
            self.forget();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{StagedFile, Storage};

    async fn open(root: &Path) -> (Storage, Disk) {
        let disk = Disk::open(root).await.unwrap();
        (Storage::Disk(disk.clone()), disk)
    }

    async fn staged(storage: &Storage, bytes: &[u8]) -> StagedFile {
        let mut staging = storage.stage().bound_for_storage();
        staging.write(bytes).await.unwrap();
        let mut file = staging.finish().await.unwrap();
        file.settle().await.unwrap();
        file
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
        let (storage, disk) = open(dir.path()).await;
        let file = staged(&storage, b"hello").await;
        let hash = file.hash.clone();
        assert_eq!(
            hash.as_str(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert!(place(&storage, file).await);
        assert_eq!(std::fs::read(disk.path_of(&hash)).unwrap(), b"hello");
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
        let (_, disk) = open(dir.path()).await;
        let block: Vec<u8> = (0..WRITE_BUFFER).map(|i| (i % 251) as u8).collect();
        let blocks = (2 * WRITEBACK_EVERY) as usize / WRITE_BUFFER + 1;
        let mut staging = disk.stage();
        let mut began = Vec::new();
        for _ in 0..blocks {
            staging.write(&block).await.unwrap();
            began.push(staging.written_back);
        }
        began.dedup();
        // The first starts on time; a later one waits for the one before.
        assert_eq!(began[..2], [0, WRITEBACK_EVERY], "{began:?}");
        let mut staged = staging.finish().await.unwrap();
        staged.settle().await.unwrap();
        let written = std::fs::read(staged.path()).unwrap();
        assert_eq!(written.len(), blocks * WRITE_BUFFER);
        assert!(written.chunks(WRITE_BUFFER).all(|chunk| chunk == block));
    }

    #[tokio::test]
    async fn staged_files_of_dead_processes_are_swept_but_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, _) = open(dir.path()).await;
        let mut live = storage.stage().bound_for_storage();
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
    async fn staged_files_waiting_for_their_request_are_kept_alive_and_not_swept() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, disk) = open(dir.path()).await;
        let waiting = staged(&storage, b"done, waiting for the next file").await;
        let dead = dir.path().join("staging/dead.part");
        std::fs::write(&dead, b"left by a crash").unwrap();
        let hours_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
        for path in [dead.clone(), staging_files(dir.path())[0].clone()] {
            let file = std::fs::File::options().write(true).open(path).unwrap();
            file.set_modified(hours_ago).unwrap();
        }
        assert_eq!(
            disk.keep_alive().await.unwrap(),
            1,
            "only this process's file"
        );
        assert_eq!(
            disk.sweep_staging(Duration::from_secs(3600)).await.unwrap(),
            1
        );
        assert!(!dead.exists());
        assert!(
            place(&storage, waiting).await,
            "the waiting file is still there to place"
        );
        assert_eq!(
            disk.keep_alive().await.unwrap(),
            0,
            "a placed file is no longer live"
        );
    }

    fn staging_files(root: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(root.join("staging"))
            .unwrap()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| !path.ends_with("dead.part"))
            .collect()
    }

    #[tokio::test]
    async fn abandoned_uploads_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, _) = open(dir.path()).await;
        let mut staging = storage.stage().bound_for_storage();
        staging.write(b"half").await.unwrap();
        drop(staging);
        drop(staged(&storage, b"whole").await);
        assert!(staging_is_empty(dir.path()));

        // Abandoned while being written and synced in the background: the
        // file goes when its task ends.
        for bytes in [b"small".to_vec(), vec![9; WRITE_BUFFER + 10]] {
            let mut staging = storage.stage().bound_for_storage();
            staging.write(&bytes).await.unwrap();
            drop(staging.finish().await.unwrap());
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !staging_is_empty(dir.path()) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the abandoned file stayed"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }

        // Abandoned after outgrowing the buffer, with a staging file on disk.
        let mut staging = storage.stage().bound_for_storage();
        staging.write(&vec![7; WRITE_BUFFER + 10]).await.unwrap();
        assert!(!staging_is_empty(dir.path()), "the file was made");
        drop(staging);
        assert!(staging_is_empty(dir.path()));
    }

    #[tokio::test]
    async fn staged_files_are_synced_together_and_placed_in_shared_folders() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, disk) = open(dir.path()).await;
        let mut files = Vec::new();
        for n in 0..40u32 {
            files.push(staged(&storage, &n.to_be_bytes()).await);
        }
        for file in &mut files {
            file.settle().await.unwrap();
        }
        assert!(files.iter().all(StagedFile::is_durable));
        let hashes: Vec<ContentHash> = files.iter().map(|f| f.hash.clone()).collect();
        let files = files
            .into_iter()
            .map(|file| match file.staged {
                crate::storage::Staged::Disk(staged) => (file.hash, staged),
                _ => unreachable!("staged on the disk"),
            })
            .collect();
        let mut placing = disk.placing();
        let moved = placing.place_all(files).await;
        moved.outcome.unwrap();
        assert_eq!(moved.placed, hashes);
        let folders = placing.folders.len();
        assert!(folders <= 40 && folders > 1, "{folders}");
        placing.sync().await.unwrap();
        for (n, hash) in hashes.iter().enumerate() {
            let bytes = std::fs::read(disk.path_of(hash)).unwrap();
            assert_eq!(bytes, (n as u32).to_be_bytes());
        }
        assert!(staging_is_empty(dir.path()));
    }
}
