//! The `userplane` binary: parse the command line and dispatch. Nothing else lives here.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = userplane::cli::Cli::parse();
    userplane::cli::run(cli)
}
