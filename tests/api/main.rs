//! Integration tests: the real server over HTTP, on SQLite, MariaDB and PostgreSQL.

mod helpers;

mod account_activity;
mod account_deletion;
mod account_settings;
mod accounts;
mod adoption;
mod browser;
mod crash;
mod csrf;
mod faults;
mod files;
mod headers;
mod hostile_headers;
mod log;
mod machines;
mod monitor;
mod object_storage;
mod openapi;
mod operator;
mod outage;
mod private_postgres;
mod proofs;
mod sessions;
mod slow_clients;
mod startup;
mod throttle;
mod tokens;
mod tsa;
mod two_factor;
mod validation;
