//! C2SP checkpoints (<https://c2sp.org/tlog-checkpoint>): the origin line, the
//! tree size in decimal, the root hash in base64, each ending in a newline,
//! then optional extension lines; carried as a signed note.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Hash;
use super::note::{NoteError, NoteSigner, NoteVerifier};

/// A tree head as the log states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's unique name, conventionally a schema-less URL.
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("the checkpoint body is malformed")]
    Malformed,
    #[error("the checkpoint is for log `{0}`, not this one")]
    WrongOrigin(String),
}

impl Checkpoint {
    /// The note text.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// Reads a body, ignoring extension lines after the first three.
    pub fn parse(body: &str) -> Result<Checkpoint, CheckpointError> {
        let mut lines = body.split_terminator('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::Malformed);
        };
        // Decimal without sign or leading zeros, as the spec writes it.
        let canonical = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let size = size
            .parse()
            .ok()
            .filter(|_| canonical)
            .ok_or(CheckpointError::Malformed)?;
        let root = STANDARD
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or(CheckpointError::Malformed)?;
        if origin.is_empty() || !body.ends_with('\n') {
            return Err(CheckpointError::Malformed);
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// The signed note of this checkpoint.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        Ok(signer.sign(&self.body())?)
    }

    /// Opens a signed checkpoint of the log `origin`.
    pub fn open(
        note: &str,
        verifier: &NoteVerifier,
        origin: &str,
    ) -> Result<Checkpoint, CheckpointError> {
        let checkpoint = Checkpoint::parse(verifier.open(note)?)?;
        if checkpoint.origin != origin {
            return Err(CheckpointError::WrongOrigin(checkpoint.origin));
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlog::{leaf_hash, root};

    #[test]
    fn checkpoints_round_trip_through_signed_notes() {
        let signer = NoteSigner::generate("vault.example/log").unwrap();
        let verifier = NoteVerifier::parse(&signer.verifier_key()).unwrap();
        let leaves: Vec<_> = (0..5).map(|i| leaf_hash(&[i])).collect();
        let checkpoint = Checkpoint {
            origin: "vault.example/log".into(),
            size: 5,
            root: root(&leaves),
        };
        let note = checkpoint.sign(&signer).unwrap();
        assert!(note.starts_with("vault.example/log\n5\n"));
        assert_eq!(
            Checkpoint::open(&note, &verifier, "vault.example/log").unwrap(),
            checkpoint
        );
        assert!(matches!(
            Checkpoint::open(&note, &verifier, "other.example/log"),
            Err(CheckpointError::WrongOrigin(_))
        ));
        let forged = note.replacen("\n5\n", "\n6\n", 1);
        assert!(Checkpoint::open(&forged, &verifier, "vault.example/log").is_err());
    }

    #[test]
    fn bodies_must_be_canonical() {
        let root = STANDARD.encode([0u8; 32]);
        assert!(Checkpoint::parse(&format!("log\n7\n{root}\nextension line\n")).is_ok());
        for bad in [
            format!("log\n07\n{root}\n"),
            format!("log\n-1\n{root}\n"),
            format!("log\n7\n{}\n", STANDARD.encode([0u8; 31])),
            format!("log\n7\n{root}"),
            format!("\n7\n{root}\n"),
            "log\n7\n".to_owned(),
        ] {
            assert_eq!(
                Checkpoint::parse(&bad),
                Err(CheckpointError::Malformed),
                "{bad:?}"
            );
        }
    }
}
