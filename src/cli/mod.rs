//! The command line: one [`Command`] enum, one module per subcommand.

mod db;
mod keys;
mod log;
mod serve;
mod storage;
mod user;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// SecureStamp: a self-hosted, verifiable file vault.
///
/// Configuration comes from the environment and from a `.env` file in the
/// working directory (the environment wins); see the README for every variable.
#[derive(Debug, Parser)]
#[command(name = "securestamp", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application (the default when no subcommand is given).
    Serve(serve::Opts),
    /// Manage the database schema.
    Db(db::Opts),
    /// Carry this site's signing keys to its other machines.
    Keys(keys::Opts),
    /// Move the stored contents into object storage.
    Storage(storage::Opts),
    /// Manage accounts as the site's operator.
    User(user::Opts),
    /// Check a file against its receipt, offline: exit status 0 only if every proof holds.
    Verify(verify::Opts),
    /// Watch a transparency log from outside.
    Log(log::Opts),
}

/// Runs the parsed command line and turns its outcome into an exit status.
///
/// Errors are printed as one line (`error: VARIABLE: what is wrong`), never as
/// a backtrace: they are usually configuration that an operator has to fix.
pub fn main(cli: Cli) -> ExitCode {
    // Read `.env` before logging starts so that a `RUST_LOG` in it applies;
    // `Config::load` reads it again and reports a malformed file.
    let _ = dotenvy::dotenv();
    crate::startup::init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli
            .command
            .unwrap_or(Command::Serve(serve::Opts::default()))
        {
            Command::Serve(opts) => serve::run(opts).await,
            Command::Db(opts) => db::run(opts).await,
            Command::Keys(opts) => keys::run(opts).await,
            Command::Storage(opts) => storage::run(opts).await,
            Command::User(opts) => user::run(opts).await,
            Command::Verify(opts) => verify::run(opts),
            Command::Log(opts) => log::run(opts),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // Distinct, so that a cron job can tell an attack from an outage.
        Err(error) if error.is::<log::Inconsistent>() => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
        Err(error) if error.is::<log::Late>() => {
            eprintln!("error: {error:#}");
            ExitCode::from(3)
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
