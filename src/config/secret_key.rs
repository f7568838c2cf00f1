//! `SECRET_KEY`: the root secret from which the cookie, session and CSRF keys
//! are derived, so that one rotation invalidates all of them.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Sha256, Sha512};

use crate::secret::Secret;

const GENERATED_FILE: &str = "secret_key";

/// The configured secret. Sub-keys come from [`SecretKey::derive`], never from the raw bytes.
#[derive(Clone, Debug)]
pub struct SecretKey(Secret<Vec<u8>>);

impl SecretKey {
    pub fn from_configured(raw: &str) -> Self {
        if raw.len() < 32 {
            tracing::warn!("SECRET_KEY is shorter than 32 characters; use a long random value");
        }
        SecretKey(Secret::new(raw.as_bytes().to_vec()))
    }

    /// Development only: a random key kept in the data directory, shared by
    /// every process that uses the same directory.
    pub fn load_or_generate(data_dir: &Path) -> Result<Self, String> {
        let path = data_dir.join(GENERATED_FILE);
        if !path.exists() {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            // Written aside and hard-linked into place: a concurrent starter
            // either wins the link or reads the complete file of the winner.
            let staging = data_dir.join(format!(".{GENERATED_FILE}.{}", std::process::id()));
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&staging)
                .and_then(|mut file| {
                    file.write_all(hex::encode(bytes).as_bytes())?;
                    file.sync_all()
                });
            let linked = written.and_then(|()| match std::fs::hard_link(&staging, &path) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                other => other,
            });
            let _ = std::fs::remove_file(&staging);
            linked.map_err(|e| {
                format!(
                    "cannot store a generated secret key in {}: {e}",
                    path.display()
                )
            })?;
        }
        let stored = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let bytes = hex::decode(stored.trim())
            .ok()
            .filter(|bytes| bytes.len() == 32)
            .ok_or_else(|| {
                format!(
                    "{} is damaged; delete it to generate a new key",
                    path.display()
                )
            })?;
        tracing::warn!(
            path = %path.display(),
            "SECRET_KEY is not set: using the generated key (fine for development; set SECRET_KEY in production)"
        );
        Ok(SecretKey(Secret::new(bytes)))
    }

    /// A 32-byte key for one purpose, independent of the keys for other purposes.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose())
            .expect("HMAC takes any key length");
        mac.update(b"securestamp/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A 64-byte key for one purpose (the cookie signing key needs 64).
    pub fn derive_wide(&self, purpose: &str) -> [u8; 64] {
        let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(self.0.expose())
            .expect("HMAC takes any key length");
        mac.update(b"securestamp/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::SecretKey;

    #[test]
    fn derived_keys_differ_by_purpose_and_secret() {
        let a = SecretKey::from_configured("a long enough secret for the purpose of testing");
        let b = SecretKey::from_configured("another long enough secret for the same purpose");
        assert_ne!(a.derive("csrf"), a.derive("session"));
        assert_ne!(a.derive("csrf"), b.derive("csrf"));
        assert_eq!(a.derive("csrf"), a.derive("csrf"));
    }

    #[test]
    fn generated_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = SecretKey::load_or_generate(dir.path()).unwrap();
        let second = SecretKey::load_or_generate(dir.path()).unwrap();
        assert_eq!(first.derive("x"), second.derive("x"));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join("secret_key"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }
}
