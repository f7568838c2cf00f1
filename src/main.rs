//! The `securestamp` binary: parse the command line, hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    securestamp::cli::main(securestamp::cli::Cli::parse())
}
