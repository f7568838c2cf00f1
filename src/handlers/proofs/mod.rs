//! The public proof endpoints: the RFC 3161 time-stamp service and the
//! server's public keys.

pub mod keys;
pub mod tsa;
