//! The vault: file rows and stored contents, kept consistent with each other.
//!
//! The invariant: a `files` row only ever points at content that is on disk.
//! - Storing: every staged content is synced to disk, then moved into place
//!   while its `blobs` row is locked, and the folders it went to are synced,
//!   inside the one transaction that also inserts the `files` rows.
//!   If anything fails, the objects this request placed are removed (still
//!   under the lock) and the transaction rolls back: all files or none.
//! - Deleting: the `files` row goes and the content's count drops in one
//!   transaction; the object is removed afterwards, in a second transaction
//!   that deletes the `blobs` row only if nothing uses it any more and unlinks
//!   while holding it. A crash in between leaves an unused row that
//!   [`collect_garbage`] finishes later.
//! - A crash between placing content and committing its rows leaves an
//!   object no row accounts for; [`collect_orphans`] removes it, again under
//!   the row lock, so it can never race an upload that is committing it.
//! - Small contents may have their rows written ahead of the transaction,
//!   counting no files ([`EarlyContents`]); until it commits they are
//!   garbage, and it writes again any that were collected meanwhile.

mod early;

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};

use crate::db;
use crate::db::files::{File, NewFile};
use crate::domain::{ContentHash, FileId, FileName};
use crate::proofs::tlog::{Hash, leaf_hash};
use crate::storage::{self, StagedFile, Storage};

pub use early::EarlyContents;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("the upload would exceed the user's quota")]
    QuotaExceeded,
    /// Another request with the same `Idempotency-Key` stored its files
    /// first (or stored them and they were deleted since).
    #[error("an upload with this idempotency key was stored already")]
    KeyUsed,
}

/// How long an `Idempotency-Key` names its upload: a retry within a day gets
/// the first answer.
pub const UPLOAD_KEY_LIFETIME: i64 = 24 * 60 * 60;

/// A client's `Idempotency-Key` for one upload: 1–255 visible ASCII
/// characters (a UUID, say), kept only as its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadKey {
    hash: String,
}

impl UploadKey {
    pub const MAX_LEN: usize = 255;

    /// `None` when the key is empty, too long or holds other characters.
    pub fn parse(raw: &[u8]) -> Option<UploadKey> {
        use sha2::{Digest, Sha256};
        let valid = (1..=Self::MAX_LEN).contains(&raw.len())
            && raw.iter().all(|b| (0x20..=0x7e).contains(b));
        valid.then(|| UploadKey {
            hash: hex::encode(Sha256::digest(raw)),
        })
    }

    pub fn hash(&self) -> &str {
        &self.hash
    }
}

/// The files a keyed upload stored, if it was stored within
/// [`UPLOAD_KEY_LIFETIME`] and they are still there.
pub async fn stored_with(
    db: &DatabaseConnection,
    user_id: i32,
    key: &UploadKey,
) -> Result<Option<Vec<File>>, DbErr> {
    let since = crate::time::unix_now() - UPLOAD_KEY_LIFETIME;
    let Some(ids) = db::upload_keys::find(db, user_id, key.hash(), since).await? else {
        return Ok(None);
    };
    // A file deleted since is left out of the answer.
    db::files::find_all(db, user_id, ids).await.map(Some)
}

/// What a file row records besides its content.
pub struct FileRecord {
    pub name: FileName,
    pub content_type: String,
    /// DER `TimeStampResp` over the content's SHA-256.
    pub timestamp_reply: Vec<u8>,
    /// ASCII-armored OpenPGP detached signature over the content.
    pub openpgp_signature: String,
    /// What the transparency log records for the stamp.
    pub log_entry: Vec<u8>,
}

/// A file ready to be committed to the vault: its row and its staged content.
pub struct Upload {
    pub record: FileRecord,
    pub staged: StagedFile,
}

/// One request's files, with those of their small contents already
/// written (which are undone if the files are not stored).
pub struct Uploads {
    pub files: Vec<Upload>,
    pub early: EarlyContents,
}

/// Stores all `uploads` for `user_id` at `uploaded_at`, or none of them.
///
/// The user's row is locked first. With a `quota`, their usage is then
/// counted inside the transaction, so two uploads at once cannot both pass
/// it. With a `key`, the record of it is written in the same transaction:
/// should another request with the key have stored its files first, this
/// one stores nothing and says [`VaultError::KeyUsed`].
pub async fn store(
    db: &DatabaseConnection,
    storage: &Storage,
    user_id: i32,
    uploads: Uploads,
    uploaded_at: chrono::NaiveDateTime,
    quota: Option<u64>,
    key: Option<&UploadKey>,
) -> Result<Vec<File>, VaultError> {
    let Uploads { files, mut early } = uploads;
    let (mut records, mut staged): (Vec<FileRecord>, Vec<StagedFile>) = files
        .into_iter()
        .map(|upload| (upload.record, upload.staged))
        .unzip();
    // Callers with many files have waited for most of them already.
    for file in &mut staged {
        if let Err(error) = file.settle().await {
            early.undo().await;
            return Err(error.into());
        }
    }
    let written = early.written().await;
    let contents: Vec<(ContentHash, u64)> =
        staged.iter().map(|s| (s.hash.clone(), s.size)).collect();
    // Each distinct content once, in hash order, with how many files use it.
    let mut uses: BTreeMap<&ContentHash, (u64, u32)> = BTreeMap::new();
    for (hash, size) in &contents {
        uses.entry(hash).or_insert((*size, 0)).1 += 1;
    }

    let txn = db.begin().await?;
    let mut placed: Vec<ContentHash> = Vec::new();
    let outcome = async {
        // The user's row first, as deleting takes it: an upload (whose
        // files' foreign key waits on that row) and a deletion (which goes on
        // to the contents' rows) then take their locks in one order and never
        // wait on each other in a cycle.
        db::users::lock(&txn, user_id).await?;
        if let Some(quota) = quota {
            let used = db::files::usage(&txn, user_id).await?.charged();
            let adding = db::files::Usage {
                bytes: contents.iter().map(|(_, size)| size).sum(),
                files: contents.len() as u64,
            }
            .charged();
            if used.saturating_add(adding) > quota {
                return Err(VaultError::QuotaExceeded);
            }
        }
        place_contents(&txn, storage, staged, &uses, written, &mut placed).await?;
        let entries: Vec<(Hash, &[u8])> = records
            .iter()
            .map(|record| (leaf_hash(&record.log_entry), record.log_entry.as_slice()))
            .collect();
        let entry_ids = db::log::insert_entries_returning_ids(&txn, &entries).await?;
        let new = records
            .iter_mut()
            .zip(&contents)
            .zip(entry_ids)
            .map(|((record, (hash, size)), log_entry_id)| {
                let timestamp_reply = std::mem::take(&mut record.timestamp_reply);
                let openpgp_signature = std::mem::take(&mut record.openpgp_signature);
                let record: &FileRecord = record;
                NewFile {
                    user_id,
                    name: &record.name,
                    hash,
                    size: *size as i64,
                    content_type: &record.content_type,
                    file_path: storage::relative_path(hash),
                    uploaded_at,
                    timestamp_reply,
                    openpgp_signature,
                    log_entry_id,
                }
            })
            .collect();
        let rows = db::files::insert_all(&txn, new).await?;
        if let Some(key) = key {
            let ids: Vec<i32> = rows.iter().map(|file| file.id).collect();
            let now = crate::time::unix_now();
            let since = now - UPLOAD_KEY_LIFETIME;
            db::upload_keys::insert(&txn, user_id, key.hash(), &ids, now, since)
                .await
                .map_err(|error| match db::is_unique_violation(&error) {
                    true => VaultError::KeyUsed,
                    false => error.into(),
                })?;
        }
        Ok::<_, VaultError>(rows)
    }
    .await;
    let outcome = match outcome {
        Ok(rows) => txn.commit().await.map(|()| rows).map_err(VaultError::from),
        Err(error) => {
            abandon(txn, storage, &placed).await;
            Err(error)
        }
    };
    match outcome {
        Ok(_) => early.committed(),
        Err(_) => early.undo().await,
    }
    outcome
}

/// Moves the staged contents into place while their `blobs` rows are locked,
/// syncs the folders they went to, and counts the files that use each:
/// `uses` holds each content once, in hash order, with its size and count;
/// `written`, the small contents whose rows were written ahead.
/// What this call placed anew is added to `placed`, for [`abandon`].
async fn place_contents(
    txn: &DatabaseTransaction,
    storage: &Storage,
    staged: Vec<StagedFile>,
    uses: &BTreeMap<&ContentHash, (u64, u32)>,
    written: &BTreeSet<ContentHash>,
    placed: &mut Vec<ContentHash>,
) -> Result<(), VaultError> {
    // A small content is stored in its row, here, unless it was already;
    // the others are moved.
    let inline: BTreeMap<&ContentHash, &[u8]> = staged
        .iter()
        .filter_map(|file| Some((&file.hash, file.inline_content()?)))
        .collect();
    let claims: Vec<db::blobs::Claim> = uses
        .iter()
        .map(|(hash, (size, _))| db::blobs::Claim {
            hash,
            size: *size,
            content: match written.contains(*hash) {
                true => None,
                false => inline.get(hash).copied(),
            },
        })
        .collect();
    db::blobs::claim_all(txn, &claims).await?;
    // A row written ahead may have been collected since (it counted no
    // file), and made anew just now without its bytes.
    let ahead: Vec<&ContentHash> = written.iter().collect();
    let mut lost = db::blobs::without_contents(txn, &ahead).await?;
    lost.sort_unstable();
    let again: Vec<db::blobs::Claim> = lost
        .iter()
        .filter_map(|hash| {
            let (size, _) = uses.get(hash)?;
            Some(db::blobs::Claim {
                hash,
                size: *size,
                content: Some(inline.get(hash)?),
            })
        })
        .collect();
    db::blobs::claim_all(txn, &again).await?;
    // Every content's row is locked now: move them all, then sync their
    // folders together. Only then may rows point at the objects.
    let mut placing = storage.placing();
    let moved = placing.place_all(staged).await;
    placed.extend(moved.placed);
    moved.outcome?;
    placing.sync().await?;
    let counts: Vec<(&ContentHash, u32)> = uses
        .iter()
        .map(|(hash, (_, count))| (*hash, *count))
        .collect();
    db::blobs::add_references(txn, &counts).await?;
    Ok(())
}

/// Undoes a transaction that placed contents: the objects it placed go
/// (still under their rows' locks), then it rolls back.
async fn abandon(txn: DatabaseTransaction, storage: &Storage, placed: &[ContentHash]) {
    for hash in placed {
        let _ = storage.remove(hash).await;
    }
    let _ = txn.rollback().await;
}

/// Gives the original application's row `legacy` its content and proofs, in
/// one transaction as [`store`] does: the content is placed under its
/// `blobs` row's lock and the row changes in place, so the file keeps its
/// id. `false` (and nothing kept) when another run imported it first.
pub async fn adopt(
    db: &DatabaseConnection,
    storage: &Storage,
    legacy: &db::files::LegacyFile,
    upload: Upload,
    uploaded_at: chrono::NaiveDateTime,
) -> Result<bool, VaultError> {
    let Upload { record, mut staged } = upload;
    staged.settle().await?;
    let (hash, size) = (staged.hash.clone(), staged.size);
    let txn = db.begin().await?;
    let mut placed = Vec::new();
    let outcome = async {
        let uses = BTreeMap::from([(&hash, (size, 1))]);
        let written = BTreeSet::new();
        place_contents(&txn, storage, vec![staged], &uses, &written, &mut placed).await?;
        let leaf = leaf_hash(&record.log_entry);
        let log_entry_id = db::log::insert_entry(&txn, &leaf, &record.log_entry).await?;
        let new = NewFile {
            user_id: legacy.user_id,
            name: &record.name,
            hash: &hash,
            size: size as i64,
            content_type: &record.content_type,
            file_path: storage::relative_path(&hash),
            uploaded_at,
            timestamp_reply: record.timestamp_reply,
            openpgp_signature: record.openpgp_signature,
            log_entry_id,
        };
        Ok::<_, VaultError>(db::files::adopt(&txn, legacy, new).await?)
    }
    .await;
    if let Ok(true) = outcome {
        txn.commit().await?;
        return Ok(true);
    }
    abandon(txn, storage, &placed).await;
    outcome
}

/// Deletes the user's file; `false` if they have no such file.
pub async fn delete(
    db: &DatabaseConnection,
    storage: &Storage,
    user_id: i32,
    id: FileId,
) -> Result<bool, VaultError> {
    let txn = db.begin().await?;
    db::users::lock(&txn, user_id).await?;
    let Some(file) = db::files::delete(&txn, user_id, id).await? else {
        txn.rollback().await?;
        return Ok(false);
    };
    let hash = ContentHash::parse(file.sha256.trim())
        .ok_or_else(|| DbErr::Custom("malformed sha256".into()))?;
    db::blobs::release(&txn, &hash).await?;
    txn.commit().await?;
    // The file is gone for the user; freeing the content can wait for garbage
    // collection if this fails.
    if let Err(error) = remove_if_unused(db, storage, &hash).await {
        tracing::warn!(%error, "content left for garbage collection");
    }
    Ok(true)
}

/// Deletes every file of the user's, a page at a time, each as [`delete`]
/// does: a content goes from storage once no other file uses it. Their log
/// entries stay, so receipts already given out still verify. Returns how
/// many were deleted.
pub async fn delete_all(
    db: &DatabaseConnection,
    storage: &Storage,
    user_id: i32,
) -> Result<u64, VaultError> {
    let mut deleted = 0;
    loop {
        let page = db::files::page(db, user_id, None, 100).await?;
        if page.is_empty() {
            return Ok(deleted);
        }
        for file in page {
            deleted += u64::from(delete(db, storage, user_id, FileId(file.id)).await?);
        }
    }
}

/// Removes the content from disk if no file uses it.
async fn remove_if_unused(
    db: &DatabaseConnection,
    storage: &Storage,
    hash: &ContentHash,
) -> Result<(), VaultError> {
    let txn = db.begin().await?;
    if db::blobs::delete_if_unused(&txn, hash).await?
        && let Err(error) = storage.remove(hash).await
    {
        let _ = txn.rollback().await;
        return Err(error.into());
    }
    txn.commit().await?;
    Ok(())
}

/// Finishes interrupted clean-ups; returns how many contents were freed.
pub async fn collect_garbage(
    db: &DatabaseConnection,
    storage: &Storage,
) -> Result<usize, VaultError> {
    let unused = db::blobs::unused(db, 100).await?;
    for hash in &unused {
        remove_if_unused(db, storage, hash).await?;
    }
    Ok(unused.len())
}

/// Removes objects older than `min_age` that no file uses: content placed by
/// a process that died before its transaction committed. Walks the store one
/// folder at a time; returns how many objects were removed.
pub async fn collect_orphans(
    db: &DatabaseConnection,
    storage: &Storage,
    min_age: std::time::Duration,
) -> Result<usize, VaultError> {
    let mut removed = 0;
    for folder in 0..=u8::MAX {
        for hash in storage.old_objects_in(folder, min_age).await? {
            let txn = db.begin().await?;
            // Claiming creates an unused row if none exists and waits for any
            // upload that holds the row; only then is "unused" the truth.
            db::blobs::claim(&txn, &hash, 0).await?;
            let unused = db::blobs::delete_if_unused(&txn, &hash).await?;
            if unused && let Err(error) = storage.remove(&hash).await {
                let _ = txn.rollback().await;
                return Err(error.into());
            }
            txn.commit().await?;
            removed += usize::from(unused);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;
    use crate::domain::{Email, Username};
    use sea_orm::ConnectionTrait;

    async fn vault() -> (tempfile::TempDir, DatabaseConnection, Storage, i32) {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite_in(dir.path());
        let db = db::connect(&url).await.unwrap();
        db::migrate(&db, &url).await.unwrap();
        let storage = Storage::Disk(
            storage::Disk::open(&dir.path().join("files"))
                .await
                .unwrap(),
        );
        let user = db::users::create(
            &db,
            &Username::parse("ada").unwrap(),
            &Email::parse("ada@example.com").unwrap(),
            "not a hash".into(),
        )
        .await
        .unwrap();
        (dir, db, storage, user.id)
    }

    async fn small_upload(storage: &Storage, content: &[u8]) -> Upload {
        let mut staging = storage.stage();
        staging.write(content).await.unwrap();
        Upload {
            record: FileRecord {
                name: FileName::parse("small.txt"),
                content_type: "text/plain".into(),
                timestamp_reply: vec![1],
                openpgp_signature: "signature".into(),
                log_entry: content.to_vec(),
            },
            staged: staging.finish().await.unwrap(),
        }
    }

    async fn blobs(db: &DatabaseConnection) -> Vec<(String, i64, Option<Vec<u8>>)> {
        let sql = "SELECT sha256, refcount, content FROM blobs ORDER BY sha256";
        let rows = db
            .query_all_raw(db::raw(db.get_database_backend(), sql, []))
            .await
            .unwrap();
        rows.iter()
            .map(|row| {
                let hash: String = row.try_get("", "sha256").unwrap();
                (
                    hash.trim().to_owned(),
                    row.try_get("", "refcount").unwrap(),
                    row.try_get("", "content").unwrap(),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn a_small_content_written_ahead_is_kept_even_if_collected_before_the_commit() {
        let (_dir, db, storage, user) = vault().await;
        let upload = small_upload(&storage, b"written ahead").await;
        let hash = upload.staged.hash.as_str().to_owned();
        let mut early = EarlyContents::new(&db);
        early.write(&upload.staged);
        assert_eq!(early.written().await.len(), 1);
        assert_eq!(
            blobs(&db).await,
            [(hash.clone(), 0, Some(b"written ahead".to_vec()))],
            "its row counts no file yet"
        );

        assert_eq!(collect_garbage(&db, &storage).await.unwrap(), 1);
        assert!(blobs(&db).await.is_empty(), "so it is garbage");
        let now = chrono::Utc::now().naive_utc();
        let uploads = Uploads {
            files: vec![upload],
            early,
        };
        let files = store(&db, &storage, user, uploads, now, None, None)
            .await
            .unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(
            blobs(&db).await,
            [(hash, 1, Some(b"written ahead".to_vec()))],
            "the commit wrote it again"
        );
    }

    #[tokio::test]
    async fn a_failed_upload_deletes_what_it_wrote_ahead_and_nothing_in_use() {
        let (_dir, db, storage, user) = vault().await;
        let now = chrono::Utc::now().naive_utc();
        let kept = small_upload(&storage, b"in use").await;
        let kept_hash = kept.staged.hash.as_str().to_owned();
        let early = EarlyContents::new(&db);
        let uploads = Uploads {
            files: vec![kept],
            early,
        };
        store(&db, &storage, user, uploads, now, None, None)
            .await
            .unwrap();

        let mut early = EarlyContents::new(&db);
        let again = small_upload(&storage, b"in use").await;
        let new = small_upload(&storage, b"new").await;
        early.write(&again.staged);
        early.write(&new.staged);
        assert_eq!(early.written().await.len(), 2);
        assert_eq!(blobs(&db).await.len(), 2);
        // Over a quota of nothing, the upload fails.
        let uploads = Uploads {
            files: vec![again, new],
            early,
        };
        let refused = store(&db, &storage, user, uploads, now, Some(0), None).await;
        assert!(matches!(refused, Err(VaultError::QuotaExceeded)));
        assert_eq!(blobs(&db).await, [(kept_hash, 1, Some(b"in use".to_vec()))]);
    }

    #[tokio::test]
    async fn an_upload_dropped_midway_deletes_what_it_wrote_ahead() {
        let (_dir, db, storage, _user) = vault().await;
        let upload = small_upload(&storage, b"dropped").await;
        let mut early = EarlyContents::new(&db);
        early.write(&upload.staged);
        drop(early);
        for _ in 0..100 {
            if blobs(&db).await.is_empty() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("left {:?}", blobs(&db).await);
    }
}
