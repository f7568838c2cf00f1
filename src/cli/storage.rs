//! `securestamp storage …`: moving the contents between backends.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{Config, ConfigError};
use crate::domain::ContentHash;
use crate::storage::Storage;

#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    command: StorageCommand,
}

#[derive(Debug, clap::Subcommand)]
enum StorageCommand {
    /// Copy the contents kept on the local disk into the bucket that
    /// STORAGE_URL names. Each content is read, checked against its SHA-256
    /// name and sent; one already in the bucket is skipped, so an
    /// interrupted run simply goes on when run again. The local files are
    /// left where they were.
    Migrate {
        /// The local storage folder (default: UPLOAD_FOLDER).
        #[arg(long, value_name = "FOLDER")]
        from: Option<PathBuf>,
    },
}

/// What a migration did.
#[derive(Debug, Default)]
struct Migrated {
    sent: usize,
    bytes: u64,
    already_there: usize,
    failed: Vec<(PathBuf, String)>,
}

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    let StorageCommand::Migrate { from } = opts.command;
    let config = Config::load()?;
    if config.object_storage.is_none() {
        return Err(ConfigError::new("STORAGE_URL", "required: the bucket to migrate into").into());
    }
    let folder = from.unwrap_or_else(|| config.upload_folder.clone());
    let db = crate::db::connect(&config.database_url).await?;
    crate::db::migrate(&db, &config.database_url).await?;
    let storage = crate::startup::open_storage(&config, &db).await?;
    let done = migrate(&storage, &folder.join("objects")).await;
    if let Storage::Bucket(bucket) = &storage {
        bucket.cleaned_up().await;
    }
    let done = done?;
    println!(
        "sent {} content(s), {} bytes; {} already in the bucket",
        done.sent, done.bytes, done.already_there
    );
    for (path, why) in &done.failed {
        println!("left {}: {why}", path.display());
    }
    match done.failed.len() {
        0 => Ok(()),
        left => anyhow::bail!("{left} content(s) were not sent: run this again"),
    }
}

/// Sends every content under `objects` (`ab/abcdef…`) that the bucket lacks,
/// one at a time: memory stays that of one upload.
async fn migrate(storage: &Storage, objects: &Path) -> anyhow::Result<Migrated> {
    let Storage::Bucket(bucket) = storage else {
        anyhow::bail!("the storage to migrate into is not a bucket");
    };
    let mut done = Migrated::default();
    let folders =
        std::fs::read_dir(objects).with_context(|| format!("cannot read {}", objects.display()))?;
    for folder in folders {
        let folder = folder?.path();
        if !folder.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            let Some(hash) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(ContentHash::parse)
            else {
                continue;
            };
            match bucket.contains(&hash).await {
                Ok(true) => done.already_there += 1,
                Ok(false) => match send(storage, &path, &hash).await {
                    Ok(size) => {
                        done.sent += 1;
                        done.bytes += size;
                    }
                    Err(error) => done.failed.push((path, error.to_string())),
                },
                Err(error) => done.failed.push((path, error.to_string())),
            }
        }
    }
    Ok(done)
}

/// Streams one local content into the bucket, as an upload is; its bytes
/// must hash to its name. Returns its size.
async fn send(storage: &Storage, path: &Path, hash: &ContentHash) -> anyhow::Result<u64> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path).await?;
    let mut staging = storage.stage();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        staging.write(&buffer[..read]).await?;
    }
    let staged = staging.finish().await?;
    if staged.hash != *hash {
        anyhow::bail!(
            "its bytes hash to {}, not to its name: damaged, not sent",
            staged.hash
        );
    }
    let size = staged.size;
    let mut placing = storage.placing();
    let moved = placing.place_all(vec![staged]).await;
    moved.outcome?;
    placing.sync().await?;
    Ok(size)
}
