//! The server's OpenPGP key and the detached signatures it makes over uploads.
//!
//! Keys are v4 EdDSALegacy (algorithm 22, RFC 9580 §5.5.5.5), the Ed25519 form
//! GnuPG 2.2 understands. Signatures are v4, binary (type 0x00, RFC 9580 §5.2.1),
//! SHA-256, with the creation time and issuer fingerprint hashed and the issuer
//! key id unhashed. A v4 signature hashes the data first and its own metadata
//! after it (RFC 9580 §5.2.4), so [`StreamingSignature`] takes the data in one
//! pass and the creation time is chosen only when the signature is finished.

use std::io::Read;
use std::time::SystemTime;

use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, KeyType, SecretKeyParamsBuilder,
    SecretKeyParamsBuilderError, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Signature, SignatureConfig, SignatureType, Subpacket, SubpacketData};
use pgp::types::{KeyDetails, KeyVersion, Password, SigningKey as _, Timestamp, TimestampError};
use sha2::{Digest, Sha256};

/// Why a key could not be made or read, or a signature made or checked.
#[derive(Debug, thiserror::Error)]
pub enum OpenPgpError {
    #[error("OpenPGP operation failed: {0}")]
    Pgp(#[from] pgp::errors::Error),
    #[error("invalid key parameters: {0}")]
    KeyParameters(#[from] SecretKeyParamsBuilderError),
    /// The parser's own words stay in `source`: they are for logs, not users.
    #[error("malformed OpenPGP {what}")]
    Malformed {
        what: &'static str,
        source: pgp::errors::Error,
    },
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// The secret key is locked with a passphrase, and none (or another) was given.
    #[error("the secret key is locked with a passphrase")]
    Locked,
    #[error("the signature was made by another key")]
    WrongKey,
    #[error("the signature does not match the data")]
    BadSignature(#[source] pgp::errors::Error),
    /// GnuPG refuses such signatures ("public key is newer than the signature").
    #[error("the signature is dated before its key was created")]
    PredatesKey,
    #[error("the time cannot be stated in OpenPGP: {0}")]
    Time(#[from] TimestampError),
    #[error("reading the signed data failed: {0}")]
    Io(#[from] std::io::Error),
}

fn malformed(what: &'static str) -> impl FnOnce(pgp::errors::Error) -> OpenPgpError {
    move |source| OpenPgpError::Malformed { what, source }
}

/// The server's OpenPGP signing key: one primary key that certifies and signs,
/// no subkeys, one user id.
#[derive(Clone)]
pub struct SigningKey {
    key: SignedSecretKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret half never prints.
        f.debug_struct("SigningKey")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new Ed25519 key ("EdDSALegacy", algorithm 22, a v4 key) whose only user
    /// id is `user_id` (e.g. "SecureStamp <securestamp@localhost>"), self-signed,
    /// able to sign. GnuPG 2.2 does not know RFC 9580's Ed25519 key type, hence
    /// the legacy one.
    pub fn generate(user_id: &str) -> Result<SigningKey, OpenPgpError> {
        let params = SecretKeyParamsBuilder::default()
            .version(KeyVersion::V4)
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(user_id.into())
            .build()?;
        SigningKey::checked(params.generate(rand_core::OsRng)?)
    }

    /// Reads an ASCII-armored transferable secret key, unencrypted (the file
    /// that holds it is 0600), as [`SigningKey::to_armored`] writes it.
    pub fn from_armored(armored: &str) -> Result<SigningKey, OpenPgpError> {
        let (key, _headers) =
            SignedSecretKey::from_string(armored).map_err(malformed("secret key"))?;
        SigningKey::checked(key)
    }

    /// Reads an ASCII-armored transferable secret key that may be locked with
    /// `passphrase` (as [`SigningKey::to_armored_locked`] writes it), and says
    /// whether it was. A wrong passphrase is [`OpenPgpError::Locked`].
    pub fn from_armored_unlocking(
        armored: &str,
        passphrase: &str,
    ) -> Result<(SigningKey, bool), OpenPgpError> {
        let (mut key, _headers) =
            SignedSecretKey::from_string(armored).map_err(malformed("secret key"))?;
        let locked = key.primary_key.secret_params().is_encrypted();
        if locked {
            key.primary_key
                .remove_password(&Password::from(passphrase))
                .map_err(|_| OpenPgpError::Locked)?;
        }
        Ok((SigningKey::checked(key)?, locked))
    }

    /// Refuses keys this module could not sign with, or GnuPG 2.2 could not read.
    fn checked(key: SignedSecretKey) -> Result<SigningKey, OpenPgpError> {
        if key.primary_key.version() != KeyVersion::V4 {
            return Err(OpenPgpError::Unsupported("only v4 keys make v4 signatures"));
        }
        if key.primary_key.secret_params().is_encrypted() {
            return Err(OpenPgpError::Locked);
        }
        if key.details.users.is_empty() {
            return Err(OpenPgpError::Unsupported("the key has no user id"));
        }
        key.verify_bindings().map_err(malformed("secret key"))?;
        Ok(SigningKey { key })
    }

    /// The ASCII-armored transferable secret key, unencrypted.
    pub fn to_armored(&self) -> Result<String, OpenPgpError> {
        Ok(self.key.to_armored_string(ArmorOptions::default())?)
    }

    /// The ASCII-armored transferable secret key, its secret locked with
    /// `passphrase` by OpenPGP's own means for v4 keys (an iterated and salted
    /// S2K, CFB mode), as `gpg --import` reads it.
    pub fn to_armored_locked(&self, passphrase: &str) -> Result<String, OpenPgpError> {
        let mut key = self.key.clone();
        key.primary_key
            .set_password(rand_core::OsRng, &Password::from(passphrase))?;
        Ok(key.to_armored_string(ArmorOptions::default())?)
    }

    /// The ASCII-armored public key (what `gpg --import` takes).
    pub fn public_key_armored(&self) -> Result<String, OpenPgpError> {
        Ok(self
            .key
            .to_public_key()
            .to_armored_string(ArmorOptions::default())?)
    }

    /// The v4 fingerprint, 40 upper-case hex digits.
    pub fn fingerprint(&self) -> String {
        hex::encode_upper(self.key.primary_key.fingerprint().as_bytes())
    }

    /// The (first) user id, e.g. "SecureStamp <securestamp@localhost>".
    pub fn user_id(&self) -> String {
        self.key
            .details
            .users
            .first()
            .map(|user| String::from_utf8_lossy(user.id.id()).into_owned())
            .unwrap_or_default()
    }

    /// Starts a detached binary signature (type 0x00) over data fed in pieces.
    /// The data's hash does not depend on the key: the key signs at
    /// [`StreamingSignature::finish`].
    pub fn start(&self) -> StreamingSignature {
        StreamingSignature {
            hasher: Sha256::new(),
        }
    }
}

/// A detached signature being computed while the data streams past: the data
/// is hashed once, chunk by chunk, never held in memory or read twice.
#[derive(Clone, Debug)]
pub struct StreamingSignature {
    hasher: Sha256,
}

impl StreamingSignature {
    /// Continues from a SHA-256 state that has absorbed exactly the data. A
    /// v4 signature over binary data hashes the data, then its own trailer, so
    /// the state that gives a file's SHA-256 also starts its signature: one
    /// pass over the bytes serves both.
    pub fn from_data_hash(hasher: Sha256) -> StreamingSignature {
        StreamingSignature { hasher }
    }

    /// Hashes the next piece of the data.
    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
    }

    /// Finishes the signature with creation time `created` (truncated to whole
    /// seconds) and returns it ASCII-armored, as `gpg --verify file.asc file`
    /// reads it.
    pub fn finish(self, key: &SigningKey, created: SystemTime) -> Result<String, OpenPgpError> {
        let signer = &key.key.primary_key;
        let created = Timestamp::try_from(created)?;
        if created < signer.created_at() {
            return Err(OpenPgpError::PredatesKey);
        }
        let mut config = SignatureConfig::v4(
            SignatureType::Binary,
            signer.algorithm(),
            HashAlgorithm::Sha256,
        );
        config.hashed_subpackets = vec![
            Subpacket::regular(SubpacketData::SignatureCreationTime(created))?,
            Subpacket::regular(SubpacketData::IssuerFingerprint(signer.fingerprint()))?,
        ];
        config.unhashed_subpackets = vec![Subpacket::regular(SubpacketData::IssuerKeyId(
            signer.legacy_key_id(),
        ))?];

        // What rPGP's `SignatureHasher::sign` does once the data is hashed; that
        // type fixes the creation time before the first byte, so it is not used.
        let mut hasher: Box<dyn sha2::digest::DynDigest + Send> = Box::new(self.hasher);
        let metadata_len = config.hash_signature_data(&mut hasher)?;
        hasher.update(&config.trailer(metadata_len)?);
        let digest = hasher.finalize();
        let signature = signer.sign(&Password::empty(), config.hash_alg, &digest)?;
        let signature = Signature::from_config(config, [digest[0], digest[1]], signature)?;
        Ok(DetachedSignature::new(signature).to_armored_string(ArmorOptions::default())?)
    }
}

/// The largest armored public key [`verify_detached`] reads. This server's
/// keys are under a kilobyte; a large RSA key with a few subkeys fits too.
pub const PUBLIC_KEY_LIMIT: usize = 64 * 1024;

/// The most packets besides the primary key (user ids, subkeys, signatures)
/// a public key given to [`verify_detached`] may hold.
pub const KEY_PACKETS_LIMIT: usize = 64;

/// What a valid signature states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The signature creation time, whole seconds.
    pub created: SystemTime,
    /// The signing key's fingerprint, 40 upper-case hex digits.
    pub fingerprint: String,
}

/// Checks an armored detached signature over the bytes read from `data`,
/// against an armored public key whose primary key made it (as this module's
/// keys do). Errors for a wrong key, a tampered file or a malformed signature.
///
/// The key may come from a stranger (a receipt carries its signer's key), so
/// what it may cost is bounded: past [`PUBLIC_KEY_LIMIT`] bytes or
/// [`KEY_PACKETS_LIMIT`] packets it is refused unread, and of its
/// self-signatures only those binding its first user id are checked, which is
/// all a signature by the primary key needs.
pub fn verify_detached(
    public_key_armored: &str,
    signature_armored: &str,
    data: impl Read,
) -> Result<Verified, OpenPgpError> {
    if public_key_armored.len() > PUBLIC_KEY_LIMIT {
        return Err(OpenPgpError::Unsupported(
            "the public key is larger than a signing key needs",
        ));
    }
    let (public_key, _headers) =
        SignedPublicKey::from_string(public_key_armored).map_err(malformed("public key"))?;
    let details = &public_key.details;
    let packets = details.revocation_signatures.len()
        + details.direct_signatures.len()
        + details
            .users
            .iter()
            .map(|user| 1 + user.signatures.len())
            .sum::<usize>()
        + details
            .user_attributes
            .iter()
            .map(|attribute| 1 + attribute.signatures.len())
            .sum::<usize>()
        + public_key
            .public_subkeys
            .iter()
            .map(|subkey| 1 + subkey.signatures.len())
            .sum::<usize>();
    if packets > KEY_PACKETS_LIMIT {
        return Err(OpenPgpError::Unsupported(
            "the public key has more user ids, subkeys or signatures than a signing key needs",
        ));
    }
    details
        .users
        .first()
        .ok_or(OpenPgpError::Unsupported("the public key names no user id"))?
        .verify_bindings(&public_key.primary_key)
        .map_err(malformed("public key"))?;
    let (signature, _headers) =
        DetachedSignature::from_string(signature_armored).map_err(malformed("signature"))?;
    let signature = signature.signature;

    if !matches!(
        signature.typ(),
        Some(SignatureType::Binary | SignatureType::Text)
    ) {
        return Err(OpenPgpError::Unsupported(
            "only signatures over data (types 0x00 and 0x01) are checked",
        ));
    }
    let created = signature.created().ok_or(OpenPgpError::Unsupported(
        "the signature states no creation time",
    ))?;
    let key = &public_key.primary_key;
    let key_ids = signature.issuer_key_id();
    let fingerprints = signature.issuer_fingerprint();
    // A signature naming no issuer at all is left to the cryptographic check.
    let may_be_this_key = (key_ids.is_empty() && fingerprints.is_empty())
        || key_ids.iter().any(|&id| *id == key.legacy_key_id())
        || fingerprints.iter().any(|&fp| *fp == key.fingerprint());
    if !may_be_this_key {
        return Err(OpenPgpError::WrongKey);
    }
    if created < key.created_at() {
        return Err(OpenPgpError::PredatesKey);
    }

    let mut data = Watched {
        inner: data,
        error: None,
    };
    match signature.verify(&public_key, &mut data) {
        Ok(()) => Ok(Verified {
            created: created.into(),
            fingerprint: hex::encode_upper(key.fingerprint().as_bytes()),
        }),
        // rPGP folds read errors into its own; a failed read is not a forgery.
        Err(error) => Err(match data.error.take() {
            Some(io) => OpenPgpError::Io(io),
            None => OpenPgpError::BadSignature(error),
        }),
    }
}

/// A reader that remembers the first error it passed on.
struct Watched<R> {
    inner: R,
    error: Option<std::io::Error>,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Err(e) if e.kind() != std::io::ErrorKind::Interrupted => {
                let kind = e.kind();
                self.error.get_or_insert(e);
                Err(kind.into())
            }
            read => read,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::{Duration, UNIX_EPOCH};

    const USER_ID: &str = "SecureStamp <securestamp@localhost>";

    /// Now, in whole seconds: the key is created now, and a signature may not predate it.
    fn now() -> SystemTime {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        UNIX_EPOCH + Duration::from_secs(secs.as_secs())
    }

    fn sign(key: &SigningKey, chunks: &[&[u8]], created: SystemTime) -> String {
        let mut signature = key.start();
        for chunk in chunks {
            signature.update(chunk);
        }
        signature.finish(key, created).unwrap()
    }

    #[test]
    fn a_signature_can_continue_from_the_data_hash_state() {
        let key = SigningKey::generate("Shared <shared@example.com>").unwrap();
        let mut state = Sha256::new();
        state.update(b"one pass over the data");
        let signature = StreamingSignature::from_data_hash(state.clone())
            .finish(&key, SystemTime::now())
            .unwrap();
        let public = key.public_key_armored().unwrap();
        assert!(verify_detached(&public, &signature, &b"one pass over the data"[..]).is_ok());
        assert_eq!(
            state.finalize().as_slice(),
            Sha256::digest(b"one pass over the data").as_slice(),
            "the content hash is unchanged"
        );
    }

    /// A stranger's key with more user ids than a signing key needs is
    /// refused before its self-signatures are checked, and so is one too
    /// large to read; within the bounds, a key with a few user ids verifies.
    #[test]
    fn costly_keys_are_refused_unchecked() {
        let with_users = |count: usize| {
            let params = SecretKeyParamsBuilder::default()
                .version(KeyVersion::V4)
                .key_type(KeyType::Ed25519Legacy)
                .can_certify(true)
                .can_sign(true)
                .primary_user_id(USER_ID.into())
                .user_ids(
                    (1..count)
                        .map(|i| format!("Also <{i}@example.com>"))
                        .collect(),
                )
                .build()
                .unwrap();
            SigningKey {
                key: params.generate(rand_core::OsRng).unwrap(),
            }
        };
        let data = b"signed by a key of many names";
        for (users, accepted) in [(3, true), (KEY_PACKETS_LIMIT / 2 + 1, false)] {
            let key = with_users(users);
            let signature = sign(&key, &[data], now());
            let public = key.public_key_armored().unwrap();
            let verdict = verify_detached(&public, &signature, &data[..]);
            match verdict {
                Ok(_) => assert!(accepted, "{users} user ids were accepted"),
                Err(OpenPgpError::Unsupported(_)) => assert!(!accepted, "{users} user ids"),
                Err(other) => panic!("{users} user ids: {other}"),
            }
        }
        let key = SigningKey::generate(USER_ID).unwrap();
        let signature = sign(&key, &[data], now());
        let huge = format!(
            "{}{}",
            key.public_key_armored().unwrap(),
            " ".repeat(PUBLIC_KEY_LIMIT)
        );
        assert!(matches!(
            verify_detached(&huge, &signature, &data[..]),
            Err(OpenPgpError::Unsupported(_))
        ));
    }

    #[test]
    fn a_key_survives_an_armored_round_trip() {
        let key = SigningKey::generate(USER_ID).unwrap();
        let armored = key.to_armored().unwrap();
        assert!(armored.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
        let again = SigningKey::from_armored(&armored).unwrap();
        assert_eq!(again.fingerprint(), key.fingerprint());
        assert_eq!(again.user_id(), USER_ID);
        let fingerprint = key.fingerprint();
        assert!(fingerprint.len() == 40 && fingerprint.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(fingerprint, fingerprint.to_uppercase());
        assert_eq!(
            format!("{key:?}"),
            format!("SigningKey {{ fingerprint: {fingerprint:?}, .. }}")
        );
    }

    #[test]
    fn a_locked_key_opens_with_its_passphrase_only() {
        let key = SigningKey::generate(USER_ID).unwrap();
        let locked = key.to_armored_locked("correct horse").unwrap();
        assert!(matches!(
            SigningKey::from_armored(&locked),
            Err(OpenPgpError::Locked)
        ));
        assert!(matches!(
            SigningKey::from_armored_unlocking(&locked, "wrong horse"),
            Err(OpenPgpError::Locked)
        ));
        let (opened, was_locked) =
            SigningKey::from_armored_unlocking(&locked, "correct horse").unwrap();
        assert!(was_locked);
        assert_eq!(opened.fingerprint(), key.fingerprint());
        // The opened key signs, and the signature verifies.
        let signature = sign(&opened, &[b"hello"], now());
        let public = key.public_key_armored().unwrap();
        assert!(verify_detached(&public, &signature, &b"hello"[..]).is_ok());
        // An unlocked key reads through the same door.
        let (_, was_locked) =
            SigningKey::from_armored_unlocking(&key.to_armored().unwrap(), "any").unwrap();
        assert!(!was_locked);
    }

    #[test]
    fn keys_and_signatures_in_progress_can_cross_threads() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<SigningKey>();
        shareable::<StreamingSignature>();
    }

    #[test]
    fn a_signature_streamed_in_pieces_verifies_over_the_whole_and_states_its_time() {
        let key = SigningKey::generate(USER_ID).unwrap();
        let whole = now();
        let signature = sign(
            &key,
            &[b"hello, ", b"world"],
            whole + Duration::from_millis(750),
        );
        assert!(signature.starts_with("-----BEGIN PGP SIGNATURE-----"));
        let public = key.public_key_armored().unwrap();
        let verified = verify_detached(&public, &signature, &b"hello, world"[..]).unwrap();
        assert_eq!(verified.created, whole, "whole seconds, as given");
        assert_eq!(verified.fingerprint, key.fingerprint());
    }

    #[test]
    fn a_tampered_byte_fails_verification() {
        let key = SigningKey::generate(USER_ID).unwrap();
        let signature = sign(&key, &[b"hello, world"], now());
        let public = key.public_key_armored().unwrap();
        let error = verify_detached(&public, &signature, &b"hello, World"[..]).unwrap_err();
        assert!(matches!(error, OpenPgpError::BadSignature(_)), "{error}");
    }

    #[test]
    fn an_unreadable_file_is_an_io_error_not_a_bad_signature() {
        struct Unreadable;
        impl Read for Unreadable {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("the disk went away"))
            }
        }
        let key = SigningKey::generate(USER_ID).unwrap();
        let signature = sign(&key, &[b"hello"], now());
        let public = key.public_key_armored().unwrap();
        let error = verify_detached(&public, &signature, Unreadable).unwrap_err();
        assert!(matches!(error, OpenPgpError::Io(_)), "{error}");
    }

    #[test]
    fn another_keys_public_key_fails_verification() {
        let key = SigningKey::generate(USER_ID).unwrap();
        let other = SigningKey::generate(USER_ID).unwrap();
        let signature = sign(&key, &[b"hello"], now());
        let public = other.public_key_armored().unwrap();
        let error = verify_detached(&public, &signature, &b"hello"[..]).unwrap_err();
        assert!(matches!(error, OpenPgpError::WrongKey), "{error}");
    }

    #[test]
    fn a_malformed_signature_or_key_is_refused() {
        let key = SigningKey::generate(USER_ID).unwrap();
        let public = key.public_key_armored().unwrap();
        let garbage = "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n";
        assert!(matches!(
            verify_detached(&public, garbage, &b""[..]),
            Err(OpenPgpError::Malformed { .. })
        ));
        assert!(SigningKey::from_armored("not a key").is_err());
    }

    #[test]
    fn a_signature_dated_before_its_key_is_refused() {
        let key = SigningKey::generate(USER_ID).unwrap();
        let error = key
            .start()
            .finish(&key, now() - Duration::from_secs(60))
            .unwrap_err();
        assert!(matches!(error, OpenPgpError::PredatesKey), "{error}");
    }

    fn gpg(home: &std::path::Path, args: &[&str]) -> std::process::Output {
        Command::new("gpg")
            .env("GNUPGHOME", home)
            .args(["--batch", "--no-autostart", "--status-fd", "1"])
            .args(args)
            .output()
            .unwrap()
    }

    /// An empty GnuPG home, or `None` (skipped) where gpg is missing off CI.
    fn gpg_home() -> Option<tempfile::TempDir> {
        let version = match Command::new("gpg").arg("--version").output() {
            Ok(output) => String::from_utf8_lossy(&output.stdout).into_owned(),
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("gpg is required under CI: {e}")
            }
            Err(e) => {
                eprintln!("skipped: gpg not found ({e})");
                return None;
            }
        };
        eprintln!("{}", version.lines().next().unwrap_or_default());
        let home = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        Some(home)
    }

    /// GnuPG takes the locked secret key with its passphrase, signs with it,
    /// and refuses to sign with a wrong one. Secret keys go through its agent,
    /// told here to remember no passphrase.
    #[test]
    fn gnupg_opens_a_locked_key_with_its_passphrase() {
        let Some(home) = gpg_home() else { return };
        std::fs::write(
            home.path().join("gpg-agent.conf"),
            "default-cache-ttl 0\nmax-cache-ttl 0\nallow-loopback-pinentry\n",
        )
        .unwrap();
        let with_agent = |args: &[&str], passphrase: &str| {
            Command::new("gpg")
                .env("GNUPGHOME", home.path())
                .args(["--batch", "--status-fd", "1", "--pinentry-mode", "loopback"])
                .args(["--passphrase", passphrase])
                .args(args)
                .output()
                .unwrap()
        };
        let key = SigningKey::generate(USER_ID).unwrap();
        let files = tempfile::tempdir().unwrap();
        let secret = files.path().join("secret.asc");
        std::fs::write(&secret, key.to_armored_locked("correct horse").unwrap()).unwrap();
        let data = files.path().join("data");
        std::fs::write(&data, b"signed by gpg").unwrap();
        let signature = files.path().join("data.asc");
        let sign = |passphrase: &str| {
            let _ = std::fs::remove_file(&signature);
            with_agent(
                &[
                    "--armor",
                    "--output",
                    signature.to_str().unwrap(),
                    "--detach-sign",
                    data.to_str().unwrap(),
                ],
                passphrase,
            )
        };
        let import = with_agent(&["--import", secret.to_str().unwrap()], "correct horse");
        let outcome = || {
            assert!(import.status.success(), "{import:?}");
            let wrong = sign("wrong horse");
            assert!(!wrong.status.success(), "{wrong:?}");
            let right = sign("correct horse");
            assert!(right.status.success(), "{right:?}");
            let armored = std::fs::read_to_string(&signature).unwrap();
            let public = key.public_key_armored().unwrap();
            let verified = verify_detached(&public, &armored, &b"signed by gpg"[..]).unwrap();
            assert_eq!(verified.fingerprint, key.fingerprint());
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(outcome));
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", home.path())
            .args(["--kill", "gpg-agent"])
            .status();
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }

    #[test]
    fn gnupg_verifies_the_signature_and_rejects_a_tampered_file() {
        let Some(home) = gpg_home() else { return };
        let key = SigningKey::generate(USER_ID).unwrap();
        let created = now();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let (first, second) = data.split_at(33_333);
        let files = tempfile::tempdir().unwrap();
        let (data_path, sig_path, key_path) = (
            files.path().join("data"),
            files.path().join("data.asc"),
            files.path().join("key.asc"),
        );
        std::fs::write(&key_path, key.public_key_armored().unwrap()).unwrap();
        std::fs::write(&sig_path, sign(&key, &[first, second], created)).unwrap();
        std::fs::write(&data_path, &data).unwrap();

        let import = gpg(home.path(), &["--import", key_path.to_str().unwrap()]);
        assert!(import.status.success(), "{import:?}");
        let args = [sig_path.to_str().unwrap(), data_path.to_str().unwrap()];
        let verify = gpg(home.path(), &["--verify", args[0], args[1]]);
        let status = String::from_utf8_lossy(&verify.stdout);
        assert!(verify.status.success(), "{verify:?}");
        let secs = created.duration_since(UNIX_EPOCH).unwrap().as_secs();
        // VALIDSIG <fpr> <date> <timestamp> <expires> <sig version> <reserved> <pk algo> <hash algo> <class>
        let valid = format!("VALIDSIG {} ", key.fingerprint());
        let line = status.lines().find(|l| l.contains(&valid)).unwrap();
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[4], secs.to_string(), "{line}");
        assert_eq!(fields[6..11], ["4", "0", "22", "8", "00"], "{line}");

        let mut tampered = data;
        tampered[50_000] ^= 1;
        std::fs::write(&data_path, &tampered).unwrap();
        let verify = gpg(home.path(), &["--verify", args[0], args[1]]);
        assert!(!verify.status.success(), "{verify:?}");
        assert!(String::from_utf8_lossy(&verify.stdout).contains("BADSIG"));
    }
}
