//! The public proof endpoints: the RFC 3161 time-stamp service, the
//! server's public keys, and verification of a file against its receipt.

pub mod keys;
pub mod tsa;
pub mod verify;
