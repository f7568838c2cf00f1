//! The server's signing keys, kept in `DATA_DIR/keys/`: generated on first
//! start, then loaded by every process that shares the folder.
//!
//! A key set is written into a private temporary folder and renamed into
//! place in one step, so concurrent first starts agree on one set and a crash
//! never leaves half of one. Private keys are mode 0600 and never logged.
//!
//! Given a passphrase (`KEY_PASSPHRASE_FILE`), private keys are kept
//! encrypted ([`at_rest`]): new ones are written so, and open ones found at
//! start are encrypted in place.

mod at_rest;

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use at_rest::OpenError;
pub use at_rest::Passphrase;

use crate::proofs::openpgp;
use crate::proofs::tlog::note::{NoteSigner, NoteVerifier};
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
    #[error(
        "keys/{file} is encrypted: give its passphrase in the file named by KEY_PASSPHRASE_FILE"
    )]
    Locked { file: &'static str },
    #[error("keys/{file} does not open with the passphrase in KEY_PASSPHRASE_FILE")]
    WrongPassphrase { file: &'static str },
}

/// The time-stamp authority and its public certificate chain (TSA first, then the root).
pub struct TsaKeys {
    pub authority: Authority,
    pub chain_pem: String,
}

/// Loads the TSA key set, creating it first if there is none.
pub fn tsa(
    data_dir: &Path,
    policy: ObjectIdentifier,
    passphrase: Option<&Passphrase>,
) -> Result<TsaKeys, KeyError> {
    const FILE: &str = "tsa/key.pem";
    let dir = data_dir.join("keys").join("tsa");
    if !dir.join("chain.pem").exists() {
        let (key, chain) = issue_chain("SecureStamp")
            .and_then(|issued| issued.to_pem())
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let key = match passphrase {
            Some(passphrase) => at_rest::seal_pem(&key, passphrase).map_err(KeyError::Generate)?,
            None => key,
        };
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
    let path = dir.join("key.pem");
    let stored = Zeroizing::new(read(&path)?);
    let key = match (at_rest::is_sealed(&stored), passphrase) {
        (true, None) => return Err(KeyError::Locked { file: FILE }),
        (true, Some(passphrase)) => {
            let opened = at_rest::open(&stored, passphrase).map_err(|e| not_opened(FILE, e))?;
            opened
                .to_pem(at_rest::OPEN, pkcs8::LineEnding::LF)
                .map_err(|e| invalid(FILE, e))?
        }
        (false, _) => stored.clone(),
    };
    let authority = authority_from_pem(&key, &chain_pem, policy).map_err(|e| invalid("tsa", e))?;
    if let (false, Some(passphrase)) = (at_rest::is_sealed(&stored), passphrase) {
        let sealed = at_rest::seal_pem(&key, passphrase).map_err(|e| invalid(FILE, e))?;
        seal_in_place(&path, FILE, &sealed)?;
    }
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
pub fn openpgp(
    data_dir: &Path,
    user_id: &str,
    passphrase: Option<&Passphrase>,
) -> Result<OpenPgpKeys, KeyError> {
    const FILE: &str = "openpgp/secret.asc";
    let dir = data_dir.join("keys").join("openpgp");
    if !dir.join("public.asc").exists() {
        let generated = |e: openpgp::OpenPgpError| KeyError::Generate(e.to_string());
        let key = openpgp::SigningKey::generate(user_id).map_err(generated)?;
        let secret = match passphrase {
            Some(passphrase) => key.to_armored_locked(passphrase.as_str()),
            None => key.to_armored(),
        }
        .map_err(generated)?;
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
    let path = dir.join("secret.asc");
    let stored = Zeroizing::new(read(&path)?);
    let key = match passphrase {
        None => openpgp::SigningKey::from_armored(&stored).map_err(|e| match e {
            openpgp::OpenPgpError::Locked => KeyError::Locked { file: FILE },
            e => invalid(FILE, e),
        })?,
        Some(passphrase) => {
            let (key, locked) =
                openpgp::SigningKey::from_armored_unlocking(&stored, passphrase.as_str()).map_err(
                    |e| match e {
                        openpgp::OpenPgpError::Locked => KeyError::WrongPassphrase { file: FILE },
                        e => invalid(FILE, e),
                    },
                )?;
            if !locked {
                let sealed = key
                    .to_armored_locked(passphrase.as_str())
                    .map_err(|e| invalid(FILE, e))?;
                seal_in_place(&path, FILE, &sealed)?;
            }
            key
        }
    };
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
pub fn log(
    data_dir: &Path,
    origin: &str,
    passphrase: Option<&Passphrase>,
) -> Result<LogKeys, KeyError> {
    const FILE: &str = "log/key";
    let dir = data_dir.join("keys").join("log");
    if !dir.join("key.vkey").exists() {
        let signer = NoteSigner::generate(origin)
            .map_err(|e| KeyError::Generate(format!("LOG_ORIGIN: {e}")))?;
        let private = match passphrase {
            Some(passphrase) => seal_note_key(&signer, passphrase).map_err(KeyError::Generate)?,
            None => signer.private_key(),
        };
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
    let path = dir.join("key");
    let stored = Zeroizing::new(read(&path)?);
    let signer = if at_rest::is_sealed(&stored) {
        let Some(passphrase) = passphrase else {
            return Err(KeyError::Locked { file: FILE });
        };
        let opened = at_rest::open(&stored, passphrase).map_err(|e| not_opened(FILE, e))?;
        // The note key's name is not in PKCS#8: it is the public key's.
        let public = read(&dir.join("key.vkey"))?;
        let name = NoteVerifier::parse(public.trim())
            .map_err(|e| invalid("log/key.vkey", e))?
            .name()
            .to_owned();
        let signer =
            NoteSigner::from_pkcs8_der(&name, opened.as_bytes()).map_err(|e| invalid(FILE, e))?;
        if signer.verifier_key() != public.trim() {
            return Err(invalid(FILE, "the key is not the one key.vkey names"));
        }
        signer
    } else {
        let signer = NoteSigner::from_private_key(stored.trim()).map_err(|e| invalid(FILE, e))?;
        if let Some(passphrase) = passphrase {
            let sealed = seal_note_key(&signer, passphrase).map_err(|e| invalid(FILE, e))?;
            seal_in_place(&path, FILE, &sealed)?;
        }
        signer
    };
    Ok(LogKeys {
        verifier_key: signer.verifier_key(),
        signer,
    })
}

/// The note key as a sealed PKCS#8 Ed25519 key.
fn seal_note_key(signer: &NoteSigner, passphrase: &Passphrase) -> Result<String, String> {
    let der = signer.to_pkcs8_der().map_err(|e| e.to_string())?;
    at_rest::seal(der.as_bytes(), passphrase)
}

/// Replaces an open key file with its sealed form, and says so: copies of
/// the open file (backups, the disk's free blocks) are beyond reach here.
fn seal_in_place(path: &Path, file: &'static str, sealed: &str) -> Result<(), KeyError> {
    at_rest::replace(path, sealed).map_err(|source| KeyError::Write {
        path: path.to_owned(),
        source,
    })?;
    tracing::warn!(
        file = format!("keys/{file}"),
        "encrypted a signing key at rest; copies of it made before (backups) are still open"
    );
    Ok(())
}

fn not_opened(file: &'static str, error: OpenError) -> KeyError {
    match error {
        OpenError::WrongPassphrase => KeyError::WrongPassphrase { file },
        OpenError::Malformed(message) => KeyError::Invalid { file, message },
    }
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
pub(crate) fn install(target: &Path, files: &[(&str, &[u8], bool)]) -> Result<(), KeyError> {
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
        let first = tsa(dir.path(), policy, None).unwrap();
        let second = tsa(dir.path(), policy, None).unwrap();
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
        let first = log(dir.path(), "vault.example/log", None).unwrap();
        let second = log(dir.path(), "another.example/log", None).unwrap();
        assert_eq!(first.verifier_key, second.verifier_key);
        assert_eq!(second.signer.name(), "vault.example/log");
        assert!(first.verifier_key.starts_with("vault.example/log+"));
        let public = std::fs::read_to_string(dir.path().join("keys/log/key.vkey")).unwrap();
        assert_eq!(public.trim(), first.verifier_key);
    }

    const USER: &str = "SecureStamp <securestamp@localhost>";

    fn sealed(dir: &Path, file: &str) -> bool {
        let text = std::fs::read_to_string(dir.join("keys").join(file)).unwrap();
        at_rest::is_sealed(&text)
    }

    /// Each key without a passphrase, and with a wrong one, is refused by name.
    fn assert_refused_without(dir: &Path, wrong: &Passphrase) {
        let policy = crate::proofs::tsa::DEFAULT_POLICY.parse().unwrap();
        let origin = "vault.example/log";
        for (file, outcome) in [
            ("tsa/key.pem", tsa(dir, policy, None).err()),
            ("openpgp/secret.asc", openpgp(dir, USER, None).err()),
            ("log/key", log(dir, origin, None).err()),
        ] {
            assert!(
                matches!(outcome, Some(KeyError::Locked { file: f }) if f == file),
                "{file}: {outcome:?}"
            );
        }
        for (file, outcome) in [
            ("tsa/key.pem", tsa(dir, policy, Some(wrong)).err()),
            ("openpgp/secret.asc", openpgp(dir, USER, Some(wrong)).err()),
            ("log/key", log(dir, origin, Some(wrong)).err()),
        ] {
            assert!(
                matches!(outcome, Some(KeyError::WrongPassphrase { file: f }) if f == file),
                "{file}: {outcome:?}"
            );
        }
    }

    #[test]
    fn with_a_passphrase_new_keys_are_written_encrypted_and_open_with_it_only() {
        let dir = tempfile::tempdir().unwrap();
        let passphrase = Passphrase::new("correct horse").unwrap();
        let policy = crate::proofs::tsa::DEFAULT_POLICY.parse().unwrap();
        let first = (
            tsa(dir.path(), policy, Some(&passphrase)).unwrap(),
            openpgp(dir.path(), USER, Some(&passphrase)).unwrap(),
            log(dir.path(), "vault.example/log", Some(&passphrase)).unwrap(),
        );
        assert!(sealed(dir.path(), "tsa/key.pem") && sealed(dir.path(), "log/key"));
        assert_refused_without(dir.path(), &Passphrase::new("wrong horse").unwrap());
        let again = (
            tsa(dir.path(), policy, Some(&passphrase)).unwrap(),
            openpgp(dir.path(), USER, Some(&passphrase)).unwrap(),
            log(dir.path(), "vault.example/log", Some(&passphrase)).unwrap(),
        );
        assert_eq!(again.0.chain_pem, first.0.chain_pem);
        assert_eq!(again.1.key.fingerprint(), first.1.key.fingerprint());
        assert_eq!(again.2.verifier_key, first.2.verifier_key);
        assert_eq!(again.2.signer.name(), "vault.example/log");
    }

    #[test]
    fn open_keys_are_encrypted_in_place_once_a_passphrase_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let policy = crate::proofs::tsa::DEFAULT_POLICY.parse().unwrap();
        let open = (
            tsa(dir.path(), policy, None).unwrap(),
            openpgp(dir.path(), USER, None).unwrap(),
            log(dir.path(), "vault.example/log", None).unwrap(),
        );
        assert!(!sealed(dir.path(), "tsa/key.pem") && !sealed(dir.path(), "log/key"));
        let passphrase = Passphrase::new("correct horse").unwrap();
        let now = (
            tsa(dir.path(), policy, Some(&passphrase)).unwrap(),
            openpgp(dir.path(), USER, Some(&passphrase)).unwrap(),
            log(dir.path(), "vault.example/log", Some(&passphrase)).unwrap(),
        );
        assert_eq!(now.0.chain_pem, open.0.chain_pem);
        assert_eq!(now.1.key.fingerprint(), open.1.key.fingerprint());
        assert_eq!(now.2.verifier_key, open.2.verifier_key);
        assert!(sealed(dir.path(), "tsa/key.pem") && sealed(dir.path(), "log/key"));
        for file in ["tsa/key.pem", "openpgp/secret.asc", "log/key"] {
            let metadata = std::fs::metadata(dir.path().join("keys").join(file)).unwrap();
            let mode = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions());
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
        let leftovers: Vec<_> = ["tsa", "openpgp", "log"]
            .iter()
            .flat_map(|folder| std::fs::read_dir(dir.path().join("keys").join(folder)).unwrap())
            .map(|entry| entry.unwrap().file_name())
            .filter(|name| name.to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert_refused_without(dir.path(), &Passphrase::new("wrong horse").unwrap());
    }
}
