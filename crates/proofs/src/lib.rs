//! SecureStamp's proof formats, with no I/O and no knowledge of HTTP or SQL:
//! the server calls them, and its persistence layer stores what they produce.
//! This crate depends on no web, database or network crate, so the boundary
//! holds by construction, and the fuzz targets and benchmarks build from it alone.
//!
//! - [`tsa`]: RFC 3161 time-stamp tokens (with RFC 5816's ESSCertIDv2).
//! - [`openpgp`]: the server's OpenPGP key and streamed detached signatures
//!   (RFC 9580 v4 signatures, EdDSALegacy keys GnuPG 2.2 reads).
//! - [`receipt`]: the JSON document that bundles one file's proofs.
//! - [`tlog`]: Merkle tree hashes and proofs of the transparency log (RFC 6962/9162).
//! - [`verification`]: a file checked against its receipt, offline.

pub mod openpgp;
pub mod receipt;
pub mod tlog;
pub mod tsa;
pub mod verification;
