//! Private keys encrypted at rest under the passphrase in
//! `KEY_PASSPHRASE_FILE`, each in the standard form its own tools read: a
//! PKCS#8 `ENCRYPTED PRIVATE KEY` (PBES2: scrypt, AES-256-CBC) for the TSA's
//! P-256 key and the log's Ed25519 key (`openssl pkey -in key.pem`), and
//! OpenPGP's own passphrase protection for the OpenPGP key (`gpg --import`,
//! done by [`crate::proofs::openpgp::SigningKey::to_armored_locked`]).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use pkcs8::pkcs5::{pbes2, scrypt};
use pkcs8::{EncryptedPrivateKeyInfo, LineEnding, PrivateKeyInfo, SecretDocument};
use rand_core::RngCore;
use zeroize::Zeroizing;

/// The PEM label of a sealed key.
const SEALED: &str = "ENCRYPTED PRIVATE KEY";
/// The PEM label of an open PKCS#8 key.
pub(super) const OPEN: &str = "PRIVATE KEY";

/// scrypt with N = 2^14, r = 8, p = 1 (16 MiB, about 50 ms here): what
/// `openssl pkcs8 -scrypt` chooses. OpenSSL refuses to derive with more than
/// 32 MiB, and the crate's default (2^17, 128 MiB) is over that.
const SCRYPT_LOG_N: u8 = 14;

/// The passphrase that keeps the signing keys, never printed.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

impl Passphrase {
    /// The passphrase held in the file at `path`: its content without the
    /// line ending at its end, so that `echo` and editors can write it.
    pub fn read(path: &Path) -> Result<Passphrase, String> {
        let content = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        );
        let passphrase = content
            .strip_suffix('\n')
            .map(|rest| rest.strip_suffix('\r').unwrap_or(rest))
            .unwrap_or(&content);
        Passphrase::new(passphrase).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A passphrase from its text; an empty one protects nothing and is refused.
    pub fn new(passphrase: &str) -> Result<Passphrase, String> {
        if passphrase.is_empty() {
            return Err("the passphrase is empty".into());
        }
        Ok(Passphrase(Zeroizing::new(passphrase.to_owned())))
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a stored key file is a sealed PKCS#8 key.
pub(super) fn is_sealed(text: &str) -> bool {
    text.trim_start()
        .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
}

/// Why a sealed key did not open.
#[derive(Debug)]
pub(super) enum OpenError {
    /// The passphrase is not the one it was sealed with (or the file was changed).
    WrongPassphrase,
    Malformed(String),
}

/// Seals a PKCS#8 `PrivateKeyInfo` (DER) under `passphrase`, as PEM.
pub(super) fn seal(der: &[u8], passphrase: &Passphrase) -> Result<String, String> {
    let info = PrivateKeyInfo::try_from(der).map_err(|e| format!("not a PKCS#8 key: {e}"))?;
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut salt);
    rand_core::OsRng.fill_bytes(&mut iv);
    let cost = scrypt::Params::new(SCRYPT_LOG_N, 8, 1, 32).map_err(|e| e.to_string())?;
    let parameters =
        pbes2::Parameters::scrypt_aes256cbc(cost, &salt, &iv).map_err(|e| e.to_string())?;
    info.encrypt_with_params(parameters, passphrase.as_str())
        .and_then(|sealed| sealed.to_pem(SEALED, LineEnding::LF).map_err(Into::into))
        .map(|pem| pem.to_string())
        .map_err(|e| format!("cannot encrypt the key: {e}"))
}

/// Seals an open PKCS#8 key given as PEM (`PRIVATE KEY`).
pub(super) fn seal_pem(pem: &str, passphrase: &Passphrase) -> Result<String, String> {
    let (label, document) =
        SecretDocument::from_pem(pem).map_err(|e| format!("not a PEM key: {e}"))?;
    if label != OPEN {
        return Err(format!("expected a PKCS#8 `{OPEN}`, found `{label}`"));
    }
    seal(document.as_bytes(), passphrase)
}

/// The PKCS#8 `PrivateKeyInfo` (DER) inside a sealed PEM key.
pub(super) fn open(pem: &str, passphrase: &Passphrase) -> Result<SecretDocument, OpenError> {
    let malformed = |e: &dyn std::fmt::Display| OpenError::Malformed(e.to_string());
    let (label, document) = SecretDocument::from_pem(pem).map_err(|e| malformed(&e))?;
    if label != SEALED {
        return Err(OpenError::Malformed(format!(
            "expected `{SEALED}`, found `{label}`"
        )));
    }
    let sealed =
        EncryptedPrivateKeyInfo::try_from(document.as_bytes()).map_err(|e| malformed(&e))?;
    let opened = sealed
        .decrypt(passphrase.as_str())
        .map_err(|_| OpenError::WrongPassphrase)?;
    // A wrong key that happens to leave valid padding leaves no valid key.
    PrivateKeyInfo::try_from(opened.as_bytes()).map_err(|_| OpenError::WrongPassphrase)?;
    Ok(opened)
}

/// Replaces the key file at `path` with `content` in one step: written
/// beside it (mode 0600), synced, renamed over it, and its folder synced.
pub(super) fn replace(path: &Path, content: &str) -> std::io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let staged = folder.join(format!(".{name}.{}.sealing", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&staged)?;
        file.write_all(content.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&staged, path)?;
        std::fs::File::open(folder)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passphrase(text: &str) -> Passphrase {
        Passphrase::new(text).unwrap()
    }

    #[test]
    fn a_sealed_key_opens_with_its_passphrase_only() {
        let (pem, _) = crate::proofs::tsa::issue_chain("Sealed")
            .and_then(|issued| issued.to_pem())
            .unwrap();
        let (_, der) = SecretDocument::from_pem(&pem).unwrap();
        let sealed = seal_pem(&pem, &passphrase("correct horse")).unwrap();
        assert!(is_sealed(&sealed) && !is_sealed(&pem));
        let opened = open(&sealed, &passphrase("correct horse")).unwrap();
        assert_eq!(opened.as_bytes(), der.as_bytes());
        assert!(matches!(
            open(&sealed, &passphrase("wrong horse")),
            Err(OpenError::WrongPassphrase)
        ));
        assert!(matches!(
            open(
                "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
                &passphrase("x")
            ),
            Err(OpenError::Malformed(_))
        ));
    }

    #[test]
    fn a_passphrase_file_loses_its_line_ending_and_may_not_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("passphrase");
        for (content, expected) in [
            ("correct horse\n", "correct horse"),
            ("correct horse\r\n", "correct horse"),
            ("correct horse", "correct horse"),
            (" spaced \n\n", " spaced \n"),
        ] {
            std::fs::write(&file, content).unwrap();
            assert_eq!(Passphrase::read(&file).unwrap().as_str(), expected);
        }
        std::fs::write(&file, "\n").unwrap();
        assert!(Passphrase::read(&file).unwrap_err().contains("empty"));
        let missing = Passphrase::read(&dir.path().join("missing")).unwrap_err();
        assert!(missing.contains("cannot read"), "{missing}");
        assert_eq!(format!("{:?}", passphrase("secret")), "Passphrase(..)");
    }
}
