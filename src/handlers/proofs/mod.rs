//! The public proof endpoints: the RFC 3161 time-stamp service, the
//! server's public keys, the transparency log, and verification of a file
//! against its receipt.

pub mod keys;
pub mod log;
pub mod tsa;
pub mod verify;
