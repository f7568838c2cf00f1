//! The server's signing keys, kept in `DATA_DIR/keys/`: generated on first
//! start, then loaded by every process that shares the folder.
//!
//! A key set is written into a private temporary folder and renamed into
//! place in one step, so concurrent first starts agree on one set and a crash
//! never leaves half of one. Private keys are mode 0600 and never logged.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::proofs::openpgp;
use crate::proofs::tlog::note::NoteSigner;
use crate::proofs::tsa::{Authority, ObjectIdentifier, authority_from_pem, issue_chain};

/// Why a key set could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write keys to {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A stored key file that does not parse, or a key pair that does not match.
    #[error("keys/{file}: {message}")]
    Invalid { file: &'static str, message: String },
    #[error("cannot make a key: {0}")]
    Generate(String),
}

/// The time-stamp authority and its public certificate chain (TSA first, then the root).
pub struct TsaKeys {
    pub authority: Authority,
    pub chain_pem: String,
}

/// Loads the TSA key set, creating it first if there is none.
pub fn tsa(data_dir: &Path, policy: ObjectIdentifier) -> Result<TsaKeys, KeyError> {
    let dir = data_dir.join("keys").join("tsa");
    if !dir.join("chain.pem").exists() {
        let (key, chain) = issue_chain("SecureStamp")
            .and_then(|issued| issued.to_pem())
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        install(
            &dir,
            &[
                ("key.pem", key.as_bytes(), true),
                ("chain.pem", chain.as_bytes(), false),
            ],
        )?;
        tracing::info!(path = %dir.display(), "generated the time-stamp authority's key and certificate chain");
    }
    let chain_pem = read(&dir.join("chain.pem"))?;
    let authority = authority_from_pem(&read(&dir.join("key.pem"))?, &chain_pem, policy)
        .map_err(|e| invalid("tsa", e))?;
    Ok(TsaKeys {
        authority,
        chain_pem,
    })
}

/// The OpenPGP signing key and its armored public half.
pub struct OpenPgpKeys {
    pub key: openpgp::SigningKey,
    pub public_armored: String,
}

/// Loads the OpenPGP key, creating one for `user_id` first if there is none.
/// The caller checks that a loaded key still carries the configured user id.
pub fn openpgp(data_dir: &Path, user_id: &str) -> Result<OpenPgpKeys, KeyError> {
    let dir = data_dir.join("keys").join("openpgp");
    if !dir.join("public.asc").exists() {
        let generated = |e: openpgp::OpenPgpError| KeyError::Generate(e.to_string());
        let key = openpgp::SigningKey::generate(user_id).map_err(generated)?;
        let secret = key.to_armored().map_err(generated)?;
        let public = key.public_key_armored().map_err(generated)?;
        install(
            &dir,
            &[
                ("secret.asc", secret.as_bytes(), true),
                ("public.asc", public.as_bytes(), false),
            ],
        )?;
        tracing::info!(path = %dir.display(), fingerprint = key.fingerprint(), "generated the OpenPGP signing key");
    }
    let key = openpgp::SigningKey::from_armored(&read(&dir.join("secret.asc"))?)
        .map_err(|e| invalid("openpgp/secret.asc", e))?;
    Ok(OpenPgpKeys {
        key,
        public_armored: read(&dir.join("public.asc"))?,
    })
}

/// The transparency log's Ed25519 note key and its verifier key string.
pub struct LogKeys {
    pub signer: NoteSigner,
    pub verifier_key: String,
}

/// Loads the log key, creating one named `origin` first if there is none.
/// The key's name is the log's origin for good: checkpoints name it, and
/// verifiers' key strings carry it. The caller checks a configured origin
/// against the loaded key's.
pub fn log(data_dir: &Path, origin: &str) -> Result<LogKeys, KeyError> {
    let dir = data_dir.join("keys").join("log");
    if !dir.join("key.vkey").exists() {
        let signer = NoteSigner::generate(origin)
            .map_err(|e| KeyError::Generate(format!("LOG_ORIGIN: {e}")))?;
        let private = signer.private_key();
        let public = format!("{}\n", signer.verifier_key());
        install(
            &dir,
            &[
                ("key", private.as_bytes(), true),
                ("key.vkey", public.as_bytes(), false),
            ],
        )?;
        tracing::info!(path = %dir.display(), verifier_key = signer.verifier_key(), "generated the transparency log's key");
    }
    let private = read(&dir.join("key"))?;
    let signer = NoteSigner::from_private_key(private.trim()).map_err(|e| invalid("log/key", e))?;
    Ok(LogKeys {
        verifier_key: signer.verifier_key(),
        signer,
    })
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })
}

fn invalid(file: &'static str, error: impl std::fmt::Display) -> KeyError {
    KeyError::Invalid {
        file,
        message: error.to_string(),
    }
}

/// Writes `files` into a new folder and renames it to `target`; if another
/// process got there first, its set is kept and ours discarded.
fn install(target: &Path, files: &[(&str, &[u8], bool)]) -> Result<(), KeyError> {
    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(parent)
        .map_err(|source| KeyError::Write {
            path: parent.to_owned(),
            source,
        })?;
    let staging: PathBuf = parent.join(format!(
        ".staging-{}-{}",
        std::process::id(),
        hex::encode(rand::random::<[u8; 4]>())
    ));
    let written = (|| -> std::io::Result<()> {
        std::fs::DirBuilder::new().mode(0o700).create(&staging)?;
        for (name, content, private) in files {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(if *private { 0o600 } else { 0o644 })
                .open(staging.join(name))?;
            file.write_all(content)?;
            file.sync_all()?;
        }
        std::fs::rename(&staging, target)
    })();
    match written {
        Ok(()) => Ok(()),
        Err(_) if target.join(files[0].0).exists() => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(())
        }
        Err(source) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(KeyError::Write {
                path: target.to_owned(),
                source,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_set_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let policy = crate::proofs::tsa::DEFAULT_POLICY.parse().unwrap();
        let first = tsa(dir.path(), policy).unwrap();
        let second = tsa(dir.path(), policy).unwrap();
        assert_eq!(first.chain_pem, second.chain_pem);
        assert_eq!(first.chain_pem.matches("BEGIN CERTIFICATE").count(), 2);
        let key = dir.path().join("keys/tsa/key.pem");
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(key).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn the_log_key_keeps_the_name_it_was_made_with() {
        let dir = tempfile::tempdir().unwrap();
        let first = log(dir.path(), "vault.example/log").unwrap();
        let second = log(dir.path(), "another.example/log").unwrap();
        assert_eq!(first.verifier_key, second.verifier_key);
        assert_eq!(second.signer.name(), "vault.example/log");
        assert!(first.verifier_key.starts_with("vault.example/log+"));
        let public = std::fs::read_to_string(dir.path().join("keys/log/key.vkey")).unwrap();
        assert_eq!(public.trim(), first.verifier_key);
    }
}
