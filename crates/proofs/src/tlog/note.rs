//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys: a
//! text, a blank line, and one line per signature,
//! `— <key name> <base64(key ID ‖ signature)>`. The key ID is the first four
//! bytes of SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key); the verifier key
//! string is `<name>+<key ID hex>+<base64(0x01 ‖ public key)>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::ed25519::pkcs8::KeypairBytes;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, SecretDocument};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// The signature type byte of Ed25519 keys.
const ED25519: u8 = 0x01;
/// The em dash that starts every signature line.
const DASH: &str = "\u{2014} ";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("a key name must be non-empty, without spaces or '+'")]
    BadName,
    #[error("the key is malformed")]
    BadKey,
    #[error("a note's text must be UTF-8 lines without control characters, ending in a newline")]
    BadText,
    #[error("the note is malformed")]
    Malformed,
    #[error("the note carries no valid signature by this key")]
    Unverified,
}

/// A named Ed25519 key that signs notes.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    id: [u8; 4],
}

impl NoteSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        check_name(name)?;
        let id = key_id(name, key.verifying_key().as_bytes());
        Ok(NoteSigner {
            name: name.to_owned(),
            key,
            id,
        })
    }

    pub fn generate(name: &str) -> Result<Self, NoteError> {
        NoteSigner::new(name, SigningKey::generate(&mut rand_core::OsRng))
    }

    /// Reads Go's `PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ seed)>` form.
    pub fn from_private_key(encoded: &str) -> Result<Self, NoteError> {
        let rest = encoded
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::BadKey)?;
        let (name, id, key) = split_key(rest)?;
        let bytes = STANDARD.decode(key).map_err(|_| NoteError::BadKey)?;
        let seed: [u8; 32] = match bytes.split_first() {
            Some((&ED25519, seed)) => seed.try_into().map_err(|_| NoteError::BadKey)?,
            _ => return Err(NoteError::BadKey),
        };
        let signer = NoteSigner::new(name, SigningKey::from_bytes(&seed))?;
        if hex::encode(signer.id) != id {
            return Err(NoteError::BadKey);
        }
        Ok(signer)
    }

    /// The private key in Go's encoding, for storing it.
    pub fn private_key(&self) -> String {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(self.id),
            STANDARD.encode(bytes)
        )
    }

    /// The key as a PKCS#8 `PrivateKeyInfo` (RFC 8410), which the note format
    /// does not name: for storing it encrypted, as OpenSSL reads it. Version 1,
    /// without the public key: OpenSSL 3.0 cannot read version 2 when encrypted.
    pub fn to_pkcs8_der(&self) -> Result<SecretDocument, NoteError> {
        KeypairBytes {
            secret_key: self.key.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_der()
        .map_err(|_| NoteError::BadKey)
    }

    /// The key named `name` from a PKCS#8 `PrivateKeyInfo` holding an Ed25519 key.
    pub fn from_pkcs8_der(name: &str, der: &[u8]) -> Result<Self, NoteError> {
        NoteSigner::new(
            name,
            SigningKey::from_pkcs8_der(der).map_err(|_| NoteError::BadKey)?,
        )
    }

    /// What verifiers are given: `<name>+<id>+<base64(0x01 ‖ public key)>`.
    pub fn verifier_key(&self) -> String {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(self.key.verifying_key().as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.id),
            STANDARD.encode(bytes)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed note: `text`, a blank line, and this key's signature line.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let mut blob = self.id.to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n{DASH}{} {}\n",
            self.name,
            STANDARD.encode(blob)
        ))
    }
}

/// A verifier key, parsed.
#[derive(Clone, Debug)]
pub struct NoteVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl NoteVerifier {
    pub fn parse(encoded: &str) -> Result<Self, NoteError> {
        let (name, id, key) = split_key(encoded)?;
        check_name(name)?;
        let bytes = STANDARD.decode(key).map_err(|_| NoteError::BadKey)?;
        let public: [u8; 32] = match bytes.split_first() {
            Some((&ED25519, public)) => public.try_into().map_err(|_| NoteError::BadKey)?,
            _ => return Err(NoteError::BadKey),
        };
        let key = VerifyingKey::from_bytes(&public).map_err(|_| NoteError::BadKey)?;
        let expected = key_id(name, &public);
        if hex::encode(expected) != id {
            return Err(NoteError::BadKey);
        }
        Ok(NoteVerifier {
            name: name.to_owned(),
            id: expected,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The note's text, if one of its signature lines is a valid signature
    /// by this key. Lines of other keys are ignored, as the spec allows.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let split = note.rfind("\n\n").ok_or(NoteError::Malformed)?;
        let (text, signatures) = (&note[..=split], &note[split + 2..]);
        check_text(text)?;
        if signatures.is_empty() || !signatures.ends_with('\n') {
            return Err(NoteError::Malformed);
        }
        for line in signatures.lines() {
            let (name, blob) = line
                .strip_prefix(DASH)
                .and_then(|rest| rest.split_once(' '))
                .ok_or(NoteError::Malformed)?;
            if name != self.name {
                continue;
            }
            let blob = STANDARD.decode(blob).map_err(|_| NoteError::Malformed)?;
            if blob.len() != 4 + 64 || blob[..4] != self.id {
                continue;
            }
            let signature = ed25519_dalek::Signature::from_slice(&blob[4..])
                .map_err(|_| NoteError::Malformed)?;
            if self.key.verify(text.as_bytes(), &signature).is_ok() {
                return Ok(text);
            }
        }
        Err(NoteError::Unverified)
    }
}

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ED25519]);
    hasher.update(public);
    hasher.finalize()[..4].try_into().expect("four bytes")
}

/// `<name>+<id>+<key>`; the key's base64 may itself contain '+'.
fn split_key(encoded: &str) -> Result<(&str, &str, &str), NoteError> {
    let mut parts = encoded.splitn(3, '+');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(name), Some(id), Some(key)) if id.len() == 8 => Ok((name, id, key)),
        _ => Err(NoteError::BadKey),
    }
}

fn check_name(name: &str) -> Result<(), NoteError> {
    let ok = !name.is_empty()
        && !name.contains('+')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(()) } else { Err(NoteError::BadName) }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    let ok = text.ends_with('\n') && !text.chars().any(|c| c.is_control() && c != '\n');
    if ok { Ok(()) } else { Err(NoteError::BadText) }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of golang.org/x/mod/sumdb/note, which C2SP's spec follows.
    const PRIVATE: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const VERIFIER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const SIGNED: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn signing_reproduces_the_go_example_byte_for_byte() {
        let signer = NoteSigner::from_private_key(PRIVATE).unwrap();
        assert_eq!(signer.verifier_key(), VERIFIER);
        assert_eq!(signer.private_key(), PRIVATE);
        assert_eq!(signer.sign(TEXT).unwrap(), SIGNED);
    }

    #[test]
    fn the_key_round_trips_through_pkcs8() {
        let signer = NoteSigner::from_private_key(PRIVATE).unwrap();
        let der = signer.to_pkcs8_der().unwrap();
        let back = NoteSigner::from_pkcs8_der("PeterNeumann", der.as_bytes()).unwrap();
        assert_eq!(back.private_key(), PRIVATE);
        assert!(NoteSigner::from_pkcs8_der("PeterNeumann", b"\x30\x00").is_err());
    }

    #[test]
    fn opening_checks_the_signature_and_ignores_other_keys() {
        let verifier = NoteVerifier::parse(VERIFIER).unwrap();
        assert_eq!(verifier.open(SIGNED).unwrap(), TEXT);
        let altered = SIGNED.replace("cryptography", "cryptographY");
        assert_eq!(verifier.open(&altered), Err(NoteError::Unverified));
        let other = NoteSigner::generate("PeterNeumann").unwrap();
        assert_eq!(
            verifier.open(&other.sign(TEXT).unwrap()),
            Err(NoteError::Unverified),
            "same name, other key"
        );
        let cosigned = format!("{SIGNED}{DASH}Witness AAAAAAAA\n");
        assert_eq!(verifier.open(&cosigned).unwrap(), TEXT);
    }

    #[test]
    fn malformed_keys_and_texts_are_refused() {
        for bad in [
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3",
            "x",
        ] {
            assert!(NoteVerifier::parse(bad).is_err(), "{bad}");
        }
        let signer = NoteSigner::generate("log.example/test").unwrap();
        assert_eq!(signer.sign("no newline"), Err(NoteError::BadText));
        assert_eq!(signer.sign("tab\there\n"), Err(NoteError::BadText));
        assert_eq!(
            NoteSigner::generate("two words").err(),
            Some(NoteError::BadName)
        );
        let round = NoteSigner::from_private_key(&signer.private_key()).unwrap();
        assert_eq!(round.verifier_key(), signer.verifier_key());
    }
}
