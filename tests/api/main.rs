//! Integration tests: the real server over HTTP, on SQLite, MariaDB and PostgreSQL.

mod helpers;

mod accounts;
mod browser;
mod csrf;
mod files;
mod headers;
mod log;
mod monitor;
mod proofs;
mod sessions;
mod startup;
mod tokens;
mod tsa;
mod validation;
