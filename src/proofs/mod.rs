//! Proof formats, with no I/O and no knowledge of HTTP or SQL: the web layer
//! calls them, and the persistence layer stores what they produce.
//!
//! - [`tsa`]: RFC 3161 time-stamp tokens (with RFC 5816's ESSCertIDv2).

pub mod tsa;
