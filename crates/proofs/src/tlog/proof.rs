//! C2SP tlog-proof (<https://c2sp.org/tlog-proof>): an inclusion proof and
//! the checkpoint it leads to, in one text that travels with the entry.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]
//! index <decimal>
//! <base64 hash, from the leaf's sibling up to the root's child>
//! …
//!
//! <signed checkpoint, verbatim>
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Hash;

pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated data for the application.
    pub extra: Option<Vec<u8>>,
    /// The entry's position in the log, from 0.
    pub index: u64,
    /// RFC 6962 `PATH(index, D[size])` for the checkpoint's size.
    pub hashes: Vec<Hash>,
    /// The signed note of the checkpoint, with its signatures.
    pub checkpoint: String,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a c2sp.org/tlog-proof@v1 proof: {0}")]
pub struct ProofFormatError(&'static str);

impl TlogProof {
    pub fn encode(&self) -> String {
        let mut text = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            text.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        text.push_str(&format!("index {}\n", self.index));
        for hash in &self.hashes {
            text.push_str(&STANDARD.encode(hash));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint);
        text
    }

    pub fn parse(text: &str) -> Result<TlogProof, ProofFormatError> {
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or(ProofFormatError("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(ProofFormatError("the first line is not the header"));
        }
        let mut line = lines.next().ok_or(ProofFormatError("no index line"))?;
        let mut extra = None;
        if let Some(encoded) = line.strip_prefix("extra ") {
            extra = Some(
                STANDARD
                    .decode(encoded)
                    .map_err(|_| ProofFormatError("the extra data is not base64"))?,
            );
            line = lines.next().ok_or(ProofFormatError("no index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .filter(|digits| {
                !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && (*digits == "0" || !digits.starts_with('0'))
            })
            .and_then(|digits| digits.parse().ok())
            .ok_or(ProofFormatError("the index line is malformed"))?;
        let hashes = lines
            .map(|line| {
                STANDARD
                    .decode(line)
                    .ok()
                    .and_then(|bytes| Hash::try_from(bytes).ok())
                    .ok_or(ProofFormatError(
                        "a proof line is not a base64 SHA-256 hash",
                    ))
            })
            .collect::<Result<Vec<Hash>, _>>()?;
        if checkpoint.is_empty() {
            return Err(ProofFormatError("the checkpoint is missing"));
        }
        Ok(TlogProof {
            extra,
            index,
            hashes,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKPOINT: &str = "example.com/log\n2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— example.com/log AAAAAQ==\n";

    #[test]
    fn proofs_round_trip() {
        for proof in [
            TlogProof {
                extra: None,
                index: 0,
                hashes: vec![],
                checkpoint: CHECKPOINT.into(),
            },
            TlogProof {
                extra: Some(b"opaque".to_vec()),
                index: 1,
                hashes: vec![[7; 32], [9; 32]],
                checkpoint: CHECKPOINT.into(),
            },
        ] {
            assert_eq!(TlogProof::parse(&proof.encode()).unwrap(), proof);
        }
        assert!(
            TlogProof {
                extra: None,
                index: 0,
                hashes: vec![],
                checkpoint: CHECKPOINT.into(),
            }
            .encode()
            .starts_with("c2sp.org/tlog-proof@v1\nindex 0\n\nexample.com/log\n")
        );
    }

    #[test]
    fn malformed_proofs_are_refused() {
        let good = format!(
            "{HEADER}\nindex 1\n{}\n\n{CHECKPOINT}",
            STANDARD.encode([1; 32])
        );
        assert!(TlogProof::parse(&good).is_ok());
        for bad in [
            good.replacen(HEADER, "c2sp.org/tlog-proof@v2", 1),
            good.replacen("index 1", "index 01", 1),
            good.replacen("index 1", "index -1", 1),
            good.replacen("index 1\n", "", 1),
            good.replacen(&STANDARD.encode([1; 32]), "AAAA", 1),
            good.replacen("\n\n", "\n", 1),
            format!("{HEADER}\nindex 1\n\n"),
        ] {
            assert!(TlogProof::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
