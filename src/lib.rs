//! SecureStamp: a self-hosted, verifiable file vault.
//!
//! `docs/ARCHITECTURE.md` maps the modules to their responsibilities.

/// The proof formats, in their own crate so that nothing there can reach I/O.
pub use securestamp_proofs as proofs;

pub mod accounts;
pub mod auth;
pub mod cli;
pub mod config;
pub mod connections;
pub mod content_type;
pub mod db;
pub mod domain;
pub mod error;
pub mod handlers;
pub mod keys;
pub mod legacy;
pub mod log;
pub mod openapi;
pub mod owner_only;
pub mod rate_limit;
pub mod router;
pub mod secret;
pub mod stamping;
pub mod startup;
pub mod state;
pub mod storage;
pub mod throttle;
pub mod time;
pub mod two_factor;

pub mod vault;
pub mod web;
