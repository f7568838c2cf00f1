//! Contents in an S3-compatible bucket (`STORAGE_URL=s3://bucket/prefix`),
//! through object_store's S3 client; path-style requests, so self-hosted
//! stores such as Garage or MinIO work as AWS does.
//!
//! Layout under the prefix: `objects/ab/abcdef…` the stored contents,
//! `staging/…` large uploads waiting to be placed.
//!
//! - An upload's bytes gather in memory up to one [`PART`]. A file that
//!   ends within it is spilled to the local staging folder, and sent to its
//!   object key with one PUT when placed.
//! - A larger one goes out as a multipart upload to a staging key while it
//!   arrives, [`PART`] bytes a part and [`PARTS_IN_FLIGHT`] parts at once,
//!   so memory stays flat whatever its size. Placing copies the staged
//!   object to its key inside the store (no bytes come back) and deletes it.
//! - A multipart upload or staged object is recorded in `object_uploads`
//!   from its start until it is gone. One dropped unfinished (the request was
//!   aborted) is aborted or deleted at once; one left by a process that died
//!   is found by [`Bucket::sweep_staging`], by its row, untouched for an hour.
//!
//! An object is durable once its PUT, copy or completion has been answered,
//! so nothing here syncs.
//!
//! AWS itself copies at most 5 GiB in one request; self-hosted stores such
//! as Garage have no such limit. Contents above it need such a store.

use std::fmt;
use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload,
    RetryConfig,
};
use sea_orm::DatabaseConnection;

use super::Moved;
use super::disk::{self, Disk};
use crate::config::ObjectStorage;
use crate::db::object_uploads::{self, Begun};
use crate::domain::ContentHash;
use crate::time::unix_now;

/// Bytes per part of a multipart upload (S3 wants at least 5 MiB but for
/// the last); a smaller file is sent whole. 10,000 parts make 80 GB.
pub const PART: usize = 8 << 20;
/// Parts of one upload on their way at once: enough to keep the connection
/// busy while the next part arrives.
const PARTS_IN_FLIGHT: usize = 2;
/// A live upload's row is touched at least this often (seconds).
const TOUCH_EVERY: i64 = 60;
/// Contents placed at once by one request.
const PLACING_AT_ONCE: usize = 8;

/// The object store failed or could not be reached: the request may succeed later.
#[derive(Debug, thiserror::Error)]
#[error("object storage: {0}")]
pub struct BucketError(#[source] object_store::Error);

/// As an I/O error: "not found" keeps its kind, anything else is the store's
/// failure ([`super::is_unavailable`]).
fn io_error(error: object_store::Error) -> io::Error {
    match error {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, error),
        error => io::Error::other(BucketError(error)),
    }
}

fn ledger_error(error: sea_orm::DbErr) -> io::Error {
    io::Error::other(error)
}

#[derive(Clone)]
pub struct Bucket(Arc<Inner>);

struct Inner {
    store: AmazonS3,
    /// `prefix/`, or empty.
    prefix: String,
    url: String,
    /// Where small uploads wait until they are placed.
    spill: Disk,
    /// The `object_uploads` ledger.
    db: DatabaseConnection,
    /// The keys of this process's uploads and staged objects that exist,
    /// which [`Bucket::keep_alive`] keeps from looking abandoned.
    live: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// Clean-ups of staged objects running in the background, which a
    /// command about to exit waits for ([`Bucket::cleaned_up`]).
    cleaning: tokio_util::task::TaskTracker,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Bucket").field(&self.0.url).finish()
    }
}

impl Bucket {
    /// A client for the configured bucket; nothing is asked of it yet
    /// ([`Bucket::check`] does).
    pub fn new(
        config: &ObjectStorage,
        spill: Disk,
        db: DatabaseConnection,
    ) -> Result<Bucket, String> {
        // reqwest is built without a crypto provider of its own: rustls uses
        // the process's, ring (as ureq does), so there is one TLS stack.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let options = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(3))
            // A download may stream for hours: no limit on the whole
            // request, only on silence.
            .with_timeout_disabled()
            .with_read_timeout(Duration::from_secs(30))
            .with_allow_http(
                config
                    .endpoint
                    .as_ref()
                    .is_some_and(|url| url.scheme() == "http"),
            );
        // A store that is down is reported within seconds, not minutes.
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(5),
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_virtual_hosted_style_request(false)
            .with_client_options(options)
            .with_retry(retry);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint.as_str().trim_end_matches('/'));
        }
        if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose());
        }
        if let Some(token) = &config.session_token {
            builder = builder.with_token(token.expose());
        }
        let store = builder.build().map_err(|error| error.to_string())?;
        let prefix = match config.prefix.is_empty() {
            true => String::new(),
            false => format!("{}/", config.prefix),
        };
        Ok(Bucket(Arc::new(Inner {
            store,
            prefix,
            url: config.url(),
            spill,
            db,
            live: Default::default(),
            cleaning: tokio_util::task::TaskTracker::new(),
        })))
    }

    /// Waits for the staged objects dropped so far to be cleaned up: a
    /// command that exits would otherwise cut their clean-up short and
    /// leave them to a server's sweeper.
    pub async fn cleaned_up(&self) {
        let cleaning = &self.0.cleaning;
        cleaning.close();
        cleaning.wait().await;
        cleaning.reopen();
    }

    /// Lists, writes and deletes a probe object: the bucket is there and
    /// these credentials may use it. The error says which is wrong.
    pub async fn check(&self) -> Result<(), String> {
        let explain = |error: object_store::Error| explain(&self.0.url, error);
        let probe = self.key(&format!(
            "staging/probe-{}",
            hex::encode(rand::random::<[u8; 8]>())
        ));
        self.0
            .store
            .list_with_delimiter(Some(&self.key("objects")))
            .await
            .map_err(explain)?;
        self.0
            .store
            .put(&probe, PutPayload::from_static(b"probe"))
            .await
            .map_err(explain)?;
        self.0.store.delete(&probe).await.map_err(explain)
    }

    fn key(&self, relative: &str) -> Key {
        Key::from(format!("{}{relative}", self.0.prefix))
    }

    fn object_key(&self, hash: &ContentHash) -> Key {
        self.key(&super::relative_path(hash))
    }

    pub fn stage(&self) -> Staging {
        Staging {
            bucket: self.clone(),
            head: BytesMut::new(),
            upload: None,
        }
    }

    /// The content's bytes in `range` (all of them without one).
    pub async fn read(
        &self,
        hash: &ContentHash,
        range: Option<Range<u64>>,
    ) -> io::Result<BoxStream<'static, io::Result<Bytes>>> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let found = self
            .0
            .store
            .get_opts(&self.object_key(hash), options)
            .await
            .map_err(io_error)?;
        Ok(found.into_stream().map_err(io_error).boxed())
    }

    /// Whether the content is in the bucket.
    pub async fn contains(&self, hash: &ContentHash) -> io::Result<bool> {
        match self.0.store.head(&self.object_key(hash)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(io_error(error)),
        }
    }

    /// Stores `bytes` as the content, in one request (at most one [`PART`])
    /// or as a multipart upload.
    pub async fn put(&self, hash: &ContentHash, bytes: Bytes) -> io::Result<()> {
        let key = self.object_key(hash);
        self.0
            .store
            .put(&key, PutPayload::from(bytes))
            .await
            .map_err(io_error)?;
        Ok(())
    }

    pub async fn remove(&self, hash: &ContentHash) -> io::Result<()> {
        match self.0.store.delete(&self.object_key(hash)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(io_error(error)),
        }
    }

    /// Contents under `objects/xx/` stored more than `min_age` ago.
    pub async fn old_objects_in(
        &self,
        folder: u8,
        min_age: Duration,
    ) -> io::Result<Vec<ContentHash>> {
        let cutoff = chrono::Utc::now() - min_age;
        let prefix = self.key(&format!("objects/{folder:02x}"));
        self.0
            .store
            .list(Some(&prefix))
            .map_err(io_error)
            .try_filter_map(|meta| async move {
                let hash = meta.location.filename().and_then(ContentHash::parse);
                Ok(hash.filter(|_| meta.last_modified <= cutoff))
            })
            .try_collect()
            .await
    }

    fn live(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<String>> {
        self.0
            .live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Touches the rows of this process's uploads and staged objects, and
    /// its small files waiting on the disk: one complete and waiting for the
    /// rest of its request (hours, after a large one) is not taken for a
    /// dead process's. Called every few minutes.
    pub async fn keep_alive(&self) -> io::Result<usize> {
        let keys: Vec<String> = self.live().iter().cloned().collect();
        let now = unix_now();
        for key in &keys {
            object_uploads::touch_only(&self.0.db, key, now)
                .await
                .map_err(ledger_error)?;
        }
        Ok(keys.len() + self.0.spill.keep_alive().await?)
    }

    /// Removes what dead processes' uploads left: small files in the local
    /// staging folder, and multipart uploads and staged objects whose rows
    /// were untouched for `idle`.
    pub async fn sweep_staging(&self, idle: Duration) -> io::Result<usize> {
        let mut removed = self.0.spill.sweep_staging(idle).await?;
        let cutoff = unix_now() - idle.as_secs() as i64;
        loop {
            let stale = object_uploads::untouched_since(&self.0.db, cutoff, 100)
                .await
                .map_err(ledger_error)?;
            if stale.is_empty() {
                return Ok(removed);
            }
            for begun in stale {
                self.clear(&begun).await?;
                removed += 1;
            }
        }
    }

    /// Aborts the multipart upload or deletes the staged object, then
    /// forgets its row.
    async fn clear(&self, begun: &Begun) -> io::Result<()> {
        let key = Key::from(begun.object_key.as_str());
        let cleared = match &begun.upload_id {
            Some(id) => self.0.store.abort_multipart(&key, id).await,
            None => self.0.store.delete(&key).await,
        };
        match cleared {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(io_error(error)),
        }
        object_uploads::forget(&self.0.db, &begun.object_key)
            .await
            .map_err(ledger_error)?;
        self.live().remove(&begun.object_key);
        Ok(())
    }

    /// Places every file, [`PLACING_AT_ONCE`] at a time; see
    /// [`super::Placing::place_all`].
    pub async fn place_all(&self, files: Vec<(ContentHash, Staged)>) -> Moved {
        let outcomes: Vec<(ContentHash, io::Result<bool>)> = stream::iter(files)
            .map(|(hash, staged)| async move {
                let placed = self.place(&hash, staged).await;
                (hash, placed)
            })
            .buffer_unordered(PLACING_AT_ONCE)
            .collect()
            .await;
        let mut moved = Moved {
            placed: Vec::new(),
            outcome: Ok(()),
        };
        for (hash, outcome) in outcomes {
            match outcome {
                Ok(true) => moved.placed.push(hash),
                Ok(false) => {}
                Err(error) if moved.outcome.is_ok() => moved.outcome = Err(error),
                Err(_) => {}
            }
        }
        moved
    }

    /// Puts one staged content at its key unless it is there already;
    /// `true` if it was placed anew.
    async fn place(&self, hash: &ContentHash, staged: Staged) -> io::Result<bool> {
        if self.contains(hash).await? {
            if let Staged::Object(object) = staged {
                object.remove_later();
            }
            return Ok(false);
        }
        match staged {
            Staged::Spilled(file) => {
                let bytes = tokio::fs::read(file.path()).await?;
                self.put(hash, Bytes::from(bytes)).await?;
            }
            Staged::Object(object) => {
                self.0
                    .store
                    .copy(&object.key, &self.object_key(hash))
                    .await
                    .map_err(io_error)?;
                object.remove_later();
            }
        }
        Ok(true)
    }
}

/// Says what is wrong with the bucket in words an operator can act on.
fn explain(url: &str, error: object_store::Error) -> String {
    let text = error.to_string();
    let what = if text.contains("NoSuchBucket") {
        "there is no such bucket: create it, or fix STORAGE_URL".to_owned()
    } else if matches!(
        error,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    ) || [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "Forbidden",
    ]
    .iter()
    .any(|word| text.contains(word))
    {
        "the store refused these credentials: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that the key may read and write the bucket".to_owned()
    } else if text.contains("error sending request") || text.contains("connect") {
        format!("the store cannot be reached (check AWS_ENDPOINT_URL): {text}")
    } else {
        text
    };
    format!("cannot use {url}: {what}")
}

/// An upload on its way to the bucket.
pub struct Staging {
    bucket: Bucket,
    /// Bytes not yet sent: at most one part.
    head: BytesMut,
    upload: Option<Multipart>,
}

/// A multipart upload under way.
struct Multipart {
    object: StagedObject,
    id: String,
    sent: usize,
    in_flight: tokio::task::JoinSet<object_store::Result<(usize, PartId)>>,
    done: Vec<Option<PartId>>,
    touched: i64,
}

impl Staging {
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.head.extend_from_slice(chunk);
        while self.head.len() >= PART {
            let part = self.head.split_to(PART).freeze();
            self.send(part).await?;
        }
        Ok(())
    }

    /// Sends one part, beginning the multipart upload with the first.
    async fn send(&mut self, part: Bytes) -> io::Result<()> {
        let upload = match &mut self.upload {
            Some(upload) => upload,
            None => {
                let begun = self.bucket.begin().await?;
                self.upload.insert(begun)
            }
        };
        while upload.in_flight.len() >= PARTS_IN_FLIGHT {
            upload.settle_one().await?;
        }
        let store = self.bucket.0.store.clone();
        let (key, id, index) = (upload.object.key.clone(), upload.id.clone(), upload.sent);
        upload.in_flight.spawn(async move {
            let part = store.put_part(&key, &id, index, part.into()).await?;
            Ok((index, part))
        });
        upload.sent += 1;
        let now = unix_now();
        if now - upload.touched >= TOUCH_EVERY {
            upload.touched = now;
            object_uploads::touch(&self.bucket.0.db, upload.object.key.as_ref(), false, now)
                .await
                .map_err(ledger_error)?;
        }
        Ok(())
    }

    /// The whole content, when no part of it has been sent: nothing is in
    /// the bucket to remove.
    pub fn take_small(&mut self) -> Option<Vec<u8>> {
        match self.upload {
            None => Some(std::mem::take(&mut self.head).to_vec()),
            Some(_) => None,
        }
    }

    /// Sends what is left: a small file is kept aside on the local disk
    /// until it is placed; a multipart upload sends its last part and is
    /// completed, a staged object from then on.
    pub async fn finish(mut self) -> io::Result<Staged> {
        let Some(mut upload) = self.upload.take() else {
            let head = std::mem::take(&mut self.head).to_vec();
            return Ok(Staged::Spilled(self.bucket.0.spill.spill(head).await?));
        };
        if !self.head.is_empty() {
            self.upload = Some(upload);
            let last = std::mem::take(&mut self.head).freeze();
            self.send(last).await?;
            upload = self.upload.take().expect("just put back");
        }
        while !upload.in_flight.is_empty() {
            upload.settle_one().await?;
        }
        let parts = std::mem::take(&mut upload.done)
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| io::Error::other("a part of the upload is missing"))?;
        let key = upload.object.key.clone();
        let store = &self.bucket.0.store;
        if let Err(error) = store.complete_multipart(&key, &upload.id, parts).await {
            return Err(io_error(error));
        }
        // From here on there is an object to delete, no upload to abort.
        let mut object = upload.into_object();
        object.upload_id = None;
        object_uploads::touch(&self.bucket.0.db, key.as_ref(), true, unix_now())
            .await
            .map_err(ledger_error)?;
        Ok(Staged::Object(object))
    }
}

impl Bucket {
    /// Begins a multipart upload to a new staging key, and records it.
    async fn begin(&self) -> io::Result<Multipart> {
        let name: [u8; 16] = rand::random();
        let key = self.key(&format!("staging/{}", hex::encode(name)));
        let id = self
            .0
            .store
            .create_multipart(&key)
            .await
            .map_err(io_error)?;
        let begun = Begun {
            object_key: key.to_string(),
            upload_id: Some(id.clone()),
        };
        let now = unix_now();
        // The store makes the id, so the row can only follow the upload: a
        // process killed in between leaves an upload with no part in it (no
        // bytes) that no row names. A bucket lifecycle rule that aborts
        // incomplete multipart uploads after a day clears those
        // (docs/DEPLOY.md). No part is sent before the row is written.
        // Dropped on failure, the object aborts the upload it names.
        let object = StagedObject {
            bucket: self.clone(),
            key,
            upload_id: Some(id.clone()),
        };
        object_uploads::insert(&self.0.db, &begun, now)
            .await
            .map_err(ledger_error)?;
        self.live().insert(begun.object_key);
        Ok(Multipart {
            object,
            id,
            sent: 0,
            in_flight: tokio::task::JoinSet::new(),
            done: Vec::new(),
            touched: now,
        })
    }
}

impl Multipart {
    /// Waits for one part in flight.
    async fn settle_one(&mut self) -> io::Result<()> {
        let Some(joined) = self.in_flight.join_next().await else {
            return Ok(());
        };
        let (index, part) = joined.map_err(io::Error::other)?.map_err(io_error)?;
        if self.done.len() <= index {
            self.done.resize(index + 1, None);
        }
        self.done[index] = Some(part);
        Ok(())
    }

    fn into_object(self) -> StagedObject {
        // Parts still in flight (none, once finished) are cancelled with the set.
        self.object
    }
}

/// A received upload waiting to be placed.
pub enum Staged {
    /// A small file, kept aside on the local disk.
    Spilled(disk::Staged),
    /// A large one, in the bucket under a staging key.
    Object(StagedObject),
}

/// A multipart upload, or the staged object it became: recorded in
/// `object_uploads` while it exists, and aborted or deleted when dropped,
/// placed or not.
pub struct StagedObject {
    bucket: Bucket,
    key: Key,
    upload_id: Option<String>,
}

impl StagedObject {
    /// Deletes the staged object (placed, or not needed) and forgets its
    /// row, in the background: the vault's transaction may hold the
    /// database (SQLite's one writer) until it commits. What fails is left
    /// for the sweeper.
    fn remove_later(self) {
        // Dropping does exactly that.
        drop(self);
    }
}

impl Drop for StagedObject {
    /// A staged object never placed is an aborted request's: its traces go
    /// now rather than at the next sweep.
    fn drop(&mut self) {
        let begun = Begun {
            object_key: self.key.to_string(),
            upload_id: self.upload_id.take(),
        };
        let bucket = self.bucket.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let cleaning = self.bucket.0.cleaning.clone();
            runtime.spawn(cleaning.track_future(async move {
                if let Err(error) = bucket.clear(&begun).await {
                    tracing::warn!(%error, key = %begun.object_key, "staged upload left for the sweeper");
                }
            }));
        }
    }
}
