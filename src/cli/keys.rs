//! `securestamp keys export|import`: one site's signing keys, carried to its
//! other machines.
//!
//! Every process of a site signs with the same keys (a server whose log key
//! did not sign the database's checkpoint refuses to start). The archive is a
//! plain tar of the six files under `DATA_DIR/keys`, in the formats those
//! files have there: encrypted when `KEY_PASSPHRASE_FILE` is set, in the
//! clear otherwise, so it is as secret as the folder itself.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::config::Config;

/// The files of a key set, relative to `DATA_DIR/keys`.
const FILES: [&str; 6] = [
    "tsa/chain.pem",
    "tsa/key.pem",
    "openpgp/public.asc",
    "openpgp/secret.asc",
    "log/key",
    "log/key.vkey",
];

/// Far above any of them; an archive member past this is not a key file.
const FILE_LIMIT: u64 = 1 << 20;

#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeysCommand {
    /// Write this site's signing keys (made first, if there are none) to FILE, readable by its owner only.
    Export {
        /// The archive to write; it must not exist yet. `-` writes to standard output.
        file: PathBuf,
    },
    /// Put the keys from an archive made by `keys export` into DATA_DIR/keys,
    /// after checking that they load with this configuration (GPG_USER,
    /// LOG_ORIGIN, KEY_PASSPHRASE_FILE). Refuses if DATA_DIR holds other keys.
    Import {
        /// The archive. `-` reads standard input.
        file: PathBuf,
    },
}

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    let config = Config::load_without_secret()?;
    match opts.command {
        KeysCommand::Export { file } => {
            crate::startup::load_keys(&config).await?;
            let keys = config.data_dir.join("keys");
            tokio::task::spawn_blocking(move || export(&keys, &file))
                .await
                .context("the export panicked")?
        }
        KeysCommand::Import { file } => import(&config, &file).await,
    }
}

fn export(keys: &Path, file: &Path) -> anyhow::Result<()> {
    let mut archive = tar::Builder::new(Vec::new());
    for name in FILES {
        let bytes = std::fs::read(keys.join(name))
            .with_context(|| format!("cannot read {}", keys.join(name).display()))?;
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(crate::owner_only::FILE_MODE);
        header.set_mtime(0);
        header.set_cksum();
        archive.append_data(&mut header, name, bytes.as_slice())?;
    }
    let bytes = archive.into_inner()?;
    if file == Path::new("-") {
        std::io::stdout().write_all(&bytes)?;
        return Ok(());
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(crate::owner_only::FILE_MODE)
        .open(file)
        .with_context(|| format!("cannot create {}", file.display()))?;
    out.write_all(&bytes)?;
    out.sync_all()?;
    eprintln!("wrote the signing keys to {}", file.display());
    Ok(())
}

/// The six files of an archive, each checked for its name and size.
fn unpack(archive: &[u8]) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut found = Vec::new();
    for entry in tar::Archive::new(archive).entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let Some(name) = FILES.iter().find(|name| **name == path) else {
            bail!(
                "the archive holds `{path}`, which is not a key file: was it made by `securestamp keys export`?"
            );
        };
        if entry.header().entry_type() != tar::EntryType::Regular || entry.size() > FILE_LIMIT {
            bail!("`{path}` in the archive is not a key file");
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        found.push((*name, bytes));
    }
    for name in FILES {
        if !found.iter().any(|(found, _)| *found == name) {
            bail!("the archive has no `{name}`: was it made by `securestamp keys export`?");
        }
    }
    Ok(found)
}

async fn import(config: &Config, file: &Path) -> anyhow::Result<()> {
    let archive = if file == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes)?;
        bytes
    } else {
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let files = unpack(&archive)?;
    let keys = config.data_dir.join("keys");
    if keys.exists() {
        let same = files
            .iter()
            .all(|(name, bytes)| std::fs::read(keys.join(name)).is_ok_and(|held| held == *bytes));
        if same {
            eprintln!("{} already holds these keys", keys.display());
            return Ok(());
        }
        bail!(
            "{} holds other keys; a site has one set. Move it away first if these are to replace them",
            keys.display()
        );
    }
    // Written beside their place, loaded as the server would load them, and
    // only then moved in: a set that does not load never lands.
    crate::owner_only::create_folder(&config.data_dir)?;
    let landing = config.data_dir.join(format!(
        ".keys-import-{}",
        hex::encode(rand::random::<[u8; 8]>())
    ));
    let outcome = land(config, &landing, &files).await;
    if outcome.is_ok() {
        std::fs::rename(landing.join("keys"), &keys)?;
    }
    let _ = std::fs::remove_dir_all(&landing);
    outcome?;
    eprintln!("imported the signing keys into {}", keys.display());
    Ok(())
}

async fn land(config: &Config, landing: &Path, files: &[(&str, Vec<u8>)]) -> anyhow::Result<()> {
    // Each folder as the server writes a set it makes; all files owner-only.
    for folder in ["tsa", "openpgp", "log"] {
        let set: Vec<(&str, &[u8], bool)> = files
            .iter()
            .filter_map(|(name, bytes)| {
                let file = name.strip_prefix(folder)?.strip_prefix('/')?;
                Some((file, bytes.as_slice(), true))
            })
            .collect();
        crate::keys::install(&landing.join("keys").join(folder), &set)?;
    }
    let mut probe = config.clone();
    probe.data_dir = landing.to_owned();
    crate::startup::load_keys(&probe)
        .await
        .context("the archive's keys do not load with this configuration")?;
    Ok(())
}
