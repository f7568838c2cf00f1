//! Checking a file against its receipt, offline and without trusting the
//! server: the logic behind `securestamp verify` and the `/verify` page.

use std::io::{self, Read};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::openpgp;
use crate::receipt::{LogProof, Receipt, rfc3339};
use crate::tlog::checkpoint::Checkpoint;
use crate::tlog::entry::stamp_entry;
use crate::tlog::note::NoteVerifier;
use crate::tlog::proof::TlogProof;
use crate::{tlog, tsa};

/// One proof's verdict: what holds, or why not.
#[derive(Clone, Debug)]
pub struct Check {
    pub proof: &'static str,
    pub outcome: Result<String, String>,
}

/// Every check of one file.
#[derive(Clone, Debug)]
pub struct Report {
    pub checks: Vec<Check>,
    /// Proofs that could not be checked from what was given, and why.
    pub not_checked: Vec<Check>,
}

impl Report {
    pub fn all_hold(&self) -> bool {
        self.checks.iter().all(|check| check.outcome.is_ok())
    }
}

/// Keys to trust instead of the copies inside the receipt.
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    /// PEM: the TSA's root (and possibly the TSA certificate).
    pub tsa_chain: Option<String>,
    /// The ASCII-armored OpenPGP public key.
    pub openpgp_key: Option<String>,
    /// The transparency log's C2SP verifier key, `<origin>+<key id>+<base64>`.
    pub log_key: Option<String>,
}

/// Reads `data` once, hashing it for the time-stamp while the OpenPGP
/// signature is checked over the same bytes.
pub fn verify(data: impl Read, receipt: &Receipt, keys: &TrustedKeys) -> Report {
    let mut reader = HashingReader {
        inner: data,
        hasher: Sha256::new(),
        size: 0,
    };
    let openpgp_key = keys
        .openpgp_key
        .as_deref()
        .unwrap_or(&receipt.openpgp.public_key);
    let signature = openpgp::verify_detached(openpgp_key, &receipt.openpgp.signature, &mut reader);
    // A refusal may come before the whole file was read; the hash needs all of it.
    let drained = io::copy(&mut reader, &mut io::sink());
    let digest: [u8; 32] = reader.hasher.finalize().into();
    let chain_pem = keys
        .tsa_chain
        .as_deref()
        .unwrap_or(&receipt.rfc3161.certificate_chain);
    let checks = vec![
        Check {
            proof: "SHA-256",
            outcome: drained
                .map_err(|error| format!("the file could not be read: {error}"))
                .and_then(|_| check_hash(receipt, &digest, reader.size)),
        },
        Check {
            proof: "RFC 3161 time-stamp",
            outcome: verify_timestamp(receipt, &digest, chain_pem)
                .map(|ok| format!("{ok}{}", source(keys.tsa_chain.is_some()))),
        },
        Check {
            proof: "OpenPGP signature",
            outcome: signature
                .map_err(|error| error.to_string())
                .and_then(|verified| check_signer(receipt, &verified))
                .map(|ok| format!("{ok}{}", source(keys.openpgp_key.is_some()))),
        },
    ];
    let mut report = Report {
        checks,
        not_checked: Vec::new(),
    };
    check_log(&mut report, receipt, keys);
    report
}

/// Where the keys a check trusted came from.
fn source(given: bool) -> &'static str {
    if given {
        ""
    } else {
        " (keys from the receipt)"
    }
}

/// The file's hash and size against the receipt's.
fn check_hash(receipt: &Receipt, digest: &[u8; 32], size: u64) -> Result<String, String> {
    let claimed = receipt.file.sha256.to_ascii_lowercase();
    if hex::encode(digest) != claimed {
        return Err(format!(
            "the file's hash is {}, the receipt's {claimed}",
            hex::encode(digest)
        ));
    }
    if size != receipt.file.size {
        return Err(format!(
            "the file has {size} bytes, the receipt says {}",
            receipt.file.size
        ));
    }
    Ok(format!("{claimed}, {size} bytes"))
}

/// A signature that verified: made by the receipt's key at the receipt's time.
fn check_signer(receipt: &Receipt, verified: &openpgp::Verified) -> Result<String, String> {
    if !verified
        .fingerprint
        .eq_ignore_ascii_case(&receipt.openpgp.fingerprint)
    {
        return Err(format!(
            "made by key {}, not the receipt's {}",
            verified.fingerprint, receipt.openpgp.fingerprint
        ));
    }
    let created = rfc3339(verified.created);
    if created != receipt.uploaded_at {
        return Err(format!(
            "made at {created}, not at the receipt's {}",
            receipt.uploaded_at
        ));
    }
    Ok(format!(
        "made at {created} by key {} ({})",
        verified.fingerprint, receipt.openpgp.user_id
    ))
}

/// The checks that need only the file's SHA-256: the hash against the
/// receipt's, and the time-stamp token. The OpenPGP signature covers the
/// bytes themselves, so it is reported as not checked.
pub fn verify_hash(sha256: &[u8; 32], receipt: &Receipt, keys: &TrustedKeys) -> Report {
    let given = hex::encode(sha256);
    let claimed = receipt.file.sha256.to_ascii_lowercase();
    let chain_pem = keys
        .tsa_chain
        .as_deref()
        .unwrap_or(&receipt.rfc3161.certificate_chain);
    let mut report = Report {
        checks: vec![
            Check {
                proof: "SHA-256",
                outcome: if given == claimed {
                    Ok(format!("{claimed} (given, not computed here)"))
                } else {
                    Err(format!(
                        "the hash given is {given}, the receipt's {claimed}"
                    ))
                },
            },
            Check {
                proof: "RFC 3161 time-stamp",
                outcome: verify_timestamp(receipt, sha256, chain_pem),
            },
        ],
        not_checked: vec![Check {
            proof: "OpenPGP signature",
            outcome: Err("it covers the file's bytes: give the file to check it".into()),
        }],
    };
    check_log(&mut report, receipt, keys);
    report
}

/// Adds the transparency log's verdict: checked when the receipt has the
/// log's proof (version 2 on), a failure when a version 2 receipt lacks it.
fn check_log(report: &mut Report, receipt: &Receipt, keys: &TrustedKeys) {
    const PROOF: &str = "transparency log";
    match &receipt.log {
        Some(log) => {
            let key = keys.log_key.as_deref().unwrap_or(&log.verifier_key);
            let given = if keys.log_key.is_some() {
                ""
            } else {
                " (key from the receipt)"
            };
            report.checks.push(Check {
                proof: PROOF,
                outcome: verify_log(receipt, log, key.trim()).map(|ok| format!("{ok}{given}")),
            });
        }
        None if receipt.version >= 2 => report.checks.push(Check {
            proof: PROOF,
            outcome: Err("the receipt has no log proof".into()),
        }),
        None => report.not_checked.push(Check {
            proof: PROOF,
            outcome: Err("version 1 receipts carry no log proof".into()),
        }),
    }
}

/// That the log's entry is the one for this receipt's token, that the
/// checkpoint is signed by the log's key, and that the entry is in its tree.
fn verify_log(receipt: &Receipt, log: &LogProof, key: &str) -> Result<String, String> {
    let reply = STANDARD
        .decode(receipt.rfc3161.reply.trim())
        .map_err(|_| "the token is not base64".to_owned())?;
    let (token, gen_time) = tsa::token_of(&reply).map_err(|e| e.to_string())?;
    let expected = stamp_entry(gen_time, &token);
    if log.entry.as_bytes() != expected {
        return Err("the log entry does not describe this receipt's token".into());
    }
    let proof = TlogProof::parse(&log.proof).map_err(|e| e.to_string())?;
    let verifier = NoteVerifier::parse(key).map_err(|e| format!("the log's verifier key: {e}"))?;
    let checkpoint = Checkpoint::open(&proof.checkpoint, &verifier, verifier.name())
        .map_err(|e| format!("the checkpoint: {e}"))?;
    tlog::verify_inclusion(
        &tlog::leaf_hash(&expected),
        proof.index,
        checkpoint.size,
        &proof.hashes,
        &checkpoint.root,
    )
    .map_err(|e| format!("the inclusion proof: {e}"))?;
    Ok(format!(
        "entry {} of {}, in its signed checkpoint of {} entries",
        proof.index, checkpoint.origin, checkpoint.size
    ))
}

fn verify_timestamp(
    receipt: &Receipt,
    digest: &[u8; 32],
    chain_pem: &str,
) -> Result<String, String> {
    let reply = STANDARD
        .decode(receipt.rfc3161.reply.trim())
        .map_err(|_| "the token is not base64".to_owned())?;
    let trusted = Certificate::load_pem_chain(chain_pem.as_bytes())
        .map_err(|e| format!("the certificate chain is unreadable: {e}"))?;
    let token = tsa::verify_reply(&reply, digest, &trusted).map_err(|e| e.to_string())?;
    if rfc3339(token.gen_time) != receipt.uploaded_at {
        return Err(format!(
            "the token says {}, the receipt {}",
            rfc3339(token.gen_time),
            receipt.uploaded_at
        ));
    }
    Ok(format!(
        "{} by {}, serial {}",
        rfc3339(token.gen_time),
        token.tsa,
        token.serial
    ))
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        self.size += read as u64;
        Ok(read)
    }
}
